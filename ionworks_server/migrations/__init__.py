"""Schema migrations (Alembic), run by the server at start-up on SQLite and PostgreSQL alike.

:func:`upgrade` brings any database this server can read to the newest revision, in one write
transaction (so two servers starting together on one database migrate it once):

* an empty database gets every revision, from ``0001`` (the schema of the last release without
  migrations) on;
* a data dir of that release (``schema_info`` version 1, no ``alembic_version``) is stamped
  ``0001`` and upgraded in place;
* a database written by a newer server (a revision unknown here), or one whose tables are not
  ours, is refused with :class:`~ionworks_server.db.IncompatibleDatabase` and instructions.

``versions/`` holds one module per revision; a schema change adds one (``alembic revision``
against a scratch database with ``script_location`` pointing here) and never edits an old one.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, select
from sqlalchemy.engine import Connection

from ..db import SCHEMA_VERSION, IncompatibleDatabase, schema_info, write

__all__ = ["BASELINE", "head", "upgrade"]

BASELINE = "0001"
"""The revision that matches the schema of data dirs made before migrations existed."""

log = logging.getLogger("ionworks_server.migrations")

_HERE = Path(__file__).resolve().parent
_BASELINE_TABLES = frozenset(
    {
        "schema_info",
        "organizations",
        "users",
        "api_keys",
        "projects",
        "cell_specifications",
        "batches",
        "cell_instances",
        "cell_measurements",
        "measurement_tags",
        "upload_reservations",
        "pipelines",
    }
)


def _config(conn: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_HERE))
    config.attributes["connection"] = conn
    return config


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def head() -> str:
    """The newest revision this server knows."""
    found = _scripts().get_current_head()
    assert found is not None
    return found


def upgrade(engine: Engine) -> None:
    """Create or upgrade the schema to :func:`head`; refuse databases that are not ours."""
    with write(engine) as conn:
        tables = set(inspect(conn).get_table_names())
        config = _config(conn)
        if tables and "alembic_version" not in tables:
            _check_baseline(conn, tables, engine)
            command.stamp(config, BASELINE)
        current = MigrationContext.configure(conn).get_current_revision()
        if current is not None and current not in {s.revision for s in _scripts().walk_revisions()}:
            raise IncompatibleDatabase(
                f"The database at {_shown(engine)} was written by a newer server (schema revision "
                f"{current}; this server knows up to {head()}). Upgrade this server, or start "
                "with a new --data-dir."
            )
        if current is not None:
            _check_version(conn, {str(v) for v in range(1, SCHEMA_VERSION + 1)})
        if current != head():
            command.upgrade(config, "head")
            log.info("database schema upgraded from %s to %s", current or "nothing", head())


def _shown(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def _check_version(conn: Connection, known: set[str]) -> None:
    """Refuse a ``schema_info`` version this server cannot read (a newer or foreign server's)."""
    found = conn.execute(
        select(schema_info.c.value).where(schema_info.c.key == "schema_version")
    ).scalar()
    if found not in known:
        raise IncompatibleDatabase(
            f"The data dir was created by a server with schema version {found}, which this "
            "server cannot open. Start with a new --data-dir (or move the old one aside); the "
            "old data can be exported with the server version that wrote it."
        )


def _check_baseline(conn: Connection, tables: set[str], engine: Engine) -> None:
    """A database without ``alembic_version`` must be a data dir of the release before it."""
    if "schema_info" not in tables:
        raise IncompatibleDatabase(
            f"The database at {_shown(engine)} holds tables "
            f"({', '.join(sorted(tables)[:5])}, ...) but no Ionworks schema version; it was not "
            "created by this server. Use an empty --data-dir (or an empty database)."
        )
    _check_version(conn, {"1"})
    missing = _BASELINE_TABLES - tables
    if missing:
        raise IncompatibleDatabase(
            f"The database is missing tables {sorted(missing)}; it is damaged or incomplete. "
            "Start with a new --data-dir."
        )
