"""``ionworks measurements upload FILE`` maps a table no reader knows with the options of
``ionworks read`` (``--column``, ``--unit``, ``--sheet``, ``--charge-positive``), and a mapping
given wrong says how to write it in the command line's terms, uploading nothing; against the
real local server, each test on an instance of its own."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from conftest import http_client, new_spec_and_instance
from xlsx_writer import write_xlsx

from ionworks import Ionworks
from ionworks.cli import main
from ionworks.data import read

GENERIC = Path(__file__).parent / "data" / "cyclers" / "generic_small.csv"
COLUMNS = {"elapsed (h)": "Time [s]", "cell voltage": "Voltage [V]", "I (mA)": "Current [A]"}
UNITS = {"elapsed (h)": "h", "I (mA)": "mA"}
MAPPING = [
    *(arg for name, standard in COLUMNS.items() for arg in ("--column", f"{name}={standard}")),
    *(arg for name, unit in UNITS.items() for arg in ("--unit", f"{name}={unit}")),
]


@pytest.fixture
def instance(live_server: Any, unique: str) -> str:
    """A fresh instance on the shared server, so names and counts are this test's own."""
    with http_client(live_server) as http:
        return new_spec_and_instance(http, f"upload-mapped-{unique}")[1]


@pytest.fixture
def client(live_server: Any) -> Iterator[Ionworks]:
    """The test's client, closed after it (its connections are not left to the collector)."""
    with Ionworks(api_key=live_server.api_key, api_url=live_server.url) as client:
        yield client


def _upload(live_server: Any, *argv: str) -> list[str]:
    """``ionworks measurements upload ARGV`` against the session server (its key and URL)."""
    server = ["--api-url", live_server.url, "--api-key", live_server.api_key]
    return ["measurements", "upload", *argv, *server]


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IONWORKS_CACHE_DIR", str(tmp_path / "cache"))


def _series(client: Ionworks, measurement_id: str) -> pl.DataFrame:
    """The uploaded time series as the server gives it back (the client's default: polars)."""
    series = client.cell_measurement.time_series(measurement_id, use_cache=False)
    assert isinstance(series, pl.DataFrame)
    return series


def test_a_mapped_csv_is_read_and_uploaded(
    live_server: Any, instance: str, client: Ionworks, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = _upload(live_server, str(GENERIC), "--instance", instance, *MAPPING, "--json")
    assert main(argv) == 0, capsys.readouterr().err
    created = json.loads(capsys.readouterr().out)
    assert created["name"] == "generic_small" and created["processing_status"] == "ready"
    assert created["row_count"] == 5
    expected = read.time_series(GENERIC, reader="csv", columns=COLUMNS, units=UNITS)
    series = _series(client, created["id"])
    assert set(expected.columns) <= set(series.columns)
    assert series.select(expected.columns).equals(expected)
    assert series["Time [s]"][1] == 1800.0 and series["Time [s]"][-1] == 4500.0  # hours, read
    assert series["Current [A]"].to_list() == [0.0, 1.0, 1.0, -2.0, -2.0]


def test_a_sheet_and_the_charge_sign_reach_the_upload(
    live_server: Any,
    instance: str,
    client: Ionworks,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    rows: list[list[str | float | int | None]] = [["t", "U", "I"], [0, 3.5, 0], [10, 3.6, 2]]
    book = write_xlsx(tmp_path / "made.xlsx", {"notes": [["hello"]], "data": rows})
    mapping = ["--column", "t=Time [s]", "--column", "U=Voltage [V]", "--column", "I=Current [A]"]
    argv = _upload(live_server, str(book), "--instance", instance, *mapping, "--json")
    assert main([*argv, "--sheet", "data", "--charge-positive", "--name", "made"]) == 0
    created = json.loads(capsys.readouterr().out)
    series = _series(client, created["id"])
    assert series["Current [A]"].to_list() == [0.0, -2.0]  # charging: negative
    assert series["Voltage [V]"].to_list() == [3.5, 3.6]


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["-r", "csv"], "the csv reader needs the column mapping: --column"),
        (["--unit", "I (mA)=mA"], "the csv reader needs the column mapping: --column"),
        (["--column", "elapsed (h)"], "--column 'elapsed (h)': write NAME=VALUE"),
        (["--column", "t=Time [s]", "-r", "maccor"], "--column: options of the csv reader"),
        ([*MAPPING, "--column", "note=Time [s]"], "map each once"),
    ],
)
def test_a_mapping_given_wrong_says_how_and_uploads_nothing(
    live_server: Any,
    instance: str,
    client: Ionworks,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    said: str,
) -> None:
    assert main(_upload(live_server, str(GENERIC), "--instance", instance, *argv)) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err, err
    assert said in err
    assert "columns={" not in err  # the Python spelling is for Python callers
    assert client.cell_measurement.list(instance).total == 0


def test_a_csv_in_the_standard_columns_is_still_sent_as_it_is(
    live_server: Any,
    instance: str,
    client: Ionworks,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The mapping options are optional: without them nothing changes for a standard table."""
    standard = tmp_path / "standard.csv"
    frame = read.time_series(GENERIC, reader="csv", columns=COLUMNS, units=UNITS)
    frame.write_csv(standard)
    assert main(_upload(live_server, str(standard), "--instance", instance, "--json")) == 0
    created = json.loads(capsys.readouterr().out)
    series = _series(client, created["id"])
    assert series.select(frame.columns).equals(pl.read_csv(standard))


def test_an_unknown_file_is_told_the_options_and_uploads_nothing(
    live_server: Any,
    instance: str,
    client: Ionworks,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Without ``-r`` or a mapping, a table no reader knows gets the command line's options;
    ``create(instance, path)`` (the same read) keeps the Python advice."""
    source = tmp_path / "notes.csv"
    source.write_text("elapsed,volts\n1,2\n")
    assert main(_upload(live_server, str(source), "--instance", instance)) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: notes.csv: not a format we recognise"), err
    assert "-r NAME" in err and "--column 'NAME=Time [s]'" in err
    assert "columns={" not in err and "time_series(" not in err
    with pytest.raises(read.UnknownFormat, match=r'time_series\(path, reader="<name>"\)'):
        client.cell_measurement.create(instance, source)
    assert client.cell_measurement.list(instance).total == 0
