"""The one error type of the battery-data core, and the issues it carries."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DataError", "Issue"]


@dataclass(frozen=True)
class Issue:
    """One problem found in measurement data.

    ``code`` is stable (programs branch on it; the client's ``MeasurementValidationError``
    exposes it), ``message`` is for people and names the column, row and fix. ``column`` and
    ``row`` (0-based, of the whole series) say where the problem starts; ``data`` holds any
    further facts a program may want (a value, a count).
    """

    code: str
    message: str
    column: str | None = None
    row: int | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def details(self) -> dict[str, Any]:
        """``column``, ``row`` and ``data`` as one dict (only what is known)."""
        where = {"column": self.column, "row": self.row}
        return {k: v for k, v in where.items() if v is not None} | self.data


def summary(issues: Iterable[Issue]) -> str:
    """One message for several issues: the single problem as it is, or one line per problem."""
    found = list(issues)
    if len(found) == 1:
        return found[0].message
    lines = "\n".join(f"  - [{issue.code}] {issue.message}" for issue in found)
    return f"the data has {len(found)} problems:\n{lines}"


class DataError(Exception):
    """The data cannot be checked or summarised as given.

    The message names the offending column or row and says how to fix the file, because it is
    shown to the person who produced the data: the local server stores it as the measurement's
    ``processing_error`` (where it is known as ``ProcessingError``). ``issues`` lists every
    problem found (one issue with code ``invalid_data`` when the error was raised from a bare
    message, as the cycler readers do).
    """

    def __init__(self, message: str, issues: Iterable[Issue] = ()) -> None:
        super().__init__(message)
        found = tuple(issues)
        self.issues: tuple[Issue, ...] = found or (Issue("invalid_data", message),)

    @classmethod
    def of(cls, issues: Iterable[Issue]) -> DataError:
        """The error for ``issues`` (at least one), its message summarising them all."""
        found = tuple(issues)
        return cls(summary(found), found)
