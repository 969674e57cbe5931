"""Storage transfers of :class:`AsyncIonworks`, over its credential-free ``httpx.AsyncClient``.

The twin of :class:`ionworks._transfer.Transfer`: follow the API's redirect, download a whole
body (again when it was cut short), read a row window or a column projection with HTTP ranges,
upload. The parquet range logic is the sync module's own (``_read_window``): it runs in a worker
thread and fetches each range it needs by awaiting :meth:`AsyncTransfer._range` on the event
loop, so the footer-first planning and pyarrow decoding exist once and never block the loop.

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
from urllib.parse import urljoin

import anyio
import anyio.from_thread
import anyio.to_thread
import httpx
import polars as pl

from ._dataframe import read_parquet
from ._http import raise_storage_error, translate_transport_errors
from ._progress import progress_bar
from ._transfer import (
    _BODY_CUT_SHORT,
    ATTEMPTS,
    _content_range,
    _host_of,
    _options,
    _read_window,
    select_columns,
)
from .errors import IonworksError

T = TypeVar("T")

_quiet: ContextVar[bool] = ContextVar("ionworks_quiet_transfers", default=False)
BRIDGE_THREADS = 64
"""Worker threads that may wait on the loop at once (a fleet pull holds one per table)."""


@contextmanager
def quiet_transfers() -> Iterator[None]:
    """No per-transfer progress bars in this task (a fleet pull shows one bar for all)."""
    token = _quiet.set(True)
    try:
        yield
    finally:
        _quiet.reset(token)


def _bar(total: int, description: str) -> Any:
    return progress_bar(0 if _quiet.get() else total, description)


class Bridge:
    """Run sync code in a worker thread while its I/O steps are awaited on the event loop."""

    def __init__(self, threads: int = BRIDGE_THREADS) -> None:
        self._limiter = anyio.CapacityLimiter(threads)

    async def run_in_thread(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``function(*args, **kwargs)`` in a bridge thread (it may call :meth:`on_loop`)."""
        call = functools.partial(function, *args, **kwargs)
        return await anyio.to_thread.run_sync(call, limiter=self._limiter)

    @staticmethod
    def on_loop(function: Callable[..., Coroutine[Any, Any, T]], *args: Any, **kwargs: Any) -> T:
        """From a bridge thread: await ``function(*args, **kwargs)`` on the loop, and return it."""
        return anyio.from_thread.run(functools.partial(function, *args, **kwargs))


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
        if not 300 <= response.status_code < 400:
            return bytes(response.content)
        return await self.download(self._location(response, what), what=what, timeout=timeout)

    async def rows(
        self,
        response: httpx.Response,
        start: int,
        stop: int,
        *,
        columns: Sequence[str] | None = None,
        what: str,
        timeout: float | None = None,
    ) -> pl.DataFrame:
        """Rows ``start <= i < stop`` (of ``columns`` only) of the parquet table answered."""
        return await self._bridge.run_in_thread(
            self.rows_in_thread, response, start, stop, columns=columns, what=what, timeout=timeout
        )

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
        """:meth:`rows`, called from a bridge thread (each range is awaited on the loop)."""
        if not 300 <= response.status_code < 400:
            frame = read_parquet(bytes(response.content), description=what)
            return select_columns(frame.slice(start, stop - start), columns, what)
        url = self._location(response, what)

        def fetch(first: int | None, last: int) -> tuple[bytes, int, int]:
            return self._bridge.on_loop(self._range, url, first, last, what, timeout)

        with translate_transport_errors(_host_of(url)):
            return _read_window(fetch, start, stop, what, columns)

    async def upload(
        self, location: str, data: bytes, *, what: str, timeout: float | None = None
    ) -> None:
        """PUT bytes to a signed URL (idempotent, so the transport may retry it)."""
        url = urljoin(self._api_url + "/", location)
        with translate_transport_errors(_host_of(url)):
            response = await self._storage.put(
                url,
                content=data,
                headers={"Content-Type": "application/octet-stream"},
                **_options(timeout),
            )
            if response.status_code >= 400:
                raise_storage_error(response, what)

    async def download(self, url: str, *, what: str, timeout: float | None = None) -> bytes:
        """GET a signed URL completely, starting again when the body was cut short."""
        with translate_transport_errors(_host_of(url)):
            for attempt in range(1, ATTEMPTS + 1):
                try:
                    return await self._download_once(url, what, timeout)
                except _BODY_CUT_SHORT:
                    if attempt >= ATTEMPTS:
                        raise
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _download_once(self, url: str, what: str, timeout: float | None) -> bytes:
        async with self._storage.stream("GET", url, **_options(timeout)) as response:
            if response.status_code >= 400:
                await response.aread()
                raise_storage_error(response, what)
            size = int(response.headers.get("Content-Length") or 0)
            with _bar(size, f"Downloading {what}") as advance:
                if advance is None:
                    return await response.aread()
                chunks = []
                async for chunk in response.aiter_bytes(1 << 20):
                    chunks.append(chunk)
                    advance(len(chunk))
                return b"".join(chunks)

    async def _range(
        self, url: str, first: int | None, last: int, what: str, timeout: float | None
    ) -> tuple[bytes, int, int]:
        """Bytes ``first..last`` (the last ``last`` bytes when ``first`` is None), where they
        start, and the object's size; a body cut short is asked for again."""
        spec = f"bytes=-{last}" if first is None else f"bytes={first}-{last}"
        for attempt in range(1, ATTEMPTS + 1):
            try:
                response = await self._storage.get(
                    url, headers={"Range": spec}, **_options(timeout)
                )
            except _BODY_CUT_SHORT:
                if attempt >= ATTEMPTS:
                    raise
                continue
            if response.status_code >= 400:
                raise_storage_error(response, what)
            if response.status_code == 200:  # the range was ignored: this is the whole object
                return response.content, 0, len(response.content)
            where, last_byte, size = _content_range(response, what)
            if len(response.content) == last_byte - where + 1:
                return response.content, where, size
            if attempt >= ATTEMPTS:
                raise IonworksError(f"Storage cut the {what} transfer short {ATTEMPTS} times")
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _location(self, response: httpx.Response, what: str) -> str:
        location = str(response.headers.get("Location") or "")
        if not location:
            raise IonworksError(
                f"The server redirected the {what} download without a Location header"
            )
        return urljoin(self._api_url + "/", location)


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


__all__ = ["AsyncTransfer", "Bridge", "BridgedUploads", "quiet_transfers"]
