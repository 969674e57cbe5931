"""Cleaning rows: time from zero, unique timestamps, outliers removed step by step."""

from __future__ import annotations

import numpy as np
import polars as pl

from ..columns import TIME
from ..errors import DataError
from ._counts import STEP_NUMBER
from ._options import require

MAX_OFFSET_PASSES = 100
"""Passes of :func:`offset_duplicate_times` before giving up (each pass settles most repeats)."""


def reset_time(data: pl.DataFrame) -> pl.DataFrame:
    """The data with ``Time [s]`` shifted so that its first row is 0.

    An empty frame is returned as it is (ionworksdata raises an IndexError).
    """
    require(data.columns, TIME, "reset_time", "name the time column 'Time [s]'")
    if data.height == 0:
        return data
    return data.with_columns(pl.col(TIME) - pl.col(TIME).first())


def offset_duplicate_times(data: pl.DataFrame, offset: float = 1e-6) -> pl.DataFrame:
    """The data with repeated timestamps moved apart by ``offset`` seconds per repeat.

    Keeping every row is better than dropping repeats, which can lose a short step. The k-th
    repeat of a value (in row order) moves by k·offset; passes repeat while a moved value
    lands on another one. Time becomes Float64.
    """
    require(data.columns, TIME, "offset_duplicate_times", "name the time column 'Time [s]'")
    t = data.get_column(TIME).cast(pl.Float64).to_numpy().copy()
    if len(t) <= 1:
        return data
    for _ in range(MAX_OFFSET_PASSES):
        order = np.argsort(t, kind="stable")
        ordered = t[order]
        first = np.concatenate([[True], ordered[1:] != ordered[:-1]])
        if first.all():
            return data.with_columns(pl.Series(TIME, t))
        starts = np.flatnonzero(first)
        rank_sorted = np.arange(len(t)) - starts[np.cumsum(first) - 1]
        rank = np.empty_like(rank_sorted)
        rank[order] = rank_sorted
        t = t + rank * offset
    raise DataError(
        f"offset_duplicate_times: 'Time [s]' still repeats after {MAX_OFFSET_PASSES} passes "
        f"of {offset} s offsets; use a larger offset or sort the rows by time first"
    )


def _clamped(bound: int | None, default: pl.Expr, length: pl.Expr) -> pl.Expr:
    """A slice bound resolved against a step's length, as Python's ``slice.indices`` does."""
    if bound is None:
        return default
    if bound < 0:
        return (length + bound).clip(lower_bound=0)
    return pl.min_horizontal(pl.lit(bound), length)


def remove_outliers(
    data: pl.DataFrame,
    column: str,
    z_threshold: float = 3,
    data_range: slice | None = None,
) -> pl.DataFrame:
    """The data without rows whose ``column`` is ``z_threshold`` or more standard deviations
    from its step's mean (steps from ``Step number``; NaN values ignored and kept).

    ``data_range`` (a slice, e.g. ``slice(-100, None)``) limits removal to those positions
    within each step. Rows keep their order (ionworksdata concatenates the steps in the order
    of ``unique()``, which is the same for a step number that only grows).
    """
    fix = "run set_cumulative_step_number first"
    require(data.columns, STEP_NUMBER, "remove_outliers", fix)
    require(data.columns, column, "remove_outliers", "name an existing column")
    if data_range is not None and data_range.step not in (None, 1):
        raise DataError("remove_outliers: data_range must be a slice with step 1 (or none)")
    values = pl.col(column).cast(pl.Float64).fill_nan(None)
    step = STEP_NUMBER
    spread = values.std(ddof=0).over(step)
    spread = pl.when(spread == 0).then(1.0).otherwise(spread)
    z = ((values - values.mean().over(step)) / spread).abs()
    outlier = (z >= z_threshold).fill_null(False)
    if data_range is not None:
        position = pl.int_range(pl.len()).over(step)
        length = pl.len().over(step)
        start = _clamped(data_range.start, pl.lit(0), length)
        stop = _clamped(data_range.stop, length, length)
        outlier = outlier & (position >= start) & (position < stop)
    return data.filter(~outlier)
