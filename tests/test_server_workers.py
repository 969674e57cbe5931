"""Several server processes on one database: a job whose worker is killed with ``kill -9`` in the
middle of processing is finished by another worker, once, and storage ends up holding exactly the
files the database references.

On PostgreSQL (``make test-postgres`` sets ``IONWORKS_TEST_DATABASE_URL``) this is one server
started with ``--workers 2``; on SQLite, where ``--workers`` above 1 is refused, it is two
``ionworks serve`` processes on one data dir, which share the queue the same way (the lease logic
is the same code; only the database differs). The lease is shortened to 10 s so the takeover is
quick; production uses 30 s. (On a machine stalled longer than a lease, a live worker can lose
its job to another; it then leaves the result to the new holder, which is what completion
checks, so the assertions below hold either way.)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from conftest import http_client, new_spec_and_instance, upload_time_series, wait_processed
from server_process import REPO_ROOT, ServerProcess, start_server
from sqlalchemy import create_engine, select

from ionworks_server.db import cell_measurements
from ionworks_server.demo_data import long_series
from ionworks_server.state import LEASE_ENV, processing_jobs

PG_ENV = "IONWORKS_TEST_DATABASE_URL"
ROWS = 2_000_000
"""Enough rows that processing lasts well past the moment the test sees the job claimed."""
PROCESSED = {"time_series.parquet", "steps.parquet", "cycles.parquet", "steps.json", "cycles.json"}


def fresh_postgres_database(base: str) -> str:
    """A new, empty database on the test cluster; its URL."""
    name = f"iw_workers_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base.rsplit('/', 1)[0]}/{name}"


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[list[ServerProcess], str]]:
    """The server processes and the database URL they share."""
    data_dir = tmp_path / "data"
    saved = os.environ.get(LEASE_ENV)
    os.environ[LEASE_ENV] = "10"
    started: list[ServerProcess] = []
    try:
        base = os.environ.get(PG_ENV)
        if base:
            url = fresh_postgres_database(base)
            extra = ["--database-url", url, "--workers", "2"]
            started.append(start_server(data_dir, "workers-key", extra_args=extra))
        else:
            url = f"sqlite:///{data_dir / 'ionworks.sqlite3'}"
            started.append(start_server(data_dir, "workers-key"))
            started.append(start_server(data_dir, "workers-key"))
        yield started, url
    finally:
        for server in started:
            server.stop()
        if saved is None:
            os.environ.pop(LEASE_ENV, None)
        else:
            os.environ[LEASE_ENV] = saved


def claimed_by(url: str, measurement_id: str, timeout: float = 60.0) -> tuple[int, str] | None:
    """(pid, owner) of the worker holding the job once claimed; None if it finished first."""
    engine = create_engine(url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                owner = conn.execute(
                    select(processing_jobs.c.lease_owner).where(
                        processing_jobs.c.measurement_id == measurement_id
                    )
                ).scalar()
                status = conn.execute(
                    select(cell_measurements.c.processing_status).where(
                        cell_measurements.c.id == measurement_id
                    )
                ).scalar()
            if owner:
                return int(owner.split(":")[1]), owner
            if status not in ("pending", "running"):
                return None
            time.sleep(0.01)
    finally:
        engine.dispose()
    raise AssertionError(f"job {measurement_id} was never claimed within {timeout} s")


def jobs_left(url: str) -> list[Any]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(select(processing_jobs)).all())
    finally:
        engine.dispose()


def test_workers_above_one_are_refused_on_sqlite(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IONWORKS_SERVER_")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ionworks_server",
            "serve",
            "--workers",
            "2",
            "--port",
            "0",
            "--data-dir",
            str(tmp_path / "data"),
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "--workers 2 needs PostgreSQL" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "data").exists()  # refused before the data dir is touched


def test_a_killed_workers_job_is_finished_by_another_once(
    servers: tuple[list[ServerProcess], str], unique: str
) -> None:
    processes, url = servers
    http = http_client(processes[0])
    _, cell = new_spec_and_instance(http, unique)
    series = long_series(ROWS, seed=11)
    for attempt in range(3):
        confirmed = upload_time_series(http, cell, f"killed-{attempt}", series)
        assert confirmed.status_code == 201, confirmed.text
        mid = confirmed.json()["id"]
        holder = claimed_by(url, mid)
        if holder is None:  # the machine stalled us past the whole job: try a new upload
            assert wait_processed(http, mid)["processing_status"] == "ready"
            continue
        pid, owner = holder
        os.kill(pid, signal.SIGKILL)
        killed_at = time.monotonic()
        survivors = [p for p in processes if p.process.pid != pid]
        survivor = http_client(survivors[0])
        done = wait_processed(survivor, mid, timeout=60.0)
        assert time.monotonic() - killed_at < 60.0
        assert (done["processing_status"], done["row_count"]) == ("ready", ROWS), done
        break
    else:
        pytest.fail("every job finished before the test saw it claimed")
    assert jobs_left(url) == []  # completed once: the job row went with the result
    listed = survivor.get(f"/cell_instances/{cell}/cell_measurements").json()["items"]
    assert sorted(m["name"] for m in listed) == [f"killed-{n}" for n in range(attempt + 1)]
    # Storage holds exactly what the database references: every ready series' five files,
    # nothing staged, no temp file of the killed worker.
    storage = processes[0].data_dir / "storage"
    ready = {m["id"] for m in listed if m["processing_status"] == "ready"}
    assert {p.name for p in (storage / "measurements").iterdir()} == ready
    for measurement in ready:
        assert {p.name for p in (storage / "measurements" / measurement).iterdir()} == PROCESSED
    assert list((storage / "processing").iterdir()) == []
    assert list((storage / "uploads").iterdir()) == []
    assert owner  # (who held the job, for the failure message above)
