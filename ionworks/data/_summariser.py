"""The steps table built chunk by chunk: what :func:`ionworks.data.steps.summarize` runs on.

:class:`StepSummariser` takes a series in consecutive chunks (the local server reads large uploads
that way) and gives the table one pass over the whole series gives: whole steps are aggregated in
one polars ``group_by`` (:mod:`ionworks.data._step_rows`), only the step still open at the end of
a chunk is held back, and a step too long to hold is folded piece by piece.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from ._capacity_split import CapacitySplit
from ._step_rows import CARRIED, LongStep, aggregate_steps
from .columns import (
    CHARGE_CAPACITY,
    CHARGE_ENERGY,
    CUMULATIVE,
    CURRENT,
    CYCLE_CHARGE_CAPACITY,
    CYCLE_CHARGE_ENERGY,
    CYCLE_COUNT,
    CYCLE_DISCHARGE_CAPACITY,
    CYCLE_DISCHARGE_ENERGY,
    CYCLE_FROM_CYCLER,
    DISCHARGE_CAPACITY,
    DISCHARGE_ENERGY,
    DURATION,
    END_TIME,
    FRAME,
    MAX_CURRENT,
    MEAN_CURRENT,
    MEAN_FREQUENCY,
    MIN_CURRENT,
    START_TIME,
    STD_CURRENT,
    STD_POWER,
    STD_VOLTAGE,
    STEP_COUNT,
    STEP_FROM_CYCLER,
    STEP_TYPE,
    STEPS,
    TIME,
    VOLTAGE,
)

__all__ = [
    "CURRENT_STD_TOL",
    "EIS_TOL",
    "LONG_STEP_ROWS",
    "POWER_STD_TOL",
    "REST_TOL",
    "VOLTAGE_STD_TOL",
    "StepSummariser",
    "step_type",
    "tolerances",
]

# ionworksdata's default settings, so that step types match what the official stack computes.
CURRENT_STD_TOL = 1e-2
VOLTAGE_STD_TOL = 1e-2
POWER_STD_TOL = 1e-2
REST_TOL = 1e-3
EIS_TOL = 1e-8

LONG_STEP_ROWS = 1_048_576
"""A step held whole up to this many rows; longer ones are aggregated piece by piece."""

_INTS_WHEN_NULL = (STEP_FROM_CYCLER, CYCLE_FROM_CYCLER, FRAME)


def tolerances(scale: float | None, capacity_ah: float | None) -> tuple[float, float]:
    """Rest and current-std tolerances: C/1000 and C/200 of a rated capacity, else 1 % of the
    largest |current| (``scale``), so a coin cell's every step is not classed as rest."""
    rest_tol, current_tol = REST_TOL, CURRENT_STD_TOL
    if capacity_ah:
        rest_tol = min(rest_tol, capacity_ah / 1000)
        current_tol = min(current_tol, capacity_ah / 200)
    elif scale:
        rest_tol = min(rest_tol, scale / 100)
        current_tol = min(current_tol, scale / 100)
    return rest_tol, current_tol


def step_type(
    rest_tol: float,
    current_tol: float,
    voltage_tol: float = VOLTAGE_STD_TOL,
    power_tol: float = POWER_STD_TOL,
    eis_tol: float = EIS_TOL,
) -> pl.Expr:
    """The ``Step type`` of each row of a steps table; the first rule that holds wins.

    EIS (a frequency), rest (|mean current| under ``rest_tol``), then constant current, voltage
    or power (the std of that signal under its tolerance), each a discharge when the mean
    current is positive, else a charge.
    """
    mean_i = pl.col(MEAN_CURRENT)

    def code(value: int) -> pl.Expr:
        return pl.lit(value, pl.UInt8)

    def directed(discharge: int) -> pl.Expr:  # the charge's code follows its discharge's
        return pl.when(mean_i > 0).then(code(discharge)).otherwise(code(discharge + 1))

    # Codes first, one string per row last: a chain of string literals built a string column
    # per branch (3x the time on a 73,000-step table).
    codes = (
        pl.when(pl.col(MEAN_FREQUENCY) > eis_tol)
        .then(code(0))
        .when(mean_i.abs() < rest_tol)
        .then(code(1))
        .when(pl.col(STD_CURRENT) < current_tol)
        .then(directed(2))
        .when(pl.col(STD_VOLTAGE).abs() < voltage_tol)
        .then(directed(4))
        .when(pl.col(STD_POWER).abs() < power_tol)
        .then(directed(6))
        .otherwise(code(8))
    )
    return pl.lit(pl.Series(_STEP_TYPES, dtype=pl.String)).gather(codes)


_STEP_TYPES = [
    "EIS",
    "Rest",
    *(
        f"Constant {kind} {side}"
        for kind in ("current", "voltage", "power")
        for side in ("discharge", "charge")
    ),
    "Unknown step type",
]
"""Every ``Step type``, indexed by the codes :func:`step_type` computes."""


def cycle_sums(steps: pl.LazyFrame, names: list[tuple[str, str]]) -> pl.LazyFrame:
    """Each step gets the sum of ``source`` over its cycle as ``target``, for (source, target)."""
    return steps.with_columns(pl.col(s).sum().over(CYCLE_COUNT).alias(t) for s, t in names)


_CAPACITY_SUMS = [
    (CHARGE_CAPACITY, CYCLE_CHARGE_CAPACITY),
    (DISCHARGE_CAPACITY, CYCLE_DISCHARGE_CAPACITY),
]
_ENERGY_SUMS = [(CHARGE_ENERGY, CYCLE_CHARGE_ENERGY), (DISCHARGE_ENERGY, CYCLE_DISCHARGE_ENERGY)]


def finish_steps(aggregated: pl.DataFrame, capacity_ah: float | None) -> pl.DataFrame:
    """Classify aggregated steps, add the per-cycle sums, order and type the columns.

    Integers become Int64 and floats Float64 (what ionworksdata's round trip through Python
    values gives); an all-null column gets its wire type rather than polars' Null type.
    """
    # The series' largest |current|, from the steps' extremes rather than another pass.
    peak = aggregated.select(pl.max_horizontal(pl.col(MAX_CURRENT, MIN_CURRENT).abs().max())).item()
    scale = float(peak) if isinstance(peak, int | float) else None
    rest_tol, current_tol = tolerances(scale, capacity_ah)
    steps = aggregated.lazy().with_columns(
        (pl.col(END_TIME) - pl.col(START_TIME)).alias(DURATION),
        step_type(rest_tol, current_tol).cast(pl.String).alias(STEP_TYPE),
    )
    steps = cycle_sums(steps, _CAPACITY_SUMS + _ENERGY_SUMS)
    order = list(STEPS)
    if FRAME in aggregated.columns:
        order.insert(order.index(DURATION), FRAME)
    schema = steps.select(order).collect_schema()
    return steps.select(_wire_type(name, schema[name]) for name in order).collect()


def _wire_type(name: str, dtype: pl.DataType) -> pl.Expr:
    if dtype.is_integer():
        return pl.col(name).cast(pl.Int64)
    if dtype.is_float():
        return pl.col(name).cast(pl.Float64)
    if dtype == pl.Null:
        return pl.col(name).cast(pl.Int64 if name in _INTS_WHEN_NULL else pl.Float64)
    return pl.col(name)


class StepSummariser:
    """The steps table of a series that arrives in consecutive chunks.

    Steps are aggregated whole: the rows of the step still open at the end of a chunk are held
    back and aggregated with the rest of that step, so every number equals what one pass over
    the whole series gives. Only the columns the summary reads are held. A step longer than
    ``long_step_rows`` (a long rest, a file without step information) is aggregated piece by
    piece instead (:class:`LongStep`), so memory follows the chunk size, not the series.

    ``count_cycles``: ``Cycle count`` is counted as ionworksdata counts it, the changes of
    ``Cycle from cycler`` before each step's first row (0 throughout without that column);
    without it, the series' own ``Cycle count`` is read (the server's validated series, which
    derives it the same way when an upload has none and keeps an uploaded one). ``integrate``:
    capacity and energy columns the series lacks are integrated within each step (the server's
    choice for uploads); without it they follow ionworksdata (null, or 0 for energies next to
    known capacities). A single ``Capacity [A.h]`` counter (with ``Current [A]``) is split
    into discharge and charge capacity as ionworksdata's ``set_capacity`` splits it
    (:class:`~ionworks.data._capacity_split.CapacitySplit`), whole or in chunks alike.
    """

    def __init__(
        self,
        rated_capacity_ah: float | None,
        long_step_rows: int = LONG_STEP_ROWS,
        *,
        integrate: bool = True,
        count_cycles: bool = False,
        whole: bool = False,
    ) -> None:
        self._rated = rated_capacity_ah
        self._integrate = integrate
        self._count_cycles = count_cycles
        self._whole = whole  # add() is called once, with the whole series
        # Over 3 rows a step's spread leaves out both its first and last sample, as LongStep does.
        self._long_step_rows = max(3, long_step_rows)
        self._long: LongStep | None = None
        self._open: list[pl.DataFrame] = []  # the rows of the step still open
        self._open_start = 0  # its first row in the series
        self._rows = 0
        self._parts: list[pl.DataFrame] = []
        self._cycler: Any = None  # the last Cycle from cycler value seen
        self._cycles = 0  # changes of it so far
        self._split: CapacitySplit | None = None  # made from the first chunk's columns

    def add(self, chunk: pl.DataFrame) -> None:
        """Take the next chunk; aggregate every step it closes."""
        if chunk.height == 0:
            return
        if self._split is None:
            self._split = CapacitySplit(chunk.columns)
        chunk = self._split(chunk)
        if self._rows == 0 and not self._open and self._whole:
            # One chunk is the whole series: no step to hold back, and the cycles are counted
            # per step inside the one aggregation rather than row by row here.
            self._rows = chunk.height
            count = self._count_cycles or CYCLE_COUNT not in chunk.columns
            self._parts.append(
                aggregate_steps(
                    chunk, 0, self._integrate, count_cycles=count, absolute=self._absolute
                )
            )
            return
        chunk = self._needed(chunk)
        if self._long is not None:
            chunk = self._continue_long(chunk)
            if chunk.height == 0:
                return
        counts = chunk.get_column(STEP_COUNT)
        previous = self._open[-1].get_column(STEP_COUNT)[-1] if self._open else None
        # First row of the last run of equal step counts in this chunk.
        changes = (counts != counts.shift()).fill_null(True).arg_true()
        last_start = int(changes[-1]) if changes.len() else 0
        if last_start == 0 and previous is not None and counts[0] == previous:  # goes on
            self._open.append(chunk)
            self._rows += chunk.height
            if sum(frame.height for frame in self._open) > self._long_step_rows:
                self._long = LongStep(
                    self._open[0], self._open_start, self._integrate, absolute=self._absolute
                )
                self._fold_long(last=False)
            return
        closed = [*self._open, chunk.slice(0, last_start)]
        self._close(pl.concat(closed) if len(closed) > 1 else closed[0])
        self._open = [chunk.slice(last_start)]
        self._open_start = self._rows + last_start
        self._rows += chunk.height

    @property
    def _absolute(self) -> bool:
        """Capacities from a split counter are absolute changes (``set_capacity``'s rule)."""
        return self._split is not None and self._split.active

    def _needed(self, chunk: pl.DataFrame) -> pl.DataFrame:
        """Only the columns the summary reads, with ``Cycle count`` as it is counted."""
        needed = {TIME, CURRENT, VOLTAGE, *CARRIED, *CUMULATIVE}
        if self._count_cycles or CYCLE_COUNT not in chunk.columns:
            needed.discard(CYCLE_COUNT)
            cycles = [self._cycle_count(chunk, self._rows)]
        else:
            cycles = []
        return chunk.select(*[c for c in chunk.columns if c in needed], *cycles)

    def _cycle_count(self, chunk: pl.DataFrame, offset: int) -> pl.Series:
        """ionworksdata's cycle count of each row: changes of the cycler's cycle number so far
        (a change to or from a missing value does not count)."""
        if CYCLE_FROM_CYCLER not in chunk.columns:
            return pl.repeat(0, chunk.height, dtype=pl.Int64, eager=True).alias(CYCLE_COUNT)
        cycler = pl.col(CYCLE_FROM_CYCLER)
        before = cycler.shift(1)
        if offset:
            before = before.fill_null(pl.lit(self._cycler)) if self._cycler is not None else before
            before = pl.when(pl.int_range(pl.len()) == 0).then(before).otherwise(cycler.shift(1))
        change = (cycler != before).fill_null(False).cast(pl.Int64)
        counts = chunk.select((change.cum_sum() + self._cycles).alias(CYCLE_COUNT)).to_series()
        self._cycler = chunk.get_column(CYCLE_FROM_CYCLER)[-1]
        self._cycles = int(counts[-1])
        return counts

    def _continue_long(self, chunk: pl.DataFrame) -> pl.DataFrame:
        """Feed the long open step the rows of ``chunk`` that continue it; the rest."""
        step = self._open[-1].get_column(STEP_COUNT)[-1]
        other = (chunk.get_column(STEP_COUNT) != step).fill_null(True).arg_true()
        goes_on = int(other[0]) if other.len() else chunk.height
        self._open.append(chunk.slice(0, goes_on))
        self._rows += goes_on
        self._fold_long(last=goes_on < chunk.height)
        return chunk.slice(goes_on)

    def _fold_long(self, *, last: bool) -> None:
        """Fold the open rows into the long step; keep its last row back unless it ended."""
        assert self._long is not None
        piece = pl.concat(self._open) if len(self._open) > 1 else self._open[0]
        self._long.fold(piece, last=last)
        if last:
            self._parts.append(self._long.result())
            self._long = None
            self._open = []
            self._open_start = self._rows
        else:
            self._open = [piece.tail(1)]

    def _close(self, rows: pl.DataFrame) -> None:
        if rows.height:
            self._parts.append(
                aggregate_steps(rows, self._open_start, self._integrate, absolute=self._absolute)
            )

    def finish(self) -> pl.DataFrame:
        """The steps table of everything added (the series must have had rows)."""
        if self._long is not None:
            self._fold_long(last=True)
        if self._open:
            self._close(pl.concat(self._open) if len(self._open) > 1 else self._open[0])
            self._open = []
        assert self._parts, "a steps table needs at least one row"
        aggregated = pl.concat(self._parts) if len(self._parts) > 1 else self._parts[0]
        return finish_steps(aggregated, self._rated)
