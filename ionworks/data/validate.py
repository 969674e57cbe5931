"""Checks of a measurement's time series: required columns, numeric values, time order, counts.

:func:`validate_time_series` checks a whole series; :class:`SeriesValidator` does the same over a
series that arrives in chunks (the local server reads large uploads that way), carrying across
chunks only what a check needs. Every failure is a :class:`~ionworks.data.errors.DataError`
whose message names the column and row and says how to fix the file.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from .columns import (
    CURRENT,
    CYCLE_COUNT,
    CYCLE_FROM_CYCLER,
    FREQUENCY,
    OPTIONAL_FLOAT,
    REQUIRED,
    STEP_COUNT,
    STEP_FROM_CYCLER,
    TIME,
    VOLTAGE,
)
from .errors import DataError

__all__ = [
    "REQUIRED_COLUMNS",
    "SeriesValidator",
    "changes",
    "check_required_columns",
    "int_column",
    "validate_time_series",
]

REQUIRED_COLUMNS = REQUIRED

# |I| below this counts as rest when Step count has to be derived from the current alone.
REST_CURRENT_A = 1e-3

_REQUIRED_NAMES = ", ".join(repr(c) for c in REQUIRED)  # for messages


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
        raise DataError(
            f"time series is missing required {noun} {names}; found columns: {found}. "
            f"Rename your columns to the Ionworks names ({_REQUIRED_NAMES}) before uploading."
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
            for name in (*REQUIRED_COLUMNS, *OPTIONAL_FLOAT)
            if name in ts.columns
        ]
        ts = ts.with_columns(casts)
        self._last_time = _check_time(ts, offset, self._last_time)

        for name in (STEP_COUNT, CYCLE_COUNT):
            if name in ts.columns:
                ts = ts.with_columns(int_column(ts, name, offset))
        derived = [name for name in (STEP_COUNT, CYCLE_COUNT) if name not in ts.columns]
        if derived:
            ts = ts.with_columns(self._derived_counts(ts, derived))
        self.rows += ts.height
        return ts

    def finish(self) -> None:
        """Refuse a series that had no rows at all."""
        if self.rows == 0:
            raise DataError(
                "time series is empty (0 rows); upload at least one row of "
                f"{TIME!r}, {CURRENT!r} and {VOLTAGE!r} values."
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
            raise DataError(
                f"column {name!r} must hold numbers, but row {row + offset} holds {s[row]!r}; "
                "remove units, thousands separators or text from the values and upload again."
            )
    else:
        raise DataError(
            f"column {name!r} must hold numbers, but it has type {s.dtype}; "
            "convert it to floating-point values and upload again."
        )
    return out.fill_nan(None).alias(name)


def int_column(ts: pl.DataFrame, name: str, offset: int = 0) -> pl.Series:
    """Return a count column as Int64, or explain why it cannot be one (rows from ``offset``)."""
    s = ts.get_column(name)
    if s.dtype.is_integer():
        out = s.cast(pl.Int64)
    elif s.dtype.is_float() or s.dtype == pl.String:
        as_float = s.cast(pl.Float64, strict=False) if s.dtype == pl.String else s
        bad = as_float.is_null() | as_float.is_nan() | (as_float != as_float.round(0))
        if bad.any():
            row = int(bad.arg_true()[0])
            raise DataError(
                f"column {name!r} must hold whole numbers (0, 1, 2, ...), but row {row + offset} holds "
                f"{s[row]!r}; fix the value or drop the column to let the server derive it."
            )
        out = as_float.cast(pl.Int64)
    else:
        raise DataError(
            f"column {name!r} must hold whole numbers, but it has type {s.dtype}; "
            "fix the column or drop it to let the server derive it."
        )
    if out.null_count():
        row = int(out.is_null().arg_true()[0])
        raise DataError(
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
            raise DataError(
                f"{TIME!r} is empty at row {row + offset}; time may only be missing on EIS "
                f"rows (rows with a {FREQUENCY!r} value). Fill in the time or remove the row."
            )
    infinite = time.is_infinite()
    if infinite.any():
        row = int(infinite.arg_true()[0])
        raise DataError(
            f"{TIME!r} is not finite at row {row + offset} ({time[row]}); fix or remove that row."
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
        raise DataError(
            f"{TIME!r} decreases at row {row} (from {before} to {now}); time must be "
            "non-decreasing. Sort the rows by time, or make time cumulative over the whole "
            "test if your cycler restarts it at each step."
        )
    return float(present.get_column("t")[-1]) if present.height else previous


def changes(expr: pl.Expr) -> pl.Expr:
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
        change = changes(pl.col(STEP_FROM_CYCLER))
        if CYCLE_FROM_CYCLER in keys:
            change = change | changes(pl.col(CYCLE_FROM_CYCLER))
        return change
    return changes(pl.col(_MODE))


def _cycle_change(keys: Sequence[str]) -> pl.Expr:
    """True where the cycler's cycle number changes; never without cycler cycle info."""
    if CYCLE_FROM_CYCLER in keys:
        return changes(pl.col(CYCLE_FROM_CYCLER))
    return pl.repeat(False, pl.len(), dtype=pl.Boolean)
