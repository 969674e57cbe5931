"""The rules the client enforces before an upload, on top of the server's (see ``validate``).

``ionworks-api`` 0.38.0 refuses standard cycler data that breaks these, so our client does too;
the server accepts such data, because the official client uploads it on other paths (OCP and
EIS uploads, ``extend()``). Each rule reads only columns the shared checks found readable
(``unreadable`` lists the others, already reported), so one problem is reported once.
"""

from __future__ import annotations

from collections.abc import Collection

import polars as pl

from .columns import (
    CHARGE_CAPACITY,
    CUMULATIVE,
    CURRENT,
    DISCHARGE_CAPACITY,
    STEP_COUNT,
    TIME,
)
from .errors import Issue

__all__ = ["TIME_ZERO_TOLERANCE", "upload_rule_issues"]

TIME_ZERO_TOLERANCE = 1e-6
"""Time counts as starting at zero within this many seconds (float noise of exporters)."""


def upload_rule_issues(ts: pl.DataFrame, unreadable: Collection[str]) -> list[Issue]:
    """The before-upload problems of a non-empty series (in no particular order)."""

    def readable(column: str) -> bool:
        return column in ts.columns and column not in unreadable

    issues: list[Issue] = []
    if readable(TIME):
        issues += _time_starts_at_zero(_floats(ts, TIME))
    starts: pl.Series | None = None
    steps = _whole_numbers(ts, STEP_COUNT)
    if steps is not None:
        found = _step_count_sequence(steps)
        issues += found
        if not found:
            starts = (steps.diff() != 0).fill_null(True)
            for column in CUMULATIVE:
                if readable(column):
                    issues += _cumulative_reset(_floats(ts, column), steps, starts)
    if readable(CURRENT):
        issues += _sign_convention(ts, starts, unreadable)
    return issues


def _floats(ts: pl.DataFrame, column: str) -> pl.Series:
    """A numeric column (or numbers written as text) as Float64, NaN and text as missing."""
    s = ts.get_column(column)
    if s.dtype == pl.String:
        s = s.str.strip_chars()
    return s.cast(pl.Float64, strict=False).fill_nan(None)


def _whole_numbers(ts: pl.DataFrame, column: str) -> pl.Series | None:
    """``column`` as Int64 when every row holds a whole number (else the shared checks said so)."""
    if column not in ts.columns:
        return None
    s = ts.get_column(column)
    if not (s.dtype.is_numeric() or s.dtype == pl.String):
        return None
    values = _floats(ts, column)
    if values.null_count() or (values != values.round(0)).any():
        return None
    return values.cast(pl.Int64)


def _plural(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _time_starts_at_zero(time: pl.Series) -> list[Issue]:
    """Time is elapsed time from the start of the test; the absolute start is metadata."""
    present = time.is_not_null().arg_true()
    if present.is_empty():
        return []
    row = int(present[0])
    first = float(time[row])
    if abs(first) <= TIME_ZERO_TOLERANCE:
        return []
    return [
        Issue(
            "time_not_starting_at_zero",
            f"{TIME!r} must start at 0 but starts at {first} (row {row}); subtract the first "
            "time value (ionworksdata's transform.reset_time does this) and give the absolute "
            "start as the measurement's start_time.",
            column=TIME,
            row=row,
            data={"value": first},
        )
    ]


def _step_count_sequence(steps: pl.Series) -> list[Issue]:
    """``Step count`` numbers the steps 0, 1, 2, ... in row order."""
    issues = []
    fix = "number the steps 0, 1, 2, ... or drop the column to let the server derive it."
    if steps[0] != 0:
        issues.append(
            Issue(
                "step_count_invalid",
                f"{STEP_COUNT!r} must start at 0 but starts at {steps[0]} (row 0); " + fix,
                column=STEP_COUNT,
                row=0,
            )
        )
    jumps = steps.diff()
    bad = ~jumps.is_in([0, 1]).fill_null(True)
    if bad.any():
        row = int(bad.arg_true()[0])
        issues.append(
            Issue(
                "step_count_invalid",
                f"{STEP_COUNT!r} must stay the same or increase by 1 from row to row, but "
                f"changes by {jumps[row]} at row {row} ({_plural(int(bad.sum()), 'such row')} "
                "in all); " + fix,
                column=STEP_COUNT,
                row=row,
            )
        )
    return issues


def _cumulative_reset(values: pl.Series, steps: pl.Series, starts: pl.Series) -> list[Issue]:
    """A cumulative column restarts near 0 at each step and never decreases within one."""
    column = values.name
    scale = values.abs().max()
    if not isinstance(scale, float):
        return []
    # A cycler samples the first point of a step slightly after it starts, so "reset" allows a
    # small value; carrying the previous step's total over is far above 1 % of the maximum.
    not_reset = starts & (values.abs() > 1e-9 + 0.01 * scale).fill_null(False)
    fix = "count it from 0 within each step (ionworksdata's transform.set_capacity does this)."
    issues = []
    if not_reset.any():
        row = int(not_reset.arg_true()[0])
        issues.append(
            Issue(
                "cumulative_not_reset",
                f"{column!r} must restart from 0 at each step but is {values[row]} at row {row}, "
                f"the first row of step {steps[row]}; " + fix,
                column=column,
                row=row,
            )
        )
    decreasing = ~starts & (values.diff() < -(1e-9 + 1e-6 * scale)).fill_null(False)
    if decreasing.any():
        row = int(decreasing.arg_true()[0])
        issues.append(
            Issue(
                "cumulative_not_reset",
                f"{column!r} must not decrease within a step but goes from {values[row - 1]} to "
                f"{values[row]} at row {row} (step {steps[row]}); " + fix,
                column=column,
                row=row,
            )
        )
    return issues


def _sign_convention(
    ts: pl.DataFrame, starts: pl.Series | None, unreadable: Collection[str]
) -> list[Issue]:
    """Positive current must be discharge: flag data where most rows say otherwise.

    Evidence is the rows where a capacity column grows: discharge capacity should grow under
    positive current, charge capacity under negative current.
    """
    current = _floats(ts, CURRENT)
    agree = pl.repeat(False, ts.height, eager=True)
    disagree = agree
    for column, sign in ((DISCHARGE_CAPACITY, 1.0), (CHARGE_CAPACITY, -1.0)):
        if column not in ts.columns or column in unreadable:
            continue
        values = _floats(ts, column)
        scale = values.abs().max()
        if not isinstance(scale, float):
            continue
        rising = (values.diff() > 1e-9 + 1e-6 * scale).fill_null(False)
        if starts is not None:
            rising = rising & ~starts
        signed = current * sign
        agree = agree | (rising & (signed > 0).fill_null(False))
        disagree = disagree | (rising & (signed < 0).fill_null(False))
    n_disagree, n_agree = int(disagree.sum()), int(agree.sum())
    if n_disagree <= n_agree:
        return []
    row = int(disagree.arg_true()[0])
    return [
        Issue(
            "current_sign_convention",
            f"{CURRENT!r} looks sign-swapped: on {n_disagree} of {n_disagree + n_agree} rows "
            f"where capacity accumulates the current has the wrong sign (first at row {row}). "
            "The convention is positive current = discharge, negative = charge; negate the "
            "current (ionworksdata's transform.set_positive_current_for_discharge does this).",
            column=CURRENT,
            row=row,
            data={"n_rows": n_disagree},
        )
    ]
