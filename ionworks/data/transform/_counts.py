"""Step and cycle numbering: where a new step or cycle starts, counted from 0.

Same names, options and results as ionworksdata 0.20.2's ``transform``; the status method is
computed with polars instead of a Python loop over rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from ..columns import CYCLE_COUNT, CYCLE_FROM_CYCLER, FRAME, FREQUENCY, STEP_COUNT, STEP_FROM_CYCLER
from ..errors import DataError
from ._options import EIS_TOLERANCE, ZERO_CURRENT_PERCENT_TOL, combine, require, units

STATUS = "Status"
"""The cycler's state column ionworksdata's ``status`` method reads (a user column)."""

STEP_NUMBER = "Step number"
"""Written by :func:`set_cumulative_step_number` (ionworksdata's name)."""

CYCLE_NUMBER = "Cycle number"
"""Written by :func:`set_cumulative_cycle_number`, and its default input (ionworksdata's name)."""

Floats = npt.NDArray[np.float64]


def _numbers(data: pl.DataFrame, name: str, function: str) -> Floats:
    """A numeric column as floats (nulls as NaN, as ionworksdata's ``to_numpy`` gives)."""
    require(data.columns, name, function, "name the column to use with the options")
    column = data.get_column(name)
    if not (column.dtype.is_numeric() or column.dtype == pl.Boolean):
        raise DataError(f"{function}: column {name!r} is {column.dtype}, not numbers")
    return column.cast(pl.Float64).to_numpy()


def _index(data: pl.DataFrame, opts: Mapping[str, Any], function: str) -> Floats:
    """The per-row value whose changes start a new step, for the chosen ``method``."""
    method = opts["method"]
    if method == "status":
        require(data.columns, STATUS, function, "or use method 'current sign'")
        status = pl.col(STATUS)
        changed = status.ne_missing(status.shift()).fill_null(False).cast(pl.Float64)
        return data.select(changed.cum_sum()).to_series().to_numpy()
    if method == "current sign":
        current = _numbers(data, units(opts).current, function)
        largest = float(np.max(np.abs(current))) if len(current) else 1.0
        normalised = np.zeros_like(current) if largest == 0 else current / largest
        tol = float(opts["zero current tol"])
        return np.asarray(np.sign(normalised * (np.abs(normalised) > tol)), dtype=np.float64)
    return _numbers(data, str(opts["step column"]), function)


def get_cumulative_step_number(
    data: pl.DataFrame, options: Mapping[str, Any] | None = None
) -> pl.Series:
    """Step number of every row, from 0, up by one at each change of the chosen signal.

    ``options``: ``method`` (``"status"``, ``"current sign"``, ``"step column"``), ``current
    units``, ``zero current tol`` (fraction of the largest |current|), ``step column``, ``group
    EIS steps`` (an impedance sweep is one step), ``EIS tolerance``. A change of ``Frame`` also
    starts a step (a called sub-procedure can reuse its caller's step number).
    """
    opts = combine(
        {
            "method": "status",
            "current units": "total",
            "zero current tol": ZERO_CURRENT_PERCENT_TOL,
            "step column": STEP_NUMBER,
            "group EIS steps": True,
            "EIS tolerance": EIS_TOLERANCE,
        },
        {
            "method": ("status", "current sign", "step column"),
            "current units": ("total", "density"),
            "group EIS steps": (True, False),
        },
        options,
        "get_cumulative_step_number",
    )
    if data.height == 0:
        return pl.Series("", [], dtype=pl.Int64)
    index = _index(data, opts, "get_cumulative_step_number")
    changes = np.abs(np.sign(np.diff(index, prepend=index[0])))
    changes[0] = 0
    if opts["group EIS steps"] and FREQUENCY in data.columns:
        is_eis = (data.get_column(FREQUENCY).fill_null(0.0) > opts["EIS tolerance"]).to_numpy()
        changes[is_eis] = 0
        changes[1:][is_eis[1:] != is_eis[:-1]] = 1
    if FRAME in data.columns:
        frame = data.get_column(FRAME).to_numpy()
        changes[1:][frame[1:] != frame[:-1]] = 1
    number = np.nan_to_num(changes, nan=0.0).cumsum().astype(np.int64)
    return pl.Series("", number - number[0])


def set_cumulative_step_number(
    data: pl.DataFrame, options: Mapping[str, Any] | None = None
) -> pl.DataFrame:
    """The data with a ``Step number`` column from :func:`get_cumulative_step_number`."""
    return data.with_columns(get_cumulative_step_number(data, options).alias(STEP_NUMBER))


def set_step_count(data: pl.DataFrame, options: Mapping[str, Any] | None = None) -> pl.DataFrame:
    """The data with ``Step count``: a new step at each change of ``Step from cycler``.

    ``options``: ``step column`` (another column to follow); ``method`` is only
    ``"step column"``.
    """
    opts = combine(
        {"method": "step column", "step column": STEP_FROM_CYCLER},
        {"method": ("step column",)},
        options,
        "set_step_count",
    )
    series = get_cumulative_step_number(data, opts)
    return data.with_columns(series.alias(STEP_COUNT))


def get_cumulative_cycle_number(
    data: pl.DataFrame, options: Mapping[str, Any] | None = None
) -> pl.Series:
    """Cycle number of every row, from 0, up by one at each change of ``cycle column``.

    A null in the column counts as a change on its row and the next (ionworksdata compares
    NaN, which is never equal to itself).
    """
    opts = combine(
        {"method": "cycle column", "cycle column": CYCLE_NUMBER},
        {"method": ("cycle column",)},
        options,
        "get_cumulative_cycle_number",
    )
    column = opts["cycle column"]
    if isinstance(column, list):
        column = column[0]
    values = _numbers(data, str(column), "get_cumulative_cycle_number")
    if len(values) == 0:
        return pl.Series("", [], dtype=pl.Int64)
    changes = np.diff(values, prepend=values[0]) != 0
    return pl.Series("", np.cumsum(changes).astype(np.int64))


def set_cumulative_cycle_number(
    data: pl.DataFrame, options: Mapping[str, Any] | None = None
) -> pl.DataFrame:
    """The data with a ``Cycle number`` column from :func:`get_cumulative_cycle_number`."""
    return data.with_columns(get_cumulative_cycle_number(data, options).alias(CYCLE_NUMBER))


def set_cycle_count(data: pl.DataFrame) -> pl.DataFrame:
    """The data with ``Cycle count`` from ``Cycle from cycler``, or 0 everywhere without it."""
    if CYCLE_FROM_CYCLER in data.columns:
        options = {"method": "cycle column", "cycle column": CYCLE_FROM_CYCLER}
        series = get_cumulative_cycle_number(data, options)
    else:
        series = pl.Series("", np.zeros(data.height, dtype=np.int64))
    return data.with_columns(series.alias(CYCLE_COUNT))
