"""The async client's sockets: an asyncio network backend for httpcore, and the transport over it.

Why not httpx's default: under asyncio it goes through anyio, which costs more CPU than the bytes
it moves. Each read and write opens a cancel scope, and before every request httpcore asks each
pooled connection whether its socket is readable, which anyio answers by building a dict of
socket attributes (a ``getpeername`` call included). On the fleet pull of
``scripts/measure_async_pull.py`` the async storage GETs took 1.6x the CPU of the sync client's;
over this backend, 1.0x. Here a read is a look at the bytes already received (the event loop's
transport reads eagerly into :class:`_Received`), with one future to wait on when there are none.

Only asyncio is served this way: under any other loop (trio) connections go through httpcore's
anyio backend, as before. Errors are httpcore's own types, which httpx maps as it maps anyio's.
"""

from __future__ import annotations

import asyncio
import collections
import ssl
from collections.abc import Iterable
from typing import Any, Final

import httpcore
import httpx
from httpcore._backends.base import SOCKET_OPTION
from httpcore._utils import is_socket_readable

HIGH_WATER: Final = 1 << 20
"""Received bytes held before the socket is no longer read (a slow reader of a large body must
not buffer all of it); reading resumes once they are down to a quarter of this."""
HAPPY_EYEBALLS_DELAY: Final = 0.25
"""Seconds before the next address of a host is tried alongside (anyio's and RFC 8305's value)."""


class _Received(asyncio.Protocol):
    """What the loop's transport received and not yet read, and who waits for it."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.chunks: collections.deque[bytes] = collections.deque()
        self.size = 0
        self.ended = False
        self.error: BaseException | None = None
        self._paused_reading = False
        self._paused_writing = False
        self._waiter: asyncio.Future[None] | None = None
        self._drain: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.chunks.append(data)
        self.size += len(data)
        if self.size > HIGH_WATER and not self._paused_reading and self.transport is not None:
            self._paused_reading = True
            self.transport.pause_reading()
        _wake(self._waiter)

    def eof_received(self) -> bool:
        self.ended = True
        _wake(self._waiter)
        return False  # close our side too: HTTP/1.1 has no use for a half-open connection

    def connection_lost(self, exc: Exception | None) -> None:
        self.ended = True
        self.error = exc
        _wake(self._waiter)
        _wake(self._drain)

    def pause_writing(self) -> None:
        self._paused_writing = True

    def resume_writing(self) -> None:
        self._paused_writing = False
        _wake(self._drain)

    def take(self, max_bytes: int) -> bytes:
        """Up to ``max_bytes`` of what was received (at least one byte: call when there is some)."""
        chunk = self.chunks.popleft()
        if len(chunk) > max_bytes:
            self.chunks.appendleft(chunk[max_bytes:])
            chunk = chunk[:max_bytes]
        self.size -= len(chunk)
        resume = self._paused_reading and self.size <= HIGH_WATER // 4 and not self.ended
        if resume and self.transport is not None:  # a closed TLS transport of 3.11 raises
            self._paused_reading = False
            self.transport.resume_reading()
        return chunk

    async def received(self, timeout: float | None) -> None:
        """Until a byte, the end of the stream or an error has come (or ``timeout`` passed)."""
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(timeout):
                await self._waiter
        finally:
            self._waiter = None

    async def drained(self, timeout: float | None) -> None:
        """Until the transport's write buffer is below its limit again, when it was over."""
        while self._paused_writing and not self.ended:
            self._drain = asyncio.get_running_loop().create_future()
            try:
                async with asyncio.timeout(timeout):
                    await self._drain
            finally:
                self._drain = None


def _wake(waiter: asyncio.Future[None] | None) -> None:
    if waiter is not None and not waiter.done():
        waiter.set_result(None)


class _Stream(httpcore.AsyncNetworkStream):
    """One connection: a transport of the running loop and what it received."""

    def __init__(self, transport: asyncio.Transport, received: _Received) -> None:
        self._transport = transport
        self._received = received
        self._socket = transport.get_extra_info("socket")
        self._extra = {  # kept: a closed TLS transport of Python 3.11 raises when asked
            info: transport.get_extra_info(name)
            for info, name in (
                ("ssl_object", "ssl_object"),
                ("client_addr", "sockname"),
                ("server_addr", "peername"),
            )
        }

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        received = self._received
        if not received.chunks and not received.ended:
            try:
                await received.received(timeout)
            except TimeoutError:
                raise httpcore.ReadTimeout("timed out waiting for the server's bytes") from None
        if received.chunks:
            return received.take(max_bytes)
        if received.error is not None:
            raise httpcore.ReadError(str(received.error) or type(received.error).__name__)
        return b""  # the server closed the connection: httpcore says what that means here

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        if self._received.ended or self._transport.is_closing():
            raise httpcore.WriteError("the connection was closed")
        self._transport.write(buffer)
        try:
            await self._received.drained(timeout)
        except TimeoutError:
            raise httpcore.WriteTimeout("timed out sending to the server") from None

    async def aclose(self) -> None:
        self._transport.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                transport = await loop.start_tls(
                    self._transport, self._received, ssl_context, server_hostname=server_hostname
                )
        except TimeoutError:
            self._transport.close()
            raise httpcore.ConnectTimeout("timed out in the TLS handshake") from None
        except (OSError, ssl.SSLError) as exc:
            self._transport.close()
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        if transport is None:  # the connection was lost during the handshake
            raise httpcore.ConnectError("the connection closed during the TLS handshake")
        assert isinstance(transport, asyncio.Transport)
        self._received.transport = transport
        return _Stream(transport, self._received)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":  # asked of every idle pooled connection before each request
            received = self._received
            return received.ended or bool(received.chunks) or is_socket_readable(self._socket)
        if info == "socket":
            return self._socket
        return self._extra.get(info)


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend on the running asyncio loop; anyio's under any other loop."""

    def __init__(self) -> None:
        self._other = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not asyncio (trio): the default backend serves it
            return await self._other.connect_tcp(host, port, timeout, local_address, socket_options)
        try:
            async with asyncio.timeout(timeout):
                transport, received = await loop.create_connection(
                    _Received,
                    host,
                    port,
                    local_addr=None if local_address is None else (local_address, 0),
                    happy_eyeballs_delay=HAPPY_EYEBALLS_DELAY,
                )
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"timed out connecting to {host}:{port}") from None
        except OSError as exc:
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        assert isinstance(transport, asyncio.Transport)
        sock = transport.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)
        return _Stream(transport, received)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return await self._other.connect_unix_socket(path, timeout, socket_options)

    async def sleep(self, seconds: float) -> None:
        await self._other.sleep(seconds)


def async_transport(**options: Any) -> httpx.AsyncHTTPTransport:
    """httpx's async transport (its pool, limits, TLS and error mapping; ``options`` are its
    keywords) over :class:`AsyncioBackend`.

    httpx takes no network backend, so it is set on the pool it built (httpx 0.28's
    ``_pool``; ``tests/test_async_net.py`` fails if that shape changes).
    """
    transport = httpx.AsyncHTTPTransport(**options)
    pool = transport._pool
    if isinstance(pool, httpcore.AsyncConnectionPool) and hasattr(pool, "_network_backend"):
        pool._network_backend = AsyncioBackend()
    return transport


__all__ = ["AsyncioBackend", "async_transport"]
