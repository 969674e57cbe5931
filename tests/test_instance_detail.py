"""``cell_instance.detail`` and the cached ``cell_measurement.download_files`` on the live local
server: every measurement of every page, the same tables as one ``detail()`` per measurement,
a second call served from the cache, and file entries dropped when the measurement changes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest
from conftest import http_client, new_spec_and_instance, upload_time_series, wait_processed
from server_process import ServerProcess

import ionworks
from ionworks import CellInstanceDetail, Ionworks
from ionworks.errors import CacheMissError, InvalidParameterError
from ionworks.resources import _instance_detail

COIN_CELL = "NCM622/Graphite Coin Cell"


class Counter(httpx.BaseTransport):
    """The real transport, recording the path of every request."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self._lock = threading.Lock()
        self._real = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.paths.append(request.url.path)
        return self._real.handle_request(request)


@pytest.fixture(autouse=True)
def _private_default_cache(tmp_path: Path) -> Iterator[None]:
    ionworks.set_cache_directory(tmp_path / "default")
    yield
    ionworks.set_cache_directory(None)


def client_for(server: ServerProcess, cache: Path, **kwargs: Any) -> Ionworks:
    return Ionworks(api_key=server.api_key, api_url=server.url, cache_dir=cache, **kwargs)


@pytest.fixture(scope="module")
def coin_cell(live_server: ServerProcess) -> str:
    """The demo's batch-A coin cell: time series, properties and file measurements."""
    with Ionworks(api_key=live_server.api_key, api_url=live_server.url) as client:
        spec = client.cell_spec.list(name_exact=COIN_CELL)[0]
        return next(i.id for i in client.cell_instance.list_all(spec.id) if "batch-A" in i.name)


def test_detail_holds_every_measurement_with_the_data_detail_gives_one_by_one(
    live_server: ServerProcess, coin_cell: str, tmp_path: Path
) -> None:
    client = client_for(live_server, tmp_path / "cache")
    detail = client.cell_instance.detail(coin_cell)
    assert isinstance(detail, CellInstanceDetail)
    assert detail.instance.id == coin_cell
    listed = list(client.cell_measurement.list_all(coin_cell))
    assert [d.measurement.id for d in detail] == [m.id for m in listed]
    assert detail.specification_id == detail.instance.cell_specification_id
    assert {d.measurement.measurement_type for d in detail} == {"time_series", "properties", "file"}
    reference = client_for(live_server, tmp_path / "reference")
    for one in detail.measurements:
        expected = reference.cell_measurement.detail(one.measurement.id, use_cache=False)
        assert one.measurement.to_dict() == expected.measurement.to_dict()
        assert one.files == expected.files and one.properties == expected.properties
        for table in ("time_series", "steps", "cycles"):
            ours, theirs = getattr(one, table), getattr(expected, table)
            assert (ours is None) == (theirs is None), (one.measurement.name, table)
            if ours is not None:
                assert isinstance(ours, pl.DataFrame) and ours.equals(theirs)
    series = [d for d in detail if d.measurement.measurement_type == "time_series"]
    assert detail[series[0].measurement.name] is series[0]
    assert "time_series" in repr(detail)


def test_a_second_detail_reads_tables_and_files_from_the_cache(
    live_server: ServerProcess, coin_cell: str, tmp_path: Path
) -> None:
    client_for(live_server, tmp_path / "cache").cell_instance.detail(coin_cell)
    api, storage = Counter(), Counter()
    again = client_for(live_server, tmp_path / "cache", transport=api, storage_transport=storage)
    detail = again.cell_instance.detail(coin_cell)
    assert storage.paths == []
    assert sorted(set(api.paths)) == [
        f"/cell_instances/{coin_cell}",
        f"/cell_instances/{coin_cell}/cell_measurements",
    ]
    assert any(d.files for d in detail)


def test_detail_reads_every_page_of_measurements(
    live_server: ServerProcess, coin_cell: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_instance_detail, "PAGE_SIZE", 2)  # pages of 2, not 1000
    api = Counter()
    client = client_for(live_server, tmp_path / "cache", transport=api)
    detail = client.cell_instance.detail(coin_cell, include_time_series=False)
    total = client.cell_measurement.list(coin_cell, limit=1).total
    assert len(detail) == total > 4
    pages = [p for p in api.paths if p.endswith("/cell_measurements")]
    assert len(pages) == -(-total // 2) + 1  # every page, then the one list(limit=1) above


def test_include_flags_pick_the_tables(
    live_server: ServerProcess, coin_cell: str, tmp_path: Path
) -> None:
    client = client_for(live_server, tmp_path / "cache")
    detail = client.cell_instance.detail(coin_cell, include_time_series=False, include_cycles=False)
    series = [d for d in detail if d.measurement.measurement_type == "time_series"]
    assert series and all(d.time_series is None and d.cycles is None for d in series)
    assert all(isinstance(d.steps, pl.DataFrame) and d.steps.height > 0 for d in series)


def test_measurements_not_processed_come_with_metadata_only(
    empty_server: ServerProcess, unique: str, tmp_path: Path
) -> None:
    http = http_client(empty_server)
    _, instance_id = new_spec_and_instance(http, unique)
    good = pl.DataFrame(
        {"Time [s]": [0.0, 1.0, 2.0], "Current [A]": [0.1] * 3, "Voltage [V]": [3.7, 3.8, 3.9]}
    )
    ok = upload_time_series(http, instance_id, "ok", good).json()["id"]
    bad = upload_time_series(http, instance_id, "bad", b"not parquet").json()["id"]
    assert wait_processed(http, ok)["processing_status"] == "ready"
    assert wait_processed(http, bad)["processing_status"] == "failed"
    detail = client_for(empty_server, tmp_path / "cache").cell_instance.detail(instance_id)
    by_name = {d.measurement.name: d for d in detail}
    assert by_name["ok"].time_series is not None and by_name["ok"].time_series.height == 3
    assert by_name["bad"].time_series is None and by_name["bad"].processing_status == "failed"


# -- download_files through the cache ----------------------------------------------------------


def file_measurement(http: httpx.Client, instance_id: str, files: dict[str, bytes]) -> str:
    """initiate → PUT each file → confirm, as the official client uploads a file measurement."""
    names = list(files)
    initiated = http.post(
        f"/cell_instances/{instance_id}/cell_measurements/initiate-upload",
        json={"measurement": {"name": "photos"}, "measurement_type": "file", "filenames": names},
    )
    assert initiated.status_code == 200, initiated.text
    for name, upload in zip(names, initiated.json()["uploads"], strict=True):
        put = httpx.put(upload["signed_url"], content=files[name])
        assert put.status_code == 200, put.text
    measurement_id: str = initiated.json()["measurement_id"]
    confirmed = http.post(
        f"/cell_measurements/{measurement_id}/confirm-upload",
        json={
            "cell_instance_id": instance_id,
            "measurement": {"name": "photos"},
            "measurement_type": "file",
            "filenames": names,
        },
    )
    assert confirmed.status_code == 201, confirmed.text
    return measurement_id


def test_download_files_is_cached_offline_capable_and_dropped_when_the_measurement_changes(
    empty_server: ServerProcess, unique: str, tmp_path: Path
) -> None:
    http = http_client(empty_server)
    _, instance_id = new_spec_and_instance(http, unique)
    files = {"a.png": b"\x89PNG-a", "notes.txt": b"hello"}
    mid = file_measurement(http, instance_id, files)
    cache = tmp_path / "cache"
    assert client_for(empty_server, cache).cell_measurement.download_files(mid) == files

    api, storage = Counter(), Counter()
    again = client_for(empty_server, cache, transport=api, storage_transport=storage)
    assert again.cell_measurement.download_files(mid) == files
    assert again.cell_measurement.download_files(mid, filenames=["notes.txt"]) == {
        "notes.txt": b"hello"
    }
    assert api.paths == [] and storage.paths == []
    offline = client_for(empty_server, cache, offline=True)
    assert offline.cell_measurement.files(mid) == files
    with pytest.raises(CacheMissError):
        client_for(empty_server, tmp_path / "empty", offline=True).cell_measurement.download_files(
            mid
        )

    assert http.patch(f"/cell_measurements/{mid}", json={"notes": "changed"}).status_code == 200
    assert again.cell_measurement.detail(mid).files == files  # sees the new updated_at
    assert storage.paths and all(mid in path for path in storage.paths)


def test_download_files_rejects_a_bare_file_name(
    empty_server: ServerProcess, tmp_path: Path
) -> None:
    client = client_for(empty_server, tmp_path / "cache")
    with pytest.raises(InvalidParameterError, match="list of file names"):
        client.cell_measurement.download_files("m", filenames="a.png")
