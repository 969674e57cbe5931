"""List pages read as the database stores them, each value converted once, straight to its wire form.

A page of 1,000 rows read through SQLAlchemy's types decodes every JSON column with
``json.loads`` and parses every timestamp to a ``datetime`` (a regular expression per value on
SQLite), only for the API view to format the timestamps back to text: about half the time of a
1,000-row name search at 1,000,000 specifications. Here JSON columns are read as their stored
text (``CAST(... AS TEXT)``) and timestamps without SQLAlchemy's processing, then:

* JSON text is decoded with ``json.loads``, as SQLAlchemy's ``JSON`` type does (so big integers
  and the values decoded are the same), with ``{}`` and ``[]`` (most stored values) short-cut;
* a timestamp in SQLAlchemy's SQLite storage form (``YYYY-MM-DD HH:MM:SS.ffffff``) is rewritten
  to :func:`.jsonio.format_ts`'s text without making a ``datetime``; any other text is parsed by
  the dialect's own ``DateTime`` processor first, and a ``datetime`` (what psycopg returns) is
  formatted as is. Both give exactly what ``format_ts`` gives for the value SQLAlchemy would read.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Select, String, Text, cast, type_coerce
from sqlalchemy.engine import Dialect

from .jsonio import format_ts

__all__ = ["RAW_JSON", "RAW_TIMESTAMP", "json_value", "kind_of", "raw_select", "timestamp_text"]

RAW_JSON = "json"
RAW_TIMESTAMP = "timestamp"


def kind_of(column: Any) -> str | None:
    """How :func:`raw_select` reads ``column``: as JSON text, an unprocessed timestamp, or as is."""
    if isinstance(column.type, JSON):
        return RAW_JSON
    if isinstance(column.type, DateTime):
        return RAW_TIMESTAMP
    return None


def raw_select(query: Select[Any]) -> Select[Any]:
    """``query`` with its JSON columns read as text and its timestamps unprocessed (same names)."""
    columns: list[Any] = []
    for column in query.selected_columns:
        kind = kind_of(column)
        if kind == RAW_JSON:
            columns.append(cast(column, Text).label(column.key))
        elif kind == RAW_TIMESTAMP:
            columns.append(type_coerce(column, String()).label(column.key))
        else:
            columns.append(column)
    return query.with_only_columns(*columns, maintain_column_froms=True)


def json_value(raw: Any) -> Any:
    """A JSON column's value from its stored text (what SQLAlchemy's ``JSON`` type reads)."""
    if raw is None:
        return None
    if not isinstance(raw, str):  # a driver that decoded it already
        return raw
    if raw == "{}":
        return {}
    if raw == "[]":
        return []
    return json.loads(raw)


def timestamp_text(dialect: Dialect) -> Callable[[Any], str | None]:
    """The function turning an unprocessed timestamp of ``dialect`` into ``format_ts``'s text."""
    parse = DateTime().dialect_impl(dialect).result_processor(dialect, None)

    def text(raw: Any) -> str | None:
        if isinstance(raw, str):
            if len(raw) == 26 and raw[10] == " " and raw[19] == "." and raw[20:].isdigit():
                fraction = raw[20:]
                second = raw[11:19]
                if fraction == "000000":
                    return f"{raw[:10]}T{second}Z"
                return f"{raw[:10]}T{second}.{fraction}Z"
            raw = parse(raw) if parse is not None else datetime.fromisoformat(raw)
        return format_ts(raw)

    return text
