"""A wall-clock deadline for a whole API call, enforced on every socket operation.

httpx timeouts apply to each operation: a read that gets one byte before its timeout starts the
clock again, so a server sending one byte every 2 s held a call with ``timeout=3`` for 72 s. Here
every connect, read and write of the call's thread is given at most the time left until the
call's deadline (set by :class:`~ionworks._retry.RetryTransport` for the whole call, retries
included), and fails with httpcore's own timeout errors once it has passed, which httpx maps to
``httpx.ConnectTimeout``/``ReadTimeout``/``WriteTimeout`` as usual.

Sync httpcore performs a request's socket I/O in the thread that made the request, so the
deadline travels in a context variable of that thread.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import httpcore
import httpx

_deadline: ContextVar[float | None] = ContextVar("ionworks_call_deadline", default=None)


@contextmanager
def call_deadline(deadline: float | None) -> Iterator[None]:
    """Bound the socket operations of this thread by ``deadline`` (``time.monotonic`` seconds)."""
    token = _deadline.set(deadline)
    try:
        yield
    finally:
        _deadline.reset(token)


def bounded(timeout: float | None, error: type[Exception]) -> float | None:
    """``timeout`` cut to the time left before the current deadline; raise ``error`` if none."""
    deadline = _deadline.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise error("the call's deadline (timeout=) has passed")
    return left if timeout is None else min(timeout, left)


class DeadlineStream(httpcore.NetworkStream):
    """A network stream whose reads and writes never outlive the current call's deadline."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        wrapped = self._stream.start_tls(
            ssl_context, server_hostname, bounded(timeout, httpcore.ConnectTimeout)
        )
        return DeadlineStream(wrapped)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's network backend, with connections made of :class:`DeadlineStream`."""

    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self._backend = backend

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_tcp(
            host,
            port,
            bounded(timeout, httpcore.ConnectTimeout),
            local_address=local_address,
            socket_options=socket_options,
        )
        return DeadlineStream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_unix_socket(
            path, bounded(timeout, httpcore.ConnectTimeout), socket_options=socket_options
        )
        return DeadlineStream(stream)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def deadline_transport(**options: Any) -> httpx.HTTPTransport:
    """httpx's default transport with :class:`DeadlineBackend` under its connection pool.

    httpx offers no argument for the network backend, so it is set on the pool it built
    (``tests/test_client_hardening.py`` checks this still happens with the installed httpx).
    """
    transport = httpx.HTTPTransport(**options)
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if isinstance(backend, httpcore.NetworkBackend):
        pool._network_backend = DeadlineBackend(backend)  # type: ignore[union-attr]
    return transport
