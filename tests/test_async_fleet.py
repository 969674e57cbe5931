"""``await AsyncIonworks.cell_measurement.fetch_many(...)`` on the live server: the same result as
the sync pull, a missing measurement and an injected storage fault failing alone, a rerun
fetching only what is missing, the concurrency bound, one progress bar."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
import polars as pl
import pytest

import ionworks
from ionworks import AsyncIonworks, Ionworks
from ionworks import _fleet as fleet
from ionworks.errors import InvalidParameterError, NotFoundError

pytestmark = pytest.mark.anyio
MISSING = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _private_default_cache(tmp_path: Path) -> Iterator[None]:
    ionworks.set_cache_directory(tmp_path / "default")
    yield
    ionworks.set_cache_directory(None)


class Storage(httpx.AsyncBaseTransport):
    """The real async storage transport, counting requests and the most in flight at once;
    GETs of ``broken`` paths answer 403, like a revoked object."""

    def __init__(self, broken: str | None = None) -> None:
        self.broken = broken
        self.paths: list[str] = []
        self.in_flight = self.most_in_flight = 0
        self._real = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.broken and self.broken in request.url.path:
                return httpx.Response(403, json={"error_code": "FORBIDDEN", "message": "revoked"})
            response = await self._real.handle_async_request(request)
            await response.aread()
            return response
        finally:
            self.in_flight -= 1


@pytest.fixture(scope="module")
def fleet_ids(live_server: Any) -> list[str]:
    """Four time-series measurements of the demo data."""
    with Ionworks(api_key=live_server.api_key, api_url=live_server.url) as client:
        spec = client.cell_spec.list(name_exact="NCM622/Graphite Coin Cell")[0]
        ids: list[str] = []
        for instance in client.cell_instance.list_all(spec.id):
            listed = client.cell_measurement.list_all(instance.id, measurement_type="time_series")
            ids += [m.id for m in listed]
    assert len(ids) >= 4
    return ids[:4]


def client_for(server: Any, cache: Path, **kwargs: Any) -> AsyncIonworks:
    return AsyncIonworks(api_key=server.api_key, api_url=server.url, cache_dir=cache, **kwargs)


async def test_a_missing_measurement_and_a_storage_fault_fail_alone_and_a_rerun_fetches_only_them(
    live_server: Any, fleet_ids: list[str], tmp_path: Path
) -> None:
    victim = fleet_ids[1]
    faulty = Storage(broken=f"/{victim}/time_series")
    async with client_for(live_server, tmp_path / "cache", storage_transport=faulty) as first:
        result = await first.cell_measurement.fetch_many([*fleet_ids, MISSING], concurrency=3)
    assert set(result.failed) == {victim, MISSING}
    assert isinstance(result.failed[MISSING], NotFoundError)
    assert "revoked" in str(result.failed[victim])
    complete = [mid for mid in fleet_ids if mid != victim]
    assert [mid for mid, _ in result] == complete and not result.ok

    with Ionworks(
        api_key=live_server.api_key, api_url=live_server.url, cache_dir=tmp_path / "sync"
    ) as sync:
        expected = sync.cell_measurement.fetch_many(complete, concurrency=3)
    for mid in complete:
        assert list(result.frames[mid]) == ["time_series", "steps", "cycles"]
        for name, frame in result.frames[mid].items():
            reference = expected.frames[mid][name]
            assert isinstance(frame, pl.DataFrame) and isinstance(reference, pl.DataFrame)
            assert frame.equals(reference)

    counting = Storage()
    async with client_for(live_server, tmp_path / "cache", storage_transport=counting) as again:
        rerun = await again.cell_measurement.fetch_many(fleet_ids)
    assert rerun.ok and list(rerun.frames) == fleet_ids
    assert counting.paths and all(f"/{victim}/time_series" in path for path in counting.paths)


async def test_no_more_transfers_run_at_once_than_the_concurrency_asked(
    live_server: Any, fleet_ids: list[str], tmp_path: Path
) -> None:
    storage = Storage()
    async with client_for(live_server, tmp_path / "cache", storage_transport=storage) as client:
        result = await client.cell_measurement.fetch_many(
            fleet_ids, tables=("time_series", "steps"), concurrency=2, use_cache=False
        )
    assert result.ok and len(result) == len(fleet_ids)
    assert len(storage.paths) == 2 * len(fleet_ids)
    assert 1 <= storage.most_in_flight <= 2


async def test_one_progress_bar_counts_every_table_of_the_pull(
    live_server: Any,
    fleet_ids: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(fleet, "progress_enabled", lambda: True)
    async with client_for(live_server, tmp_path / "cache") as client:
        await client.cell_measurement.fetch_many(fleet_ids[:2], tables=["steps", "cycles"])
    err = capsys.readouterr().err
    assert "Fetching measurements" in err and "4/4" in err
    assert "Downloading" not in err


@pytest.mark.parametrize(
    ("ids", "kwargs", "match"),
    [
        ("one-id", {}, "list of measurement ids"),
        (["a"], {"tables": ("time_series", "voltage")}, "choose one or more"),
        (["a"], {"concurrency": 0}, "concurrency"),
    ],
)
async def test_bad_arguments_raise_before_any_request(
    live_server: Any, tmp_path: Path, ids: Any, kwargs: dict[str, Any], match: str
) -> None:
    storage = Storage()
    async with client_for(live_server, tmp_path / "cache", storage_transport=storage) as client:
        with pytest.raises(InvalidParameterError, match=match):
            await client.cell_measurement.fetch_many(ids, **kwargs)
    assert storage.paths == []


async def test_offline_pull_serves_the_cache_and_names_what_it_lacks(
    live_server: Any, fleet_ids: list[str], tmp_path: Path
) -> None:
    async with client_for(live_server, tmp_path / "cache") as online:
        assert (await online.cell_measurement.fetch_many(fleet_ids[:1], tables=["cycles"])).ok
    async with client_for(live_server, tmp_path / "cache", offline=True) as offline:
        pull = await offline.cell_measurement.fetch_many(fleet_ids[:2], tables=["cycles"])
    assert list(pull.frames) == fleet_ids[:1]
    assert isinstance(pull.failed[fleet_ids[1]], ionworks.CacheMissError)


async def test_the_pull_decodes_each_table_in_its_bridge_thread_alone(
    live_server: Any, fleet_ids: list[str], tmp_path: Path
) -> None:
    """As the sync pull's threads do (``serial_decoding``): the decodes of a fleet pull run with
    polars' ``parallel="none"``; a single read afterwards keeps polars' parallelism."""
    seen: list[str] = []
    real = pl.read_parquet

    def spy(*args: Any, **kwargs: Any) -> pl.DataFrame:
        seen.append(str(kwargs.get("parallel")))
        return real(*args, **kwargs)

    async with client_for(live_server, tmp_path / "cache") as client:
        with mock.patch.object(pl, "read_parquet", spy):
            pulled = await client.cell_measurement.fetch_many(
                fleet_ids, tables=("time_series", "steps"), use_cache=False
            )
            assert pulled.ok and seen == ["none"] * 2 * len(fleet_ids)
            seen.clear()
            await client.cell_measurement.time_series(fleet_ids[0], use_cache=False)
    assert seen == ["auto"]


async def test_small_tables_are_decoded_on_the_loop_and_large_ones_in_threads(
    live_server: Any, fleet_ids: list[str], tmp_path: Path
) -> None:
    """A thread hop costs about as much CPU as decoding a small table, so bodies up to
    ``ON_LOOP_BYTES`` are decoded on the loop's thread; larger ones still in bridge threads."""
    from ionworks import _async_transfer

    where: list[tuple[int, bool]] = []
    real = pl.read_parquet
    loop_thread = threading.get_ident()

    def spy(source: Any, *args: Any, **kwargs: Any) -> pl.DataFrame:
        where.append((len(source.getbuffer()), threading.get_ident() == loop_thread))
        return real(source, *args, **kwargs)

    async with client_for(live_server, tmp_path / "cache") as client:
        with mock.patch.object(pl, "read_parquet", spy):
            await client.cell_measurement.fetch_many(
                fleet_ids[:2], tables=("time_series", "steps"), use_cache=False
            )
    limit = _async_transfer.ON_LOOP_BYTES
    assert len(where) == 4 and any(size <= limit for size, _ in where)
    assert any(size > limit for size, _ in where)
    assert all(on_loop == (size <= limit) for size, on_loop in where)
