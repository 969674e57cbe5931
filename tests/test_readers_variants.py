"""Format variants: Gamry impedance tables, BaSyTec's whitespace-separated export and Excel
workbooks from other cyclers than Arbin, each on a file written in the format's layout."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from xlsx_writer import Cell, write_xlsx

from ionworks.data import read
from ionworks.data.columns import FREQUENCY, Z_IM, Z_MOD, Z_PHASE, Z_RE

DATA = Path(__file__).parent / "data" / "cyclers"
EIS = DATA / "gamry_eis.DTA"
MACCOR = DATA / "maccor_small.txt"
NEWARE = DATA / "neware_small.csv"
BDF = DATA / "bdf_small.csv"


def test_gamry_eis_reads_the_zcurve_table_as_written() -> None:
    """gamry_eis.DTA is an EISPOT file: an OCVCURVE (no current), then a 7-point ZCURVE from
    100 kHz to 0.1 Hz. Row 4 (10 Hz) reads 5.273353E-02, -6.870110E-03, 5.317917E-02 ohm and
    -7.422673E+00 degrees in the file."""
    assert read.detect_reader(EIS) == "gamry"
    z = read.eis(EIS)
    assert z.columns == [FREQUENCY, Z_RE, Z_IM, Z_MOD, Z_PHASE]
    assert z[FREQUENCY].to_list() == [1e5, 1e4, 1e3, 1e2, 1e1, 1e0, 1e-1]
    assert z.row(4) == (10.0, 5.273353e-02, -6.870110e-03, 5.317917e-02, -7.422673)
    modulus = (z[Z_RE] ** 2 + z[Z_IM] ** 2).sqrt()
    assert z[Z_MOD].to_list() == pytest.approx(modulus.to_list(), rel=1e-6)


def test_gamry_eis_without_modulus_and_phase_computes_them(tmp_path: Path) -> None:
    """Drop Zmod and Zphz from every line of the table: they come back from Zreal and Zimag."""
    lines = EIS.read_bytes().split(b"\r\n")
    start = next(i for i, line in enumerate(lines) if line.startswith(b"ZCURVE")) + 1
    cut = [b"\t".join(line.split(b"\t")[:7] + line.split(b"\t")[9:]) for line in lines[start:]]
    path = tmp_path / "eis.DTA"
    path.write_bytes(b"\r\n".join(lines[:start] + cut))
    z, written = read.eis(path), read.eis(EIS)
    assert z[Z_MOD].to_list() == pytest.approx(written[Z_MOD].to_list(), rel=1e-6)
    assert z[Z_PHASE].to_list() == pytest.approx(written[Z_PHASE].to_list(), rel=1e-5)


def test_gamry_time_series_stays_the_dc_curves_when_a_zcurve_follows(tmp_path: Path) -> None:
    lines = EIS.read_bytes().split(b"\r\n")
    zcurve = lines[next(i for i, line in enumerate(lines) if line.startswith(b"ZCURVE")) :]
    path = tmp_path / "both.DTA"
    path.write_bytes((DATA / "gamry_small.DTA").read_bytes() + b"\r\n".join(zcurve))
    assert read.time_series(path).equals(read.time_series(DATA / "gamry_small.DTA"))
    assert read.eis(path).equals(read.eis(EIS))


def test_gamry_eis_and_time_series_errors_say_which_tables_the_file_has() -> None:
    with pytest.raises(read.ReaderError, match=r"no ZCURVE table \(EIS\).*CURVE1, CURVE2"):
        read.eis(DATA / "gamry_small.DTA")
    with pytest.raises(read.ReaderError, match=r"OCVCURVE, ZCURVE\); .*read\.eis\(path\)"):
        read.time_series(EIS)
    with pytest.raises(read.ReaderError, match=r"a maccor file; read\.eis reads .* gamry"):
        read.eis(DATA / "maccor_small.txt")


def test_gamry_eis_table_cut_short_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "cut.DTA"
    path.write_bytes(b"\r\n".join(EIS.read_bytes().split(b"\r\n")[:-4]))
    with pytest.raises(read.ReaderError, match=r"line \d+: the curve declares 7 rows but has 4"):
        read.eis(path)


BASYTEC_TABS = DATA / "basytec_small.txt"
BASYTEC_SPACES = DATA / "basytec_spaces.txt"


def test_basytec_space_aligned_export_reads_like_the_tab_separated_one() -> None:
    """basytec_spaces.txt holds basytec_small.txt's values in right-aligned columns padded with
    runs of spaces (Date and Time of day are two fields, as their two header names say)."""
    assert read.detect_reader(BASYTEC_SPACES) == "basytec"
    assert read.time_series(BASYTEC_SPACES).equals(read.time_series(BASYTEC_TABS))
    assert read.metadata(BASYTEC_SPACES) == read.metadata(BASYTEC_TABS)


def test_basytec_single_space_export_reads_too(tmp_path: Path) -> None:
    lines = BASYTEC_SPACES.read_bytes().split(b"\r\n")
    path = tmp_path / "single.txt"
    path.write_bytes(b"\r\n".join(b" ".join(line.split()) for line in lines))
    assert read.time_series(path).equals(read.time_series(BASYTEC_TABS))


def test_basytec_space_aligned_bad_value_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(BASYTEC_SPACES.read_bytes().replace(b"3.800", b"3.8x0"))
    with pytest.raises(read.ReaderError, match=r"line 13: U\[V\] is '3.8x0', not a number"):
        read.time_series(path)


def _cells(line: str, separator: str) -> list[Cell]:
    """One text line as workbook cells: numbers stored as numbers, the rest as text (as Excel
    holds an export: a cycler's Excel writer stores readings as numbers, clocks as text)."""
    cells: list[Cell] = []
    for field in line.split(separator):
        try:
            cells.append(float(field) if field.strip() else None)
        except ValueError:
            cells.append(field)
    return cells


def _sheet_of(path: Path, separator: str) -> list[list[Cell]]:
    """Every line of a small text export as a sheet's rows."""
    text = path.read_text(encoding="latin-1")
    return [_cells(line, separator) for line in text.splitlines()]


def test_maccor_excel_export_is_detected_and_reads_like_the_text_one(tmp_path: Path) -> None:
    """One sheet holding the text export's preamble rows, header and records."""
    path = write_xlsx(tmp_path / "maccor.xlsx", {"Sheet1": _sheet_of(MACCOR, "\t")})
    assert read.detect_reader(path) == "maccor"
    assert read.time_series(path).equals(read.time_series(MACCOR))
    assert read.metadata(path) == read.metadata(MACCOR)
    assert read.start_time(path) == read.start_time(MACCOR)


def test_neware_workbook_reads_its_record_sheet_not_the_step_summary(tmp_path: Path) -> None:
    """Neware's BTSDA workbook: a test-info sheet, a step summary (which has a step type, a
    step index and a current too) and the records; the record sheet is the time series."""
    records = _sheet_of(NEWARE, ",")
    steps: list[list[Cell]] = [
        ["Cycle Index", "Step Index", "Step Type", "Step Time", "Current(mA)", "Capacity(mAh)"],
        [1, 1, "Rest", "00:01:00", 0.0, 0.0],
        [1, 2, "CC Chg", "01:00:00", 500.0, 500.0],
    ]
    info: list[list[Cell]] = [["Test information"], ["Channel", "1-3"]]
    sheets = {"test": info, "step": steps, "record": records}
    path = write_xlsx(tmp_path / "neware.xlsx", sheets)
    assert read.detect_reader(path) == "neware"
    assert read.time_series(path).equals(read.time_series(NEWARE))
    assert read.start_time(path) == read.start_time(NEWARE)


def test_a_record_sheet_split_over_two_sheets_is_read_whole(tmp_path: Path) -> None:
    records = _sheet_of(NEWARE, ",")
    half = len(records) // 2
    sheets = {"record": records[:half], "record_2": [records[0], *records[half:]]}
    path = write_xlsx(tmp_path / "split.xlsx", sheets)
    assert read.time_series(path).equals(read.time_series(NEWARE))


def test_bdf_workbook_with_quantity_unit_headers_is_detected(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "bdf.xlsx", {"Sheet1": _sheet_of(BDF, ",")})
    assert read.detect_reader(path) == "bdf"
    assert read.time_series(path).equals(read.time_series(BDF))


def test_forced_reader_on_a_workbook_reads_the_sheet_it_recognises(tmp_path: Path) -> None:
    notes: list[list[Cell]] = [["made by hand"]]
    path = write_xlsx(tmp_path / "forced.xlsx", {"notes": notes, "Sheet2": _sheet_of(MACCOR, "\t")})
    assert read.time_series(path, reader="maccor").equals(read.time_series(MACCOR))


def test_a_bad_value_in_a_workbook_names_the_sheet_and_row(tmp_path: Path) -> None:
    rows = _sheet_of(MACCOR, "\t")
    rows[5][8] = "3.4x"  # Volts of the sheet's row 6
    path = write_xlsx(tmp_path / "bad.xlsx", {"export": rows})
    with pytest.raises(read.ReaderError, match=r"bad.xlsx, sheet export: .*`3.4x`.*'Volts'"):
        read.time_series(path)


def test_timestamps_with_blanks_around_them_read_like_clean_ones(tmp_path: Path) -> None:
    """Timestamps are parsed as written first; a trailing blank makes that fail, so the column
    is stripped and parsed again, giving the same series."""
    text = NEWARE.read_text()
    path = tmp_path / "blanks.csv"
    path.write_text(re.sub(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", r" \1 ", text))
    assert path.read_text() != text
    assert read.time_series(path).equals(read.time_series(NEWARE))
