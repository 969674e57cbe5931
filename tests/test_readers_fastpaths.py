"""The readers' shortcuts for the usual file take the general road for anything else.

Counters are parsed as integers unless a file writes ``2.0``; quotes are not looked for unless
the file has one; Maccor states already written as one letter are kept as they are. Each test
writes a file that needs the general road and checks it reads like the plain one.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from ionworks.data import read
from ionworks.data.columns import CURRENT, CYCLE_FROM_CYCLER, STEP_COUNT, STEP_FROM_CYCLER
from ionworks.data.read import ReaderError, _finish

DATA = Path(__file__).parent / "data" / "cyclers"


def _neware_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    lines = path.read_text().splitlines()
    return lines[0].split(","), [line.split(",") for line in lines[1:]]


def test_neware_counters_written_with_a_fraction_read_as_whole_counters(tmp_path: Path) -> None:
    header, rows = _neware_rows(DATA / "neware_small.csv")
    for name in ("Cycle Index", "Step Index"):
        i = header.index(name)
        for row in rows:
            row[i] = f"{row[i]}.0"
    path = tmp_path / "neware_fraction.csv"
    path.write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n")
    plain = read.time_series(DATA / "neware_small.csv")
    fraction = read.time_series(path)
    assert fraction.schema[STEP_FROM_CYCLER] == fraction.schema[CYCLE_FROM_CYCLER] == pl.Int64
    assert fraction.equals(plain)


def test_neware_quoted_fields_with_commas_are_read_as_one_field(tmp_path: Path) -> None:
    header, rows = _neware_rows(DATA / "neware_small.csv")
    i = header.index("Step Type")
    for row in rows:  # "CC, Chg": a comma inside a quoted field must not split it
        row[i] = '"' + row[i].replace(" ", ", ") + '"'
    path = tmp_path / "neware_quoted.csv"
    path.write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n")
    plain = read.time_series(DATA / "neware_small.csv")
    quoted = read.time_series(path)
    assert quoted[CURRENT].to_list() == plain[CURRENT].to_list()
    assert quoted.drop(CURRENT).equals(plain.drop(CURRENT))


def test_maccor_states_padded_with_blanks_read_like_bare_letters(tmp_path: Path) -> None:
    lines = (DATA / "maccor_small.txt").read_text().splitlines()
    header_at = next(i for i, line in enumerate(lines) if line.startswith("Rec#"))
    state = lines[header_at].split("\t").index("State")
    padded = lines[: header_at + 1]
    for line in lines[header_at + 1 :]:
        fields = line.split("\t")
        fields[state] = f" {fields[state]} "
        padded.append("\t".join(fields))
    path = tmp_path / "maccor_padded.txt"
    path.write_text("\n".join(padded) + "\n")
    plain = read.time_series(DATA / "maccor_small.txt")
    spaced = read.time_series(path)
    assert spaced["Mode from cycler"].to_list() == plain["Mode from cycler"].to_list()
    assert spaced[CURRENT].to_list() == plain[CURRENT].to_list()
    assert spaced[STEP_COUNT].to_list() == plain[STEP_COUNT].to_list()
    assert spaced.equals(plain)


def test_maccor_with_sub_procedure_calls_still_numbers_its_frames(tmp_path: Path) -> None:
    # Without P/S/O states every row is in frame 0 and the states are not scanned: a file with
    # a call (P then S), the callee's rows and a return (O) must still get its frames.
    lines = (DATA / "maccor_small.txt").read_text().splitlines()
    header_at = next(i for i, line in enumerate(lines) if line.startswith("Rec#"))
    state = lines[header_at].split("\t").index("State")
    letters = ["R", "P", "S", "D", "D", "O", "C", "C"]
    body = []
    for line, letter in zip(lines[header_at + 1 :], letters, strict=True):
        fields = line.split("\t")
        fields[state] = letter
        body.append("\t".join(fields))
    path = tmp_path / "maccor_calls.txt"
    path.write_text("\n".join([*lines[: header_at + 1], *body]) + "\n")
    ts = read.time_series(path)
    assert ts["Frame"].to_list() == [0, 0, 0, 1, 1, 1, 0, 0]
    assert read.time_series(DATA / "maccor_small.txt")["Frame"].to_list() == [0] * 8


def test_maccor_frame_changes_start_steps_even_where_the_step_number_stays(
    tmp_path: Path,
) -> None:
    # Step counts look at the frame only when it is not constant (a file without calls is in
    # frame 0 throughout); a call and a return inside one step number must still start steps.
    lines = (DATA / "maccor_small.txt").read_text().splitlines()
    header_at = next(i for i, line in enumerate(lines) if line.startswith("Rec#"))
    names = lines[header_at].split("\t")
    step, state = names.index("Step"), names.index("State")
    body = []
    letters = ["R", "P", "S", "D", "D", "O", "C", "C"]
    for line, letter in zip(lines[header_at + 1 :], letters, strict=True):
        fields = line.split("\t")
        fields[step], fields[state] = "1", letter
        body.append("\t".join(fields))
    path = tmp_path / "maccor_one_step.txt"
    path.write_text("\n".join([*lines[: header_at + 1], *body]) + "\n")
    ts = read.time_series(path)
    assert ts["Frame"].to_list() == [0, 0, 0, 1, 1, 1, 0, 0]
    assert ts[STEP_COUNT].to_list() == [0, 0, 0, 1, 1, 1, 2, 2]
    plain = path.read_text().replace("\tP\t", "\tR\t").replace("\tS\t", "\tR\t")
    path.write_text(plain.replace("\tO\t", "\tD\t"))
    assert read.time_series(path)[STEP_COUNT].to_list() == [0] * 8


def test_rows_without_a_current_or_a_voltage_are_still_dropped(tmp_path: Path) -> None:
    # A row missing either reading goes, as if the file did not have it.
    header, rows = _neware_rows(DATA / "neware_small.csv")
    for column, row in (("Voltage(V)", 3), ("Current(mA)", len(rows) - 2)):
        changed = [list(r) for r in rows]
        changed[row][header.index(column)] = ""
        gap, without = tmp_path / "neware_gap.csv", tmp_path / "neware_without.csv"
        gap.write_text("\n".join(",".join(r) for r in [header, *changed]) + "\n")
        kept = [r for i, r in enumerate(rows) if i != row]
        without.write_text("\n".join(",".join(r) for r in [header, *kept]) + "\n")
        assert read.time_series(gap).height == len(rows) - 1
        assert read.time_series(gap).equals(read.time_series(without))


def test_neware_step_types_sign_the_current_alike_with_and_without_gaps(tmp_path: Path) -> None:
    # Without gaps the current is signed in numpy from the step type's runs; a blank current
    # (a row finish drops) sends it through polars' per-row lookup: both give finish's rule.
    header, rows = _neware_rows(DATA / "neware_small.csv")
    kind, current = header.index("Step Type"), header.index("Current(mA)")
    for row, name in ((2, "CCCV Chg"), (3, "CCCV_Chg"), (4, "Pause"), (5, ""), (6, "CC DChg")):
        rows[row][kind] = name
    rows[6][current] = "-0.0"  # a discharge row's magnitude: +0.0
    gap = [*rows, list(rows[-1])]
    gap[-1][current] = ""
    plain_path, gap_path = tmp_path / "plain.csv", tmp_path / "gap.csv"
    for path, table in ((plain_path, rows), (gap_path, gap)):
        path.write_text("\n".join(",".join(r) for r in [header, *table]) + "\n")
    plain, with_gap = read.time_series(plain_path), read.time_series(gap_path)
    # Charge -|I|, discharge +|I|, others as written (CCCV_Chg has no word Chg).
    assert plain[CURRENT].to_list() == [0.0, 0.0, -0.5, 0.5, -0.25, -0.25, 0.0]
    assert str(plain[CURRENT][-1]) == "0.0"  # not -0.0
    assert with_gap.equals(plain)


def test_run_numbers_on_counters_with_gaps_or_fractions_count_changes_alike() -> None:
    # rle_id (the shortcut for whole numbers without nulls) counts a null as a value of its
    # own; the general road keeps a null in the run before it.
    frame = pl.DataFrame(
        {
            "whole": [1, 1, 2, 2, 2, 5, 1, 1],
            "gaps": [1, 1, None, None, 2, 2, None, 3],
            "fraction": [1.0, 1.0, float("nan"), float("nan"), 2.0, 2.0, 2.0, 3.0],
        }
    )
    for name in frame.columns:
        expected = frame.select(_finish.changes(name).cum_sum()).to_series()
        got = frame.select(_finish.run_number(frame, name)).to_series()
        assert got.to_list() == expected.to_list(), name
        assert got.dtype == pl.Int64


def test_a_neware_date_that_does_not_parse_is_the_callers_error(tmp_path: Path) -> None:
    # The row times are parsed on a thread while the numbers are scaled: a date that is not one
    # is the reader's one-line error in the caller, naming the line and the value, not a worker
    # thread's traceback or a null time.
    header, rows = _neware_rows(DATA / "neware_small.csv")
    date = header.index("Date")
    rows[-1][date] = "2024-02-30 09:00:00"  # no such day
    path = tmp_path / "bad_date.csv"
    path.write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n")
    with pytest.raises(ReaderError, match=r"bad_date\.csv: line 8: Date '2024-02-30 09:00:00'"):
        read.time_series(path)
