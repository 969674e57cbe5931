"""Cell measurements: list, get, update, delete, and reading their tables and files.

Tables are served as openapi.yaml describes (and the official service does): time series and
steps as parquet through a 302 redirect to a signed storage URL, cycles (and steps with cycles) as
column-oriented JSON. While a measurement is still processing those reads answer 409 ``CONFLICT`` saying so; after
a failure, 409 with the processing error, so the caller learns why there is nothing to read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.engine import Connection
from starlette.responses import RedirectResponse, Response

from .context import Call
from .db import cell_measurements, measurement_tags, read, write
from .errors import ApiError, bad_request, conflict, not_found
from .fields import (
    extra_fields,
    name_field,
    object_field,
    optional_datetime,
    optional_str,
    tags_field,
)
from .filters import ListSpec, parse_bool
from .hot_reads import OneRow
from .jsonio import JSON_MEDIA_TYPE, format_ts, json_response
from .records import INSTANCES, MEASUREMENTS
from .resources import purge_measurements
from .tables import table_json
from .tag_spelling import respell

__all__ = [
    "MEASUREMENT_FIELDS",
    "MEASUREMENT_LIST",
    "MEASUREMENT_TYPES",
    "check_times",
    "common_fields",
    "delete_measurement",
    "download_file",
    "download_steps",
    "download_time_series",
    "get_cycles",
    "get_measurement",
    "get_steps_and_cycles",
    "list_files",
    "list_measurements",
    "set_tags",
    "update_measurement",
]

M = cell_measurements
MEASUREMENT_TYPES = ("time_series", "properties", "file")
MEASUREMENT_FIELDS = frozenset(
    {
        "name",
        "measurement_type",
        "start_time",
        "end_time",
        "notes",
        "protocol",
        "test_setup",
        "properties",
        "tags",
    }
)

MEASUREMENT_LIST = ListSpec(
    id_column=M.c.id,
    text_filters={"name": M.c.name, "created_by_email": M.c.created_by_email},
    date_filters={
        "created_at": M.c.created_at,
        "updated_at": M.c.updated_at,
        "start_time": M.c.start_time,
    },
    order_columns={
        "name": M.c.name,
        "created_at": M.c.created_at,
        "updated_at": M.c.updated_at,
        "start_time": M.c.start_time,
    },
    enum_filters={"measurement_type": (M.c.measurement_type, MEASUREMENT_TYPES)},
    tag_table=measurement_tags,
)


def common_fields(body: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Validated optional metadata shared by every way of creating or updating a measurement.

    Only keys present in ``body`` are returned, so the result doubles as a PATCH.
    """
    values: dict[str, Any] = {}
    if "notes" in body:
        values["notes"] = optional_str(body, "notes")
    for key in ("start_time", "end_time"):
        if key in body:
            values[key] = optional_datetime(body, key, f"{prefix}{key}")
    for key in ("protocol", "test_setup"):
        if key in body:
            values[key] = body[key]
    if "properties" in body:
        values["properties"] = object_field(body, "properties")
    tags = tags_field(body, f"{prefix}tags")
    if tags is not None:
        values["tags"] = tags
    return values


def check_times(start: Any, end: Any, prefix: str = "") -> None:
    """A test cannot end before it started."""
    if start is not None and end is not None and end < start:
        raise bad_request(
            f"Field '{prefix}end_time' ({format_ts(end)}) is before '{prefix}start_time' "
            f"({format_ts(start)}); a measurement cannot end before it starts",
            field=f"{prefix}end_time",
        )


def set_tags(conn: Connection, measurement_id: str, tags: list[str]) -> None:
    """Replace the tag index rows of one measurement."""
    conn.execute(
        delete(measurement_tags).where(measurement_tags.c.measurement_id == measurement_id)
    )
    keys = sorted({t.lower() for t in tags})
    if keys:
        conn.execute(
            insert(measurement_tags),
            [{"measurement_id": measurement_id, "tag_key": key} for key in keys],
        )


def list_measurements(call: Call) -> Response:
    """``GET /cell_instances/{id}/cell_measurements``."""
    return MEASUREMENTS.list_children(call, MEASUREMENT_LIST, INSTANCES, "cell_instance_id")


def get_measurement(call: Call) -> Response:
    """``GET /cell_measurements/{id}`` (the processing poll); tables are never embedded."""
    params = call.request.query_params
    parse_bool(params, "include_steps")  # accepted for compatibility, validated, ignored
    parse_bool(params, "include_time_series")
    with read(call.ctx.engine) as conn:
        row = MEASUREMENTS.visible(
            conn, call.caller.organization_id, call.path("cell_measurement_id")
        )
    return json_response(MEASUREMENTS.out(row))


def update_measurement(call: Call) -> Response:
    """``PATCH /cell_measurements/{id}``: ``tags`` replaces the tag set."""
    body = call.body
    org = call.caller.organization_id
    measurement_id = call.path("cell_measurement_id")
    name = name_field(body, required=False)
    values = common_fields(body)
    if "measurement_type" in body:
        raise bad_request(
            "Field 'measurement_type' cannot be changed; create a new measurement instead",
            field="measurement_type",
        )
    with write(call.ctx.engine) as conn:
        row = MEASUREMENTS.visible(conn, org, measurement_id)
        MEASUREMENTS.rename(conn, row, name, values)
        check_times(values.get("start_time", row.start_time), values.get("end_time", row.end_time))
        if "tags" in values:
            values["tags"] = respell(
                conn, org, row.specification_id, values["tags"], exclude=measurement_id
            )
            set_tags(conn, measurement_id, values["tags"])
        extra = extra_fields(body, MEASUREMENT_FIELDS)
        row = MEASUREMENTS.update(conn, org, row, values, extra)
    return json_response(MEASUREMENTS.out(row))


def delete_measurement(call: Call) -> Response:
    """``DELETE /cell_measurements/{id}`` with its stored files.

    Allowed while processing: the worker notices the row is gone and drops its output.
    """
    measurement_id = call.path("cell_measurement_id")
    with write(call.ctx.engine) as conn:
        MEASUREMENTS.visible(conn, call.caller.organization_id, measurement_id)
        purge_measurements(conn, [measurement_id])
    call.ctx.storage.remove(measurement_id)
    return Response(status_code=204)


# -- tables ---------------------------------------------------------------------------------


_TABLE_STATE = OneRow(
    select(M.c.id, M.c.measurement_type, M.c.processing_status, M.c.processing_error).where(
        M.c.id == bindparam("measurement_id"), M.c.organization_id == bindparam("organization_id")
    )
)
"""What a table read needs of its measurement: a raw one-row read (see :mod:`.hot_reads`), as
``MEASUREMENTS.visible`` decides visibility (the caller's organization, else 404)."""


@dataclass(frozen=True)
class _TableState:
    id: str
    measurement_type: str
    processing_status: str
    processing_error: str | None


def _processed(call: Call) -> _TableState:
    """The measurement, if it is a time series whose processing finished; else 404/409."""
    measurement_id = call.path("cell_measurement_id")
    found = _TABLE_STATE.first(
        call.ctx.engine,
        measurement_id=measurement_id,
        organization_id=call.caller.organization_id,
    )
    if found is None:
        raise not_found(MEASUREMENTS.resource_type, measurement_id, MEASUREMENTS.label)
    row = _TableState(*found)
    if row.measurement_type != "time_series":
        raise not_found(
            "cell_measurement_table",
            measurement_id,
            f"Time series, steps and cycles of {row.measurement_type} measurement",
        )
    status = row.processing_status
    if status in ("pending", "running"):
        raise conflict(
            f"Measurement {measurement_id!r} is still processing (processing_status {status!r}); "
            "poll GET /cell_measurements/{id} until it is 'ready', then read its data",
            processing_status=status,
        )
    if status == "failed":
        raise conflict(
            f"Measurement {measurement_id!r} failed processing, so it has no data to read: "
            f"{row.processing_error}. Fix the file and upload it again as a new measurement.",
            processing_status=status,
            processing_error=row.processing_error,
        )
    return row


def _redirect(call: Call, object_id: str, filename: str) -> Response:
    url = call.ctx.storage.download_url(
        call.base_url, object_id, filename, call.ctx.settings.get_url_ttl_s
    )
    if url is None:
        raise ApiError(
            404,
            "NOT_FOUND",
            f"Stored object {filename!r} of measurement {object_id!r} is missing",
            {"resource_type": "stored_object", "resource_id": f"{object_id}/{filename}"},
        )
    return RedirectResponse(url, status_code=302)


def download_time_series(call: Call) -> Response:
    """``GET .../time_series/download`` → 302 to the signed parquet URL."""
    row = _processed(call)
    return _redirect(call, row.id, "time_series.parquet")


def download_steps(call: Call) -> Response:
    """``GET .../steps/download`` → 302 to the signed parquet URL."""
    row = _processed(call)
    return _redirect(call, row.id, "steps.parquet")


def get_cycles(call: Call) -> Response:
    """``GET .../cycles`` → ``{"cycles": {column: [...]}}``."""
    row = _processed(call)
    body = b'{"cycles":' + table_json(call.ctx.storage, row.id, "cycles") + b"}"
    return Response(body, media_type=JSON_MEDIA_TYPE)


def get_steps_and_cycles(call: Call) -> Response:
    """``GET .../steps_and_cycles`` → both tables, column-oriented."""
    row = _processed(call)
    storage = call.ctx.storage
    body = (
        b'{"steps":'
        + table_json(storage, row.id, "steps")
        + b',"cycles":'
        + table_json(storage, row.id, "cycles")
        + b"}"
    )
    return Response(body, media_type=JSON_MEDIA_TYPE)


def list_files(call: Call) -> Response:
    """``GET .../files``: the names of a file measurement's files (empty for other types)."""
    with read(call.ctx.engine) as conn:
        row = MEASUREMENTS.visible(
            conn, call.caller.organization_id, call.path("cell_measurement_id")
        )
    return json_response({"filenames": list(row.filenames or [])})


def download_file(call: Call) -> Response:
    """``GET .../files/{filename}`` → 302 to the file's signed URL."""
    filename = call.path("filename")
    with read(call.ctx.engine) as conn:
        row = MEASUREMENTS.visible(
            conn, call.caller.organization_id, call.path("cell_measurement_id")
        )
    if filename not in (row.filenames or []):
        raise ApiError(
            404,
            "NOT_FOUND",
            f"Measurement {row.id!r} has no file {filename!r}; list its files with GET "
            f"/cell_measurements/{row.id}/files",
            {"resource_type": "measurement_file", "resource_id": filename},
        )
    return _redirect(call, row.id, filename)
