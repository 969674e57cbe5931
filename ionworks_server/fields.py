"""Body fields after schema validation: what ``openapi.yaml`` cannot express, each a 400 naming the field.

Types and lengths are checked against the spec before a handler runs (:mod:`.schema`); what is
left here is meaning: names that are not only spaces, ISO 8601 dates, tag normalisation.

Resources accept keys beyond the documented ones (``additionalProperties: true``): those are kept
in an ``extra`` mapping and returned as sent. Server-owned keys (ids, timestamps, creator,
processing state) are never taken from a body, so a client that round-trips a fetched object
cannot overwrite them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .errors import bad_request
from .filters import parse_iso_datetime

__all__ = [
    "MAX_TAGS",
    "MAX_TAG_LENGTH",
    "SERVER_OWNED",
    "extra_fields",
    "name_field",
    "object_field",
    "optional_datetime",
    "optional_str",
    "tags_field",
]

MAX_TAGS = 50
MAX_TAG_LENGTH = 50

SERVER_OWNED = frozenset(
    {
        "id",
        "organization_id",
        "created_at",
        "updated_at",
        "created_by_email",
        "processing_status",
        "processing_error",
        "row_count",
        "steps_created",
        "specification_id",
        "cell_specification_id",
        "cell_instance_id",
        "batch_name",
        "filenames",
    }
)


def name_field(body: dict[str, Any], path: str = "name", *, required: bool = True) -> str | None:
    """A resource name that is not only spaces (the schema bounds its type and length)."""
    value = body.get("name")
    if value is None:
        if required:
            raise bad_request(f"{path}: is required; give the resource a name", field=path)
        return None
    if not value.strip():
        raise bad_request(f"{path}: must not be only spaces", field=path)
    return str(value)


def optional_str(body: dict[str, Any], key: str) -> str | None:
    """A string or null, as the body's schema (types and lengths, from openapi.yaml) guaranteed it."""
    value = body.get(key)
    return None if value is None else str(value)


def object_field(body: dict[str, Any], key: str) -> dict[str, Any] | None:
    """A JSON object or null, as the body's schema already guaranteed it."""
    value = body.get(key)
    return value if isinstance(value, dict) else None


def optional_datetime(body: dict[str, Any], key: str, path: str) -> datetime | None:
    """An ISO 8601 date-time or null, as naive UTC (a schema cannot check the calendar)."""
    value = body.get(key)
    if value is None:
        return None
    try:
        return parse_iso_datetime(str(value))
    except ValueError as exc:
        raise bad_request(f"{path}: {exc}", field=path) from None


def tags_field(body: dict[str, Any], path: str = "tags") -> list[str] | None:
    """Normalised tags: trimmed, empty ones dropped, de-duplicated ignoring case, sorted.

    A bare string counts as one tag (as the official client sends it). ``None`` when absent.
    """
    if "tags" not in body:
        return None
    value = body["tags"]
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    seen: dict[str, str] = {}
    for index, raw in enumerate(value):
        tag = str(raw).strip()
        if not tag:
            continue
        if len(tag) > MAX_TAG_LENGTH:
            raise bad_request(
                f"{path}[{index}]: tag {tag[:20]!r}... is {len(tag)} characters long; the maximum "
                f"is {MAX_TAG_LENGTH}",
                field=f"{path}[{index}]",
            )
        seen.setdefault(tag.lower(), tag)
    if len(seen) > MAX_TAGS:
        raise bad_request(
            f"{path}: {len(seen)} distinct tags; the maximum is {MAX_TAGS}", field=path
        )
    return sorted(seen.values(), key=str.lower)


def extra_fields(body: dict[str, Any], known: frozenset[str]) -> dict[str, Any]:
    """Keys beyond the documented and server-owned ones, stored and returned as sent."""
    return {k: v for k, v in body.items() if k not in known and k not in SERVER_OWNED}
