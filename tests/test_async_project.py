"""The project-wide, tag and file methods and ``cell_instance.detail`` through both clients on the
live local server (the same scenarios, written once, as in ``test_async_client.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest
from conftest import http_client, new_spec_and_instance
from test_async_client import Driver, every, run
from test_instance_detail import file_measurement

import ionworks
from ionworks import AsyncIonworks, Ionworks
from ionworks.errors import CacheMissError, InvalidParameterError, NotFoundError

pytestmark = pytest.mark.anyio
COIN_CELL = "NCM622/Graphite Coin Cell"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _private_default_cache(tmp_path: Path) -> Iterator[None]:
    ionworks.set_cache_directory(tmp_path / "default")
    yield
    ionworks.set_cache_directory(None)


@pytest.fixture(params=["sync", "async"])
async def empty(request: Any, empty_server: Any, tmp_path: Path) -> AsyncIterator[Driver]:
    driver = Driver(request.param, empty_server, tmp_path)
    yield driver
    await driver.close()


class Counter(httpx.AsyncBaseTransport):
    """The real async transport, recording the path of every request."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self._real = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        return await self._real.handle_async_request(request)


async def test_project_lists_and_tags(empty: Driver, unique: str) -> None:
    project = f"proj-{empty.kind}-{unique}"
    client = empty.client(project_id=project)
    spec = await run(client.cell_spec.create({"name": f"spec-{unique}", "project_id": project}))
    instance = await run(client.cell_instance.create(spec.id, {"name": "cell"}))
    ids = []
    for index in range(4):
        created = await run(
            client.cell_measurement.create_properties(
                instance.id, f"run-{index}", {"mass": {"value": 1.0, "unit": "g"}}, tags=["a"]
            )
        )
        ids.append(created.id)
    assert await run(client.cell_measurement.add_tags(ids[1::2], ["HPPC", "25degC"])) == 2
    assert await run(client.cell_measurement.remove_tags(ids[3], "hppc")) == 1
    page = await run(client.cell_measurement.list_by_project(limit=3, order_by="name"))
    assert (page.count, page.total) == (3, 4)
    walked = page.auto_paging_iter() if empty.kind == "sync" else page
    assert [m.name for m in await every(walked)] == [f"run-{i}" for i in range(4)]
    hppc = await run(client.cell_measurement.list_by_project(tags_all="hppc"))
    assert [m.id for m in hppc] == [ids[1]]
    tags = await run(client.cell_measurement.list_tags())
    assert [(t.tag, t.usage_count) for t in tags] == [("a", 4), ("25degC", 2), ("HPPC", 1)]
    client.project_id = None
    with pytest.raises(InvalidParameterError, match="project_id="):
        await run(client.cell_measurement.list_tags())


async def test_instance_detail_equals_the_sync_clients(live_server: Any, tmp_path: Path) -> None:
    with Ionworks(
        api_key=live_server.api_key, api_url=live_server.url, cache_dir=tmp_path / "sync"
    ) as sync:
        spec = sync.cell_spec.list(name_exact=COIN_CELL)[0]
        cell = next(i.id for i in sync.cell_instance.list_all(spec.id) if "batch-A" in i.name)
        expected = sync.cell_instance.detail(cell)
    async with AsyncIonworks(
        api_key=live_server.api_key, api_url=live_server.url, cache_dir=tmp_path / "async"
    ) as client:
        detail = await client.cell_instance.detail(cell, include_steps=False)
    assert [d.measurement.id for d in detail] == [d.measurement.id for d in expected]
    kinds = {d.measurement.measurement_type for d in detail}
    assert kinds == {"time_series", "properties", "file"}
    for ours, theirs in zip(detail, expected, strict=True):
        assert ours.files == theirs.files and ours.steps is None
        for table in ("time_series", "cycles"):
            mine, reference = getattr(ours, table), getattr(theirs, table)
            assert (mine is None) == (reference is None)
            if mine is not None:
                assert isinstance(mine, pl.DataFrame) and mine.equals(reference)


async def test_download_files_through_the_cache(
    empty_server: Any, unique: str, tmp_path: Path
) -> None:
    http = http_client(empty_server)
    _, instance_id = new_spec_and_instance(http, unique)
    files = {"a.png": b"\x89PNG-a", "notes.txt": b"hello"}
    mid = file_measurement(http, instance_id, files)
    keys = {"api_key": empty_server.api_key, "api_url": empty_server.url}
    cache = tmp_path / "cache"
    async with AsyncIonworks(**keys, cache_dir=cache) as first:
        assert await first.cell_measurement.download_files(mid) == files
        with pytest.raises(NotFoundError):  # from the task group, not inside an ExceptionGroup
            await first.cell_measurement.download_files(mid, filenames=["a.png", "absent.txt"])
    api, storage = Counter(), Counter()
    async with AsyncIonworks(
        **keys, cache_dir=cache, transport=api, storage_transport=storage
    ) as again:
        assert await again.cell_measurement.download_files(mid, filenames=["notes.txt"]) == {
            "notes.txt": b"hello"
        }
        assert await again.cell_measurement.files(mid) == files
    assert api.paths == [] and storage.paths == []
    async with AsyncIonworks(**keys, cache_dir=tmp_path / "empty", offline=True) as offline:
        with pytest.raises(CacheMissError):
            await offline.cell_measurement.download_files(mid)
        with pytest.raises(InvalidParameterError, match="list of file names"):
            await offline.cell_measurement.download_files(mid, filenames="notes.txt")
