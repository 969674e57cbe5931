"""Column projection: ``time_series(id, columns=[...])`` moves only those columns' chunks of the
stored parquet file (HTTP ranges on the signed URL), or selects them from a cached whole series."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest

import ionworks
from ionworks import CacheMissError, InvalidParameterError, Ionworks
from ionworks._transfer import read_window
from ionworks.data import columns as col
from ionworks_server.demo_data import long_series

EIGHT = (
    col.TIME,
    col.CURRENT,
    col.VOLTAGE,
    col.TEMPERATURE,
    col.STEP_COUNT,
    col.CYCLE_COUNT,
    col.DISCHARGE_CAPACITY,
    col.CHARGE_CAPACITY,
)
"""As stored: the server would add the step and cycle counts if they were not uploaded."""
TWO = [col.CURRENT, col.TIME]
"""A current profile, asked in a different order than stored. (Time + Voltage, the two least
compressible columns here, move 34.5 % of this file: within the target, but too close to it for a
test that must not fail on the next release of a compression library.)"""


class CountingStorage(httpx.BaseTransport):
    """The real storage transport, counting the body bytes of every answer."""

    def __init__(self) -> None:
        self.bytes = 0
        self.requests = 0
        self._real = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._real.handle_request(request)
        self.bytes += len(response.read())
        self.requests += 1
        return response


@pytest.fixture(autouse=True)
def _private_default_cache(tmp_path: Path) -> Iterator[None]:
    ionworks.set_cache_directory(tmp_path / "default")
    yield
    ionworks.set_cache_directory(None)


@pytest.fixture(scope="module")
def eight_columns(empty_server: Any, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A measurement of 200,000 rows and exactly eight columns (about 3 MB stored)."""
    client = Ionworks(
        api_key=empty_server.api_key,
        api_url=empty_server.url,
        cache_dir=tmp_path_factory.mktemp("projection-setup"),
    )
    spec = client.cell_spec.create({"name": f"projection-{id(client)}"})
    instance = client.cell_instance.create(spec.id, {"name": "projection-cell"})
    series = long_series(200_000, seed=3).select(EIGHT)
    bundle = client.cell_measurement.create(
        instance.id, {"measurement": {"name": "eight columns"}, "time_series": series}
    )
    return bundle.measurement.id


def client_for(server: Any, tmp_path: Path, **kwargs: Any) -> Ionworks:
    return Ionworks(
        api_key=server.api_key, api_url=server.url, cache_dir=tmp_path / "cache", **kwargs
    )


def polars(frame: object) -> pl.DataFrame:
    assert isinstance(frame, pl.DataFrame)
    return frame


def test_two_of_eight_columns_move_at_most_35_percent_of_the_file_and_equal_the_full_read(
    empty_server: Any, eight_columns: str, tmp_path: Path
) -> None:
    whole_storage, part_storage = CountingStorage(), CountingStorage()
    measurements = client_for(empty_server, tmp_path, storage_transport=whole_storage)
    whole = polars(measurements.cell_measurement.time_series(eight_columns, use_cache=False))
    assert whole.columns == list(EIGHT)
    projecting = client_for(empty_server, tmp_path, storage_transport=part_storage)
    part = polars(
        projecting.cell_measurement.time_series(eight_columns, columns=TWO, use_cache=False)
    )
    assert part.equals(whole.select(TWO))
    assert 0 < part_storage.bytes <= 0.35 * whole_storage.bytes, (
        part_storage.bytes,
        whole_storage.bytes,
    )


def test_columns_combine_with_a_row_range(
    empty_server: Any, eight_columns: str, tmp_path: Path
) -> None:
    client = client_for(empty_server, tmp_path)
    whole = polars(client.cell_measurement.time_series(eight_columns, use_cache=False))
    window = client.cell_measurement.time_series(
        eight_columns, columns=[col.CURRENT], row_range=(150_000, 150_010), use_cache=False
    )
    assert polars(window).equals(whole.select(col.CURRENT).slice(150_000, 10))


def test_a_projection_is_never_cached_as_the_whole_series(
    empty_server: Any, eight_columns: str, tmp_path: Path
) -> None:
    online = client_for(empty_server, tmp_path)
    part = polars(online.cell_measurement.time_series(eight_columns, columns=TWO))
    assert part.columns == TWO
    offline = client_for(empty_server, tmp_path, offline=True)
    with pytest.raises(CacheMissError):
        offline.cell_measurement.time_series(eight_columns)


def test_columns_of_a_cached_series_are_selected_locally_without_storage_requests(
    empty_server: Any, eight_columns: str, tmp_path: Path
) -> None:
    storage = CountingStorage()
    client = client_for(empty_server, tmp_path, storage_transport=storage)
    whole = polars(client.cell_measurement.time_series(eight_columns))  # fills the cache
    before = storage.requests
    part = client.cell_measurement.time_series(eight_columns, columns=TWO, row_range=(5, 9))
    assert polars(part).equals(whole.select(TWO).slice(5, 4))
    assert storage.requests == before


def test_an_unknown_column_raises_listing_the_columns_present(
    empty_server: Any, eight_columns: str, tmp_path: Path
) -> None:
    client = client_for(empty_server, tmp_path)
    for use_cache in (False, True):  # remote footer, then the cached series
        if use_cache:
            client.cell_measurement.time_series(eight_columns)
        with pytest.raises(InvalidParameterError) as caught:
            client.cell_measurement.time_series(
                eight_columns, columns=[col.VOLTAGE, "Voltage"], use_cache=use_cache
            )
        message = str(caught.value)
        assert "'Voltage'" in message
        assert all(repr(name) in message for name in EIGHT), message


@pytest.mark.parametrize("columns", [[], [3], [col.TIME, None]])
def test_columns_must_be_a_non_empty_list_of_names(
    empty_server: Any, eight_columns: str, tmp_path: Path, columns: Any
) -> None:
    client = client_for(empty_server, tmp_path)
    with pytest.raises(InvalidParameterError, match="columns="):
        client.cell_measurement.time_series(eight_columns, columns=columns)


def test_a_projection_downloads_only_the_chunks_of_its_columns_even_with_dots_in_names() -> None:
    rows = 100_000  # hashed, so incompressible: ~0.8 MB a column, in 4 row groups
    frame = pl.select(
        pl.int_range(0, rows, dtype=pl.Int64).hash(seed).alias(name)
        for seed, name in enumerate(EIGHT)
    )
    buffer = io.BytesIO()
    frame.write_parquet(buffer, row_group_size=rows // 4, statistics=False)
    data = buffer.getvalue()
    fetched: list[int] = []

    def fetch(first: int | None, last: int) -> tuple[bytes, int, int]:
        start = max(0, len(data) - last) if first is None else first
        stop = len(data) if first is None else last + 1
        fetched.append(stop - start)
        return data[start:stop], start, len(data)

    wanted = [col.CHARGE_CAPACITY, col.TIME]  # "[A.h]": a dot inside a flat name
    part = read_window(fetch, 0, rows, "test series", wanted)
    assert part.equals(frame.select(wanted))
    assert sum(fetched) < len(data) * 2 / 8 + 70_000  # two columns, plus the footer read


def local_fetch(data: bytes) -> Any:
    """A range fetch over bytes in memory, like storage answering ``Range`` requests."""

    def fetch(first: int | None, last: int) -> tuple[bytes, int, int]:
        start = max(0, len(data) - last) if first is None else first
        stop = len(data) if first is None else last + 1
        return data[start:stop], start, len(data)

    return fetch


def test_a_footer_larger_than_the_first_tail_read_is_fetched_whole() -> None:
    frame = pl.DataFrame({col.TIME: range(3000), col.VOLTAGE: range(3000)})
    buffer = io.BytesIO()
    frame.write_parquet(buffer, row_group_size=10)  # 300 row groups: a footer of ~50 KiB
    part = read_window(local_fetch(buffer.getvalue()), 2005, 2015, "test series", [col.VOLTAGE])
    assert part.equals(frame.select(col.VOLTAGE).slice(2005, 10))


def test_a_body_that_is_not_parquet_raises_an_ionworks_error() -> None:
    with pytest.raises(ionworks.IonworksError, match="footer of the test series"):
        read_window(local_fetch(b"not parquet at all" * 100), 0, 10, "test series", [col.TIME])
