"""The steps table of a time series: one row per step, classified, with per-cycle sums.

:func:`derive_steps` summarises a whole series; :class:`StepSummariser` does the same over a
series that arrives in chunks (the local server reads large uploads that way) and equals one pass
over the whole series. The aggregation itself is vectorised polars (one ``group_by`` over whole
steps, :mod:`ionworks.data._step_rows`): a 1,000,000-row series with a few thousand steps is
summarised in a fraction of a second. Column names and order are those of the steps table the
Ionworks API serves (``openapi.yaml``; :data:`ionworks.data.columns.STEPS`).
"""

from __future__ import annotations

import math

import polars as pl

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
    END_INDEX,
    END_TIME,
    FRAME,
    MEAN_CURRENT,
    MEAN_FREQUENCY,
    POWER,
    START_INDEX,
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
from .validate import validate_time_series

__all__ = [
    "CURRENT_STD_TOL",
    "EIS_TOL",
    "LONG_STEP_ROWS",
    "POWER_STD_TOL",
    "REST_TOL",
    "STEP_COLUMNS",
    "VOLTAGE_STD_TOL",
    "StepSummariser",
    "derive_steps",
    "step_type",
]

STEP_COLUMNS = STEPS
"""Full column order of the steps table (``Frame`` goes before ``Duration [s]`` when present)."""

# Default step classification tolerances: ionworksdata's settings, so that step types match what
# the official service computes for the same series.
CURRENT_STD_TOL = 1e-2
VOLTAGE_STD_TOL = 1e-2
POWER_STD_TOL = 1e-2
REST_TOL = 1e-3
EIS_TOL = 1e-8

LONG_STEP_ROWS = 1_048_576
"""A step held whole up to this many rows; longer ones are aggregated piece by piece."""


def derive_steps(ts: pl.DataFrame, rated_capacity_ah: float | None = None) -> pl.DataFrame:
    """Summarise a time series into the steps table (column order: :data:`STEP_COLUMNS`).

    The series is validated first (see :func:`~ionworks.data.validate.validate_time_series`). A
    step is a run of equal ``Step count`` values. Capacity/energy columns missing from the series
    are integrated per step with the trapezoidal rule (positive current = discharge).
    ``rated_capacity_ah`` tightens the rest and constant-current tolerances for small cells
    (C/1000 and C/200).
    """
    summary = StepSummariser(rated_capacity_ah)
    summary.add(validate_time_series(ts))
    return summary.finish()


def _tolerances(max_abs_current: float, rated_capacity_ah: float | None) -> tuple[float, float]:
    """Rest and current-std tolerances, capped so small cells are not all classed as rest."""
    rest_tol, current_tol = REST_TOL, CURRENT_STD_TOL
    if rated_capacity_ah is not None and math.isfinite(rated_capacity_ah) and rated_capacity_ah > 0:
        rest_tol = min(rest_tol, rated_capacity_ah / 1000)
        current_tol = min(current_tol, rated_capacity_ah / 200)
    elif math.isfinite(max_abs_current) and max_abs_current > 0:
        rest_tol = min(rest_tol, 0.01 * max_abs_current)
        current_tol = min(current_tol, 0.01 * max_abs_current)
    return rest_tol, current_tol


def step_type(rest_tol: float, current_tol: float) -> pl.Expr:
    """The ``Step type`` of each row of an aggregated steps table, first rule that holds wins.

    EIS (a frequency), rest (|mean current| under ``rest_tol``), then constant current, voltage
    or power (the std of that signal under its tolerance), each a discharge when the mean
    current is positive, else a charge.
    """
    mean_i = pl.col(MEAN_CURRENT)

    def directed(kind: str) -> pl.Expr:
        return (
            pl.when(mean_i > 0)
            .then(pl.lit(f"Constant {kind} discharge"))
            .otherwise(pl.lit(f"Constant {kind} charge"))
        )

    return (
        pl.when(pl.col(MEAN_FREQUENCY) > EIS_TOL)
        .then(pl.lit("EIS"))
        .when(mean_i.abs() < rest_tol)
        .then(pl.lit("Rest"))
        .when(pl.col(STD_CURRENT) < current_tol)
        .then(directed("current"))
        .when(pl.col(STD_VOLTAGE) < VOLTAGE_STD_TOL)
        .then(directed("voltage"))
        .when(pl.col(STD_POWER) < POWER_STD_TOL)
        .then(directed("power"))
        .otherwise(pl.lit("Unknown step type"))
    )


def _finish_steps(
    aggregated: pl.DataFrame,
    schema: pl.Schema,
    max_abs_current: float,
    rated_capacity_ah: float | None,
) -> pl.DataFrame:
    """Classify the aggregated steps, add per-cycle sums, order and type the columns.

    ``schema`` is the validated series' schema; ``max_abs_current`` its largest |current|.
    """
    cols = set(schema.names())
    rest_tol, current_tol = _tolerances(max_abs_current, rated_capacity_ah)
    steps = aggregated.lazy().with_columns(
        (pl.col(END_TIME) - pl.col(START_TIME)).alias(DURATION),
        step_type(rest_tol, current_tol).cast(pl.String).alias(STEP_TYPE),
        pl.col(CHARGE_CAPACITY).sum().over(CYCLE_COUNT).alias(CYCLE_CHARGE_CAPACITY),
        pl.col(DISCHARGE_CAPACITY).sum().over(CYCLE_COUNT).alias(CYCLE_DISCHARGE_CAPACITY),
        pl.col(CHARGE_ENERGY).sum().over(CYCLE_COUNT).alias(CYCLE_CHARGE_ENERGY),
        pl.col(DISCHARGE_ENERGY).sum().over(CYCLE_COUNT).alias(CYCLE_DISCHARGE_ENERGY),
    )
    order = list(STEP_COLUMNS)
    if FRAME in cols:
        order.insert(order.index(DURATION), FRAME)
    not_float = (START_INDEX, END_INDEX, STEP_COUNT, CYCLE_COUNT, STEP_TYPE, FRAME)
    float_cols = [
        c for c in order if c not in not_float and c not in (STEP_FROM_CYCLER, CYCLE_FROM_CYCLER)
    ]
    return (
        steps.select(order)
        .with_columns(
            pl.col(START_INDEX, END_INDEX, STEP_COUNT, CYCLE_COUNT).cast(pl.Int64),
            pl.col(float_cols).cast(pl.Float64),
            *[_cycler_cast(c, schema) for c in (STEP_FROM_CYCLER, CYCLE_FROM_CYCLER)],
        )
        .collect()
    )


def _cycler_cast(name: str, schema: pl.Schema) -> pl.Expr:
    """Cycler step/cycle numbers become Int64 when they are integers, else stay as uploaded."""
    if name not in schema or schema[name].is_integer():
        return pl.col(name).cast(pl.Int64)
    return pl.col(name)


class StepSummariser:
    """The step table of a validated series that arrives in consecutive chunks.

    Steps are aggregated whole: the rows of the step still open at the end of a chunk are held
    back and aggregated with the rest of that step, so every number equals what one pass over
    the whole series gives. Only the columns the summary reads are held. A step longer than
    ``long_step_rows`` (a long rest, a file without step information) is aggregated piece by
    piece instead (:class:`LongStep`), so memory follows the chunk size, not the series.
    """

    def __init__(
        self, rated_capacity_ah: float | None, long_step_rows: int = LONG_STEP_ROWS
    ) -> None:
        self._rated = rated_capacity_ah
        # Over 3 rows a step's spread leaves out both its first and last sample, as LongStep does.
        self._long_step_rows = max(3, long_step_rows)
        self._long: LongStep | None = None
        self._schema: pl.Schema | None = None
        self._open: list[pl.DataFrame] = []  # the rows of the step still open
        self._open_start = 0  # its first row in the series
        self._rows = 0
        self._parts: list[pl.DataFrame] = []
        self._max_abs_current: float | None = None

    def add(self, chunk: pl.DataFrame) -> None:
        """Take the next validated chunk; aggregate every step it closes."""
        if chunk.height == 0:
            return
        if self._schema is None:
            self._schema = chunk.schema
        peak = chunk.get_column(CURRENT).abs().max()
        if isinstance(peak, int | float) and (
            self._max_abs_current is None or peak > self._max_abs_current
        ):
            self._max_abs_current = float(peak)
        needed = [TIME, CURRENT, VOLTAGE, POWER, *CARRIED, *CUMULATIVE]
        chunk = chunk.select(c for c in chunk.columns if c in needed)
        if self._long is not None:
            chunk = self._continue_long(chunk)
            if chunk.height == 0:
                return
        counts = chunk.get_column(STEP_COUNT)
        previous = self._open[-1].get_column(STEP_COUNT)[-1] if self._open else None
        # First row of the last run of equal step counts in this chunk.
        changes = (counts != counts.shift()).arg_true()
        last_start = int(changes[-1]) if changes.len() else 0
        if last_start == 0 and counts[0] == previous:  # the open step goes on
            self._open.append(chunk)
            self._rows += chunk.height
            if sum(frame.height for frame in self._open) > self._long_step_rows:
                self._long = LongStep(self._open[0], self._open_start)
                self._fold_long(last=False)
            return
        closed = [*self._open, chunk.slice(0, last_start)]
        self._close(pl.concat(closed) if len(closed) > 1 else closed[0])
        self._open = [chunk.slice(last_start)]
        self._open_start = self._rows + last_start
        self._rows += chunk.height

    def _continue_long(self, chunk: pl.DataFrame) -> pl.DataFrame:
        """Feed the long open step the rows of ``chunk`` that continue it; the rest."""
        step = self._open[-1].get_column(STEP_COUNT)[-1]
        other = (chunk.get_column(STEP_COUNT) != step).arg_true()
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
            self._parts.append(aggregate_steps(rows, self._open_start))

    def finish(self) -> pl.DataFrame:
        """The step table of everything added (the series must have had rows)."""
        if self._long is not None:
            self._fold_long(last=True)
        if self._open:
            self._close(pl.concat(self._open) if len(self._open) > 1 else self._open[0])
            self._open = []
        assert self._schema is not None, "a step table needs at least one row"
        aggregated = pl.concat(self._parts) if len(self._parts) > 1 else self._parts[0]
        peak = self._max_abs_current if self._max_abs_current is not None else 0.0
        return _finish_steps(aggregated, self._schema, peak, self._rated)
