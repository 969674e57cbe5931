"""Excel workbooks (``.xlsx``/``.xls``) as text tables, through polars' calamine engine (fastexcel).

Every cell is read as text, so one code path (:mod:`._mapped`) parses numbers, durations and
timestamps the same way for a workbook and for a CSV export, with the same errors.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import polars as pl

from ._errors import ReaderError
from ._text import Table

INSTALL_HINT = "reading Excel files needs fastexcel: pip install 'ionworks[readers]'"

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
"""The first bytes of an OLE2 compound file, the container of legacy ``.xls`` workbooks."""


def is_workbook(magic: bytes, path: Path) -> bool:
    """True for an ``.xlsx`` (a zip with ``xl/workbook.xml``) or an ``.xls`` (OLE2) workbook."""
    if magic.startswith(OLE_MAGIC):
        return path.suffix.lower() == ".xls"
    return zip_holds(magic, path, "xl/workbook.xml")


def zip_holds(magic: bytes, path: Path, member: str) -> bool:
    """True for a zip archive (by its first bytes) listing ``member``: how zipped formats
    (``.xlsx``, Neware's ``.ndax``) are told apart, whatever the file's suffix."""
    if not magic.startswith(b"PK\x03\x04"):
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            return member in archive.namelist()
    except zipfile.BadZipFile:
        return False


def read_sheets(path: Path) -> dict[str, pl.DataFrame]:
    """Every sheet of the workbook, by name in workbook order, every cell as text.

    polars calls fastexcel (calamine) itself, so ``ionworks.data`` never imports it; a
    missing install surfaces here as an ImportError and becomes the install hint.
    """
    try:
        sheets = pl.read_excel(path, sheet_id=0, engine="calamine", infer_schema_length=0)
    except ImportError as exc:
        raise ReaderError(f"{path.name}: {INSTALL_HINT}") from exc
    except Exception as exc:  # calamine raises its own types for damaged workbooks
        raise ReaderError(f"{path.name}: not a readable workbook: {exc}") from exc
    return {
        name: frame.rename({c: c.strip() for c in frame.columns}) for name, frame in sheets.items()
    }


def read_sheet(path: Path, sheet: str | int | None = None) -> tuple[pl.DataFrame, Table]:
    """One sheet (name, 0-based index, or the first) as all-text columns, with its header."""
    sheets = read_sheets(path)
    names = list(sheets)
    if sheet is None:
        sheet = names[0]
    elif isinstance(sheet, int):
        if not 0 <= sheet < len(names):
            raise ReaderError(f"{path.name}: no sheet {sheet}; sheets: {', '.join(names)}")
        sheet = names[sheet]
    elif sheet not in names:
        raise ReaderError(f"{path.name}: no sheet {sheet!r}; sheets: {', '.join(names)}")
    frame = sheets[sheet]
    return frame, Table(0, ",", list(frame.columns), [], "utf8")
