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

__all__ = ["AppContext", "Call"]


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
        """Scheme, host and port the client used, for absolute signed URLs."""
        return str(self.request.base_url).rstrip("/")
