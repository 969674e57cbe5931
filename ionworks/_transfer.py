"""Storage transfers: follow the API's redirect, download (whole or a row window), upload.

Every byte goes through the client's credential-free storage client (``storage_transport``,
retries and ``transfer_timeout`` apply), so following a redirect to the storage host can never
leak the API key. Errors come out as :class:`~ionworks.errors.IonworksError` subclasses.

A row window or a set of columns is read with HTTP range requests: the parquet footer first (the
last 16 KiB), then only the column chunks of the row groups holding the rows asked for (one span
for a row window of every column; a span per run of neighbouring chunks otherwise), decoded by
pyarrow from Arrow-owned memory (see ``_Ranges.native``).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Final

import httpx
import polars as pl

from ._dataframe import read_parquet
from ._http import raise_storage_error, translate_transport_errors
from ._transfer_rules import (
    absolute,
    bar,
    byte_range,
    host_of,
    location,
    options,
    quiet_transfers,
    run,
    whole_body,
)
from .errors import InvalidParameterError, IonworksError

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.parquet as pq

TAIL_BYTES: Final = 16 * 1024
"""First ranged read of a window or projection: the footer of a series the server wrote fits in it
up to some 2M rows of 12 columns (a larger footer costs one more request). Measured: a 64 KiB
tail was 1.3 % of a 5 MB, 200k-row file, a third of what reading 2 of its 8 columns may cost."""
EVERY_ROW: Final = (0, 1 << 62)
"""A row window covering any table: a column projection of the whole series."""
CHUNK_GAP: Final = 8 * 1024
"""Neighbouring column chunks closer than this are fetched in one request (a round trip costs
more than a few KiB)."""


class Transfer:
    """The storage side of one client: what the resources call to move table bytes. The rules
    (when to ask again, what an answer means) are :mod:`._transfer_rules`'; this sends."""

    def __init__(self, storage: httpx.Client, api_url: str) -> None:
        self._storage = storage
        self._api_url = api_url

    def body(self, response: httpx.Response, *, what: str, timeout: float | None = None) -> bytes:
        """The bytes an API download answered: inline (200), or behind its redirect (3xx)."""
        url = location(response, self._api_url, what)
        if url is None:
            return bytes(response.content)
        return self.download(url, what=what, timeout=timeout)

    def rows(
        self,
        response: httpx.Response,
        start: int,
        stop: int,
        *,
        columns: Sequence[str] | None = None,
        what: str,
        timeout: float | None = None,
    ) -> pl.DataFrame:
        """Rows ``start <= i < stop`` (of ``columns`` only, when given) of the parquet table an
        API download answered."""
        url = location(response, self._api_url, what)
        if url is None:  # sent inline: slice what we already have
            return inline_rows(response, start, stop, columns, what)

        def fetch(first: int | None, last: int) -> tuple[bytes, int, int]:
            return run(byte_range(first, last, what), lambda spec: self._range(url, spec, timeout))

        with translate_transport_errors(host_of(url)):
            return read_window(fetch, start, stop, what, columns)

    def upload(
        self, location: str, data: bytes, *, what: str, timeout: float | None = None
    ) -> None:
        """PUT bytes to a signed URL (idempotent, so the transport may retry it)."""
        url = absolute(self._api_url, location)
        with translate_transport_errors(host_of(url)):
            with bar(len(data), f"Uploading {what}") as advance:
                content: Any = data if advance is None else _chunks(data, advance)
                response = self._storage.put(
                    url,
                    content=content,
                    headers={
                        "Content-Type": "application/octet-stream",
                        "Content-Length": str(len(data)),
                    },
                    **options(timeout),
                )
            if response.status_code >= 400:
                raise_storage_error(response, what)

    def download(self, url: str, *, what: str, timeout: float | None = None) -> bytes:
        """GET a signed URL completely, starting again when the body was cut short.

        A progress bar is shown for large transfers when a person is watching.
        """
        with translate_transport_errors(host_of(url)):
            return run(whole_body(what), lambda _: self._download_once(url, what, timeout))

    def _download_once(self, url: str, what: str, timeout: float | None) -> bytes:
        with self._storage.stream("GET", url, **options(timeout)) as response:
            if response.status_code >= 400:
                response.read()
                raise_storage_error(response, what)
            size = int(response.headers.get("Content-Length") or 0)
            with bar(size, f"Downloading {what}") as advance:
                if advance is None:
                    return response.read()
                chunks = []
                for chunk in response.iter_bytes(1 << 20):
                    chunks.append(chunk)
                    advance(len(chunk))
                return b"".join(chunks)

    def _range(self, url: str, spec: str | None, timeout: float | None) -> httpx.Response:
        """One GET of ``spec`` (a Range value; None: the whole object), its body read."""
        headers = {} if spec is None else {"Range": spec}
        return self._storage.get(url, headers=headers, **options(timeout))


def inline_rows(
    response: httpx.Response, start: int, stop: int, columns: Sequence[str] | None, what: str
) -> pl.DataFrame:
    """A row window of a table the API sent inline (not redirected): sliced after decoding."""
    frame = read_parquet(bytes(response.content), description=what)
    return select_columns(frame.slice(start, stop - start), columns, what)


Fetch = Callable[[int | None, int], tuple[bytes, int, int]]

DICT_HEADER_PAD: Final = 100
"""Bytes read past a column chunk's recorded end, as Arrow does for files of old writers whose
recorded size left out the dictionary page header (PARQUET-816); negligible otherwise."""


class _Ranges:
    """The byte ranges of one storage object fetched so far: the tail first, then each span the
    read needs, each in one request."""

    def __init__(self, fetch: Fetch) -> None:
        self._fetch = fetch
        self.tail, where, self.size = fetch(None, TAIL_BYTES)
        self.segments: list[tuple[int, bytes]] = [(where, self.tail)]

    def get(self, first: int, last: int) -> bytes:
        """Bytes ``first..last``, downloaded in one request unless they are here already."""
        for where, data in self.segments:
            if where <= first and last < where + len(data):
                return data[first - where : last - where + 1]
        data, where, _ = self._fetch(first, last)
        self.segments.append((where, data))
        return data[first - where : last - where + 1]

    def native(self) -> pa.Buffer:
        """The object as one buffer in Arrow's memory, the fetched ranges filled in.

        Why not a Python file object: every read pyarrow makes from one is wrapped in a buffer
        owning a Python object, released by whichever Arrow thread drops it last, under the GIL.
        A decode worker dropping one while the interpreter exits is killed inside a noexcept
        destructor, and the process aborts ("terminate called without an active exception").
        The bytes never fetched are never touched, so they cost address space, not memory.
        """
        import pyarrow as pa

        buffer = pa.allocate_buffer(self.size)
        view = memoryview(buffer).cast("B")
        for where, data in self.segments:
            view[where : where + len(data)] = data
        return buffer


def read_window(
    fetch: Fetch, start: int, stop: int, what: str, columns: Sequence[str] | None = None
) -> pl.DataFrame:
    """Rows ``start <= i < stop`` of a remote parquet file (``columns`` only, when given),
    downloading only the column chunks needed.

    pyarrow is imported here, not above: whole tables never need it (polars decodes them), and
    importing it costs every first ``detail()`` some 10 ms.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    remote = _Ranges(fetch)
    metadata = _footer(remote, what)
    present = metadata.schema.to_arrow_schema().names
    names = None if columns is None else _checked(present, columns, what)
    groups, first_row = _row_groups(metadata, start, stop)
    for span in _byte_spans(metadata, groups, names, remote.size):
        remote.get(*span)
    try:
        parquet = pq.ParquetFile(pa.BufferReader(remote.native()), metadata=metadata)
        table = parquet.read_row_groups(groups, columns=names)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise IonworksError(f"Could not read rows {start}..{stop} of the {what}: {exc}") from exc
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame.slice(start - first_row, stop - start)


def _footer(remote: _Ranges, what: str) -> pq.FileMetaData:
    """The footer, parsed from the tail already fetched when it holds it all (pyarrow's own
    first read would be the last 64 KiB: a second request and up to 48 KiB more)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    tail = remote.tail
    length = int.from_bytes(tail[-8:-4], "little")
    try:
        if tail[-4:] != b"PAR1" or length + 8 > remote.size:
            raise ValueError("the file does not end with a parquet footer")
        if length + 8 > len(tail):
            tail = remote.get(remote.size - length - 8, remote.size - 1)
        return pq.read_metadata(io.BytesIO(b"PAR1" + tail[-(length + 8) :]))
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise IonworksError(f"Could not read the footer of the {what}: {exc}") from exc


def select_columns(frame: pl.DataFrame, columns: Sequence[str] | None, what: str) -> pl.DataFrame:
    """``frame`` with only ``columns`` (in that order); None keeps them all."""
    if columns is None:
        return frame
    return frame.select(_checked(frame.columns, columns, what))


def check_columns(columns: Sequence[str] | None) -> list[str] | None:
    """A column projection as a list of distinct names (a lone string is one name)."""
    if columns is None:
        return None
    listed = [columns] if isinstance(columns, str) else list(columns)
    if not listed or not all(isinstance(name, str) for name in listed):
        raise InvalidParameterError(f"columns={columns!r} must be a non-empty list of column names")
    return list(dict.fromkeys(listed))


def _checked(present: Sequence[str], columns: Sequence[str], what: str) -> list[str]:
    """``columns``, or an error naming those missing and every column the table has."""
    missing = [name for name in columns if name not in present]
    if missing:
        raise InvalidParameterError(
            f"The {what} has no column {', '.join(map(repr, missing))}; "
            f"its columns are: {', '.join(map(repr, present))}"
        )
    return list(columns)


def _row_groups(metadata: pq.FileMetaData, start: int, stop: int) -> tuple[list[int], int]:
    """Indices of the row groups overlapping rows ``start..stop``, and the first one's row."""
    groups: list[int] = []
    first_row = offset = 0
    for index in range(metadata.num_row_groups):
        rows = metadata.row_group(index).num_rows
        if offset < stop and offset + rows > start:
            if not groups:
                first_row = offset
            groups.append(index)
        offset += rows
    return groups, first_row


def _byte_spans(
    metadata: pq.FileMetaData, groups: list[int], names: list[str] | None, size: int
) -> list[tuple[int, int]]:
    """First and last bytes of the column chunks wanted (``names``, or all) of ``groups`` in a
    file of ``size`` bytes, neighbouring chunks merged into one span so each span is one request.
    The ranges are those Arrow reads (``ComputeColumnChunkRange``), padded as it pads them."""
    chunks: list[tuple[int, int]] = []
    wanted = [_wanted(metadata.schema.column(i).path, names) for i in range(metadata.num_columns)]
    for index in groups:
        group = metadata.row_group(index)
        for column in range(group.num_columns):
            if not wanted[column]:
                continue
            chunk = group.column(column)
            offsets = [chunk.data_page_offset]
            if chunk.has_dictionary_page and chunk.dictionary_page_offset:
                offsets.append(chunk.dictionary_page_offset)
            begin = min(offsets)
            end = begin + chunk.total_compressed_size + DICT_HEADER_PAD
            chunks.append((begin, min(end, size) - 1))
    spans: list[tuple[int, int]] = []
    for first, last in sorted(chunks):
        if spans and first - spans[-1][1] <= CHUNK_GAP:
            spans[-1] = (spans[-1][0], max(spans[-1][1], last))
        else:
            spans.append((first, last))
    return spans


def _wanted(path: str, names: list[str] | None) -> bool:
    """Whether a leaf column (dotted path; a flat name may hold dots itself) is asked for."""
    return names is None or any(path == name or path.startswith(name + ".") for name in names)


def _chunks(data: bytes, advance: Callable[[int], None]) -> Any:
    view = memoryview(data)
    for start in range(0, len(view), 1 << 20):
        piece = view[start : start + (1 << 20)]
        yield bytes(piece)
        advance(len(piece))


__all__ = [
    "EVERY_ROW",
    "Transfer",
    "check_columns",
    "inline_rows",
    "quiet_transfers",
    "read_window",
    "select_columns",
]
