"""What every resource sub-client shares: calling a generated operation and paging.

:func:`prepare_request` and :func:`page_query` are the async resources' too (``_async_resources``).
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from .._http import parse, send
from .._operations import request_of
from .._pagination import PaginatedList, parse_page
from ..errors import NotFoundError
from ..models import Resource
from ._ids import add_name_hint, check_path_parameters, keep_dot_segments, path_parameters

if TYPE_CHECKING:
    from .._client import Ionworks

R = TypeVar("R", bound=Resource)


class ResourceAPI:
    """Base of ``client.cell_spec``, ``client.cell_instance``, ..."""

    def __init__(self, client: Ionworks) -> None:
        self._client = client

    def _call(
        self, operation: ModuleType, *args: Any, timeout: float | None = None, **kwargs: Any
    ) -> Any:
        """Run a generated operation; positional arguments are its path parameters (ids).

        ``timeout`` (seconds) bounds this call, retries included; None: the client's timeout.
        Error statuses were already raised by the response hook; a 404 for an id that looks
        like a name says how to look it up by name.
        """
        response = self._send(operation, args, kwargs, timeout=timeout)
        return parse(operation, self._client._api, self._client.api_url, response)

    def _parsed(
        self, operation: ModuleType, *args: Any, timeout: float | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """The JSON body of a successful call, as a plain dict."""
        parsed = self._call(operation, *args, timeout=timeout, **kwargs).parsed
        return parsed.to_dict() if parsed is not None else {}

    def _send(
        self,
        operation: ModuleType,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        timeout: float | None = None,
    ) -> httpx.Response:
        """Send the generated operation's request, its ids checked and kept one path segment."""
        ids, request = prepare_request(operation, args, kwargs)
        try:
            return send(self._client._http, self._client.api_url, request, timeout=timeout)
        except NotFoundError as error:
            add_name_hint(error, ids)
            raise

    def _page(
        self,
        operation: ModuleType,
        wrap: Callable[[dict[str, Any]], R],
        args: tuple[Any, ...],
        filters: dict[str, Any],
        limit: int | None,
        offset: int,
        *,
        timeout: float | None = None,
    ) -> PaginatedList[R]:
        """Fetch one page; the returned list can fetch the following pages with the same filters.

        The request is encoded by the generated operation (path, parameter names, enum values),
        but the page is decoded straight from JSON into our resource objects, for speed (see
        :mod:`ionworks._operations`). ``timeout`` bounds each page's call, later pages included.
        """

        def fetch(next_offset: int, page_limit: int | None) -> PaginatedList[R]:
            return self._page(
                operation, wrap, args, filters, page_limit, next_offset, timeout=timeout
            )

        response = self._send(operation, args, page_query(filters, limit, offset), timeout=timeout)
        items, total = parse_page(response, wrap, offset, self._client.api_url)
        return PaginatedList(items, total=total, limit=limit, offset=offset, fetch_page=fetch)


def prepare_request(
    operation: ModuleType, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The named path ids and the request keywords of one call (both clients send these).

    The ids are checked and each kept one path segment.
    """
    ids = path_parameters(operation, args)
    check_path_parameters(ids)
    request = request_of(operation, *args, **kwargs)
    request["url"] = keep_dot_segments(request["url"])
    return ids, request


def page_query(filters: dict[str, Any], limit: int | None, offset: int) -> dict[str, Any]:
    """A list operation's keywords for one page."""
    query = dict(filters)
    if limit is not None:
        query["limit"] = limit
    query["offset"] = offset
    return query
