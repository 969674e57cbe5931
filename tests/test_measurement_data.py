"""The measurement data path: ranged reads through the storage client, per-client cache settings,
per-call timeouts on transfers, and the one polling loop."""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest

import ionworks
from ionworks import CacheMissError, Ionworks
from ionworks._cache import config, entries
from ionworks._polling import Backoff, poll
from ionworks._retry import CALL_TIMEOUT
from ionworks._transfer import read_window

DOC_SPEC = "NCM622/Graphite Coin Cell"


@pytest.fixture(autouse=True)
def _default_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The process default cache directory, private to each test (must stay empty when a
    client overrides it). Every process default a test may change is put back as it was
    (``set_offline(False)`` would not be: it stops ``IONWORKS_OFFLINE`` being read)."""
    for name in ("_directory", "_offline", "_enabled", "_ttl"):
        monkeypatch.setattr(config, name, getattr(config, name))
    ionworks.set_cache_directory(tmp_path / "default")
    yield tmp_path / "default"


@pytest.fixture(scope="module")
def measurement_id(live_server: Any) -> str:
    client = Ionworks(api_key=live_server.api_key, api_url=live_server.url)
    spec = client.cell_spec.list(name_exact=DOC_SPEC)[0]
    instance = client.cell_instance.list(spec.id, name="batch-A-cell-01")[0]
    return client.cell_measurement.list(instance.id, measurement_type="time_series")[0].id


def client_for(server: Any, **kwargs: Any) -> Ionworks:
    return Ionworks(api_key=server.api_key, api_url=server.url, **kwargs)


def polars(frame: object) -> pl.DataFrame:
    """The client's default backend is polars: say so to the type checker."""
    assert isinstance(frame, pl.DataFrame)
    return frame


class FaultyStorage(httpx.BaseTransport):
    """The real storage transport, except that the first answer to each distinct ranged request
    is a fault: a 503 (``fault="503"``) or a body cut to half its length (``fault="short"``)."""

    def __init__(self, fault: str) -> None:
        self.fault = fault
        self.requests: list[httpx.Request] = []
        self._real = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        response = self._real.handle_request(request)
        ranged = request.headers.get("Range")
        first_time = sum(1 for r in self.requests if r.headers.get("Range") == ranged) == 1
        if not ranged or not first_time:
            return response
        body = response.read()
        response.close()
        if self.fault == "503":
            return httpx.Response(503, json={"error_code": "INTERNAL_ERROR", "message": "busy"})
        headers = {"Content-Range": response.headers["Content-Range"]}
        return httpx.Response(206, content=body[: len(body) // 2], headers=headers)

    def ranged(self) -> list[str]:
        return [r.headers["Range"] for r in self.requests if "Range" in r.headers]


@pytest.mark.parametrize("fault", ["503", "short"])
def test_a_row_window_is_read_through_the_storage_client_which_rides_out_a_fault(
    live_server: Any, measurement_id: str, fault: str
) -> None:
    whole = polars(
        client_for(live_server).cell_measurement.time_series(measurement_id, use_cache=False)
    )
    storage = FaultyStorage(fault)
    client = client_for(live_server, storage_transport=storage)
    window = client.cell_measurement.time_series(
        measurement_id, row_range=(100, 250), use_cache=False
    )
    assert polars(window).equals(whole.slice(100, 150))
    ranges = storage.ranged()
    assert ranges, "the window was not read through storage_transport"
    assert len(ranges) > len(set(ranges)), "the faulty answer was not asked for again"


def test_a_window_past_the_end_is_empty_with_the_series_columns(
    live_server: Any, measurement_id: str
) -> None:
    client = client_for(live_server)
    whole = polars(client.cell_measurement.time_series(measurement_id, use_cache=False))
    past = client.cell_measurement.time_series(
        measurement_id, row_range=(whole.height + 10, whole.height + 20), use_cache=False
    )
    assert past.height == 0 and past.schema == whole.schema


def test_a_window_downloads_only_the_row_groups_it_needs() -> None:
    rows = 200_000  # hashed, so incompressible: ~3 MB in 10 row groups
    frame = pl.select(pl.int_range(0, rows, dtype=pl.Int64).hash(3).alias("Voltage [V]"))
    buffer = io.BytesIO()
    frame.write_parquet(buffer, row_group_size=rows // 10, statistics=False)
    data = buffer.getvalue()
    fetched: list[int] = []

    def fetch(first: int | None, last: int) -> tuple[bytes, int, int]:
        start = max(0, len(data) - last) if first is None else first
        stop = len(data) if first is None else last + 1
        fetched.append(stop - start)
        return data[start:stop], start, len(data)

    window = read_window(fetch, 50_000, 70_000, "test series")
    assert window.equals(frame.slice(50_000, 20_000))
    assert len(fetched) == 2  # the footer, then one span: row groups 2 and 3
    assert sum(fetched) < len(data) / 4


def test_two_clients_use_their_own_cache_directories_and_offline_modes(
    live_server: Any, measurement_id: str, tmp_path: Path, _default_cache: Path
) -> None:
    online = client_for(live_server, cache_dir=tmp_path / "a")
    offline_b = client_for(live_server, cache_dir=tmp_path / "b", offline=True)
    series = online.cell_measurement.time_series(measurement_id)
    with pytest.raises(CacheMissError) as caught:
        offline_b.cell_measurement.time_series(measurement_id)
    assert str(tmp_path / "b") in str(caught.value)
    assert "Ionworks(offline=True)" in str(caught.value)
    offline_a = client_for(live_server, cache_dir=tmp_path / "a", offline=True)
    assert polars(offline_a.cell_measurement.time_series(measurement_id)).equals(polars(series))
    assert ionworks.cache_info()["entries"] == 0  # the process default was never written
    assert not _default_cache.exists()


class Recording(httpx.HTTPTransport):
    """The real storage transport, keeping every request it sent."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return super().handle_request(request)


def test_each_client_judges_freshness_with_its_own_ttl(
    live_server: Any, measurement_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "shared"
    client_for(live_server, cache_dir=directory).cell_measurement.steps(measurement_id)
    later = entries._now() + 120  # two minutes on: stale for a 60 s TTL, fresh for the default
    monkeypatch.setattr(entries, "_now", lambda: later)
    storages = [Recording() for _ in range(3)]
    short, default, forever = (
        client_for(live_server, cache_dir=directory, cache_ttl=ttl, storage_transport=storage)
        for ttl, storage in zip((60, None, math.inf), storages, strict=True)
    )
    for client in (short, default, forever):
        assert client.cell_measurement.steps(measurement_id).height > 0
    assert [len(storage.requests) for storage in storages] == [1, 0, 0]
    # The 60 s client rewrote the entry; two more minutes on, with a process TTL of 100 s, the
    # client without an override follows it (a miss) while the one that never expires does not.
    monkeypatch.setattr(entries, "_now", lambda: later + 120)
    ionworks.set_cache_ttl(100)
    try:
        default.cell_measurement.steps(measurement_id)
        forever.cell_measurement.steps(measurement_id)
    finally:
        ionworks.set_cache_ttl(ionworks._cache.DEFAULT_TTL)
    assert [len(storage.requests) for storage in storages] == [1, 1, 0]


def test_a_client_without_overrides_follows_the_process_defaults_at_call_time(
    live_server: Any, measurement_id: str, tmp_path: Path
) -> None:
    client = client_for(live_server)
    ionworks.set_cache_directory(tmp_path / "set-later")
    client.cell_measurement.cycles(measurement_id)
    assert ionworks.cache_info()["entries"] == 1
    ionworks.set_offline(True)
    with pytest.raises(CacheMissError, match=r"ionworks\.set_offline\(True\)"):
        client.cell_measurement.steps(measurement_id)


def test_bad_cache_overrides_fail_when_the_client_is_made(live_server: Any) -> None:
    with pytest.raises(ValueError, match="TTL"):
        client_for(live_server, cache_ttl=-1)
    with pytest.raises(TypeError, match="TTL"):
        client_for(live_server, cache_ttl="1h")


def test_a_per_call_timeout_bounds_the_storage_transfer_too(
    live_server: Any, measurement_id: str
) -> None:
    storage = Recording()
    client = client_for(live_server, storage_transport=storage)
    client.cell_measurement.time_series(measurement_id, use_cache=False, timeout=7.5)
    client.cell_measurement.time_series(
        measurement_id, use_cache=False, row_range=(0, 10), timeout=7.5
    )
    seen = storage.requests
    assert seen and all(request.extensions.get(CALL_TIMEOUT) == 7.5 for request in seen)
    assert all(0 < request.extensions["timeout"]["read"] <= 7.5 for request in seen)


# --- the polling loop (a fake clock: nothing sleeps) -------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_polling_backs_off_to_its_cap_and_returns_the_final_answer() -> None:
    clock = FakeClock()
    answers = iter(["pending"] * 6 + ["completed"])
    result = poll(
        lambda: next(answers),
        lambda answer: answer == "completed",
        timeout=60,
        backoff=Backoff(first=0.1, factor=1.5, cap=0.3),
        on_timeout=lambda answer: AssertionError(answer),
        clock=clock,
        sleep=clock.sleep,
    )
    assert result == "completed"
    assert clock.slept == pytest.approx([0.1, 0.15, 0.225, 0.3, 0.3, 0.3])


def test_polling_stops_before_a_wait_would_pass_the_deadline() -> None:
    clock = FakeClock()
    asked: list[float] = []

    def ask() -> str:
        asked.append(clock.now)
        return "running"

    with pytest.raises(TimeoutError, match="still running"):
        poll(
            ask,
            lambda answer: answer != "running",
            timeout=5.0,
            backoff=Backoff(first=2.0),
            on_timeout=lambda answer: TimeoutError(f"still {answer}"),
            clock=clock,
            sleep=clock.sleep,
        )
    assert clock.slept == [2.0, 2.0]  # a third wait would end at 6 s, past the 5 s deadline
    assert asked == [1000.0, 1002.0, 1004.0]


def test_a_client_with_caching_off_neither_reads_nor_writes_the_shared_cache(
    live_server: Any, measurement_id: str, tmp_path: Path
) -> None:
    directory = tmp_path / "shared"
    storage = Recording()
    uncached = client_for(
        live_server, cache_dir=directory, cache_enabled=False, storage_transport=storage
    )
    uncached.cell_measurement.steps(measurement_id)
    assert not directory.exists()
    client_for(live_server, cache_dir=directory).cell_measurement.steps(measurement_id)
    uncached.cell_measurement.steps(measurement_id)  # cached now, but not for this client
    assert len(storage.requests) == 2
    with pytest.raises(CacheMissError, match=r"Ionworks\(cache_enabled=True\)"):
        client_for(
            live_server, cache_dir=directory, cache_enabled=False, offline=True
        ).cell_measurement.steps(measurement_id)


def test_a_with_options_copy_keeps_the_cache_settings_of_its_client(
    live_server: Any, measurement_id: str, tmp_path: Path
) -> None:
    client = client_for(live_server, cache_dir=tmp_path / "mine")
    series = client.with_options(timeout=20).cell_measurement.time_series(measurement_id)
    offline = client_for(live_server, cache_dir=tmp_path / "mine", offline=True)
    assert polars(offline.cell_measurement.time_series(measurement_id)).equals(polars(series))
