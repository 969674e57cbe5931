"""The write locks of ``db.write`` on PostgreSQL (``make test-postgres``; SQLite has one writer).

Plain writes are serialised with every write; narrow writes (uploads, the processing queue) run
beside each other and wait only for a plain write or a narrow one holding the same key, and then
see what it wrote. Waiting is observed in ``pg_locks`` (a backend waiting for an advisory lock),
never by timing; the engines' ``lock_timeout`` turns a lock that should not be waited for into an
error instead of a hang.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest
from sqlalchemy import Engine, func, select, text

from ionworks_server.db import create_db_engine, hold, init_schema, lock_number, write
from ionworks_server.state import processing_jobs, queue_job

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


def waiting_for_a_lock(engine: Engine) -> int:
    """How many backends of this database wait for an advisory lock right now."""
    with engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
                    "WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = "
                    "current_database()"
                )
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
