"""Translate the seed's keyword filters into the wire's PostgREST-like query values.

``name="graphite"`` becomes ``name=ilike.%graphite%``, ``name_exact=`` becomes ``eq.<value>`` and
wins over ``name``, ``created_after`` becomes ``created_at_gt``, and so on (the filter syntax
of the list operations in ``openapi.yaml``: its introduction and the ``name`` parameter).
Arguments are checked here, so a typo gets a clear message instead of a server round trip.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any, TypeVar

from .errors import InvalidParameterError

__all__ = ["InvalidParameterError", "choice", "common_filters", "iso_timestamp", "page_bounds"]

E = TypeVar("E", bound=Enum)


def ilike_contains(value: str) -> str:
    return f"ilike.%{value}%"


def iso_timestamp(argument: str, value: str | datetime | None) -> str | None:
    """Accept an ISO 8601 string or a datetime; reject anything else with a clear message."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str):
        try:
            datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            return value
    raise InvalidParameterError(
        f"{argument}={value!r} is not an ISO 8601 date-time; "
        f"pass e.g. {argument}='2026-03-01T00:00:00Z' or a datetime"
    )


def choice(argument: str, value: str | None, enum: type[E]) -> E | None:
    """Convert a string to the generated enum, naming the valid choices on a mistake."""
    if value is None:
        return None
    try:
        return enum(value)
    except ValueError:
        valid = ", ".join(repr(member.value) for member in enum)
        raise InvalidParameterError(
            f"{argument}={value!r} is not valid; use one of {valid}"
        ) from None


def page_bounds(limit: int | None, offset: int | None) -> tuple[int | None, int]:
    if limit is not None and (not isinstance(limit, int) or not 1 <= limit <= 1000):
        raise InvalidParameterError(f"limit={limit!r} must be an integer from 1 to 1000")
    if offset is not None and (not isinstance(offset, int) or offset < 0):
        raise InvalidParameterError(f"offset={offset!r} must be a non-negative integer")
    return limit, offset or 0


def common_filters(
    *,
    name: str | None,
    name_exact: str | None,
    created_by_email: str | None,
    created_after: str | datetime | None,
    created_before: str | datetime | None,
    updated_after: str | datetime | None,
    updated_before: str | datetime | None,
) -> dict[str, Any]:
    """Keyword arguments for a generated list operation (None values are dropped)."""
    wire: dict[str, Any] = {
        "name": f"eq.{name_exact}"
        if name_exact is not None
        else (ilike_contains(name) if name is not None else None),
        "created_by_email": ilike_contains(created_by_email) if created_by_email else None,
        "created_at_gt": iso_timestamp("created_after", created_after),
        "created_at_lt": iso_timestamp("created_before", created_before),
        "updated_at_gt": iso_timestamp("updated_after", updated_after),
        "updated_at_lt": iso_timestamp("updated_before", updated_before),
    }
    return {key: value for key, value in wire.items() if value is not None}
