"""The public entry points: detect a file's format, read it, and read what its header stores."""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from . import (
    _workbook,
    arbin,
    arbin_text,
    basytec,
    bdf,
    biologic_mpr,
    biologic_text,
    digatron,
    gamry,
    generic,
    maccor,
    neware,
    neware_ndax,
    neware_regular,
    novonix,
    pec,
)
from ._errors import ReaderError, UnknownFormat
from ._excel import Memo, active_memo, cells, header_of, is_workbook, one_parse, per_call
from ._registry import Reader
from ._text import head_text

READERS: dict[str, Reader] = {
    r.name: r
    for r in (
        Reader(maccor.NAME, maccor.read, maccor.metadata, maccor.start_time, (".txt", ".csv")),
        Reader(
            neware.NAME,
            neware_regular.read,
            neware_regular.metadata,
            neware_regular.start_time,
            (".csv",),
        ),
        Reader(bdf.NAME, bdf.read, None, None, (".csv", ".bdf")),
        Reader(pec.NAME, pec.read, pec.metadata, pec.start_time, (".csv",)),
        Reader(
            arbin.NAME,
            arbin_text.read,
            arbin_text.metadata,
            arbin_text.start_time,
            (".res", ".csv", ".xlsx"),
        ),
        Reader(
            biologic_mpr.NAME,
            biologic_mpr.read,
            biologic_mpr.metadata,
            biologic_mpr.start_time,
            (".mpr",),
        ),
        Reader(
            biologic_text.NAME_MPT,
            biologic_text.read,
            biologic_text.metadata,
            biologic_text.start_time,
            (".mpt",),
        ),
        Reader(biologic_text.NAME_CSV, biologic_text.read, None, None, (".csv",)),
        Reader(
            neware_ndax.NAME,
            neware_ndax.read,
            neware_ndax.metadata,
            neware_ndax.start_time,
            (".ndax",),
        ),
        Reader(basytec.NAME, basytec.read, basytec.metadata, basytec.start_time, (".txt", ".csv")),
        Reader(digatron.NAME, digatron.read, digatron.metadata, digatron.start_time, (".csv",)),
        Reader(novonix.NAME, novonix.read, novonix.metadata, novonix.start_time, (".csv",)),
        Reader(gamry.NAME, gamry.read, gamry.metadata, gamry.start_time, (".dta",)),
        Reader(generic.NAME, generic.read, None, None, (".csv", ".xlsx", ".xls"), generic.OPTIONS),
    )
}
"""Every supported reader by name."""

ALIASES = {"arbin res": arbin.NAME, "arbin csv": arbin.NAME, "arbin excel": arbin.NAME}
"""ionworksdata names that reach the same reader here (its "arbin res" is our "arbin")."""

_SNIFFERS: tuple[tuple[str, Callable[[str], bool]], ...] = (
    (gamry.NAME, gamry.sniff),
    (biologic_text.NAME_MPT, biologic_text.sniff_mpt),
    (basytec.NAME, basytec.sniff),
    (novonix.NAME, novonix.sniff),
    (neware.NAME, neware_regular.is_regular),
    (bdf.NAME, bdf.sniff),
    (arbin.NAME, arbin_text.sniff),
    (digatron.NAME, digatron.sniff),
    (biologic_text.NAME_CSV, biologic_text.sniff_csv),
    (maccor.NAME, maccor.sniff),
    (neware.NAME, neware.sniff),
    (pec.NAME, pec.sniff),
)
"""Text sniffers in the order they are tried (the most specific signature first)."""


@per_call
def detect_reader(path: str | Path) -> str:
    """The name of the reader for ``path``, from its content (magic bytes, then header row)."""
    file = _existing(path)
    with file.open("rb") as handle:
        magic = handle.read(64)
    binary = _binary_reader(magic, file)
    if binary is not None:
        return binary
    text, _ = head_text(file)
    for name, sniff in _SNIFFERS:
        if sniff(text):
            return name
    raise _unknown(file)


def _unknown(file: Path) -> UnknownFormat:
    """The error for a file no reader recognises: every reader, and how to force one."""
    supported = "; ".join(f"{r.name} ({', '.join(r.extensions)})" for r in READERS.values())
    return UnknownFormat(
        f"{file.name}: not a format we recognise. Supported readers: {supported}",
        '. If you know the format, force it: time_series(path, reader="<name>"), or map the '
        'columns yourself: time_series(path, reader="csv", columns={"my time": "Time [s]", ...})',
    )


def _not_a_cycler_file(magic: bytes, file: Path) -> None:
    """A clear error for a file that is damaged, or a table already, rather than "unknown"."""
    if magic.startswith(b"PK\x03\x04") and not zipfile.is_zipfile(file):
        raise ReaderError(
            f"{file.name}: a zip archive (the container of .xlsx workbooks and Neware .ndax "
            "files) whose directory is missing: the file is truncated or damaged; copy it again"
        )
    if magic.startswith(b"PAR1"):
        raise ReaderError(
            f"{file.name}: a parquet file, a table already rather than a cycler's export: "
            "read it with polars.read_parquet (measurements upload sends it as it is)"
        )


def _binary_reader(magic: bytes, path: Path) -> str | None:
    """The reader of a binary file from its first bytes, or None for text."""
    if arbin.sniff(magic):
        return arbin.NAME
    if biologic_mpr.sniff(magic):
        return biologic_mpr.NAME
    if neware_ndax.sniff(magic, path):
        return neware_ndax.NAME
    if is_workbook(magic, path):
        return _workbook_reader(path)
    return None


def _workbook_reader(path: Path) -> str:
    """An Arbin export by its channel sheet, else the cycler whose text export a sheet holds
    (Maccor, Neware, BDF... exported to Excel); a workbook of none says to map its columns."""
    if arbin_text.is_header(header_of(arbin_text.channel_sheets(cells(path))[0])):
        return arbin.NAME
    found = _workbook.detect(path, _SNIFFERS)
    if found is not None:
        return found[0]
    raise UnknownFormat(
        f"{path.name}: a workbook whose sheets no reader recognises: {_workbook.describe(path)}",
        '; map the columns: time_series(path, reader="csv", columns={"<column>": "Time [s]", ...}, '
        'sheet="<sheet>")',
        workbook=True,
    )


WORKBOOK_READERS = frozenset({arbin.NAME, generic.NAME})
"""Readers that read workbooks themselves; the others read a sheet written out as text."""


@contextmanager
def _as_text(file: Path, reader: str) -> Iterator[Path]:
    """``file``, or for a workbook read by a text reader, its sheet in that reader's format."""
    with file.open("rb") as handle:
        magic = handle.read(64)
    if reader in WORKBOOK_READERS or not is_workbook(magic, file):
        yield file
        return
    sniffers = [sniff for name, sniff in _SNIFFERS if name == reader]
    with _workbook.text_copy(file, lambda text: any(s(text) for s in sniffers)) as text:
        yield text


class Opened:
    """A cycler file open for several reads (from :func:`opened`): its reader is detected once,
    a workbook is parsed once and a workbook sheet written out as text once, for all of them."""

    def __init__(self, file: Path, reader: Reader, parsed: Memo, stack: ExitStack) -> None:
        self.path = file
        """The file, as a Path."""
        self.reader = reader.name
        """The reader's name: the one forced, else the one detected."""
        self._chosen = reader
        self._parsed = parsed
        self._stack = stack
        self._text: Path | None = None
        self._closed = False

    @contextmanager
    def _reading(self) -> Iterator[Path]:
        """The file in its reader's form (a workbook's sheet as text for a text reader), read
        with this file's memo of parses; its errors name the file; an error once the ``with``
        block has ended."""
        if self._closed:
            raise ReaderError(f"{self.path.name}: read it inside its `with read.opened(...)` block")
        with one_parse(self._parsed):
            if self._text is None:
                self._text = self._stack.enter_context(_as_text(self.path, self.reader))
            try:
                yield self._text
            except ReaderError as exc:  # the checks shared by all readers know no file name
                if self.path.name in str(exc):
                    raise
                raise ReaderError(f"{self.path.name}: {exc}") from exc

    def time_series(self, **options: Any) -> pl.DataFrame:
        """The standard time series (see :func:`time_series`; ``options`` as there)."""
        unknown = sorted(set(options) - set(self._chosen.options))
        if unknown:
            takes = self._chosen.options
            said = f"takes {', '.join(takes)}" if takes else "takes no options"
            raise ReaderError(f"the {self.reader} reader {said}; got {', '.join(unknown)}")
        with self._reading() as source:
            return self._chosen.read(source, **options)

    def time_series_and_steps(self, **options: Any) -> tuple[pl.DataFrame, pl.DataFrame]:
        """The time series and its step table (see :func:`time_series_and_steps`)."""
        from ..steps import summarize

        series = self.time_series(**options)
        return series, summarize(series)

    def metadata(self) -> dict[str, Any]:
        """What the file's header says about the test (see :func:`metadata`)."""
        if self._chosen.metadata is None:
            return {"cycler": self.reader}
        with self._reading() as source:
            return self._chosen.metadata(source)

    def start_time(self) -> datetime | None:
        """When the test started, or None (see :func:`start_time`)."""
        if self._chosen.start_time is None:
            return None
        with self._reading() as source:
            return self._chosen.start_time(source)

    def eis(self) -> pl.DataFrame:
        """The impedance spectrum the file holds (see :func:`eis`)."""
        if self.reader not in EIS_READERS:
            raise ReaderError(
                f"{self.path.name}: a {self.reader} file; read.eis reads the impedance tables of "
                f"{', '.join(EIS_READERS)} files only (reader=... forces one)"
            )
        return EIS_READERS[self.reader](self.path)

    def close(self) -> None:
        """Remove the text copy and end the reads; what :func:`opened` does on leaving."""
        self._closed = True
        self._stack.close()


@contextmanager
def opened(path: str | Path, reader: str | None = None) -> Iterator[Opened]:
    """``path`` open for several reads that share one parse of the file::

        with read.opened("run-42.xlsx") as f:
            print(f.reader)                 # detected once (or the one forced)
            ts = f.time_series()
            started = f.start_time()

    Each module function (``time_series(path)``, ``start_time(path)``...) parses a workbook
    again; inside this block its methods of the same names do not. The parses are dropped
    when the block ends. Raises ``ReaderError`` on entry for a missing or unknown file.
    """
    outer = active_memo()
    parsed: Memo = {} if outer is None else outer
    with ExitStack() as stack:
        with one_parse(parsed):
            file = _existing(path)
            chosen = _reader(reader or detect_reader(file))
        handle = Opened(file, chosen, parsed, stack)
        try:
            yield handle
        finally:
            handle.close()
            if outer is None:  # a memo shared with an enclosing block is that block's to drop
                parsed.clear()


def time_series(path: str | Path, reader: str | None = None, **options: Any) -> pl.DataFrame:
    """Read a cycler file into the standard time series.

    ``reader`` forces a format by name (see :data:`READERS`); ``options`` go to that reader
    (only the generic ``"csv"`` reader takes any: ``columns``, ``units``, ``sheet``,
    ``charge_positive``).
    """
    with opened(path, reader) as file:
        return file.time_series(**options)


def time_series_and_steps(
    path: str | Path, reader: str | None = None, **options: Any
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The time series of a cycler file and its step table (``ionworks.data.steps.summarize``).

    Same arguments as :func:`time_series`; ionworksdata's function of the same name returns
    the same pair, so code switches by changing an import.
    """
    with opened(path, reader) as file:
        return file.time_series_and_steps(**options)


def metadata(path: str | Path, reader: str | None = None) -> dict[str, Any]:
    """What the file's header says about the test (cycler, channel, start time...), if anything."""
    with opened(path, reader) as file:
        return file.metadata()


def start_time(path: str | Path, reader: str | None = None) -> datetime | None:
    """When the test started, where the format stores it; None where it does not."""
    with opened(path, reader) as file:
        return file.start_time()


EIS_READERS: dict[str, Callable[[Path], pl.DataFrame]] = {gamry.NAME: gamry.eis}
"""Readers of impedance spectra, by the name of the format that stores them."""


def eis(path: str | Path, reader: str | None = None) -> pl.DataFrame:
    """The impedance spectrum a file holds: frequency, Z_Re, Z_Im, Z_Mod and Z_Phase.

    Only Gamry ``.DTA`` files (``ZCURVE`` tables) so far; :func:`time_series` of the same
    file stays its DC curves.
    """
    with opened(path, reader) as file:
        return file.eis()


def _reader(name: str) -> Reader:
    """The reader called ``name`` (case-insensitive), or an error listing the known ones."""
    key = name.strip().lower()
    found = READERS.get(ALIASES.get(key, key))
    if found is None:
        raise ReaderError(f"unknown reader {name!r}; supported readers: {', '.join(READERS)}")
    return found


def _existing(path: str | Path) -> Path:
    """``path`` as a Path to a readable file, or a ReaderError saying what is wrong."""
    file = Path(path)
    if file.is_dir():
        raise ReaderError(f"{file}: a directory; give the cycler file inside it")
    if not file.is_file():
        raise ReaderError(f"{file}: no such file")
    if file.stat().st_size == 0:
        raise ReaderError(f"{file.name}: the file is empty (0 bytes)")
    with file.open("rb") as handle:
        _not_a_cycler_file(handle.read(8), file)
    return file
