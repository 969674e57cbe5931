"""Case-insensitive substring filters (``name=ilike.%x%``, the project list's ``q``) served by the
engines' own text indexes, with the results a plain scan gives.

The condition is always the engine's case-insensitive ``LIKE`` with ``\\`` as the escape
character (so both engines treat a backslash in a filter the same way: literally); ``%`` and
``_`` in a filter stay wildcards. An index only narrows the rows that ``LIKE`` then checks:

* PostgreSQL: ``pg_trgm`` GIN indexes on the searched columns (migration ``0002``); the planner
  uses them for ``ILIKE`` by itself.
* SQLite: FTS5 tables with the trigram tokenizer (``<table>_search``, kept in step by triggers,
  rowid = the row's rowid). Every literal run of three or more characters in the pattern must
  occur in the row, so ``rowid IN (... MATCH '"run" AND ...')`` is added; the tokenizer folds
  case at least as widely as ``lower()``, so it never drops a row ``LIKE`` would keep. A
  pattern without such a run (``%ab%``, ``%a_b%``) cannot use a trigram index and scans, as
  before.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, ColumnElement, and_, column, literal_column, select, table
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal

__all__ = [
    "ESCAPE",
    "SEARCHED",
    "ilike",
    "literal_runs",
    "match_query",
    "narrowed",
    "substring_pattern",
    "unindexed",
]

ESCAPE = "\\"

SEARCHED: dict[str, tuple[str, ...]] = {"cell_specifications": ("name",)}
"""The columns with a text index, by table (SQLite: ``<table>_search`` holds them).

Only the organization-wide list needs one: instances and measurements are listed under their
parent, whose index already narrows a search to a few rows."""

MIN_RUN = 3
"""Trigram indexes cannot serve shorter substrings."""


def literal_runs(pattern: str) -> list[str]:
    """The literal stretches of a ``LIKE`` pattern (escape ``\\``), split at ``%`` and ``_``."""
    runs: list[str] = []
    current: list[str] = []
    chars = iter(pattern)
    for char in chars:
        if char == ESCAPE:
            current.append(next(chars, ""))
        elif char in "%_":
            runs.append("".join(current))
            current = []
        else:
            current.append(char)
    runs.append("".join(current))
    return [run for run in runs if run]


def match_query(pattern: str, fts_column: str | None) -> str | None:
    """The FTS5 query every row matching ``pattern`` satisfies, or None (no run is long enough)."""
    runs = [run for run in literal_runs(pattern) if len(run) >= MIN_RUN]
    if not runs:
        return None
    phrases = " AND ".join('"' + run.replace('"', '""') + '"' for run in runs)
    return f"{fts_column} : ({phrases})" if fts_column else phrases


def substring_pattern(text: str) -> str:
    """A ``LIKE`` pattern (escape ``\\``) matching ``text`` anywhere, every character literal."""
    escaped = text.replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_")
    return f"%{escaped}%"


def ilike(col: Any, pattern: str, *, indexed: bool = False) -> ColumnElement[bool]:
    """``col ILIKE pattern ESCAPE '\\'``; with ``indexed``, narrowed by ``col``'s text index.

    ``pattern`` is in escaped form: :func:`substring_pattern`, or a user's filter with its
    backslashes doubled. Ask for the index only where the search is the selective part of the
    query (an organization-wide list): see :func:`unindexed`.
    """
    condition: ColumnElement[bool] = col.ilike(pattern, escape=ESCAPE)
    table_name = col.table.name
    if not indexed or col.name not in SEARCHED.get(table_name, ()):
        return condition
    query = match_query(pattern, col.name)
    if query is None:
        return condition
    return and_(condition, SqliteOnly(_fts_rowids(table_name, query)))


def narrowed(conditions: list[ColumnElement[bool]]) -> bool:
    """Whether one of ``conditions`` is narrowed by a text index (see :func:`unindexed`)."""
    return any(
        isinstance(getattr(part, "element", part), SqliteOnly)  # and_() wraps it in AsBoolean
        for condition in conditions
        for part in getattr(condition, "clauses", ())
    )


def unindexed(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    """``condition`` kept from choosing the SQLite index (``+(...)``); unchanged elsewhere.

    Without statistics SQLite prefers the organization's index to the text index's rowids, and
    then checks every row of the organization: the scan the index was there to avoid.
    """
    return SqliteUnindexed(condition)


def _fts_rowids(table_name: str, query: str) -> ColumnElement[bool]:
    fts = table(f"{table_name}_search", column("rowid"))
    candidates = select(fts.c.rowid).where(literal_column(fts.name).op("MATCH")(query))
    return literal_column(f"{table_name}.rowid").in_(candidates)


class _Wrapped(ColumnElement[bool]):
    """A condition compiled one way on SQLite and another elsewhere (by the subclass)."""

    type = Boolean()
    inherit_cache = True
    _is_implicitly_boolean = True
    _traverse_internals = [("clause", InternalTraversal.dp_clauseelement)]  # noqa: RUF012

    def __init__(self, clause: ColumnElement[bool]) -> None:
        self.clause = clause


class SqliteOnly(_Wrapped):
    """A condition applied on SQLite and compiled to ``true`` elsewhere (an index hint)."""

    inherit_cache = True


class SqliteUnindexed(_Wrapped):
    """A condition SQLite may not serve from an index (unary plus); as is elsewhere."""

    inherit_cache = True


@compiles(SqliteUnindexed)
def _as_is(element: SqliteUnindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return str(compiler.process(element.clause, **kw))


@compiles(SqliteUnindexed, "sqlite")
def _plus(element: SqliteUnindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return f"+({compiler.process(element.clause, **kw)})"


@compiles(SqliteOnly)
def _anywhere(element: SqliteOnly, compiler: SQLCompiler, **kw: Any) -> str:
    return "true"


@compiles(SqliteOnly, "sqlite")
def _on_sqlite(element: SqliteOnly, compiler: SQLCompiler, **kw: Any) -> str:
    return str(compiler.process(element.clause, **kw))
