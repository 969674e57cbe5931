"""Where retries are decided: an httpx transport that retries what is safe to retry.

Idempotent requests (GET, HEAD, PUT, DELETE, OPTIONS) are retried on connection failures,
timeouts, dropped connections and 500/502/503/504. Other methods (POST, PATCH) are retried only
when the request provably never reached the server (connection refused, connect timeout). A 503,
or a 429 that is plain rate limiting, carrying a short ``Retry-After`` is retried after that
delay; a 429 ``USAGE_LIMIT_REACHED`` (a billing-cycle quota) is returned at once since waiting
cannot help. Backoff is exponential with full jitter, and every call has a total time budget.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable

import httpx

from ._constants import MAX_RETRY_AFTER

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRY_STATUSES = frozenset({500, 502, 503, 504})
# Raised before a single byte of the request was sent: safe to retry for every method.
NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class RetryTransport(httpx.BaseTransport):
    """Wrap a transport with the retry policy above."""

    def __init__(
        self,
        wrapped: httpx.BaseTransport,
        *,
        max_retries: int,
        budget: float,
        backoff_base: float = 0.25,
        backoff_cap: float = 8.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._wrapped = wrapped
        self.max_retries = max(0, max_retries)
        self.budget = budget
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._sleep = sleep
        self._clock = clock

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        deadline = self._clock() + self.budget
        idempotent = request.method in IDEMPOTENT_METHODS
        attempt = 0
        while True:
            try:
                response = self._wrapped.handle_request(request)
            except httpx.TransportError as exc:
                retryable = isinstance(exc, NEVER_SENT) or idempotent
                delay = self._backoff(attempt)
                if not retryable or not self._may_retry(attempt, delay, deadline):
                    raise
                self._sleep(delay)
                attempt += 1
                _rewind(request)
                continue
            delay_or_none = self._retry_delay(response, attempt, idempotent)
            if delay_or_none is None or not self._may_retry(attempt, delay_or_none, deadline):
                return response
            response.close()
            self._sleep(delay_or_none)
            attempt += 1
            _rewind(request)

    def close(self) -> None:
        self._wrapped.close()

    def _may_retry(self, attempt: int, delay: float, deadline: float) -> bool:
        return attempt < self.max_retries and self._clock() + delay < deadline

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
        return max(0.0, float(value))
    except ValueError:
        return None  # An HTTP date: too far away to be worth waiting for in a client call.


def _error_code(response: httpx.Response) -> str | None:
    try:
        body = json.loads(response.read())
    except (ValueError, httpx.HTTPError):
        return None
    return body.get("error_code") if isinstance(body, dict) else None


def _rewind(request: httpx.Request) -> None:
    """Make a request's body readable again for the next attempt (bodies here are bytes)."""
    stream = request.stream
    if isinstance(stream, httpx.ByteStream):
        return
    request.read()
