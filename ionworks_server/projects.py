"""Project-wide reads: which measurements belong to a project, and the list of them.

A measurement belongs to the project of its cell specification (``cell_measurements`` keeps the
specification's id, ``cell_specifications`` its project). Every query here is scoped by the
caller's organization as well, so another organization's project of the same name is invisible.
``project_id`` defaults to the caller's default project, as the hosted API does; a project the
organization does not have is a 404 (a typo must not look like an empty project).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.engine import Connection
from starlette.datastructures import QueryParams
from starlette.responses import Response

from .auth import Caller
from .context import Call
from .db import cell_measurements, cell_specifications, measurement_tags, projects, read
from .errors import bad_parameter, not_found
from .filters import build_list_query, single
from .measurements import MEASUREMENT_LIST
from .records import MEASUREMENTS, page_response
from .search import ilike, substring_pattern

__all__ = [
    "PROJECT_MEASUREMENT_LIST",
    "in_project",
    "list_project_measurements",
    "project_of",
    "search_condition",
]

M = cell_measurements
S = cell_specifications
T = measurement_tags

PROJECT_MEASUREMENT_LIST = replace(MEASUREMENT_LIST, default_limit=25)
"""The instance list's filters, over a whole project, 25 to a page by default (as the hosted API)."""


def project_of(conn: Connection, caller: Caller, params: QueryParams) -> str:
    """The ``project_id`` parameter (default: the caller's default project), or 400/404."""
    raw = single(params, "project_id")
    if raw is None:
        return caller.default_project_id
    project_id = raw.strip()
    if not project_id:
        raise bad_parameter(
            "project_id",
            "Invalid value for 'project_id': it is empty; give a project id or leave the "
            "parameter out for your default project",
        )
    if project_id == caller.default_project_id:
        return project_id
    found = conn.execute(
        select(projects.c.id).where(
            projects.c.organization_id == caller.organization_id, projects.c.id == project_id
        )
    ).scalar()
    if found is None:
        raise not_found("project", project_id)
    return project_id


def in_project(organization_id: str, project_id: str) -> list[ColumnElement[bool]]:
    """Conditions on ``cell_measurements`` rows: the organization's, in that project."""
    specs = select(S.c.id).where(
        S.c.organization_id == organization_id, S.c.project_id == project_id
    )
    return [M.c.organization_id == organization_id, M.c.specification_id.in_(specs)]


def search_condition(params: QueryParams) -> ColumnElement[bool] | None:
    """``q``: a case-insensitive substring of the name, the notes or a tag (no wildcards).

    Matched as ``ilike`` filters are (:func:`.search.ilike`), so a backslash means the same on
    both databases.
    """
    raw = single(params, "q")
    text = (raw or "").strip()
    if not text:
        return None
    tagged = M.c.id.in_(
        select(T.c.measurement_id).where(T.c.tag_key.contains(text.lower(), autoescape=True))
    )
    pattern = substring_pattern(text)
    return or_(ilike(M.c.name, pattern), ilike(M.c.notes, pattern), tagged)


def list_project_measurements(call: Call) -> Response:
    """``GET /cell_measurements``: every measurement of a project, across all its cells."""
    params = call.request.query_params
    query = build_list_query(params, PROJECT_MEASUREMENT_LIST)
    searched = search_condition(params)
    if searched is not None:
        query.conditions.append(searched)
    org = call.caller.organization_id
    with read(call.ctx.engine) as conn:
        project_id = project_of(conn, call.caller, params)
        rows, total = MEASUREMENTS.page(conn, query, in_project(org, project_id))
    items: list[dict[str, Any]] = [MEASUREMENTS.out(r) for r in rows]
    return page_response(items, total)
