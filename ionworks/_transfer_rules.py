"""The rules of a storage transfer, once for both clients: only sending and waiting differ.

What to ask for, when to ask again and what an answer means are written here as *plans*:
generators that yield the next request (a ``Range`` header value, or None for a whole GET), are
sent back its answer or thrown the error it raised, and return the result. :func:`run` drives a
plan with a blocking send (``Transfer``), :func:`arun` with an awaited one (``AsyncTransfer``).
The redirect, the per-call timeout keywords, progress bars and their quieting are here too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Final, TypeVar
from urllib.parse import urljoin

import httpx

from ._http import check_timeout, raise_storage_error
from ._progress import progress_bar
from ._retry import CALL_TIMEOUT
from .errors import APIConnectionError, IonworksError

T = TypeVar("T")
Plan = Generator[str | None, Any, T]
"""Yields a request (a Range value, None for the whole object), is sent its answer, returns."""

ATTEMPTS: Final = 3
"""Whole GETs of one body: the transport retries failures before a response starts; this covers a
body cut short (a GET is idempotent, so starting again is safe)."""
BODY_CUT_SHORT: Final = (httpx.ReadError, httpx.RemoteProtocolError, httpx.ReadTimeout)
"""What a body cut short raises: the errors a plan decides on (any other passes through)."""

_quiet: ContextVar[bool] = ContextVar("ionworks_quiet_transfers", default=False)


@contextmanager
def quiet_transfers() -> Iterator[None]:
    """No per-transfer progress bars here (a fleet pull shows one bar for all): in this thread,
    or in this task and what it awaits (a context variable: each thread and task has its own)."""
    token = _quiet.set(True)
    try:
        yield
    finally:
        _quiet.reset(token)


def bar(total: int, description: str) -> Any:
    """:func:`progress_bar`, unless transfers are quiet here."""
    return progress_bar(0 if _quiet.get() else total, description)


def whole_body(what: str) -> Plan[bytes]:
    """A whole GET, made again when its body was cut short (``ATTEMPTS`` in all)."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            body: bytes = yield None
        except BODY_CUT_SHORT as exc:
            if attempt < ATTEMPTS:
                continue
            if isinstance(exc, httpx.TimeoutException):
                raise  # the caller names a timeout
            raise _cut_short(exc, what) from exc
        return body
    raise AssertionError("unreachable: the last attempt returns or raises")


def _cut_short(exc: Exception, what: str) -> APIConnectionError:
    """The error when every attempt's body was cut short: the server answered each time, so not
    "could not reach" (the transport's wording)."""
    return APIConnectionError(
        f"Storage cut the {what} transfer short {ATTEMPTS} times ({exc}). The connection "
        "dropped mid-transfer or the stored file is damaged; retry, and if it keeps happening "
        "tell the server's operator."
    )


def byte_range(first: int | None, last: int, what: str) -> Plan[tuple[bytes, int, int]]:
    """Bytes ``first..last`` (the last ``last`` bytes when ``first`` is None), where they start,
    and the object's size; a body cut short (an error, or fewer bytes than Content-Range says)
    is asked for again. The answers sent in are read ``httpx.Response`` objects."""
    spec = f"bytes=-{last}" if first is None else f"bytes={first}-{last}"
    for attempt in range(1, ATTEMPTS + 1):
        try:
            response: httpx.Response = yield spec
        except BODY_CUT_SHORT as exc:
            if attempt < ATTEMPTS:
                continue
            if isinstance(exc, httpx.TimeoutException):
                raise  # the caller names a timeout
            raise _cut_short(exc, what) from exc
        if response.status_code >= 400:
            raise_storage_error(response, what)
        if response.status_code == 200:  # the range was ignored: this is the whole object
            return response.content, 0, len(response.content)
        where, last_byte, size = content_range(response, what)
        if len(response.content) == last_byte - where + 1:
            return response.content, where, size
    raise IonworksError(f"Storage cut the {what} transfer short {ATTEMPTS} times")


def run(plan: Plan[T], send: Callable[[str | None], Any]) -> T:
    """Carry out ``plan``, each request sent by ``send`` (blocking)."""
    request = next(plan)
    while True:
        error: BaseException | None = None
        try:
            answer = send(request)
        except BODY_CUT_SHORT as cut:
            answer, error = None, cut
        try:
            request = plan.send(answer) if error is None else plan.throw(error)
        except StopIteration as done:
            result: T = done.value
            return result


async def arun(plan: Plan[T], send: Callable[[str | None], Awaitable[Any]]) -> T:
    """Carry out ``plan``, each request sent by awaiting ``send``."""
    request = next(plan)
    while True:
        error: BaseException | None = None
        try:
            answer = await send(request)
        except BODY_CUT_SHORT as cut:
            answer, error = None, cut
        try:
            request = plan.send(answer) if error is None else plan.throw(error)
        except StopIteration as done:
            result: T = done.value
            return result


def location(response: httpx.Response, api_url: str, what: str) -> str | None:
    """Where an API download's redirect (3xx) points, absolute; None when it answered inline."""
    if not 300 <= response.status_code < 400:
        return None
    target = str(response.headers.get("Location") or "")
    if not target:
        raise IonworksError(f"The server redirected the {what} download without a Location header")
    return absolute(api_url, target)


def absolute(api_url: str, target: str) -> str:
    """A storage URL the API gave (maybe relative to it) made absolute."""
    return urljoin(api_url + "/", target)


def options(timeout: float | None) -> dict[str, Any]:
    """httpx keywords bounding one transfer by the per-call ``timeout`` (None: the client's)."""
    if timeout is None:
        return {}
    check_timeout(timeout)
    return {
        "timeout": httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        "extensions": {CALL_TIMEOUT: timeout},
    }


def content_range(response: httpx.Response, what: str) -> tuple[int, int, int]:
    """(first byte, last byte, object size) from ``Content-Range: bytes first-last/size``."""
    header = response.headers.get("Content-Range", "")
    try:
        unit, _, spec = header.partition(" ")
        span, _, size = spec.partition("/")
        first, _, last = span.partition("-")
        if unit != "bytes":
            raise ValueError(header)
        return int(first), int(last), int(size)
    except ValueError:
        raise IonworksError(
            f"Storage answered a range request for the {what} with a bad Content-Range "
            f"header {header!r}"
        ) from None


def host_of(url: str) -> str:
    """``scheme://host[:port]`` of a URL, for error messages that must not show its signature."""
    parsed = httpx.URL(url)
    return f"{parsed.scheme}://{parsed.host}" + (f":{parsed.port}" if parsed.port else "")


__all__ = [
    "ATTEMPTS",
    "BODY_CUT_SHORT",
    "Plan",
    "absolute",
    "arun",
    "bar",
    "byte_range",
    "content_range",
    "host_of",
    "location",
    "options",
    "quiet_transfers",
    "run",
    "whole_body",
]
