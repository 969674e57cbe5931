"""Storage transfers of :class:`AsyncIonworks`, over its credential-free ``httpx.AsyncClient``.

The twin of :class:`ionworks._transfer.Transfer`, sending and awaiting only: when to ask again
and what an answer means are the plans of :mod:`ionworks._transfer_rules`, carried out here by
:func:`~ionworks._transfer_rules.arun`. The parquet range logic is the sync module's own
(:func:`~ionworks._transfer.read_window`): it runs in a worker thread and fetches each range it
needs by awaiting :meth:`AsyncTransfer._range` on the event loop, so the footer-first planning
and pyarrow decoding exist once and never block the loop.

Thread bridges (``run_in_thread`` and ``on_loop``) are how the async client reuses the sync
client's logic that interleaves decisions with I/O (the cache's read-through order, the upload
protocol, the range reads): that logic runs in a worker thread, each I/O step is awaited on the
loop. Those threads only wait, so they get their own limiter, apart from anyio's default one.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

import anyio
import anyio.from_thread
import anyio.to_thread
import httpx
import polars as pl

from ._dataframe import serial_decoding
from ._http import raise_storage_error, translate_transport_errors
from ._transfer import inline_rows, read_window
from ._transfer_rules import (
    absolute,
    arun,
    bar,
    byte_range,
    host_of,
    location,
    options,
    whole_body,
)

T = TypeVar("T")

BRIDGE_THREADS = 64
"""Worker threads that may wait on the loop at once (a fleet pull holds one per table)."""
ON_LOOP_BYTES = 128 * 1024
"""Bodies up to this size are decoded on the event loop: a thread hop costs some 0.4 ms of CPU,
as much as decoding a small steps parquet or cycles JSON (17 kB and 2 kB of the demo data: 1.1
and 0.5 ms inline, 1.5 and 1.0 ms in a thread), and blocks the loop no longer than that. Larger
bodies (time series) are decoded in threads, several at once."""


_serial: ContextVar[bool] = ContextVar("ionworks_serial_bridge_decoding", default=False)


@contextmanager
def serial_bridge_decoding() -> Iterator[None]:
    """Parquet read by the bridge threads this task starts is decoded by each thread alone
    (:func:`~ionworks._dataframe.serial_decoding`, which is per thread): a fleet pull already
    decodes many files at once, as the sync pull's threads do."""
    token = _serial.set(True)
    try:
        yield
    finally:
        _serial.reset(token)


class Bridge:
    """Run sync code in a worker thread while its I/O steps are awaited on the event loop."""

    def __init__(self, threads: int = BRIDGE_THREADS) -> None:
        self._limiter = anyio.CapacityLimiter(threads)

    async def run_in_thread(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``function(*args, **kwargs)`` in a bridge thread (it may call :meth:`on_loop`)."""
        call = functools.partial(function, *args, **kwargs)
        if _serial.get():
            call = functools.partial(_serially, call)
        return await anyio.to_thread.run_sync(call, limiter=self._limiter)

    async def decode(self, function: Callable[[bytes], T], body: bytes) -> T:
        """``function(body)``: on the loop when ``body`` is small (:data:`ON_LOOP_BYTES`), else
        in a bridge thread; serially decoded in either when the task asked for it."""
        if len(body) > ON_LOOP_BYTES:
            return await self.run_in_thread(function, body)
        if _serial.get():
            return _serially(functools.partial(function, body))
        return function(body)

    @staticmethod
    def on_loop(function: Callable[..., Coroutine[Any, Any, T]], *args: Any, **kwargs: Any) -> T:
        """From a bridge thread: await ``function(*args, **kwargs)`` on the loop, and return it."""
        return anyio.from_thread.run(functools.partial(function, *args, **kwargs))


def _serially(call: Callable[[], T]) -> T:
    """``call()``, its parquet decoded by this thread alone."""
    with serial_decoding():
        return call()


class AsyncTransfer:
    """The storage side of one async client: what its resources call to move table bytes."""

    def __init__(self, storage: httpx.AsyncClient, api_url: str, bridge: Bridge) -> None:
        self._storage = storage
        self._api_url = api_url
        self._bridge = bridge

    async def body(
        self, response: httpx.Response, *, what: str, timeout: float | None = None
    ) -> bytes:
        """The bytes an API download answered: inline (200), or behind its redirect (3xx)."""
        url = location(response, self._api_url, what)
        if url is None:
            return bytes(response.content)
        return await self.download(url, what=what, timeout=timeout)

    def rows_in_thread(
        self,
        response: httpx.Response,
        start: int,
        stop: int,
        *,
        columns: Sequence[str] | None = None,
        what: str,
        timeout: float | None = None,
    ) -> pl.DataFrame:
        """Rows ``start <= i < stop`` (of ``columns`` only) of the parquet table answered, from
        a bridge thread: each range is awaited on the loop."""
        url = location(response, self._api_url, what)
        if url is None:
            return inline_rows(response, start, stop, columns, what)

        def fetch(first: int | None, last: int) -> tuple[bytes, int, int]:
            plan = byte_range(first, last, what)
            got: tuple[bytes, int, int] = self._bridge.on_loop(
                arun, plan, lambda spec: self._range(url, spec, timeout)
            )
            return got

        with translate_transport_errors(host_of(url)):
            return read_window(fetch, start, stop, what, columns)

    async def upload(
        self, location: str, data: bytes, *, what: str, timeout: float | None = None
    ) -> None:
        """PUT bytes to a signed URL (idempotent, so the transport may retry it)."""
        url = absolute(self._api_url, location)
        with translate_transport_errors(host_of(url)):
            response = await self._storage.put(
                url,
                content=data,
                headers={"Content-Type": "application/octet-stream"},
                **options(timeout),
            )
            if response.status_code >= 400:
                raise_storage_error(response, what)

    async def download(self, url: str, *, what: str, timeout: float | None = None) -> bytes:
        """GET a signed URL completely, starting again when the body was cut short."""
        with translate_transport_errors(host_of(url)):
            return await arun(whole_body(what), lambda _: self._download_once(url, what, timeout))

    async def _download_once(self, url: str, what: str, timeout: float | None) -> bytes:
        async with self._storage.stream("GET", url, **options(timeout)) as response:
            if response.status_code >= 400:
                await response.aread()
                raise_storage_error(response, what)
            size = int(response.headers.get("Content-Length") or 0)
            with bar(size, f"Downloading {what}") as advance:
                if advance is None:
                    return await response.aread()
                chunks = []
                async for chunk in response.aiter_bytes(1 << 20):
                    chunks.append(chunk)
                    advance(len(chunk))
                return b"".join(chunks)

    async def _range(self, url: str, spec: str | None, timeout: float | None) -> httpx.Response:
        """One GET of ``spec`` (a Range value; None: the whole object), its body read."""
        headers = {} if spec is None else {"Range": spec}
        return await self._storage.get(url, headers=headers, **options(timeout))


class BridgedUploads:
    """What the sync upload protocol (``_upload.upload_measurement``) calls, from a bridge
    thread, to PUT its files through an :class:`AsyncTransfer` on the loop."""

    def __init__(self, transfer: AsyncTransfer, bridge: Bridge) -> None:
        self._transfer = transfer
        self._bridge = bridge

    def upload(
        self, location: str, data: bytes, *, what: str, timeout: float | None = None
    ) -> None:
        self._bridge.on_loop(self._transfer.upload, location, data, what=what, timeout=timeout)


__all__ = ["AsyncTransfer", "Bridge", "BridgedUploads", "serial_bridge_decoding"]
