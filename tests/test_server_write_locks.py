"""The write locks of ``db.write`` on PostgreSQL (``make test-postgres``; SQLite has one writer).

Plain writes are serialised with every write; narrow writes (uploads, the processing queue) run
beside each other and wait only for a plain write or a narrow one holding the same key, and then
see what it wrote; the upload routes hold the keys their checks rely on (a name, a quota, a tag
spelling), so racing requests get one 201 and a 409/429, never two rows. Waiting is observed in ``pg_locks`` (a backend waiting for an advisory lock),
never by timing; the engines' ``lock_timeout`` turns a lock that should not be waited for into an
error instead of a hang.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from conftest import http_client, new_organization_key, new_spec_and_instance
from server_process import ServerProcess, admin, database_url_for, start_server
from sqlalchemy import Engine, func, select, text

from ionworks_server.db import create_db_engine, hold, init_schema, lock_number, write
from ionworks_server.state import claim, processing_jobs, queue_job, renew

BASE = os.environ.get("IONWORKS_TEST_DATABASE_URL")
pytestmark = pytest.mark.skipif(
    not BASE, reason="PostgreSQL only (make test-postgres); SQLite serialises every write"
)


@pytest.fixture
def engine() -> Iterator[Engine]:
    assert BASE
    name = f"iw_locks_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(BASE, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{BASE.rsplit('/', 1)[0]}/{name}?options=-c%20lock_timeout%3D60000"
    engine = create_db_engine(url)
    init_schema(engine)
    yield engine
    engine.dispose()


class Holder:
    """A write transaction in a thread, kept open until :meth:`release`."""

    def __init__(self, engine: Engine, narrow: tuple[str, ...] | None, job: str) -> None:
        self.entered = threading.Event()
        self._release = threading.Event()
        self.seen: int | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(engine, narrow, job))
        self._thread.start()

    def _run(self, engine: Engine, narrow: tuple[str, ...] | None, job: str) -> None:
        try:
            with write(engine, narrow=narrow) as conn:
                self.seen = conn.execute(select(func.count()).select_from(processing_jobs)).scalar()
                queue_job(conn, job, "small")
                self.entered.set()
                assert self._release.wait(120), "never released"
        except BaseException as exc:  # reported by join()
            self.error = exc
            self.entered.set()

    def release(self) -> None:
        self._release.set()

    def join(self) -> None:
        self._thread.join(120)
        assert not self._thread.is_alive()
        if self.error is not None:
            raise self.error


def waiting_for_a_lock(engine: Engine, key: str | None = None) -> int:
    """How many backends of this database wait for an advisory lock (``key``'s) right now."""
    where = ""
    params: dict[str, int] = {}
    if key is not None:  # a bigint key is shown as its high and low 32 bits
        number = lock_number(key) & 0xFFFF_FFFF_FFFF_FFFF
        where = " AND l.classid = :high AND l.objid = :low AND l.objsubid = 1"
        params = {"high": number >> 32, "low": number & 0xFFFF_FFFF}
    with engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
                    "WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = "
                    f"current_database(){where}"
                ),
                params,
            ).scalar_one()
        )


def until(condition: Callable[[], bool]) -> None:
    event = threading.Event()
    for _ in range(1200):  # a hang bound, not a timing assertion
        if condition():
            return
        event.wait(0.05)
    raise AssertionError("condition never held")


def test_narrow_writes_with_other_keys_run_side_by_side(engine: Engine) -> None:
    first = Holder(engine, ("instance:a",), "job-1")
    try:
        assert first.entered.wait(120)
        # Under the old single lock this waited for `first` (lock_timeout: an error).
        second = Holder(engine, ("instance:b",), "job-2")
        assert second.entered.wait(120)
        second.release()
        second.join()
        assert second.seen == 0  # `first` has not committed
    finally:
        first.release()
    first.join()


@pytest.mark.parametrize(
    ("first_keys", "second_keys"),
    [
        (("instance:a",), ("instance:a",)),  # the same key
        (None, ()),  # a narrow write waits for a plain one
        ((), None),  # a plain write waits for a narrow one
    ],
    ids=["same-key", "narrow-after-plain", "plain-after-narrow"],
)
def test_a_conflicting_write_waits_and_then_sees_the_first_one(
    engine: Engine, first_keys: tuple[str, ...] | None, second_keys: tuple[str, ...] | None
) -> None:
    first = Holder(engine, first_keys, "job-1")
    try:
        assert first.entered.wait(120)
        second = Holder(engine, second_keys, "job-2")
        until(lambda: waiting_for_a_lock(engine) == 1)
        assert not second.entered.is_set()
    finally:
        first.release()
    first.join()
    second.release()
    second.join()
    assert second.seen == 1  # it ran after `first` committed


def test_a_key_held_mid_transaction_orders_two_narrow_writes(engine: Engine) -> None:
    """``hold`` (what a quota check does) serialises on its key like ``narrow``'s keys."""
    plain = engine.url.set(drivername="postgresql", query={})
    with psycopg.connect(plain.render_as_string(hide_password=False), autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", (lock_number("quota:org"),))
        done = threading.Event()

        def later() -> None:
            with write(engine, narrow=()) as conn:
                hold(conn, "quota:org")
            done.set()

        thread = threading.Thread(target=later)
        thread.start()
        until(lambda: waiting_for_a_lock(engine) == 1)
        assert not done.is_set()
        other.execute("SELECT pg_advisory_unlock(%s)", (lock_number("quota:org"),))
        thread.join(120)
    assert done.is_set()


# -- the keys the upload routes hold (uploads.py) ---------------------------------------------
# Each creation below is made to wait on the key it must hold (locked from outside), so both
# requests reach their check before either writes: a route that skipped the key would not
# wait (the hang bound fails) and its check-then-write would race.


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server of its own (no other test's writes wait on its locks) and its database."""
    started = start_server(tmp_path_factory.mktemp("locks") / "data", "locks-key")
    yield started
    started.stop()


def race(
    server: ServerProcess, key: str, posts: list[tuple[str, dict[str, Any]]], api_key: str = ""
) -> list[int]:
    """Send ``posts`` at once while ``key`` is locked; once each waits for it, unlock. Codes."""
    url = database_url_for(server.data_dir)
    assert url
    engine = create_db_engine(url)
    codes: list[int] = [0] * len(posts)

    def send(i: int) -> None:
        with http_client(server, api_key or None) as http:
            codes[i] = http.post(posts[i][0], json=posts[i][1]).status_code

    try:
        with psycopg.connect(url, autocommit=True) as other:
            other.execute("SELECT pg_advisory_lock(%s)", (lock_number(key),))
            threads = [threading.Thread(target=send, args=(i,)) for i in range(len(posts))]
            for thread in threads:
                thread.start()
            # On the key itself: a background write of the server waiting too is not counted.
            until(lambda: waiting_for_a_lock(engine, key) == len(posts))
            assert codes == [0] * len(posts)
            other.execute("SELECT pg_advisory_unlock(%s)", (lock_number(key),))
            for thread in threads:
                thread.join(120)
    finally:
        engine.dispose()
    return sorted(codes)


def _organization_id(server: ServerProcess, name: str) -> str:
    url = database_url_for(server.data_dir)
    assert url
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT id FROM organizations WHERE name = %s", (name,)).fetchone()
    assert row is not None
    return str(row[0])


def test_one_name_created_twice_in_an_instance_waits_for_its_key_then_409(
    server: ServerProcess,
) -> None:
    http = http_client(server)
    unique = uuid.uuid4().hex[:10]
    _, cell = new_spec_and_instance(http, unique)
    create = f"/cell_instances/{cell}/cell_measurements/create"
    body = {"name": "twice", "properties": {}}
    assert race(server, f"instance:{cell}", [(create, body), (create, body)]) == [201, 409]
    listed = http.get(f"/cell_instances/{cell}/cell_measurements").json()
    assert [item["name"] for item in listed["items"]] == ["twice"]


def test_the_last_place_of_a_quota_is_taken_once(server: ServerProcess) -> None:
    unique = uuid.uuid4().hex[:10]
    org = f"locks-quota-{unique}"
    api_key = new_organization_key(server, org)
    http = http_client(server, api_key)
    spec, first = new_spec_and_instance(http, unique)
    second = http.post(f"/cell_specifications/{spec}/cell_instances", json={"name": "other"})
    assert second.status_code == 201, second.text
    quota = admin(server.data_dir, "set-quota", "--organization", org, "--max-measurements", "1")
    assert quota.returncode == 0, quota.stderr
    posts = [
        (f"/cell_instances/{cell}/cell_measurements/create", {"name": "m", "properties": {}})
        for cell in (first, second.json()["id"])
    ]  # two instances: only the quota's key orders them
    assert race(server, f"quota:{_organization_id(server, org)}", posts, api_key) == [201, 429]


def test_new_tags_of_one_project_are_spelled_once(server: ServerProcess) -> None:
    unique = uuid.uuid4().hex[:10]
    org = f"locks-tags-{unique}"
    api_key = new_organization_key(server, org)
    http = http_client(server, api_key)
    spec, first = new_spec_and_instance(http, unique)
    second = http.post(f"/cell_specifications/{spec}/cell_instances", json={"name": "other"})
    assert second.status_code == 201, second.text
    project = http.get(f"/cell_specifications/{spec}").json()["project_id"]
    posts = [
        (f"/cell_instances/{cell}/cell_measurements/create", {"name": "m", "properties": {}})
        for cell in (first, second.json()["id"])
    ]
    posts[0][1]["tags"] = ["HPPC"]
    posts[1][1]["tags"] = ["hppc"]
    key = f"project:{_organization_id(server, org)}/{project}"
    assert race(server, key, posts, api_key) == [201, 201]
    tags = set()
    for cell in (first, second.json()["id"]):
        listed = http.get(f"/cell_instances/{cell}/cell_measurements").json()
        tags |= {tuple(item["tags"]) for item in listed["items"]}
    assert len(tags) == 1, tags  # whichever came first, the other took its spelling


def test_a_renewal_locks_its_jobs_in_id_order(engine: Engine) -> None:
    """Renewals run side by side: two workers each still listing a job the other took over would
    deadlock if each locked its rows in its own order. A renewal given [b, a] whose row a is
    locked by another transaction waits there without having locked b."""
    with write(engine) as conn:
        for job in ("job-a", "job-b"):
            queue_job(conn, job, "small")
    leases = [claim(engine, "small", "worker-1", lease_s=60) for _ in range(2)]
    assert all(leases)
    by_id = {lease.measurement_id: lease for lease in leases if lease is not None}
    plain = engine.url.set(drivername="postgresql", query={}).render_as_string(hide_password=False)
    with psycopg.connect(plain) as other, psycopg.connect(plain, autocommit=True) as probe:
        other.execute(
            "UPDATE processing_jobs SET attempts = attempts WHERE measurement_id = 'job-a'"
        )
        lost: list[list[str]] = []
        thread = threading.Thread(
            target=lambda: lost.append(renew(engine, [by_id["job-b"], by_id["job-a"]], 60))
        )
        thread.start()
        blocker = other.info.backend_pid
        until(  # the renewal waits for `other`
            lambda: (
                probe.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))",
                    (blocker,),
                ).fetchone()
                == (1,)
            )
        )
        # job-b is not locked yet (the renewal waits on job-a first); NOWAIT fails otherwise.
        with probe.transaction():
            probe.execute(
                "SELECT 1 FROM processing_jobs WHERE measurement_id = 'job-b' FOR UPDATE NOWAIT"
            )
        other.rollback()
        thread.join(120)
    assert lost == [[]]
