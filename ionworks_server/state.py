"""The processing queue in the database, so any server process can take any job.

One row per confirmed time series waiting for (or under) processing, in ``processing_jobs``:
its lane (``small``/``big``), when it was queued, and its lease (owner token, expiry). A worker
claims the oldest job of its lane whose lease is free or expired, in one write transaction (on
SQLite writes are serialised; on PostgreSQL it is a narrow write, see
:func:`~ionworks_server.db.write`, and the row is taken ``FOR UPDATE SKIP LOCKED``, so claims do
not wait for each other), renews the lease while it works, and completes the job by deleting the
row *only while it still holds the lease*, in the same transaction that marks the
measurement ``ready``/``failed``. A worker killed with ``kill -9`` stops renewing: its job is
claimed again once the lease expires (``LEASE_S``), and completion by the dead worker is
impossible, so a job is marked done once.

The table is created by migration ``0003`` (``migrations/versions/0003_processing_jobs.py``);
the :class:`~sqlalchemy.Table` here, on its own :class:`~sqlalchemy.MetaData`, is how queries name
it and must match that revision (``tests/test_migrations.py`` checks it).
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection

from .db import cell_measurements, read, utcnow, write

__all__ = [
    "LEASE_ENV",
    "LEASE_S",
    "WORKER_PROCESS_ENV",
    "Lease",
    "claim",
    "complete",
    "drop_job",
    "lease_seconds",
    "owner_token",
    "queue_job",
    "queue_missing_jobs",
    "release_all_leases",
    "renew",
]

WORKER_PROCESS_ENV = "IONWORKS_SERVER_WORKER_PROCESS"
"""Set to ``1`` in the processes of ``ionworks serve --workers N``: the supervisor did the start-up
sweep, so they must not (another process may be writing what a start-up sweep would delete)."""

LEASE_ENV = "IONWORKS_SERVER_JOB_LEASE_S"
LEASE_S = 30.0
"""How long a claim lasts without renewal (default; ``$IONWORKS_SERVER_JOB_LEASE_S`` changes it);
workers renew every third of it. A job whose worker died is claimed again after at most this plus
one poll, well within a minute."""


def lease_seconds() -> float:
    """The lease of this server: ``$LEASE_ENV`` if set (at least 1 s), else ``LEASE_S``."""
    raw = os.environ.get(LEASE_ENV, "").strip()
    try:
        return max(1.0, float(raw)) if raw else LEASE_S
    except ValueError:
        raise ValueError(f"${LEASE_ENV} must be a number of seconds, not {raw!r}") from None


state_metadata = MetaData()

processing_jobs = Table(
    "processing_jobs",
    state_metadata,
    Column("measurement_id", String(36), primary_key=True),
    Column("lane", String(8), nullable=False),
    Column("queued_at", DateTime, nullable=False),
    Column("lease_owner", String(120)),
    Column("lease_expires_at", DateTime),
    Column("attempts", Integer, nullable=False, default=0),
    Index("ix_processing_jobs_lane_queued", "lane", "queued_at"),
)
J = processing_jobs
M = cell_measurements


def owner_token() -> str:
    """A lease owner: host, process and a random part (a restarted pid is another owner)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def queue_job(conn: Connection, measurement_id: str, lane: str) -> None:
    """Add a job (inside the caller's write transaction, e.g. the confirm's)."""
    conn.execute(
        insert(J).values(measurement_id=measurement_id, lane=lane, queued_at=utcnow(), attempts=0)
    )


def queue_missing_jobs(engine: Engine, lane_of: dict[str, str] | None = None) -> int:
    """Queue every ``pending``/``running`` measurement without a job (data dirs from before the
    queue table, or rows confirmed by an older server); returns how many were added."""
    with write(engine) as conn:
        missing = conn.execute(
            select(M.c.id)
            .where(M.c.processing_status.in_(("pending", "running")))
            .where(~select(J.c.measurement_id).where(J.c.measurement_id == M.c.id).exists())
            .order_by(M.c.created_at)
        ).scalars()
        ids = list(missing)
        for measurement_id in ids:
            queue_job(conn, measurement_id, (lane_of or {}).get(measurement_id, "small"))
    return len(ids)


def release_all_leases(engine: Engine) -> None:
    """Free every claimed job: only at start-up of the one process serving a database (or the
    supervisor before its workers start), when every holder is known to be gone, so a restart
    resumes interrupted jobs at once instead of after their leases expire."""
    with write(engine) as conn:
        conn.execute(update(J).values(lease_owner=None, lease_expires_at=None))


@dataclass
class Lease:
    """A claimed job: ``attempts`` counts claims, this one included (2+ means a reclaim)."""

    measurement_id: str
    owner: str
    attempts: int


def claim(engine: Engine, lane: str, owner: str, lease_s: float = LEASE_S) -> Lease | None:
    """Take the oldest free job of ``lane`` (unclaimed, or its lease expired), or None.

    An idle poll is one read: the write transaction is only taken when a free job was seen."""
    now = utcnow()
    query = (
        select(J.c.measurement_id, J.c.attempts)
        .where(J.c.lane == lane)
        .where(or_(J.c.lease_expires_at.is_(None), J.c.lease_expires_at < now))
        .order_by(J.c.queued_at)
        .limit(1)
    )
    with read(engine) as conn:
        if conn.execute(query).first() is None:
            return None
    with write(engine, narrow=()) as conn:  # the row lock below is the claim's
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        row = conn.execute(query).first()
        if row is None:
            return None
        attempts = int(row.attempts) + 1
        conn.execute(
            update(J)
            .where(J.c.measurement_id == row.measurement_id)
            .values(
                lease_owner=owner,
                lease_expires_at=now + timedelta(seconds=lease_s),
                attempts=attempts,
            )
        )
        conn.execute(
            update(M)
            .where(M.c.id == row.measurement_id, M.c.processing_status == "pending")
            .values(processing_status="running", updated_at=now)
        )
    return Lease(row.measurement_id, owner, attempts)


def renew(engine: Engine, leases: list[Lease], lease_s: float = LEASE_S) -> list[str]:
    """Extend the leases still held; returns the ids whose lease was lost (taken by another).

    A job that is gone was completed (by its holder, between the caller's snapshot of its
    leases and now) or dropped with its measurement: not lost. Rows are updated in id order:
    renewals run side by side on PostgreSQL, and two workers each holding a job the other still
    lists (both taken over after expiring) would otherwise lock them in opposite orders, a
    deadlock."""
    lost: list[str] = []
    if not leases:
        return lost
    until: datetime = utcnow() + timedelta(seconds=lease_s)
    with write(engine, narrow=()) as conn:  # each UPDATE is conditional on the owner
        for lease in sorted(leases, key=lambda held: held.measurement_id):
            held = conn.execute(
                update(J)
                .where(J.c.measurement_id == lease.measurement_id, J.c.lease_owner == lease.owner)
                .values(lease_expires_at=until)
            ).rowcount
            if (
                not held
                and conn.execute(
                    select(J.c.measurement_id).where(J.c.measurement_id == lease.measurement_id)
                ).first()
            ):
                lost.append(lease.measurement_id)
    return lost


def complete(conn: Connection, lease: Lease) -> bool:
    """Remove the job if ``lease`` still holds it (inside the caller's write transaction, which
    also records the outcome); False when another worker took it over, which then owns it."""
    done = conn.execute(
        delete(J).where(J.c.measurement_id == lease.measurement_id, J.c.lease_owner == lease.owner)
    ).rowcount
    return bool(done)


def drop_job(conn: Connection, measurement_id: str) -> None:
    """Forget a job whose measurement is gone (deleted before or while it ran)."""
    conn.execute(delete(J).where(J.c.measurement_id == measurement_id))
