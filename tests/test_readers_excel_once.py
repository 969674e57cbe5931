"""A workbook is parsed once per public call (detect, list the sheets, read), and the parse is
not kept after the call: counted on polars' ``read_excel``, the one function that parses."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from xlsx_writer import Cell, write_xlsx

from ionworks.data import read
from ionworks.data.read import _excel

DATA = Path(__file__).parent / "data" / "cyclers"
MACCOR = DATA / "maccor_small.txt"
NEWARE = DATA / "neware_small.csv"

ARBIN_HEADER: list[Cell] = [
    "Data_Point",
    "Test_Time(s)",
    "Cycle_Index",
    "Step_Index",
    "Current(A)",
    "Voltage(V)",
    "Charge_Capacity(Ah)",
    "Discharge_Capacity(Ah)",
]


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


def _cells(line: str, separator: str) -> list[Cell]:
    """A text line as workbook cells, numbers as numbers (as a cycler's Excel writer stores them)."""
    out: list[Cell] = []
    for field in line.split(separator):
        try:
            out.append(float(field) if field.strip() else None)
        except ValueError:
            out.append(field)
    return out


def _sheet_of(path: Path, separator: str) -> list[list[Cell]]:
    return [_cells(line, separator) for line in path.read_text(encoding="latin-1").splitlines()]


def _maccor(tmp_path: Path) -> Path:
    return write_xlsx(tmp_path / "maccor.xlsx", {"Sheet1": _sheet_of(MACCOR, "\t")})


def _neware(tmp_path: Path) -> Path:
    info: list[list[Cell]] = [["Test information"], ["Channel", "1-3"]]
    return write_xlsx(tmp_path / "neware.xlsx", {"test": info, "record": _sheet_of(NEWARE, ",")})


def _arbin(tmp_path: Path) -> Path:
    rows: list[list[Cell]] = [ARBIN_HEADER]
    rows += [
        [k + 1, 10.0 * k, 1, 1 if k < 2 else 2, 0 if k < 2 else 1, 3.5, 0, 0] for k in range(4)
    ]
    info: list[list[Cell]] = [["TEST REPORT"], ["Channel", 8]]
    sheets = {"Global_Info": info, "Channel_1-008_1": rows}
    return write_xlsx(tmp_path / "arbin.xlsx", sheets)


CALLS: dict[str, Callable[[Path], object]] = {
    "detect_reader": read.detect_reader,
    "time_series": read.time_series,
    "time_series_and_steps": read.time_series_and_steps,
    "metadata": read.metadata,
    "start_time": read.start_time,
}


@pytest.mark.parametrize("make", [_maccor, _neware, _arbin], ids=["maccor", "neware", "arbin"])
@pytest.mark.parametrize("call", list(CALLS))
def test_each_call_parses_the_workbook_once(
    tmp_path: Path, parses: list[Path], make: Callable[[Path], Path], call: str
) -> None:
    path = make(tmp_path)
    CALLS[call](path)
    assert parses == [path]


def test_the_csv_reader_on_a_sheet_parses_once(tmp_path: Path, parses: list[Path]) -> None:
    rows: list[list[Cell]] = [
        ["elapsed (h)", "cell voltage", "I (mA)"],
        [0.0, 3.5, 0],
        [0.5, 3.4, 1000],
    ]
    path = write_xlsx(tmp_path / "made.xlsx", {"notes": [["hello"]], "data": rows})
    columns = {"elapsed (h)": "Time [s]", "cell voltage": "Voltage [V]", "I (mA)": "Current [A]"}
    ts = read.time_series(
        path,
        reader="csv",
        columns=columns,
        units={"Time [s]": "h", "Current [A]": "mA"},
        sheet="data",
    )
    assert ts["Time [s]"].to_list() == [0.0, 1800.0]
    assert parses == [path]


def test_nothing_is_kept_after_a_call(tmp_path: Path, parses: list[Path]) -> None:
    """A second call parses again (the memo lives for one call), and sees a rewritten file."""
    path = _maccor(tmp_path)
    first = read.time_series(path)
    assert _excel._MEMO.get() is None
    _neware(tmp_path).replace(path)
    second = read.time_series(path)
    assert parses == [path, path]
    assert first.height != second.height
    assert second.equals(read.time_series(NEWARE))


def test_headed_sheets_equal_what_polars_reads_with_a_header(tmp_path: Path) -> None:
    """The frames taken from the grid equal polars' own read with a header: plain names, empty
    header cells (kept or dropped as polars does), blank rows, a header-only sheet; sheets whose
    names polars makes up (repeated, numeric cells) are read by polars itself."""
    odd: list[list[Cell]] = [
        [None, "x", None, "x", 1.0, 2.5, "pad", None, None, "x"],
        [None, 1, 2, 3, 4, 5, 6, 7],
        [None],
        [None, "a", None, "c"],
    ]
    derived: dict[str, list[list[Cell]]] = {
        "plain": [["t", "v"], [None, None], [1, 2], [None], ["3", None]],
        "info": [["TEST REPORT"], ["Channel", 8]],
        "gaps": [["t", None, "v", None, None], [1, 2, 3], [None], [4, None, 5, None, 6]],
        "only header": [["t", None, "v"]],
        "arbin": [ARBIN_HEADER, [1, 0.0, 1, 1, 0.0, 3.5, 0, 0]],
    }
    made_up = {"odd": odd, "export": _sheet_of(MACCOR, "\t")}
    path = write_xlsx(tmp_path / "mixed.xlsx", {**derived, **made_up})
    expected = pl.read_excel(path, sheet_id=0, engine="calamine", infer_schema_length=0)
    grids = _excel.cells(path)
    assert [n for n in grids if _excel._headed(grids[n]) is not None] == list(derived)
    got = _excel.read_sheets(path)
    assert list(got) == list(expected)
    for name, frame in expected.items():
        assert got[name].equals(frame.rename({c: c.strip() for c in frame.columns})), name


@pytest.mark.parametrize("make", [_maccor, _neware, _arbin], ids=["maccor", "neware", "arbin"])
def test_every_read_of_an_opened_workbook_shares_one_parse(
    tmp_path: Path, make: Callable[[Path], Path]
) -> None:
    """Inside ``read.opened`` the reader, series, steps, metadata and start time come from one
    parse, and equal what the separate module functions return."""
    path = make(tmp_path)
    series, steps = read.time_series_and_steps(path)
    separate = (read.detect_reader(path), series, steps, read.metadata(path), read.start_time(path))
    with pytest.MonkeyPatch.context() as patch:
        calls: list[Path] = []
        real: Callable[..., Any] = pl.read_excel

        def counting(source: Any, *args: Any, **kwargs: Any) -> Any:
            calls.append(Path(source))
            return real(source, *args, **kwargs)

        patch.setattr(pl, "read_excel", counting)
        with read.opened(path) as file:
            ts, st = file.time_series_and_steps()
            together = (file.reader, ts, st, file.metadata(), file.start_time())
            assert file.time_series().equals(ts)
    assert calls == [path]
    assert together[0] == separate[0] and together[3:] == separate[3:]
    assert together[1].equals(separate[1]) and together[2].equals(separate[2])


def test_an_opened_file_is_dropped_when_its_block_ends(tmp_path: Path) -> None:
    """Leaving the block drops the parse and the sheet's text copy; a later read says where
    reads belong rather than parsing again behind the caller's back."""
    path = _maccor(tmp_path)
    with read.opened(path, reader="maccor") as file:
        file.time_series()
        text = file._text
        assert text is not None and text.is_file()
        assert file._parsed
    assert not text.exists() and not file._parsed and _excel._MEMO.get() is None
    with pytest.raises(read.ReaderError, match=r"inside its `with read\.opened"):
        file.start_time()


def test_opened_says_what_is_wrong_with_the_file_on_entry(tmp_path: Path) -> None:
    with pytest.raises(read.ReaderError, match="no such file"), read.opened(tmp_path / "no.xlsx"):
        pass
    workbook = _maccor(tmp_path)
    with (
        pytest.raises(read.ReaderError, match="unknown reader 'nope'"),
        read.opened(workbook, "nope"),
    ):
        pass
