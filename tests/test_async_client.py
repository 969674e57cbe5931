"""The same seed scenarios through ``Ionworks`` and ``AsyncIonworks``, on the live local server.

Each scenario is written once against a small driver (``run`` awaits what the async client
returns and passes the sync client's results through) and runs for both kinds of client. Faults
the real server cannot produce (503/429 bursts) come from a fault-injecting transport in front
of the real one; both clients follow one retry policy, so they make the same attempts.
"""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest
from conftest import http_client
from test_client_hardening import DrippingServer

import ionworks
from ionworks import AsyncIonworks, Ionworks
from ionworks.errors import (
    APITimeoutError,
    BadRequestError,
    ConflictError,
    InvalidParameterError,
    NotFoundError,
    ServerError,
)

pytestmark = pytest.mark.anyio
KINDS = ["sync", "async"]
NCM = "NCM622/Graphite Coin Cell"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _private_default_cache(tmp_path: Path) -> Iterator[None]:
    ionworks.set_cache_directory(tmp_path / "default")
    yield
    ionworks.set_cache_directory(None)


async def run(value: Any) -> Any:
    """The result of a client call: awaited for the async client, as it is for the sync one."""
    return await value if inspect.isawaitable(value) else value


async def every(items: Any) -> list[Any]:
    """Everything an iterator yields, sync or async."""
    if hasattr(items, "__aiter__"):
        return [item async for item in items]
    return list(items)


class Driver:
    """Builds clients of one kind for a server, and closes them after the test."""

    def __init__(self, kind: str, server: Any, tmp_path: Path) -> None:
        self.kind, self.server, self.tmp_path = kind, server, tmp_path
        self.opened: list[Any] = []

    def client(self, url: str | None = None, **kwargs: Any) -> Any:
        kind = Ionworks if self.kind == "sync" else AsyncIonworks
        kwargs.setdefault("cache_dir", self.tmp_path / f"cache-{self.kind}")
        client = kind(api_key=self.server.api_key, api_url=url or self.server.url, **kwargs)
        self.opened.append(client)
        return client

    def faulty(self, statuses: list[int]) -> Any:
        """A transport answering ``statuses`` first (``Retry-After: 0``), then the server."""
        return SyncFaults(statuses) if self.kind == "sync" else AsyncFaults(statuses)

    async def close(self) -> None:
        for client in self.opened:
            await run(client.close() if self.kind == "sync" else client.aclose())


@pytest.fixture(params=KINDS)
async def live(request: Any, live_server: Any, tmp_path: Path) -> AsyncIterator[Driver]:
    driver = Driver(request.param, live_server, tmp_path)
    yield driver
    await driver.close()


class Faults:
    """Answers the first requests with the statuses given; counts every attempt."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = list(statuses)
        self.attempts = 0

    def answer(self) -> httpx.Response | None:
        self.attempts += 1
        if not self.statuses:
            return None
        status = self.statuses.pop(0)
        body = {"error_code": "BUSY", "message": f"injected {status}"}
        return httpx.Response(status, headers={"Retry-After": "0"}, json=body)


class SyncFaults(httpx.BaseTransport, Faults):
    def __init__(self, statuses: list[int]) -> None:
        Faults.__init__(self, statuses)
        self._real = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.answer() or self._real.handle_request(request)


class AsyncFaults(httpx.AsyncBaseTransport, Faults):
    def __init__(self, statuses: list[int]) -> None:
        Faults.__init__(self, statuses)
        self._real = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return self.answer() or await self._real.handle_async_request(request)


@pytest.fixture(scope="module")
def demo(live_server: Any) -> dict[str, Any]:
    """Ids of the demo data, and the raw answers the clients' results are checked against."""
    with http_client(live_server) as http:
        specs = http.get("/cell_specifications", params={"name": "ilike.%NCM%"}).json()
        spec = http.get("/cell_specifications", params={"name": f"eq.{NCM}"}).json()["items"][0]
        instances = http.get(f"/cell_specifications/{spec['id']}/cell_instances").json()["items"]
        measurements = http.get(
            f"/cell_instances/{instances[0]['id']}/cell_measurements",
            params={"measurement_type": "time_series"},
        ).json()["items"]
    return {
        "ncm_ids": [item["id"] for item in specs["items"]],
        "ncm_total": specs["total"],
        "spec": spec,
        "instance": instances[0],
        "measurement_id": measurements[0]["id"],
    }


async def test_list_filters_and_paging(live: Driver, demo: dict[str, Any]) -> None:
    client = live.client()
    page = await run(client.cell_spec.list(name="NCM", limit=7))
    assert (page.count, page.total, page.offset) == (7, demo["ncm_total"], 0)
    assert [spec.id for spec in page] == demo["ncm_ids"][:7]
    assert all("ncm" in spec.name.lower() for spec in page)
    walked = page.auto_paging_iter() if live.kind == "sync" else page
    assert [spec.id for spec in await every(walked)] == demo["ncm_ids"]
    listed = await every(client.cell_spec.list_all(name="NCM", page_size=50))
    assert [spec.id for spec in listed] == demo["ncm_ids"]
    instances = await run(client.cell_instance.list(demo["spec"]["id"], order_by="name"))
    assert demo["instance"]["id"] in [instance.id for instance in instances]
    measurements = await run(
        client.cell_measurement.list(demo["instance"]["id"], measurement_type="time_series")
    )
    assert measurements[0].id == demo["measurement_id"]
    with pytest.raises(InvalidParameterError, match="order_by='size' is not valid"):
        await run(client.cell_spec.list(order_by="size"))


async def test_get_create_update_delete(live: Driver, unique: str) -> None:
    client = live.client()
    spec = await run(client.cell_spec.create({"name": f"async-{live.kind}-{unique}"}))
    try:
        assert (await run(client.cell_spec.get(spec.id))).name == spec.name
        updated = await run(client.cell_spec.update(spec.id, {"form_factor": "R2032"}))
        assert updated.form_factor == "R2032"
        with pytest.raises(ConflictError) as conflict:
            await run(client.cell_spec.create({"name": spec.name}))
        assert conflict.value.existing_id == spec.id
        again = await run(client.cell_spec.create_or_get({"name": spec.name}))
        assert again.id == spec.id
        instance = await run(client.cell_instance.create(spec.id, {"name": "cell-1"}))
        assert (await run(client.cell_instance.get(spec.id, instance.id))).id == instance.id
        renamed = await run(client.cell_instance.update(instance.id, {"name": "cell-2"}))
        assert renamed.name == "cell-2"
        await run(client.cell_instance.delete(instance.id))
        with pytest.raises(NotFoundError):
            await run(client.cell_instance.get(instance.id))
    finally:
        await run(client.cell_spec.delete(spec.id))
    with pytest.raises(NotFoundError):
        await run(client.cell_spec.get(spec.id))


async def test_time_series_steps_cycles_and_detail_match_the_sync_client(
    live: Driver, demo: dict[str, Any], tmp_path: Path
) -> None:
    mid = demo["measurement_id"]
    client = live.client()
    with Ionworks(
        api_key=live.server.api_key, api_url=live.server.url, cache_dir=tmp_path / "reference"
    ) as reference:
        expected = reference.cell_measurement.detail(mid, use_cache=False)
    detail = await run(client.cell_measurement.detail(mid))
    assert detail.measurement.id == mid
    for name in ("time_series", "steps", "cycles"):
        assert getattr(detail, name).equals(getattr(expected, name)), name
    cached = await run(client.cell_measurement.steps(mid))  # from the cache detail filled
    assert cached.equals(expected.steps)
    window = await run(
        client.cell_measurement.time_series(
            mid, row_range=(10, 20), columns=["Voltage [V]", "Time [s]"], use_cache=False
        )
    )
    assert window.equals(expected.time_series.slice(10, 10).select(["Voltage [V]", "Time [s]"]))
    both = await run(client.cell_measurement.steps_and_cycles(mid))
    assert both.cycles.equals(expected.cycles)
    with pytest.raises(InvalidParameterError, match="has no column 'Power'"):
        await run(client.cell_measurement.time_series(mid, columns=["Power"], use_cache=False))


async def test_upload_then_wait_for_processing(
    live: Driver, demo: dict[str, Any], unique: str, tmp_path: Path
) -> None:
    with Ionworks(
        api_key=live.server.api_key, api_url=live.server.url, cache_dir=tmp_path / "source"
    ) as reference:
        source = reference.cell_measurement.time_series(demo["measurement_id"]).head(2000)
    client = live.client()
    spec = await run(client.cell_spec.create({"name": f"async-upload-{live.kind}-{unique}"}))
    try:
        instance = await run(client.cell_instance.create(spec.id, {"name": "cell"}))
        data = {"measurement": {"name": "uploaded", "tags": ["async"]}, "time_series": source}
        bundle = await run(client.cell_measurement.create(instance.id, data))
        assert bundle.measurement.processing_status == "ready"
        series = await run(client.cell_measurement.time_series(bundle.measurement.id))
        assert series.select(source.columns).equals(source)
        mid = bundle.measurement.id
        assert (await run(client.cell_measurement.steps(mid))).height > 0  # now cached
        offline = live.client(offline=True)
        assert (await run(offline.cell_measurement.steps(mid))).height > 0
        updated = await run(client.cell_measurement.update(mid, {"notes": "changed"}))
        assert updated.notes == "changed"
        with pytest.raises(ionworks.CacheMissError):  # the update dropped the cached tables
            await run(offline.cell_measurement.steps(mid))
        await run(client.cell_measurement.delete(mid))
        with pytest.raises(NotFoundError):
            await run(client.cell_measurement.get(mid))
    finally:
        await run(client.cell_spec.delete(spec.id))


async def test_tables_without_the_cache_are_the_cached_ones_and_offline_a_cache_miss(
    live: Driver, demo: dict[str, Any]
) -> None:
    # use_cache=False downloads on the loop without a bridge thread waiting (the async fast
    # path): the same frames as through the cache, and offline the same CacheMissError.
    mid = demo["measurement_id"]
    client, offline = live.client(), live.client(offline=True)
    for name in ("time_series", "steps"):
        cached = await run(getattr(client.cell_measurement, name)(mid))
        fresh = await run(getattr(client.cell_measurement, name)(mid, use_cache=False))
        assert fresh.equals(cached)
        with pytest.raises(ionworks.CacheMissError):
            await run(getattr(offline.cell_measurement, name)(mid, use_cache=False))


async def test_an_offline_detail_lacking_tables_is_a_cache_miss_not_an_exception_group(
    live: Driver, demo: dict[str, Any]
) -> None:
    # The async detail fetches its tables in a task group: two misses must still come out as
    # the CacheMissError users catch, as from the sync client.
    mid = demo["measurement_id"]
    some = {"include_time_series": False, "include_steps": False}
    await run(live.client().cell_measurement.detail(mid, **some))  # metadata and cycles cached
    offline = live.client(offline=True)
    assert (await run(offline.cell_measurement.detail(mid, **some))).cycles is not None
    with pytest.raises(ionworks.CacheMissError):
        await run(offline.cell_measurement.detail(mid))


async def test_404_and_400_are_the_same_errors_with_the_same_messages(
    live_server: Any, tmp_path: Path
) -> None:
    errors: dict[str, list[tuple[type, str]]] = {}
    for kind in KINDS:
        driver = Driver(kind, live_server, tmp_path)
        client = driver.client()
        caught = []
        calls: list[Callable[[Any], Any]] = [
            lambda c: c.cell_spec.get("no-such-spec"),
            lambda c: c.cell_measurement.get("00000000-0000-4000-8000-000000000000"),
            lambda c: c.cell_spec.create({"name": "x", "form_factor": 5}),
            lambda c: c.cell_spec.list(created_after="yesterday"),
        ]
        for call in calls:
            with pytest.raises(ionworks.IonworksError) as error:
                await run(call(client))
            caught.append((type(error.value), str(error.value)))
        errors[kind] = caught
        await driver.close()
    assert errors["sync"] == errors["async"]
    kinds = [kind for kind, _ in errors["sync"]]
    assert kinds == [NotFoundError, NotFoundError, BadRequestError, InvalidParameterError]
    assert "client.cell_spec.list(name_exact='no-such-spec')" in errors["sync"][0][1]


async def test_busy_answers_are_retried_the_same_way(live: Driver, unique: str) -> None:
    busy = live.faulty([503, 429, 503])
    client = live.client(transport=busy)
    page = await run(client.cell_spec.list(limit=1))
    assert page.count == 1 and busy.attempts == 4

    short = live.faulty([503, 503, 503])
    with pytest.raises(ServerError, match="injected 503"):
        await run(live.client(transport=short, max_retries=2).cell_spec.list(limit=1))
    assert short.attempts == 3

    post = live.faulty([503])
    with pytest.raises(ServerError):
        await run(live.client(transport=post).cell_spec.create({"name": f"never-{unique}"}))
    assert post.attempts == 1  # a POST that may have reached the server is not sent again


@pytest.mark.parametrize("phase", ["headers", "body"])
async def test_the_timeout_bounds_the_whole_call_even_when_bytes_keep_coming(
    live: Driver, phase: str
) -> None:
    # One byte every 0.2 s never trips a per-read timeout; only the whole-call deadline ends the
    # call (without it the server gives up after 30 s: a connection error, not a timeout).
    server = DrippingServer(phase, interval=0.2, limit=30)
    try:
        client = live.client(server.url, timeout=1.0, max_retries=0)
        with pytest.raises(APITimeoutError, match="Timed out talking to"):
            await run(client.health_check())
    finally:
        server.close()


async def test_async_with_closes_the_connections(live_server: Any) -> None:
    async with AsyncIonworks(api_key=live_server.api_key, api_url=live_server.url) as client:
        assert (await client.health_check())["status"] == "ok"
        assert isinstance(await client.whoami(), dict)
    assert client._http.is_closed and client._storage.is_closed


class Closes(httpx.AsyncBaseTransport):
    """The real async transport, counting how often it is closed."""

    def __init__(self) -> None:
        self.closed = 0
        self._real = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._real.handle_async_request(request)

    async def aclose(self) -> None:
        self.closed += 1
        await self._real.aclose()


async def test_with_options_shares_the_pools_and_survives_the_copy_closing(
    live_server: Any,
) -> None:
    # A closed httpx pool still opens new connections, so only the close calls show whether
    # the copy closed the pools it shares.
    api, storage = Closes(), Closes()
    async with AsyncIonworks(
        api_key=live_server.api_key,
        api_url=live_server.url,
        transport=api,
        storage_transport=storage,
    ) as client:
        copy = client.with_options(timeout=5, max_retries=0)
        assert (copy.timeout, copy.max_retries) == (5, 0)
        shared: Any = copy._http._transport
        assert shared.wrapped is client._http._transport.wrapped is api  # type: ignore[attr-defined]
        assert (await copy.cell_spec.list(limit=1)).count == 1
        await copy.aclose()
        assert (api.closed, storage.closed) == (0, 0)
        assert (await client.cell_spec.list(limit=1)).count == 1
    assert (api.closed, storage.closed) == (1, 1)


def test_missing_credentials_name_the_async_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IONWORKS_API_KEY", raising=False)
    monkeypatch.delenv("IONWORKS_API_TOKEN", raising=False)
    with pytest.raises(ionworks.MissingCredentialsError, match=r"pass AsyncIonworks\(api_key"):
        AsyncIonworks()


def test_pages_of_both_clients_compare_like_lists() -> None:
    spec = ionworks.CellSpecification({"id": "a", "name": "x"})
    sync_page = ionworks.PaginatedList([spec], total=1, limit=None, offset=0)
    async_page = ionworks.AsyncPaginatedList([spec], total=1, limit=None, offset=0)
    assert sync_page == async_page == [spec] and list(async_page) == [spec]
    assert repr(async_page).startswith("AsyncPaginatedList(count=1, total=1")


async def test_export_writes_the_dataset_scan_reads(
    live: Driver, demo: dict[str, Any], tmp_path: Path
) -> None:
    client = live.client()
    target = tmp_path / f"export-{live.kind}"
    mid = demo["measurement_id"]
    result = await run(client.export(target, measurement_ids=[mid], tables=["cycles"]))
    assert result.ok and result.exported == [mid]
    cycles = ionworks.scan(target, table="cycles").collect()
    assert set(cycles["measurement_id"].unique().to_list()) == {mid}
    again = await run(client.export(target, measurement_ids=[mid], tables=["cycles"]))
    assert again.skipped == [mid]


async def test_a_pipeline_runs_to_a_terminal_status(live: Driver, demo: dict[str, Any]) -> None:
    client = live.client()
    config = {
        "elements": {
            "v": {
                "element_type": "validation",
                "objectives": {"o": {"data": f"db:{demo['measurement_id']}"}},
            }
        }
    }
    done = await run(client.pipeline.run(config, name="async-twin", wait=True, timeout=60))
    assert done.is_terminal and done.name == "async-twin"
    assert (await run(client.pipeline.get(done.id))).status == done.status
    with pytest.raises(ionworks.IonworksError, match="'elements' dict"):
        await run(client.pipeline.run({"name": "no elements"}))


class Ranges(httpx.AsyncBaseTransport):
    """The real async storage transport, recording each request's Range header and body size."""

    def __init__(self) -> None:
        self.seen: list[tuple[str | None, int]] = []
        self._real = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._real.handle_async_request(request)
        body = await response.aread()
        self.seen.append((request.headers.get("Range"), len(body)))
        return httpx.Response(response.status_code, headers=response.headers, content=body)


async def test_a_column_projection_reads_only_ranges_of_the_file(
    live_server: Any, demo: dict[str, Any], tmp_path: Path
) -> None:
    storage = Ranges()
    keys = {"api_key": live_server.api_key, "api_url": live_server.url}
    async with AsyncIonworks(**keys, cache_dir=tmp_path, storage_transport=storage) as client:
        whole = await client.cell_measurement.time_series(demo["measurement_id"], use_cache=False)
        size = storage.seen[0][1]
        storage.seen.clear()
        part = await client.cell_measurement.time_series(
            demo["measurement_id"], columns=["Time [s]"], use_cache=False
        )
    assert isinstance(whole, pl.DataFrame) and isinstance(part, pl.DataFrame)
    assert part.equals(whole.select("Time [s]"))
    assert storage.seen and all(spec is not None for spec, _ in storage.seen)
    assert sum(moved for _, moved in storage.seen) < size / 2


async def test_each_request_is_logged_once_with_its_retries(
    live: Driver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="ionworks")
    client = live.client(transport=live.faulty([503]))
    await run(client.cell_spec.list(limit=2))
    lines = [r.getMessage() for r in caplog.records if r.name == "ionworks"]
    assert lines[0].startswith("api retrying GET /cell_specifications after 503")
    assert re.fullmatch(
        r"api GET /cell_specifications 200 \d+ms request_id=\S+ retries=1", lines[1]
    )
    assert len(lines) == 2 and live.server.api_key not in " ".join(lines)
