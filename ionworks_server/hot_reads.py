"""One-row reads on the path of every request, without SQLAlchemy's per-statement overhead.

Every API request checks its (cached) key against its row, and every table download looks up
its measurement. Through a SQLAlchemy ``Connection`` each of those reads cost 0.3-0.8 ms of CPU
(building the statement, its cache key, the ``BEGIN``/``COMMIT`` events, the result set-up)
for a SELECT that SQLite answers in microseconds: on a 2-core machine where the server and a
fleet pull share the CPUs, that was a third of the server's CPU per redirect. Here the
statement is still written in Core against :mod:`.db`'s tables, compiled once per dialect
(SQLite's ``?`` or psycopg's ``%(name)s``), and run on a pooled DBAPI connection. One SELECT is
one consistent snapshot on both databases, so no explicit transaction is needed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, Select

__all__ = ["OneRow"]


class OneRow:
    """A Core query with bound parameters, run as raw DBAPI: the first row, or None."""

    def __init__(self, query: Select[Any]) -> None:
        self._query = query
        self._compiled: dict[str, tuple[str, tuple[str, ...] | None]] = {}

    def _sql(self, engine: Engine) -> tuple[str, tuple[str, ...] | None]:
        """The statement's text for ``engine``'s dialect and, for positional paramstyles, the
        order of its parameters (None: named parameters)."""
        dialect = engine.dialect
        key = f"{dialect.name}:{dialect.paramstyle}"
        found = self._compiled.get(key)
        if found is None:
            compiled = self._query.compile(dialect=dialect)
            order = tuple(compiled.positiontup or ()) if compiled.positional else None
            found = self._compiled[key] = (compiled.string, order)
        return found

    def first(self, engine: Engine, **values: Any) -> tuple[Any, ...] | None:
        """The first row for these parameter values (by bind name), as a plain tuple."""
        sql, order = self._sql(engine)
        params: Any = values if order is None else tuple(values[name] for name in order)
        connection = engine.raw_connection()  # from the pool; closing returns it (rolled back)
        try:
            cursor = connection.cursor()
            try:
                cursor.execute(sql, params)
                row = cursor.fetchone()
            finally:
                cursor.close()
        finally:
            connection.close()
        return None if row is None else tuple(row)
