"""Pre-upload checks of measurement data: every problem found before anything is sent.

The rules and their messages live in :mod:`ionworks.data.validate`, shared with the local
server's processing; this adapter only converts the frames (polars, pandas or column dicts)
and raises the client's :class:`~ionworks.errors.MeasurementValidationError`. Running before
the upload protocol starts, it costs no request and reports every problem at once.
"""

from __future__ import annotations

from typing import Any

from ionworks._dataframe import to_polars
from ionworks.data.errors import Issue
from ionworks.data.validate import check_measurement
from ionworks.errors import MeasurementValidationError

__all__ = ["validate_measurement_upload"]


def _summary(issues: list[Issue]) -> str:
    """One message for all issues: the single problem inline, or one line per problem."""
    if len(issues) == 1:
        message = f"Measurement data failed validation: {issues[0].message}"
    else:
        lines = "\n".join(f"  - [{issue.code}] {issue.message}" for issue in issues)
        message = f"Measurement data failed validation ({len(issues)} problems):\n{lines}"
    return message + "\nNothing was uploaded."


def validate_measurement_upload(time_series: Any, steps: Any = None) -> None:
    """Check measurement data before it is uploaded, reporting every problem at once.

    The server's rules (required numeric columns, finite values, time present except on EIS
    rows and non-decreasing, whole-number counts, at least one row, a steps table that fits
    the series) and the client's stricter ones (time starts at 0, ``Step count`` 0, 1, 2, ...,
    capacities restart each step, positive current = discharge): see
    :mod:`ionworks.data.validate` for every code. Accepts polars, pandas or column dicts.

    Raises:
        MeasurementValidationError: one error whose ``errors`` list holds every problem, each
            with ``code``, ``message`` and ``data`` (``column``, first offending ``row``, ...).
    """
    issues = check_measurement(to_polars(time_series), None if steps is None else to_polars(steps))
    if issues:
        errors = [
            {"code": issue.code, "message": issue.message, "data": issue.details()}
            for issue in issues
        ]
        raise MeasurementValidationError(_summary(issues), errors)
