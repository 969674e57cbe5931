"""``client.export``, ``ionworks export`` and ``ionworks.scan`` against the real local server.

Each test exports measurements it uploaded under a unique specification on the shared empty
server, so it depends on no other test's data. Faults are injected with a transport that drops
the connection on one request, the only way to make a real server fail mid-measurement.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import httpx
import polars as pl
import pytest
from conftest import (
    http_client,
    new_organization_key,
    new_spec_and_instance,
    upload_time_series,
    wait_processed,
)
from server_process import ServerProcess

import ionworks
from ionworks import Ionworks
from ionworks.cli import main as cli_main
from ionworks.data import columns as col
from ionworks.data import dataset


def cycling(n_cycles: int, per_step: int = 15, dt_s: float = 10.0) -> pl.DataFrame:
    """Per cycle a discharge, rest, charge and rest step: enough for steps and cycle metrics."""
    rows: list[tuple[float, ...]] = []
    for _cycle in range(n_cycles):
        for current in (1.0, 0.0, -1.0, 0.0):
            for j in range(per_step):
                time = len(rows) * dt_s
                rows.append((time, current, 3.7 - 0.01 * j * current))
    return pl.DataFrame(rows, schema=[col.TIME, col.CURRENT, col.VOLTAGE], orient="row")


@dataclass
class Fleet:
    """A unique specification with two instances and three processed time series."""

    spec_id: str
    instance_ids: tuple[str, str]
    measurement_ids: list[str]


@pytest.fixture(scope="module")
def fleet(empty_server: ServerProcess) -> Fleet:
    import uuid

    unique = uuid.uuid4().hex[:10]
    with http_client(empty_server) as http:
        spec_id, first = new_spec_and_instance(http, unique)
        second = http.post(
            f"/cell_specifications/{spec_id}/cell_instances", json={"name": f"cell-b-{unique}"}
        ).json()["id"]
        ids = []
        for n, instance_id in enumerate((first, first, second)):
            confirmed = upload_time_series(http, instance_id, f"m{n}-{unique}", cycling(2 + n))
            assert confirmed.status_code in (200, 201), confirmed.text
            ids.append(confirmed.json()["id"])
        for mid in ids:
            assert wait_processed(http, mid)["processing_status"] == "ready"
    return Fleet(spec_id, (first, second), ids)


@pytest.fixture
def client(empty_server: ServerProcess, tmp_path: Path) -> Iterator[Ionworks]:
    with Ionworks(
        api_key=empty_server.api_key, api_url=empty_server.url, cache_dir=tmp_path / "cache"
    ) as c:
        yield c


class Counting(httpx.HTTPTransport):
    """The real transport, counting the API requests by path."""

    def __init__(self) -> None:
        super().__init__()
        self.paths: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        return super().handle_request(request)


class DropConnection(httpx.BaseTransport):
    """The real transport, except that requests whose path ends with ``suffix`` lose the line."""

    def __init__(self, suffix: str) -> None:
        self.inner = httpx.HTTPTransport()
        self.suffix = suffix
        self.paths: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        if request.url.path.endswith(self.suffix):
            raise httpx.RemoteProtocolError("server disconnected", request=request)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def cycles_of(client: Ionworks, mid: str) -> pl.DataFrame:
    """The client's cycles table (polars, this client's backend)."""
    frame = client.cell_measurement.cycles(mid)
    assert isinstance(frame, pl.DataFrame)
    return frame


def partition(root: Path, fleet: Fleet, index: int) -> Path:
    instance = fleet.instance_ids[0 if index < 2 else 1]
    return dataset.partition_dir(root, fleet.spec_id, instance, fleet.measurement_ids[index])


def test_export_writes_every_table_of_each_measurement_in_its_hive_partition(
    client: Ionworks, fleet: Fleet, tmp_path: Path
) -> None:
    root = tmp_path / "ds"
    result = client.export(root, spec_id=fleet.spec_id)
    assert sorted(result.exported) == sorted(fleet.measurement_ids)
    assert result.ok and not result.skipped
    for index, mid in enumerate(fleet.measurement_ids):
        folder = partition(root, fleet, index)
        cycles = pl.read_parquet(folder / "cycles.parquet")
        assert cycles.equals(cycles_of(client, mid))
        assert pl.read_parquet(folder / "time_series.parquet").height == 60 * (2 + index)
        assert (folder / "steps.parquet").exists()
        manifest = json.loads((folder / dataset.MANIFEST).read_text())
        assert manifest["updated_at"] == client.cell_measurement.get(mid).updated_at
    assert not (root / dataset.STAGING_DIR).exists()


def test_a_cold_export_writes_the_parquet_storage_sent_and_a_warm_one_the_same_data(
    empty_server: ServerProcess, client: Ionworks, fleet: Fleet, tmp_path: Path
) -> None:
    mid = fleet.measurement_ids[0]
    sent = {}
    with http_client(empty_server) as http:
        for table in ("time_series", "steps"):
            redirect = http.get(f"/cell_measurements/{mid}/{table}/download")
            assert redirect.status_code in (302, 307), redirect.text
            sent[table] = http.get(redirect.headers["Location"]).content
    cold, warm = tmp_path / "cold", tmp_path / "warm"
    client.export(cold, measurement_ids=[mid])  # fills the cache
    client.export(warm, measurement_ids=[mid])  # written from the cached frames
    for table, data in sent.items():
        assert (partition(cold, fleet, 0) / f"{table}.parquet").read_bytes() == data
        written = pl.read_parquet(partition(warm, fleet, 0) / f"{table}.parquet")
        assert written.equals(pl.read_parquet(data))


def test_export_metadata_lists_specs_instances_and_measurements_with_partition_keys(
    client: Ionworks, fleet: Fleet, tmp_path: Path
) -> None:
    root = tmp_path / "ds"
    client.export(root, spec_id=fleet.spec_id)
    specs = dataset.read_metadata(root, "specs")
    instances = dataset.read_metadata(root, "instances")
    measurements = dataset.read_metadata(root, "measurements")
    assert specs["spec_id"].to_list() == [fleet.spec_id]
    assert sorted(instances["instance_id"]) == sorted(fleet.instance_ids)
    assert sorted(measurements["measurement_id"]) == sorted(fleet.measurement_ids)
    assert set(measurements["spec_id"]) == {fleet.spec_id}


def test_rerun_skips_unchanged_and_reexports_a_changed_measurement(
    client: Ionworks, fleet: Fleet, tmp_path: Path
) -> None:
    root = tmp_path / "ds"
    client.export(root, spec_id=fleet.spec_id)
    again = client.export(root, spec_id=fleet.spec_id)
    assert sorted(again.skipped) == sorted(fleet.measurement_ids) and not again.exported
    changed = fleet.measurement_ids[1]
    updated = client.cell_measurement.update(changed, {"notes": f"re-run {tmp_path.name}"})
    third = client.export(root, spec_id=fleet.spec_id)
    assert third.exported == [changed]
    assert sorted(third.skipped) == sorted(set(fleet.measurement_ids) - {changed})
    manifest = json.loads((partition(root, fleet, 1) / dataset.MANIFEST).read_text())
    assert manifest["updated_at"] == updated.updated_at
    notes = dataset.read_metadata(root).filter(pl.col("measurement_id") == changed)["notes"]
    assert notes.to_list() == [f"re-run {tmp_path.name}"]


def test_a_failure_mid_measurement_leaves_no_partial_partition_and_a_rerun_completes_it(
    empty_server: ServerProcess, client: Ionworks, fleet: Fleet, tmp_path: Path
) -> None:
    root = tmp_path / "ds"
    target = fleet.measurement_ids[2]
    faulty = DropConnection(f"/cell_measurements/{target}/cycles")
    with Ionworks(
        api_key=empty_server.api_key,
        api_url=empty_server.url,
        transport=faulty,
        max_retries=0,
        cache_dir=tmp_path / "cache",
    ) as broken:
        result = broken.export(root, spec_id=fleet.spec_id, concurrency=2)
    assert list(result.failed) == [target]
    assert "APIConnectionError" in result.failed[target]
    assert sorted(result.exported) == sorted(fleet.measurement_ids[:2])
    # The time series and steps of the target were fetched (and staged) before cycles failed.
    assert f"/cell_measurements/{target}/steps/download" in faulty.paths
    assert not partition(root, fleet, 2).exists()
    assert not (root / dataset.STAGING_DIR).exists()
    assert len(dataset.table_files(root, "cycles")) == 2

    rerun = client.export(root, spec_id=fleet.spec_id)
    assert rerun.exported == [target] and rerun.ok
    assert (partition(root, fleet, 2) / "cycles.parquet").exists()


def test_scan_aggregates_every_measurements_cycles_with_partition_columns(
    client: Ionworks, fleet: Fleet, tmp_path: Path
) -> None:
    root = tmp_path / "ds"
    client.export(root, spec_id=fleet.spec_id, tables=("cycles",))
    lazy = ionworks.scan(root)
    assert isinstance(lazy, pl.LazyFrame)
    summary = (
        lazy.group_by("measurement_id")
        .agg(pl.len().alias("cycles"), pl.col(col.DISCHARGE_CAPACITY).sum().alias("capacity"))
        .collect()
    )
    expected = {mid: cycles_of(client, mid) for mid in fleet.measurement_ids}
    assert sorted(summary["measurement_id"]) == sorted(expected)
    for row in summary.iter_rows(named=True):
        frame = expected[row["measurement_id"]]
        assert row["cycles"] == frame.height
        assert row["capacity"] == pytest.approx(frame[col.DISCHARGE_CAPACITY].sum())
    per_spec = lazy.group_by("spec_id").agg(pl.len()).collect()
    assert per_spec.rows() == [(fleet.spec_id, sum(f.height for f in expected.values()))]
    assert not (partition(root, fleet, 0) / "time_series.parquet").exists()


def test_duckdb_reads_the_same_dataset_with_its_partition_columns(
    client: Ionworks, fleet: Fleet, tmp_path: Path
) -> None:
    root = tmp_path / "ds"
    client.export(root, spec_id=fleet.spec_id, tables=("cycles", "steps"))
    query = (
        "SELECT measurement_id, count(*) AS n FROM read_parquet(?, hive_partitioning=true) "
        "GROUP BY measurement_id ORDER BY measurement_id"
    )
    with duckdb.connect() as con:
        rows = con.execute(query, [f"{root}/*/*/*/cycles.parquet"]).fetchall()
    polars_rows = (
        ionworks.scan(root).group_by("measurement_id").len().sort("measurement_id").collect().rows()
    )
    assert rows == polars_rows and len(rows) == 3


def test_measurement_ids_select_only_those_measurements(
    client: Ionworks, fleet: Fleet, tmp_path: Path
) -> None:
    root = tmp_path / "ds"
    chosen = fleet.measurement_ids[2]
    result = client.export(root, measurement_ids=[chosen, "no-such-measurement"])
    assert result.exported == [chosen]
    assert list(result.failed) == ["no-such-measurement"]
    assert dataset.read_metadata(root, "instances")["instance_id"].to_list() == [
        fleet.instance_ids[1]
    ]


def test_cli_export_prints_a_summary(
    empty_server: ServerProcess,
    fleet: Fleet,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("IONWORKS_CACHE_DIR", str(tmp_path / "cache"))
    args = ["--api-url", empty_server.url, "--api-key", empty_server.api_key]
    target = str(tmp_path / "ds")
    instance = fleet.instance_ids[0]
    assert cli_main(["export", target, "--instance", instance, "--tables", "cycles", *args]) == 0
    assert capsys.readouterr().out.startswith("exported 2, skipped 0 (unchanged), failed 0")
    assert cli_main(["export", target, "--instance", instance, "--json", *args]) == 0
    summary: dict[str, Any] = json.loads(capsys.readouterr().out)
    # Asking for more tables than were written re-exports; the same tables again skip.
    assert len(summary["exported"]) == 2 and summary["failed"] == {}


def test_scan_of_a_directory_without_the_table_says_to_export_first(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="export first"):
        ionworks.scan(tmp_path)
    with pytest.raises(ValueError, match="choose one of"):
        ionworks.scan(tmp_path, table="nope")


def test_ids_that_would_escape_the_dataset_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="partition directory"):
        dataset.partition_dir(tmp_path, "spec", "..", "m")
    with pytest.raises(ValueError, match="partition directory"):
        dataset.partition_dir(tmp_path, "spec", "i", "a/b")


def test_unknown_tables_and_bad_concurrency_are_refused_before_any_call(
    client: Ionworks, tmp_path: Path
) -> None:
    with pytest.raises(ionworks.InvalidParameterError, match="tables="):
        client.export(tmp_path, tables=("cycle",))
    with pytest.raises(ionworks.InvalidParameterError, match="concurrency="):
        client.export(tmp_path, concurrency=0)


def test_exporting_everything_lists_each_project_not_each_spec_and_instance(
    empty_server: ServerProcess, tmp_path: Path
) -> None:
    key = new_organization_key(empty_server)  # an organization of its own: "everything" is ours
    with httpx.Client(base_url=empty_server.url, headers={"X-API-Key": key}) as http:
        spec_id, instance_id = new_spec_and_instance(http, "everything")
        empty = http.post(
            f"/cell_specifications/{spec_id}/cell_instances", json={"name": "cell-without-data"}
        )
        assert empty.status_code == 201, empty.text
        for n in range(20):  # specifications without instances or measurements
            made = http.post("/cell_specifications", json={"name": f"empty-spec-{n}"})
            assert made.status_code == 201, made.text
        ids = []
        for n in range(2):
            confirmed = upload_time_series(http, instance_id, f"all-{n}", cycling(2))
            ids.append(confirmed.json()["id"])
        for mid in ids:
            assert wait_processed(http, mid)["processing_status"] == "ready"
    counting = Counting()
    with Ionworks(
        api_key=key, api_url=empty_server.url, cache_dir=tmp_path / "c", transport=counting
    ) as client:
        result = client.export(tmp_path / "all")
    assert sorted(result.exported) == sorted(ids) and result.ok
    for mid in ids:
        folder = dataset.partition_dir(tmp_path / "all", spec_id, instance_id, mid)
        assert pl.read_parquet(folder / "time_series.parquet").height == 120
    measurements = dataset.read_metadata(tmp_path / "all", "measurements")
    assert sorted(measurements["measurement_id"]) == sorted(ids)
    assert len(dataset.read_metadata(tmp_path / "all", "specs")) == 21
    listing = [p for p in counting.paths if "/download" not in p and not p.endswith("/cycles")]
    assert len(listing) <= 6, listing  # specs, the project's measurements, one instance
