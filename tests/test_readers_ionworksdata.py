"""Our readers against ionworksdata 0.20.2 on the small files of tests/data/cyclers.

The expected frames were written by ionworksdata itself (scripts/ionworksdata_reader_fixtures.py,
run in a scratch venv; ionworksdata is never imported here). Where it reads a file, every
column both frames have agrees to 1e-9, apart from the differences named below; where it
fails, we read the file (the status file records its error).
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from ionworks.data import read

DATA = Path(__file__).parent / "data" / "cyclers"
EXPECTED = Path(__file__).parent / "fixtures" / "ionworksdata" / "readers"
STATUS = json.loads((EXPECTED / "status.json").read_text())

SCALED_BY_UNITS_ROW = {
    "Current [A]",
    "Discharge capacity [A.h]",
    "Charge capacity [A.h]",
    "Power [W]",
}
"""Maccor CSV: ionworksdata skips the units row and takes (mA)/(mAh) values as A/A.h (a 500 A
current on a 1 A.h cell); we read the units row, so these are 1000 times smaller."""

CUMULATIVE = {
    "Discharge capacity [A.h]",
    "Charge capacity [A.h]",
    "Discharge energy [W.h]",
    "Charge energy [W.h]",
}

DIFFERENCES = {
    # Besides the units row: ionworksdata does not map the bare "Energy" header, so it
    # integrates power (1675 mWh by the trapezoid where the cycler counted 1700).
    "maccor_export.csv": SCALED_BY_UNITS_ROW | {"Discharge energy [W.h]", "Charge energy [W.h]"},
    # A BaSyTec result file has both "Time[h]" and a wall-clock "Time" column; ionworksdata
    # takes the clock text as the test time, so its time (and all it integrates) is NaN.
    "basytec_small.txt": {"Time [s]"} | CUMULATIVE,
}
"""File -> columns where ionworksdata is wrong, with the reason."""

READ_BY_IONWORKSDATA = sorted(n for n, s in STATUS.items() if s["result"] == "read")


@pytest.mark.parametrize("name", READ_BY_IONWORKSDATA)
def test_our_series_equals_ionworksdata_where_it_reads_the_file(name: str) -> None:
    theirs = pl.read_parquet(EXPECTED / f"{name}.parquet")
    ours = read.time_series(DATA / name, reader=STATUS[name]["reader"])
    assert ours.height == theirs.height
    shared = [c for c in theirs.columns if c in ours.columns and theirs[c].dtype.is_numeric()]
    assert {"Time [s]", "Current [A]", "Voltage [V]"} <= set(shared)
    for column in shared:
        if column in DIFFERENCES.get(name, set()):
            continue
        assert ours[column].cast(pl.Float64).to_list() == pytest.approx(
            theirs[column].cast(pl.Float64).to_list(), rel=1e-9, abs=1e-12
        ), column


def test_the_maccor_units_row_difference_is_the_factor_of_a_thousand() -> None:
    theirs = pl.read_parquet(EXPECTED / "maccor_export.csv.parquet")
    ours = read.time_series(DATA / "maccor_export.csv")
    for column in SCALED_BY_UNITS_ROW:
        assert (ours[column] * 1000).to_list() == pytest.approx(theirs[column].to_list()), column


def test_ionworksdata_time_is_nan_on_a_basytec_result_file_and_ours_is_hours() -> None:
    theirs = pl.read_parquet(EXPECTED / "basytec_small.txt.parquet")
    assert theirs["Time [s]"].is_nan().all()
    assert read.time_series(DATA / "basytec_small.txt")["Time [s]"][-1] == pytest.approx(5436.0)


@pytest.mark.parametrize("name", sorted(n for n, s in STATUS.items() if s["result"] == "failed"))
def test_we_read_the_files_ionworksdata_fails_on(name: str) -> None:
    ours = read.time_series(DATA / name)
    assert read.detect_reader(DATA / name) == STATUS[name]["reader"]
    assert ours.height > 0 and ours["Time [s]"].is_sorted()
