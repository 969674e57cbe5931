"""The upload flow of openapi.yaml: initiate → PUT to signed URLs → confirm; and properties.

* ``initiate-upload`` creates **no** measurement: it records a reservation (id, instance, name,
  expected files) and returns signed PUT targets. Time series always get ``time_series.parquet``
  and ``steps.parquet`` targets, since the client does not say whether steps will follow;
  file measurements get one target per ``filenames`` entry, in order.
* ``confirm-upload`` creates the row. A time series starts ``pending``: its staged files move to
  the ``processing`` area (out of reach of the PUT URLs) and the worker validates and processes
  them. File measurements are ``ready`` at once.
* ``.../cell_measurements/create`` makes a properties measurement (no files), ``ready`` at once.

Confirm refuses with 409 ``UPLOAD_IN_PROGRESS`` while a PUT to one of the upload's URLs is still
streaming (see :mod:`.storage_routes` for the ordering). A confirm refused because the name was
taken meanwhile (two uploads raced for one name) or because the reservation expired ends the
reservation and deletes its staged files at once: that upload can never be confirmed.

Creating a measurement by any of these routes counts against the organization's
``max_measurements`` quota (429 ``USAGE_LIMIT_REACHED`` once it is reached).

These are narrow write transactions (:func:`~ionworks_server.db.write`): on PostgreSQL uploads to
different instances do not wait for each other. Each check-then-write holds the key it relies on,
always in this order: ``upload:<id>`` (the reservation: its confirm, a PUT's check, its drop),
``instance:<id>`` (a measurement name free in the instance), ``project:<org>/<id>`` (the spelling
of new tags, chosen across the project; only when there are tags), ``quota:<org>`` (only when the
organization has a quota).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.engine import Connection
from starlette.responses import Response

from .context import Call
from .db import (
    cell_measurements,
    cell_specifications,
    hold,
    organizations,
    upload_reservations,
    utcnow,
    write,
)
from .errors import ApiError, bad_request, conflict, not_found
from .fields import extra_fields, name_field, object_field
from .jsonio import json_response
from .measurements import (
    MEASUREMENT_FIELDS,
    MEASUREMENT_TYPES,
    check_times,
    common_fields,
    set_tags,
)
from .records import INSTANCES, MEASUREMENTS
from .state import queue_job
from .storage import Storage, check_name
from .tag_spelling import respell

__all__ = [
    "check_quota",
    "confirm_upload",
    "create_properties_measurement",
    "hold_names",
    "initiate_upload",
]

M = cell_measurements
R = upload_reservations
TIME_SERIES_FILES = ("time_series.parquet", "steps.parquet")
MAX_FILES = 100
RESERVATION_GRACE = timedelta(minutes=10)


def check_quota(conn: Connection, organization_id: str) -> None:
    """429 ``USAGE_LIMIT_REACHED`` when the organization has used its measurement quota.

    With a quota, holds ``quota:<org>`` before counting, so two creations cannot both take the
    last place (a quota is set by a plain write, which waits for this transaction)."""
    limit = conn.execute(
        select(organizations.c.max_measurements).where(organizations.c.id == organization_id)
    ).scalar()
    if limit is None:
        return
    hold(conn, f"quota:{organization_id}")
    used = conn.execute(
        select(func.count()).select_from(M).where(M.c.organization_id == organization_id)
    ).scalar_one()
    if used >= limit:
        raise ApiError(
            429,
            "USAGE_LIMIT_REACHED",
            f"Your organization has reached its limit of {limit} measurements; delete "
            "measurements or ask the server administrator to raise the quota",
            {"limit": limit, "used": used, "resource": "measurements"},
        )


def hold_names(conn: Connection, instance: Any, tags: Any) -> None:
    """Lock what creating a measurement of ``instance`` checks before writing: its name (free
    in the instance) and, when it has tags, their spelling (chosen across the project)."""
    hold(conn, f"instance:{instance.id}")
    if tags:
        project = conn.execute(
            select(cell_specifications.c.project_id).where(
                cell_specifications.c.id == instance.cell_specification_id
            )
        ).scalar()
        hold(conn, f"project:{instance.organization_id}/{project}")


def _measurement_object(body: dict[str, Any]) -> dict[str, Any]:
    value = object_field(body, "measurement")
    if value is None:
        raise bad_request(
            "Field 'measurement' is required: an object with at least a 'name'", field="measurement"
        )
    return value


def _measurement_type(body: dict[str, Any]) -> str:
    value = body.get("measurement_type") or "time_series"
    if value not in MEASUREMENT_TYPES:
        raise bad_request(
            f"Field 'measurement_type': {value!r} is not one of {', '.join(MEASUREMENT_TYPES)}",
            field="measurement_type",
        )
    if value == "properties":
        raise bad_request(
            "Properties measurements have no files: create them with POST "
            "/cell_instances/{id}/cell_measurements/create instead",
            field="measurement_type",
        )
    return str(value)


def _filenames(body: dict[str, Any], measurement_type: str) -> list[str]:
    """The file list of a file measurement: plain, unique names, at least one."""
    raw = body.get("filenames")
    if measurement_type != "file":
        if raw:
            raise bad_request(
                "Field 'filenames' is only for file measurements (measurement_type 'file')",
                field="filenames",
            )
        return []
    if not isinstance(raw, list) or not raw:
        raise bad_request(
            "Field 'filenames' is required for a file measurement: a non-empty array of file names",
            field="filenames",
        )
    if len(raw) > MAX_FILES:
        raise bad_request(
            f"Field 'filenames' lists {len(raw)} files; the maximum is {MAX_FILES}",
            field="filenames",
        )
    names: list[str] = []
    for index, name in enumerate(raw):
        path = f"filenames[{index}]"
        if not isinstance(name, str):
            raise bad_request(f"Field '{path}' must be a string", field=path)
        try:
            check_name(path, name)
        except ApiError:
            raise bad_request(
                f"Field '{path}': {name!r} is not a plain file name (no directories)", field=path
            ) from None
        if name in names:
            raise bad_request(f"Field '{path}': {name!r} is listed twice", field=path)
        names.append(name)
    return names


def initiate_upload(call: Call) -> Response:
    """``POST /cell_instances/{id}/cell_measurements/initiate-upload``: reserve, sign, return."""
    org = call.caller.organization_id
    instance_id = call.path("cell_instance_id")
    fields = _measurement_object(call.body)
    name = name_field(fields, "measurement.name")
    assert name is not None
    measurement_type = _measurement_type(call.body)
    filenames = _filenames(call.body, measurement_type)
    measurement_id = str(uuid.uuid4())
    now = utcnow()
    ttl = call.ctx.settings.put_url_ttl_s
    with write(call.ctx.engine, narrow=()) as conn:  # confirm checks again, under its locks
        INSTANCES.visible(conn, org, instance_id)
        MEASUREMENTS.check_name_free(conn, {"cell_instance_id": instance_id}, name)
        check_quota(conn, org)
        conn.execute(
            R.insert().values(
                id=measurement_id,
                organization_id=org,
                cell_instance_id=instance_id,
                name=name,
                measurement_type=measurement_type,
                filenames=filenames,
                created_at=now,
                expires_at=now + timedelta(seconds=ttl) + RESERVATION_GRACE,
            )
        )
    targets = filenames if measurement_type == "file" else list(TIME_SERIES_FILES)
    uploads = []
    for filename in targets:
        url = call.ctx.storage.upload_url(call.base_url, measurement_id, filename, ttl)
        uploads.append(
            {
                "filename": filename,
                "signed_url": url,
                "token": url.rsplit("ignature=", 1)[-1].split("&", 1)[0],
                "path": f"uploads/{measurement_id}/{filename}",
            }
        )
    return json_response({"measurement_id": measurement_id, "uploads": uploads})


class _ReservationEnded(Exception):
    """A confirm refusal after which the reservation is useless: drop it, then raise ``error``."""

    def __init__(self, error: ApiError) -> None:
        super().__init__(error.message)
        self.error = error


def _drop_reservation(call: Call, measurement_id: str) -> None:
    """Delete a reservation and its staged files now, not when it would have expired."""
    with write(call.ctx.engine, narrow=(f"upload:{measurement_id}",)) as conn:
        conn.execute(
            delete(R).where(
                R.c.id == measurement_id, R.c.organization_id == call.caller.organization_id
            )
        )
    call.ctx.storage.drop_upload(measurement_id)


def _in_progress(measurement_id: str, busy: list[str]) -> ApiError:
    return ApiError(
        409,
        "UPLOAD_IN_PROGRESS",
        f"{', '.join(busy)} of upload {measurement_id!r} is still being uploaded (its PUT has not "
        "finished); wait for the PUT to finish, then confirm again",
        {"uploading": busy},
    )


def confirm_upload(call: Call) -> Response:
    """``POST /cell_measurements/{id}/confirm-upload``: create the row, queue processing."""
    measurement_id = call.path("cell_measurement_id")
    try:
        return _confirm(call, measurement_id)
    except _ReservationEnded as ended:
        _drop_reservation(call, measurement_id)
        raise ended.error from None


def _confirm(call: Call, measurement_id: str) -> Response:
    """Validate the body, then turn the reservation into a measurement in one transaction."""
    org = call.caller.organization_id
    body = call.body
    instance_id = body.get("cell_instance_id")
    if not isinstance(instance_id, str) or not instance_id:
        raise bad_request(
            "Field 'cell_instance_id' is required: the id of the instance the upload was initiated for",
            field="cell_instance_id",
        )
    fields = _measurement_object(body)
    name = name_field(fields, "measurement.name")
    assert name is not None
    values = common_fields(fields, "measurement.")
    check_times(values.get("start_time"), values.get("end_time"), "measurement.")
    storage = call.ctx.storage
    storage.object_dir("uploads", measurement_id)  # 400 on anything but a plain id
    now = utcnow()
    with write(call.ctx.engine, narrow=(f"upload:{measurement_id}",)) as conn:
        reservation = _live_reservation(conn, org, measurement_id, name, now)
        _check_matches(body, reservation, instance_id)
        instance = INSTANCES.visible(conn, org, instance_id)
        hold_names(conn, instance, values.get("tags"))
        try:
            MEASUREMENTS.check_name_free(conn, {"cell_instance_id": instance_id}, name)
        except ApiError as taken:  # lost a name race: this reservation can never be confirmed
            raise _ReservationEnded(taken) from None
        check_quota(conn, org)
        _check_staged(storage, reservation, call.ctx.settings.max_upload_bytes)
        is_file = reservation.measurement_type == "file"
        row = _create_measurement(
            conn,
            call,
            instance,
            {**values, "name": name, "extra": extra_fields(fields, MEASUREMENT_FIELDS)},
            measurement_type=reservation.measurement_type,
            filenames=list(reservation.filenames) if is_file else [],
            row_id=measurement_id,
            now=now,
        )
        conn.execute(delete(R).where(R.c.id == measurement_id))
        lane = "small" if is_file else call.ctx.worker.lane_of(measurement_id)
        if not is_file:  # the job, in the transaction that creates the row (see .state)
            queue_job(conn, measurement_id, lane)
        # Move the staged files before commit: if the move fails, nothing was created. A PUT
        # starting now is refused (we hold its upload's lock; object storage: see docs/server.md).
        storage.stage(measurement_id, "measurements" if is_file else "processing")
    if not is_file:
        call.ctx.worker.enqueue(measurement_id, lane)
    return json_response({**MEASUREMENTS.out(row), "steps_created": 0}, status=201)


def _live_reservation(
    conn: Connection, org: str, measurement_id: str, name: str, now: datetime
) -> Any:
    """The reservation of this upload: 409 once it was confirmed, 404 if unknown or expired."""
    reservation = conn.execute(
        select(R).where(R.c.id == measurement_id, R.c.organization_id == org)
    ).first()
    if reservation is None and MEASUREMENTS.find(conn, org, measurement_id) is not None:
        raise conflict(
            f"Upload {measurement_id!r} was already confirmed",
            resource_type="cell_measurement",
            resource_name=name,
            existing_id=measurement_id,
        )
    if reservation is None or reservation.expires_at < now:
        error = not_found(
            "upload",
            measurement_id,
            "Upload reservation (call initiate-upload first; reservations expire after an hour)",
        )
        raise error if reservation is None else _ReservationEnded(error)
    return reservation


def _check_matches(body: dict[str, Any], reservation: Any, instance_id: str) -> None:
    """The confirm must name the instance and type the upload was initiated for."""
    measurement_id = reservation.id
    if instance_id != reservation.cell_instance_id:
        raise bad_request(
            f"Field 'cell_instance_id': upload {measurement_id!r} was initiated for instance "
            f"{reservation.cell_instance_id!r}, not {instance_id!r}",
            field="cell_instance_id",
        )
    measurement_type = reservation.measurement_type
    if body.get("measurement_type") not in (None, measurement_type):
        raise bad_request(
            f"Field 'measurement_type': upload {measurement_id!r} was initiated as "
            f"{measurement_type!r}, not {body.get('measurement_type')!r}",
            field="measurement_type",
        )


def _check_staged(storage: Storage, reservation: Any, limit: int) -> None:
    """Every expected file was PUT, no PUT is still streaming, none is over ``limit`` bytes
    (409 / 400 / 413 otherwise)."""
    present, busy = storage.staged_files(reservation.id)
    if busy:
        raise _in_progress(reservation.id, busy)
    is_file = reservation.measurement_type == "file"
    expected = list(reservation.filenames) if is_file else ["time_series.parquet"]
    missing = [f for f in expected if f not in present]
    if missing:
        raise bad_request(
            f"{', '.join(missing)} was never uploaded; PUT the file to the signed URL returned "
            "by initiate-upload, then confirm again",
            field="uploads",
            missing=missing,
        )
    for name in expected:  # object storage took the PUT itself: its size is checked here
        if present[name] > limit:
            raise _too_large(reservation.id, name, present[name], limit)


def _too_large(measurement_id: str, name: str, size: int, limit: int) -> ApiError:
    return ApiError(
        413,
        "PAYLOAD_TOO_LARGE",
        f"{name} of upload {measurement_id!r} is {size} bytes, over the server's limit of "
        f"{limit} bytes ({limit / 1024**3:g} GiB) per uploaded file; split the data into "
        "several measurements",
        {"max_bytes": limit, "filename": name, "size": size},
    )


def _create_measurement(
    conn: Connection,
    call: Call,
    instance: Any,
    values: dict[str, Any],
    *,
    measurement_type: str,
    filenames: list[str],
    row_id: str | None = None,
    now: datetime | None = None,
) -> Any:
    """Insert a measurement of ``instance`` with its tag index; time series start ``pending``.

    File and properties measurements have nothing to process, so they are ``ready`` at once.
    """
    tags = respell(
        conn, call.caller.organization_id, instance.cell_specification_id, values.pop("tags", [])
    )
    status = "pending" if measurement_type == "time_series" else "ready"
    row = MEASUREMENTS.insert(
        conn,
        call.caller,
        {
            **values,
            "cell_instance_id": instance.id,
            "specification_id": instance.cell_specification_id,
            "measurement_type": measurement_type,
            "tags": tags,
            "filenames": filenames,
            "processing_status": status,
        },
        row_id=row_id,
        now=now,
    )
    set_tags(conn, row.id, tags)
    return row


def create_properties_measurement(call: Call) -> Response:
    """``POST /cell_instances/{id}/cell_measurements/create``: a properties measurement."""
    org = call.caller.organization_id
    instance_id = call.path("cell_instance_id")
    body = call.body
    name = name_field(body)
    assert name is not None
    if body.get("measurement_type") not in (None, "properties"):
        raise bad_request(
            "Field 'measurement_type' must be 'properties' here; time series and files go "
            "through initiate-upload",
            field="measurement_type",
        )
    if not isinstance(body.get("properties"), dict):
        raise bad_request(
            "Field 'properties' is required: an object of quantities, e.g. "
            '{"capacity": {"value": 0.005, "unit": "A.h"}}',
            field="properties",
        )
    values = common_fields(body)
    check_times(values.get("start_time"), values.get("end_time"))
    values.update(name=name, extra=extra_fields(body, MEASUREMENT_FIELDS))
    with write(call.ctx.engine, narrow=()) as conn:
        instance = INSTANCES.visible(conn, org, instance_id)
        hold_names(conn, instance, values.get("tags"))
        MEASUREMENTS.check_name_free(conn, {"cell_instance_id": instance_id}, name)
        check_quota(conn, org)
        row = _create_measurement(
            conn, call, instance, values, measurement_type="properties", filenames=[]
        )
    return json_response(MEASUREMENTS.out(row), status=201)
