"""``ionworks measurements analyse`` against the local server: the numbers the library gives on
the same data, the plot written, bad data as one line and exit 1."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from ionworks import Ionworks
from ionworks.data.analysis import R0, capacity_fade, dqdv, find_peaks

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import http_client, new_spec_and_instance
from test_analysis_known import pulse_train
from test_cli import DOC_SPEC, run


def library_client(server: Any, tmp_path: Path) -> Ionworks:
    """The client the expected numbers are read with, its cache in the test's directory (not
    the user's home, which every run and every xdist worker would share)."""
    return Ionworks(api_key=server.api_key, api_url=server.url, cache_dir=tmp_path / "lib-cache")


@pytest.fixture(scope="module")
def demo_measurement(live_server: Any, tmp_path_factory: pytest.TempPathFactory) -> str:
    client = library_client(live_server, tmp_path_factory.mktemp("analysis-cli"))
    spec = client.cell_spec.list(name_exact=DOC_SPEC)[0]
    instance = client.cell_instance.list(spec.id, name="batch-A-cell-01")[0]
    return str(client.cell_measurement.list(instance.id, measurement_type="time_series")[0].id)


def test_fade_json_is_the_library_result(
    live_server: Any, demo_measurement: str, tmp_path: Path
) -> None:
    plot = tmp_path / "fade.png"
    out = run(
        live_server,
        *("measurements", "analyse", demo_measurement, "--what", "fade", "--plot", str(plot)),
        "--json",
        tmp_path=tmp_path,
    )
    body = json.loads(out.stdout)
    client = library_client(live_server, tmp_path)
    expected = capacity_fade(pl.DataFrame(client.cell_measurement.cycles(demo_measurement)))
    assert body["measurement_id"] == demo_measurement and body["what"] == "fade"
    assert body["rows"] == [
        {k: v for k, v in row.items()} for row in expected.iter_rows(named=True)
    ]
    assert plot.stat().st_size > 10_000


def test_dqdv_prints_the_peaks_of_every_cycle(
    live_server: Any, demo_measurement: str, tmp_path: Path
) -> None:
    out = run(
        live_server,
        *("measurements", "analyse", demo_measurement, "--what", "dqdv", "--json"),
        tmp_path=tmp_path,
    )
    rows = json.loads(out.stdout)["rows"]
    client = library_client(live_server, tmp_path)
    series = pl.DataFrame(client.cell_measurement.time_series(demo_measurement))
    expected = find_peaks(dqdv(series))
    assert len(rows) == expected.height > 0
    assert [r["Voltage [V]"] for r in rows] == pytest.approx(
        expected.get_column("Voltage [V]").to_list()
    )
    text = run(
        live_server,
        *("measurements", "analyse", demo_measurement, "--what", "dqdv", "--cycle", "1"),
        tmp_path=tmp_path,
    )
    assert "Voltage [V]" in text.stdout and "Prominence" in text.stdout


def test_resistance_of_an_uploaded_pulse_train(
    empty_server: Any, unique: str, tmp_path: Path
) -> None:
    with http_client(empty_server) as http:
        _, instance_id = new_spec_and_instance(http, unique)
    client = Ionworks(
        api_key=empty_server.api_key, api_url=empty_server.url, cache_dir=tmp_path / "cache"
    )
    series, _ = pulse_train()
    series = series.with_columns(pl.col("Time [s]") - pl.col("Time [s]").first())  # starts at 0
    bundle = client.cell_measurement.create(
        instance_id, {"measurement": {"name": f"pulses-{unique}"}, "time_series": series}
    )
    plot = tmp_path / "r.png"
    out = run(
        empty_server,
        *("measurements", "analyse", bundle.measurement.id, "--what", "resistance"),
        *("--plot", str(plot), "--json"),
        tmp_path=tmp_path,
    )
    rows = [r for r in json.loads(out.stdout)["rows"] if r["Pulse current [A]"] == 2.0]
    assert len(rows) == 3
    assert [r[R0] for r in rows] == pytest.approx([0.025] * 3, rel=0.02)
    assert plot.stat().st_size > 10_000


def test_data_without_the_segment_is_one_line_and_exit_1(
    live_server: Any, demo_measurement: str, tmp_path: Path
) -> None:
    out = run(
        live_server,
        *("measurements", "analyse", demo_measurement, "--what", "dqdv", "--cycle", "99999"),
        tmp_path=tmp_path,
        check=False,
    )
    assert out.returncode == 1
    assert out.stderr.startswith(f"error: measurement {demo_measurement}: dqdv: no discharge")
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1
