"""Checks of measurement data: one set of rules and messages for the client and the server.

The client runs :func:`check_measurement` before an upload (and reports every problem at once);
the local server runs :class:`SeriesValidator` on the uploaded series chunk by chunk at
processing. Both find the same problems with the same :class:`~ionworks.data.errors.Issue`
codes and messages, and a series read in chunks gives exactly the issues of the whole series
(each problem is reported at its first row, with its count over the whole series).

Rules checked on both paths (the server refuses only what it cannot process):

- ``missing_column``: ``Time [s]``, ``Current [A]`` and ``Voltage [V]`` are required.
- ``column_not_numeric``: those and the other numeric columns (capacities, energies, EIS...)
  hold numbers. Numbers written as text (``"3.7"``) are read as numbers: the official
  ``ionworks-api`` client uploads such columns unchanged, so the server must accept them.
- ``value_not_finite``: NaN counts as a missing value (stored as null), but ``inf`` in time,
  current or voltage is refused: every step statistic and cycle metric it touches would be
  infinite or NaN.
- ``time_missing``: time may be missing only on EIS rows (rows with a ``Frequency [Hz]``).
- ``time_not_monotonic``: time never decreases (rows without a time are stepped over).
- ``step_count_invalid`` / ``cycle_count_invalid``: counts, when given, are whole numbers on
  every row (absent ones are derived at processing).
- ``empty_time_series``: at least one row.
- ``steps_missing_column`` / ``steps_index_invalid`` / ``steps_index_out_of_range``: an
  uploaded steps table has whole-number ``Start index`` and ``End index`` (0-based, inclusive)
  inside the series, each start at or before its end. Its ``Step count`` and ``Cycle count``
  may be left out: the server takes them from the series at each step's start.

Rules checked before an upload only (:mod:`ionworks.data._upload_rules`): ``ionworks-api``
0.38.0 refuses standard cycler data that breaks them, so a user switching clients gets the same
refusals; ionworksdata 0.20.2's readers always produce data that passes (``read`` ends with
``transform.reset_time``, and steps and capacities are counted per step):

- ``time_not_starting_at_zero``: time starts at 0 (within 1e-6 s).
- ``step_count_invalid``: ``Step count`` starts at 0 and moves by 0 or 1 from row to row.
- ``cumulative_not_reset``: capacity and energy columns restart near 0 at each step and never
  decrease within one.
- ``current_sign_convention``: positive current is discharge.

The server accepts data that breaks these because the official client itself uploads such data:
its OCP and EIS uploads skip these checks, and its ``extend()`` appends a series whose time
continues from the first one's; none of them stops the server from computing steps and cycles.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from ._counts import MODE, change_keys, changes, cycle_change, step_change
from ._table_checks import COUNT_CODES, UPLOADED_STEPS_REQUIRED, check_steps_table, int_values
from ._upload_rules import upload_rule_issues
from .columns import (
    CURRENT,
    CYCLE_COUNT,
    FREQUENCY,
    OPTIONAL_FLOAT,
    REQUIRED,
    STEP_COUNT,
    TIME,
    VOLTAGE,
)
from .errors import DataError, Issue

__all__ = [
    "ISSUE_ORDER",
    "REQUIRED_COLUMNS",
    "UPLOADED_STEPS_REQUIRED",
    "Issue",
    "SeriesValidator",
    "changes",
    "check_measurement",
    "check_required_columns",
    "check_steps_table",
    "int_column",
    "validate_time_series",
]

REQUIRED_COLUMNS = REQUIRED


ISSUE_ORDER = (
    "missing_column",
    "column_not_numeric",
    "empty_time_series",
    "value_not_finite",
    "time_missing",
    "time_not_starting_at_zero",
    "time_not_monotonic",
    "step_count_invalid",
    "cycle_count_invalid",
    "cumulative_not_reset",
    "current_sign_convention",
    "steps_missing_column",
    "steps_index_invalid",
    "steps_index_out_of_range",
)
"""The order issues are reported in: structure first, then rows, then the steps table."""

_REQUIRED_NAMES = ", ".join(repr(c) for c in REQUIRED)  # for messages


def validate_time_series(ts: pl.DataFrame) -> pl.DataFrame:
    """Check an uploaded time series and return it normalised (the server's processing rules).

    The required columns are cast to Float64 (NaN becomes null), with the other numeric
    columns. ``Step count`` and ``Cycle count`` are cast to Int64, or derived when absent: steps
    from ``Step from cycler`` (and cycle) changes, else from changes between EIS rows, rest
    (|I| < 1 mA), discharge (I > 0) and charge (I < 0); cycles from ``Cycle from cycler``
    changes, else all 0. Other columns are kept as uploaded. Raises :class:`DataError` listing
    every problem.
    """
    validator = SeriesValidator(ts.columns)
    out = validator.chunk(ts)
    validator.finish()
    return out


def check_measurement(
    ts: pl.DataFrame, steps: pl.DataFrame | None = None, *, before_upload: bool = True
) -> list[Issue]:
    """Every problem of a measurement (series and optional steps table), in :data:`ISSUE_ORDER`.

    ``before_upload`` adds the rules the client enforces before an upload (see the module
    docstring); without it the verdict is the server's.
    """
    validator = SeriesValidator(ts.columns)
    validator.chunk(ts)
    issues = validator.result(steps)
    if before_upload and ts.height:
        issues = sort_issues([*issues, *upload_rule_issues(ts, validator.unreadable)])
    return issues


def sort_issues(issues: Sequence[Issue]) -> list[Issue]:
    """Issues in :data:`ISSUE_ORDER`, then by row and column: the same however they were found."""
    rank = {code: i for i, code in enumerate(ISSUE_ORDER)}
    return sorted(
        issues,
        key=lambda i: (rank.get(i.code, len(rank)), -1 if i.row is None else i.row, i.column or ""),
    )


def check_required_columns(columns: Sequence[str]) -> None:
    """Refuse a series without the three required columns, listing what it has instead."""
    issues = _missing_columns(columns)
    if issues:
        raise DataError.of(issues)


def _missing_columns(columns: Sequence[str]) -> list[Issue]:
    """One ``missing_column`` issue per required column absent from ``columns``."""
    found = ", ".join(repr(c) for c in columns) or "none"
    return [
        Issue(
            "missing_column",
            f"time series is missing required column {name!r}; found columns: {found}. "
            f"Rename your columns to the Ionworks names ({_REQUIRED_NAMES}) before uploading.",
            column=name,
        )
        for name in REQUIRED_COLUMNS
        if name not in columns
    ]


@dataclass
class _Found:
    """The first occurrence of one problem and how many rows have it so far."""

    code: str
    column: str | None
    row: int | None
    count: int
    text: Callable[[int], str]
    data: dict[str, Any]


def _fixed(message: str) -> Callable[[int], str]:
    """The text of a problem whose message does not depend on how often it occurs."""
    return lambda _n: message


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


class SeriesValidator:
    """:func:`validate_time_series` over a series that arrives in consecutive chunks.

    Each chunk is checked and normalised as it comes, so a large upload never has to be in memory
    whole. What spans chunks is carried: the row offset (messages name rows of the whole series),
    the last present time (time must not go backwards across a chunk boundary), the last row of
    the values whose changes open a new step or cycle with the counts reached so far, and the
    first occurrence and count of every problem. Once a problem is found the remaining chunks
    are still checked (so the error lists everything, as the client does) but come back empty:
    nothing of a refused series is worth writing. :meth:`finish` raises the problems.
    """

    def __init__(self, columns: Sequence[str]) -> None:
        self.rows = 0
        self.unreadable: set[str] = set()
        """Columns that are missing or not numbers: later rules skip them."""
        self._found: dict[tuple[str, str | None], _Found] = {}
        for issue in _missing_columns(columns):
            self._add(issue.code, issue.column, None, 1, _fixed(issue.message))
        self._last_time: float | None = None
        self._keys_tail: pl.DataFrame | None = None
        self._counts = {STEP_COUNT: 0, CYCLE_COUNT: 0}

    @property
    def ok(self) -> bool:
        """No problem found so far."""
        return not self._found

    def chunk(self, ts: pl.DataFrame) -> pl.DataFrame:
        """Check the next ``ts.height`` rows; normalised, or empty once the series has a problem."""
        if ts.height == 0:
            return ts
        offset = self.rows
        self.rows += ts.height
        # Text that is not a number reads as null once cast, yet it is not a missing time.
        text_time = TIME in ts.columns and ts.schema[TIME] == pl.String
        time_missing = ts.get_column(TIME).is_null() if text_time else None
        numeric = [n for n in (*REQUIRED_COLUMNS, *OPTIONAL_FLOAT) if n in ts.columns]
        ts = ts.with_columns(self._float_column(ts, name, offset) for name in numeric)
        self._check_finite(ts, offset)
        if TIME in ts.columns and TIME not in self.unreadable:
            self._check_time(ts, time_missing, offset)
        for name in (STEP_COUNT, CYCLE_COUNT):
            if name in ts.columns:
                issue, counts = int_values(ts.get_column(name), name, offset, COUNT_CODES[name])
                if issue is None:
                    ts = ts.with_columns(counts)
                else:
                    self._add_issue(issue)
        if not self.ok:
            return ts.clear()
        derived = [name for name in (STEP_COUNT, CYCLE_COUNT) if name not in ts.columns]
        if derived:
            ts = ts.with_columns(self._derived_counts(ts, derived))
        return ts

    def result(self, steps: pl.DataFrame | None = None) -> list[Issue]:
        """Every problem of the whole series (call after the last chunk), and of ``steps``."""
        issues = [
            Issue(f.code, f.text(f.count), f.column, f.row, f.data) for f in self._found.values()
        ]
        if self.rows == 0:
            issues.append(
                Issue(
                    "empty_time_series",
                    "time series is empty (0 rows); upload at least one row of "
                    f"{TIME!r}, {CURRENT!r} and {VOLTAGE!r} values.",
                )
            )
        elif steps is not None:
            issues.extend(check_steps_table(steps, self.rows))
        return sort_issues(issues)

    def finish(self, steps: pl.DataFrame | None = None) -> None:
        """Raise every problem of the series (and of an uploaded ``steps`` table), if any."""
        issues = self.result(steps)
        if issues:
            raise DataError.of(issues)

    def _add(
        self,
        code: str,
        column: str | None,
        row: int | None,
        count: int,
        text: Callable[[int], str],
        **data: Any,
    ) -> None:
        """Record a problem: its first occurrence is kept, its count adds up over chunks."""
        if code in ("missing_column", "column_not_numeric") and row is None and column:
            # The whole column is unusable (absent, or of a non-numeric type: the same in every
            # chunk); a few unreadable values are not, they just read as missing.
            self.unreadable.add(column)
        known = self._found.get((code, column))
        if known is None:
            self._found[(code, column)] = _Found(code, column, row, count, text, data)
        else:
            known.count += count

    def _add_issue(self, issue: Issue) -> None:
        self._add(issue.code, issue.column, issue.row, 1, _fixed(issue.message))

    def _float_column(self, ts: pl.DataFrame, name: str, offset: int) -> pl.Series:
        """Column ``name`` as Float64 (NaN -> null; text that is not a number -> null, recorded)."""
        s = ts.get_column(name)
        if s.dtype == pl.Null or s.dtype.is_numeric():
            return s.cast(pl.Float64).fill_nan(None).alias(name)
        if s.dtype != pl.String:
            self._add(
                "column_not_numeric",
                name,
                None,
                1,
                lambda _n: (
                    f"column {name!r} must hold numbers, but it has type {s.dtype}; "
                    "convert it to floating-point values and upload again."
                ),
            )
            return pl.Series(name, [None] * s.len(), pl.Float64)
        out = s.str.strip_chars().cast(pl.Float64, strict=False)
        bad = out.is_null() & s.is_not_null()
        if bad.any():
            row = int(bad.arg_true()[0])
            value = s[row]
            self._add(
                "column_not_numeric",
                name,
                row + offset,
                int(bad.sum()),
                lambda n: (
                    f"column {name!r} must hold numbers, but row {row + offset} holds "
                    f"{value!r} ({_plural(n, 'row')} of text in all); remove units, thousands "
                    "separators or text from the values and upload again."
                ),
            )
        return out.fill_nan(None).alias(name)

    def _check_finite(self, ts: pl.DataFrame, offset: int) -> None:
        """``inf`` in time, current or voltage would poison every statistic of its step."""
        names = [n for n in REQUIRED_COLUMNS if n in ts.columns and n not in self.unreadable]
        if not names:
            return
        flags = ts.select(pl.col(names).is_infinite().any()).row(0)  # one parallel pass
        for name, infinite in zip(names, flags, strict=True):
            if infinite:
                self._check_finite_column(ts.get_column(name), offset)

    def _check_finite_column(self, column: pl.Series, offset: int) -> None:
        infinite = column.is_infinite()
        if infinite.any():
            name, row = column.name, int(infinite.arg_true()[0]) + offset
            value = column[row - offset]
            self._add(
                "value_not_finite",
                name,
                row,
                int(infinite.sum()),
                lambda n: (
                    f"{name!r} is not finite at row {row} ({value}; {_plural(n, 'row')} in "
                    "all); fix or remove those rows."
                ),
            )

    def _check_time(self, ts: pl.DataFrame, missing: pl.Series | None, offset: int) -> None:
        """Time may be missing only on EIS rows and must never go backwards.

        ``missing`` marks rows without a time when the column came as text; else (numbers,
        NaN already null) it is the cast column's nulls.
        """
        time = ts.get_column(TIME)
        if missing is None:
            missing = time.is_null() if time.null_count() else None
        if missing is not None and FREQUENCY in ts.columns:
            missing = missing & ts.get_column(FREQUENCY).is_null()
        if missing is not None and missing.any():
            row = int(missing.arg_true()[0]) + offset
            self._add(
                "time_missing",
                TIME,
                row,
                int(missing.sum()),
                lambda n: (
                    f"{TIME!r} is empty at row {row} ({_plural(n, 'row')} in all); time "
                    f"may only be missing on EIS rows (rows with a {FREQUENCY!r} value). Fill in "
                    "the time or remove the row."
                ),
            )
        self._check_time_order(ts.get_column(TIME), offset)

    def _check_time_order(self, time: pl.Series, offset: int) -> None:
        """Compare each present time with the previous present one, across chunks too, so rows
        without a time (EIS) do not hide a backwards jump around them."""
        times = pl.DataFrame({"t": time}).with_columns(
            pl.int_range(offset, offset + pl.len(), dtype=pl.Int64).alias("row")
        )
        if self._last_time is not None:
            times = pl.concat([pl.DataFrame({"t": [self._last_time], "row": [offset - 1]}), times])
        present = times.filter(pl.col("t").is_not_null())
        if present.height:
            self._last_time = float(present.get_column("t")[-1])
        backwards = present.with_columns(pl.col("t").shift().alias("prev")).filter(
            pl.col("t") < pl.col("prev")
        )
        if backwards.height:
            now, row, before = backwards.row(0)
            self._add(
                "time_not_monotonic",
                TIME,
                row,
                backwards.height,
                lambda n: (
                    f"{TIME!r} decreases at row {row} (from {before} to {now}), "
                    f"{_plural(n, 'decrease')} in all; time must be non-decreasing. Sort the rows "
                    "by time, or make time cumulative over the whole test if your cycler restarts "
                    "it at each step."
                ),
            )

    def _derived_counts(self, ts: pl.DataFrame, names: list[str]) -> list[pl.Series]:
        """Step/cycle counts for this chunk, continuing from the previous one."""
        keys = ts.select(change_keys(ts.columns))
        if self._keys_tail is not None:
            keys = pl.concat([self._keys_tail, keys])
        if MODE in keys.columns:
            # Rows without a current stay in the step they appear in.
            keys = keys.with_columns(pl.col(MODE).forward_fill().backward_fill())
        starts = keys.select(
            step_change(keys.columns).alias(STEP_COUNT),
            cycle_change(keys.columns).alias(CYCLE_COUNT),
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


def int_column(ts: pl.DataFrame, name: str, offset: int = 0) -> pl.Series:
    """Return a count column as Int64, or raise why it cannot be one (rows from ``offset``)."""
    issue, out = int_values(ts.get_column(name), name, offset, COUNT_CODES.get(name, "invalid"))
    if issue is not None:
        raise DataError.of([issue])
    return out
