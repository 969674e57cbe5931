"""The ``ionworks`` command line against the local server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from ionworks import Ionworks

DOC_SPEC = "NCM622/Graphite Coin Cell"


def run(
    server: Any, *args: str, tmp_path: Path, check: bool = True
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "IONWORKS_API_URL": server.url,
        "IONWORKS_API_KEY": server.api_key,
        "IONWORKS_CACHE_DIR": str(tmp_path / "cache"),
        "MPLBACKEND": "Agg",
    }
    result = subprocess.run(
        [sys.executable, "-m", "ionworks.cli", *args], env=env, capture_output=True, text=True
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def ids(live_server: Any) -> dict[str, str]:
    client = Ionworks(api_key=live_server.api_key, api_url=live_server.url)
    spec = client.cell_spec.list(name_exact=DOC_SPEC)[0]
    instance = client.cell_instance.list(spec.id, name="batch-A-cell-01")[0]
    measurement = client.cell_measurement.list(instance.id, measurement_type="time_series")[0]
    return {"spec": spec.id, "instance": instance.id, "measurement": measurement.id}


def test_specs_list_json_matches_the_client(live_server: Any, tmp_path: Path) -> None:
    out = run(
        live_server,
        "specs",
        "list",
        "--name",
        "graphite",
        "--limit",
        "5",
        "--json",
        tmp_path=tmp_path,
    )
    body = json.loads(out.stdout)
    client = Ionworks(api_key=live_server.api_key, api_url=live_server.url)
    assert body["total"] == client.cell_spec.list(name="graphite").total
    assert len(body["items"]) == 5 and all("graphite" in i["name"].lower() for i in body["items"])


def test_specs_list_all_prints_a_table_of_every_match(live_server: Any, tmp_path: Path) -> None:
    out = run(
        live_server,
        "specs",
        "list",
        "--form-factor",
        "R2032",
        "--all",
        "--limit",
        "20",
        tmp_path=tmp_path,
    )
    client = Ionworks(api_key=live_server.api_key, api_url=live_server.url)
    total = client.cell_spec.list(form_factor="R2032").total
    assert len(out.stdout.strip().splitlines()) == total + 1  # header + rows
    assert f"{total} of {total}" in out.stderr


def test_measurements_download_writes_the_same_table_as_the_client(
    live_server: Any, ids: dict[str, str], tmp_path: Path
) -> None:
    target = tmp_path / "ts.parquet"
    out = run(
        live_server,
        "measurements",
        "download",
        ids["measurement"],
        "-o",
        str(target),
        tmp_path=tmp_path,
    )
    assert "wrote" in out.stdout
    client = Ionworks(api_key=live_server.api_key, api_url=live_server.url)
    expected = client.cell_measurement.time_series(ids["measurement"], use_cache=False)
    assert pl.read_parquet(target).equals(expected)
    assert "%" not in out.stderr  # no progress bar when not on a terminal


def test_measurements_download_csv_of_steps(
    live_server: Any, ids: dict[str, str], tmp_path: Path
) -> None:
    target = tmp_path / "steps.csv"
    run(
        live_server,
        "measurements",
        "download",
        ids["measurement"],
        "--what",
        "steps",
        "-o",
        str(target),
        tmp_path=tmp_path,
    )
    client = Ionworks(api_key=live_server.api_key, api_url=live_server.url)
    assert pl.read_csv(target).height == client.cell_measurement.steps(ids["measurement"]).height


def test_measurements_upload_then_list(
    live_server: Any, ids: dict[str, str], tmp_path: Path
) -> None:
    client = Ionworks(api_key=live_server.api_key, api_url=live_server.url)
    source = client.cell_measurement.time_series(ids["measurement"]).head(2000)
    path = tmp_path / "upload.csv"
    source.write_csv(path)
    out = run(
        live_server,
        "measurements",
        "upload",
        ids["instance"],
        str(path),
        "--name",
        "cli-upload",
        "--json",
        tmp_path=tmp_path,
    )
    created = json.loads(out.stdout)
    try:
        assert created["processing_status"] == "ready" and created["row_count"] == 2000
        listed = run(
            live_server,
            "measurements",
            "list",
            ids["instance"],
            "--name",
            "cli-upload",
            "--json",
            tmp_path=tmp_path,
        )
        assert [m["id"] for m in json.loads(listed.stdout)["items"]] == [created["id"]]
    finally:
        client.cell_measurement.delete(created["id"])


def test_measurements_plot_writes_a_png(
    live_server: Any, ids: dict[str, str], tmp_path: Path
) -> None:
    target = tmp_path / "plot.png"
    run(
        live_server,
        "measurements",
        "plot",
        ids["measurement"],
        "-o",
        str(target),
        "--kind",
        "capacity",
        tmp_path=tmp_path,
    )
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_errors_print_one_line_and_exit_non_zero(live_server: Any, tmp_path: Path) -> None:
    result = run(live_server, "specs", "get", "no-such-spec", tmp_path=tmp_path, check=False)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith("error: 404 NOT_FOUND")
    assert "Traceback" not in result.stderr


def test_cache_info_and_clear(live_server: Any, ids: dict[str, str], tmp_path: Path) -> None:
    run(
        live_server,
        "measurements",
        "download",
        ids["measurement"],
        "--what",
        "cycles",
        "-o",
        str(tmp_path / "c.parquet"),
        tmp_path=tmp_path,
    )
    info = json.loads(run(live_server, "cache", "info", "--json", tmp_path=tmp_path).stdout)
    assert info["entries"] == 1 and info["directory"] == str(tmp_path / "cache")
    cleared = json.loads(run(live_server, "cache", "clear", "--json", tmp_path=tmp_path).stdout)
    assert cleared == {"deleted": 1}


def test_every_command_has_help(tmp_path: Path) -> None:
    for args in (
        ["--help"],
        ["specs", "list", "--help"],
        ["measurements", "download", "--help"],
        ["cache", "info", "--help"],
        ["measurements", "upload", "--help"],
    ):
        result = subprocess.run(
            [sys.executable, "-m", "ionworks.cli", *args], capture_output=True, text=True
        )
        assert result.returncode == 0 and "usage:" in result.stdout
