"""``ionworks read`` says what is wrong, and what to do, in the terms of the command line: a
directory, a damaged archive, a parquet table, an output that cannot be written, a plot format
matplotlib cannot write (before the file is read), and a hand-made table mapped with
``--column``/``--unit`` (the csv reader's options, which the command line had no way to give)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from xlsx_writer import write_xlsx

from ionworks.cli import main
from ionworks.data import read

CYCLERS = Path(__file__).parent / "data" / "cyclers"
GENERIC = CYCLERS / "generic_small.csv"
MAPPING = [
    *("--column", "elapsed (h)=Time [s]", "--column", "cell voltage=Voltage [V]"),
    *("--column", "I (mA)=Current [A]", "--unit", "elapsed (h)=h", "--unit", "I (mA)=mA"),
]


def _error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """The one error line ``ionworks`` prints for ``argv`` (exit status 1, no traceback)."""
    assert main(list(argv)) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err, err
    return err


def test_a_directory_is_named_as_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = _error(capsys, "read", str(tmp_path), "-o", str(tmp_path / "out.parquet"))
    assert "a directory; give the cycler file inside it" in err
    with pytest.raises(read.ReaderError, match="a directory"):
        read.time_series(tmp_path)


@pytest.mark.parametrize("reader", [None, "maccor", "neware ndax"])
def test_a_truncated_archive_is_called_damaged_not_unknown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], reader: str | None
) -> None:
    """A cut ``.xlsx``/``.ndax`` (a zip without its directory) says so, forced reader or not."""
    whole = write_xlsx(tmp_path / "run.xlsx", {"data": [["t", "v"], [1, 2]] * 50})
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    forced = ["-r", reader] if reader else []
    err = _error(capsys, "read", str(cut), *forced, "-o", str(tmp_path / "out.parquet"))
    assert "cut.xlsx: a zip archive" in err and "truncated or damaged" in err
    assert not (tmp_path / "out.parquet").exists()


def test_a_parquet_file_is_called_a_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = tmp_path / "series.parquet"
    read.time_series(CYCLERS / "maccor_small.txt").write_parquet(table)
    err = _error(capsys, "read", str(table), "-o", str(tmp_path / "out.csv"))
    assert "series.parquet: a parquet file" in err and "polars.read_parquet" in err


@pytest.mark.parametrize("blocked", ["parent", "target"])
def test_an_output_that_cannot_be_written_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], blocked: str
) -> None:
    """The error names the file asked for, not the temporary file it is written through: its
    folder is a file (the temp file cannot be made), or it is a folder (the temp file, written,
    cannot replace it, and is removed)."""
    if blocked == "parent":
        blocker = tmp_path / "a-file"
        blocker.write_text("")
        target = blocker / "out.parquet"
    else:
        blocker = target = tmp_path / "out.parquet"
        target.mkdir()
    err = _error(capsys, "read", str(CYCLERS / "maccor_small.txt"), "-o", str(target))
    assert f"cannot write {target}" in err and ".out.parquet." not in err
    assert list(tmp_path.iterdir()) == [blocker]


def test_a_plot_format_is_checked_before_reading(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_read(*args: object, **kwargs: object) -> None:
        raise AssertionError("read before the plot format was checked")

    monkeypatch.setattr(read, "opened", no_read)
    err = _error(capsys, "read", str(GENERIC), "--plot", str(tmp_path / "out.nope"))
    assert "--plot" in err and "out.nope" in err and ".png" in err and ".svg" in err


def test_a_hand_made_table_is_mapped_with_column_and_unit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "out.parquet"
    assert main(["read", str(GENERIC), *MAPPING, "-o", str(target)]) == 0
    assert "(csv)" in capsys.readouterr().out
    expected = read.time_series(
        GENERIC,
        reader="csv",
        columns={"elapsed (h)": "Time [s]", "cell voltage": "Voltage [V]", "I (mA)": "Current [A]"},
        units={"elapsed (h)": "h", "I (mA)": "mA"},
    )
    assert pl.read_parquet(target).equals(expected)
    assert expected["Time [s]"][1] == 1800.0


def test_a_sheet_and_the_charge_sign_are_options_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows: list[list[str | float | int | None]] = [["t", "U", "I"], [0, 3.5, 0], [10, 3.6, 2]]
    book = write_xlsx(tmp_path / "made.xlsx", {"notes": [["hello"]], "data": rows})
    target = tmp_path / "out.csv"
    mapping = ["--column", "t=Time [s]", "--column", "U=Voltage [V]", "--column", "I=Current [A]"]
    argv = ["read", str(book), *mapping, "--sheet", "data", "--charge-positive", "-o", str(target)]
    assert main(argv) == 0
    assert pl.read_csv(target)["Current [A]"].to_list() == [0.0, -2.0]  # charging: negative
    assert "no sheet 'nope'" in _error(capsys, *argv[:-3], "--sheet", "nope", "-o", str(target))


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["-r", "csv"], "the csv reader needs the column mapping: --column"),
        (["--unit", "I (mA)=mA"], "the csv reader needs the column mapping: --column"),
        (["--column", "elapsed (h)"], "--column 'elapsed (h)': write NAME=VALUE"),
        (["--column", "t=Time [s]", "-r", "maccor"], "--column: options of the csv reader"),
    ],
)
def test_a_mapping_given_wrong_says_how_to_give_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], said: str
) -> None:
    err = _error(capsys, "read", str(GENERIC), *argv, "-o", str(tmp_path / "out.parquet"))
    assert said in err
    assert "columns={" not in err  # the Python spelling is for Python callers


def test_a_check_shared_by_every_reader_names_the_file(tmp_path: Path) -> None:
    """The checks after a reader (required columns, rows) know no path; the error still names it."""
    source = tmp_path / "no-voltage.csv"
    source.write_text("t,U,I\n0,,1\n1,,1\n")
    columns = {"t": "Time [s]", "U": "Voltage [V]", "I": "Current [A]"}
    with pytest.raises(read.ReaderError) as caught:
        read.time_series(source, reader="csv", columns=columns)
    assert str(caught.value).startswith("no-voltage.csv: ")


@pytest.mark.parametrize("kind", ["text", "workbook"])
def test_an_unknown_file_is_told_the_options_that_read_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    """A file no reader recognises: the command line says ``-r NAME`` and ``--column`` (and
    ``--sheet`` for a workbook); the library raises ``UnknownFormat`` saying it in Python."""
    if kind == "text":
        source = tmp_path / "notes.csv"
        source.write_text("elapsed,volts\n1,2\n")
    else:
        source = write_xlsx(tmp_path / "notes.xlsx", {"data": [["elapsed", "volts"], [1, 2]]})
    target = tmp_path / "out.parquet"
    err = _error(capsys, "read", str(source), "-o", str(target))
    # what it is: the supported readers, or a workbook's sheets and their columns
    said = "maccor (.txt, .csv)" if kind == "text" else "'data' (elapsed, volts)"
    assert f"error: {source.name}: " in err and said in err
    assert "--column 'NAME=Time [s]'" in err and "--unit 'NAME=mA'" in err
    assert ("--sheet SHEET" in err) == (kind == "workbook")
    assert ("-r NAME" in err) == (kind == "text")
    assert "columns={" not in err and "time_series(" not in err
    assert not target.exists()
    with pytest.raises(read.UnknownFormat, match=r"columns=\{") as caught:
        read.time_series(source)
    assert isinstance(caught.value, read.ReaderError) and caught.value.workbook == (
        kind == "workbook"
    )


def test_a_forced_reader_that_finds_no_header_says_how_to_force_another(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The advice reaches the command line too: it names ``-r``, not only Python's ``reader=``."""
    maccor = CYCLERS / "maccor_small.txt"
    err = _error(capsys, "read", str(maccor), "-r", "neware", "-o", str(tmp_path / "out.csv"))
    assert "maccor_small.txt: no Neware header row" in err and "-r NAME" in err
