"""SQL over named frames: ``sql("select ... from steps where ...", steps=steps)``.

Runs through polars' SQL context, so a query over a 10-million-row series costs a polars plan,
not a database. Read-only by construction: only ``SELECT`` and ``WITH ... SELECT`` are accepted,
because the frames belong to the caller (a measurement's tables) and a query must not look like
it could change them.
"""

from __future__ import annotations

import re
from typing import Any

import polars as pl

from .errors import DataError

__all__ = ["sql"]

_READ_ONLY = re.compile(r"^\s*(select|with)\b", re.I)
_COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/", re.S)


def _frame(name: str, value: Any) -> pl.DataFrame | pl.LazyFrame:
    """Polars frames as they are; anything else (pandas, column dicts) through ``pl.DataFrame``."""
    if isinstance(value, pl.DataFrame | pl.LazyFrame):
        return value
    try:
        return pl.DataFrame(value)
    except Exception as exc:  # any converter error names the table
        raise DataError(f"Table {name!r} could not be read as a DataFrame: {exc}") from exc


def sql(query: str, **frames: Any) -> pl.DataFrame:
    """Run a read-only SQL ``query`` over the keyword-named ``frames``; returns a polars frame.

    Raises:
        DataError: the query is not a single ``SELECT``/``WITH`` statement, names a table
            that was not passed, or polars cannot run it; the message says which.
    """
    if not isinstance(query, str):
        raise DataError(f"SQL query must be a string, got {type(query).__name__}.")
    text = _COMMENT.sub(" ", query).strip().rstrip(";").strip()
    if not _READ_ONLY.match(text):
        raise DataError(f"Only SELECT (or WITH ... SELECT) queries are allowed, got {query!r}.")
    if ";" in text:
        raise DataError(f"One statement per query, got {query!r}.")
    context = pl.SQLContext({name: _frame(name, value) for name, value in frames.items()})
    try:
        result = context.execute(text, eager=True)
    except Exception as exc:  # polars raises several types; the caller gets one, with the text
        tables = ", ".join(sorted(frames)) or "none"
        raise DataError(f"SQL query failed ({exc}); tables available: {tables}.") from exc
    return result
