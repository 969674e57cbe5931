"""One id per request, sent back as ``X-Request-Id`` on every response and named in error logs.

A user who reports "this call failed" can quote the id their client shows
(``APIStatusError.request_id``) and the operator finds the matching log line. An id the caller
sends is kept when it is well formed, so a proxy or the caller's own tracing can follow the call
through; anything else (too long, control characters such as CR/LF, non-ASCII) is replaced by a
fresh random id, so a header value can never be used to forge log lines or response headers.
"""

from __future__ import annotations

import re
import secrets
from contextvars import ContextVar
from typing import Final

from starlette.types import Message, Receive, Scope, Send

from .middleware import HttpMiddleware

__all__ = ["HEADER", "MAX_LENGTH", "RequestIdMiddleware", "accept", "current"]

HEADER: Final = "x-request-id"
MAX_LENGTH: Final = 128
"""Long enough for a UUID, a W3C trace id or a prefixed id; short enough for a log line."""

_WELL_FORMED = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._:+/=-]{{0,{MAX_LENGTH - 1}}}")
_current: ContextVar[str | None] = ContextVar("ionworks_server_request_id", default=None)


def accept(raw: bytes | None) -> str:
    """The caller's id when it is well formed (printable ASCII of a small set), else a new one."""
    if raw is not None:
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:
            text = ""
        if _WELL_FORMED.fullmatch(text):
            return text
    return secrets.token_hex(16)


def current() -> str | None:
    """The id of the request being served (None outside a request)."""
    return _current.get()


def _incoming(scope: Scope) -> bytes | None:
    """The raw value of the request's ``X-Request-Id`` (the first one if repeated)."""
    wanted = HEADER.encode("ascii")
    for name, value in scope.get("headers", ()):
        if name.lower() == wanted:
            return bytes(value)
    return None


class RequestIdMiddleware(HttpMiddleware):
    """Give each HTTP request its id and add the header to whatever response leaves the app.

    It sits outside every other middleware, so the router's 404/405s and the catch-all's 500s
    carry the header too.
    """

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = accept(_incoming(scope))
        header = (HEADER.encode("ascii"), request_id.encode("ascii"))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", ()) if h[0].lower() != header[0]]
                message = {**message, "headers": [*headers, header]}
            await send(message)

        token = _current.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _current.reset(token)
