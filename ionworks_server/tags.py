"""Measurement tags across a project: the tags in use, and adding/removing tags in bulk.

Tags follow one set of rules wherever they are written (:func:`.fields.tags_field`): trimmed,
empty ones dropped, de-duplicated ignoring case, sorted ignoring case, at most 50 tags of at most
50 characters. Filters and this module match them ignoring case through the ``measurement_tags``
index (lower-cased keys). An added tag takes the spelling its project already uses (``HPPC``
stays ``HPPC`` when someone adds ``hppc``), so one project never shows two spellings of a tag
through this route.

The bulk route is all or nothing: every id is looked up and every resulting tag set checked
before the first write, inside one write transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection
from starlette.responses import Response

from .context import Call
from .db import cell_measurements, cell_specifications, measurement_tags, read, utcnow, write
from .errors import ApiError, bad_request
from .fields import MAX_TAGS, tags_field
from .filters import page_window, single
from .jsonio import json_response
from .projects import in_project, project_of
from .records import page_response
from .tag_spelling import CHUNK, project_spellings, spellings_in

__all__ = ["bulk_update_tags", "list_tags"]

M = cell_measurements
S = cell_specifications
T = measurement_tags


def list_tags(call: Call) -> Response:
    """``GET /cell_measurements/tags``: ``{tag, usage_count}``, most used first, then by tag."""
    params = call.request.query_params
    limit, offset = page_window(params, default_limit=50)
    text = (single(params, "q") or "").strip().lower()
    org = call.caller.organization_id
    with read(call.ctx.engine) as conn:
        project_id = project_of(conn, call.caller, params)
        scope = [T.c.measurement_id == M.c.id, *in_project(org, project_id)]
        if text:
            scope.append(T.c.tag_key.contains(text, autoescape=True))
        usage = func.count().label("usage_count")
        counted = (
            select(T.c.tag_key, usage, func.min(T.c.measurement_id).label("example"))
            .select_from(T.join(M, M.c.id == T.c.measurement_id))
            .where(*scope)
            .group_by(T.c.tag_key)
        )
        total = conn.execute(select(func.count()).select_from(counted.subquery())).scalar_one()
        rows = conn.execute(
            counted.order_by(usage.desc(), T.c.tag_key.asc()).limit(limit).offset(offset)
        ).all()
        spelled = spellings_in(conn, [(row.example, row.tag_key) for row in rows])
    items = [
        {
            "tag": spelled.get((row.example, row.tag_key), row.tag_key),
            "usage_count": row.usage_count,
        }
        for row in rows
    ]
    return page_response(items, int(total))


def _removals(values: list[Any]) -> set[str]:
    """Keys of the tags to remove (trimmed, lower-cased; empty ones ignored)."""
    return {str(v).strip().lower() for v in values if str(v).strip()}


def _visible(conn: Connection, organization_id: str, ids: list[str]) -> tuple[list[Any], list[str]]:
    """The visible rows (id, tags, project) of ``ids``, and the ids that are not visible."""
    rows: list[Any] = []
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        rows.extend(
            conn.execute(
                select(M.c.id, M.c.tags, S.c.project_id)
                .select_from(M.join(S, S.c.id == M.c.specification_id))
                .where(M.c.organization_id == organization_id, M.c.id.in_(chunk))
            ).all()
        )
    seen = {row.id for row in rows}
    return rows, [mid for mid in ids if mid not in seen]


def _not_found(missing: list[str]) -> ApiError:
    shown = ", ".join(repr(mid) for mid in missing[:10])
    more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
    return ApiError(
        404,
        "NOT_FOUND",
        f"{len(missing)} cell measurement(s) not found: {shown}{more}; nothing was changed. "
        "Check the ids (list them with GET /cell_measurements) and send the request again",
        {"resource_type": "cell_measurement", "resource_id": missing[0], "resource_ids": missing},
    )


def _new_tags(
    current: list[str], add: list[str], remove: set[str], spelling: dict[str, str]
) -> list[str] | None:
    """The measurement's tags after the change, or None when its tag set does not change."""
    kept = [tag for tag in current if tag.lower() not in remove]
    present = {tag.lower() for tag in kept}
    added = [spelling.get(tag.lower(), tag) for tag in add if tag.lower() not in present]
    if len(kept) == len(current) and not added:
        return None
    return sorted([*kept, *added], key=str.lower)


def bulk_update_tags(call: Call) -> Response:
    """``POST /cell_measurements/tags/bulk``: add and remove tags on many measurements at once."""
    body = call.body
    add = tags_field({"tags": body.get("add") or []}, "add") or []
    remove = _removals(body.get("remove") or [])
    both = sorted(tag for tag in add if tag.lower() in remove)
    if both:
        raise bad_request(
            f"Tag(s) {', '.join(map(repr, both))} are in both 'add' and 'remove'; "
            "send each tag in one of them",
            field="add",
        )
    ids = list(dict.fromkeys(str(mid) for mid in body["measurement_ids"]))
    org = call.caller.organization_id
    with write(call.ctx.engine) as conn:
        rows, missing = _visible(conn, org, ids)
        if missing:
            raise _not_found(missing)
        spellings = project_spellings(
            conn, org, (row.project_id for row in rows), (tag.lower() for tag in add)
        )
        changed: dict[str, list[str]] = {}
        for row in rows:
            own = {
                key: text for (project, key), text in spellings.items() if project == row.project_id
            }
            new = _new_tags([str(t) for t in row.tags or []], add, remove, own)
            if new is None:
                continue
            if len(new) > MAX_TAGS:
                raise bad_request(
                    f"Measurement {row.id!r} would carry {len(new)} tags; the maximum is "
                    f"{MAX_TAGS}. Nothing was changed: remove some of its tags first",
                    field="add",
                    measurement_id=row.id,
                )
            changed[row.id] = new
        _write(conn, changed)
    return json_response({"updated_count": len(changed)})


def _write(conn: Connection, changed: dict[str, list[str]]) -> None:
    """Store the new tag sets and their index rows; one ``updated_at`` for all of them."""
    if not changed:
        return
    now = utcnow()
    for mid, tags in changed.items():
        conn.execute(update(M).where(M.c.id == mid).values(tags=tags, updated_at=now))
    ids = list(changed)
    for start in range(0, len(ids), CHUNK):
        conn.execute(delete(T).where(T.c.measurement_id.in_(ids[start : start + CHUNK])))
    index = [
        {"measurement_id": mid, "tag_key": key}
        for mid, tags in changed.items()
        for key in sorted({tag.lower() for tag in tags})
    ]
    if index:
        conn.execute(insert(T), index)
