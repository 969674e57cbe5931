"""Server-side processing of uploaded time-series measurements.

After an upload is confirmed the server validates the time series, builds the step summary table
(or checks the one the client uploaded) and derives per-cycle metrics. Everything here works on
polars frames without I/O, so the worker can run it and store the three results. The worker feeds
a large upload in chunks (:func:`process_chunks`: :class:`SeriesValidator` and
:class:`StepSummariser` carry what spans chunks), so memory follows the chunk, not the file;
:func:`process` is the same code on a single chunk.

Column names, orders, dtypes and classification rules follow the wire facts §11.2-§11.5, so that
frames read back through the client look like the ones the official service returns. The work is
done with vectorised polars expressions (group_by / window functions): a 1,000,000-row series with
a few thousand steps is summarised in a fraction of a second.

Errors are raised as :class:`ProcessingError`, whose message ends up in the measurement's
``processing_error`` field, so each one says what is wrong with the user's file and how to fix it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import polars as pl

__all__ = [
    "CYCLE_METRIC_COLUMNS",
    "STEP_COLUMNS",
    "ProcessingError",
    "SeriesValidator",
    "StepSummariser",
    "cycle_metrics",
    "derive_steps",
    "process",
    "process_chunks",
    "validate_time_series",
]

TIME = "Time [s]"
CURRENT = "Current [A]"
VOLTAGE = "Voltage [V]"
POWER = "Power [W]"
FREQUENCY = "Frequency [Hz]"
STEP_COUNT = "Step count"
CYCLE_COUNT = "Cycle count"
STEP_FROM_CYCLER = "Step from cycler"
CYCLE_FROM_CYCLER = "Cycle from cycler"
DISCHARGE_CAPACITY = "Discharge capacity [A.h]"
CHARGE_CAPACITY = "Charge capacity [A.h]"
DISCHARGE_ENERGY = "Discharge energy [W.h]"
CHARGE_ENERGY = "Charge energy [W.h]"

REQUIRED_COLUMNS = (TIME, CURRENT, VOLTAGE)
_CUMULATIVE = (DISCHARGE_CAPACITY, CHARGE_CAPACITY, DISCHARGE_ENERGY, CHARGE_ENERGY)
# Columns the step summary reads besides time, current, voltage and the cumulative ones.
_CARRIED = (FREQUENCY, STEP_COUNT, CYCLE_COUNT, STEP_FROM_CYCLER, CYCLE_FROM_CYCLER, "Frame")

# Optional columns that are numbers by definition; they are cast to Float64 like the required ones
# so that downstream readers never meet a string-typed measurement column.
OPTIONAL_FLOAT_COLUMNS = (
    "Temperature [degC]",
    FREQUENCY,
    "Z_Re [Ohm]",
    "Z_Im [Ohm]",
    "Z_Mod [Ohm]",
    "Z_Phase [deg]",
    "DC resistance [Ohm]",
    DISCHARGE_CAPACITY,
    CHARGE_CAPACITY,
    DISCHARGE_ENERGY,
    CHARGE_ENERGY,
    POWER,
)

# |I| below this counts as rest when Step count has to be derived from the current alone.
REST_CURRENT_A = 1e-3

# Default step classification tolerances (ionworksdata settings), see wire facts §11.3.
CURRENT_STD_TOL = 1e-2
VOLTAGE_STD_TOL = 1e-2
POWER_STD_TOL = 1e-2
REST_TOL = 1e-3
EIS_TOL = 1e-8

STEP_COLUMNS: tuple[str, ...] = (
    "Start index",
    "End index",
    "Start time [s]",
    "End time [s]",
    "Start voltage [V]",
    "End voltage [V]",
    DISCHARGE_CAPACITY,
    CHARGE_CAPACITY,
    DISCHARGE_ENERGY,
    CHARGE_ENERGY,
    "Min voltage [V]",
    "Max voltage [V]",
    "Std voltage [V]",
    "Mean voltage [V]",
    "Min current [A]",
    "Max current [A]",
    "Std current [A]",
    "Mean current [A]",
    "Min power [W]",
    "Max power [W]",
    "Std power [W]",
    "Mean power [W]",
    "Min frequency [Hz]",
    "Max frequency [Hz]",
    "Std frequency [Hz]",
    "Mean frequency [Hz]",
    STEP_COUNT,
    STEP_FROM_CYCLER,
    CYCLE_COUNT,
    CYCLE_FROM_CYCLER,
    # "Frame" is inserted here when the series carries it.
    "Duration [s]",
    "Step type",
    "Cycle charge capacity [A.h]",
    "Cycle discharge capacity [A.h]",
    "Cycle charge energy [W.h]",
    "Cycle discharge energy [W.h]",
)

CYCLE_METRIC_COLUMNS: tuple[str, ...] = (
    CYCLE_COUNT,
    DISCHARGE_CAPACITY,
    CHARGE_CAPACITY,
    DISCHARGE_ENERGY,
    CHARGE_ENERGY,
    "Min voltage [V]",
    "Max voltage [V]",
    "Cycle duration [s]",
    "Start time [s]",
    "Coulombic efficiency",
    "Energy efficiency",
    "Capacity retention",
    "Capacity fade",
    "Energy retention",
    "Energy fade",
    "Mean discharge current [A]",
    "Discharge duration [s]",
    "Mean charge current [A]",
    "Charge duration [s]",
    "Mean temperature [degC]",
    "Capacity throughput [A.h]",
    "Energy throughput [W.h]",
)
"""Full column order of :func:`cycle_metrics`; energy and temperature columns are left out when the
steps table cannot provide them (wire facts §11.5)."""

_ENERGY_CYCLE_COLUMNS = frozenset(
    {
        DISCHARGE_ENERGY,
        CHARGE_ENERGY,
        "Energy efficiency",
        "Energy retention",
        "Energy fade",
        "Energy throughput [W.h]",
    }
)


class ProcessingError(Exception):
    """The uploaded data cannot be processed.

    The message is shown to the end user as the measurement's ``processing_error``; it names the
    offending column/row and says how to fix the file.
    """


# --------------------------------------------------------------------------------------------
# Time-series validation
# --------------------------------------------------------------------------------------------


def validate_time_series(ts: pl.DataFrame) -> pl.DataFrame:
    """Check an uploaded time series and return it normalised.

    Requires ``Time [s]``, ``Current [A]`` and ``Voltage [V]`` (numeric; cast to Float64, NaN
    becomes null), at least one row, and a non-decreasing time column that is only empty on EIS
    rows (rows with a ``Frequency [Hz]`` value). ``Step count`` and ``Cycle count`` are cast to
    Int64, or derived when absent: steps from ``Step from cycler`` (and cycle) changes, else from
    changes between EIS rows, rest (|I| < 1 mA), discharge (I > 0) and charge (I < 0); cycles from
    ``Cycle from cycler`` changes, else all 0. Other columns are kept as uploaded.
    """
    validator = SeriesValidator(ts.columns)
    out = validator.chunk(ts)
    validator.finish()
    return out


def check_required_columns(columns: Sequence[str]) -> None:
    """Refuse a series without the three required columns, listing what it has instead."""
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        names = ", ".join(repr(c) for c in missing)
        found = ", ".join(repr(c) for c in columns) or "none"
        noun = "column" if len(missing) == 1 else "columns"
        raise ProcessingError(
            f"time series is missing required {noun} {names}; found columns: {found}. "
            "Rename your columns to the Ionworks names ('Time [s]', 'Current [A]', 'Voltage [V]') "
            "before uploading."
        )


class SeriesValidator:
    """:func:`validate_time_series` over a series that arrives in consecutive chunks.

    Each chunk is checked and normalised as it comes, so a large upload never has to be in memory
    whole. What spans chunks is carried: the row offset (messages name rows of the whole series),
    the last present time (time must not go backwards across a chunk boundary), and the last row
    of the values whose changes open a new step or cycle, with the counts reached so far. The
    output of the chunks, concatenated, equals that of one call on the whole series.
    """

    def __init__(self, columns: Sequence[str]) -> None:
        check_required_columns(columns)
        self.rows = 0
        self._last_time: float | None = None
        self._keys_tail: pl.DataFrame | None = None
        self._counts = {STEP_COUNT: 0, CYCLE_COUNT: 0}

    def chunk(self, ts: pl.DataFrame) -> pl.DataFrame:
        """Validate and normalise the next ``ts.height`` rows of the series."""
        if ts.height == 0:
            return ts
        offset = self.rows
        casts = [
            _float_column(ts, name, offset)
            for name in (*REQUIRED_COLUMNS, *OPTIONAL_FLOAT_COLUMNS)
            if name in ts.columns
        ]
        ts = ts.with_columns(casts)
        self._last_time = _check_time(ts, offset, self._last_time)

        for name in (STEP_COUNT, CYCLE_COUNT):
            if name in ts.columns:
                ts = ts.with_columns(_int_column(ts, name, offset))
        derived = [name for name in (STEP_COUNT, CYCLE_COUNT) if name not in ts.columns]
        if derived:
            ts = ts.with_columns(self._derived_counts(ts, derived))
        self.rows += ts.height
        return ts

    def finish(self) -> None:
        """Refuse a series that had no rows at all."""
        if self.rows == 0:
            raise ProcessingError(
                "time series is empty (0 rows); upload at least one row of "
                "'Time [s]', 'Current [A]' and 'Voltage [V]' values."
            )

    def _derived_counts(self, ts: pl.DataFrame, names: list[str]) -> list[pl.Series]:
        """Step/cycle counts for this chunk, continuing from the previous one."""
        keys = ts.select(_change_keys(ts.columns))
        if self._keys_tail is not None:
            keys = pl.concat([self._keys_tail, keys])
        if _MODE in keys.columns:
            # Rows without a current stay in the step they appear in.
            keys = keys.with_columns(pl.col(_MODE).forward_fill().backward_fill())
        starts = keys.select(
            _step_change(keys.columns).alias(STEP_COUNT),
            _cycle_change(keys.columns).alias(CYCLE_COUNT),
        )
        if self._keys_tail is not None:
            starts = starts.slice(1)
        self._keys_tail = keys.tail(1)
        out = []
        for name in names:
            counts = starts.get_column(name).cast(pl.Int64).cum_sum() + self._counts[name]
            self._counts[name] = int(counts[-1])
            out.append(counts.alias(name))
        return out


def _float_column(ts: pl.DataFrame, name: str, offset: int = 0) -> pl.Series:
    """Return column ``name`` as Float64 (NaN -> null), or explain why it is not numeric.

    ``offset`` is the series row of ``ts``'s first row, so messages name rows of the whole file.
    """
    s = ts.get_column(name)
    if s.dtype == pl.Null or s.dtype.is_numeric():
        out = s.cast(pl.Float64)
    elif s.dtype == pl.String:
        out = s.str.strip_chars().cast(pl.Float64, strict=False)
        bad = out.is_null() & s.is_not_null()
        if bad.any():
            row = int(bad.arg_true()[0])
            raise ProcessingError(
                f"column {name!r} must hold numbers, but row {row + offset} holds {s[row]!r}; "
                "remove units, thousands separators or text from the values and upload again."
            )
    else:
        raise ProcessingError(
            f"column {name!r} must hold numbers, but it has type {s.dtype}; "
            "convert it to floating-point values and upload again."
        )
    return out.fill_nan(None).alias(name)


def _int_column(ts: pl.DataFrame, name: str, offset: int = 0) -> pl.Series:
    """Return a count column as Int64, or explain why it cannot be one (rows from ``offset``)."""
    s = ts.get_column(name)
    if s.dtype.is_integer():
        out = s.cast(pl.Int64)
    elif s.dtype.is_float() or s.dtype == pl.String:
        as_float = s.cast(pl.Float64, strict=False) if s.dtype == pl.String else s
        bad = as_float.is_null() | as_float.is_nan() | (as_float != as_float.round(0))
        if bad.any():
            row = int(bad.arg_true()[0])
            raise ProcessingError(
                f"column {name!r} must hold whole numbers (0, 1, 2, ...), but row {row + offset} holds "
                f"{s[row]!r}; fix the value or drop the column to let the server derive it."
            )
        out = as_float.cast(pl.Int64)
    else:
        raise ProcessingError(
            f"column {name!r} must hold whole numbers, but it has type {s.dtype}; "
            "fix the column or drop it to let the server derive it."
        )
    if out.null_count():
        row = int(out.is_null().arg_true()[0])
        raise ProcessingError(
            f"column {name!r} is empty at row {row + offset}; every row needs a value "
            "(or drop the column to let the server derive it)."
        )
    return out.alias(name)


def _check_time(ts: pl.DataFrame, offset: int = 0, previous: float | None = None) -> float | None:
    """Time may be missing only on EIS rows and must never go backwards.

    ``previous`` is the last present time before this chunk; returns the last present time
    after it.
    """
    time = ts.get_column(TIME)
    if time.null_count():
        missing = time.is_null()
        if FREQUENCY in ts.columns:
            missing = missing & ts.get_column(FREQUENCY).is_null()
        if missing.any():
            row = int(missing.arg_true()[0])
            raise ProcessingError(
                f"'Time [s]' is empty at row {row + offset}; time may only be missing on EIS "
                "rows (rows with a 'Frequency [Hz]' value). Fill in the time or remove the row."
            )
    infinite = time.is_infinite()
    if infinite.any():
        row = int(infinite.arg_true()[0])
        raise ProcessingError(
            f"'Time [s]' is not finite at row {row + offset} ({time[row]}); fix or remove that row."
        )
    # Compare each present time with the previous present one, so EIS rows without a time do
    # not hide a backwards jump around them.
    times = pl.DataFrame({"t": time}).with_columns(
        pl.int_range(offset, offset + pl.len(), dtype=pl.Int64).alias("row")
    )
    if previous is not None:
        times = pl.concat([pl.DataFrame({"t": [previous], "row": [offset - 1]}), times])
    present = times.filter(pl.col("t").is_not_null())
    backwards = present.with_columns(pl.col("t").shift().alias("prev")).filter(
        pl.col("t") < pl.col("prev")
    )
    if backwards.height:
        now, row, before = backwards.row(0)
        raise ProcessingError(
            f"'Time [s]' decreases at row {row} (from {before} to {now}); time must be "
            "non-decreasing. Sort the rows by time, or make time cumulative over the whole "
            "test if your cycler restarts it at each step."
        )
    return float(present.get_column("t")[-1]) if present.height else previous


def _changes(expr: pl.Expr) -> pl.Expr:
    """True where a value differs from the previous row (null counts as a value)."""
    return expr.ne_missing(expr.shift()) & (pl.int_range(pl.len()) > 0)


_MODE = "_mode"


def _change_keys(columns: Sequence[str]) -> list[pl.Expr]:
    """The per-row values whose changes open a new step or cycle when counts are derived.

    Steps follow the cycler's step and cycle numbers when present, else the row's mode: EIS
    (rows with a frequency form steps of their own, whatever current they log), rest (|I| < 1 mA),
    discharge (I > 0) or charge (I < 0). The mode is null where the current is, and filled from
    its neighbours by the caller. Cycles follow the cycler's cycle number.
    """
    keys = [pl.col(c) for c in (STEP_FROM_CYCLER, CYCLE_FROM_CYCLER) if c in columns]
    if STEP_FROM_CYCLER not in columns:
        current = pl.col(CURRENT)
        eis = pl.col(FREQUENCY).is_not_null() if FREQUENCY in columns else pl.lit(False)
        mode = (
            pl.when(eis)
            .then(pl.lit(2, pl.Int8))
            .when(current.abs() < REST_CURRENT_A)
            .then(pl.lit(0, pl.Int8))
            .when(current > 0)
            .then(pl.lit(1, pl.Int8))
            .when(current < 0)
            .then(pl.lit(-1, pl.Int8))
            .otherwise(pl.lit(None, pl.Int8))
        )
        keys.append(mode.alias(_MODE))
    return keys


def _step_change(keys: Sequence[str]) -> pl.Expr:
    """True where a new step opens: the cycler's step changes (a new cycle always opens a new
    step, even if the cycler reuses the step number), or else the mode changes."""
    if STEP_FROM_CYCLER in keys:
        change = _changes(pl.col(STEP_FROM_CYCLER))
        if CYCLE_FROM_CYCLER in keys:
            change = change | _changes(pl.col(CYCLE_FROM_CYCLER))
        return change
    return _changes(pl.col(_MODE))


def _cycle_change(keys: Sequence[str]) -> pl.Expr:
    """True where the cycler's cycle number changes; never without cycler cycle info."""
    if CYCLE_FROM_CYCLER in keys:
        return _changes(pl.col(CYCLE_FROM_CYCLER))
    return pl.repeat(False, pl.len(), dtype=pl.Boolean)


# --------------------------------------------------------------------------------------------
# Step summary
# --------------------------------------------------------------------------------------------


def derive_steps(ts: pl.DataFrame, rated_capacity_ah: float | None = None) -> pl.DataFrame:
    """Summarise a time series into the step table of wire facts §11.3.

    The series is validated first (see :func:`validate_time_series`). A step is a run of equal
    ``Step count`` values. Capacity/energy columns missing from the series are integrated per step
    with the trapezoidal rule (positive current = discharge). ``rated_capacity_ah`` tightens the
    rest and constant-current tolerances for small cells (C/1000 and C/200).
    """
    return _summarise_steps(validate_time_series(ts), rated_capacity_ah)


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


def _summarise_steps(ts: pl.DataFrame, rated_capacity_ah: float | None) -> pl.DataFrame:
    """Build the step table from a series that already passed :func:`validate_time_series`."""
    summary = StepSummariser(rated_capacity_ah)
    summary.add(ts)
    return summary.finish()


def _aggregate_steps(ts: pl.DataFrame, row_offset: int) -> pl.DataFrame:
    """One row per step of ``ts`` (whole steps only), before classification.

    ``row_offset`` is the series row of ``ts``'s first row (for the start and end indices).
    """
    cols = set(ts.columns)
    t, i, v = pl.col(TIME), pl.col(CURRENT), pl.col(VOLTAGE)
    power = pl.col(POWER) if POWER in cols else v * i
    has_freq = FREQUENCY in cols

    group_start = _changes(pl.col(STEP_COUNT)) | (pl.int_range(pl.len()) == 0)
    frame = ts.lazy().select(
        pl.int_range(row_offset, row_offset + pl.len(), dtype=pl.Int64).alias("_row"),
        group_start.alias("_start"),
        t,
        i,
        v,
        power.alias("_p"),
        *[pl.col(c) for c in (*_CARRIED, *_CUMULATIVE) if c in cols],
    )
    frame = frame.with_columns(
        pl.col("_start").cast(pl.Int64).cum_sum().alias("_grp"),
        pl.when(pl.col("_start")).then(pl.col("_row")).forward_fill().alias("_first"),
    ).with_columns(
        (pl.col("_row") - pl.col("_first")).alias("_pos"),
        pl.len().over("_grp").alias("_n"),
    )
    # The std of voltage/current/power ignores a step's first sample when it has more than two
    # and its last when it has more than three: cyclers log those at the transition.
    keep = ~((pl.col("_n") > 2) & (pl.col("_pos") == 0)) & ~(
        (pl.col("_n") > 3) & (pl.col("_pos") == pl.col("_n") - 1)
    )
    frame = frame.with_columns(
        pl.when(keep).then(v).alias("_v_std"),
        pl.when(keep).then(i).alias("_i_std"),
        pl.when(keep).then(pl.col("_p")).alias("_p_std"),
    )

    # Trapezoidal increments for the cumulative columns the series lacks (0 on a step's first
    # row, so each step integrates only its own samples).
    dt = t - t.shift()
    integrands = {
        DISCHARGE_CAPACITY: i.clip(lower_bound=0.0) / 3600.0,
        CHARGE_CAPACITY: (-i).clip(lower_bound=0.0) / 3600.0,
        DISCHARGE_ENERGY: pl.col("_p").clip(lower_bound=0.0) / 3600.0,
        CHARGE_ENERGY: (-pl.col("_p")).clip(lower_bound=0.0) / 3600.0,
    }
    to_integrate = [c for c in _CUMULATIVE if c not in cols]
    if to_integrate:
        frame = frame.with_columns(
            pl.when(~pl.col("_start"))
            .then(0.5 * (integrands[c] + integrands[c].shift()) * dt)
            .alias(f"_inc {c}")
            for c in to_integrate
        )

    def delta(name: str) -> pl.Expr:
        if name in cols:
            return (pl.col(name).last() - pl.col(name).first()).alias(name)
        return pl.col(f"_inc {name}").sum().alias(name)

    def stats(source: str, std_source: str, label: str) -> list[pl.Expr]:
        return [
            pl.col(source).min().alias(f"Min {label}"),
            pl.col(source).max().alias(f"Max {label}"),
            pl.col(std_source).std().fill_null(0.0).alias(f"Std {label}"),
            pl.col(source).mean().alias(f"Mean {label}"),
        ]

    null_float = pl.lit(None, pl.Float64)
    if has_freq:
        frequency = stats(FREQUENCY, FREQUENCY, "frequency [Hz]")
    else:
        frequency = [null_float.alias(f"{s} frequency [Hz]") for s in ("Min", "Max", "Std", "Mean")]

    def first_or_null(name: str) -> pl.Expr:
        if name in cols:
            return pl.col(name).first().alias(name)
        return pl.lit(None, pl.Int64).alias(name)

    aggs = [
        pl.col("_row").first().alias("Start index"),
        pl.col("_row").last().alias("End index"),
        t.first().alias("Start time [s]"),
        t.last().alias("End time [s]"),
        v.first().alias("Start voltage [V]"),
        v.last().alias("End voltage [V]"),
        *[delta(c) for c in _CUMULATIVE],
        *stats(VOLTAGE, "_v_std", "voltage [V]"),
        *stats(CURRENT, "_i_std", "current [A]"),
        *stats("_p", "_p_std", "power [W]"),
        *frequency,
        pl.col(STEP_COUNT).first(),
        first_or_null(STEP_FROM_CYCLER),
        pl.col(CYCLE_COUNT).first(),
        first_or_null(CYCLE_FROM_CYCLER),
        *([pl.col("Frame").first()] if "Frame" in cols else []),
    ]
    return frame.group_by("_grp").agg(aggs).sort("_grp").drop("_grp").collect()


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
    steps = aggregated.lazy()
    rest_tol, current_tol = _tolerances(max_abs_current, rated_capacity_ah)
    mean_i = pl.col("Mean current [A]")

    def directed(kind: str) -> pl.Expr:
        return (
            pl.when(mean_i > 0)
            .then(pl.lit(f"Constant {kind} discharge"))
            .otherwise(pl.lit(f"Constant {kind} charge"))
        )

    step_type = (
        pl.when(pl.col("Mean frequency [Hz]") > EIS_TOL)
        .then(pl.lit("EIS"))
        .when(mean_i.abs() < rest_tol)
        .then(pl.lit("Rest"))
        .when(pl.col("Std current [A]") < current_tol)
        .then(directed("current"))
        .when(pl.col("Std voltage [V]") < VOLTAGE_STD_TOL)
        .then(directed("voltage"))
        .when(pl.col("Std power [W]") < POWER_STD_TOL)
        .then(directed("power"))
        .otherwise(pl.lit("Unknown step type"))
    )
    steps = steps.with_columns(
        (pl.col("End time [s]") - pl.col("Start time [s]")).alias("Duration [s]"),
        step_type.cast(pl.String).alias("Step type"),
        pl.col(CHARGE_CAPACITY).sum().over(CYCLE_COUNT).alias("Cycle charge capacity [A.h]"),
        pl.col(DISCHARGE_CAPACITY).sum().over(CYCLE_COUNT).alias("Cycle discharge capacity [A.h]"),
        pl.col(CHARGE_ENERGY).sum().over(CYCLE_COUNT).alias("Cycle charge energy [W.h]"),
        pl.col(DISCHARGE_ENERGY).sum().over(CYCLE_COUNT).alias("Cycle discharge energy [W.h]"),
    )
    order = list(STEP_COLUMNS)
    if "Frame" in cols:
        order.insert(order.index("Duration [s]"), "Frame")
    float_cols = [
        c
        for c in order
        if c not in ("Start index", "End index", STEP_COUNT, CYCLE_COUNT, "Step type", "Frame")
        and c not in (STEP_FROM_CYCLER, CYCLE_FROM_CYCLER)
    ]
    return (
        steps.select(order)
        .with_columns(
            pl.col("Start index", "End index", STEP_COUNT, CYCLE_COUNT).cast(pl.Int64),
            pl.col(float_cols).cast(pl.Float64),
            *[_cycler_cast(c, schema) for c in (STEP_FROM_CYCLER, CYCLE_FROM_CYCLER)],
        )
        .collect()
    )


LONG_STEP_ROWS = 1_048_576
"""A step held whole up to this many rows; longer ones are aggregated piece by piece."""

_STAT_LABELS = ((VOLTAGE, "voltage [V]"), (CURRENT, "current [A]"), ("_p", "power [W]"))
_INTEGRANDS = {
    DISCHARGE_CAPACITY: (CURRENT, 1.0),
    CHARGE_CAPACITY: (CURRENT, -1.0),
    DISCHARGE_ENERGY: ("_p", 1.0),
    CHARGE_ENERGY: ("_p", -1.0),
}


class _LongStep:
    """Running aggregates of a step too long to hold whole, fed piece by piece.

    Each piece starts with the last row of the previous one (held back by the caller), which
    gives the trapezoidal increments their previous sample and keeps the step's last row out of
    the spread statistics until it is known to be the last. Minimum, maximum, first and last
    values are exact; sums, means and standard deviations are merged from the pieces (Chan's
    formula), equal to a single pass up to rounding in the last digits.
    """

    def __init__(self, first: pl.DataFrame, row_offset: int) -> None:
        self._template = _aggregate_steps(first.head(1), row_offset)
        self._first = first.row(0, named=True)
        self._last: dict[str, Any] = self._first
        self._cols = set(first.columns)
        self._start = row_offset
        self._rows = 0
        self._stats: dict[str, list[Any]] = {}  # source -> [count, sum, min, max]
        self._spread: dict[str, tuple[int, float, float]] = {}  # source -> (n, mean, M2)
        self._sums: dict[str, float] = {}  # integrated cumulative column -> sum of increments

    def fold(self, piece: pl.DataFrame, *, last: bool) -> None:
        """Aggregate ``piece`` (all of it when ``last``, else all but its final row)."""
        first_fold = self._rows == 0
        cols = self._cols
        n = piece.height
        pos = pl.int_range(pl.len())
        counted = pos < n if last else pos < n - 1
        spread = counted & ((pos > 0) if first_fold else pl.lit(True))
        if last:
            spread = spread & (pos < n - 1)
        power = pl.col(POWER) if POWER in cols else pl.col(VOLTAGE) * pl.col(CURRENT)
        frame = piece.with_columns(power.alias("_p"))
        sources = [s for s, _ in _STAT_LABELS] + ([FREQUENCY] if FREQUENCY in cols else [])
        exprs: list[pl.Expr] = []
        for s in sources:
            value = pl.col(s).filter(counted)
            spread_value = value if s == FREQUENCY else pl.col(s).filter(spread)
            exprs += [
                value.count().alias(f"{s}|n"),
                value.sum().alias(f"{s}|sum"),
                value.min().alias(f"{s}|min"),
                value.max().alias(f"{s}|max"),
                spread_value.count().alias(f"{s}|sn"),
                spread_value.mean().alias(f"{s}|mean"),
                spread_value.var().alias(f"{s}|var"),
            ]
        dt = pl.col(TIME) - pl.col(TIME).shift()
        for name in (c for c in _CUMULATIVE if c not in cols):
            source, sign = _INTEGRANDS[name]
            f = (sign * pl.col(source)).clip(lower_bound=0.0) / 3600.0
            exprs.append(pl.when(pos > 0).then(0.5 * (f + f.shift()) * dt).sum().alias(name))
        out = frame.select(exprs).row(0, named=True)
        for s in sources:
            self._merge(s, out)
        for name in (c for c in _CUMULATIVE if c not in cols):
            self._sums[name] = self._sums.get(name, 0.0) + (out[name] or 0.0)
        self._rows += n if last else n - 1
        if last:
            self._last = piece.tail(1).row(0, named=True)

    def _merge(self, s: str, out: dict[str, Any]) -> None:
        count, total, low, high = self._stats.get(s, [0, 0.0, None, None])
        if out[f"{s}|n"]:
            count += out[f"{s}|n"]
            total += out[f"{s}|sum"]
            low = out[f"{s}|min"] if low is None else min(low, out[f"{s}|min"])
            high = out[f"{s}|max"] if high is None else max(high, out[f"{s}|max"])
        self._stats[s] = [count, total, low, high]
        na, mean_a, m2_a = self._spread.get(s, (0, 0.0, 0.0))
        nb = out[f"{s}|sn"]
        if nb:
            mean_b = out[f"{s}|mean"]
            m2_b = (out[f"{s}|var"] or 0.0) * (nb - 1)
            n = na + nb
            delta = mean_b - mean_a
            self._spread[s] = (
                n,
                mean_a + delta * nb / n,
                m2_a + m2_b + delta * delta * na * nb / n,
            )

    def result(self) -> pl.DataFrame:
        """The step's row, shaped like :func:`_aggregate_steps` output."""
        row = self._template.row(0, named=True)
        last = self._last
        row["End index"] = self._start + self._rows - 1
        row["End time [s]"] = last[TIME]
        row["End voltage [V]"] = last[VOLTAGE]
        for name in _CUMULATIVE:
            if name in self._cols:
                first = self._first[name]
                row[name] = None if first is None or last[name] is None else last[name] - first
            else:
                row[name] = self._sums.get(name, 0.0)
        labels = list(_STAT_LABELS)
        if FREQUENCY in self._cols:
            labels.append((FREQUENCY, "frequency [Hz]"))
        for s, label in labels:
            count, total, low, high = self._stats[s]
            n, _, m2 = self._spread.get(s, (0, 0.0, 0.0))
            row[f"Min {label}"] = low
            row[f"Max {label}"] = high
            row[f"Mean {label}"] = total / count if count else None
            row[f"Std {label}"] = math.sqrt(m2 / (n - 1)) if n > 1 else 0.0
        return pl.from_dicts([row], schema=self._template.schema)


class StepSummariser:
    """The step table of a validated series that arrives in consecutive chunks.

    Steps are aggregated whole: the rows of the step still open at the end of a chunk are held
    back and aggregated with the rest of that step, so every number equals what one pass over
    the whole series gives. Only the columns the summary reads are held. A step longer than
    ``long_step_rows`` (a long rest, a file without step information) is aggregated piece by
    piece instead (:class:`_LongStep`), so memory follows the chunk size, not the series.
    """

    def __init__(
        self, rated_capacity_ah: float | None, long_step_rows: int = LONG_STEP_ROWS
    ) -> None:
        self._rated = rated_capacity_ah
        # Over 3 rows a step's spread leaves out both its first and last sample, as _LongStep does.
        self._long_step_rows = max(3, long_step_rows)
        self._long: _LongStep | None = None
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
        needed = [TIME, CURRENT, VOLTAGE, POWER, *_CARRIED, *_CUMULATIVE]
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
                self._long = _LongStep(self._open[0], self._open_start)
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
            self._parts.append(_aggregate_steps(rows, self._open_start))

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


def _cycler_cast(name: str, schema: pl.Schema) -> pl.Expr:
    """Cycler step/cycle numbers become Int64 when they are integers, else stay as uploaded."""
    if name not in schema or schema[name].is_integer():
        return pl.col(name).cast(pl.Int64)
    return pl.col(name)


# --------------------------------------------------------------------------------------------
# Cycle metrics
# --------------------------------------------------------------------------------------------


def cycle_metrics(steps: pl.DataFrame) -> pl.DataFrame:
    """Per-cycle metrics from a step table (wire facts §11.5).

    Grouped by ``Cycle count`` (ascending; all steps are cycle 0 if the column is absent).
    Efficiencies are ratios (null when the charge side is <= 0); retention is relative to the
    first cycle's discharge (all null when that is null or <= 0); throughput is a running sum.
    Energy columns appear only when the steps carry both energy columns, and
    ``Mean temperature [degC]`` only when the steps carry it. Missing numeric inputs (possible
    in uploaded step tables) give null columns rather than errors.
    """
    cols = set(steps.columns)
    has_energy = DISCHARGE_ENERGY in cols and CHARGE_ENERGY in cols
    has_temperature = "Mean temperature [degC]" in cols

    def col(name: str) -> pl.Expr:
        return pl.col(name).cast(pl.Float64) if name in cols else pl.lit(None, pl.Float64)

    if "Duration [s]" in cols:
        duration = col("Duration [s]")
    else:
        duration = col("End time [s]") - col("Start time [s]")
    mean_i = col("Mean current [A]")
    cycle = pl.col(CYCLE_COUNT).cast(pl.Int64) if CYCLE_COUNT in cols else pl.lit(0, pl.Int64)

    def side(mask: pl.Expr, prefix: str) -> list[pl.Expr]:
        return [
            mask.sum().alias(f"_{prefix}_n"),
            duration.filter(mask).sum().alias(f"_{prefix}_dur"),
            (mean_i * duration).filter(mask).sum().alias(f"_{prefix}_charge"),
        ]

    def reduce(name: str, how: Callable[[pl.Expr], pl.Expr]) -> pl.Expr:
        # An absent input gives a null metric, not the 0 that summing a null literal would give.
        if name not in cols:
            return pl.lit(None, pl.Float64).alias(name)
        return how(col(name)).alias(name)

    has_duration = "Duration [s]" in cols or {"Start time [s]", "End time [s]"} <= cols
    aggs = [
        reduce(DISCHARGE_CAPACITY, pl.Expr.sum),
        reduce(CHARGE_CAPACITY, pl.Expr.sum),
        reduce(DISCHARGE_ENERGY, pl.Expr.sum),
        reduce(CHARGE_ENERGY, pl.Expr.sum),
        reduce("Min voltage [V]", pl.Expr.min),
        reduce("Max voltage [V]", pl.Expr.max),
        (duration.sum() if has_duration else pl.lit(None, pl.Float64)).alias("Cycle duration [s]"),
        reduce("Start time [s]", pl.Expr.min),
        *side(mean_i > 0, "dis"),
        *side(mean_i < 0, "chg"),
    ]
    if has_temperature:
        temperature = col("Mean temperature [degC]")
        weight = duration.filter(temperature.is_not_null())
        aggs += [
            (temperature * duration).sum().alias("_temp_weighted"),
            weight.sum().alias("_temp_weight"),
        ]

    per_cycle = steps.lazy().group_by(cycle.alias(CYCLE_COUNT)).agg(aggs).sort(CYCLE_COUNT)

    def ratio(num: str, den: str) -> pl.Expr:
        return pl.when(pl.col(den) > 0).then(pl.col(num) / pl.col(den))

    def retention(name: str) -> pl.Expr:
        first = pl.col(name).first()
        return pl.when(first > 0).then(pl.col(name) / first)

    def weighted_current(prefix: str) -> pl.Expr:
        dur, n = pl.col(f"_{prefix}_dur"), pl.col(f"_{prefix}_n")
        return pl.when((n > 0) & (dur > 0)).then(pl.col(f"_{prefix}_charge") / dur)

    def side_duration(prefix: str) -> pl.Expr:
        return pl.when(pl.col(f"_{prefix}_n") > 0).then(pl.col(f"_{prefix}_dur"))

    metrics = per_cycle.with_columns(
        ratio(DISCHARGE_CAPACITY, CHARGE_CAPACITY).alias("Coulombic efficiency"),
        ratio(DISCHARGE_ENERGY, CHARGE_ENERGY).alias("Energy efficiency"),
        retention(DISCHARGE_CAPACITY).alias("Capacity retention"),
        retention(DISCHARGE_ENERGY).alias("Energy retention"),
        weighted_current("dis").alias("Mean discharge current [A]"),
        side_duration("dis").alias("Discharge duration [s]"),
        weighted_current("chg").alias("Mean charge current [A]"),
        side_duration("chg").alias("Charge duration [s]"),
        (pl.col(DISCHARGE_CAPACITY).fill_null(0.0) + pl.col(CHARGE_CAPACITY).fill_null(0.0))
        .cum_sum()
        .alias("Capacity throughput [A.h]"),
        (pl.col(DISCHARGE_ENERGY).fill_null(0.0) + pl.col(CHARGE_ENERGY).fill_null(0.0))
        .cum_sum()
        .alias("Energy throughput [W.h]"),
        *(
            [
                pl.when(pl.col("_temp_weight") > 0)
                .then(pl.col("_temp_weighted") / pl.col("_temp_weight"))
                .alias("Mean temperature [degC]")
            ]
            if has_temperature
            else []
        ),
    ).with_columns(
        (1.0 - pl.col("Capacity retention")).alias("Capacity fade"),
        (1.0 - pl.col("Energy retention")).alias("Energy fade"),
    )
    order = [
        c
        for c in CYCLE_METRIC_COLUMNS
        if (has_energy or c not in _ENERGY_CYCLE_COLUMNS)
        and (has_temperature or c != "Mean temperature [degC]")
    ]
    return metrics.select(order).with_columns(pl.exclude(CYCLE_COUNT).cast(pl.Float64)).collect()


# --------------------------------------------------------------------------------------------
# Entry point used by the server
# --------------------------------------------------------------------------------------------

UPLOADED_STEP_REQUIRED = (STEP_COUNT, "Start index", "End index")


def process(
    ts: pl.DataFrame,
    uploaded_steps: pl.DataFrame | None,
    rated_capacity_ah: float | None,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Validate a measurement and return (normalised time series, steps, cycles).

    An uploaded step table is used as given once its indices are checked against the series
    (a ``Cycle count`` column is added from the series when it lacks one); an absent or empty
    one means the server derives the steps itself.
    """
    parts: list[pl.DataFrame] = []
    _, steps, cycles = process_chunks(
        [ts], ts.columns, uploaded_steps, rated_capacity_ah, parts.append
    )
    return (parts[0] if len(parts) == 1 else pl.concat(parts)), steps, cycles


def process_chunks(
    chunks: Iterable[pl.DataFrame],
    columns: Sequence[str],
    uploaded_steps: pl.DataFrame | None,
    rated_capacity_ah: float | None,
    write: Callable[[pl.DataFrame], None],
) -> tuple[int, pl.DataFrame, pl.DataFrame]:
    """:func:`process` for a series read in consecutive chunks (all with ``columns``).

    Each normalised chunk is handed to ``write`` as soon as it is validated, and only what spans
    chunks is kept (see :class:`SeriesValidator` and :class:`StepSummariser`), so memory follows
    the chunk size, not the file. Returns (rows, steps, cycles), equal to what :func:`process`
    gives for the whole series at once.
    """
    validator = SeriesValidator(columns)
    uploaded = uploaded_steps if uploaded_steps is not None and uploaded_steps.height else None
    summary = StepSummariser(rated_capacity_ah) if uploaded is None else None
    needs_cycles = uploaded is not None and CYCLE_COUNT not in uploaded.columns
    cycle_counts: list[pl.Series] = []
    for chunk in chunks:
        series = validator.chunk(chunk)
        if series.height == 0:
            continue
        write(series)
        if summary is not None:
            summary.add(series)
        elif needs_cycles:
            cycle_counts.append(series.get_column(CYCLE_COUNT))
    validator.finish()
    if uploaded is None:
        assert summary is not None
        steps = summary.finish()
    else:
        steps = _check_uploaded_steps(uploaded, validator.rows, cycle_counts)
    return validator.rows, steps, cycle_metrics(steps)


def _check_uploaded_steps(
    steps: pl.DataFrame, rows: int, cycle_counts: list[pl.Series]
) -> pl.DataFrame:
    """Make sure a client-supplied step table fits the ``rows``-row series it came with.

    ``cycle_counts`` are the series' cycle counts (in chunks), used when the table has none.
    """
    missing = [c for c in UPLOADED_STEP_REQUIRED if c not in steps.columns]
    if missing:
        names = ", ".join(repr(c) for c in missing)
        found = ", ".join(repr(c) for c in steps.columns) or "none"
        raise ProcessingError(
            f"uploaded steps table is missing required column(s) {names}; found columns: "
            f"{found}. Add them, or upload without a steps table to let the server derive steps."
        )
    steps = steps.with_columns(_int_column(steps, c) for c in UPLOADED_STEP_REQUIRED)
    start, end = pl.col("Start index"), pl.col("End index")
    last_row = rows - 1
    bad = (
        steps.with_row_index("_step_row")
        .filter((start < 0) | (end > last_row) | (start > end))
        .select("_step_row", "Start index", "End index")
    )
    if bad.height:
        row, first, last = bad.row(0)
        raise ProcessingError(
            f"uploaded steps row {row} spans rows {first}..{last}, but the time series has rows "
            f"0..{last_row} and a step must start at or before its end; fix the step indices "
            "(0-based, inclusive) or upload without a steps table."
        )
    if CYCLE_COUNT not in steps.columns:
        cycles = pl.concat(cycle_counts).gather(steps.get_column("Start index"))
        steps = steps.with_columns(cycles.alias(CYCLE_COUNT))
    else:
        steps = steps.with_columns(_int_column(steps, CYCLE_COUNT))
    return steps
