"""The public entry points: detect a file's format, read it, and read what its header stores."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from . import arbin, bdf, biologic_mpr, maccor, neware, neware_ndax, pec
from ._errors import ReaderError
from ._registry import Reader
from ._text import head_text

READERS: dict[str, Reader] = {
    r.name: r
    for r in (
        Reader(maccor.NAME, maccor.read, maccor.metadata, maccor.start_time, (".txt", ".csv")),
        Reader(neware.NAME, neware.read, neware.metadata, neware.start_time, (".csv",)),
        Reader(bdf.NAME, bdf.read, None, None, (".csv", ".bdf")),
        Reader(pec.NAME, pec.read, pec.metadata, pec.start_time, (".csv",)),
        Reader(arbin.NAME, arbin.read, arbin.metadata, arbin.start_time, (".res",)),
        Reader(biologic_mpr.NAME, biologic_mpr.read, None, None, (".mpr",)),
        Reader(
            neware_ndax.NAME,
            neware_ndax.read,
            neware_ndax.metadata,
            neware_ndax.start_time,
            (".ndax",),
        ),
    )
}
"""Every supported reader by name."""

ALIASES = {"arbin res": arbin.NAME}
"""ionworksdata names that reach the same reader here (its "arbin res" is our "arbin")."""

_SNIFFERS = (
    (bdf.NAME, bdf.sniff),
    (maccor.NAME, maccor.sniff),
    (neware.NAME, neware.sniff),
    (pec.NAME, pec.sniff),
)
"""Text sniffers in the order they are tried (the most specific header first)."""


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
    supported = "; ".join(f"{r.name} ({', '.join(r.extensions)})" for r in READERS.values())
    raise ReaderError(
        f"{file.name}: not a format we recognise. Supported readers: {supported}. "
        'If you know the format, force it: time_series(path, reader="<name>")'
    )


def _binary_reader(magic: bytes, path: Path) -> str | None:
    """The reader of a binary file from its first bytes, or None for text."""
    if arbin.sniff(magic):
        return arbin.NAME
    if biologic_mpr.sniff(magic):
        return biologic_mpr.NAME
    if neware_ndax.sniff(magic, path):
        return neware_ndax.NAME
    return None


def time_series(path: str | Path, reader: str | None = None, **options: Any) -> pl.DataFrame:
    """Read a cycler file into the standard time series.

    ``reader`` forces a format by name (see :data:`READERS`); ``options`` go to that reader.
    """
    file = _existing(path)
    chosen = _reader(reader or detect_reader(file))
    if options:
        raise ReaderError(
            f"the {chosen.name} reader takes no options; got {', '.join(sorted(options))}"
        )
    return chosen.read(file)


def metadata(path: str | Path, reader: str | None = None) -> dict[str, Any]:
    """What the file's header says about the test (cycler, channel, start time...), if anything."""
    file = _existing(path)
    chosen = _reader(reader or detect_reader(file))
    if chosen.metadata is None:
        return {"cycler": chosen.name}
    return chosen.metadata(file)


def start_time(path: str | Path, reader: str | None = None) -> datetime | None:
    """When the test started, where the format stores it; None where it does not."""
    file = _existing(path)
    chosen = _reader(reader or detect_reader(file))
    return None if chosen.start_time is None else chosen.start_time(file)


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
    if not file.is_file():
        raise ReaderError(f"{file}: no such file")
    if file.stat().st_size == 0:
        raise ReaderError(f"{file.name}: the file is empty (0 bytes)")
    return file
