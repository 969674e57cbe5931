"""The two HTTP clients: one for the API (credentials, retries, error mapping) and one for storage.

The async client builds its two (``_async_http``) from the same pieces: headers, timeouts, the
retry policy, error mapping and :func:`translate_transport_errors`.

Signed storage URLs are fetched by a client that carries no credentials at all, so following a
redirect to the storage host can never leak the API key. Every httpx exception is translated here
into an :class:`~ionworks.errors.IonworksError`; nothing from httpx reaches the user.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

import httpx

from ._deadline import deadline_transport
from ._operations import request_of, response_of
from ._retry import CALL_TIMEOUT, RetryPolicy, RetryTransport
from ._version import __version__
from .errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    InvalidParameterError,
    IonworksError,
    error_from_response,
)

if TYPE_CHECKING:
    from ionworks_generated import Client as GeneratedClient

USER_AGENT = f"ionworks-python/{__version__}"


def raise_for_api_error(response: httpx.Response) -> None:
    """Turn an error status into the matching :class:`IonworksError` subclass."""
    if response.status_code < 400:
        return
    response.read()
    error = _error_of(response)
    correlation = response.headers.get("x-correlation-id")
    if correlation and isinstance(error.detail, dict):
        error.detail.setdefault("correlation_id", correlation)
    raise error


def _error_of(response: httpx.Response) -> APIStatusError:
    """The error an error response stands for; a body that is not JSON becomes its text."""
    try:
        body: Any = json.loads(response.content) if response.content else None
    except ValueError:
        body = None
    return error_from_response(response.status_code, body, response.text, response=response)


@dataclass(frozen=True)
class Retries:
    """The retry policy both clients share: retries after the first try, and their time budget."""

    max_retries: int
    budget: float

    def policy(self, deadline: float | None = None) -> RetryPolicy:
        """The decisions both transports follow, for calls bounded by ``deadline`` seconds."""
        return RetryPolicy(max(0, self.max_retries), self.budget, deadline)

    def around(
        self,
        transport: httpx.BaseTransport,
        *,
        owns: bool,
        deadline: float | None = None,
        kind: str = "api",
    ) -> RetryTransport:
        """``transport`` behind this policy; ``owns=False`` leaves a shared pool open on close."""
        return RetryTransport(
            transport,
            max_retries=self.max_retries,
            budget=self.budget,
            deadline=deadline,
            owns_wrapped=owns,
            kind=kind,
        )


def build_api_client(
    base_url: str,
    headers: dict[str, str],
    *,
    timeout: float,
    retries: Retries,
    transport: httpx.BaseTransport | None = None,
    owns_transport: bool = True,
) -> httpx.Client:
    """The API client: auth headers, retry policy, errors raised from a response hook.

    ``timeout`` bounds each call as a whole (connect, every byte of the answer, retries).
    ``owns_transport=False`` leaves ``transport`` (a pool shared with another client) open on
    :meth:`httpx.Client.close`.
    """
    return httpx.Client(
        base_url=base_url,
        headers=api_headers(headers),
        timeout=api_timeout(timeout),
        transport=retries.around(
            transport or deadline_transport(), owns=owns_transport, deadline=timeout
        ),
        follow_redirects=False,
        event_hooks={"response": [raise_for_api_error]},
    )


def build_storage_client(
    *,
    timeout: float,
    retries: Retries,
    transport: httpx.BaseTransport | None = None,
    owns_transport: bool = True,
) -> httpx.Client:
    """A client for signed storage URLs: no credentials, no base URL, redirects followed."""
    return httpx.Client(
        headers={"User-Agent": USER_AGENT},
        timeout=storage_timeout(timeout),
        transport=retries.around(
            transport or httpx.HTTPTransport(), owns=owns_transport, kind="storage"
        ),
        follow_redirects=True,
    )


def api_headers(headers: dict[str, str]) -> dict[str, str]:
    """Every API request's headers: ours, then the credential's."""
    return {"User-Agent": USER_AGENT, "Accept": "application/json", **headers}


def storage_timeout(seconds: float) -> httpx.Timeout:
    """httpx's timeouts of a storage transfer: ``seconds`` per read, 10 s to connect."""
    return httpx.Timeout(seconds, connect=10.0)


@contextmanager
def translate_transport_errors(url: str) -> Iterator[None]:
    """Map httpx transport failures inside the block to our connection errors, naming ``url``."""
    try:
        yield
    except IonworksError:
        raise
    except httpx.TimeoutException as exc:
        raise APITimeoutError(
            f"Timed out talking to {url} ({type(exc).__name__}). The server may be overloaded; "
            "retry later or pass a larger timeout= to Ionworks()."
        ) from exc
    except httpx.TransportError as exc:
        raise APIConnectionError(
            f"Could not reach {url}: {exc or type(exc).__name__}. Check the URL "
            "(IONWORKS_API_URL) and your network connection."
        ) from exc
    except httpx.HTTPError as exc:
        raise APIConnectionError(f"HTTP error talking to {url}: {exc}") from exc


def api_timeout(seconds: float) -> httpx.Timeout:
    """httpx's per-operation timeouts for a call bounded by ``seconds`` (connect: 10 s at most)."""
    return httpx.Timeout(seconds, connect=min(seconds, 10.0))


def check_timeout(timeout: float | None, name: str = "timeout") -> None:
    """Refuse a timeout that is not a positive, finite number of seconds (None: the default)."""
    if timeout is None:
        return
    if isinstance(timeout, bool) or not (
        isinstance(timeout, int | float) and 0 < timeout < math.inf
    ):
        raise InvalidParameterError(f"{name}={timeout!r} must be a positive number of seconds")


def send(
    http: httpx.Client, url: str, request: dict[str, Any], *, timeout: float | None = None
) -> httpx.Response:
    """Send the request keywords of a generated operation; error statuses raise from the hook.

    ``timeout`` (seconds) bounds this call as a whole, retries included, instead of the client's
    ``timeout``; None keeps the client's.
    """
    with translate_transport_errors(url):
        return http.request(**with_timeout(request, timeout))


def with_timeout(request: dict[str, Any], timeout: float | None) -> dict[str, Any]:
    """Request keywords bounded by ``timeout`` seconds in all (None: the client's timeout)."""
    if timeout is None:
        return request
    check_timeout(timeout)
    return {**request, "timeout": api_timeout(timeout), "extensions": {CALL_TIMEOUT: timeout}}


def parse(operation: ModuleType, api: GeneratedClient, url: str, response: httpx.Response) -> Any:
    """Decode a response with the generated operation's parser.

    Only this step may blame the server: a bug of ours elsewhere in a call raises as itself.
    """
    try:
        return response_of(operation, api, response)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise IonworksError(
            f"The server at {url} sent a response this client could not understand "
            f"({type(exc).__name__}: {exc}). Is IONWORKS_API_URL pointing at an Ionworks API?"
        ) from exc


def call(
    operation: ModuleType,
    api: GeneratedClient,
    url: str,
    *args: Any,
    timeout: float | None = None,
    **kwargs: Any,
) -> Any:
    """Run one generated operation on our client: encoded and decoded by the generated code."""
    request = request_of(operation, *args, **kwargs)
    return parse(operation, api, url, send(api.get_httpx_client(), url, request, timeout=timeout))


def raise_storage_error(response: httpx.Response, what: str) -> None:
    """Storage errors (for example an expired signature) as IonworksError with context."""
    error = _error_of(response)
    error.message = f"Storage refused the {what} transfer: {error.message}"
    error.args = (error.message,)
    raise error
