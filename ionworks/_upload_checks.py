"""Pre-upload checks of measurement data: every problem found before anything is sent.

:func:`validate_measurement_upload` runs before the upload protocol starts, so bad data costs
no request and the user gets every problem at once rather than the server's first one. The
checks are pure functions of the frames (no client, no HTTP); only the error they raise,
:class:`~ionworks.errors.MeasurementValidationError`, belongs to the client.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl

from ionworks._dataframe import to_polars
from ionworks.data.columns import (
    CHARGE_CAPACITY,
    CUMULATIVE,
    CURRENT,
    DISCHARGE_CAPACITY,
    END_INDEX,
    FREQUENCY,
    REQUIRED,
    START_INDEX,
    STEP_COUNT,
    TIME,
)
from ionworks.errors import MeasurementValidationError

__all__ = ["validate_measurement_upload"]

TIME_ZERO_TOLERANCE = 1e-6
"""Time counts as starting at zero within this many seconds (float noise of exporters)."""

_Add = Callable[..., None]
"""Records one issue: ``add(code, message, **data)``; the checks report, the caller collects."""


def _first_index(mask: pl.Series) -> int:
    """The first True row: messages name where a problem starts, not every row."""
    return int(mask.arg_true()[0])


def _float(df: pl.DataFrame, column: str) -> pl.Series:
    """A numeric column as Float64 with NaN treated as missing."""
    return df[column].cast(pl.Float64).fill_nan(None)


def _step_starts(df: pl.DataFrame) -> pl.Series:
    """True on the first row of every step (row 0 included)."""
    return (df[STEP_COUNT].diff() != 0).fill_null(True)


def _check_time(df: pl.DataFrame, add: _Add) -> None:
    """Time starts at 0 and never decreases; only EIS rows (with a frequency) may lack it."""
    time = _float(df, TIME)
    missing = time.is_null()
    if FREQUENCY in df.columns and df.schema[FREQUENCY].is_numeric():
        eis_rows = _float(df, FREQUENCY).is_not_null()
        bad_missing = missing & ~eis_rows
    else:
        bad_missing = missing
    if bad_missing.any():
        row = _first_index(bad_missing)
        add(
            "time_missing",
            f"Column '{TIME}' is missing at row {row} ({bad_missing.sum()} rows in total); "
            f"only EIS rows (with '{FREQUENCY}') may have no time.",
            column=TIME,
            row=row,
        )

    present_rows = (~missing).arg_true()
    if present_rows.is_empty():
        return
    present = time.drop_nulls()
    first_row = int(present_rows[0])
    if abs(present[0]) > TIME_ZERO_TOLERANCE:
        add(
            "time_not_starting_at_zero",
            f"Column '{TIME}' must start at 0 but starts at {present[0]} (row {first_row}); "
            "subtract the first time value.",
            column=TIME,
            row=first_row,
            value=present[0],
        )
    decreasing = (present.diff() < 0).fill_null(False)
    if decreasing.any():
        position = _first_index(decreasing)
        row = int(present_rows[position])
        add(
            "time_not_monotonic",
            f"Column '{TIME}' must be non-decreasing but goes from {present[position - 1]} to "
            f"{present[position]} at row {row} ({decreasing.sum()} decreases in total).",
            column=TIME,
            row=row,
        )


def _check_step_count(df: pl.DataFrame, add: _Add) -> bool:
    """Check ``Step count``; return whether it is usable for the per-step checks."""
    steps = df[STEP_COUNT]
    if not steps.dtype.is_numeric():
        add(
            "step_count_invalid",
            f"Column '{STEP_COUNT}' has type {steps.dtype}, expected integers.",
            column=STEP_COUNT,
            row=0,
        )
        return False
    if steps.null_count():
        row = _first_index(steps.is_null())
        add(
            "step_count_invalid",
            f"Column '{STEP_COUNT}' is missing at row {row}.",
            column=STEP_COUNT,
            row=row,
        )
        return False
    ok = True
    if steps[0] != 0:
        add(
            "step_count_invalid",
            f"Column '{STEP_COUNT}' must start at 0 but starts at {steps[0]} (row 0).",
            column=STEP_COUNT,
            row=0,
        )
        ok = False
    jumps = steps.diff()
    bad = ~jumps.is_in([0, 1]).fill_null(True)
    if bad.any():
        row = _first_index(bad)
        add(
            "step_count_invalid",
            f"Column '{STEP_COUNT}' must stay the same or increase by 1 from row to row, but changes by "
            f"{jumps[row]} at row {row} ({bad.sum()} such rows in total).",
            column=STEP_COUNT,
            row=row,
        )
        ok = False
    return ok


def _check_cumulative(df: pl.DataFrame, column: str, starts: pl.Series, add: _Add) -> None:
    """A cumulative column restarts near 0 at each step and never decreases within one."""
    values = _float(df, column)
    scale = values.abs().max()
    if scale is None:
        return
    assert isinstance(scale, float)
    # A cycler samples the first point of a step slightly after it starts, so "reset" allows a
    # small value; carrying the previous step's total over is far above 1 % of the maximum.
    reset_tolerance = 1e-9 + 0.01 * scale
    not_reset = starts & (values.abs() > reset_tolerance).fill_null(False)
    if not_reset.any():
        row = _first_index(not_reset)
        add(
            "cumulative_not_reset",
            f"Column '{column}' must restart from 0 at each step but is {values[row]} at row "
            f"{row}, the first row of step {df[STEP_COUNT][row]}.",
            column=column,
            row=row,
        )
    decreasing = ~starts & (values.diff() < -(1e-9 + 1e-6 * scale)).fill_null(False)
    if decreasing.any():
        row = _first_index(decreasing)
        add(
            "cumulative_not_reset",
            f"Column '{column}' must not decrease within a step but goes from {values[row - 1]} "
            f"to {values[row]} at row {row} (step {df[STEP_COUNT][row]}).",
            column=column,
            row=row,
        )


def _check_sign_convention(df: pl.DataFrame, starts: pl.Series | None, add: _Add) -> None:
    """Positive current must be discharge: flag data where most rows say otherwise."""
    current = _float(df, CURRENT)
    agree = pl.repeat(False, df.height, eager=True)
    disagree = agree
    for column, sign in ((DISCHARGE_CAPACITY, 1.0), (CHARGE_CAPACITY, -1.0)):
        if column not in df.columns or not df.schema[column].is_numeric():
            continue
        values = _float(df, column)
        scale = values.abs().max()
        if scale is None:
            continue
        assert isinstance(scale, float)
        rising = (values.diff() > 1e-9 + 1e-6 * scale).fill_null(False)
        if starts is not None:
            rising = rising & ~starts
        signed = current * sign
        agree = agree | (rising & (signed > 0).fill_null(False))
        disagree = disagree | (rising & (signed < 0).fill_null(False))
    n_disagree, n_agree = int(disagree.sum()), int(agree.sum())
    if n_disagree > n_agree:
        row = _first_index(disagree)
        add(
            "current_sign_convention",
            f"Column '{CURRENT}' looks sign-swapped: on {n_disagree} of {n_disagree + n_agree} "
            f"rows where capacity accumulates the current has the wrong sign (first at row {row}). "
            "The convention is positive current = discharge, negative = charge.",
            column=CURRENT,
            row=row,
            n_rows=n_disagree,
        )


def _check_steps_table(steps: pl.DataFrame, n_rows: int, add: _Add) -> None:
    """Step start/end indices must point at rows of the time series they summarise."""
    for column in (START_INDEX, END_INDEX):
        if column not in steps.columns or not steps.schema[column].is_numeric():
            continue
        outside = ((steps[column] < 0) | (steps[column] >= n_rows)).fill_null(True)
        if outside.any():
            row = _first_index(outside)
            add(
                "steps_index_out_of_range",
                f"Steps column '{column}' is {steps[column][row]} at steps row {row}, outside "
                f"the time series (rows 0 to {n_rows - 1}).",
                column=column,
                row=row,
            )


def _check_required(df: pl.DataFrame, add: _Add) -> None:
    """Each required column must exist and hold numbers."""
    for column in REQUIRED:
        if column not in df.columns:
            add("missing_column", f"Required column '{column}' is missing.", column=column)
        elif not df.schema[column].is_numeric():
            add(
                "column_not_numeric",
                f"Column '{column}' has type {df.schema[column]}, expected numbers.",
                column=column,
            )


def _check_rows(df: pl.DataFrame, add: _Add) -> None:
    """The row-level checks, each run only on columns it can read (a missing one is reported once)."""

    def usable(column: str) -> bool:
        return column in df.columns and df.schema[column].is_numeric()

    if usable(TIME):
        _check_time(df, add)
    starts: pl.Series | None = None
    if STEP_COUNT in df.columns and _check_step_count(df, add):
        starts = _step_starts(df)
        for column in CUMULATIVE:
            if usable(column):
                _check_cumulative(df, column, starts, add)
    if usable(CURRENT):
        _check_sign_convention(df, starts, add)


def _summary(issues: list[dict[str, Any]]) -> str:
    """One message for all issues: the single problem inline, or one line per problem."""
    if len(issues) == 1:
        message = f"Measurement data failed validation: {issues[0]['message']}"
    else:
        lines = "\n".join(f"  - [{issue['code']}] {issue['message']}" for issue in issues)
        message = f"Measurement data failed validation ({len(issues)} problems):\n{lines}"
    return message + "\nNothing was uploaded."


def validate_measurement_upload(time_series: Any, steps: Any = None) -> None:
    """Check measurement data before it is uploaded, reporting every problem at once.

    Checks (each issue has a stable ``code``): required numeric columns ``Time [s]``,
    ``Current [A]``, ``Voltage [V]`` (``missing_column``, ``column_not_numeric``); at least one row
    (``empty_time_series``); time starts at 0 and never decreases, with gaps allowed only on EIS
    rows (``time_not_starting_at_zero``, ``time_not_monotonic``, ``time_missing``); ``Step count``
    starts at 0 and steps by 0 or 1 (``step_count_invalid``); cumulative capacity/energy columns
    restart each step and never decrease within one (``cumulative_not_reset``); positive current
    means discharge (``current_sign_convention``); step ``Start/End index`` inside the series
    (``steps_index_out_of_range``). Accepts polars, pandas or column dicts.

    Raises:
        MeasurementValidationError: one error whose ``errors`` list holds every problem, each
            with ``code``, ``message`` and ``data`` (``column``, first offending ``row``, ...).
    """
    df = to_polars(time_series)
    issues: list[dict[str, Any]] = []

    def add(code: str, message: str, **data: Any) -> None:
        issues.append({"code": code, "message": message, "data": data})

    _check_required(df, add)
    if df.height == 0:
        add("empty_time_series", "The time series has no rows.")
    else:
        _check_rows(df, add)
        if steps is not None:
            _check_steps_table(to_polars(steps), df.height, add)
    if issues:
        raise MeasurementValidationError(_summary(issues), issues)
