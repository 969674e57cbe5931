"""The JSON column tables of ``/cycles`` and ``/steps_and_cycles``, decoded for both clients.

The request is the generated operation's; the body is decoded straight from JSON (as list pages
are) by :func:`~ionworks._dataframe.decode_json`, not by the generated parser's ``json.loads``
and models, which were most of a client's CPU for a table of a few thousand numbers. What the
generated models require is required here too: an object holding each table as an object.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from ._dataframe import columns_to_frame, decode_json
from .errors import IonworksError


def column_tables(
    content: bytes, keys: tuple[str, ...], api_url: str
) -> tuple[dict[str, Any], ...]:
    """The tables ``keys`` of a JSON table answer, each a ``{column: [values]}`` dict; a body
    that is not such an answer is blamed on the server at ``api_url``."""
    try:
        body = decode_json(content)
        tables = tuple(body[key] for key in keys)
        if not all(isinstance(table, dict) for table in tables):
            raise TypeError(f"{', '.join(keys)} must be JSON objects of columns")
    except (ValueError, KeyError, TypeError) as exc:
        raise IonworksError(
            f"The server at {api_url} sent a response this client could not "
            f"understand ({type(exc).__name__}: {exc}). Is IONWORKS_API_URL pointing at an "
            "Ionworks API?"
        ) from exc
    return tables


def column_frames(content: bytes, keys: tuple[str, ...], api_url: str) -> tuple[pl.DataFrame, ...]:
    """:func:`column_tables` as polars frames."""
    return tuple(columns_to_frame(table) for table in column_tables(content, keys, api_url))


__all__ = ["column_frames", "column_tables"]
