"""Where retries are decided: an httpx transport that retries what is safe to retry.

Idempotent requests (GET, HEAD, PUT, DELETE, OPTIONS) are retried on connection failures,
timeouts, dropped connections and 500/502/503/504. Other methods (POST, PATCH) are retried only
when the request provably never reached the server (connection refused, connect timeout). A 503,
or a 429 that is plain rate limiting, carrying a short ``Retry-After`` is retried after that
delay; a 429 ``USAGE_LIMIT_REACHED`` (a billing-cycle quota) is returned at once since waiting
cannot help. A ``Retry-After`` that is negative, NaN or infinite counts as absent. Backoff is
exponential with full jitter; every call has a total retry budget, a refused connection a short
one (:data:`CONNECT_RETRY_WINDOW`), and API calls a deadline covering everything (``timeout=``).
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from . import _logging
from ._constants import MAX_RETRY_AFTER
from ._deadline import call_deadline

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRY_STATUSES = frozenset({500, 502, 503, 504})
# Raised before a single byte of the request was sent: safe to retry for every method.
NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
CONNECT_RETRY_WINDOW = 1.0
"""Seconds a refused connection is retried (a server restarting) before it is reported."""
CALL_TIMEOUT = "ionworks.timeout"
"""Request extension: seconds bounding this one call (retries included), instead of ``deadline``."""
RETRIES = "ionworks.retries"
"""Request extension set here: how many times the request has been retried so far."""


class RetryTransport(httpx.BaseTransport):
    """Wrap a transport with the retry policy above.

    ``deadline`` (seconds, or None) bounds a whole call: every attempt, every byte of every
    response and every wait between attempts must fit in it (see :mod:`ionworks._deadline`).
    A request may carry its own deadline in the :data:`CALL_TIMEOUT` extension (the per-call
    ``timeout=``). ``budget`` bounds the retrying alone. A refused connection (``httpx.ConnectError``: nothing
    listening, DNS failure) is retried only within ``connect_window`` seconds of the first
    refusal, so a server that is down is reported at once while a 503 burst, a server that is
    up but busy, is still ridden out for the whole budget.
    """

    def __init__(
        self,
        wrapped: httpx.BaseTransport,
        *,
        max_retries: int,
        budget: float,
        deadline: float | None = None,
        connect_window: float = CONNECT_RETRY_WINDOW,
        backoff_base: float = 0.25,
        backoff_cap: float = 8.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        owns_wrapped: bool = True,
        kind: str = "api",
    ) -> None:
        self._wrapped = wrapped
        self._owns_wrapped = owns_wrapped
        self.kind = kind
        self.max_retries = max(0, max_retries)
        self.budget = budget
        self.deadline = deadline
        self.connect_window = connect_window
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._sleep = sleep
        self._clock = clock

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` with retries; one log line for it when ``"ionworks"`` logs INFO."""
        if not _logging.enabled():
            return self._send_with_retries(request)
        started = time.perf_counter()
        try:
            response = self._send_with_retries(request)
        except Exception as exc:
            self._log(request, exc, started)
            raise
        self._log(request, response, started)
        return response

    def _log(
        self, request: httpx.Request, outcome: httpx.Response | BaseException, started: float
    ) -> None:
        milliseconds = (time.perf_counter() - started) * 1000
        retries = int(request.extensions.get(RETRIES, 0))
        _logging.log_request(self.kind, request, outcome, milliseconds, retries)

    def _send_with_retries(self, request: httpx.Request) -> httpx.Response:
        started = self._clock()
        deadline = request.extensions.get(CALL_TIMEOUT, self.deadline)
        call_ends = None if deadline is None else started + deadline
        retry_until = (
            started + self.budget if call_ends is None else min(call_ends, started + self.budget)
        )
        configured = dict(request.extensions.get("timeout") or {})
        idempotent = request.method in IDEMPOTENT_METHODS
        refused_since: float | None = None
        attempt = 0
        while True:
            try:
                response = self._attempt(request, configured, call_ends)
            except httpx.TransportError as exc:
                retryable = isinstance(exc, NEVER_SENT) or idempotent
                limit = retry_until
                if isinstance(exc, httpx.ConnectError):
                    refused_since = self._clock() if refused_since is None else refused_since
                    limit = min(limit, refused_since + self.connect_window)
                delay = self._backoff(attempt)
                if not retryable or not self._may_retry(attempt, delay, limit):
                    raise
                self._before_retry(request, type(exc).__name__, delay, attempt)
                attempt += 1
                continue
            delay_or_none = self._retry_delay(response, attempt, idempotent)
            if delay_or_none is None or not self._may_retry(attempt, delay_or_none, retry_until):
                return response
            response.close()
            self._before_retry(request, str(response.status_code), delay_or_none, attempt)
            attempt += 1

    def _before_retry(
        self, request: httpx.Request, reason: str, delay: float, attempt: int
    ) -> None:
        """Wait ``delay``, count the retry on the request, and make its body readable again."""
        _logging.log_retry(self.kind, request, reason, delay, attempt)
        self._sleep(delay)
        request.extensions[RETRIES] = attempt + 1
        _rewind(request)

    def _attempt(
        self, request: httpx.Request, configured: dict[str, Any], call_ends: float | None
    ) -> httpx.Response:
        """One try; with a deadline, its timeouts, socket I/O and body are bounded by it."""
        if call_ends is None:
            return self._wrapped.handle_request(request)
        left = max(0.0, call_ends - self._clock())
        request.extensions["timeout"] = {
            key: left if value is None else min(value, left) for key, value in configured.items()
        }
        socket_deadline = time.monotonic() + left  # the socket layer runs on the real clock
        with call_deadline(socket_deadline):
            response = self._wrapped.handle_request(request)
        if isinstance(response.stream, httpx.SyncByteStream):
            response.stream = _BoundedBody(response.stream, socket_deadline)
        return response

    def close(self) -> None:
        """Close the wrapped transport, unless it is shared with another client (``with_options``)."""
        if self._owns_wrapped:
            self._wrapped.close()

    @property
    def wrapped(self) -> httpx.BaseTransport:
        """The transport holding the connection pool (shared by ``with_options`` copies)."""
        return self._wrapped

    def _may_retry(self, attempt: int, delay: float, limit: float) -> bool:
        return attempt < self.max_retries and self._clock() + delay < limit

    def _backoff(self, attempt: int) -> float:
        return random.uniform(0, min(self._backoff_cap, self._backoff_base * 2**attempt))

    def _retry_delay(
        self, response: httpx.Response, attempt: int, idempotent: bool
    ) -> float | None:
        """Seconds to wait before retrying ``response``, or None when it must be returned."""
        status = response.status_code
        retry_after = _retry_after_seconds(response)
        if status == 429:
            if retry_after is None or retry_after > MAX_RETRY_AFTER:
                return None
            if _error_code(response) == "USAGE_LIMIT_REACHED":
                return None
            return retry_after
        if status not in RETRY_STATUSES or not idempotent:
            return None
        if retry_after is not None:
            return retry_after if retry_after <= MAX_RETRY_AFTER else None
        return self._backoff(attempt)


def _retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # An HTTP date: too far away to be worth waiting for in a client call.
    # A negative, NaN or infinite delay is no instruction at all: treat it as absent (back off)
    # rather than retrying at once.
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _error_code(response: httpx.Response) -> str | None:
    try:
        body = json.loads(response.read())
    except (ValueError, httpx.HTTPError):
        return None
    return body.get("error_code") if isinstance(body, dict) else None


class _BoundedBody(httpx.SyncByteStream):
    """A response body whose every read runs under the call's deadline.

    The body is read after the transport returned (by httpx, or by our error hook), so the
    deadline is set again around each chunk rather than once around the attempt.
    """

    def __init__(self, stream: httpx.SyncByteStream, deadline: float) -> None:
        self._stream = stream
        self._deadline = deadline

    def __iter__(self) -> Iterator[bytes]:
        chunks = iter(self._stream)
        while True:
            with call_deadline(self._deadline):
                chunk = next(chunks, None)
            if chunk is None:
                return
            yield chunk

    def close(self) -> None:
        self._stream.close()


def _rewind(request: httpx.Request) -> None:
    """Make a request's body readable again for the next attempt (bodies here are bytes)."""
    stream = request.stream
    if isinstance(stream, httpx.ByteStream):
        return
    request.read()
