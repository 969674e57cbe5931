"""Cell specifications and cell instances: list, create, get, update, delete.

Names are unique per project (specifications) and per specification (instances); a duplicate is
a 409 ``CONFLICT`` whose ``detail.existing_id`` lets ``create_or_get`` recover (wire facts §4.4).

Deletion **cascades**, as openapi.yaml documents: deleting a specification deletes its instances,
their measurements, pending upload reservations and every stored file of those measurements;
deleting an instance does the same below it. Rows go first, in one transaction, then the files
(a crash in between leaves files that :mod:`.worker` sweeps at the next start-up, never rows
pointing at missing files).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Connection
from starlette.responses import Response

from .context import Call
from .db import (
    batches,
    cell_instances,
    cell_measurements,
    cell_specifications,
    measurement_tags,
    projects,
    read,
    upload_reservations,
    utcnow,
    write,
)
from .errors import bad_request, conflict, not_found
from .fields import extra_fields, name_field, object_field, optional_str
from .filters import ListSpec, build_list_query, parse_bool
from .jsonio import format_ts, json_response

__all__ = [
    "COMPONENTS",
    "create_instance",
    "create_spec",
    "delete_instance",
    "delete_spec",
    "get_instance",
    "get_spec",
    "list_instances",
    "list_specs",
    "page_response",
    "purge_measurements",
    "update_instance",
    "update_spec",
    "visible_instance",
    "visible_spec",
]

S = cell_specifications
I = cell_instances  # noqa: E741 - reads like the table it is
M = cell_measurements
COMPONENTS = ("anode", "cathode", "electrolyte", "separator", "case")
SPEC_FIELDS = frozenset(
    {"name", "project_id", "form_factor", "manufacturer", "chemistry", "ratings", *COMPONENTS}
)
INSTANCE_FIELDS = frozenset({"name", "batch_id", "batch_name", "notes"})


def page_response(items: list[dict[str, Any]], total: int) -> Response:
    """The list envelope of wire facts §5.1."""
    return json_response({"items": items, "count": len(items), "total": total})


# -- specifications ------------------------------------------------------------------------------

SPEC_LIST = ListSpec(
    id_column=S.c.id,
    text_filters={
        "name": S.c.name,
        "created_by_email": S.c.created_by_email,
        "form_factor": S.c.form_factor,
    },
    date_filters={"created_at": S.c.created_at, "updated_at": S.c.updated_at},
    order_columns={"name": S.c.name, "created_at": S.c.created_at, "updated_at": S.c.updated_at},
    exact_filters={"project_id": S.c.project_id},
)

_SPEC_SUMMARY = [c for c in S.c if c.name != "components"]


def spec_out(row: Any, full: bool) -> dict[str, Any]:
    """A specification as the API shows it; components only when ``full``."""
    out: dict[str, Any] = dict(row.extra or {})
    out.update(
        id=row.id,
        name=row.name,
        project_id=row.project_id,
        form_factor=row.form_factor,
        manufacturer=row.manufacturer,
        chemistry=row.chemistry,
        ratings=row.ratings or {},
        created_by_email=row.created_by_email,
        created_at=format_ts(row.created_at),
        updated_at=format_ts(row.updated_at),
    )
    if full:
        components = row.components or {}
        for name in COMPONENTS:
            out[name] = components.get(name)
    return out


def visible_spec(conn: Connection, organization_id: str, spec_id: str) -> Any:
    """The specification row, or 404 (also when it belongs to another organization)."""
    row = conn.execute(
        select(S).where(S.c.id == spec_id, S.c.organization_id == organization_id)
    ).first()
    if row is None:
        raise not_found("cell_specification", spec_id, "Cell specification")
    return row


def list_specs(call: Call) -> Response:
    """``GET /cell_specifications``."""
    params = call.request.query_params
    query = build_list_query(params, SPEC_LIST)
    full = parse_bool(params, "full")
    where = [S.c.organization_id == call.caller.organization_id, *query.conditions]
    columns = list(S.c) if full else _SPEC_SUMMARY
    with read(call.ctx.engine) as conn:
        total = conn.execute(select(func.count()).select_from(S).where(*where)).scalar_one()
        rows = conn.execute(
            select(*columns)
            .where(*where)
            .order_by(*query.order_by)
            .limit(query.limit)
            .offset(query.offset)
        ).all()
    return page_response([spec_out(r, full) for r in rows], total)


def get_spec(call: Call) -> Response:
    """``GET /cell_specifications/{id}``: always with components ("full nested data")."""
    with read(call.ctx.engine) as conn:
        row = visible_spec(conn, call.caller.organization_id, call.path("cell_specification_id"))
    return json_response(spec_out(row, full=True))


def _ratings(body: dict[str, Any]) -> dict[str, Any] | None:
    return object_field(body, "ratings")


def _components(body: dict[str, Any]) -> dict[str, Any]:
    """The component keys present in the body (validated objects or null)."""
    return {name: object_field(body, name) for name in COMPONENTS if name in body}


def ensure_name_free(
    conn: Connection,
    table: Any,
    scope: list[Any],
    name: str,
    exclude: str | None,
    *,
    resource_type: str,
    message: str,
) -> None:
    """409 CONFLICT with ``existing_id`` when a row of ``table`` within ``scope`` has ``name``.

    Names are unique per project (specifications), per specification (instances) and per
    instance (measurements); ``exclude`` skips the row being renamed.
    """
    query = select(table.c.id).where(*scope, table.c.name == name)
    if exclude is not None:
        query = query.where(table.c.id != exclude)
    existing = conn.execute(query).scalar()
    if existing is not None:
        raise conflict(
            message,
            resource_type=resource_type,
            resource_name=name,
            existing_id=existing,
        )


def _spec_conflict(
    conn: Connection, organization_id: str, project_id: str, name: str, exclude: str | None = None
) -> None:
    ensure_name_free(
        conn,
        S,
        [S.c.organization_id == organization_id, S.c.project_id == project_id],
        name,
        exclude,
        resource_type="cell_specification",
        message=f"Cell specification with this name already exists in project {project_id!r}: {name!r}",
    )


def ensure_project(conn: Connection, organization_id: str, project_id: str) -> None:
    """Projects are created on first use: the local server has no project administration."""
    found = conn.execute(
        select(projects.c.id).where(
            projects.c.organization_id == organization_id, projects.c.id == project_id
        )
    ).scalar()
    if found is None:
        conn.execute(
            projects.insert().values(
                organization_id=organization_id, id=project_id, name=project_id, created_at=utcnow()
            )
        )


def create_spec(call: Call) -> Response:
    """``POST /cell_specifications``: 409 with ``existing_id`` when the name is taken."""
    body = call.body
    name = name_field(body)
    assert name is not None
    project_id = optional_str(body, "project_id") or call.caller.default_project_id
    values: dict[str, Any] = {
        "form_factor": optional_str(body, "form_factor"),
        "manufacturer": optional_str(body, "manufacturer"),
        "chemistry": optional_str(body, "chemistry"),
        "ratings": _ratings(body) or {},
        "components": {c: None for c in COMPONENTS} | _components(body),
        "extra": extra_fields(body, SPEC_FIELDS),
    }
    org = call.caller.organization_id
    now = utcnow()
    spec_id = str(uuid.uuid4())
    with write(call.ctx.engine) as conn:
        ensure_project(conn, org, project_id)
        _spec_conflict(conn, org, project_id, name)
        conn.execute(
            S.insert().values(
                id=spec_id,
                organization_id=org,
                project_id=project_id,
                name=name,
                created_by_email=call.caller.email,
                created_at=now,
                updated_at=now,
                **values,
            )
        )
        row = visible_spec(conn, org, spec_id)
    return json_response(spec_out(row, full=True), status=201)


def _merge(current: dict[str, Any], patch: dict[str, Any] | None) -> dict[str, Any]:
    """Shallow merge of a nested object; a key patched to null is removed."""
    merged = dict(current)
    for key, value in (patch or {}).items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def update_spec(call: Call) -> Response:
    """``PATCH /cell_specifications/{id}``: ratings and components are merged key by key."""
    body = call.body
    org = call.caller.organization_id
    spec_id = call.path("cell_specification_id")
    name = name_field(body, required=False)
    with write(call.ctx.engine) as conn:
        row = visible_spec(conn, org, spec_id)
        project_id = optional_str(body, "project_id")
        if project_id is not None and project_id != row.project_id:
            raise bad_request(
                "Field 'project_id' cannot be changed: create the specification in the other project instead",
                field="project_id",
            )
        values: dict[str, Any] = {"updated_at": utcnow()}
        if name is not None and name != row.name:
            _spec_conflict(conn, org, row.project_id, name, exclude=spec_id)
            values["name"] = name
        for key in ("form_factor", "manufacturer", "chemistry"):
            if key in body:
                values[key] = optional_str(body, key)
        if "ratings" in body:
            values["ratings"] = _merge(row.ratings or {}, _ratings(body))
        patched = _components(body)
        if patched:
            components = dict(row.components or {})
            for key, value in patched.items():
                components[key] = (
                    None if value is None else _merge(components.get(key) or {}, value)
                )
            values["components"] = components
        extra = extra_fields(body, SPEC_FIELDS)
        if extra:
            values["extra"] = {**(row.extra or {}), **extra}
        conn.execute(update(S).where(S.c.id == spec_id).values(**values))
        row = visible_spec(conn, org, spec_id)
    return json_response(spec_out(row, full=True))


def purge_measurements(conn: Connection, measurement_ids: list[str]) -> None:
    """Delete measurement rows and their tags (files are removed after commit by the caller)."""
    for start in range(0, len(measurement_ids), 500):
        chunk = measurement_ids[start : start + 500]
        conn.execute(delete(measurement_tags).where(measurement_tags.c.measurement_id.in_(chunk)))
        conn.execute(delete(M).where(M.c.id.in_(chunk)))


def _delete_instances(conn: Connection, instance_ids: list[str]) -> list[str]:
    """Delete instances with everything below them; returns the object ids whose files must go."""
    if not instance_ids:
        return []
    measurement_ids = list(
        conn.execute(select(M.c.id).where(M.c.cell_instance_id.in_(instance_ids))).scalars()
    )
    reservation_ids = list(
        conn.execute(
            select(upload_reservations.c.id).where(
                upload_reservations.c.cell_instance_id.in_(instance_ids)
            )
        ).scalars()
    )
    purge_measurements(conn, measurement_ids)
    conn.execute(
        delete(upload_reservations).where(upload_reservations.c.cell_instance_id.in_(instance_ids))
    )
    conn.execute(delete(I).where(I.c.id.in_(instance_ids)))
    return measurement_ids + reservation_ids


def delete_spec(call: Call) -> Response:
    """``DELETE /cell_specifications/{id}``: cascades to instances, measurements and files."""
    org = call.caller.organization_id
    spec_id = call.path("cell_specification_id")
    with write(call.ctx.engine) as conn:
        visible_spec(conn, org, spec_id)
        instance_ids = list(
            conn.execute(select(I.c.id).where(I.c.cell_specification_id == spec_id)).scalars()
        )
        object_ids = _delete_instances(conn, instance_ids)
        conn.execute(delete(batches).where(batches.c.cell_specification_id == spec_id))
        conn.execute(delete(S).where(S.c.id == spec_id))
    for object_id in object_ids:
        call.ctx.storage.remove(object_id)
    return Response(status_code=204)


# -- instances ---------------------------------------------------------------------------------

INSTANCE_LIST = ListSpec(
    id_column=I.c.id,
    text_filters={"name": I.c.name, "created_by_email": I.c.created_by_email},
    date_filters={"created_at": I.c.created_at, "updated_at": I.c.updated_at},
    order_columns={"name": I.c.name, "created_at": I.c.created_at, "updated_at": I.c.updated_at},
    exact_filters={"batch_id": I.c.batch_id},
)

_INSTANCE_SELECT = select(I, batches.c.name.label("batch_name")).select_from(
    I.outerjoin(batches, batches.c.id == I.c.batch_id)
)


def instance_out(row: Any) -> dict[str, Any]:
    """An instance as the API shows it."""
    out: dict[str, Any] = dict(row.extra or {})
    out.update(
        id=row.id,
        name=row.name,
        cell_specification_id=row.cell_specification_id,
        batch_id=row.batch_id,
        batch_name=row.batch_name,
        notes=row.notes,
        created_by_email=row.created_by_email,
        created_at=format_ts(row.created_at),
        updated_at=format_ts(row.updated_at),
    )
    return out


def visible_instance(conn: Connection, organization_id: str, instance_id: str) -> Any:
    """The instance row (with ``batch_name``), or 404."""
    row = conn.execute(
        _INSTANCE_SELECT.where(I.c.id == instance_id, I.c.organization_id == organization_id)
    ).first()
    if row is None:
        raise not_found("cell_instance", instance_id, "Cell instance")
    return row


def list_instances(call: Call) -> Response:
    """``GET /cell_specifications/{id}/cell_instances``."""
    query = build_list_query(call.request.query_params, INSTANCE_LIST)
    spec_id = call.path("cell_specification_id")
    where = [I.c.cell_specification_id == spec_id, *query.conditions]
    with read(call.ctx.engine) as conn:
        visible_spec(conn, call.caller.organization_id, spec_id)
        total = conn.execute(select(func.count()).select_from(I).where(*where)).scalar_one()
        rows = conn.execute(
            _INSTANCE_SELECT.where(*where)
            .order_by(*query.order_by)
            .limit(query.limit)
            .offset(query.offset)
        ).all()
    return page_response([instance_out(r) for r in rows], total)


def get_instance(call: Call) -> Response:
    """``GET /cell_instances/{id}``."""
    with read(call.ctx.engine) as conn:
        row = visible_instance(conn, call.caller.organization_id, call.path("cell_instance_id"))
    return json_response(instance_out(row))


def _instance_conflict(
    conn: Connection, spec_id: str, name: str, exclude: str | None = None
) -> None:
    ensure_name_free(
        conn,
        I,
        [I.c.cell_specification_id == spec_id],
        name,
        exclude,
        resource_type="cell_instance",
        message=f"Cell instance with this name already exists for this specification: {name!r}",
    )


def _batch_id(conn: Connection, body: dict[str, Any], spec_id: str) -> tuple[bool, str | None]:
    """Resolve ``batch_id`` (must be a lot of this specification) or ``batch_name``.

    ``batch_name`` is a local-server convenience: the lot of that name is created if needed,
    since the API has no endpoint for lots. Returns (given, batch id).
    """
    if "batch_id" in body:
        batch_id = optional_str(body, "batch_id")
        if batch_id is None:
            return True, None
        found = conn.execute(
            select(batches.c.id).where(
                batches.c.id == batch_id, batches.c.cell_specification_id == spec_id
            )
        ).scalar()
        if found is None:
            raise bad_request(
                f"Field 'batch_id': {batch_id!r} is not a batch of this cell specification; "
                "list the specification's instances to see its batch ids, or send batch_name",
                field="batch_id",
            )
        return True, batch_id
    batch_name = optional_str(body, "batch_name")
    if batch_name is None:
        return False, None
    found = conn.execute(
        select(batches.c.id).where(
            batches.c.cell_specification_id == spec_id, batches.c.name == batch_name
        )
    ).scalar()
    if found is not None:
        return True, str(found)
    batch_id = f"batch-{uuid.uuid4()}"
    conn.execute(
        batches.insert().values(
            id=batch_id, cell_specification_id=spec_id, name=batch_name, created_at=utcnow()
        )
    )
    return True, batch_id


def create_instance(call: Call) -> Response:
    """``POST /cell_specifications/{id}/cell_instances``."""
    body = call.body
    org = call.caller.organization_id
    spec_id = call.path("cell_specification_id")
    name = name_field(body)
    assert name is not None
    notes = optional_str(body, "notes")
    now = utcnow()
    instance_id = str(uuid.uuid4())
    with write(call.ctx.engine) as conn:
        visible_spec(conn, org, spec_id)
        _instance_conflict(conn, spec_id, name)
        _, batch_id = _batch_id(conn, body, spec_id)
        conn.execute(
            I.insert().values(
                id=instance_id,
                organization_id=org,
                cell_specification_id=spec_id,
                name=name,
                batch_id=batch_id,
                notes=notes,
                extra=extra_fields(body, INSTANCE_FIELDS),
                created_by_email=call.caller.email,
                created_at=now,
                updated_at=now,
            )
        )
        row = visible_instance(conn, org, instance_id)
    return json_response(instance_out(row), status=201)


def update_instance(call: Call) -> Response:
    """``PATCH /cell_instances/{id}``: ``batch_id: null`` removes the cell from its lot."""
    body = call.body
    org = call.caller.organization_id
    instance_id = call.path("cell_instance_id")
    name = name_field(body, required=False)
    with write(call.ctx.engine) as conn:
        row = visible_instance(conn, org, instance_id)
        values: dict[str, Any] = {"updated_at": utcnow()}
        if name is not None and name != row.name:
            _instance_conflict(conn, row.cell_specification_id, name, exclude=instance_id)
            values["name"] = name
        if "notes" in body:
            values["notes"] = optional_str(body, "notes")
        given, batch_id = _batch_id(conn, body, row.cell_specification_id)
        if given:
            values["batch_id"] = batch_id
        extra = extra_fields(body, INSTANCE_FIELDS)
        if extra:
            values["extra"] = {**(row.extra or {}), **extra}
        conn.execute(update(I).where(I.c.id == instance_id).values(**values))
        row = visible_instance(conn, org, instance_id)
    return json_response(instance_out(row))


def delete_instance(call: Call) -> Response:
    """``DELETE /cell_instances/{id}``: cascades to measurements and their files."""
    org = call.caller.organization_id
    instance_id = call.path("cell_instance_id")
    with write(call.ctx.engine) as conn:
        visible_instance(conn, org, instance_id)
        object_ids = _delete_instances(conn, [instance_id])
    for object_id in object_ids:
        call.ctx.storage.remove(object_id)
    return Response(status_code=204)
