"""Cell specifications and cell instances: list, create, get, update, delete.

Names are unique per project (specifications) and per specification (instances); a duplicate is
a 409 ``CONFLICT`` whose ``detail.existing_id`` lets a client's ``create_or_get`` recover the row
(openapi.yaml, ``ConflictError``). How rows are shown, found, created and listed is described once
per resource in :mod:`.records`; this module holds what is particular to specifications and
instances.

Deletion **cascades**, as openapi.yaml documents: deleting a specification deletes its instances,
their measurements, pending upload reservations and every stored file of those measurements;
deleting an instance does the same below it. Rows go first, in one transaction, then the files
(a crash in between leaves files that :mod:`.worker` sweeps at the next start-up, never rows
pointing at missing files).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, delete, select
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
from .errors import bad_request
from .fields import extra_fields, name_field, object_field, optional_str
from .filters import ListSpec, build_list_query, parse_bool
from .jsonio import json_response
from .records import INSTANCES, SPECIFICATIONS, page_response

__all__ = [
    "COMPONENTS",
    "create_instance",
    "create_spec",
    "delete_instance",
    "delete_spec",
    "ensure_project",
    "get_instance",
    "get_spec",
    "list_instances",
    "list_specs",
    "purge_measurements",
    "update_instance",
    "update_spec",
]

S = cell_specifications
I = cell_instances  # noqa: E741 - reads like the table it is
M = cell_measurements
COMPONENTS = ("anode", "cathode", "electrolyte", "separator", "case")
SPEC_FIELDS = frozenset(
    {"name", "project_id", "form_factor", "manufacturer", "chemistry", "ratings", *COMPONENTS}
)
INSTANCE_FIELDS = frozenset({"name", "batch_id", "batch_name", "notes"})


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
    indexed_text=frozenset({"name"}),
)

_SPEC_SUMMARY = select(*[c for c in S.c if c.name != "components"])


def spec_out(row: Any, full: bool) -> dict[str, Any]:
    """A specification as the API shows it; components only when ``full``."""
    out = SPECIFICATIONS.out(row)
    if full:
        components = row.components or {}
        for name in COMPONENTS:
            out[name] = components.get(name)
    return out


def list_specs(call: Call) -> Response:
    """``GET /cell_specifications``: components only with ``full=true`` (they are large)."""
    params = call.request.query_params
    query = build_list_query(params, SPEC_LIST)
    full = parse_bool(params, "full")
    scope = [S.c.organization_id == call.caller.organization_id]
    with read(call.ctx.engine) as conn:
        if full:
            rows, total = SPECIFICATIONS.page(conn, query, scope)
            items = [spec_out(r, True) for r in rows]
        else:
            items, total = SPECIFICATIONS.page_items(conn, query, scope, _SPEC_SUMMARY)
    return page_response(items, total)


def get_spec(call: Call) -> Response:
    """``GET /cell_specifications/{id}``: always with components ("full nested data")."""
    with read(call.ctx.engine) as conn:
        row = SPECIFICATIONS.visible(
            conn, call.caller.organization_id, call.path("cell_specification_id")
        )
    return json_response(spec_out(row, full=True))


def _ratings(body: dict[str, Any]) -> dict[str, Any] | None:
    return object_field(body, "ratings")


def _components(body: dict[str, Any]) -> dict[str, Any]:
    """The component keys present in the body (validated objects or null)."""
    return {name: object_field(body, name) for name in COMPONENTS if name in body}


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
        "project_id": project_id,
        "name": name,
        "form_factor": optional_str(body, "form_factor"),
        "manufacturer": optional_str(body, "manufacturer"),
        "chemistry": optional_str(body, "chemistry"),
        "ratings": _ratings(body) or {},
        "components": {c: None for c in COMPONENTS} | _components(body),
        "extra": extra_fields(body, SPEC_FIELDS),
    }
    org = call.caller.organization_id
    with write(call.ctx.engine) as conn:
        ensure_project(conn, org, project_id)
        scope = {"organization_id": org, "project_id": project_id}
        SPECIFICATIONS.check_name_free(conn, scope, name)
        row = SPECIFICATIONS.insert(conn, call.caller, values)
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

    def same_project(row: Any) -> None:
        project_id = optional_str(body, "project_id")
        if project_id is not None and project_id != row.project_id:
            raise bad_request(
                "Field 'project_id' cannot be changed: create the specification in the other project instead",
                field="project_id",
            )

    def change(conn: Connection, row: Any, values: dict[str, Any]) -> None:
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

    key = "cell_specification_id"
    row = SPECIFICATIONS.patch(call, key, SPEC_FIELDS, change, guard=same_project)
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
        SPECIFICATIONS.visible(conn, org, spec_id)
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


def list_instances(call: Call) -> Response:
    """``GET /cell_specifications/{id}/cell_instances``."""
    return INSTANCES.list_children(call, INSTANCE_LIST, SPECIFICATIONS, "cell_specification_id")


def get_instance(call: Call) -> Response:
    """``GET /cell_instances/{id}``."""
    with read(call.ctx.engine) as conn:
        row = INSTANCES.visible(conn, call.caller.organization_id, call.path("cell_instance_id"))
    return json_response(INSTANCES.out(row))


def _batch_id(conn: Connection, body: dict[str, Any], spec_id: str) -> tuple[bool, str | None]:
    """Resolve ``batch_id`` (must be a lot of this specification) or ``batch_name``.

    ``batch_name`` is a local-server convenience: the lot of that name is created if needed,
    since the API has no endpoint for lots. Returns (given, batch id).
    """
    if "batch_id" in body:
        batch_id = optional_str(body, "batch_id")
        if batch_id is None:
            return True, None
        if _lot_of(conn, spec_id, batches.c.id == batch_id) is None:
            raise bad_request(
                f"Field 'batch_id': {batch_id!r} is not a batch of this cell specification; "
                "list the specification's instances to see its batch ids, or send batch_name",
                field="batch_id",
            )
        return True, batch_id
    batch_name = optional_str(body, "batch_name")
    if batch_name is None:
        return False, None
    found = _lot_of(conn, spec_id, batches.c.name == batch_name)
    if found is not None:
        return True, found
    batch_id = f"batch-{uuid.uuid4()}"
    conn.execute(
        batches.insert().values(
            id=batch_id, cell_specification_id=spec_id, name=batch_name, created_at=utcnow()
        )
    )
    return True, batch_id


def _lot_of(conn: Connection, spec_id: str, which: ColumnElement[bool]) -> str | None:
    """The id of the specification's lot that ``which`` picks, if there is one."""
    where = (batches.c.cell_specification_id == spec_id, which)
    found = conn.execute(select(batches.c.id).where(*where)).scalar()
    return None if found is None else str(found)


def create_instance(call: Call) -> Response:
    """``POST /cell_specifications/{id}/cell_instances``."""
    body = call.body
    org = call.caller.organization_id
    spec_id = call.path("cell_specification_id")
    name = name_field(body)
    assert name is not None
    values = {
        "cell_specification_id": spec_id,
        "name": name,
        "notes": optional_str(body, "notes"),
        "extra": extra_fields(body, INSTANCE_FIELDS),
    }
    with write(call.ctx.engine) as conn:
        SPECIFICATIONS.visible(conn, org, spec_id)
        INSTANCES.check_name_free(conn, {"cell_specification_id": spec_id}, name)
        _, values["batch_id"] = _batch_id(conn, body, spec_id)
        row = INSTANCES.insert(conn, call.caller, values)
    return json_response(INSTANCES.out(row), status=201)


def update_instance(call: Call) -> Response:
    """``PATCH /cell_instances/{id}``: ``batch_id: null`` removes the cell from its lot."""
    body = call.body

    def change(conn: Connection, row: Any, values: dict[str, Any]) -> None:
        if "notes" in body:
            values["notes"] = optional_str(body, "notes")
        given, batch_id = _batch_id(conn, body, row.cell_specification_id)
        if given:
            values["batch_id"] = batch_id

    row = INSTANCES.patch(call, "cell_instance_id", INSTANCE_FIELDS, change)
    return json_response(INSTANCES.out(row))


def delete_instance(call: Call) -> Response:
    """``DELETE /cell_instances/{id}``: cascades to measurements and their files."""
    org = call.caller.organization_id
    instance_id = call.path("cell_instance_id")
    with write(call.ctx.engine) as conn:
        INSTANCES.visible(conn, org, instance_id)
        object_ids = _delete_instances(conn, [instance_id])
    for object_id in object_ids:
        call.ctx.storage.remove(object_id)
    return Response(status_code=204)
