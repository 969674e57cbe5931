"""Where retries are decided: one policy, and the sync transport that follows it.

Idempotent requests (GET, HEAD, PUT, DELETE, OPTIONS) are retried on connection failures,
timeouts, dropped connections and 500/502/503/504. Other methods (POST, PATCH) are retried only
when the request provably never reached the server (connection refused, connect timeout). A 503,
or a 429 that is plain rate limiting, carrying a short ``Retry-After`` is retried after that
delay; a 429 ``USAGE_LIMIT_REACHED`` (a billing-cycle quota) is returned at once since waiting
cannot help. A ``Retry-After`` that is negative, NaN or infinite counts as absent. Backoff is
exponential with full jitter; every call has a total retry budget, a refused connection a short
one (:data:`CONNECT_RETRY_WINDOW`), and API calls a deadline covering everything (``timeout=``).

The decisions live in :class:`RetryPolicy` and the per-call :class:`CallRetries`, which do no
I/O; :class:`RetryTransport` (here) and ``_async_http.AsyncRetryTransport`` only send, wait
(``time.sleep`` or ``anyio.sleep``) and bound the socket work by the deadline the policy gives.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
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


@dataclass(frozen=True)
class RetryPolicy:
    """What is retried, how long to wait, and when a call must end; shared by both transports.

    ``deadline`` (seconds, or None) bounds a whole call: every attempt, every byte of every
    response and every wait between attempts must fit in it. A request may carry its own in the
    :data:`CALL_TIMEOUT` extension (the per-call ``timeout=``). ``budget`` bounds the retrying
    alone. A refused connection (``httpx.ConnectError``: nothing listening, DNS failure) is
    retried only within ``connect_window`` seconds of the first refusal, so a server that is
    down is reported at once while a 503 burst is still ridden out for the whole budget.
    """

    max_retries: int
    budget: float
    deadline: float | None = None
    connect_window: float = CONNECT_RETRY_WINDOW
    backoff_base: float = 0.25
    backoff_cap: float = 8.0

    def start(
        self, request: httpx.Request, clock: Callable[[], float] = time.monotonic
    ) -> CallRetries:
        """The retry state of one call of ``request``, timed by ``clock`` from now."""
        return CallRetries(self, request, clock)

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter."""
        return random.uniform(0, min(self.backoff_cap, self.backoff_base * 2**attempt))


class CallRetries:
    """One call under a :class:`RetryPolicy`: its deadline, its retries so far, each decision."""

    def __init__(
        self, policy: RetryPolicy, request: httpx.Request, clock: Callable[[], float]
    ) -> None:
        self.policy = policy
        self.clock = clock
        started = clock()
        deadline = request.extensions.get(CALL_TIMEOUT, policy.deadline)
        self.call_ends: float | None = None if deadline is None else started + deadline
        budget_ends = started + policy.budget
        self.retry_until = (
            budget_ends if self.call_ends is None else min(self.call_ends, budget_ends)
        )
        self.configured: dict[str, Any] = dict(request.extensions.get("timeout") or {})
        self.idempotent = request.method in IDEMPOTENT_METHODS
        self.refused_since: float | None = None
        self.attempt = 0

    def time_left(self, request: httpx.Request) -> float | None:
        """Seconds this attempt may take (None: unbounded); httpx's timeouts cut to fit."""
        if self.call_ends is None:
            return None
        left = max(0.0, self.call_ends - self.clock())
        request.extensions["timeout"] = {
            key: left if value is None else min(value, left)
            for key, value in self.configured.items()
        }
        return left

    def after_error(self, exc: httpx.TransportError) -> float | None:
        """Seconds to wait before trying again after ``exc``, or None when it must be raised."""
        retryable = isinstance(exc, NEVER_SENT) or self.idempotent
        limit = self.retry_until
        if isinstance(exc, httpx.ConnectError):
            if self.refused_since is None:
                self.refused_since = self.clock()
            limit = min(limit, self.refused_since + self.policy.connect_window)
        delay = self.policy.backoff(self.attempt)
        return delay if retryable and self._may_retry(delay, limit) else None

    @staticmethod
    def needs_body(response: httpx.Response) -> bool:
        """Whether :meth:`after_response` reads the body (a 429's error code): read it first."""
        return response.status_code == 429

    def after_response(self, response: httpx.Response) -> float | None:
        """Seconds to wait before trying again after ``response``, or None to return it.

        For a 429 the body must have been read (:meth:`needs_body`).
        """
        delay = retry_delay(response, self.attempt, self.idempotent, self.policy.backoff)
        return delay if delay is not None and self._may_retry(delay, self.retry_until) else None

    def retrying(self, request: httpx.Request, kind: str, reason: str, delay: float) -> None:
        """Log the retry about to happen and count it on the request."""
        _logging.log_retry(kind, request, reason, delay, self.attempt)
        self.attempt += 1
        request.extensions[RETRIES] = self.attempt

    def _may_retry(self, delay: float, limit: float) -> bool:
        return self.attempt < self.policy.max_retries and self.clock() + delay < limit


def retry_delay(
    response: httpx.Response, attempt: int, idempotent: bool, backoff: Callable[[int], float]
) -> float | None:
    """Seconds to wait before retrying ``response``, or None when it must be returned."""
    status = response.status_code
    retry_after = retry_after_seconds(response)
    if status == 429:
        if retry_after is None or retry_after > MAX_RETRY_AFTER:
            return None
        if error_code(response) == "USAGE_LIMIT_REACHED":
            return None
        return retry_after
    if status not in RETRY_STATUSES or not idempotent:
        return None
    if retry_after is not None:
        return retry_after if retry_after <= MAX_RETRY_AFTER else None
    return backoff(attempt)


def retry_after_seconds(response: httpx.Response) -> float | None:
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


def error_code(response: httpx.Response) -> str | None:
    """The API's ``error_code`` of a response whose body was read."""
    try:
        body = json.loads(response.content)
    except (ValueError, httpx.HTTPError):
        return None
    return body.get("error_code") if isinstance(body, dict) else None


class RetryTransport(httpx.BaseTransport):
    """Wrap a transport with :class:`RetryPolicy`: send, wait with ``time.sleep``, and bound each
    attempt's socket work by the call's deadline (see :mod:`ionworks._deadline`)."""

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
        self.policy = RetryPolicy(
            max(0, max_retries), budget, deadline, connect_window, backoff_base, backoff_cap
        )
        self._sleep = sleep
        self._clock = clock

    @property
    def max_retries(self) -> int:
        return self.policy.max_retries

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` with retries; one log line for it when ``"ionworks"`` logs INFO."""
        if not _logging.enabled():
            return self._send_with_retries(request)
        started = time.perf_counter()
        try:
            response = self._send_with_retries(request)
        except Exception as exc:
            log_outcome(self.kind, request, exc, started)
            raise
        log_outcome(self.kind, request, response, started)
        return response

    def _send_with_retries(self, request: httpx.Request) -> httpx.Response:
        call = self.policy.start(request, self._clock)
        while True:
            try:
                response = self._attempt(request, call.time_left(request))
            except httpx.TransportError as exc:
                delay = call.after_error(exc)
                if delay is None:
                    raise
                self._before_retry(request, call, type(exc).__name__, delay)
                continue
            if call.needs_body(response):
                response.read()
            delay = call.after_response(response)
            if delay is None:
                return response
            response.close()
            self._before_retry(request, call, str(response.status_code), delay)

    def _before_retry(
        self, request: httpx.Request, call: CallRetries, reason: str, delay: float
    ) -> None:
        """Wait ``delay``, count the retry on the request, and make its body readable again."""
        call.retrying(request, self.kind, reason, delay)
        self._sleep(delay)
        if not isinstance(request.stream, httpx.ByteStream):
            request.read()

    def _attempt(self, request: httpx.Request, left: float | None) -> httpx.Response:
        """One try; with a deadline, its socket I/O and body are bounded by it."""
        if left is None:
            return self._wrapped.handle_request(request)
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


def log_outcome(
    kind: str, request: httpx.Request, outcome: httpx.Response | BaseException, started: float
) -> None:
    """The one log line of a finished request (both transports)."""
    milliseconds = (time.perf_counter() - started) * 1000
    retries = int(request.extensions.get(RETRIES, 0))
    _logging.log_request(kind, request, outcome, milliseconds, retries)


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
