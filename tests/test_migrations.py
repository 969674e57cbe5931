"""Schema migrations: a data dir of the release before migrations upgrades in place with its data
intact, revision 0001 is exactly that release's schema, and the search indexes of 0002 cover rows
that existed before it (SQLite here; the same tests run on PostgreSQL under make test-postgres).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic import command
from conftest import http_client, new_spec_and_instance, upload_time_series, wait_processed
from server_process import REPO_ROOT, database_url_for, free_port, start_server
from sqlalchemy import Engine, inspect, text
from test_server_resources import SERIES

from ionworks_server.db import create_db_engine, init_schema, write
from ionworks_server.migrations import BASELINE, _config, head

RELEASE_BEFORE_MIGRATIONS = "9b6d3228f6e772e058a9482bf004d809e1df85d6"
"""The last commit whose server had no migrations (schema_info version 1)."""

KEY = "migrations-key-0123456789"
OLD_SERVE = [sys.executable, "-m", "ionworks_server", "serve"]
OLD_ADMIN = [sys.executable, "-m", "ionworks_server", "admin"]
TRICKY = ["Ünïcode Çell NMC", "under_score 50%", "back\\slash cell", "ab"]


def _old_release(tmp_path: Path) -> Path:
    """The server and data core of that release, unpacked from git (no worktree left behind)."""
    found = subprocess.run(
        ["git", "cat-file", "-e", f"{RELEASE_BEFORE_MIGRATIONS}^{{commit}}"],
        cwd=REPO_ROOT,
        capture_output=True,
        check=False,
    )
    if found.returncode != 0:
        pytest.skip("the release before migrations is not in this clone (shallow?); git fetch it")
    archive = subprocess.run(
        [
            "git",
            "archive",
            RELEASE_BEFORE_MIGRATIONS,
            "ionworks_server",
            "ionworks",
            "openapi.yaml",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
    ).stdout
    tree = tmp_path / "old-release"
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(tree, filter="data")
    return tree


def _serve_old(tree: Path, data_dir: Path) -> Iterator[str]:
    """Run the old server (its own code first on sys.path) on ``data_dir``; yields its URL."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IONWORKS_")}
    log = (data_dir.parent / "old-server.log").open("wb")
    args = [sys.executable, "-m", "ionworks_server", "serve", "--port", str(port)]
    process = subprocess.Popen(
        [*args, "--data-dir", str(data_dir), "--api-key", KEY, "--demo"],
        cwd=tree,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, (data_dir.parent / "old-server.log").read_text()
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the old server did not start"
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(30)
        log.close()


SEARCHES = ["%nmc%", "%NMC%", "%ünïcode%", "%ÜNÏ%", "%50\\%%", "%slash%", "%\\%", "%_%", "%r_s%"]
SEARCHES += ["%ab%", "ab", "%e 5%", "%cell%", "%graphite 18650%", "%#00_1%", "%'%", '%"%']


def _snapshot(http: httpx.Client) -> dict[str, Any]:
    """What the API shows of the data: every kind of list, and name searches on tricky names."""
    specs = http.get("/cell_specifications", params={"full": "true", "order_by": "name"}).json()
    first = specs["items"][0]["id"]
    searched = {
        pattern: http.get(
            "/cell_specifications", params={"name": f"ilike.{pattern}", "order_by": "name"}
        ).json()
        for pattern in SEARCHES
    }
    return {
        "specs": specs,
        "instances": http.get(f"/cell_specifications/{first}/cell_instances").json(),
        "measurements": http.get("/cell_measurements", params={"limit": 1000}).json(),
        "q": http.get("/cell_measurements", params={"q": "series"}).json(),
        "me": http.get("/users/me").json(),
        "searched": searched,
    }


def test_a_data_dir_of_the_release_before_migrations_upgrades_in_place(tmp_path: Path) -> None:
    if database_url_for(tmp_path):
        pytest.skip("that release ran on SQLite only; its data dirs are SQLite files")
    tree = _old_release(tmp_path)
    data_dir = tmp_path / "data"
    old = _serve_old(tree, data_dir)
    url = next(old)
    try:
        with httpx.Client(base_url=url, headers={"X-API-Key": KEY}, timeout=60) as http:
            for name in TRICKY:
                assert http.post("/cell_specifications", json={"name": name}).status_code == 201
            _, instance = new_spec_and_instance(http, "migrated")
            series = upload_time_series(http, instance, "series", SERIES).json()["id"]
            assert wait_processed(http, series)["processing_status"] == "ready"
            before = _snapshot(http)
    finally:
        next(old, None)
    assert (data_dir / "ionworks.sqlite3").exists()

    new = start_server(data_dir, KEY)
    try:
        http = http_client(new)
        after = _snapshot(http)
        assert after == before  # searches included: the indexes change no answer
        assert after["searched"]["%slash%"]["total"] == 1
        data = http.get(f"/cell_measurements/{series}/time_series/download", follow_redirects=True)
        assert data.status_code == 200 and data.content[:4] == b"PAR1"
    finally:
        new.stop()
    engine = create_db_engine(f"sqlite:///{data_dir / 'ionworks.sqlite3'}")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == head()
        version = "SELECT value FROM schema_info WHERE key = 'schema_version'"
        assert conn.execute(text(version)).scalar() == "2"
    engine.dispose()

    # The old release refuses the upgraded data dir instead of running on a schema it does not know.
    refused = subprocess.run(
        [*OLD_SERVE, "--port", str(free_port()), "--data-dir", str(data_dir)],
        cwd=tree,
        env={k: v for k, v in os.environ.items() if not k.startswith("IONWORKS_")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert refused.returncode == 2 and "schema version 2" in refused.stderr


def _schema(engine: Engine) -> dict[str, Any]:
    """Tables, columns, keys, indexes and constraints as the inspector reports them."""
    found = inspect(engine)
    out: dict[str, Any] = {}
    for table in sorted(found.get_table_names()):
        if table == "alembic_version" or "_search" in table:
            continue
        out[table] = {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"]) for c in found.get_columns(table)
            ],
            "pk": found.get_pk_constraint(table)["constrained_columns"],
            "fks": sorted(
                (tuple(f["constrained_columns"]), f["referred_table"], f["options"].get("ondelete"))
                for f in found.get_foreign_keys(table)
            ),
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                for i in found.get_indexes(table)
                if not str(i["name"]).endswith("_trgm")
            ),
            "unique": sorted(tuple(u["column_names"]) for u in found.get_unique_constraints(table)),
        }
    return out


def _engine_for(tmp_path: Path, name: str) -> Engine:
    """A fresh database: PostgreSQL under make test-postgres, else a SQLite file."""
    url = database_url_for(tmp_path / name) or f"sqlite:///{tmp_path / name}.sqlite3"
    return create_db_engine(url)


def test_revision_0001_is_exactly_the_schema_of_the_release_before_migrations(
    tmp_path: Path,
) -> None:
    tree = _old_release(tmp_path)
    data_dir = tmp_path / "old-data"
    created = subprocess.run(
        [*OLD_ADMIN, "create-key", "--organization", "o", "--data-dir", str(data_dir)],
        cwd=tree,
        env={k: v for k, v in os.environ.items() if not k.startswith("IONWORKS_")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert created.returncode == 0, created.stderr
    old = create_db_engine(f"sqlite:///{data_dir / 'ionworks.sqlite3'}")
    ours = create_db_engine(f"sqlite:///{tmp_path / 'baseline.sqlite3'}")
    with write(ours) as conn:
        command.upgrade(_config(conn), BASELINE)
    try:
        assert _schema(ours) == _schema(old)
    finally:
        old.dispose()
        ours.dispose()


def test_the_search_indexes_cover_rows_written_before_them(tmp_path: Path) -> None:
    engine = _engine_for(tmp_path, "backfill")
    try:
        with write(engine) as conn:
            command.upgrade(_config(conn), BASELINE)
        with write(engine) as conn:
            conn.execute(
                text(
                    "INSERT INTO organizations (id, name, default_project_id, created_at) "
                    "VALUES ('o', 'o', 'p', '2026-01-01 00:00:00')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO projects (organization_id, id, name, created_at) "
                    "VALUES ('o', 'p', 'p', '2026-01-01 00:00:00')"
                )
            )
            for index, name in enumerate(TRICKY):
                conn.execute(
                    text(
                        "INSERT INTO cell_specifications (id, organization_id, project_id, name, "
                        "ratings, components, extra, created_at, updated_at) VALUES (:id, 'o', "
                        "'p', :name, '{}', '{}', '{}', '2026-01-01 00:00:00', "
                        "'2026-01-01 00:00:00')"
                    ),
                    {"id": f"s{index}", "name": name},
                )
        init_schema(engine)  # 0001 -> head: the indexes are built over the rows above
        from sqlalchemy import select

        from ionworks_server.db import cell_specifications as S
        from ionworks_server.search import ilike

        with engine.connect() as conn:
            found = conn.execute(
                select(S.c.id).where(ilike(S.c.name, "%SCORE 50%", indexed=True))
            ).scalars()
            assert list(found) == ["s1"]
    finally:
        engine.dispose()


def test_revision_0003_makes_the_queue_table_the_server_queries(tmp_path: Path) -> None:
    """The queue table comes from a migration (0003), the same as ``state.processing_jobs``, and a
    database whose table a development build created itself upgrades over it."""
    from ionworks_server.state import processing_jobs

    migrated = _engine_for(tmp_path, "migrated")
    declared = _engine_for(tmp_path, "declared")
    try:
        init_schema(migrated)
        with write(declared) as conn:  # a development build: 0002, then the table made by hand
            command.upgrade(_config(conn), "0002")
        processing_jobs.create(declared)
        ours = _schema(migrated)["processing_jobs"]
        assert ours == _schema(declared)["processing_jobs"]
        assert ours["indexes"], "the lane/queued_at index the claim query relies on"
        init_schema(declared)  # 0003 finds the table there and keeps it
        with declared.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == head()
    finally:
        migrated.dispose()
        declared.dispose()


def test_revision_0004_serves_a_name_match_in_created_order_from_one_index(tmp_path: Path) -> None:
    """``name=eq.<x>`` in the default order: a database at 0003 with rows gets the index of
    ``db.py`` (0004), the answer is the same, and SQLite reads it from that index instead of
    walking the organization's created_at index (300 ms at 1M specifications)."""
    from sqlalchemy import select

    from ionworks_server.db import cell_specifications as S

    engine = _engine_for(tmp_path, "eq")
    try:
        with write(engine) as conn:
            command.upgrade(_config(conn), "0003")
            conn.execute(
                text(
                    "INSERT INTO organizations (id, name, default_project_id, created_at) "
                    "VALUES ('o', 'o', 'p0', '2026-01-01 00:00:00')"
                )
            )
            for project in ("p0", "p1", "p2"):
                conn.execute(
                    text(
                        "INSERT INTO projects (organization_id, id, name, created_at) "
                        "VALUES ('o', :p, :p, '2026-01-01 00:00:00')"
                    ),
                    {"p": project},
                )
            specs = [("a", "p0", "same", 3), ("b", "p1", "same", 1), ("c", "p2", "same", 2)]
            specs += [(f"x{i}", "p0", f"other {i}", i) for i in range(20)]
            for spec_id, project, name, day in specs:
                conn.execute(
                    text(
                        "INSERT INTO cell_specifications (id, organization_id, project_id, name, "
                        "ratings, components, extra, created_at, updated_at) VALUES (:id, 'o', "
                        ":p, :name, '{}', '{}', '{}', :at, :at)"
                    ),
                    {"id": spec_id, "p": project, "name": name, "at": f"2026-01-{day + 1:02d}"},
                )
        init_schema(engine)
        declared = sorted((i.name, tuple(c.name for c in i.columns)) for i in S.indexes)
        found = inspect(engine).get_indexes("cell_specifications")
        assert (
            sorted(
                (i["name"], tuple(i["column_names"]))
                for i in found
                if str(i["name"]) in {n for n, _ in declared}
            )
            == declared
        )
        query = (
            select(S.c.id)
            .where(S.c.organization_id == "o", S.c.name == "same")
            .order_by(S.c.created_at.asc().nulls_first(), S.c.id.asc())
            .limit(1000)
        )
        with engine.connect() as conn:
            assert list(conn.execute(query).scalars()) == ["b", "c", "a"]
            if engine.dialect.name == "sqlite":
                sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
                plan = " ".join(
                    str(row[3]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")
                )
                assert "ix_specs_org_name_created" in plan, plan
    finally:
        engine.dispose()
