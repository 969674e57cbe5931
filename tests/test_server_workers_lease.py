"""The queue's lease rules on a real database (SQLite here, PostgreSQL under make test-postgres
through the same code): a job is claimed by one worker at a time, taken over only once its lease
expired, and completed only by the worker holding it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, select

from ionworks_server.db import create_db_engine, init_schema, write
from ionworks_server.state import (
    claim,
    complete,
    processing_jobs,
    queue_job,
    release_all_leases,
    renew,
)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    base = os.environ.get("IONWORKS_TEST_DATABASE_URL")  # make test-postgres
    if base:
        name = f"iw_lease_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = f"{base.rsplit('/', 1)[0]}/{name}"
    else:
        url = f"sqlite:///{tmp_path / 'queue.sqlite3'}"
    engine = create_db_engine(url)
    init_schema(engine)
    yield engine
    engine.dispose()


def queued(engine: Engine, *ids: str, lane: str = "small") -> None:
    with write(engine) as conn:
        for measurement_id in ids:
            queue_job(conn, measurement_id, lane)


def test_a_held_job_is_not_claimed_twice_and_jobs_go_oldest_first(engine: Engine) -> None:
    queued(engine, "first", "second")
    a = claim(engine, "small", "worker-a", lease_s=60)
    b = claim(engine, "small", "worker-b", lease_s=60)
    assert a is not None and b is not None
    assert (a.measurement_id, b.measurement_id) == ("first", "second")
    assert claim(engine, "small", "worker-c", lease_s=60) is None
    assert claim(engine, "big", "worker-c", lease_s=60) is None  # lanes are apart


def test_an_expired_lease_is_taken_over_and_only_the_new_holder_completes(engine: Engine) -> None:
    queued(engine, "job")
    stalled = claim(engine, "small", "worker-a", lease_s=-1)  # expired at once: "died"
    assert stalled is not None and stalled.attempts == 1
    taker = claim(engine, "small", "worker-b", lease_s=60)
    assert taker is not None and (taker.measurement_id, taker.attempts) == ("job", 2)
    assert renew(engine, [stalled]) == ["job"]  # the old holder learns it lost the job
    with write(engine) as conn:
        assert complete(conn, stalled) is False
    with write(engine) as conn:
        assert complete(conn, taker) is True
    with write(engine) as conn:
        assert complete(conn, taker) is False  # completed once
        assert conn.execute(select(processing_jobs)).all() == []


def test_renewal_keeps_a_job_and_a_restart_frees_every_lease(engine: Engine) -> None:
    queued(engine, "job")
    held = claim(engine, "small", "worker-a", lease_s=60)
    assert held is not None
    assert renew(engine, [held], lease_s=60) == []
    assert claim(engine, "small", "worker-b", lease_s=60) is None
    release_all_leases(engine)  # start-up of the only process: the holder is gone
    again = claim(engine, "small", "worker-b", lease_s=60)
    assert again is not None and again.attempts == 2


def test_renewing_a_job_completed_meanwhile_is_not_a_lost_lease(engine: Engine) -> None:
    """The heartbeat snapshots its leases, then renews: a job completed in between is gone, not
    taken over (under make load this logged "taken over by another worker" with one worker)."""
    queued(engine, "job")
    held = claim(engine, "small", "worker-a", lease_s=60)
    assert held is not None
    with write(engine) as conn:
        assert complete(conn, held) is True
    assert renew(engine, [held], lease_s=60) == []
