"""The charge or discharge segments of a time series, as flat numpy arrays for dQ/dV and dV/dQ.

A segment is the rows of one ``Cycle count`` (of one cell in a fleet frame) whose current flows
in the chosen direction; each kept row stands for the interval since the row before it, with
the charge it passed (``|I| dt``, positive current discharging) and the voltages at its two
ends. The columns are read once as numpy arrays and everything after is vectorised over all
segments at once: the intervals are found with one pass over the current, their values
gathered once, and segment and step boundaries found where the label columns change (a few
thousand points), so a million rows cost a few passes, not one Python loop per cycle.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any, Generic, Literal, TypeVar

import numpy as np
import numpy.typing as npt
import polars as pl

from ..columns import CURRENT, CYCLE_COUNT, STEP_COUNT, TIME, VOLTAGE
from ..errors import DataError
from ._frames import Array, group_keys, lazy, require, require_numbers
from ._kernels import Kernels, compiled

Direction = Literal["charge", "discharge"]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
T = TypeVar("T")

CC_RELATIVE_STD = 0.02
"""A step is constant-current when its current's std is below this share of its mean |current|."""

_HINT = "Read cycler files with ionworks.data.read, or rename the columns to the standard names."


@dataclass(frozen=True)
class Segments:
    """The kept intervals of every segment, segment after segment."""

    labels: pl.DataFrame
    """One row per segment: its segment columns (cell keys, ``Cycle count``); no columns at all
    when the series has neither (then it is one segment)."""
    starts: IntArray
    """The index of each segment's first interval (increasing; the first is 0)."""
    dq: Array
    v0: Array
    v1: Array
    direction: Direction
    low: Array | None = None
    """Each segment's lowest voltage (``None``: not computed; the compiled path gives it)."""
    high: Array | None = None

    @property
    def sizes(self) -> IntArray:
        """The number of intervals of each segment."""
        return np.asarray(np.diff(self.starts, append=self.dq.size), dtype=np.int64)

    @property
    def seg(self) -> IntArray:
        """The segment of every interval."""
        return np.repeat(np.arange(self.starts.size, dtype=np.int64), self.sizes)


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
    ((found, _),) = collect_parts(
        frame,
        step=step,
        cycle=cycle,
        direction=direction,
        constant_current_only=constant_current_only,
        min_points=min_points,
        by=by,
        what=what,
        each=_nothing,
        parts=1,
    )
    return found


def collect_parts(
    frame: Any,
    *,
    step: int | None,
    cycle: int | None,
    direction: Direction | None,
    constant_current_only: bool,
    min_points: int,
    by: str | list[str] | None,
    what: str,
    each: Callable[[Segments], T],
    parts: int,
) -> list[tuple[Segments, T]]:
    """:func:`collect_segments` of a long series cut in two at the segment boundary nearest its
    middle (``parts=2``), the halves read in two threads (numpy releases the GIL in its passes
    over the rows), each followed by ``each`` of its segments in its thread. The pieces'
    segments, in order, are the series' own."""
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
    steps = [STEP_COUNT] if STEP_COUNT in columns else []
    wanted = list(dict.fromkeys([*segment, *steps, TIME, CURRENT, VOLTAGE]))
    if isinstance(frame, pl.DataFrame) and step is None and cycle is None:
        data = pl.DataFrame([frame.get_column(c) for c in wanted])  # no query, no copies
    else:
        data = lf.select(wanted).collect()
    data = _grouped(data, keys)
    rule = _Rule(keys, segment, steps, direction, constant_current_only, min_points)
    cut = _cut(data, segment) if parts > 1 else None
    if cut is None:
        found = [_read(data, rule, each)]
    else:  # rows [0, cut) and [cut - 1, end): the interval ending at row cut is the second's
        halves = (data.slice(0, cut), data.slice(cut - 1))
        found = in_parallel([partial(_read, half, rule, each) for half in halves])
        first, second = found
        ends = (first.last_row, second.first_row + cut - 1)
        if first.last_row >= 0 and second.first_row >= 0 and _same_labels(data, segment, ends):
            found = [_read(data, rule, each)]  # a label back as before the cut: one segment
    kept = [f.segments for f in found if f.segments is not None]
    if kept:
        return kept
    if all(f.first_row < 0 for f in found):
        raise _none_error(what, direction, step, cycle)
    raise DataError(
        f"{what}: every {direction} segment has fewer than min_points={min_points} samples "
        "of constant current; too few to differentiate. Pass a longer segment, a smaller "
        "min_points, or constant_current_only=False."
    )


PARALLEL_ROWS = 200_000
"""A series longer than this is read (and its dQ/dV computed) in two threads, cut at the
segment boundary nearest its middle."""


def _nothing(_: Segments) -> None:
    return None


@dataclass(frozen=True)
class _Rule:
    """What makes a segment: the columns naming cells, segments and steps, and the filters."""

    keys: list[str]
    segment: list[str]
    steps: list[str]
    direction: Direction
    constant_current_only: bool
    min_points: int


@dataclass(frozen=True)
class _Found(Generic[T]):
    """The segments of some rows and what ``each`` made of them (``None``: none kept), and the
    end rows of their first and last intervals (-1 when there is no interval)."""

    segments: tuple[Segments, T] | None
    first_row: int
    last_row: int


def _cut(data: pl.DataFrame, segment: list[str]) -> int | None:
    """A segment boundary (a row where a label changes) near the middle of a long series,
    looked for in its middle tenth; ``None`` for a short series or when there is none."""
    rows = data.height
    if rows <= PARALLEL_ROWS or not segment:
        return None
    start = rows // 2 - rows // 20
    changes = _change_rows(data.slice(start, rows // 10), segment)
    if changes.size == 0:
        return None
    return start + int(changes[np.argmin(np.abs(changes - rows // 20))])


def _same_labels(data: pl.DataFrame, names: list[str], rows: tuple[int, int]) -> bool:
    """Whether the two rows have the same ``names`` values (missing equal to missing)."""
    pair = data.select(names)[list(rows)]
    return bool(pair.row(0) == pair.row(1))


def in_parallel(calls: Sequence[Callable[[], T]]) -> list[T]:
    """The results of ``calls``: the last run in this thread while the others are offered to a
    worker thread; one the worker has not started by the time this thread is done is run here
    too (on a busy machine nothing waits for the worker to be scheduled). An error in any is
    raised here; one in the last withdraws the offers the worker has not started."""
    if len(calls) == 1:
        return [calls[0]()]
    offered = [_offer(call) for call in calls[:-1]]
    try:
        last = calls[-1]()
    except BaseException:
        for future in offered:
            if future is not None:
                future.cancel()
        raise
    pairs = zip(calls[:-1], offered, strict=True)
    return [
        *(
            call() if future is None or future.cancel() else future.result()
            for call, future in pairs
        ),
        last,
    ]


_WORKER: list[ThreadPoolExecutor] = []
_WORKER_LOCK = threading.Lock()


def _offer(call: Callable[[], T]) -> Future[T] | None:
    """``call`` submitted to the worker thread; ``None`` when no thread can take it any more (the
    interpreter is shutting down, as in an atexit handler): then it is run here."""
    try:
        return _worker().submit(call)
    except RuntimeError:  # "cannot schedule new futures after (interpreter) shutdown"
        return None


def _worker() -> ThreadPoolExecutor:
    """One thread for the module, started on first use (starting a thread per call waits for it
    to be scheduled, milliseconds on a busy machine). Idle, it does not hold up the
    interpreter's exit."""
    with _WORKER_LOCK:
        if not _WORKER:
            _WORKER.append(ThreadPoolExecutor(1, thread_name_prefix="ionworks-analysis"))
        return _WORKER[0]


def _forget_worker() -> None:
    """In a forked child: the parent's worker thread is not there and a lock another thread
    held at the fork would stay held, so a fresh lock and, on first use, a fresh worker."""
    global _WORKER_LOCK
    _WORKER.clear()
    _WORKER_LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_forget_worker)


def _read(data: pl.DataFrame, rule: _Rule, each: Callable[[Segments], T]) -> _Found[T]:
    """The kept intervals of the rows ``data``, segment after segment, and ``each`` of them:
    in one compiled pass when numba is there and the labels are integers, else in numpy."""
    kernels = compiled()
    integers = _integer_labels(data, rule) if kernels is not None else None
    if kernels is not None and integers is not None:
        return _read_compiled(kernels, data, rule, integers, each)
    found = _intervals(data, rule.keys, rule.direction)
    if found is None:
        return _Found(None, -1, -1)
    prev, dq, v0, v1, current = found
    rows = (int(prev[0]) + 1, int(prev[-1]) + 1)
    starts = _label_changes(data, rule.segment, prev)
    keep: BoolArray | None = None  # None: every interval is kept (the usual case, no copies)
    if rule.constant_current_only and rule.steps:
        runs = np.union1d(starts, _label_changes(data, rule.steps, prev))
        cc = _constant_current(runs, current)
        if not cc.all():
            keep = np.repeat(cc, np.diff(runs, append=prev.size))
    sizes = np.diff(starts, append=prev.size)
    kept = sizes if keep is None else np.add.reduceat(keep, starts, dtype=np.int64)
    enough = (kept >= rule.min_points) & (kept > 0)
    if not enough.any():
        return _Found(None, *rows)
    segment = rule.segment
    labels = data.select(segment)[prev[starts[enough]] + 1] if segment else pl.DataFrame()
    if not enough.all():
        whole = np.repeat(enough, sizes)
        keep = whole if keep is None else keep & whole
    if keep is not None:
        kept_rows = np.flatnonzero(keep)
        dq, v0, v1 = dq[kept_rows], v0[kept_rows], v1[kept_rows]
        starts = np.concatenate([[0], np.cumsum(kept[enough])[:-1]]).astype(np.int64)
    direction = rule.direction
    segments = Segments(labels=labels, starts=starts, dq=dq, v0=v0, v1=v1, direction=direction)
    return _Found((segments, each(segments)), *rows)


def _read_compiled(
    kernels: Kernels,
    data: pl.DataFrame,
    rule: _Rule,
    labels: tuple[IntArray, IntArray, IntArray],
    each: Callable[[Segments], T],
) -> _Found[T]:
    """:func:`_read` by :meth:`._kernels.Kernels.read_intervals`: the same segments."""
    columns = (_floats(data, TIME), _floats(data, CURRENT), _floats(data, VOLTAGE))
    discharge = rule.direction == "discharge"
    found = kernels.read_intervals(
        columns, labels, discharge, rule.constant_current_only, rule.min_points
    )
    rows = (found.first_row, found.last_row)
    if found.starts.size == 0:
        return _Found(None, *rows)
    names = _rows_of(data, rule.segment, found.rows)
    segments = Segments(
        labels=names,
        starts=found.starts,
        dq=found.dq,
        v0=found.v0,
        v1=found.v1,
        direction=rule.direction,
        low=found.low,
        high=found.high,
    )
    return _Found((segments, each(segments)), *rows)


def _rows_of(data: pl.DataFrame, names: list[str], rows: IntArray) -> pl.DataFrame:
    """The columns ``names`` at ``rows`` (numbers gathered in numpy: no polars query)."""
    columns = []
    for name in names:
        column = data.get_column(name)
        if column.dtype.is_numeric() and not column.has_nulls():
            columns.append(pl.Series(name, column.to_numpy()[rows], dtype=column.dtype))
        else:
            columns.append(column.gather(rows))
    return pl.DataFrame(columns)


def _integer_labels(data: pl.DataFrame, rule: _Rule) -> tuple[IntArray, IntArray, IntArray] | None:
    """The cell (a run number: the cells' rows are together), cycle and step of every row as
    int64 for the compiled pass (empty: no such column); ``None`` when a label is not an
    integer without gaps (the numpy path compares such values as polars does)."""
    none = np.zeros(0, dtype=np.int64)
    cell = none
    if rule.keys:
        if any(data.get_column(k).has_nulls() for k in rule.keys):
            return None
        key = pl.struct(rule.keys) if len(rule.keys) > 1 else pl.col(rule.keys[0])
        cell = data.select(key.rle_id()).to_series().to_numpy().astype(np.int64)
    found = [cell]
    for names in ([c for c in rule.segment if c not in rule.keys], rule.steps):
        if not names:
            found.append(none)
            continue
        (column,) = (data.get_column(name) for name in names)
        if not column.dtype.is_integer() or column.has_nulls():
            return None
        found.append(np.asarray(column.to_numpy(), dtype=np.int64))
    return found[0], found[1], found[2]


def _floats(data: pl.DataFrame, name: str) -> Array:
    """A column as float64 numpy (no copy when it already is; nulls become NaN)."""
    column = data.get_column(name)
    if column.dtype != pl.Float64:
        column = column.cast(pl.Float64)
    return np.asarray(column.to_numpy(), dtype=np.float64)


def _intervals(
    data: pl.DataFrame, keys: list[str], direction: Direction
) -> tuple[IntArray, Array, Array, Array, Array] | None:
    """The intervals flowing in the direction: the row each starts at (it ends at the next),
    its charge, the voltages at its two ends and its current; ``None`` when there is none.

    An interval is two consecutive rows (of the same cell) that both flow in the direction. One
    with a missing or non-finite voltage, time or current at either end, or no positive charge,
    is left out (a cycler's dropped sample must not poison the histogram). NaN compares false,
    so a missing current never flows.
    """
    t, i, v = (_floats(data, name) for name in (TIME, CURRENT, VOLTAGE))
    flowing = i > 0 if direction == "discharge" else i < 0
    pair = flowing[1:] & flowing[:-1]
    if keys:
        pair[_change_rows(data, keys) - 1] = False
    prev = np.flatnonzero(pair)  # the row each interval starts at; it ends at the next
    if prev.size == 0:
        return None
    v1, t1, current = v[1:][prev], t[1:][prev], i[1:][prev]
    # The start of an interval is the end of the one before, except where a run begins.
    fresh = np.flatnonzero(np.diff(prev) != 1) + 1
    fresh = np.concatenate([[0], fresh])
    v0, dq = np.empty_like(v1), np.empty_like(t1)
    v0[1:], dq[1:] = v1[:-1], t1[:-1]
    v0[fresh], dq[fresh] = v[prev[fresh]], t[prev[fresh]]
    np.subtract(t1, dq, out=dq)
    dq *= current  # |I| dt: the current's sign is the direction's
    dq /= 3600.0 if direction == "discharge" else -3600.0
    # One sum each finds a NaN or infinity anywhere (v0 holds only v1's values and v0[fresh]).
    with np.errstate(invalid="ignore"):  # inf - inf: the slow path below finds it
        clean = np.isfinite(dq.sum() + v1.sum() + v0[fresh].sum()) and dq.min() > 0
    if clean:
        return prev, dq, v0, v1, current
    good = np.flatnonzero(np.isfinite(dq) & (dq > 0) & np.isfinite(v0) & np.isfinite(v1))
    if good.size == 0:
        return None
    return prev[good], dq[good], v0[good], v1[good], current[good]


def _grouped(data: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """The rows of each cell together (a fleet frame's cells interleaved are sorted, stably)."""
    if not keys or data.height < 2:
        return data
    cells = data.select(pl.struct(keys).n_unique()).item()
    return (
        data if _change_rows(data, keys).size + 1 == cells else data.sort(keys, maintain_order=True)
    )


def _change_rows(data: pl.DataFrame, names: list[str]) -> IntArray:
    """The rows (from 1) where one of the columns ``names`` differs from the row before."""
    found: list[IntArray] = []
    for name in names:
        column = data.get_column(name)
        if column.dtype.is_numeric() and not column.has_nulls():
            values = column.to_numpy()
            found.append(np.flatnonzero(values[1:] != values[:-1]) + 1)
        else:  # cell keys (strings), or a column with gaps
            changed = column.ne_missing(column.shift(1)).fill_null(True).to_numpy()
            found.append(np.flatnonzero(changed[1:]) + 1)
    rows = found[0] if len(found) == 1 else np.unique(np.concatenate(found))
    return np.asarray(rows, dtype=np.int64)


def _label_changes(data: pl.DataFrame, names: list[str], prev: IntArray) -> IntArray:
    """The intervals (from 0, always included) whose end row has other ``names`` values than
    the previous interval's (intervals start at the rows ``prev``). A change between two
    intervals' rows is a candidate; its values are compared, as a label can change and change
    back in the rows left out between them."""
    if not names:
        return np.zeros(1, dtype=np.int64)
    candidates = np.unique(np.searchsorted(prev, _change_rows(data, names) - 1))
    candidates = candidates[(candidates > 0) & (candidates < prev.size)]
    differs = np.zeros(candidates.size, dtype=bool)
    a, b = prev[candidates] + 1, prev[candidates - 1] + 1
    for name in names:
        column = data.get_column(name)
        if column.dtype.is_numeric() and not column.has_nulls():
            values = column.to_numpy()
            differs |= values[a] != values[b]
        else:
            differs |= column.gather(a).ne_missing(column.gather(b)).to_numpy()
    return np.concatenate([[0], candidates[differs]]).astype(np.int64)


def _constant_current(runs: IntArray, current: Array) -> BoolArray:
    """Whether each run of intervals (starting at ``runs``) has a constant current (CC), not a
    CV taper."""
    n = np.diff(runs, append=current.size).astype(float)
    mean = np.add.reduceat(current, runs) / n
    var = np.maximum(np.add.reduceat(current * current, runs) / n - mean * mean, 0.0)
    return np.asarray(np.sqrt(var) <= CC_RELATIVE_STD * np.abs(mean), dtype=bool)


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
