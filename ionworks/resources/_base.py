"""What every resource sub-client shares: calling a generated operation and paging."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from .._http import call
from .._pagination import PaginatedList
from ..models import Resource

if TYPE_CHECKING:
    from .._client import Ionworks

R = TypeVar("R", bound=Resource)


class ResourceAPI:
    """Base of ``client.cell_spec``, ``client.cell_instance``, ..."""

    def __init__(self, client: Ionworks) -> None:
        self._client = client

    def _call(self, operation: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``operation.sync_detailed``; errors were already raised by the response hook."""
        response = call(self._client.api_url, operation, *args, client=self._client._api, **kwargs)
        return response

    def _parsed(self, operation: Callable[..., Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
        """The JSON body of a successful call, as a plain dict."""
        parsed = self._call(operation, *args, **kwargs).parsed
        return parsed.to_dict() if parsed is not None else {}

    def _page(
        self,
        operation: Callable[..., Any],
        wrap: Callable[[dict[str, Any]], R],
        args: tuple[Any, ...],
        filters: dict[str, Any],
        limit: int | None,
        offset: int,
    ) -> PaginatedList[R]:
        """Fetch one page; the returned list can fetch the following pages with the same filters."""

        def fetch(next_offset: int, page_limit: int | None) -> PaginatedList[R]:
            return self._page(operation, wrap, args, filters, page_limit, next_offset)

        kwargs = dict(filters)
        if limit is not None:
            kwargs["limit"] = limit
        kwargs["offset"] = offset
        body = self._call(operation, *args, **kwargs).parsed
        items = [wrap(item.to_dict()) for item in body.items]
        total = body.total if isinstance(body.total, int) else len(items)
        return PaginatedList(items, total=total, limit=limit, offset=offset, fetch_page=fetch)


def without_none(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None}
