"""Binary cycler files read quietly and fail clearly: the corpus ``.ndax`` without fastnda's
advice about a clock we do not read, an ``.ndax`` whose records fastnda does not know as a
``ReaderError`` (not a ``NotImplementedError`` traceback), and a truncated Arbin ``.res`` as a
database without rows (not "columns found: " and nothing after it)."""

from __future__ import annotations

import importlib.util
import logging
import zipfile
from pathlib import Path

import pytest

from ionworks.cli import main
from ionworks.data import read
from ionworks.data.read import arbin, neware_ndax

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "cyclers"
NDAX = CORPUS / "20260302_IFE_BTS85_2_9_8_1.ndax"
RES = CORPUS / "20160805_test001_45_cc_01.res"

needs_fastnda = pytest.mark.skipif(
    importlib.util.find_spec("fastnda") is None, reason=neware_ndax.INSTALL_HINT
)
needs_corpus = pytest.mark.skipif(
    not CORPUS.is_dir(), reason=f"the cycler corpus is not at {CORPUS} (it lives outside the repo)"
)


@needs_corpus
@needs_fastnda
def test_the_corpus_ndax_reads_without_the_wall_clock_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Its wall clock jumps back; fastnda warns to use ``total_time_s``, which we read. The
    warning is dropped for our call only: fastnda's logger still passes anything else."""
    with caplog.at_level(logging.DEBUG, logger="fastnda"):
        series = read.time_series(NDAX)
    assert series.height == 252951
    assert not [r for r in caplog.records if "negative jumps" in r.getMessage()]
    fastnda = logging.getLogger("fastnda.ndax")
    assert not fastnda.filters  # the filter is gone after the call
    with caplog.at_level(logging.WARNING, logger="fastnda"):
        fastnda.warning(f"{neware_ndax.NEGATIVE_JUMPS}! (outside our read)")
        fastnda.warning("another fastnda warning")
    assert [r.getMessage() for r in caplog.records][-2:] == [
        f"{neware_ndax.NEGATIVE_JUMPS}! (outside our read)",
        "another fastnda warning",
    ]


@needs_fastnda
def test_an_ndax_with_records_fastnda_does_not_know_is_a_reader_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "newer.ndax"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("data.ndc", b"\x00" * 10_000)
    assert read.detect_reader(path) == "neware ndax"
    with pytest.raises(read.ReaderError, match=r"^newer\.ndax: fastnda cannot read"):
        read.time_series(path)
    assert main(["read", str(path), "-o", str(tmp_path / "out.parquet")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: newer.ndax: ") and "Traceback" not in err


@needs_corpus
@pytest.mark.skipif(not arbin.mdb_export_available(), reason=arbin.INSTALL_HINT)
def test_a_truncated_res_is_a_database_without_rows(tmp_path: Path) -> None:
    cut = tmp_path / "cut.res"
    cut.write_bytes(RES.read_bytes()[:400_000])  # mdb-export prints blank lines, exit 0
    with pytest.raises(read.ReaderError) as caught:
        read.time_series(cut)
    said = str(caught.value)
    assert said.startswith("cut.res: the database has no readable rows in Channel_Normal_Table")
    assert "truncated" in said and "columns found" not in said
