"""Database schema (SQLAlchemy Core), engine set-up and the schema-version check.

Queries elsewhere are written in Core against these tables, never in SQLite-only SQL, so a
PostgreSQL ``IONWORKS_SERVER_DATABASE_URL`` can follow without rewriting them. SQLite-specific
tuning lives in :func:`create_db_engine` only: WAL (readers never wait for the writer), foreign
keys on, a busy timeout, and ``BEGIN IMMEDIATE`` for write transactions so two writers queue on
the lock instead of one failing with "database is locked" when it upgrades a read lock. Reads go
through a memory map of the file (:data:`SQLITE_MMAP_BYTES`).

Timestamps are stored as naive UTC ``DateTime`` values; free-form nested data (ratings,
components, protocol, extra keys a client sent) as ``JSON``. Lists are scoped by an index that
starts with the owning organization (or parent), with the usual order columns after it, so a
page is an index range scan; substring filters then scan only that organization's rows.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Engine,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.pool import ConnectionPoolEntry

__all__ = [
    "SCHEMA_VERSION",
    "IncompatibleDatabase",
    "api_keys",
    "batches",
    "cell_instances",
    "cell_measurements",
    "cell_specifications",
    "create_db_engine",
    "hold",
    "init_schema",
    "measurement_tags",
    "metadata",
    "organizations",
    "pipelines",
    "projects",
    "read",
    "upload_reservations",
    "users",
    "utcnow",
    "write",
]

SCHEMA_VERSION = 2
"""``schema_info``'s version, for servers older than the migrations: 1 is the last schema they
accept, so they refuse a data dir this server upgraded. A migration that changes the tables sets
the next number (``migrations/versions``)."""

SQLITE_MMAP_BYTES = 1 << 30
"""``PRAGMA mmap_size`` of every SQLite connection: the first GiB of the file is read through a
memory map instead of being copied into each connection's page cache, so a search reading
~1,000 rows scattered over a large file costs less CPU (server CPU per request at 1M specs:
0.84x on a 50-row page, 0.91x on 1,000 rows; docs/benchmarks.md). Address space only: the pages
are the OS file cache, shared by every connection and process. Safe with WAL and several
processes (SQLite keeps the map in step with the file); writes still go through the normal
path, and a file larger than this is read through the page cache beyond it."""

metadata = MetaData()

ID = String(64)
NAME = String(255)


def utcnow() -> datetime:
    """Now, as the naive UTC value the tables store."""
    return datetime.now(UTC).replace(tzinfo=None)


def _owned() -> list[Column[Any]]:
    """The id and owning organization every API resource row starts with."""
    return [Column("id", ID, primary_key=True), Column("organization_id", ID, nullable=False)]


def _parent(name: str, table: str) -> Column[Any]:
    """A required reference to the row that owns this one; deleting that row deletes this one."""
    return Column(name, ID, ForeignKey(f"{table}.id", ondelete="CASCADE"), nullable=False)


def _stamps(*, extra: bool = True) -> list[Column[Any]]:
    """Keys a client sent beyond the schema (``extra``), the creator, and the two timestamps."""
    return [
        *([Column("extra", JSON, nullable=False)] if extra else []),
        Column("created_by_email", NAME),
        Column("created_at", DateTime, nullable=False),
        Column("updated_at", DateTime, nullable=False),
    ]


def _named_under(table: str, parent: tuple[str, str], label: str, unique: str) -> Table:
    """A small table of rows named uniquely under a parent row, deleted with it.

    ``parent`` is (column, parent table): a user's email is unique in its organization, a lot's
    name under its specification.
    """
    return Table(
        table,
        metadata,
        Column("id", ID, primary_key=True),
        _parent(*parent),
        Column(label, NAME, nullable=False),
        Column("created_at", DateTime, nullable=False),
        UniqueConstraint(parent[0], label, name=unique),
    )


schema_info = Table(
    "schema_info",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", String(255), nullable=False),
)

organizations = Table(
    "organizations",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", NAME, nullable=False, unique=True),
    Column("default_project_id", ID, nullable=False),
    Column("max_measurements", Integer, nullable=True),  # quota; NULL = unlimited
    Column("created_at", DateTime, nullable=False),
)

users = _named_under("users", ("organization_id", "organizations"), "email", "uq_users_org_email")

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", ID, primary_key=True),
    # "scrypt$n$r$p$salt$hash" (auth.py; older data dirs: sha256 hex until first use); never the
    # key. The id of a generated key is its public prefix "iwk_" + 16 characters.
    Column("key_hash", String(255), nullable=False, unique=True),
    _parent("user_id", "users"),
    _parent("organization_id", "organizations"),
    Column("created_at", DateTime, nullable=False),
)

# Project ids are namespaced by organization: two organizations may both use "proj-demo"
# without seeing each other's data.
projects = Table(
    "projects",
    metadata,
    Column(
        "organization_id", ID, ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("id", ID, primary_key=True),
    Column("name", NAME, nullable=False),
    Column("created_at", DateTime, nullable=False),
)

cell_specifications = Table(
    "cell_specifications",
    metadata,
    *_owned(),
    Column("project_id", ID, nullable=False),
    Column("name", NAME, nullable=False),
    Column("form_factor", NAME),
    Column("manufacturer", NAME),
    Column("chemistry", NAME),
    Column("ratings", JSON, nullable=False),
    Column("components", JSON, nullable=False),  # {"anode": {...} | None, ...}
    *_stamps(),
    ForeignKeyConstraint(
        ["organization_id", "project_id"],
        ["projects.organization_id", "projects.id"],
        ondelete="CASCADE",
    ),
    UniqueConstraint("organization_id", "project_id", "name", name="uq_specs_project_name"),
    Index("ix_specs_org_name", "organization_id", "name", "id"),
    # name=eq.<x> in the default order (migration 0004): without it SQLite walks the created_at
    # index below and checks every row's name.
    Index("ix_specs_org_name_created", "organization_id", "name", "created_at", "id"),
    Index("ix_specs_org_created", "organization_id", "created_at", "id"),
    Index("ix_specs_org_updated", "organization_id", "updated_at", "id"),
    Index("ix_specs_org_form_factor", "organization_id", "form_factor"),
    Index("ix_specs_org_email", "organization_id", "created_by_email"),
)

batches = _named_under(
    "batches", ("cell_specification_id", "cell_specifications"), "name", "uq_batches_spec_name"
)

cell_instances = Table(
    "cell_instances",
    metadata,
    *_owned(),
    _parent("cell_specification_id", "cell_specifications"),
    Column("name", NAME, nullable=False),
    Column("batch_id", ID, ForeignKey("batches.id", ondelete="SET NULL")),
    Column("notes", Text),
    *_stamps(),
    UniqueConstraint("cell_specification_id", "name", name="uq_instances_spec_name"),
    Index("ix_instances_spec_created", "cell_specification_id", "created_at", "id"),
    Index("ix_instances_spec_updated", "cell_specification_id", "updated_at", "id"),
    Index("ix_instances_batch", "batch_id"),
)

cell_measurements = Table(
    "cell_measurements",
    metadata,
    *_owned(),
    _parent("cell_instance_id", "cell_instances"),
    Column("specification_id", ID, nullable=False),
    Column("name", NAME, nullable=False),
    Column("measurement_type", String(32), nullable=False),
    Column("start_time", DateTime),
    Column("end_time", DateTime),
    Column("notes", Text),
    Column("protocol", JSON),
    Column("test_setup", JSON),
    Column("properties", JSON),
    Column("tags", JSON, nullable=False),  # display list; measurement_tags is the filter index
    Column("filenames", JSON, nullable=False),  # file measurements: stored names, in order
    Column("processing_status", String(16)),
    Column("processing_error", Text),
    Column("row_count", Integer),
    *_stamps(),
    UniqueConstraint("cell_instance_id", "name", name="uq_measurements_instance_name"),
    Index("ix_measurements_instance_created", "cell_instance_id", "created_at", "id"),
    Index("ix_measurements_instance_updated", "cell_instance_id", "updated_at", "id"),
    Index("ix_measurements_instance_start", "cell_instance_id", "start_time", "id"),
    Index("ix_measurements_org", "organization_id"),
    Index("ix_measurements_status", "processing_status"),
)

measurement_tags = Table(
    "measurement_tags",
    metadata,
    Column(
        "measurement_id",
        ID,
        ForeignKey("cell_measurements.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("tag_key", NAME, primary_key=True),  # lower-cased: tag filters ignore case
    Index("ix_measurement_tags_key", "tag_key", "measurement_id"),
)

upload_reservations = Table(
    "upload_reservations",
    metadata,
    *_owned(),  # the id is the measurement id confirm-upload will use
    _parent("cell_instance_id", "cell_instances"),
    Column("name", NAME, nullable=False),
    Column("measurement_type", String(32), nullable=False),
    Column("filenames", JSON, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False),
    Index("ix_reservations_expires", "expires_at"),
)

pipelines = Table(
    "pipelines",
    metadata,
    *_owned(),
    Column("project_id", ID),
    Column("name", NAME),
    Column("description", Text),
    Column("status", String(16), nullable=False),
    Column("error", Text),
    Column("config", JSON, nullable=False),
    Column("result", JSON),
    *_stamps(extra=False),
    Index("ix_pipelines_org_created", "organization_id", "created_at"),
)


class IncompatibleDatabase(RuntimeError):
    """The data dir was written by a server with another schema version (or is not ours)."""


def create_db_engine(url: str) -> Engine:
    """An engine tuned for its database (see the module docstring); SQLite or PostgreSQL."""
    if url.startswith("postgres"):
        return _postgres_engine(url)
    if not url.startswith("sqlite"):
        raise ValueError(
            f"unsupported database URL {url.split(':', 1)[0]!r}:...; use sqlite:///PATH or "
            "postgresql://USER@HOST:PORT/DATABASE"
        )
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 30},
        pool_size=8,
        max_overflow=32,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN itself (pysqlite's own
        # transaction handling cannot do BEGIN IMMEDIATE).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _postgres_engine(url: str) -> Engine:
    """psycopg 3; ``postgresql://`` and ``postgres://`` URLs name it without the driver."""
    scheme, rest = url.split("://", 1)
    if scheme in ("postgres", "postgresql"):
        url = f"postgresql+psycopg://{rest}"
    return create_engine(url, pool_pre_ping=True, pool_size=8, max_overflow=32)


WRITE_LOCK_KEY = 0x10_4E_57_0C
"""The PostgreSQL advisory lock every write transaction holds (SQLite's ``BEGIN IMMEDIATE``):
exclusively by a plain :func:`write`, shared by a narrow one."""


@contextmanager
def write(engine: Engine, *, narrow: Sequence[str] | None = None) -> Iterator[Connection]:
    """A write transaction (committed on success, rolled back on error).

    Writers are serialised on both databases, so check-then-insert code (a name that must be
    free, a quota) sees every earlier write: SQLite takes its write lock at ``BEGIN
    IMMEDIATE``; PostgreSQL takes a transaction-scoped advisory lock first.

    ``narrow`` (PostgreSQL only; SQLite still has one writer) is for the hot paths of uploads
    and processing: the transaction takes that lock *shared*, so it runs beside other narrow
    writers and waits only for plain ones, plus an exclusive lock on each key of ``narrow``
    (and on any key :func:`hold` names later). A narrow writer must hold a key for every
    check-then-write it relies on (the keys order it against narrow writers of the same key)
    or write in a way that is atomic by itself (a conditional ``UPDATE``, ``FOR UPDATE SKIP
    LOCKED``). Keys are taken after the shared lock, in the order given and then in the order
    of the :func:`hold` calls; that order is only free of cycles because every writer takes the
    kinds of key in one order, at most one key of each (``uploads.py``: upload, instance,
    project, quota) and updates the rows it shares in id order (``state.renew``). A new key or
    shared row must keep that order, or PostgreSQL ends one writer with a deadlock error.
    """
    with engine.connect() as conn:
        conn.execution_options(sqlite_immediate=True)
        with conn.begin():
            if conn.dialect.name == "postgresql":
                how = "pg_advisory_xact_lock" if narrow is None else "pg_advisory_xact_lock_shared"
                conn.execute(text(f"SELECT {how}(:key)"), {"key": WRITE_LOCK_KEY})
                for key in narrow or ():
                    hold(conn, key)
            yield conn


def hold(conn: Connection, key: str) -> None:
    """Lock ``key`` (say ``"upload:<id>"``) until the transaction ends; see :func:`write`.

    A no-op on SQLite, where the transaction already holds the one write lock."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_number(key)})


def lock_number(key: str) -> int:
    """A stable signed 64-bit advisory lock number for ``key`` (a collision only serialises)."""
    digest = hashlib.blake2b(key.encode(), digest_size=8, person=b"ionworks").digest()
    return int.from_bytes(digest, "big", signed=True)


@contextmanager
def read(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction: one consistent snapshot for a page and its count."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with conn.begin():
            yield conn


def init_schema(engine: Engine) -> None:
    """Create the schema in an empty database, or migrate an existing one to this version.

    Raises :class:`IncompatibleDatabase` with instructions when the database was written by a
    newer server or holds tables that are not ours (:mod:`.migrations`).
    """
    from .migrations import upgrade  # the migrations import this module's tables

    upgrade(engine)
