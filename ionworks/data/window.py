"""Which rows and steps a DataLoader keeps: ``first_step``/``last_step`` and a time window.

The rules are ionworksdata 0.20.2's (``DataLoader`` in ``ionworksdata/load.py``), so a pipeline
fitted against a window here sees the rows it would see there: steps are chosen first (by row of
the steps table, by a SQL query over it, or by the older ``{"cycle": n}``/``{"step": n}`` dict),
then a ``time_range`` narrows the chosen rows, and steps the window cuts into are clipped to it
with their endpoint columns re-read. Pure polars: the DataLoader fetches, this module selects.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from .columns import (
    CHARGE_CAPACITY,
    CHARGE_ENERGY,
    CYCLE_COUNT,
    DISCHARGE_CAPACITY,
    DISCHARGE_ENERGY,
    DURATION,
    END_INDEX,
    END_TIME,
    END_VOLTAGE,
    START_INDEX,
    START_TIME,
    START_VOLTAGE,
    STEP_COUNT,
    TIME,
    VOLTAGE,
)
from .errors import DataError
from .sql import sql

__all__ = [
    "TIME_WINDOW_TOLERANCE_S",
    "StepSelection",
    "Window",
    "apply_time_range",
    "check_step_selector",
    "check_time_range",
    "clip_steps_to_window",
    "first_step_from_cycle",
    "last_step_from_cycle",
    "row_of_step_count",
    "select_steps",
    "select_window",
    "step_row",
    "window_rows",
]

TIME_WINDOW_TOLERANCE_S = 1e-6
"""Slack on a window bound: a stored bound round-trips through float seconds, and without it
the boundary samples would drop out (ionworksdata uses the same slack)."""

_SELECT = re.compile(r"^\s*(select|with)\b", re.I)


def first_step_from_cycle(cycle: int) -> str:
    """SQL over ``steps`` selecting the first step of ``cycle`` (a ``first_step`` value)."""
    return f'SELECT * FROM steps WHERE "{CYCLE_COUNT}" = {cycle} ORDER BY "{STEP_COUNT}" LIMIT 1'


def last_step_from_cycle(cycle: int) -> str:
    """SQL over ``steps`` selecting the last step of ``cycle`` (a ``last_step`` value)."""
    return (
        f'SELECT * FROM steps WHERE "{CYCLE_COUNT}" = {cycle} ORDER BY "{STEP_COUNT}" DESC LIMIT 1'
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_step_selector(name: str, value: Any) -> None:
    """Reject a ``first_step``/``last_step`` value that no steps table could resolve.

    Checked before any request, so a typo costs no download: a non-negative int, a read-only
    SQL query, or a one-key dict ``{"cycle": n}`` / ``{"step": n}``.
    """
    if value is None or (_is_int(value) and value >= 0):
        return
    if isinstance(value, str):
        if not _SELECT.match(value):
            raise DataError(f"{name} {value!r} is not a SELECT query over the steps table.")
        return
    if isinstance(value, Mapping):
        if len(value) != 1 or next(iter(value)) not in ("cycle", "step"):
            raise DataError(f"{name} dict must be {{'cycle': n}} or {{'step': n}}, got {value!r}.")
        if not _is_int(next(iter(value.values()))):
            raise DataError(f"{name} {value!r} must name an integer.")
        return
    raise DataError(
        f"{name} must be a step index (int >= 0), a SQL query over 'steps' (e.g. "
        f"first_step_from_cycle(1)) or {{'cycle': n}}, got {value!r}."
    )


def check_time_range(time_range: Any) -> dict[str, float] | None:
    """Normalise ``time_range`` to ``{"start"?: s, "end"?: s}`` of finite elapsed seconds.

    A ``(start, end)`` pair is accepted too; ``None`` bounds are left out.
    """
    if time_range is None:
        return None
    if isinstance(time_range, list | tuple) and len(time_range) == 2:
        time_range = {"start": time_range[0], "end": time_range[1]}
    if not isinstance(time_range, Mapping) or set(time_range) - {"start", "end"}:
        raise DataError(
            "time_range must be {'start': seconds, 'end': seconds} (either optional) or a "
            f"(start, end) pair, got {time_range!r}."
        )
    result: dict[str, float] = {}
    for key in ("start", "end"):
        value = time_range.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise DataError(f"time_range {key!r} must be a number of seconds, got {value!r}.")
        if not math.isfinite(value):
            raise DataError(f"time_range {key!r} must be finite, got {value!r}.")
        result[key] = value
    if "start" in result and "end" in result and result["start"] > result["end"]:
        raise DataError(f"time_range start ({result['start']}) is after its end ({result['end']}).")
    return result or None


def row_of_step_count(steps: pl.DataFrame, count: Any, what: str) -> int:
    """Row of the step whose ``Step count`` is ``count``.

    ionworksdata uses the count itself as the row, which is the same whenever counts run
    0, 1, 2, ... (every steps table the API serves); a table whose counts start elsewhere
    (a slice of a longer test) gets the step it names rather than another one.
    """
    if STEP_COUNT not in steps.columns:
        return int(count)
    rows = steps.with_row_index("_row").filter(pl.col(STEP_COUNT) == count)["_row"]
    if rows.len() == 0:
        raise DataError(f"{what} names step {count}, which the steps table does not have.")
    return int(rows[0])


def step_row(selector: Any, steps: pl.DataFrame, *, first: bool) -> int:
    """The steps-table row a ``first_step`` (``first=True``) or ``last_step`` selector names."""
    name = "first_step" if first else "last_step"
    if selector is None:
        return 0 if first else steps.height - 1
    check_step_selector(name, selector)
    if _is_int(selector):
        return int(selector)
    if isinstance(selector, str):
        try:
            result = sql(selector, steps=steps)
        except DataError as exc:
            raise DataError(f"{name} query {selector!r} failed: {exc}") from exc
        if result.height != 1:
            raise DataError(
                f"{name} query returned {result.height} steps, expected exactly 1: {selector}"
            )
        return row_of_step_count(steps, result[STEP_COUNT][0], name)
    kind, value = next(iter(selector.items()))
    if kind == "step":
        return row_of_step_count(steps, value, name)
    cycle = steps.filter(pl.col(CYCLE_COUNT) == value)
    if cycle.height == 0:
        raise DataError(f"{name} {selector!r}: no steps found for cycle {value}.")
    return row_of_step_count(steps, cycle[STEP_COUNT][0 if first else -1], name)


def _has_indices(steps: pl.DataFrame) -> bool:
    return {START_INDEX, END_INDEX} <= set(steps.columns)


@dataclass(frozen=True)
class StepSelection:
    """The chosen steps and the half-open row range ``[start, end)`` of the series they cover."""

    steps: pl.DataFrame
    initial_voltage: float | None
    start: int
    end: int
    first_row: int = 0


def select_steps(steps: pl.DataFrame, first_step: Any, last_step: Any) -> StepSelection:
    """Apply ``first_step``/``last_step`` to a steps table (no time series needed).

    The initial voltage is the first chosen step's start voltage when it is the first step of
    the test, else the end voltage of the step before it (the cell's state when the window opens).
    """
    if steps.height == 0 or not _has_indices(steps):
        if steps.height and (first_step, last_step) != (None, None):
            raise DataError(
                f"first_step/last_step need {START_INDEX!r} and {END_INDEX!r} in the steps table."
            )
        return StepSelection(steps, None, 0, 0)  # nothing to select by: kept whole
    first = step_row(first_step, steps, first=True)
    last = step_row(last_step, steps, first=False)
    if not 0 <= first < steps.height or not 0 <= last < steps.height:
        raise DataError(
            f"first_step/last_step select rows {first}..{last} of a steps table with "
            f"{steps.height} rows."
        )
    if last < first:
        raise DataError(f"last_step ({last}) must not be less than first_step ({first}).")
    chosen = steps.slice(first, last - first + 1)
    source, row = (START_VOLTAGE, first) if first == 0 else (END_VOLTAGE, first - 1)
    voltage = steps[source][row] if source in steps.columns else None
    start, end = int(chosen[START_INDEX][0]), int(chosen[END_INDEX][-1]) + 1
    return StepSelection(chosen, None if voltage is None else float(voltage), start, end, first)


def _within(times: pl.Series, time_range: Mapping[str, float]) -> pl.Series:
    keep = pl.Series([True] * times.len())
    if (lo := time_range.get("start")) is not None:
        keep = keep & (times >= lo - TIME_WINDOW_TOLERANCE_S)
    if (hi := time_range.get("end")) is not None:
        keep = keep & (times <= hi + TIME_WINDOW_TOLERANCE_S)
    return keep


def apply_time_range(
    ts: pl.DataFrame,
    start: int,
    end: int,
    time_range: Mapping[str, float] | None,
    offset: int = 0,
) -> tuple[int, int]:
    """Narrow rows ``[start, end)`` to the first..last sample inside ``time_range``.

    Bounds rather than a row mask, so the steps table's indices keep addressing the series.
    ``offset`` is the absolute row of ``ts[0]`` (a fetched window of a longer series).
    """
    if not time_range or TIME not in ts.columns:
        return start, end
    times = ts[TIME].slice(start - offset, end - start)
    kept = _within(times, time_range).arg_true()
    if kept.len() == 0:
        span = f"{times.min()!r}-{times.max()!r} s" if times.len() else "no samples"
        raise DataError(
            f"time_range {time_range.get('start')}-{time_range.get('end')} s selects no samples "
            f"of the chosen steps, which cover {span}. Widen the window, or select steps inside it."
        )
    return start + int(kept[0]), start + int(kept[-1]) + 1


def window_rows(ts: pl.DataFrame, time_range: Mapping[str, float] | None) -> pl.DataFrame:
    """Rows of a series without steps whose ``Time [s]`` lies inside ``time_range``."""
    if not time_range or TIME not in ts.columns:
        return ts
    kept = ts.filter(_within(ts[TIME], time_range))
    if kept.height == 0 and ts.height:
        raise DataError(
            f"time_range {time_range.get('start')}-{time_range.get('end')} s selects no samples "
            f"of this series, which covers {ts[TIME].min()!r}-{ts[TIME].max()!r} s."
        )
    return kept


_ENDPOINTS = {
    START_TIME: (TIME, START_INDEX),
    END_TIME: (TIME, END_INDEX),
    START_VOLTAGE: (VOLTAGE, START_INDEX),
    END_VOLTAGE: (VOLTAGE, END_INDEX),
}
_SPANS = (DISCHARGE_CAPACITY, CHARGE_CAPACITY, DISCHARGE_ENERGY, CHARGE_ENERGY)


def _reread_endpoints(steps: pl.DataFrame, ts: pl.DataFrame, offset: int) -> pl.DataFrame:
    """Re-read what a clipped step summarised from its first and last rows.

    Statistics (mean, std, ...) stay as they were: they need every sample, not the endpoints.
    """
    rows = {key: steps[key] - offset for key in (START_INDEX, END_INDEX)}
    for name, (source, index) in _ENDPOINTS.items():
        if name in steps.columns and source in ts.columns:
            steps = steps.with_columns(ts[source].gather(rows[index]).alias(name))
    for name in _SPANS:
        if name in steps.columns and name in ts.columns:
            span = ts[name].gather(rows[END_INDEX]) - ts[name].gather(rows[START_INDEX])
            steps = steps.with_columns(span.alias(name))
    if {DURATION, START_TIME, END_TIME} <= set(steps.columns) and TIME in ts.columns:
        steps = steps.with_columns((pl.col(END_TIME) - pl.col(START_TIME)).alias(DURATION))
    return steps


def clip_steps_to_window(
    steps: pl.DataFrame, ts: pl.DataFrame, start: int, end: int, offset: int = 0
) -> pl.DataFrame:
    """Keep the steps overlapping rows ``[start, end)``, their indices clipped into it."""
    if steps.height == 0 or not {START_INDEX, END_INDEX} <= set(steps.columns):
        return steps
    overlapping = steps.filter((pl.col(END_INDEX) >= start) & (pl.col(START_INDEX) < end))
    clipped = overlapping.with_columns(
        pl.col(START_INDEX).clip(lower_bound=start),
        pl.col(END_INDEX).clip(upper_bound=end - 1),
    )
    if all(clipped[c].equals(overlapping[c]) for c in (START_INDEX, END_INDEX)):
        return clipped
    return _reread_endpoints(clipped, ts, offset)


@dataclass(frozen=True)
class Window:
    """The rows and steps a loader keeps, before any transform.

    ``data`` are rows ``[start, end)`` of the series (absolute row numbers); ``steps`` is None
    for a series loaded without a steps table.
    """

    data: pl.DataFrame
    steps: pl.DataFrame | None
    initial_voltage: float | None
    start: int
    end: int


def select_window(
    ts: pl.DataFrame,
    steps: pl.DataFrame | None,
    first_step: Any,
    last_step: Any,
    time_range: Mapping[str, float] | None,
    offset: int = 0,
) -> Window:
    """Steps first (``first_step``/``last_step``), then the time window inside them.

    ``offset`` is the absolute row of ``ts[0]`` when only the chosen steps' rows were fetched.
    """
    chosen = None if steps is None else select_steps(steps, first_step, last_step)
    if chosen is None or (chosen.steps.height and not _has_indices(chosen.steps)):
        data = window_rows(ts, time_range)  # a table without row indices is kept whole
        return Window(data, None if chosen is None else chosen.steps, None, 0, data.height)
    start, end = apply_time_range(ts, chosen.start, chosen.end, time_range, offset)
    clipped = clip_steps_to_window(chosen.steps, ts, start, end, offset)
    data = ts.slice(start - offset, end - start)
    return Window(data, clipped, chosen.initial_voltage, start, end)
