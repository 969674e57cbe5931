"""Every exception and warning the ionworks client raises or emits, in one module.

Every error a user can see is an :class:`IonworksError`; no httpx, pyarrow or attrs exception is
meant to escape the library. HTTP errors are mapped to one subclass per status in
:func:`error_from_response` so callers can ``except NotFoundError`` instead of comparing codes.
All are exported from ``ionworks``. This module imports nothing else of ``ionworks``, so any
module may import it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

REQUEST_ID_HEADERS = ("x-request-id", "x-correlation-id")
"""Response headers that may carry the server's id of a request (the first present wins)."""


class IonworksError(Exception):
    """Base class of every error raised by this library.

    ``status_code`` is the HTTP status (``None`` for client-side and transport errors),
    ``error_code`` the API's machine-readable code (``NOT_FOUND``, ``CONFLICT``, ...), ``message`` a
    human-readable description and ``detail`` the optional structured context from the server.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        error_code: str | None = None,
        detail: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.error_code = error_code
        self.detail = detail

    @property
    def data(self) -> Any:
        """The error body as the official client exposes it (alias kept for familiarity)."""
        return self.detail

    def __str__(self) -> str:
        if self.status_code is None:
            return self.message
        code = f" {self.error_code}" if self.error_code else ""
        return f"{self.status_code}{code}: {self.message}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status_code={self.status_code!r}, "
            f"error_code={self.error_code!r}, message={self.message!r})"
        )


class InvalidParameterError(IonworksError, ValueError):
    """An argument is invalid; nothing was sent. Also a ``ValueError``, as Python's own checks are."""


class MissingCredentialsError(IonworksError, ValueError):
    """No API key or token was passed and none is set in the environment.

    Also a ``ValueError``: before it existed the client raised a plain ``ValueError`` here, and
    ``except ValueError`` code written for that keeps working.
    """


class ReadOnlyCacheError(IonworksError):
    """The cache directory is read-only: nothing can be stored in or removed from it."""


class IonworksCacheWarning(UserWarning):
    """Something went wrong in the local cache; the data is still returned (or refetched)."""


class APIStatusError(IonworksError):
    """The server answered with an error status.

    ``response`` is the ``httpx.Response`` (None when the error was built without one) and
    ``request_id`` the server's id of the request (``x-request-id`` or ``x-correlation-id``
    header), to quote when reporting a problem; None when the server sent neither.
    """

    response: httpx.Response | None = None
    request_id: str | None = None


class BadRequestError(APIStatusError):
    """400: the request is invalid or missing required fields."""


class PermissionDeniedError(APIStatusError):
    """403: no permission, or missing/invalid credentials (the API does not use 401)."""


class NotFoundError(APIStatusError):
    """404: the resource does not exist (or belongs to another organization)."""

    name_lookup: tuple[str, str] | None = None
    """``(path parameter, value)`` when the value looked like a name, not an id: the message then
    says how to find the id by name (the CLI says it with its own commands)."""
    unhinted_message: str | None = None
    """The server's message, before that hint was appended."""


class ConflictError(APIStatusError):
    """409: a resource with the same name already exists, or it is busy processing."""

    @property
    def existing_id(self) -> str | None:
        """Id of the resource that already exists, when the server says which one."""
        if isinstance(self.detail, dict):
            value = self.detail.get("existing_id")
            return str(value) if value is not None else None
        return None


class PayloadTooLargeError(APIStatusError):
    """413: the request body is larger than the server accepts."""


class UsageLimitError(APIStatusError):
    """429 USAGE_LIMIT_REACHED: the organization's quota for this billing cycle is used up."""


class RateLimitError(APIStatusError):
    """429 that is plain rate limiting: retrying later can help."""


class ServerError(APIStatusError):
    """5xx: the server failed; idempotent requests have already been retried."""


class APIConnectionError(IonworksError):
    """The server could not be reached (refused, reset, DNS) after retries."""


class APITimeoutError(APIConnectionError):
    """The server did not answer within the timeout, after retries."""


class MeasurementValidationError(IonworksError):
    """Client-side data checks failed; nothing was sent.

    ``errors`` lists the problems as dicts with a stable ``code`` (for example
    ``time_series_row_count_exceeded``), a ``message`` and optional ``data``.
    """

    def __init__(self, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.errors: list[dict[str, Any]] = errors or []


class MeasurementProcessingError(IonworksError):
    """The server could not process an uploaded measurement, or did not finish in time.

    ``failures`` maps measurement id to the server's reason.
    """

    def __init__(self, message: str, failures: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.failures: dict[str, str] = failures or {}


class CacheMissError(IonworksError):
    """Offline mode is on and the requested data is not in the local cache."""


_STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
}


def request_id_of(response: httpx.Response) -> str | None:
    """The server's id of the request answered by ``response``, if it sent one."""
    for header in REQUEST_ID_HEADERS:
        value = response.headers.get(header)
        if value:
            return str(value)
    return None


def error_from_response(
    status_code: int,
    body: Any,
    fallback_text: str = "",
    *,
    response: httpx.Response | None = None,
) -> APIStatusError:
    """Build the right :class:`APIStatusError` subclass from a status and a decoded body.

    Accepts the current ``{error_code, message, detail}`` body and the legacy FastAPI
    ``{"detail": ...}`` body; anything else falls back to the response text. ``response``, when
    given, is kept on the error with its request id.
    """
    error = _error_from_body(status_code, body, fallback_text)
    if response is not None:
        error.response = response
        error.request_id = request_id_of(response)
    return error


def _error_from_body(status_code: int, body: Any, fallback_text: str) -> APIStatusError:
    """The error for a status and a decoded body (current or legacy FastAPI shape)."""
    error_code: str | None = None
    message: str | None = None
    detail: Any = None
    if isinstance(body, dict) and "error_code" in body:
        error_code = str(body["error_code"]) if body["error_code"] is not None else None
        message = body.get("message") if isinstance(body.get("message"), str) else None
        detail = body.get("detail")
    elif isinstance(body, dict) and "detail" in body:
        legacy = body["detail"]
        if isinstance(legacy, dict):
            error_code = legacy.get("error_code")
            message = legacy.get("message")
            detail = legacy
        elif isinstance(legacy, str):
            message = legacy
        else:
            message = str(legacy)
            detail = legacy
    if not message:
        message = fallback_text.strip()[:500] or f"HTTP {status_code} with no error message"

    cls: type[APIStatusError]
    if status_code == 429:
        cls = UsageLimitError if error_code == "USAGE_LIMIT_REACHED" else RateLimitError
    elif status_code >= 500:
        cls = ServerError
    else:
        cls = _STATUS_CLASSES.get(status_code, APIStatusError)
    return cls(message, status_code=status_code, error_code=error_code, detail=detail)
