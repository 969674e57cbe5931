"""HTTP side of storage: signed GET with byte ranges, signed PUT streamed to disk atomically.

No API key is read here; the URL's signature is the authorisation (see :mod:`.storage`). A PUT
is only accepted while the upload's reservation is open, so once a measurement is confirmed its
staged files can no longer be replaced.

A PUT and ``confirm-upload`` are ordered through the database's lock of the upload: the PUT
creates and locks its temp file first, then checks the reservation in a write transaction. Either that check
runs first, and confirm (whose check, move and commit are one write transaction) sees the locked
temp file and answers 409 ``UPLOAD_IN_PROGRESS``; or confirm committed first, and the PUT is
refused before it reads the body. No bytes are ever accepted and then dropped.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from pathlib import Path
from typing import Any, BinaryIO

import anyio
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from . import request_id
from .context import AppContext
from .db import read, upload_reservations, utcnow, write
from .errors import ApiError, bad_parameter, forbidden, not_found, payload_too_large
from .jsonio import json_response
from .storage import (
    SERVED_AREAS,
    WHOLE_READ,
    WHOLE_READ_BUDGET,
    PartFile,
    ShortRead,
    http_date,
    iter_span,
    parse_range,
    read_span,
)

__all__ = ["storage_get", "storage_put"]

R = upload_reservations
log = logging.getLogger("ionworks_server.storage")


def _target(request: Request) -> tuple[AppContext, str, str, str, str, Path]:
    """Validated (context, area, object id, filename, signed path, file path) of a storage
    request."""
    ctx: AppContext = request.app.state.ctx
    area = request.path_params["area"]
    object_id = request.path_params["object_id"]
    filename = request.path_params["filename"]
    if area not in SERVED_AREAS:
        raise bad_parameter(
            "area", f"Invalid storage area {area!r}; use one of {', '.join(SERVED_AREAS)}"
        )
    file_path = ctx.storage.object_path(area, object_id, filename)  # 400 unless plain names
    return ctx, area, object_id, filename, f"/storage/{area}/{object_id}/{filename}", file_path


async def storage_get(request: Request) -> Response:
    """``GET /storage/{area}/{id}/{name}``: 200 whole, 206 for one range, 416 outside it.

    A span of up to :data:`WHOLE_READ` bytes is read in one worker-thread call and sent in one
    piece, while the spans held so in this process stay under :data:`WHOLE_READ_BUDGET`; any
    other is streamed in chunks. Streaming costs a thread hop and a pass through every
    middleware's ``send`` per chunk: server CPU of a 2.5 MB series, 6.2 ms in 256 KiB chunks,
    5.0 ms in 1 MiB chunks, 3.3 ms whole. The budget keeps the memory of many slow readers
    bounded, as streaming does.
    """
    ctx, area, object_id, filename, path, file_path = _target(request)
    ctx.storage.verify("GET", path, dict(request.query_params))
    opened = await run_in_threadpool(_open, file_path)
    if opened is None:
        raise not_found("stored_object", f"{area}/{object_id}/{filename}", "Stored object")
    with contextlib.ExitStack() as stack:
        stack.callback(opened.close)  # closed here unless a stream takes it over
        response = await _answer(request, opened, stack, f"{area}/{object_id}/{filename}")
    return response


def _log_short(name: str, short: ShortRead) -> None:
    """One line for an object found shorter than the size its response declared."""
    log.error(
        "storage GET %s: the file is shorter than its size when the response started "
        "(expected %d bytes, found %d; cut short on disk meanwhile, or damaged): response "
        "ended early (request_id=%s)",
        name,
        short.expected,
        short.found,
        request_id.current(),
    )


class _Held:
    """Bytes of whole-read bodies not yet sent. A lock, because one process may serve apps on
    several event loops (tests, an embedding program) and ``+=`` is not atomic across threads."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0
        self._lock = threading.Lock()

    def take(self, size: int) -> bool:
        """Count ``size`` more bytes if they fit under the limit."""
        with self._lock:
            if self.held + size > self.limit:
                return False
            self.held += size
            return True

    def release(self, size: int) -> None:
        with self._lock:
            self.held -= size


_HELD = _Held(WHOLE_READ_BUDGET)


class _HeldBody(Response):
    """A whole-read body, counted in :data:`_HELD` as ``taken`` bytes until it has left the
    process (or sending failed, or the client went away).

    The server's ``send`` hands the body to the transport and returns at once; the transport
    keeps it until a slow reader has taken it. So the end of the body is sent apart: the server
    waits for the transport to drain before it accepts that message, and only then are the
    bytes given back (counting them only until the first ``send`` returned, 24 readers that
    never read were all read whole while the budget counted 0; a server's RSS with 48 such
    readers of an 8 MiB object rose by 282 MiB, now by 70). Our reference to the body is
    dropped once it is handed over: Python 3.11's transport keeps a copy of what it could not
    send, so keeping ours too held each body twice.
    """

    def __init__(self, body: bytes, taken: int, **kwargs: Any) -> None:
        super().__init__(body, **kwargs)
        self.taken = taken  # what take() counted: a file cut short meanwhile reads fewer bytes
        self.complete = len(body) == taken  # else the end is never sent: the client sees a cut

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": self.status_code,
                    "headers": self.raw_headers,
                }
            )
            body, self.body = self.body, b""
            await send({"type": "http.response.body", "body": body, "more_body": True})
            del body
            if self.complete:
                await send({"type": "http.response.body", "body": b""})
        finally:
            _HELD.release(self.taken)


def _open(file_path: Path) -> BinaryIO | None:
    """The object opened for reading (``None`` when absent); headers and body come from this
    one handle, so an object replaced meanwhile cannot mix two versions."""
    try:
        return file_path.open("rb")
    except FileNotFoundError:
        return None


class _StreamedSpan(StreamingResponse):
    """A streamed span that, when the file ends early (:class:`ShortRead`), logs one line and
    never sends the end of the body, so the server closes the connection and the client sees
    a body cut short (sending the end would be a protocol error: a traceback in the log)."""

    def __init__(self, chunks: Any, name: str, **kwargs: Any) -> None:
        super().__init__(chunks, **kwargs)
        self.name = name

    async def stream_response(self, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        try:
            async for chunk in self.body_iterator:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except ShortRead as short:
            _log_short(self.name, short)
            return
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _answer(
    request: Request, fh: BinaryIO, stack: contextlib.ExitStack, name: str
) -> Response:
    """The response for an opened object: headers from its ``fstat``, then its bytes."""
    stat = os.fstat(fh.fileno())
    size = stat.st_size
    headers = {
        "Accept-Ranges": "bytes",
        "Last-Modified": http_date(stat.st_mtime),
        "ETag": f'"{stat.st_mtime_ns:x}-{size:x}"',
        "Cache-Control": "private, max-age=0",
    }
    byte_range = parse_range(request.headers.get("range"), size)
    first, length, status = 0, size, 200
    if byte_range is not None:
        first, length, status = byte_range.first, byte_range.length, 206
        headers["Content-Range"] = byte_range.content_range()
    headers["Content-Length"] = str(length)
    if request.method == "HEAD":
        return Response(
            None, status_code=status, headers=headers, media_type="application/octet-stream"
        )
    if length <= WHOLE_READ and _HELD.take(length):
        try:
            body = await run_in_threadpool(read_span, fh, first, length)
        except BaseException:
            _HELD.release(length)
            raise
        if len(body) < length:
            _log_short(name, ShortRead(length, len(body)))
        return _HeldBody(
            body, length, status_code=status, headers=headers, media_type="application/octet-stream"
        )
    stack.pop_all()  # the stream closes the handle when it ends
    return _StreamedSpan(
        iter_span(fh, first, length),
        name,
        status_code=status,
        headers=headers,
        media_type="application/octet-stream",
    )


def _reservation_open(
    ctx: AppContext, object_id: str, filename: str, *, lock: bool = False
) -> bool:
    """Whether a PUT of ``filename`` is accepted; ``lock`` reads under the write lock, so the
    answer is ordered against a confirm that is moving the staged files right now (both hold
    the upload's key: ``uploads.py``)."""
    opened = write(ctx.engine, narrow=(f"upload:{object_id}",)) if lock else read(ctx.engine)
    with opened as conn:
        row = conn.execute(
            select(R.c.measurement_type, R.c.filenames, R.c.expires_at).where(R.c.id == object_id)
        ).first()
    if row is None or row.expires_at < utcnow():
        return False
    if row.measurement_type == "file":
        return filename in row.filenames
    return filename in ("time_series.parquet", "steps.parquet")


def _no_longer_accepted() -> ApiError:
    return forbidden(
        "This upload URL is no longer accepted: the upload was already confirmed, deleted or its "
        "reservation expired; call initiate-upload again"
    )


def _discard(part: PartFile, refused: bool) -> None:
    """Release the temp file; after a refusal also drop the staged directory the PUT created
    (only if empty: files of a live reservation are never touched here)."""
    part.close()
    if refused:
        with contextlib.suppress(OSError):
            part.final.parent.rmdir()


async def _receive(request: Request, part: PartFile, limit: int) -> int:
    """Stream the body into the temp file; 413 as soon as it passes ``limit``."""
    size = 0
    fh = anyio.wrap_file(part.file)
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise payload_too_large(limit)
        await fh.write(chunk)
    return size


async def storage_put(request: Request) -> Response:
    """``PUT /storage/uploads/{id}/{name}``: stream to a locked temp file, then rename into place."""
    ctx, area, object_id, filename, path, final = _target(request)
    ctx.storage.verify("PUT", path, dict(request.query_params))
    if area != "uploads" or not await run_in_threadpool(
        _reservation_open, ctx, object_id, filename
    ):
        raise _no_longer_accepted()
    limit = ctx.settings.max_upload_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise payload_too_large(limit)
    try:
        part = await run_in_threadpool(ctx.storage.open_part, final)
    except FileNotFoundError:  # the staged dir went (confirm, delete) while we created it
        raise _no_longer_accepted() from None
    refused = True
    try:
        if not await run_in_threadpool(_reservation_open, ctx, object_id, filename, lock=True):
            raise _no_longer_accepted()
        refused = False
        size = await _receive(request, part, limit)
        try:
            await run_in_threadpool(part.commit)
        except FileNotFoundError:  # the upload was deleted or expired while the body streamed
            refused = True
            raise _no_longer_accepted() from None
    except ClientDisconnect:
        return Response(status_code=400)
    finally:
        await run_in_threadpool(_discard, part, refused)
    body: dict[str, Any] = {"path": f"{area}/{object_id}/{filename}", "size": size}
    return json_response(body)
