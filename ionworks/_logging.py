"""One log line per HTTP request, on the standard ``logging`` logger ``"ionworks"``.

Each line gives the method, the path (never the query string: signed storage URLs carry their
signature there), the status, the milliseconds the call took (retries included), the server's
request id and how many times the request was retried. Credentials never appear: the headers
are not logged at all.

Users turn it on with ``logging.getLogger("ionworks").setLevel(logging.INFO)`` and a handler of
their own, or with ``IONWORKS_LOG=info`` (or ``debug``, which adds a line per retry) in the
environment, which also prints the lines on standard error. The check made on every request
when logging is off is ``Logger.isEnabledFor``, which the logging module caches.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import TYPE_CHECKING, Final

from ._constants import ENV_LOG
from .errors import request_id_of

if TYPE_CHECKING:
    import httpx

logger: Final = logging.getLogger("ionworks")

_LEVELS: Final = {"debug": logging.DEBUG, "info": logging.INFO}
_handler: logging.Handler | None = None


def configure_from_environment() -> None:
    """Apply ``IONWORKS_LOG`` (``debug`` or ``info``): set the level, print lines on stderr.

    Called when a client is built. Without the variable nothing changes, so a level or handler
    the application set on the ``"ionworks"`` logger is left alone.
    """
    global _handler
    level = _LEVELS.get(os.environ.get(ENV_LOG, "").strip().lower())
    if level is None:
        return
    logger.setLevel(level)
    if _handler is None:
        _handler = logging.StreamHandler(sys.stderr)
        _handler.setFormatter(logging.Formatter("%(asctime)s ionworks %(levelname)s %(message)s"))
        logger.addHandler(_handler)


def enabled() -> bool:
    """Whether request lines would be emitted (cheap: cached by the logging module)."""
    return logger.isEnabledFor(logging.INFO)


def log_request(
    kind: str,
    request: httpx.Request,
    outcome: httpx.Response | BaseException,
    milliseconds: float,
    retries: int,
) -> None:
    """The line for one request (``kind``: "api" or "storage"): its final response, or the
    error that ended it."""
    if isinstance(outcome, BaseException):
        status, request_id = type(outcome).__name__, None
    else:
        status, request_id = str(outcome.status_code), request_id_of(outcome)
    logger.info(
        "%s %s %s %s %.0fms request_id=%s retries=%d",
        kind,
        request.method,
        _where(kind, request),
        status,
        milliseconds,
        request_id or "-",
        retries,
    )


def log_retry(kind: str, request: httpx.Request, reason: str, delay: float, attempt: int) -> None:
    """A debug line before each retry: why, and after how long."""
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "%s retrying %s %s after %s in %.2fs (retry %d)",
            kind,
            request.method,
            _where(kind, request),
            reason,
            delay,
            attempt + 1,
        )


def _where(kind: str, request: httpx.Request) -> str:
    """The path of an API request; host and path of a storage one; never the query."""
    url = request.url
    path = url.raw_path.split(b"?", 1)[0].decode("ascii", "replace")
    return path if kind == "api" else f"{url.host}{path}"
