"""The formats added to the readers: each on a small file written from the format's layout
(tests/data/cyclers), with values a person can check against the file's lines."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from ionworks.data import read
from ionworks.data.columns import (
    CHARGE_CAPACITY,
    CHARGE_ENERGY,
    CURRENT,
    CYCLE_COUNT,
    CYCLE_FROM_CYCLER,
    DISCHARGE_CAPACITY,
    DISCHARGE_ENERGY,
    STEP_COUNT,
    STEP_FROM_CYCLER,
    TEMPERATURE,
    TIME,
    VOLTAGE,
)

DATA = Path(__file__).parent / "data" / "cyclers"


def test_maccor_csv_export_reads_units_from_the_row_under_the_header() -> None:
    path = DATA / "maccor_export.csv"
    assert read.detect_reader(path) == "maccor"
    ts = read.time_series(path)
    # (sec), (mA), (mAh), (mWh) in the units row: 500 mA is 0.5 A, 1000 mAh is 1 A.h.
    assert ts.height == 7
    assert ts[TIME].to_list() == pytest.approx([0, 60, 60.000001, 3660, 7260, 7260.000001, 9060])
    assert ts[CURRENT].to_list() == [0.0, 0.0, 0.5, 0.5, 0.5, -1.0, -1.0]
    assert ts[DISCHARGE_CAPACITY].to_list()[4] == pytest.approx(1.0)
    assert ts[DISCHARGE_ENERGY].to_list()[4] == pytest.approx(3.3)
    assert ts[CHARGE_CAPACITY].to_list()[6] == pytest.approx(0.5)
    assert ts[CYCLE_FROM_CYCLER].to_list() == [0] * 5 + [1] * 2
    assert read.start_time(path) == datetime(2024, 3, 1, 9, 0)


def test_neware_regular_layout_takes_step_and_cycle_from_the_summary_rows() -> None:
    path = DATA / "neware_regular.csv"
    # The layout that fails flat readers: a record's Time sits under "Chg. Energy(Wh)".
    assert path.read_text().splitlines()[10].split(",")[3] == "01:00:00"
    assert read.detect_reader(path) == "neware"
    ts = read.time_series(path)
    assert ts.height == 8
    # Per-step Time (00:00:00 ... 02:00:00) made continuous: each step starts where the last ended.
    assert ts[TIME].to_list() == pytest.approx(
        [0, 10, 20, 20.000001, 3620, 7220, 7220.000001, 10820]
    )
    assert ts[STEP_FROM_CYCLER].to_list() == [1, 1, 1, 2, 2, 2, 3, 3]
    assert ts[CYCLE_FROM_CYCLER].to_list() == [1] * 6 + [2] * 2
    # CC Chg -> negative, CC DChg -> positive; mA to A.
    assert ts[CURRENT].to_list() == [0.0, 0.0, 0.0, -0.5, -0.5, -0.5, 0.5, 0.5]
    assert ts[CHARGE_CAPACITY][5] == pytest.approx(1.0)
    assert ts[CHARGE_ENERGY][5] == pytest.approx(3.7)
    assert ts[DISCHARGE_CAPACITY][7] == pytest.approx(0.5)


def test_biologic_mpt_with_decimal_commas_is_charge_positive_and_integrated() -> None:
    path = DATA / "biologic_small.mpt"
    assert read.detect_reader(path) == "biologic mpt"
    ts = read.time_series(path)
    assert ts[TIME].to_list() == [0.0, 10.0, 10.5, 3610.5, 3611.0, 5411.0]
    assert ts[VOLTAGE].to_list()[1] == 3.501
    # I/mA 500 while charging -> -0.5 A; -1000 while discharging -> +1 A.
    assert ts[CURRENT].to_list() == [0.0, 0.0, -0.5, -0.5, 1.0, 1.0]
    assert ts[CHARGE_CAPACITY][3] == pytest.approx(0.5)  # 0.5 A for 3600 s
    assert ts[DISCHARGE_CAPACITY][5] == pytest.approx(0.5)  # 1 A for 1800 s
    assert ts[STEP_FROM_CYCLER].to_list() == [0, 0, 1, 1, 2, 2]
    meta = read.metadata(path)
    assert meta["procedure"] == "Galvanostatic Cycling with Potential Limitation"
    assert meta["start_time"] == datetime(2024, 3, 1, 9, 0)


def test_biologic_csv_export_reads_like_the_mpt() -> None:
    path = DATA / "biologic_small.csv"
    assert read.detect_reader(path) == "biologic csv"
    ts = read.time_series(path)
    assert ts[CURRENT].to_list() == [0.0, 0.0, -0.5, -0.5, 1.0, 1.0]
    assert ts[TEMPERATURE].to_list()[-1] == 27.5
    assert ts[CYCLE_COUNT].to_list() == [0, 0, 0, 0, 1, 1]


def test_arbin_csv_export_flips_charge_positive_current_and_keeps_counters() -> None:
    path = DATA / "arbin_small.csv"
    assert read.detect_reader(path) == "arbin"
    ts = read.time_series(path)
    assert ts[CURRENT].to_list() == [0.0, 0.0, -2.0, -2.0, 1.0, 1.0]
    assert ts[CHARGE_CAPACITY][3] == 1.0 and ts[DISCHARGE_CAPACITY][5] == 1.0
    assert ts[DISCHARGE_ENERGY][5] == 3.55
    assert ts[TEMPERATURE][5] == 26.2
    assert ts[STEP_COUNT].to_list() == [0, 0, 1, 1, 2, 2]


def test_basytec_result_file_reads_hours_latin1_and_commands() -> None:
    path = DATA / "basytec_small.txt"
    assert read.detect_reader(path) == "basytec"
    ts = read.time_series(path)
    # Time[h]: 0.01 h = 36 s; 1.51 h = 5436 s. I[A] is positive on charge.
    assert ts[TIME].to_list() == pytest.approx([0, 36, 36.000001, 3636, 3636.000001, 5436])
    assert ts[CURRENT].to_list() == [0.0, 0.0, -1.0, -1.0, 2.0, 2.0]
    assert ts[TEMPERATURE].to_list()[0] == 25.0  # the T1[°C] header is Latin-1
    assert ts[DISCHARGE_CAPACITY][5] == pytest.approx(1.0)
    meta = read.metadata(path)
    assert meta["procedure"] == "CC-CD" and meta["channel"] == "CTS-4"
    assert meta["start_time"] == datetime(2024, 3, 1, 9, 0)


def test_digatron_takes_time_from_timestamps_with_offsets_and_mixed_fractions() -> None:
    path = DATA / "digatron_small.csv"
    assert read.detect_reader(path) == "digatron"
    ts = read.time_series(path)
    # Program Duration#s holds milliseconds; the timestamps are the truth.
    assert ts[TIME].to_list() == [0.0, 10.0, 10.5, 3610.5, 3611.0, 5411.0]
    assert ts[CURRENT].to_list() == [0.0, 0.0, -1.0, -1.0, 2.0, 2.0]
    assert ts[CHARGE_CAPACITY][3] == 1.0 and ts[DISCHARGE_ENERGY][5] == 3.55
    assert read.start_time(path) == datetime(2024, 3, 1, 8, 0, tzinfo=UTC)


def test_novonix_skips_the_summary_and_reads_run_time_in_hours() -> None:
    path = DATA / "novonix_small.csv"
    assert read.detect_reader(path) == "novonix"
    ts = read.time_series(path)
    assert ts[TIME].to_list() == pytest.approx([0, 36, 36.000001, 7236, 7236.000001, 9036])
    assert ts[CURRENT].to_list() == [0.0, 0.0, -0.05, -0.05, 0.1, 0.1]
    assert ts[CHARGE_CAPACITY][3] == pytest.approx(0.1)  # 0.05 A for 2 h
    meta = read.metadata(path)
    assert meta["channel"] == "3" and meta["cycler_serial_number"] == "NVX-1234"
    assert meta["start_time"] == datetime(2024, 3, 1, 9, 0)


def test_gamry_curves_follow_one_another_in_time() -> None:
    path = DATA / "gamry_small.DTA"
    assert read.detect_reader(path) == "gamry"
    ts = read.time_series(path)
    assert ts[TIME].to_list() == pytest.approx([0, 1800, 3600, 3600.000001, 4500])
    assert ts[CURRENT].to_list() == [-0.01, -0.01, -0.01, 0.02, 0.02]
    assert ts[STEP_FROM_CYCLER].to_list() == [1, 1, 1, 2, 2]
    assert ts[CHARGE_CAPACITY][2] == pytest.approx(0.01)  # 10 mA for 1 h
    assert read.metadata(path)["instrument"] == "IFC1010-12345"


def test_gamry_curve_shorter_than_declared_names_the_line(tmp_path: Path) -> None:
    lines = (DATA / "gamry_small.DTA").read_bytes().split(b"\r\n")
    path = tmp_path / "cut.DTA"
    path.write_bytes(b"\r\n".join(lines[:10]) + b"\r\n")  # CURVE1 says 3 rows; 1 is left
    with pytest.raises(read.ReaderError, match=r"line \d+: the curve declares 3 rows but has 1"):
        read.time_series(path)


def test_time_series_and_steps_returns_the_series_and_its_step_table() -> None:
    ts, steps = read.time_series_and_steps(DATA / "arbin_small.csv")
    assert ts.equals(read.time_series(DATA / "arbin_small.csv"))
    assert steps.height == 3
    assert steps["Step type"].to_list()[1:] == [
        "Constant current charge",
        "Constant current discharge",
    ]
    assert steps["Discharge capacity [A.h]"].to_list()[2] == pytest.approx(1.0)


def test_digatron_iso_timestamps_with_a_t_read_the_same(tmp_path: Path) -> None:
    text = (DATA / "digatron_small.csv").read_text()
    path = tmp_path / "digatron_t.csv"
    path.write_text(text.replace("2024-03-01 ", "2024-03-01T"))
    assert read.time_series(path).equals(read.time_series(DATA / "digatron_small.csv"))
