"""Fleet pulls: ``cell_measurement.fetch_many`` on the live server, with a measurement that does
not exist and an injected storage fault; bounded concurrency; reruns fetch only what is missing."""

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
from ionworks import Ionworks, IonworksError
from ionworks import _fleet as fleet
from ionworks.errors import InvalidParameterError, NotFoundError

MISSING = "00000000-0000-4000-8000-000000000000"


class Storage(httpx.BaseTransport):
    """The real storage transport, counting requests and the most in flight at once; GETs of
    ``broken`` paths answer 403 (a signed URL storage refuses), like a revoked object."""

    def __init__(self, broken: str | None = None) -> None:
        self.broken = broken
        self.paths: list[str] = []
        self.in_flight = self.most_in_flight = 0
        self._lock = threading.Lock()
        self._real = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.paths.append(request.url.path)
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.broken and self.broken in request.url.path:
                return httpx.Response(403, json={"error_code": "FORBIDDEN", "message": "revoked"})
            response = self._real.handle_request(request)
            response.read()
            return response
        finally:
            with self._lock:
                self.in_flight -= 1


@pytest.fixture(autouse=True)
def _private_default_cache(tmp_path: Path) -> Iterator[None]:
    ionworks.set_cache_directory(tmp_path / "default")
    yield
    ionworks.set_cache_directory(None)


@pytest.fixture(scope="module")
def fleet_ids(live_server: Any) -> list[str]:
    """Four time-series measurements of the demo data."""
    client = Ionworks(api_key=live_server.api_key, api_url=live_server.url)
    spec = client.cell_spec.list(name_exact="NCM622/Graphite Coin Cell")[0]
    ids: list[str] = []
    for instance in client.cell_instance.list_all(spec.id):
        ids += [
            m.id
            for m in client.cell_measurement.list_all(instance.id, measurement_type="time_series")
        ]
    assert len(ids) >= 4
    return ids[:4]


def client_for(server: Any, tmp_path: Path, **kwargs: Any) -> Ionworks:
    return Ionworks(
        api_key=server.api_key, api_url=server.url, cache_dir=tmp_path / "cache", **kwargs
    )


def test_a_missing_measurement_and_a_storage_fault_fail_alone_and_a_rerun_fetches_only_them(
    live_server: Any, fleet_ids: list[str], tmp_path: Path
) -> None:
    victim = fleet_ids[1]
    faulty = Storage(broken=f"/{victim}/time_series")
    first = client_for(live_server, tmp_path, storage_transport=faulty)
    asked = [*fleet_ids, MISSING]
    result = first.cell_measurement.fetch_many(asked, concurrency=3)

    assert set(result.failed) == {victim, MISSING}
    assert isinstance(result.failed[MISSING], NotFoundError)
    assert "403" in str(result.failed[victim]) or "revoked" in str(result.failed[victim])
    complete = [mid for mid in fleet_ids if mid != victim]
    assert [mid for mid, _ in result] == complete and len(result) == 3 and not result.ok
    one_by_one = client_for(live_server, tmp_path / "reference")
    for mid in complete:
        tables = result.frames[mid]
        assert list(tables) == ["time_series", "steps", "cycles"]
        for name, frame in tables.items():
            assert isinstance(frame, pl.DataFrame)
            assert frame.equals(getattr(one_by_one.cell_measurement, name)(mid, use_cache=False))
    with pytest.raises(IonworksError, match=victim):
        result.raise_for_failures()

    counting = Storage()
    again = client_for(live_server, tmp_path, storage_transport=counting)
    rerun = again.cell_measurement.fetch_many(fleet_ids)
    assert rerun.ok and list(rerun.frames) == fleet_ids
    assert counting.paths and all(f"/{victim}/time_series" in path for path in counting.paths)
    series = rerun.frames[victim]["time_series"]
    assert isinstance(series, pl.DataFrame)
    reference = one_by_one.cell_measurement.time_series(victim, use_cache=False)
    assert isinstance(reference, pl.DataFrame) and series.equals(reference)


def test_no_more_transfers_run_at_once_than_the_concurrency_asked(
    live_server: Any, fleet_ids: list[str], tmp_path: Path
) -> None:
    storage = Storage()
    client = client_for(live_server, tmp_path, storage_transport=storage)
    result = client.cell_measurement.fetch_many(
        fleet_ids, tables=("time_series", "steps"), concurrency=2, use_cache=False
    )
    assert result.ok and len(result) == len(fleet_ids)
    assert len(storage.paths) == 2 * len(fleet_ids)
    assert 1 <= storage.most_in_flight <= 2


def test_one_progress_bar_counts_every_table_of_the_pull(
    live_server: Any,
    fleet_ids: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(fleet, "progress_enabled", lambda: True)
    client = client_for(live_server, tmp_path)
    client.cell_measurement.fetch_many(fleet_ids[:2], tables=["steps", "cycles"])
    err = capsys.readouterr().err
    assert "Fetching measurements" in err and "4/4" in err
    assert "Downloading" not in err


@pytest.mark.parametrize(
    ("ids", "kwargs", "match"),
    [
        ("one-id", {}, "list of measurement ids"),
        (["a"], {"tables": ("time_series", "voltage")}, "choose one or more"),
        (["a"], {"tables": ()}, "choose one or more"),
        (["a"], {"concurrency": 0}, "concurrency"),
        ([""], {}, "measurement id strings"),
    ],
)
def test_bad_arguments_raise_before_any_request(
    live_server: Any, tmp_path: Path, ids: Any, kwargs: dict[str, Any], match: str
) -> None:
    storage = Storage()
    client = client_for(live_server, tmp_path, storage_transport=storage)
    with pytest.raises(InvalidParameterError, match=match):
        client.cell_measurement.fetch_many(ids, **kwargs)
    assert storage.paths == []


def test_an_empty_pull_is_an_empty_result(live_server: Any, tmp_path: Path) -> None:
    result = client_for(live_server, tmp_path).cell_measurement.fetch_many([])
    assert result.ok and len(result) == 0 and repr(result) == "FleetResult(0 complete, 0 failed)"


def test_the_pull_decodes_each_table_in_its_own_thread_alone(
    live_server: Any, fleet_ids: list[str], tmp_path: Path
) -> None:
    """Each pull thread decodes its tables with polars' ``parallel="none"``
    (``_dataframe.serial_decoding``); a single read afterwards keeps polars' parallelism."""
    seen: list[str] = []
    real = pl.read_parquet

    def spy(*args: Any, **kwargs: Any) -> pl.DataFrame:
        seen.append(str(kwargs.get("parallel")))
        return real(*args, **kwargs)

    client = client_for(live_server, tmp_path)
    with mock.patch.object(pl, "read_parquet", spy):
        pulled = client.cell_measurement.fetch_many(
            fleet_ids, tables=("time_series", "steps"), use_cache=False, concurrency=4
        )
        assert pulled.ok and seen == ["none"] * 2 * len(fleet_ids)
        seen.clear()
        client.cell_measurement.time_series(fleet_ids[0], use_cache=False)
    assert seen == ["auto"]
