"""One command on a cycler workbook parses it once: ``ionworks read`` (detect, then read) and
an upload from a file (detect, read, start time), from the command line and from Python.

Counted on polars' ``read_excel``, the one function that parses a workbook; the outputs are
checked against the library's own separate calls, so parsing once changes nothing read."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from conftest import http_client, new_spec_and_instance
from xlsx_writer import Cell, write_xlsx

from ionworks import Ionworks
from ionworks.cli import main
from ionworks.data import read

MACCOR = Path(__file__).parent / "data" / "cyclers" / "maccor_small.txt"


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Path]]:
    """The paths polars' ``read_excel`` is called on, in order, while the test runs."""
    calls: list[Path] = []
    real: Callable[..., Any] = pl.read_excel

    def counting(source: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(Path(source))
        return real(source, *args, **kwargs)

    monkeypatch.setattr(pl, "read_excel", counting)
    yield calls


def _cells(line: str) -> list[Cell]:
    """A tab-separated line as workbook cells, numbers as numbers (as Excel stores them)."""
    out: list[Cell] = []
    for field in line.split("\t"):
        try:
            out.append(float(field) if field.strip() else None)
        except ValueError:
            out.append(field)
    return out


@pytest.fixture
def workbook(tmp_path: Path) -> Path:
    """The small Maccor export as Maccor's Excel export holds it: one sheet of its rows."""
    rows = [_cells(line) for line in MACCOR.read_text(encoding="latin-1").splitlines()]
    return write_xlsx(tmp_path / "maccor.xlsx", {"Sheet1": rows})


def test_ionworks_read_parses_the_workbook_once(
    workbook: Path, tmp_path: Path, parses: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "out.parquet"
    assert main(["read", str(workbook), "-o", str(target), "--json"]) == 0
    assert parses == [workbook]
    assert json.loads(capsys.readouterr().out)["reader"] == "maccor"
    assert pl.read_parquet(target).equals(read.time_series(workbook))


def test_ionworks_read_with_a_forced_reader_parses_once(
    workbook: Path, tmp_path: Path, parses: list[Path]
) -> None:
    target = tmp_path / "out.csv"
    assert main(["read", str(workbook), "-r", "maccor", "-o", str(target)]) == 0
    assert parses == [workbook]


def test_an_upload_from_a_workbook_parses_it_once(
    live_server: Any, unique: str, workbook: Path, parses: list[Path]
) -> None:
    """``cell_measurement.create(instance, path)`` reads the series and the start time from one
    parse (the CLI's ``measurements upload FILE`` goes through the same read)."""
    with http_client(live_server) as http:
        _, instance = new_spec_and_instance(http, unique)
    with Ionworks(api_key=live_server.api_key, api_url=live_server.url) as client:
        bundle = client.cell_measurement.create(instance, workbook)
        assert parses == [workbook]
        parses.clear()
        started = read.start_time(workbook)
        assert started is not None
        assert bundle.measurement.row_count == read.time_series(workbook).height
        stored = datetime.fromisoformat(str(bundle.measurement.start_time))
        assert stored.replace(tzinfo=None) == started  # the file's naive time, stored as UTC
        client.cell_measurement.delete(bundle.measurement.id)
