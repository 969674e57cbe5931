"""The one error shape of the API, ``{error_code, message, detail}``, and the handlers that produce it.

Every 4xx/5xx leaves the server through here, including router 404/405s and unhandled exceptions,
so a client never meets a plain-text or HTML error body. Handlers raise :class:`ApiError` (or one of
the small helpers below); the messages name the parameter or resource and say how to fix the call.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from . import request_id
from .jsonio import json_response
from .middleware import HttpMiddleware

__all__ = [
    "ApiError",
    "CatchAllMiddleware",
    "api_error_handler",
    "bad_parameter",
    "bad_request",
    "conflict",
    "forbidden",
    "http_exception_handler",
    "not_found",
    "payload_too_large",
    "unsupported_media_type",
]

log = logging.getLogger("ionworks_server")


class ApiError(Exception):
    """An error the client should see, with its HTTP status and machine-readable code."""

    def __init__(
        self,
        status: int,
        error_code: str,
        message: str,
        detail: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message
        self.detail = detail
        self.headers = headers

    def to_response(self) -> Response:
        """Render as the standard error body."""
        body = {"error_code": self.error_code, "message": self.message, "detail": self.detail}
        return json_response(body, status=self.status, headers=self.headers)


def bad_request(message: str, **detail: Any) -> ApiError:
    """400 for an invalid body field or request; ``detail`` usually names the ``field``."""
    return ApiError(400, "BAD_REQUEST", message, detail or None)


def bad_parameter(parameter: str, message: str) -> ApiError:
    """400 for an invalid query/path parameter, with ``detail.parameter`` naming it."""
    return ApiError(400, "BAD_REQUEST", message, {"parameter": parameter})


def forbidden(message: str = "Missing or invalid API key") -> ApiError:
    """403 for missing/invalid credentials or a bad signature (this API never answers 401)."""
    return ApiError(403, "FORBIDDEN", message, None)


def not_found(resource_type: str, resource_id: str, label: str | None = None) -> ApiError:
    """404 that looks the same whether the id is missing or belongs to another organization."""
    what = label or resource_type.replace("_", " ").capitalize()
    return ApiError(
        404,
        "NOT_FOUND",
        f"{what} {resource_id!r} not found",
        {"resource_type": resource_type, "resource_id": resource_id},
    )


def conflict(message: str, **detail: Any) -> ApiError:
    """409 for duplicate names (``existing_id`` in the detail) or a busy resource."""
    return ApiError(409, "CONFLICT", message, detail or None)


def payload_too_large(max_bytes: int) -> ApiError:
    """413 naming the limit, so the caller knows how far to shrink the request."""
    mib = max_bytes / (1024 * 1024)
    return ApiError(
        413,
        "PAYLOAD_TOO_LARGE",
        f"Request body exceeds {mib:g} MiB",
        {"max_bytes": max_bytes},
    )


def unsupported_media_type(message: str) -> ApiError:
    """415 for a body that is not labelled ``application/json``."""
    return ApiError(415, "UNSUPPORTED_MEDIA_TYPE", message, {"header": "Content-Type"})


_STATUS_CODES = {
    400: "BAD_REQUEST",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    416: "RANGE_NOT_SATISFIABLE",
    429: "RATE_LIMITED",
}


async def api_error_handler(request: Request, exc: Exception) -> Response:
    """Render an :class:`ApiError` raised by a handler."""
    assert isinstance(exc, ApiError)
    return exc.to_response()


async def http_exception_handler(request: Request, exc: Exception) -> Response:
    """Render the router's own errors (unknown route 404, wrong method 405) in the standard shape."""
    assert isinstance(exc, HTTPException)
    code = _STATUS_CODES.get(exc.status_code, "BAD_REQUEST" if exc.status_code < 500 else "ERROR")
    if exc.status_code == 404:
        message = f"No route for {request.method} {request.url.path}; see openapi.yaml for the API"
        detail: dict[str, Any] | None = {"path": request.url.path}
    elif exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        message = f"Method {request.method} is not allowed on {request.url.path}; use {allowed}"
        detail = {"allowed_methods": [m.strip() for m in allowed.split(",") if m.strip()]}
    else:
        message = str(exc.detail)
        detail = None
    headers = dict(exc.headers) if exc.headers else None
    return ApiError(exc.status_code, code, message, detail, headers=headers).to_response()


class CatchAllMiddleware(HttpMiddleware):
    """Turn any unhandled exception into a 500 ``INTERNAL_ERROR`` with no internals in the body.

    The traceback goes to the server log instead. This sits inside Starlette's own error middleware
    so the exception is handled once (Starlette's would re-raise it to the ASGI server).
    """

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            log.exception(
                "Unhandled error on %s %s (request_id=%s)",
                scope.get("method"),
                scope.get("path"),
                request_id.current(),
            )
            if started:  # too late for an error body; let the server drop the connection
                raise
            response = ApiError(500, "INTERNAL_ERROR", "Internal server error", None).to_response()
            await response(scope, receive, send)
