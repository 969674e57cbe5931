"""The raw one-row reads of every request (:mod:`ionworks_server.hot_reads`) answer what the same
query through SQLAlchemy answers, on SQLite and (under ``make test-postgres``) PostgreSQL: the
caller of a key (None once the row is gone), and parameters bound by name on either paramstyle."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from server_process import database_url_for
from sqlalchemy import Engine, bindparam, select

from ionworks_server.auth import _load_caller, ensure_key, ensure_organization, ensure_user
from ionworks_server.db import create_db_engine, init_schema, organizations, read, write
from ionworks_server.hot_reads import OneRow


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    url = database_url_for(tmp_path / "data") or f"sqlite:///{tmp_path / 'hot.sqlite3'}"
    made = create_db_engine(url)
    init_schema(made)
    yield made
    made.dispose()


def test_the_caller_of_a_key_row_is_read_raw_and_a_deleted_row_is_none(engine: Engine) -> None:
    with write(engine) as conn:
        org = ensure_organization(conn, "hot-lab")
        user = ensure_user(conn, org, "hot@lab")
        ensure_key(conn, org, user, "hot-key-1")
        row_id = conn.exec_driver_sql("SELECT id FROM api_keys").scalar_one()
    caller = _load_caller(engine, row_id)
    assert caller is not None
    assert (caller.user_id, caller.email, caller.organization_id) == (user, "hot@lab", org)
    assert caller.organization_name == "hot-lab" and caller.default_project_id
    with write(engine) as conn:
        conn.exec_driver_sql("DELETE FROM api_keys")
    assert _load_caller(engine, row_id) is None


def test_parameters_bind_by_name_whatever_order_they_are_given_in(engine: Engine) -> None:
    """Positional paramstyles (SQLite's ``?``) take the statement's order, not the caller's."""
    o = organizations
    with write(engine) as conn:
        lab = ensure_organization(conn, "hot-lab", "proj-lab")
        other = ensure_organization(conn, "hot-other", "proj-other")
    query = select(o.c.id, o.c.name, o.c.default_project_id).where(
        o.c.name == bindparam("name"), o.c.id == bindparam("org")
    )
    one = OneRow(query)
    assert one.first(engine, org=lab, name="hot-lab") == (lab, "hot-lab", "proj-lab")
    assert one.first(engine, name="hot-other", org=other) == (other, "hot-other", "proj-other")
    assert one.first(engine, name="hot-lab", org=other) is None  # both must match
    with read(engine) as conn:  # what SQLAlchemy reads for the same statement
        expected = conn.execute(query, {"org": other, "name": "hot-other"}).first()
    assert expected is not None and tuple(expected) == one.first(
        engine, org=other, name="hot-other"
    )
