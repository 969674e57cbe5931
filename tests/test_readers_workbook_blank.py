"""Workbooks as Excel leaves them: a blank sheet beside the data (``Sheet2``, ``Sheet3``) reads,
a workbook with no cells at all is called empty, and a damaged one is one line saying so (not
polars' advice about ``raise_if_empty`` nor calamine's multi-line context)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from xlsx_writer import Cell, write_xlsx

from ionworks.cli import main
from ionworks.data import read

MACCOR = Path(__file__).parent / "data" / "cyclers" / "maccor_small.txt"
MAPPED = {"t": "Time [s]", "U": "Voltage [V]", "I": "Current [A]"}
TABLE: list[list[Cell]] = [["t", "U", "I"], [0, 3.5, 0], [10, 3.6, 2]]


def _maccor_rows() -> list[list[Cell]]:
    """The small Maccor export as its Excel export holds it, numbers as numbers."""
    rows: list[list[Cell]] = []
    for line in MACCOR.read_text(encoding="latin-1").splitlines():
        row: list[Cell] = []
        for field in line.split("\t"):
            try:
                row.append(float(field) if field.strip() else None)
            except ValueError:
                row.append(field)
        rows.append(row)
    return rows


@pytest.mark.parametrize("blank_first", [True, False])
def test_a_cycler_export_beside_a_blank_sheet_reads(tmp_path: Path, blank_first: bool) -> None:
    data = _maccor_rows()
    sheets = {"Sheet2": [], "Sheet1": data} if blank_first else {"Sheet1": data, "Sheet2": []}
    path = write_xlsx(tmp_path / "run.xlsx", sheets)
    only = write_xlsx(tmp_path / "only.xlsx", {"Sheet1": data})
    assert read.detect_reader(path) == "maccor"
    assert read.time_series(path).equals(read.time_series(only))


def test_a_mapped_table_defaults_to_the_first_sheet_with_cells(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "made.xlsx", {"Sheet1": [], "data": TABLE, "Sheet3": []})
    series = read.time_series(path, reader="csv", columns=MAPPED)
    assert series["Voltage [V]"].to_list() == [3.5, 3.6]
    named = read.time_series(path, reader="csv", columns=MAPPED, sheet="data")
    assert series.equals(named)


def test_a_workbook_without_cells_is_called_empty(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "blank.xlsx", {"Sheet1": [], "Sheet2": []})
    with pytest.raises(read.UnknownFormat, match=r"'Sheet1' \(empty\); 'Sheet2' \(empty\)"):
        read.time_series(path)


def test_a_damaged_workbook_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A zip that says it is a workbook but lacks its parts: calamine's first line, and what to
    do; from the command line, one ``error:`` line."""
    path = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook")
    with pytest.raises(read.ReaderError) as caught:
        read.time_series(path)
    said = str(caught.value)
    assert said.startswith("broken.xlsx: not a readable workbook (") and "\n" not in said
    assert "is the file damaged?" in said
    assert main(["read", str(path), "-o", str(tmp_path / "out.parquet")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: broken.xlsx: not a readable workbook") and err.count("\n") == 1
