"""Connection limits uvicorn does not have: a request-head timeout and a cap on open connections.

uvicorn's h11 protocol waits forever for a request head that never completes (its keep-alive
timeout stops as soon as one byte arrives), so 1,500 clients sending half a head held 1,500
sockets open indefinitely. :func:`guarded_protocol` subclasses the protocol uvicorn would use:

* every connection must deliver a complete request head within ``header_timeout_s`` of opening,
  and of each response on a kept-alive connection, or it is closed;
* beyond ``max_connections`` open connections, a new one is closed as soon as it is accepted
  (uvicorn's ``limit_concurrency`` only answers 503 once a head has arrived, so it cannot stop
  stalled connections piling up).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["guarded_protocol"]

logger = logging.getLogger("ionworks_server.connections")

_WARN_EVERY_S = 10.0


class _GuardedH11Protocol(H11Protocol):
    """H11Protocol with a request-head deadline and a connection cap (set by the factory)."""

    header_timeout_s: float = 10.0
    max_connections: int = 1000
    _last_warning = 0.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            self._warn(f"more than {self.max_connections} connections open; closing new ones")
            transport.abort()
            return
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # the head is in: the app takes over
            self._cancel_head_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_head_timer()  # the next request on this connection gets the same deadline

    def _arm_head_timer(self) -> None:
        self._cancel_head_timer()
        self._head_timer = self.loop.call_later(self.header_timeout_s, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        waiting = self.conn.their_state is h11.IDLE and (
            self.cycle is None or self.cycle.response_complete
        )
        if waiting and not self.transport.is_closing():
            logger.debug("closing a connection: no complete request head within the timeout")
            self.transport.abort()

    @classmethod
    def _warn(cls, message: str) -> None:
        now = time.monotonic()
        if now - cls._last_warning >= _WARN_EVERY_S:
            cls._last_warning = now
            logger.warning(message)


def guarded_protocol(header_timeout_s: float, max_connections: int) -> type[asyncio.Protocol]:
    """An HTTP protocol class for ``uvicorn.Config(http=...)`` with these limits."""
    if header_timeout_s <= 0:
        raise ValueError("the header timeout must be a positive number of seconds")
    if max_connections < 1:
        raise ValueError("the connection limit must be at least 1")
    return type(
        "GuardedH11Protocol",
        (_GuardedH11Protocol,),
        {"header_timeout_s": header_timeout_s, "max_connections": max_connections},
    )
