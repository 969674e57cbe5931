"""Whole-number columns and the uploaded steps table: checks shared by the series validator
and the server's handling of a client-supplied steps table (see ``validate``)."""

from __future__ import annotations

import polars as pl

from .columns import CYCLE_COUNT, END_INDEX, START_INDEX, STEP_COUNT
from .errors import Issue

__all__ = ["COUNT_CODES", "UPLOADED_STEPS_REQUIRED", "check_steps_table", "int_values"]

UPLOADED_STEPS_REQUIRED = (START_INDEX, END_INDEX)
"""Columns an uploaded steps table must have to be checked against its series."""

COUNT_CODES = {STEP_COUNT: "step_count_invalid", CYCLE_COUNT: "cycle_count_invalid"}
"""The issue code of a count column that does not hold whole numbers."""


def check_steps_table(steps: pl.DataFrame, rows: int) -> list[Issue]:
    """The problems of an uploaded steps table against the ``rows``-row series it came with."""
    missing = [c for c in UPLOADED_STEPS_REQUIRED if c not in steps.columns]
    if missing:
        names = ", ".join(repr(c) for c in missing)
        found = ", ".join(repr(c) for c in steps.columns) or "none"
        return [
            Issue(
                "steps_missing_column",
                f"uploaded steps table is missing required column(s) {names}; found columns: "
                f"{found}. Add them, or upload without a steps table to let the server derive "
                "steps.",
                column=missing[0],
            )
        ]
    codes = {START_INDEX: "steps_index_invalid", END_INDEX: "steps_index_invalid"}
    codes |= COUNT_CODES
    issues, values = [], {}
    for name, code in codes.items():
        if name in steps.columns:
            issue, values[name] = int_values(steps.get_column(name), name, 0, code)
            issues += [] if issue is None else [issue]
    if issues:
        return issues
    return _steps_out_of_range(values[START_INDEX], values[END_INDEX], rows)


def _steps_out_of_range(start: pl.Series, end: pl.Series, rows: int) -> list[Issue]:
    """Steps must lie inside the series (0-based, inclusive) and start at or before their end."""
    last_row = rows - 1
    bad = (start < 0) | (end > last_row) | (start > end)
    if not bad.any():
        return []
    row = int(bad.arg_true()[0])
    column = START_INDEX if start[row] < 0 else END_INDEX
    return [
        Issue(
            "steps_index_out_of_range",
            f"uploaded steps row {row} spans rows {start[row]}..{end[row]}, but the time series "
            f"has rows 0..{last_row} and a step must start at or before its end; fix the step "
            "indices (0-based, inclusive) or upload without a steps table.",
            column=column,
            row=row,
        )
    ]


def int_values(s: pl.Series, name: str, offset: int, code: str) -> tuple[Issue | None, pl.Series]:
    """A whole-number column as Int64, or the issue that stops it being one."""
    fix = "fix the value or drop the column to let the server derive it."
    if not (s.dtype.is_integer() or s.dtype.is_float() or s.dtype == pl.String):
        message = f"column {name!r} must hold whole numbers, but it has type {s.dtype}; " + fix
        return Issue(code, message, name), s
    if s.dtype.is_integer():
        out = s.cast(pl.Int64)
    else:
        as_float = s.cast(pl.Float64, strict=False) if s.dtype == pl.String else s
        bad = as_float.is_not_null() & (as_float.is_nan() | (as_float != as_float.round(0)))
        bad = bad | (as_float.is_null() & s.is_not_null())
        if bad.any():
            row = int(bad.arg_true()[0])
            message = (
                f"column {name!r} must hold whole numbers (0, 1, 2, ...), but row {row + offset} "
                f"holds {s[row]!r}; " + fix
            )
            return Issue(code, message, name, row + offset), s
        out = as_float.cast(pl.Int64)
    if out.null_count():
        row = int(out.is_null().arg_true()[0])
        message = (
            f"column {name!r} is empty at row {row + offset}; every row needs a value "
            "(or drop the column to let the server derive it)."
        )
        return Issue(code, message, name, row + offset), s
    return None, out.alias(name)
