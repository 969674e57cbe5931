"""Validation of JSON body fields, each failure a 400 naming the field and the expected type.

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
from .jsonio import json_type

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


def _where(path: str) -> str:
    return f"'{path}'"


def name_field(body: dict[str, Any], path: str = "name", *, required: bool = True) -> str | None:
    """A resource name: a string of 1..255 characters that is not only spaces."""
    if "name" not in body or body["name"] is None:
        if required:
            raise bad_request(
                f"Field {_where(path)} is required: give the resource a name", field=path
            )
        return None
    value = body["name"]
    if not isinstance(value, str):
        raise bad_request(
            f"Field {_where(path)} must be a string, not {json_type(value)}", field=path
        )
    if not value.strip():
        raise bad_request(f"Field {_where(path)} must not be empty", field=path)
    if len(value) > 255:
        raise bad_request(
            f"Field {_where(path)} is {len(value)} characters long; the maximum is 255", field=path
        )
    return value


def optional_str(
    body: dict[str, Any], key: str, path: str, max_length: int | None = 255
) -> str | None:
    """A string or null."""
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad_request(
            f"Field {_where(path)} must be a string or null, not {json_type(value)}", field=path
        )
    if max_length is not None and len(value) > max_length:
        raise bad_request(
            f"Field {_where(path)} is {len(value)} characters long; the maximum is {max_length}",
            field=path,
        )
    return value


def object_field(body: dict[str, Any], key: str, path: str) -> dict[str, Any] | None:
    """A JSON object or null."""
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise bad_request(
            f"Field {_where(path)} must be an object or null, not {json_type(value)}", field=path
        )
    return value


def optional_datetime(body: dict[str, Any], key: str, path: str) -> datetime | None:
    """An ISO 8601 date-time or null, as naive UTC."""
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise bad_request(
            f"Field {_where(path)} must be an ISO 8601 string or null, not {json_type(value)}",
            field=path,
        )
    try:
        return parse_iso_datetime(value)
    except ValueError as exc:
        raise bad_request(f"Invalid value for {_where(path)}: {exc}", field=path) from None


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
    if not isinstance(value, list):
        raise bad_request(
            f"Field {_where(path)} must be an array of strings, not {json_type(value)}", field=path
        )
    seen: dict[str, str] = {}
    for index, tag in enumerate(value):
        if not isinstance(tag, str):
            raise bad_request(
                f"Field {_where(f'{path}[{index}]')} must be a string, not {json_type(tag)}",
                field=f"{path}[{index}]",
            )
        tag = tag.strip()
        if not tag:
            continue
        if len(tag) > MAX_TAG_LENGTH:
            raise bad_request(
                f"Tag {tag[:20]!r}... is {len(tag)} characters long; the maximum is {MAX_TAG_LENGTH}",
                field=f"{path}[{index}]",
            )
        seen.setdefault(tag.lower(), tag)
    if len(seen) > MAX_TAGS:
        raise bad_request(
            f"Field {_where(path)} has {len(seen)} tags; the maximum is {MAX_TAGS}", field=path
        )
    return sorted(seen.values(), key=str.lower)


def extra_fields(body: dict[str, Any], known: frozenset[str]) -> dict[str, Any]:
    """Keys beyond the documented and server-owned ones, stored and returned as sent."""
    return {k: v for k, v in body.items() if k not in known and k not in SERVER_OWNED}
