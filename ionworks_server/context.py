"""What a request handler gets: the app-wide context and the authenticated call.

Handlers are plain synchronous functions ``handler(call) -> Response`` run in a worker thread by
:func:`ionworks_server.app.api_route`, so database and file work never blocks the event loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from starlette.requests import Request

from .auth import Caller
from .config import Settings
from .storage import Storage

if TYPE_CHECKING:
    from .worker import Worker

__all__ = ["AppContext", "Call", "local_base_url"]


@dataclass
class AppContext:
    """Process-wide state, created once by the app factory."""

    settings: Settings
    engine: Engine
    storage: Storage
    worker: Worker


@dataclass
class Call:
    """One authenticated API request."""

    ctx: AppContext
    caller: Caller
    request: Request
    body: dict[str, Any]

    def path(self, name: str) -> str:
        """A path parameter."""
        return str(self.request.path_params[name])

    @property
    def base_url(self) -> str:
        """Base of absolute signed URLs: the configured public URL, else the server's own address.

        Never the ``Host`` header of a direct client: a signed link pointing wherever the request
        said would hand a valid signature to that host. Behind ``--trust-proxy`` the proxy's
        ``Host`` and ``X-Forwarded-Proto`` (applied to the scope by uvicorn) are used.
        """
        settings = self.ctx.settings
        if settings.public_url:
            return settings.public_url
        if settings.trust_proxy:
            return str(self.request.base_url).rstrip("/")
        return local_base_url(self.request.scope)


def local_base_url(scope: Any) -> str:
    """``scheme://host:port`` of the socket the connection arrived on (IPv6 in brackets)."""
    scheme = scope.get("scheme", "http")
    server = scope.get("server")
    if not server:
        return f"{scheme}://localhost"
    host, port = server[0], server[1]
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}.get(scheme)
    return f"{scheme}://{host}" if port in (None, default) else f"{scheme}://{host}:{port}"
