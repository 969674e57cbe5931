"""Cycler readers on small files written for these tests (tests/data/cyclers), and bad input.

Each file is a few rows long so every expected number can be checked by hand against the file.
"""

from __future__ import annotations

import struct
from pathlib import Path

import polars as pl
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
    POWER,
    STEP_COUNT,
    STEP_FROM_CYCLER,
    TIME,
    VOLTAGE,
)
from ionworks.data.read import ReaderError, _finish, _running

DATA = Path(__file__).parent / "data" / "cyclers"


def test_maccor_signs_current_from_state_and_restarts_capacity_each_step() -> None:
    ts = read.time_series(DATA / "maccor_small.txt")
    assert read.detect_reader(DATA / "maccor_small.txt") == "maccor"
    assert ts.height == 8
    # Rows 2 and 3 share 10 s: the repeat moves by 1 µs instead of being dropped.
    assert ts[TIME].to_list()[:4] == pytest.approx([0.0, 10.0, 10.000001, 1810.0], abs=1e-9)
    assert ts[TIME][-1] == 86400.0
    # State D = discharge (positive), C = charge (negative); the file writes magnitudes.
    assert ts[CURRENT].to_list() == [0.0, 0.0, 1.0, 1.0, 1.0, -2.0, -2.0, -0.0]
    assert ts[STEP_FROM_CYCLER].to_list() == [1, 1, 2, 2, 2, 3, 3, 3]
    assert ts[STEP_COUNT].to_list() == [0, 0, 1, 1, 1, 2, 2, 2]
    assert ts[CYCLE_FROM_CYCLER].to_list() == [0] * 5 + [1] * 3
    assert ts[CYCLE_COUNT].to_list() == [0] * 5 + [1] * 3
    assert ts[DISCHARGE_CAPACITY].to_list() == pytest.approx([0, 0, 0, 0.5, 1.0, 0, 0, 0])
    assert ts[CHARGE_CAPACITY].to_list() == pytest.approx([0, 0, 0, 0, 0, 0, 0.5, 0.5])
    assert ts[DISCHARGE_ENERGY][4] == pytest.approx(3.3)
    assert ts[CHARGE_ENERGY][6] == pytest.approx(1.85)
    assert ts[POWER][3] == pytest.approx(3.3)
    assert ts["VAR1 from cycler"][0] == 0.5
    assert ts["Mode from cycler"].to_list() == list("RRDDDCCC")
    assert read.metadata(DATA / "maccor_small.txt")["channel"] == "7"


def test_unknown_format_lists_the_readers_and_how_to_force_one(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello\nthis is not a cycler file\n")
    with pytest.raises(ReaderError) as info:
        read.time_series(path)
    message = str(info.value)
    for name in read.READERS:
        assert name in message
    assert 'reader="' in message


def test_unknown_reader_name_lists_the_supported_ones() -> None:
    with pytest.raises(ReaderError, match=r"supported readers: .*maccor"):
        read.time_series(DATA / "maccor_small.txt", reader="nonsense")


def test_corrupt_time_names_the_line(tmp_path: Path) -> None:
    lines = (DATA / "maccor_small.txt").read_text().splitlines()
    lines[7] = lines[7].replace("0d 00:30:10", "0d 00:3O:10")
    path = tmp_path / "bad.txt"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ReaderError, match="line 8"):
        read.time_series(path)


def test_a_file_without_a_voltage_says_which_columns_it_found(tmp_path: Path) -> None:
    text = (DATA / "maccor_small.txt").read_text().replace("Volts", "Vlots")
    path = tmp_path / "novolts.txt"
    path.write_text(text)
    with pytest.raises(ReaderError, match=r"columns found: .*Amps"):
        read.time_series(path)


def test_reader_error_is_a_value_error() -> None:
    assert issubclass(ReaderError, ValueError)


def test_empty_and_missing_files_are_reader_errors(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(ReaderError, match="empty"):
        read.detect_reader(tmp_path / "empty.csv")
    with pytest.raises(ReaderError, match="no such file"):
        read.time_series(tmp_path / "absent.csv")


def test_frames_are_polars() -> None:
    assert isinstance(read.time_series(DATA / "maccor_small.txt"), pl.DataFrame)


def test_neware_csv_converts_milliamps_and_signs_charge_negative() -> None:
    path = DATA / "neware_small.csv"
    assert read.detect_reader(path) == "neware"
    ts = read.time_series(path)
    assert ts.height == 7
    # Time from the Date column; the repeat at 09:01:00 (and 10:01:00) moves by 1 µs.
    assert ts[TIME].to_list() == pytest.approx([0, 60, 60.000001, 3660, 3660.000001, 10860, 10861])
    assert ts[CURRENT].to_list() == pytest.approx([0, 0, -0.5, -0.5, 0.25, 0.25, 0])
    assert ts[VOLTAGE][0] == 3.0
    assert ts[CHARGE_CAPACITY][3] == pytest.approx(0.5)
    assert ts[DISCHARGE_CAPACITY][5] == pytest.approx(0.5)
    assert ts[CHARGE_ENERGY][3] == pytest.approx(1.9)
    assert ts[DISCHARGE_ENERGY][5] == pytest.approx(1.75)
    assert ts[STEP_COUNT].to_list() == [0, 0, 1, 1, 2, 2, 3]
    assert ts[CYCLE_COUNT].to_list() == [0] * 6 + [1]
    assert str(read.start_time(path)) == "2024-02-29 09:00:00"


def test_neware_unparseable_date_names_the_line(tmp_path: Path) -> None:
    text = (
        (DATA / "neware_small.csv").read_text().replace("2024-02-29 10:01:00,1.75", "garbage,1.75")
    )
    text = text.replace("2024-02-29 10:01:00,2.0", "soon,2.0")
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ReaderError, match="line 5: Date 'soon'"):
        read.time_series(path)


def test_bdf_reads_units_from_the_header_and_signs_from_the_voltage_response() -> None:
    """No step type here: the sign comes from the voltage (falls under +1 A, so + is discharge)."""
    path = DATA / "bdf_small.csv"
    assert read.detect_reader(path) == "bdf"
    ts = read.time_series(path)
    assert ts[TIME].to_list() == [0, 60, 61, 3661, 3662, 10862]
    assert ts[CURRENT].to_list() == [0, 0, 1.0, 1.0, -0.5, -0.5]
    assert ts[DISCHARGE_CAPACITY].to_list() == pytest.approx([0, 0, 0, 1.0, 0, 0])
    assert ts[CHARGE_CAPACITY].to_list() == pytest.approx([0, 0, 0, 0, 0, 1.0])
    # No energy in the file: integrated per step from V·I (trapezoid), in W.h.
    assert ts[DISCHARGE_ENERGY][3] == pytest.approx((3.65 + 3.40) / 2 * 1.0 * 3600 / 3600)
    assert ts[CYCLE_COUNT].to_list() == [0, 0, 0, 0, 1, 1]


def test_bdf_with_charge_positive_current_is_flipped_by_the_voltage_response(
    tmp_path: Path,
) -> None:
    lines = (DATA / "bdf_small.csv").read_text().splitlines()
    flipped = [lines[0]] + [
        ",".join([f[0], str(-float(f[1])), *f[2:]]) for f in (line.split(",") for line in lines[1:])
    ]
    path = tmp_path / "iec.csv"
    path.write_text("\n".join(flipped) + "\n")
    assert read.time_series(path)[CURRENT].to_list() == [0, 0, 1.0, 1.0, -0.5, -0.5]


def test_pec_skips_the_preamble_and_tells_energy_from_capacity_by_unit() -> None:
    path = DATA / "pec_small.csv"
    assert read.detect_reader(path) == "pec"
    ts = read.time_series(path)
    assert ts[TIME].to_list() == [0, 5, 1805, 1806, 5406]
    # PEC writes charge as positive current; ours is positive on discharge.
    assert ts[CURRENT].to_list() == [0, 2.0, 2.0, -1.0, -1.0]
    assert ts[VOLTAGE].to_list() == pytest.approx([3.3, 3.2, 3.0, 3.5, 4.1])
    assert ts[DISCHARGE_CAPACITY][2] == pytest.approx(1.0)
    assert ts[DISCHARGE_ENERGY][2] == pytest.approx(3.1)
    # Counters run on across steps in the file; each step restarts from 0 here.
    assert ts[DISCHARGE_CAPACITY][4] == 0.0
    assert ts[CHARGE_CAPACITY][4] == pytest.approx(1.0)
    assert ts[CHARGE_ENERGY][4] == pytest.approx(3.8)
    assert ts["Temperature [degC]"][-1] == 26.0
    meta = read.metadata(path)
    assert meta["TestRegime Name"] == "synthetic C/2"
    assert str(meta["start_time"]) == "2024-02-29 09:00:00"


def write_mpr(path: Path, rows: list[tuple[int, int, float, float, float, float]]) -> None:
    """A minimal EC-Lab .mpr: file header, one 'VMP data' module (version 2), packed records.

    Columns: flags (id 1, mode in bits 0-1), Ns (131, uint16), time/s (4, float64), Ewe/V (6,
    float32), I/mA (8, float32), (Q-Qo)/mA.h (13, float64): 1+2+8+4+4+8 = 27-byte records.
    """
    ids = (1, 131, 4, 6, 8, 13)
    head = struct.pack("<IB", len(rows), len(ids)) + struct.pack(f"<{len(ids)}H", *ids)
    body = head.ljust(0x195, b"\x00") + b"".join(struct.pack("<BHdffd", *r) for r in rows)
    path.write_bytes(b"BIO-LOGIC MODULAR FILE\x1a".ljust(52, b" ") + mpr_module("VMP data", body))


def mpr_module(short: str, body: bytes, version: int = 2, date: bytes = b"03.15.17") -> bytes:
    """One .mpr module: 'MODULE', short and long name, length, version, header date, data."""
    header = b"MODULE" + short.encode().ljust(10) + short.encode().ljust(25)
    return header + struct.pack("<II", len(body), version) + date + body


def test_biologic_mpr_start_time_comes_from_the_log_module(tmp_path: Path) -> None:
    """The LOG module holds the start as an OLE date (days since 1899-12-30); this writer puts
    it at byte 469, after an implausible value at 465, as some EC-Lab versions do."""
    path = tmp_path / "run.mpr"
    write_mpr(path, [(3, 0, 0.0, 3.5, 0.0, 0.0), (1, 1, 10.0, 3.4, -500.0, 0.0)])
    assert read.start_time(path) is None  # no LOG module: the file does not say
    started = 45351.385416666664  # 2024-02-29 09:15:00
    log = bytearray(600)
    struct.pack_into("<d", log, 465, 1e-300)
    struct.pack_into("<d", log, 469, started)
    settings = mpr_module("VMP Set", b"\x00" * 64, 0, b"02/29/24")
    blob = path.read_bytes()
    path.write_bytes(blob[:52] + settings + blob[52:] + mpr_module("VMP LOG", bytes(log), 0))
    assert str(read.start_time(path)) == "2024-02-29 09:15:00"
    assert str(read.metadata(path)["start_time"]) == "2024-02-29 09:15:00"
    assert read.time_series(path).height == 2  # the extra modules do not disturb the data


def test_biologic_mpr_records_become_standard_columns(tmp_path: Path) -> None:
    path = tmp_path / "run.mpr"
    write_mpr(
        path,
        [
            (3, 0, 0.0, 3.5, 0.0, 0.0),
            (1, 1, 10.0, 3.4, -500.0, 0.0),
            (1, 1, 3610.0, 3.0, -500.0, -0.5),
            (1, 2, 3611.0, 3.6, 250.0, -0.5),
            (1, 2, 7211.0, 4.0, 250.0, -0.25),
        ],
    )
    assert read.detect_reader(path) == "biologic"
    ts = read.time_series(path)
    assert ts[TIME].to_list() == [0, 10, 3610, 3611, 7211]
    # EC-Lab writes oxidation (charge) current as positive; ours is positive on discharge.
    assert ts[CURRENT].to_list() == [0, 0.5, 0.5, -0.25, -0.25]
    assert ts[VOLTAGE].to_list() == pytest.approx([3.5, 3.4, 3.0, 3.6, 4.0])
    assert ts[DISCHARGE_CAPACITY][2] == pytest.approx(0.5e-3)
    assert ts[CHARGE_CAPACITY][4] == pytest.approx(0.25e-3)
    assert ts[STEP_COUNT].to_list() == [0, 1, 1, 2, 2]
    assert ts["Mode from cycler"].to_list() == [3, 1, 1, 1, 1]


def test_biologic_mpr_with_an_unknown_module_header_names_the_byte(tmp_path: Path) -> None:
    path = tmp_path / "run.mpr"
    write_mpr(path, [(3, 0, 0.0, 3.5, 0.0, 0.0)])
    blob = bytearray(path.read_bytes())
    blob[52:58] = b"GARBAG"
    path.write_bytes(bytes(blob))
    with pytest.raises(ReaderError, match="byte 52: expected a module header"):
        read.time_series(path)


def test_a_text_export_cut_midway_names_the_last_line(tmp_path: Path) -> None:
    text = (DATA / "neware_small.csv").read_text()
    path = tmp_path / "cut.csv"
    path.write_text(text[: text.rindex("3.2000")])
    with pytest.raises(ReaderError, match="line 8: the last row is cut short"):
        read.time_series(path)


def test_a_malformed_number_names_the_byte_offset(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text((DATA / "neware_small.csv").read_text().replace("3.9000", "3.9OOO"))
    with pytest.raises(
        ReaderError, match=r"3.9OOO.*column .Voltage\(V\). .*offset in the file is 358 bytes"
    ):
        read.time_series(path)


def test_readers_take_no_unknown_options() -> None:
    with pytest.raises(ReaderError, match="takes no options; got colour"):
        read.time_series(DATA / "neware_small.csv", colour="red")


def test_ionworksdata_reader_names_work_including_aliases() -> None:
    for name in ("maccor", "neware", "arbin", "biologic", "bdf", "pec", "neware ndax", "arbin res"):
        assert read._api._reader(name) is not None


def test_maccor_comma_separated_export_reads_like_the_tab_one(tmp_path: Path) -> None:
    lines = (DATA / "maccor_small.txt").read_text().splitlines()
    path = tmp_path / "maccor.csv"
    path.write_text("\n".join(line.replace("\t", ",") for line in lines) + "\n")
    assert read.detect_reader(path) == "maccor"
    assert read.time_series(path).equals(read.time_series(DATA / "maccor_small.txt"))


@pytest.mark.parametrize(
    ("times", "expected"),
    [
        ([0.0, 1.0, 1.0, 1.0, 2.0], [0.0, 1.0, 1.000001, 1.000002, 2.0]),
        # A reset: repeats are not adjacent; the k-th repeat of a value still moves by k µs.
        ([0.0, 1.0, 1.0, 2.0, 0.0, 1.0], [0.0, 1.0, 1.000001, 2.0, 0.000001, 1.000002]),
        # The first offset lands on the next value, so another pass moves that one on.
        ([1.0, 1.0, 1.000001], [1.0, 1.000001, 1.000002]),
    ],
)
def test_duplicate_times_are_spread_by_a_microsecond_per_repeat(
    times: list[float], expected: list[float]
) -> None:
    frame = pl.DataFrame({TIME: times})
    out = _finish.offset_duplicate_times(frame)[TIME].to_list()
    assert out == pytest.approx(expected, abs=1e-12)


def test_maccor_without_a_state_column_keeps_a_signed_current(tmp_path: Path) -> None:
    lines = (DATA / "maccor_small.txt").read_text().splitlines()
    rows = [line.split("\t") for line in lines[3:]]
    state = rows[0].index("State")
    out = []
    for number, fields in enumerate(rows):
        if number and fields[state] == "C":
            fields[7] = "-" + fields[7]  # charge written as negative: discharge-positive export
        out.append("\t".join(f for i, f in enumerate(fields) if i != state))
    path = tmp_path / "signed.txt"
    path.write_text("\n".join(lines[:3] + out) + "\n")
    ts = read.time_series(path)
    assert ts[CURRENT].to_list() == [0.0, 0.0, 1.0, 1.0, 1.0, -2.0, -2.0, -0.0]
    assert "Mode from cycler" not in ts.columns


def test_maccor_magnitude_only_without_state_takes_the_sign_from_the_voltage(
    tmp_path: Path,
) -> None:
    lines = (DATA / "maccor_small.txt").read_text().splitlines()
    rows = [line.split("\t") for line in lines[3:]]
    state = rows[0].index("State")
    path = tmp_path / "magnitudes.txt"
    body = ["\t".join(f for i, f in enumerate(r) if i != state) for r in rows]
    path.write_text("\n".join(lines[:3] + body) + "\n")
    # Magnitudes and no mode: each step is signed by its voltage (falls: discharge, rises: charge).
    ts = read.time_series(path)
    assert ts[CURRENT].to_list() == [0.0, 0.0, 1.0, 1.0, 1.0, -2.0, -2.0, -0.0]


def test_maccor_frames_follow_procedure_calls_and_returns() -> None:
    from ionworks.data.read.maccor import frame_column

    # main, call (P then S), callee rows, a nested call, return, return: frames 0,1,2,1,0.
    letters = ["R", "P", "S", "C", "P", "S", "D", "O", "C", "O", "R", "P", "R"]
    frames = frame_column(pl.DataFrame({"Mode from cycler": letters}))
    assert frames.to_list() == [0, 0, 0, 1, 1, 1, 2, 2, 1, 1, 0, 0, 0]


def test_maccor_message_rows_are_dropped(tmp_path: Path) -> None:
    lines = (DATA / "maccor_small.txt").read_text().splitlines(keepends=True)
    lines.insert(6, lines[6].replace("\tD\t", "\t MSG \t"))  # a message row, padded as written
    path = tmp_path / "with_message.txt"
    path.write_text("".join(lines))
    assert read.time_series(path).equals(read.time_series(DATA / "maccor_small.txt"))


@pytest.mark.parametrize("gaps", [True, False])
def test_integrated_per_step_sums_equal_the_window_bit_for_bit(
    monkeypatch: pytest.MonkeyPatch, gaps: bool
) -> None:
    """The numpy step-by-step sum and polars' window (used past LOOPED_STEPS steps) must give the
    same floats as ``integrated`` evaluated over each step, nulls and step starts included.
    Without nulls the areas are computed in numpy too (polars' operations in its order)."""
    import numpy as np

    rng = np.random.default_rng(7)
    rows = 3000
    frame = pl.DataFrame(
        {
            TIME: np.cumsum(rng.uniform(0.1, 10.0, rows)),
            CURRENT: rng.normal(0.0, 2.0, rows),
            STEP_COUNT: np.arange(rows) // 7,
        }
    )
    if gaps:
        gap = pl.int_range(pl.len()) % 97 == 5
        frame = frame.with_columns(
            pl.when(gap).then(None).otherwise(pl.col(CURRENT)).alias(CURRENT)
        )
    rates = {
        "d": pl.col(CURRENT).clip(lower_bound=0.0),
        "c": (-pl.col(CURRENT)).clip(lower_bound=0.0),
    }
    window = frame.select(_finish.integrated(r).alias(n) for n, r in rates.items())
    monkeypatch.setattr(_running, "BLOCK_ROWS", 1000)  # blocks that do not divide the rows
    looped = pl.DataFrame(_finish.integrated_series(frame, pl.col(CURRENT), ("d", "c")))
    monkeypatch.setattr(_finish, "LOOPED_STEPS", 10)
    windowed = pl.DataFrame(_finish.integrated_series(frame, pl.col(CURRENT), ("d", "c")))
    assert looped.equals(window) and windowed.equals(window)
    assert np.array_equal(looped.to_numpy().view(np.int64), window.to_numpy().view(np.int64))
