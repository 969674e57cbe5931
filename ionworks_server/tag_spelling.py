"""One spelling of each tag per project: the one the project already uses.

Tags match ignoring case everywhere (filters, removal, de-duplication); when a tag is written
that the project already carries in another case, the project's spelling is kept, so a project
never shows ``HPPC`` on one measurement and ``hppc`` on the next. Used by every path that writes
tags: creating a measurement, ``PATCH``, and the bulk route of :mod:`.tags`.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from .db import cell_measurements, cell_specifications, measurement_tags

__all__ = ["CHUNK", "project_spellings", "respell", "spellings_in"]

M = cell_measurements
S = cell_specifications
T = measurement_tags
CHUNK = 500
"""Ids per ``IN (...)`` list: well under SQLite's bound-parameter limit."""


def spellings_in(conn: Connection, examples: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """(measurement id, tag key) -> how that measurement spells the tag."""
    keys: dict[str, set[str]] = {}
    for mid, key in examples:
        keys.setdefault(mid, set()).add(key)
    spelled: dict[tuple[str, str], str] = {}
    ids = list(keys)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        for row in conn.execute(select(M.c.id, M.c.tags).where(M.c.id.in_(chunk))):
            for tag in row.tags or []:
                key = str(tag).lower()
                if key in keys[row.id]:
                    spelled.setdefault((row.id, key), str(tag))
    return spelled


def project_spellings(
    conn: Connection,
    organization_id: str,
    project_ids: Iterable[str],
    keys: Iterable[str],
    exclude: str | None = None,
) -> dict[tuple[str, str], str]:
    """(project, tag key) -> the spelling that project already uses, for the keys given
    (``exclude``: a measurement whose own tags do not count)."""
    wanted_keys = sorted(set(keys))
    wanted_projects = sorted(set(project_ids))
    if not wanted_keys or not wanted_projects:
        return {}
    found = conn.execute(
        select(S.c.project_id, T.c.tag_key, func.min(T.c.measurement_id).label("example"))
        .select_from(
            T.join(M, M.c.id == T.c.measurement_id).join(S, S.c.id == M.c.specification_id)
        )
        .where(
            M.c.organization_id == organization_id,
            S.c.project_id.in_(wanted_projects),
            T.c.tag_key.in_(wanted_keys),
            *([] if exclude is None else [T.c.measurement_id != exclude]),
        )
        .group_by(S.c.project_id, T.c.tag_key)
    ).all()
    spelled = spellings_in(conn, [(row.example, row.tag_key) for row in found])
    return {
        (row.project_id, row.tag_key): spelled[(row.example, row.tag_key)]
        for row in found
        if (row.example, row.tag_key) in spelled
    }


def respell(
    conn: Connection,
    organization_id: str,
    specification_id: str,
    tags: list[str],
    *,
    exclude: str | None = None,
) -> list[str]:
    """Normalised ``tags`` of a measurement of that specification, in its project's spelling."""
    if not tags:
        return tags
    project_id = conn.execute(select(S.c.project_id).where(S.c.id == specification_id)).scalar()
    if project_id is None:
        return tags
    keys = [tag.lower() for tag in tags]
    known = project_spellings(conn, organization_id, [project_id], keys, exclude)
    spelled = [known.get((project_id, tag.lower()), tag) for tag in tags]
    return sorted(spelled, key=str.lower)
