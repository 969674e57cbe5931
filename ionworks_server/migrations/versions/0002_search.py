"""Text indexes for substring search of specification names (``name=ilike.%x%``).

PostgreSQL: the ``pg_trgm`` extension (trusted: a database owner may create it) and a GIN
trigram index per searched column. SQLite: one FTS5 table with the trigram tokenizer per
searched table, ``<table>_search``, whose rowid is the row's rowid, filled from the existing
rows and kept in step by triggers. See ``ionworks_server/search.py`` for how queries use them.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# As they were at this revision (ionworks_server/search.py reads the same names).
SEARCHED = {"cell_specifications": ("name",)}


def _trgm_index(table: str, column: str) -> str:
    return f"ix_{table}_{column}_trgm"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for table, columns in SEARCHED.items():
            for column in columns:
                op.execute(
                    f"CREATE INDEX {_trgm_index(table, column)} ON {table} "
                    f"USING gin ({column} gin_trgm_ops)"
                )
    else:
        for table, columns in SEARCHED.items():
            _sqlite_search_table(table, columns)
    op.execute(sa.text("UPDATE schema_info SET value = '2' WHERE key = 'schema_version'"))


def _sqlite_search_table(table: str, columns: tuple[str, ...]) -> None:
    fts = f"{table}_search"
    listed = ", ".join(columns)
    new = ", ".join(f"new.{c}" for c in columns)
    op.execute(f"CREATE VIRTUAL TABLE {fts} USING fts5({listed}, tokenize='trigram')")
    op.execute(f"INSERT INTO {fts} (rowid, {listed}) SELECT rowid, {listed} FROM {table}")
    op.execute(
        f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN "
        f"INSERT INTO {fts} (rowid, {listed}) VALUES (new.rowid, {new}); END"
    )
    op.execute(
        f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN "
        f"DELETE FROM {fts} WHERE rowid = old.rowid; END"
    )
    changes = ", ".join(f"{c} = new.{c}" for c in columns)
    op.execute(
        f"CREATE TRIGGER {fts}_update AFTER UPDATE OF {listed} ON {table} BEGIN "
        f"UPDATE {fts} SET {changes} WHERE rowid = old.rowid; END"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, columns in SEARCHED.items():
            for column in columns:
                op.execute(f"DROP INDEX IF EXISTS {_trgm_index(table, column)}")
    else:
        for table in SEARCHED:
            for suffix in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_search_{suffix}")
            op.execute(f"DROP TABLE IF EXISTS {table}_search")
    op.execute(sa.text("UPDATE schema_info SET value = '1' WHERE key = 'schema_version'"))
