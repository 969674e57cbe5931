"""Cycler readers on real files (../shared/corpus/cyclers): equal to ionworksdata where it reads them.

For the three files ionworksdata 0.20.2 reads, ``expected/`` holds its time series; ours must have
the same columns and values to a relative 1e-9 unless a difference is documented in the test.
For the others, the values checked here can be read off the file with a text editor or the format
description (first and last rows, row count, one step's capacity).
"""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from ionworks.data import read
from ionworks.data.columns import (
    CHARGE_CAPACITY,
    CHARGE_ENERGY,
    CURRENT,
    CYCLE_FROM_CYCLER,
    DISCHARGE_CAPACITY,
    DISCHARGE_ENERGY,
    STEP_COUNT,
    STEP_FROM_CYCLER,
    TIME,
    VOLTAGE,
)
from ionworks.data.read import arbin, neware_ndax

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "cyclers"
EXPECTED = CORPUS / "expected"

pytestmark = pytest.mark.skipif(
    not CORPUS.is_dir(), reason=f"the cycler corpus is not at {CORPUS} (it lives outside the repo)"
)


def assert_frames_close(
    ours: pl.DataFrame, theirs: pl.DataFrame, skip: tuple[str, ...] = ()
) -> None:
    """Same rows, columns and dtypes; numbers equal to a relative 1e-9 (absolute 1e-12 near 0)."""
    assert ours.height == theirs.height
    assert sorted(ours.columns) == sorted(theirs.columns)
    for name in theirs.columns:
        if name in skip:
            continue
        a, b = ours.get_column(name), theirs.get_column(name)
        assert a.dtype == b.dtype, name
        if a.dtype.is_float():
            close = ((a - b).abs() <= 1e-9 * b.abs() + 1e-12) | (a.is_nan() & b.is_nan())
            assert close.all(), f"{name}: first difference at row {close.arg_min()}"
        else:
            assert a.equals(b), name


def timed(path: Path, reader: str | None = None) -> pl.DataFrame:
    """Read ``path`` and print how long it took (shown with ``pytest -s``)."""
    start = time.perf_counter()
    data = read.time_series(path, reader)
    seconds = time.perf_counter() - start
    print(
        f"{path.name}: {data.height} rows in {seconds:.3f} s ({path.stat().st_size / seconds / 1e6:.1f} MB/s)"
    )
    return data


def test_maccor_text_equals_ionworksdata_on_every_column() -> None:
    path = CORPUS / "maccor_001.txt"
    assert read.detect_reader(path) == "maccor"
    ours = timed(path)
    assert_frames_close(ours, pl.read_parquet(EXPECTED / "maccor_001.txt.time_series.parquet"))


def test_maccor_metadata_comes_from_the_lines_above_the_table() -> None:
    meta = read.metadata(CORPUS / "maccor_001.txt")
    assert meta["channel"] == "1"
    assert meta["procedure"] == "M50_Validation.000"
    assert str(read.start_time(CORPUS / "maccor_001.txt")) == "2020-12-11 12:22:12"


CYCLER_COUNTERS = (CHARGE_CAPACITY, DISCHARGE_CAPACITY, CHARGE_ENERGY, DISCHARGE_ENERGY)


def test_neware_csv_equals_ionworksdata_except_capacities_taken_from_the_cycler() -> None:
    """Documented difference: capacities and energies are the cycler's own counters.

    ionworksdata integrates current (trapezoid) over the 60 s samples of the export; we keep the
    cycler's ``Chg. Cap.(Ah)``/``DChg. Cap.(Ah)``/energies, which it counts at its internal rate
    (as ionworksdata itself does for Maccor and Arbin). They agree to 0.02 % of each column's range.
    """
    path = CORPUS / "neware_uio.csv"
    assert read.detect_reader(path) == "neware"
    ours = timed(path)
    theirs = pl.read_parquet(EXPECTED / "neware_uio.csv.time_series.parquet")
    assert_frames_close(ours, theirs, skip=CYCLER_COUNTERS)
    for name in CYCLER_COUNTERS:
        largest = theirs[name].abs().max()
        assert isinstance(largest, float)
        assert ((ours[name] - theirs[name]).abs() <= 2e-4 * largest).all(), name


def test_bdf_csv_reads_with_values_from_the_file() -> None:
    """Checked against batmo_bdf.csv: 21,206 rows; first row 0.1389 h, 0.006055 A, 3.311215 V;
    the first step (a discharge, step type ``discharge``) ends at 0.116898 Ah after 19.3056 h."""
    path = CORPUS / "batmo_bdf.csv"
    assert read.detect_reader(path) == "bdf"
    ts = timed(path)
    assert ts.height == 21206
    assert ts.row(0, named=True)[VOLTAGE] == pytest.approx(3.31121478737747, rel=1e-12)
    assert ts[CURRENT][0] == pytest.approx(0.00605515800906498, rel=1e-12)
    first = ts.filter(pl.col(STEP_COUNT) == 0)
    assert first[DISCHARGE_CAPACITY][-1] == pytest.approx(0.116898, abs=1e-6)
    assert first[TIME][-1] == pytest.approx((19.444444444444 - 0.138888888888889) * 3600, rel=1e-9)
    charge = ts.filter(pl.col(STEP_COUNT) == 2)
    assert (charge[CURRENT] < 0).all()
    assert charge[CHARGE_CAPACITY][-1] == pytest.approx(0.158948, abs=1e-6)
    assert ts[TIME][-1] == pytest.approx((392.077777777778 - 0.138888888888889) * 3600, rel=1e-9)
    assert ts[CYCLE_FROM_CYCLER][-1] == 109


def test_pec_csv_reads_with_values_from_the_file() -> None:
    """Checked against pec.csv: 16,255 rows under 32 lines of preamble; the first full charge
    (step 8, cycle 1) ends at 44424.915 mAh and 148356.77 mWh, the next discharge (step 10) at
    44351.991 mAh; PEC writes charge as positive current."""
    path = CORPUS / "pec.csv"
    assert read.detect_reader(path) == "pec"
    ts = timed(path)
    assert ts.height == 16255
    assert ts[VOLTAGE][0] == pytest.approx(3.272632, rel=1e-12)
    assert ts[TIME][-1] == pytest.approx(323010.183 - 1.0, rel=1e-12)
    charge = ts.filter((pl.col(STEP_FROM_CYCLER) == 8) & (pl.col(CYCLE_FROM_CYCLER) == 1))
    assert (charge[CURRENT] < 0).all()
    assert charge[CHARGE_CAPACITY][-1] == pytest.approx(44.424915, rel=1e-12)
    assert charge[CHARGE_ENERGY][-1] == pytest.approx(148.35677, rel=1e-9)
    discharge = ts.filter(pl.col(STEP_FROM_CYCLER) == 10)
    assert (discharge[CURRENT] > 0).all()
    assert discharge[DISCHARGE_CAPACITY][-1] == pytest.approx(44.351991, rel=1e-12)
    assert str(read.start_time(path)) == "2019-02-22 16:21:35"


ARBIN = CORPUS / "20160805_test001_45_cc_01.res"


@pytest.mark.skipif(not arbin.mdb_export_available(), reason=arbin.INSTALL_HINT)
def test_arbin_res_equals_ionworksdata_on_every_column() -> None:
    assert read.detect_reader(ARBIN) == "arbin"
    ours = timed(ARBIN)
    theirs = pl.read_parquet(EXPECTED / "20160805_test001_45_cc_01.res.time_series.parquet")
    assert_frames_close(ours, theirs)


@pytest.mark.skipif(not arbin.mdb_export_available(), reason=arbin.INSTALL_HINT)
def test_arbin_metadata_comes_from_the_global_table() -> None:
    meta = read.metadata(ARBIN)
    assert meta["channel"] == "96"
    assert meta["cycler_serial_number"] == "176075"
    assert str(meta["start_time"]) == "2016-08-05 16:16:23"


def test_arbin_without_mdbtools_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert read.detect_reader(ARBIN) == "arbin"
    with pytest.raises(read.ReaderError, match="apt-get install mdbtools"):
        read.time_series(ARBIN)


def test_biologic_mpr_reads_with_values_from_the_records() -> None:
    """biol.mpr (EC-Lab 11, VMP data module version 2, 36 column ids, 153-byte records): 23,561
    rows over 76,139.104 s; Ewe starts at 0.1234872 V. Sequence 4 charges at 0.325 mA for 4 h:
    (Q-Qo) rises by 1.29872 mA.h, which is also what the current integrates to."""
    path = CORPUS / "biol.mpr"
    assert read.detect_reader(path) == "biologic"
    ts = timed(path)
    assert ts.height == 23561
    assert ts[VOLTAGE][0] == pytest.approx(0.12348721921443939, rel=1e-12)
    assert ts[TIME][-1] == pytest.approx(76139.10400116211, rel=1e-12)
    step = ts.filter(pl.col(STEP_COUNT) == 4)
    assert step.height == 2134
    assert (step[CURRENT] < 0).all()  # EC-Lab's positive (oxidation) current is a charge
    assert step[CHARGE_CAPACITY][-1] == pytest.approx(1.2987213539804916e-3 - 1.8029e-11, rel=1e-9)
    duration = step[TIME][-1] - step[TIME][0]
    mean_current = step[CURRENT].mean()
    assert isinstance(mean_current, float)
    expected = -mean_current * duration / 3600
    assert step[CHARGE_CAPACITY][-1] == pytest.approx(expected, rel=5e-3)
    assert step[CHARGE_ENERGY][-1] == pytest.approx(0.00037341870553318253, rel=1e-6)


def test_biologic_mpr_start_time_is_the_log_modules_ole_date() -> None:
    """biol.mpr's LOG module holds 42809.4325694... at byte 585 of its data (EC-Lab 11): 2017-03-15
    10:22:54, on the day its module headers are stamped (03.15.17)."""
    path = CORPUS / "biol.mpr"
    assert str(read.start_time(path)) == "2017-03-15 10:22:54"
    assert read.metadata(path) == {"cycler": "biologic", "start_time": read.start_time(path)}


def test_biologic_mpr_cut_short_names_the_byte_offset(tmp_path: Path) -> None:
    cut = tmp_path / "cut.mpr"
    cut.write_bytes((CORPUS / "biol.mpr").read_bytes()[:1_000_000])
    with pytest.raises(read.ReaderError, match=r"byte 3426: .*truncated"):
        read.time_series(cut)


NDAX = CORPUS / "20260302_IFE_BTS85_2_9_8_1.ndax"


@pytest.mark.skipif(importlib.util.find_spec("fastnda") is None, reason=neware_ndax.INSTALL_HINT)
def test_neware_ndax_reads_with_values_from_the_cycler() -> None:
    """A formation charge: 252,951 records; an hour of temperature control (``Control``), then
    CC charges at 59.86 mA and 20.2 mA. The last step holds 247,651 one-second records and ends at
    4.748 V after 1.3906 Ah, which is also what its current integrates to."""
    assert read.detect_reader(NDAX) == "neware ndax"
    ts = timed(NDAX)
    assert ts.height == 252951
    assert ts[TIME][-1] == 252946.0
    last = ts.filter(pl.col(STEP_COUNT) == 4)
    assert last.height == 247651
    assert (last[CURRENT] < 0).all()  # every step of this file charges
    assert last[VOLTAGE][-1] == pytest.approx(4.748331, abs=1e-6)
    assert last[CHARGE_CAPACITY][-1] == pytest.approx(1.390575, abs=1e-6)
    integral = (last[CURRENT].abs() * last[TIME].diff().fill_null(0.0)).sum() / 3600
    assert last[CHARGE_CAPACITY][-1] == pytest.approx(integral, rel=2e-3)
    meta = read.metadata(NDAX)
    assert meta["channel"] == "72"
    assert str(meta["start_time"]) == "2026-02-27 11:17:33"


def test_ndax_without_fastnda_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "fastnda", None)  # makes the import fail, as when absent
    with pytest.raises(read.ReaderError, match=r"pip install 'ionworks\[readers\]'"):
        read.time_series(NDAX)
