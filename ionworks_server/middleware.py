"""The frame of this server's pure-ASGI middlewares: HTTP requests only, anything else passes.

Pure ASGI rather than Starlette's ``BaseHTTPMiddleware``: it adds no task per request and can
see (and amend) the response start of every answer, the router's and the catch-all's included.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["HttpMiddleware"]


class HttpMiddleware:
    """Run :meth:`handle` for HTTP requests; lifespan and other scopes go straight through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.handle(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """One HTTP request; the default passes it on unchanged."""
        await self.app(scope, receive, send)
