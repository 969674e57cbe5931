"""The generic CSV/Excel reader (explicit column mapping) and Excel exports of known cyclers."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from xlsx_writer import Cell, write_xlsx

from ionworks.data import read
from ionworks.data.columns import (
    CHARGE_CAPACITY,
    CURRENT,
    DISCHARGE_CAPACITY,
    TEMPERATURE,
    TIME,
    VOLTAGE,
)
from ionworks.data.read import ReaderError

DATA = Path(__file__).parent / "data" / "cyclers"
GENERIC = DATA / "generic_small.csv"
MAPPING = {"elapsed (h)": TIME, "cell voltage": VOLTAGE, "I (mA)": CURRENT}

ARBIN_HEADER: list[Cell] = ["Data_Point", "Test_Time(s)", "Cycle_Index", "Step_Index", "Current(A)"]
ARBIN_HEADER += ["Voltage(V)", "Charge_Capacity(Ah)", "Discharge_Capacity(Ah)"]


def test_csv_reader_maps_columns_and_converts_the_units_given() -> None:
    ts = read.time_series(GENERIC, reader="csv", columns=MAPPING, units={TIME: "h", "I (mA)": "mA"})
    # elapsed (h) 0.5 -> 1800 s; I (mA) 1000 -> 1 A (positive = discharge, as written).
    assert ts[TIME].to_list() == pytest.approx([0, 1800, 3600, 3600.000001, 4500])
    assert ts[CURRENT].to_list() == [0.0, 1.0, 1.0, -2.0, -2.0]
    assert ts[DISCHARGE_CAPACITY][2] == pytest.approx(0.5)  # 1 A for half an hour
    assert ts[CHARGE_CAPACITY][4] == pytest.approx(0.5)  # 2 A for a quarter hour
    assert "note" not in ts.columns


def test_csv_reader_charge_positive_flips_the_current() -> None:
    ts = read.time_series(
        GENERIC,
        reader="csv",
        columns=MAPPING,
        units={TIME: "h", CURRENT: "mA"},
        charge_positive=True,
    )
    assert ts[CURRENT].to_list() == [0.0, -1.0, -1.0, 2.0, 2.0]


def test_csv_reader_durations_and_timestamps(tmp_path: Path) -> None:
    path = tmp_path / "clock.csv"
    path.write_text(
        "when,clock,U,I\n"
        "2024-03-01 09:00:00,00:00:00,3.5,0\n"
        "2024-03-01 09:30:00,00:30:00,3.4,1\n"
        "2024-03-01 10:00:00.5,1:00:00.5,3.3,1\n"
    )
    by_clock = read.time_series(
        path, reader="csv", columns={"clock": TIME, "U": VOLTAGE, "I": CURRENT}
    )
    by_stamp = read.time_series(
        path,
        reader="csv",
        columns={"when": TIME, "U": VOLTAGE, "I": CURRENT},
        units={"when": "timestamp"},
    )
    assert by_clock[TIME].to_list() == [0.0, 1800.0, 3600.5]
    assert by_stamp[TIME].to_list() == [0.0, 1800.0, 3600.5]


def test_csv_reader_names_missing_columns_and_what_it_needs() -> None:
    with pytest.raises(ReaderError, match="columns="):
        read.time_series(GENERIC, reader="csv")
    with pytest.raises(
        ReaderError, match=r"no 'volts' in the first line\); the first line has: elapsed"
    ):
        read.time_series(GENERIC, reader="csv", columns={**MAPPING, "volts": TEMPERATURE})
    with pytest.raises(ReaderError, match=r"no Voltage \[V\] column; columns found"):
        read.time_series(GENERIC, reader="csv", columns={"elapsed (h)": TIME, "I (mA)": CURRENT})


def test_csv_reader_rejects_two_columns_for_one_quantity() -> None:
    with pytest.raises(ReaderError, match=r"two file columns map to Voltage \[V\]"):
        read.time_series(GENERIC, reader="csv", columns={**MAPPING, "note": VOLTAGE})


def test_other_readers_still_refuse_options() -> None:
    with pytest.raises(ReaderError, match="the maccor reader takes no options; got columns"):
        read.time_series(DATA / "maccor_small.txt", columns=MAPPING)


def test_csv_reader_reads_an_excel_sheet_by_name(tmp_path: Path) -> None:
    rows: list[list[Cell]] = [["elapsed (h)", "cell voltage", "I (mA)"], [0.0, 3.5, 0]]
    rows.append([0.5, 3.4, 1000])
    path = write_xlsx(tmp_path / "made.xlsx", {"notes": [["hello"]], "data": rows})
    ts = read.time_series(
        path, reader="csv", columns=MAPPING, units={TIME: "h", CURRENT: "mA"}, sheet="data"
    )
    assert ts[TIME].to_list() == [0.0, 1800.0] and ts[CURRENT].to_list() == [0.0, 1.0]
    with pytest.raises(ReaderError, match="no sheet 'missing'; sheets: notes, data"):
        read.time_series(path, reader="csv", columns=MAPPING, sheet="missing")


def _arbin_rows(first_point: int, times: list[float], currents: list[float]) -> list[list[Cell]]:
    """Rows of an Arbin channel sheet: charge positive, capacities cumulative."""
    rows: list[list[Cell]] = []
    for k, (t, i) in enumerate(zip(times, currents, strict=True)):
        step = 1 if i == 0 else (2 if i > 0 else 3)
        rows.append([first_point + k, t, 1, step, i, 3.5 + 0.1 * k, 0.0, 0.0])
    return rows


def test_arbin_excel_export_joins_its_channel_sheets_in_order(tmp_path: Path) -> None:
    sheets: dict[str, list[list[Cell]]] = {
        "Global_Info": [["TEST REPORT"], ["Channel", 8]],
        "Channel_1-008_1": [ARBIN_HEADER, *_arbin_rows(1, [0, 10, 20], [0, 0, 1])],
        "Channel_1-008_2": [ARBIN_HEADER, *_arbin_rows(4, [30, 40], [1, -2])],
        "Channel_Chart": [["x"], [1]],
    }
    path = write_xlsx(tmp_path / "arbin.xlsx", sheets)
    assert read.detect_reader(path) == "arbin"
    ts = read.time_series(path)
    assert ts[TIME].to_list() == [0.0, 10.0, 20.0, 30.0, 40.0]
    assert ts[CURRENT].to_list() == [0.0, 0.0, -1.0, -1.0, 2.0]
    assert ts[VOLTAGE].to_list() == pytest.approx([3.5, 3.6, 3.7, 3.5, 3.6])


def test_an_unknown_workbook_says_to_map_its_columns(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "mine.xlsx", {"Sheet1": [["t", "v", "i"], [0, 3.5, 0]]})
    with pytest.raises(
        ReaderError, match=r"'Sheet1' \(t, v, i\); map the columns: .*reader=\"csv\""
    ):
        read.time_series(path)


def test_excel_and_csv_give_the_same_series(tmp_path: Path) -> None:
    frame = pl.read_csv(GENERIC, infer_schema=False)
    rows: list[list[Cell]] = [list(frame.columns), *[list(r) for r in frame.rows()]]
    path = write_xlsx(tmp_path / "same.xlsx", {"Sheet1": rows})
    options = {"columns": MAPPING, "units": {TIME: "h", CURRENT: "mA"}}
    from_excel = read.time_series(path, reader="csv", **options)
    assert from_excel.equals(read.time_series(GENERIC, reader="csv", **options))
