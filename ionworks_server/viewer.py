"""The browser viewer at ``/viewer/``: its static assets, and the overview route it plots from.

The page itself (``viewer/`` in the repository, built by ``make setup`` into ``viewer_static/``)
talks to the public API like any client. Two things it needs are not in the public API and are
declared in ``openapi.yaml`` under the ``local`` tag, authenticated and organisation-scoped like
every route: the decimated overview of a time series here, and SQL in :mod:`.viewer_sql`.

The overview answers the first paint of a long series with at most ``points`` points per signal
(the min/max of consecutive row buckets, as ``ionworks.plotting.decimate_minmax`` does), and
signed *relative* links to the measurement's parquet files: the browser then reads a zoomed
window of the time series itself with HTTP range requests, from the page's own origin whatever
address the server was reached by (a signature covers the path, not the host).
"""

from __future__ import annotations

import math
import mimetypes
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from starlette.datastructures import QueryParams
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from ionworks.data.columns import CURRENT, TEMPERATURE, TIME, VOLTAGE

from .context import Call
from .errors import bad_parameter, not_found
from .filters import single
from .jsonio import json_response
from .measurements import _processed
from .viewer_overview import overview_of
from .viewer_sql import run_sql

__all__ = ["ASSETS_DIR", "LOCAL_OPERATIONS", "ViewerAssets", "overview"]

ASSETS_DIR = Path(__file__).resolve().parent / "viewer_static"
PREFIX = "/viewer"
PLOTTED = (VOLTAGE, CURRENT, TEMPERATURE)
"""The signals the viewer plots against time, in panel order (those the file has)."""
TABLE_FILES = ("time_series", "steps", "cycles")

CSP = (
    "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; "
    "img-src 'self' data: blob:; connect-src 'self' data:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
"""Same-origin scripts, styles and requests only; no inline script, no eval, no framing.

``'wasm-unsafe-eval'`` lets the page compile the WebAssembly zstd decoder it ships (parquet
pages are zstd): it allows WebAssembly, never JavaScript ``eval``. ``data:`` in ``connect-src``
is how that decoder reads its own inline bytes; it reaches no host.
"""
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}
MISSING_ASSETS = (
    "The viewer's assets are not built. Run `make setup` in the repository (it needs Node.js 20 "
    "and npm), or `npm ci && npm run build` in viewer/, then reload this page."
)


class ViewerAssets:
    """ASGI middleware serving ``/viewer/`` from :data:`ASSETS_DIR`; every other path passes on.

    Not a route: the routing table holds exactly the operations of ``openapi.yaml``. Only files
    that exist directly in the assets directory are served (no subdirectories, no ``..``).
    """

    def __init__(self, app: ASGIApp, assets: Path = ASSETS_DIR) -> None:
        self.app = app
        self.assets = assets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path != PREFIX and not path.startswith(PREFIX + "/"):
            await self.app(scope, receive, send)
            return
        response = self._response(scope["method"], path)
        await response(scope, receive, send)

    def _response(self, method: str, path: str) -> Response:
        if method not in ("GET", "HEAD"):
            return _page(405, "Method not allowed: the viewer's files are read with GET.")
        if path == PREFIX:
            return Response(status_code=308, headers={**SECURITY_HEADERS, "Location": "/viewer/"})
        name = path[len(PREFIX) + 1 :] or "index.html"
        if not (self.assets / "index.html").is_file():
            return _page(503, MISSING_ASSETS)
        if "/" in name or name.startswith(".") or not (self.assets / name).is_file():
            return _page(404, f"No viewer file {name!r}; open /viewer/")
        media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if media_type.startswith("text/") or media_type.endswith("javascript"):
            media_type += "; charset=utf-8"
        body = (self.assets / name).read_bytes()
        return Response(body, media_type=media_type, headers=SECURITY_HEADERS)


def _page(status: int, message: str) -> Response:
    """A plain-text answer (never HTML built from the request)."""
    return Response(
        message + "\n", status_code=status, media_type="text/plain", headers=SECURITY_HEADERS
    )


# -- the overview route ------------------------------------------------------------------


def _number(params: QueryParams, name: str) -> float | None:
    raw = single(params, name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise bad_parameter(name, f"Invalid value for {name!r}: {raw!r} is not a finite number")
    return value


def _points(params: QueryParams) -> int:
    raw = single(params, "points")
    if raw is None:
        return 1000
    if not raw.isdigit() or not 16 <= int(raw) <= 5000:
        raise bad_parameter(
            "points", f"Invalid value for 'points': {raw!r}; use an integer between 16 and 5000"
        )
    return int(raw)


def _links(call: Call, measurement_id: str) -> dict[str, Any]:
    """Signed links (path and query only: same origin as the page) and sizes of the tables."""
    storage = call.ctx.storage
    ttl = call.ctx.settings.get_url_ttl_s
    links: dict[str, Any] = {}
    for table in TABLE_FILES:
        # The local copy (object storage: fetched on demand), served by our own /storage route:
        # the page reads it from its own origin, which a presigned link to a bucket is not.
        path = storage.local_object("measurements", measurement_id, f"{table}.parquet")
        if path.is_file():
            url = storage.signed_url("", "GET", "measurements", measurement_id, path.name, ttl)
            links[table] = {"url": url, "size": path.stat().st_size}
    return links


def overview(call: Call) -> Response:
    """``GET /cell_measurements/{id}/time_series/overview``: decimated signals and file links."""
    params = call.request.query_params
    points = _points(params)
    start, end = _number(params, "start"), _number(params, "end")
    row = _processed(call)
    path = call.ctx.storage.local_object("measurements", row.id, "time_series.parquet")
    if not path.is_file():
        raise not_found("stored_object", f"{row.id}/time_series.parquet", "Stored object")
    names = pq.read_schema(path).names
    columns = [c for c in PLOTTED if c in names]
    result = overview_of(path, TIME, columns, points, start, end)
    body = {
        "rows": result.rows,
        "window_rows": result.window_rows,
        "time_range": list(result.time_range) if result.time_range else None,
        "columns": columns,
        "series": {
            c: {"time": x.tolist(), "values": y.tolist()} for c, (x, y) in result.series.items()
        },
        "files": _links(call, row.id),
    }
    return json_response(body)


LOCAL_OPERATIONS: tuple[tuple[str, str, str, Any, bool], ...] = (
    (
        "get_time_series_overview",
        "GET",
        "/cell_measurements/{cell_measurement_id}/time_series/overview",
        overview,
        False,
    ),
    ("run_measurement_sql", "POST", "/cell_measurements/{cell_measurement_id}/sql", run_sql, True),
)
"""(operation id, method, path, handler, has a JSON body): the ``local`` operations of the spec."""
