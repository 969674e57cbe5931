"""The charge or discharge segments of a time series, as flat numpy arrays for dQ/dV and dV/dQ.

A segment is the rows of one ``Cycle count`` (of one cell in a fleet frame) whose current flows
in the chosen direction; each kept row stands for the interval since the row before it, with
the charge it passed (``|I| dt``, positive current discharging) and the voltages at its two
ends. One polars pass selects and numbers the rows; everything after is vectorised numpy over
all segments at once, so a million rows cost a few passes, not one Python loop per cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import polars as pl

from ..columns import CURRENT, CYCLE_COUNT, STEP_COUNT, TIME, VOLTAGE
from ..errors import DataError
from ._frames import Array, group_keys, lazy, require, require_numbers

Direction = Literal["charge", "discharge"]
IntArray = npt.NDArray[np.int64]

CC_RELATIVE_STD = 0.02
"""A step is constant-current when its current's std is below this share of its mean |current|."""

_HINT = "Read cycler files with ionworks.data.read, or rename the columns to the standard names."


@dataclass(frozen=True)
class Segments:
    """The kept intervals of every segment, segment by segment (``seg`` never decreases)."""

    labels: pl.DataFrame
    """One row per segment: its segment columns (cell keys, ``Cycle count``); no columns at all
    when the series has neither (then it is one segment)."""
    seg: IntArray
    dq: Array
    v0: Array
    v1: Array
    direction: Direction

    @property
    def starts(self) -> IntArray:
        """The index of each segment's first interval."""
        count = int(self.seg[-1]) + 1
        return np.asarray(np.searchsorted(self.seg, np.arange(count)), dtype=np.int64)


def collect_segments(
    frame: Any,
    *,
    step: int | None,
    cycle: int | None,
    direction: Direction | None,
    constant_current_only: bool,
    min_points: int,
    by: str | list[str] | None,
    what: str,
) -> Segments:
    """Select, number and read the segments' intervals; clear errors when there are none."""
    lf = lazy(frame, what)
    schema = lf.collect_schema()
    columns = schema.names()
    require(columns, [TIME, CURRENT, VOLTAGE], what, _HINT)
    require_numbers(schema, [TIME, CURRENT, VOLTAGE], what)
    keys = group_keys(columns, by)
    if step is not None:
        require(columns, [STEP_COUNT], f"{what}(step=...)", _HINT)
        lf = lf.filter(pl.col(STEP_COUNT) == step)
    if cycle is not None:
        require(columns, [CYCLE_COUNT], f"{what}(cycle=...)", _HINT)
        lf = lf.filter(pl.col(CYCLE_COUNT) == cycle)
    if direction is None:
        direction = _direction_of(lf) if step is not None else "discharge"
    if direction not in ("charge", "discharge"):
        raise DataError(f"{what}: direction must be 'charge' or 'discharge', got {direction!r}.")
    segment = [*keys, *([CYCLE_COUNT] if CYCLE_COUNT in columns else [])]
    runs = [*segment, *([STEP_COUNT] if STEP_COUNT in columns else [])]
    data = _intervals(lf, keys, runs, 1.0 if direction == "discharge" else -1.0).collect()
    if data.height == 0:
        raise _none_error(what, direction, step, cycle)
    new_segment = _changes(data, segment)
    seg = np.cumsum(new_segment) - 1
    keep = np.ones(data.height, dtype=bool)
    if constant_current_only and STEP_COUNT in columns:
        run = np.cumsum(new_segment | _changes(data, [STEP_COUNT])) - 1
        keep = _constant_current(run, data.get_column("_i").to_numpy())
    counts = np.bincount(seg, weights=keep.astype(float))
    keep &= counts[seg] >= min_points
    if not keep.any():
        raise DataError(
            f"{what}: every {direction} segment has fewer than min_points={min_points} samples "
            "of constant current; too few to differentiate. Pass a longer segment, a smaller "
            "min_points, or constant_current_only=False."
        )
    every = bool(keep.all())  # the usual case: no copies
    rows = slice(None) if every else np.nonzero(keep)[0]
    seg = seg[rows]
    first = np.concatenate([[True], seg[1:] != seg[:-1]])
    starts = np.nonzero(first)[0] if every else np.asarray(rows)[first]
    return Segments(
        labels=data.select(segment)[starts] if segment else pl.DataFrame(),
        seg=np.cumsum(first) - 1,
        dq=data.get_column("_dq").to_numpy()[rows],
        v0=data.get_column("_v0").to_numpy()[rows],
        v1=data.get_column(VOLTAGE).to_numpy()[rows],
        direction=direction,
    )


def _changes(data: pl.DataFrame, names: list[str]) -> npt.NDArray[np.bool_]:
    """True at the first row and wherever one of the columns ``names`` changes."""
    changed = np.zeros(data.height, dtype=bool)
    changed[0] = True
    for name in names:
        column = data.get_column(name)
        if column.dtype.is_numeric() and not column.has_nulls():
            values = column.to_numpy()
            changed[1:] |= values[1:] != values[:-1]
        else:  # cell keys (strings), or a column with gaps
            changed |= column.ne_missing(column.shift(1)).fill_null(True).to_numpy()
    return changed


def _intervals(lf: pl.LazyFrame, keys: list[str], runs: list[str], sign: float) -> pl.LazyFrame:
    """The rows flowing in the direction whose previous row (of the same cell) did too, with
    the charge of the interval between them and the voltage at its start. An interval with a
    missing or non-finite voltage, time or current at either end is left out (a cycler's
    dropped sample must not poison the histogram; polars orders NaN above every number, so
    ``> 0`` alone would keep it)."""

    def over(e: pl.Expr) -> pl.Expr:
        return e.over(keys) if keys else e

    i, t, v = pl.col(CURRENT), pl.col(TIME), pl.col(VOLTAGE)
    flowing = i * sign > 0
    rows = lf.select(
        *dict.fromkeys(runs),
        VOLTAGE,
        over(v.shift(1)).alias("_v0"),
        (i.abs() * over(t.diff()) / 3600.0).alias("_dq"),
        i.alias("_i"),
        (flowing & over(flowing.shift(1))).alias("_keep"),
    )
    finite = pl.all_horizontal(pl.col("_dq", "_v0", VOLTAGE).is_finite())
    return rows.filter(pl.col("_keep") & finite & (pl.col("_dq") > 0))


def _constant_current(run: Any, current: Any) -> npt.NDArray[np.bool_]:
    """Rows of the step runs whose current is constant (CC), not a CV taper."""
    runs = np.asarray(run, dtype=np.int64)
    values = np.asarray(current, dtype=float)
    n = np.maximum(np.bincount(runs), 1).astype(float)
    mean = np.bincount(runs, weights=values) / n
    var = np.maximum(np.bincount(runs, weights=values * values) / n - mean * mean, 0.0)
    cc = np.sqrt(var) <= CC_RELATIVE_STD * np.abs(mean)
    return np.asarray(cc[runs], dtype=bool)


def _direction_of(lf: pl.LazyFrame) -> Direction:
    """The direction of a chosen step, from the sign of its mean current."""
    mean = lf.select(pl.col(CURRENT).mean()).collect().item()
    if mean is None:
        raise DataError("No rows for that step: check the Step count (the steps table lists them).")
    if mean == 0:
        raise DataError("That step is a rest (zero mean current): it has no dQ/dV; pick another.")
    return "discharge" if mean > 0 else "charge"


def _none_error(what: str, direction: str, step: int | None, cycle: int | None) -> DataError:
    where = f" in step {step}" if step is not None else ""
    where += f" in cycle {cycle}" if cycle is not None else ""
    sign = "positive" if direction == "discharge" else "negative"
    return DataError(
        f"{what}: no {direction} segment{where} (no consecutive rows with {sign} current). "
        "Pick a direction, step or cycle that has one, or check the sign convention (positive "
        "current discharges: ionworks.data.transform.set_positive_current_for_discharge)."
    )
