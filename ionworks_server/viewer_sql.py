"""``POST /cell_measurements/{id}/sql``: the viewer's SQL box, run on the server.

The query goes through :func:`ionworks.data.sql.sql`, the function behind the Python client's
``detail.sql``, over lazy scans of the measurement's three parquet files (``time_series``,
``steps``, ``cycles``): the same dialect, the same read-only rule and the same numbers in the
browser as in Python, without shipping a SQL engine or a large file to the page.

Limits: at most ``limit`` rows are returned (the query is wrapped in an outer ``LIMIT`` so
polars stops early when it can), and a query still running after :data:`TIME_LIMIT_S` is answered
with a 400 saying so. Polars cannot interrupt a running plan, so the query finishes in the
background; at most :data:`MAX_RUNNING` queries run at once (more get a 429), so slow queries
cannot pile up.
"""

from __future__ import annotations

import math
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import polars as pl
from starlette.responses import Response

from ionworks.data.errors import DataError
from ionworks.data.sql import sql

from .context import Call
from .errors import ApiError, bad_request
from .jsonio import json_response
from .measurements import _processed

__all__ = ["MAX_RUNNING", "TIME_LIMIT_S", "run_sql"]

TIME_LIMIT_S = float(os.environ.get("IONWORKS_SERVER_SQL_TIME_LIMIT_S", "10"))
MAX_RUNNING = 2
DEFAULT_LIMIT = 1000
TABLES = ("time_series", "steps", "cycles")

_slots = threading.BoundedSemaphore(MAX_RUNNING)
_pool = ThreadPoolExecutor(max_workers=MAX_RUNNING, thread_name_prefix="viewer-sql")


def _frames(call: Call, measurement_id: str) -> dict[str, pl.LazyFrame]:
    storage = call.ctx.storage
    frames: dict[str, pl.LazyFrame] = {}
    for table in TABLES:
        path = storage.local_object("measurements", measurement_id, f"{table}.parquet")
        if path.is_file():
            frames[table] = pl.scan_parquet(path)
    return frames


def _execute(query: str, limit: int, frames: dict[str, pl.LazyFrame]) -> pl.DataFrame:
    """The query with an outer LIMIT when polars accepts it as a subquery, else as written.

    Runs in the pool and releases its slot when done (even after the caller stopped waiting).
    """
    try:
        text = query.strip().rstrip(";").strip()
        if text.lower().startswith("select"):
            try:
                return sql(f"SELECT * FROM ({text}) AS q LIMIT {limit + 1}", **frames)
            except DataError:
                pass  # not expressible as a subquery: run it as written, for its own error
        return sql(query, **frames)
    finally:
        _slots.release()


def _json_columns(frame: pl.DataFrame) -> dict[str, list[Any]]:
    """Numbers, booleans and text as they are; any other type (dates, lists, ...) as text."""
    out: dict[str, list[Any]] = {}
    for name, dtype in frame.schema.items():
        column = frame[name]
        if not (dtype.is_numeric() or dtype == pl.Boolean or dtype == pl.String):
            column = column.cast(pl.String, strict=False)
        out[name] = column.to_list()
    return out


def run_sql(call: Call) -> Response:
    """Run the body's read-only ``query`` over the measurement's tables; at most ``limit`` rows."""
    query = call.body["query"]
    limit = int(call.body.get("limit", DEFAULT_LIMIT))
    row = _processed(call)
    frames = _frames(call, row.id)
    if not _slots.acquire(blocking=False):
        raise ApiError(
            429,
            "RATE_LIMITED",
            f"{MAX_RUNNING} SQL queries are already running on this server; "
            "wait for them to finish (or reach their time limit) and run the query again",
            {"running": MAX_RUNNING},
            headers={"Retry-After": str(math.ceil(TIME_LIMIT_S))},
        )
    started = time.perf_counter()
    future = _pool.submit(_execute, query, limit, frames)
    try:
        result = future.result(timeout=TIME_LIMIT_S)
    except FutureTimeout:
        raise bad_request(
            f"The query ran longer than the {TIME_LIMIT_S:g} s time limit; narrow it with WHERE, "
            "aggregate it, or query fewer rows",
            field="query",
        ) from None
    except DataError as exc:
        raise bad_request(str(exc), field="query") from None
    except BaseException as exc:  # polars panics derive from BaseException; still the query's fault
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        raise bad_request(f"SQL query failed: {exc}", field="query") from None
    elapsed_ms = (time.perf_counter() - started) * 1000
    truncated = result.height > limit
    result = result.head(limit)
    body = {
        "columns": result.columns,
        "types": [str(dtype) for dtype in result.dtypes],
        "data": _json_columns(result),
        "row_count": result.height,
        "truncated": truncated,
        "elapsed_ms": round(elapsed_ms, 1),
    }
    return json_response(body)
