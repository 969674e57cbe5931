"""``time_series_and_steps`` on the real files of ../shared/corpus/cyclers against the step tables
ionworksdata 0.20.2 produced for them (``expected/<file>.steps.parquet``)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from ionworks.data import read
from ionworks.data.read.arbin import INSTALL_HINT, mdb_export_available

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "cyclers"

pytestmark = pytest.mark.skipif(
    not CORPUS.is_dir(), reason=f"the cycler corpus is not at {CORPUS} (it lives outside the repo)"
)

COUNTER_COLUMNS = {
    "Discharge capacity [A.h]",
    "Charge capacity [A.h]",
    "Discharge energy [W.h]",
    "Charge energy [W.h]",
    "Cycle charge capacity [A.h]",
    "Cycle discharge capacity [A.h]",
    "Cycle charge energy [W.h]",
    "Cycle discharge energy [W.h]",
}
"""Neware: our per-step capacities and energies come from the cycler's own counters, where
ionworksdata integrates the current; they agree to 0.4 % (the time-series tests document it)."""


def _compare(ours: pl.DataFrame, theirs: pl.DataFrame, loose: set[str], rel: float) -> None:
    assert ours.columns == theirs.columns
    assert ours.height == theirs.height
    for name in theirs.columns:
        a, b = ours[name], theirs[name]
        if not (a.dtype.is_numeric() and b.dtype.is_numeric()):
            assert a.cast(pl.String).to_list() == b.cast(pl.String).to_list(), name
            continue
        tolerance = 5e-3 if name in loose else rel
        assert a.cast(pl.Float64).to_list() == pytest.approx(
            b.cast(pl.Float64).to_list(), rel=tolerance, abs=1e-9, nan_ok=True
        ), name


@pytest.mark.parametrize(
    ("name", "reader", "loose"),
    [
        ("maccor_001.txt", "maccor", set()),
        ("neware_uio.csv", "neware", COUNTER_COLUMNS),
        ("20160805_test001_45_cc_01.res", "arbin", set()),
    ],
)
def test_steps_equal_ionworksdata_on_the_corpus(name: str, reader: str, loose: set[str]) -> None:
    if reader == "arbin" and not mdb_export_available():
        pytest.skip(INSTALL_HINT)
    series, steps = read.time_series_and_steps(CORPUS / name, reader)
    theirs = pl.read_parquet(CORPUS / "expected" / f"{name}.steps.parquet")
    _compare(steps, theirs, loose, rel=1e-9)
    assert (
        series.height == pl.read_parquet(CORPUS / "expected" / f"{name}.time_series.parquet").height
    )
