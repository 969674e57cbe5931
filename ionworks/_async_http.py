"""The async client's two HTTP clients (API with credentials; storage without) and its transport.

Everything that decides is shared with the sync client: the retry policy and each call's
deadline (:class:`~ionworks._retry.RetryPolicy`), headers, timeouts, error mapping and the
translation of httpx errors (:mod:`ionworks._http`). What differs is how to wait (``anyio.sleep``
instead of ``time.sleep``) and how the deadline is enforced: sync httpcore does its socket I/O
in the calling thread, so the sync client bounds each socket operation through a context
variable; here each attempt, and each chunk of its body, runs under an ``anyio`` cancel scope
that ends at the call's deadline, which is raised as httpx's own ``ReadTimeout``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

import anyio
import httpx

from . import _logging
from ._async_net import async_transport
from ._http import (
    USER_AGENT,
    Retries,
    api_headers,
    api_timeout,
    parse,
    raise_for_api_error,
    storage_timeout,
    translate_transport_errors,
    with_timeout,
)
from ._operations import request_of
from ._retry import CallRetries, RetryPolicy, log_outcome

if TYPE_CHECKING:
    from ionworks_generated import Client as GeneratedClient

DEADLINE_PASSED = "the call's deadline (timeout=) has passed"


class AsyncRetryTransport(httpx.AsyncBaseTransport):
    """An async transport behind :class:`~ionworks._retry.RetryPolicy` (the sync client's policy)."""

    def __init__(
        self,
        wrapped: httpx.AsyncBaseTransport,
        policy: RetryPolicy,
        *,
        owns_wrapped: bool = True,
        kind: str = "api",
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._wrapped = wrapped
        self._owns_wrapped = owns_wrapped
        self.kind = kind
        self.policy = policy
        self._sleep = sleep
        self._clock = clock

    @property
    def max_retries(self) -> int:
        return self.policy.max_retries

    @property
    def wrapped(self) -> httpx.AsyncBaseTransport:
        """The transport holding the connection pool (shared by ``with_options`` copies)."""
        return self._wrapped

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` with retries; one log line for it when ``"ionworks"`` logs INFO."""
        if not _logging.enabled():
            return await self._send_with_retries(request)
        started = time.perf_counter()
        try:
            response = await self._send_with_retries(request)
        except Exception as exc:
            log_outcome(self.kind, request, exc, started)
            raise
        log_outcome(self.kind, request, response, started)
        return response

    async def _send_with_retries(self, request: httpx.Request) -> httpx.Response:
        call = self.policy.start(request, self._clock)
        while True:
            try:
                response = await self._attempt(request, call.time_left(request))
            except httpx.TransportError as exc:
                delay = call.after_error(exc)
                if delay is None:
                    raise
                await self._before_retry(request, call, type(exc).__name__, delay)
                continue
            if call.needs_body(response):
                await response.aread()
            delay = call.after_response(response)
            if delay is None:
                return response
            await response.aclose()
            await self._before_retry(request, call, str(response.status_code), delay)

    async def _before_retry(
        self, request: httpx.Request, call: CallRetries, reason: str, delay: float
    ) -> None:
        call.retrying(request, self.kind, reason, delay)
        await self._sleep(delay)
        if not isinstance(request.stream, httpx.ByteStream):
            await request.aread()

    async def _attempt(self, request: httpx.Request, left: float | None) -> httpx.Response:
        """One try; with a deadline, the attempt and every chunk of its body end by it."""
        if left is None:
            return await self._wrapped.handle_async_request(request)
        deadline = time.monotonic() + left
        try:
            with anyio.fail_after(left):
                response = await self._wrapped.handle_async_request(request)
        except TimeoutError:
            raise httpx.ReadTimeout(DEADLINE_PASSED, request=request) from None
        if isinstance(response.stream, httpx.AsyncByteStream):
            response.stream = _BoundedBody(response.stream, deadline, request)
        return response

    async def aclose(self) -> None:
        """Close the wrapped transport, unless it is shared with another client."""
        if self._owns_wrapped:
            await self._wrapped.aclose()


class _BoundedBody(httpx.AsyncByteStream):
    """A response body whose every chunk must arrive before the call's deadline."""

    def __init__(
        self, stream: httpx.AsyncByteStream, deadline: float, request: httpx.Request
    ) -> None:
        self._stream = stream
        self._deadline = deadline
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunks = self._stream.__aiter__()
        while True:
            try:
                with anyio.fail_after(max(0.0, self._deadline - time.monotonic())):
                    chunk = await chunks.__anext__()
            except StopAsyncIteration:
                return
            except TimeoutError:
                raise httpx.ReadTimeout(DEADLINE_PASSED, request=self._request) from None
            yield chunk

    async def aclose(self) -> None:
        await self._stream.aclose()


def around(
    retries: Retries,
    transport: httpx.AsyncBaseTransport,
    *,
    owns: bool,
    deadline: float | None = None,
    kind: str = "api",
) -> AsyncRetryTransport:
    """``transport`` behind the client's retry policy (:meth:`Retries.policy`)."""
    return AsyncRetryTransport(transport, retries.policy(deadline), owns_wrapped=owns, kind=kind)


async def _raise_for_api_error(response: httpx.Response) -> None:
    """The sync client's error mapping, once the body of an error response is read."""
    if response.status_code >= 400:
        await response.aread()
        raise_for_api_error(response)


def build_async_api_client(
    base_url: str,
    headers: dict[str, str],
    *,
    timeout: float,
    retries: Retries,
    transport: httpx.AsyncBaseTransport | None = None,
    owns_transport: bool = True,
) -> httpx.AsyncClient:
    """The async twin of :func:`ionworks._http.build_api_client`."""
    return httpx.AsyncClient(
        base_url=base_url,
        headers=api_headers(headers),
        timeout=api_timeout(timeout),
        transport=around(
            retries, transport or async_transport(), owns=owns_transport, deadline=timeout
        ),
        follow_redirects=False,
        event_hooks={"response": [_raise_for_api_error]},
    )


def build_async_storage_client(
    *,
    timeout: float,
    retries: Retries,
    transport: httpx.AsyncBaseTransport | None = None,
    owns_transport: bool = True,
) -> httpx.AsyncClient:
    """The async twin of :func:`ionworks._http.build_storage_client` (no credentials)."""
    return httpx.AsyncClient(
        headers={"User-Agent": USER_AGENT},
        timeout=storage_timeout(timeout),
        transport=around(
            retries, transport or async_transport(), owns=owns_transport, kind="storage"
        ),
        follow_redirects=True,
    )


async def send(
    http: httpx.AsyncClient, url: str, request: dict[str, Any], *, timeout: float | None = None
) -> httpx.Response:
    """Send a generated operation's request keywords; error statuses raise from the hook."""
    with translate_transport_errors(url):
        return await http.request(**with_timeout(request, timeout))


async def call(
    operation: ModuleType,
    api: GeneratedClient,
    http: httpx.AsyncClient,
    url: str,
    *args: Any,
    timeout: float | None = None,
    **kwargs: Any,
) -> Any:
    """Run one generated operation on the async client (encoded and decoded by the generated code)."""
    request = request_of(operation, *args, **kwargs)
    return parse(operation, api, url, await send(http, url, request, timeout=timeout))


__all__ = [
    "AsyncRetryTransport",
    "build_async_api_client",
    "build_async_storage_client",
    "call",
    "send",
]
