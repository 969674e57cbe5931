"""``PaginatedList`` (and its async twin): one page of results that behaves like a list, and can
walk the rest. The page's list behaviour, reprs and the decoding of a list answer are shared;
only fetching the next page differs (a call, or an ``await``)."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from .errors import IonworksError
from .models import Resource

if TYPE_CHECKING:
    import httpx

R = TypeVar("R", bound=Resource)


class _Page(Generic[R]):
    """What a page of either client is: a list of records, and where it sits among them."""

    def __init__(self, items: list[R], *, total: int, limit: int | None, offset: int) -> None:
        self.items = items
        self.total = total
        self.limit = limit
        self.offset = offset

    @property
    def count(self) -> int:
        """Number of items in this page."""
        return len(self.items)

    @property
    def has_more(self) -> bool:
        """Whether records remain after this page (decided by the server's ``total``)."""
        return self.offset + self.count < self.total

    def _next_offset(self) -> int | None:
        """Where the next page starts, or None at the end (never a guess from the page size)."""
        return self.offset + self.count if self.has_more and self.items else None

    @overload
    def __getitem__(self, index: int) -> R: ...
    @overload
    def __getitem__(self, index: slice) -> list[R]: ...
    def __getitem__(self, index: int | slice) -> R | list[R]:
        try:
            return self.items[index]
        except IndexError:
            raise IndexError(
                f"page index {index} out of range: this page holds {self.count} of {self.total} "
                "records; use auto_paging_iter() or list(limit=, offset=) for the others"
            ) from None

    def __iter__(self) -> Iterator[R]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __contains__(self, item: object) -> bool:
        return item in self.items

    def __reversed__(self) -> Iterator[R]:
        return reversed(self.items)

    def index(self, item: R) -> int:
        return self.items.index(item)

    def __bool__(self) -> bool:
        return bool(self.items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _Page):
            return self.items == other.items and self.total == other.total
        if isinstance(other, list):
            return self.items == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        head = ", ".join(repr(item) for item in self.items[:3])
        more = f", … {self.count - 3} more" if self.count > 3 else ""
        return (
            f"{type(self).__name__}(count={self.count}, total={self.total}, offset={self.offset}, "
            f"items=[{head}{more}])"
        )

    def _repr_html_(self) -> str:
        if not self.items:
            return f"<p>{type(self).__name__}: 0 of {self.total}</p>"
        columns: list[str] = []
        for item in self.items[:50]:
            for key, value in item.items():
                if key not in columns and not isinstance(value, dict | list):
                    columns.append(key)
        columns = columns[:8]
        header = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
        body = "".join(
            "<tr>"
            + "".join(f"<td>{html.escape(_cell(item.get(c)))}</td>" for c in columns)
            + "</tr>"
            for item in self.items[:50]
        )
        note = f"<p>Showing {min(self.count, 50)} of {self.count} on this page; {self.total} in all.</p>"
        return f"<table><tr>{header}</tr>{body}</table>{note}"


class PaginatedList(_Page[R]):
    """One page of a ``list()`` call.

    Iterate, index, slice, ``len()`` and ``in`` it like a list (``count`` is a property here,
    not ``list.count``, as the docs promise). ``.items`` is the page as a list,
    ``.total`` the number of matching records across all pages (after filters), ``.count`` the
    number on this page. :meth:`auto_paging_iter` yields every record of every page, carrying the
    same filters and page size.
    """

    def __init__(
        self,
        items: list[R],
        *,
        total: int,
        limit: int | None,
        offset: int,
        fetch_page: Callable[[int, int | None], PaginatedList[R]] | None = None,
    ) -> None:
        super().__init__(items, total=total, limit=limit, offset=offset)
        self._fetch_page = fetch_page

    def auto_paging_iter(self) -> Iterator[R]:
        """Yield every record from this page onwards, fetching later pages as needed.

        Stops when the server's ``total`` is reached (or a page comes back empty), never on a
        guess from the page size.
        """
        page: PaginatedList[R] = self
        while True:
            yield from page.items
            next_offset = page._next_offset()
            if next_offset is None or page._fetch_page is None:
                return
            page = page._fetch_page(next_offset, page.limit)


class AsyncPaginatedList(_Page[R]):
    """A page of an ``AsyncIonworks`` ``list()`` call: the same list behaviour as
    :class:`PaginatedList` over this page, and ``async for`` over every record of every page."""

    def __init__(
        self,
        items: list[R],
        *,
        total: int,
        limit: int | None,
        offset: int,
        fetch_page: Callable[[int, int | None], Awaitable[AsyncPaginatedList[R]]] | None = None,
    ) -> None:
        super().__init__(items, total=total, limit=limit, offset=offset)
        self._fetch_page = fetch_page

    async def auto_paging_iter(self) -> AsyncIterator[R]:
        """Yield every record from this page onwards, awaiting later pages as needed."""
        page: AsyncPaginatedList[R] = self
        while True:
            for item in page.items:
                yield item
            next_offset = page._next_offset()
            if next_offset is None or page._fetch_page is None:
                return
            page = await page._fetch_page(next_offset, page.limit)

    def __aiter__(self) -> AsyncIterator[R]:
        return self.auto_paging_iter()


def parse_page(
    response: httpx.Response, wrap: Callable[[dict[str, Any]], R], offset: int, url: str
) -> tuple[list[R], int]:
    """The records and the server's ``total`` of a list answer (both clients decode it so)."""
    try:
        body = response.json()
        raw_items = body["items"] if isinstance(body, dict) else body  # legacy: bare array
        items = [wrap(item) for item in raw_items]
        total = body.get("total") if isinstance(body, dict) else None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise IonworksError(
            f"The server at {url} sent a list response this client could not understand "
            f"({type(exc).__name__}: {exc}). Is IONWORKS_API_URL pointing at an Ionworks API?"
        ) from exc
    return items, total if isinstance(total, int) else offset + len(items)


def _cell(value: Any) -> str:
    return "" if value is None else str(value)
