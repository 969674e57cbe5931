"""Excel workbooks (``.xlsx``/``.xls``) as text tables, through polars' calamine engine (fastexcel).

Every cell is read as text, so one code path (:mod:`._mapped`) parses numbers, durations and
timestamps the same way for a workbook and for a CSV export, with the same errors.

A workbook is parsed once per public call: detection, the sheet listing and the read all take
their views (headed frames, text grids) from one parse of every cell, kept in a memo that
lives only for that call (:func:`per_call`), never across calls.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps
from pathlib import Path
from typing import ParamSpec, TypeVar

import polars as pl

from ._errors import ReaderError
from ._text import Table

INSTALL_HINT = "reading Excel files needs fastexcel: pip install 'ionworks[readers]'"

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
"""The first bytes of an OLE2 compound file, the container of legacy ``.xls`` workbooks."""

_Key = tuple[str, int, int, bool]
_MEMO: ContextVar[dict[_Key, dict[str, pl.DataFrame]] | None] = ContextVar(
    "ionworks_workbook_memo", default=None
)
"""The workbooks parsed during the current public call (by path, mtime, size and whether the
first row was taken as the header); None outside a call, so nothing outlives one."""

_P = ParamSpec("_P")
_R = TypeVar("_R")


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


Memo = dict[_Key, dict[str, pl.DataFrame]]
"""Workbooks parsed so far, by path, mtime, size and header flag."""


def active_memo() -> Memo | None:
    """The memo of the block under way (for a nested block to share), else None."""
    return _MEMO.get()


@contextmanager
def one_parse(parsed: Memo | None = None) -> Iterator[None]:
    """Within this block each workbook is parsed at most once (nested blocks share the memo);
    the parsed sheets are dropped when the outermost block ends. ``parsed`` carries the parses
    of earlier blocks over (an opened file's, across its reads)."""
    if parsed is None:
        if _MEMO.get() is not None:
            yield
            return
        parsed = {}
    token = _MEMO.set(parsed)
    try:
        yield
    finally:
        _MEMO.reset(token)


def per_call(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """``function`` run inside :func:`one_parse`: the public entry points' decorator."""

    @wraps(function)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with one_parse():
            return function(*args, **kwargs)

    return wrapper


def _load(path: Path, header: bool) -> dict[str, pl.DataFrame]:
    """Every sheet with every cell as text, empty rows kept (the callers drop them as polars
    would): the one place a workbook is parsed, memoised for the current call.

    polars calls fastexcel (calamine) itself, so ``ionworks.data`` never imports it; a
    missing install surfaces here as an ImportError and becomes the install hint.
    """
    memo = _MEMO.get()
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size, header)
    if memo is not None and key in memo:
        return memo[key]
    try:
        sheets = pl.read_excel(
            path,
            sheet_id=0,
            engine="calamine",
            has_header=header,
            infer_schema_length=0,
            drop_empty_rows=header,
            raise_if_empty=False,  # a blank sheet (Excel's Sheet2) is no reason to stop
        )
    except ImportError as exc:
        raise ReaderError(f"{path.name}: {INSTALL_HINT}") from exc
    except Exception as exc:  # calamine raises its own types for damaged workbooks
        said = str(exc).strip().splitlines()  # then a "Context:" block repeating the path
        raise ReaderError(
            f"{path.name}: not a readable workbook ({said[0] if said else type(exc).__name__}); "
            "is the file damaged? Open it in Excel and save it again"
        ) from exc
    if memo is not None:
        memo[key] = sheets
    return sheets


def cells(path: Path) -> dict[str, pl.DataFrame]:
    """Every sheet as a grid of text cells (no header row taken, all-empty rows kept), by
    name in workbook order."""
    return _load(path, header=False)


def without_empty_rows(grid: pl.DataFrame) -> pl.DataFrame:
    """``grid`` without its rows of empty cells (what polars' ``drop_empty_rows`` does)."""
    if not grid.width:
        return grid
    return grid.filter(~pl.all_horizontal(pl.all().is_null()))


def header_of(grid: pl.DataFrame) -> list[str]:
    """The first row of a grid as header fields (stripped, empty cells as ``""``)."""
    if not grid.height:
        return []
    return [("" if v is None else str(v)).strip() for v in grid.row(0)]


_MADE_UP = re.compile(r"(_duplicated_|__UNNAMED__)\d+$")
"""Names polars and fastexcel give unnamed or repeated columns (and drop when empty)."""


def _plain(cell: object) -> bool:
    """A header cell that names its column as written: text with a letter, no outer blanks,
    not a number, date, boolean or error value, nor a name like the made-up ones."""
    if not isinstance(cell, str) or cell != cell.strip() or not cell:
        return False
    if cell[0] in "-+.#" or cell[0].isdigit() or cell.lower() in ("true", "false"):
        return False
    return any(c.isalpha() for c in cell) and _MADE_UP.search(cell) is None


def _headed(grid: pl.DataFrame) -> pl.DataFrame | None:
    """The sheet as polars reads it with its first row as the header, from the grid, when each
    header cell is plain and distinct or empty; None when only polars' own naming can say.

    As polars does, an empty header cell names its column ``__UNNAMED__<index>``, which is
    dropped when it holds no value, and then rows of empty cells are dropped."""
    if not grid.height:
        return None
    raw = list(grid.row(0))
    named = [v for v in raw if v is not None]
    if not named or not all(_plain(v) for v in named) or len(set(named)) != len(named):
        return None
    names = [f"__UNNAMED__{i}" if v is None else str(v) for i, v in enumerate(raw)]
    data = grid.slice(1).rename(dict(zip(grid.columns, names, strict=True)))
    empty = [
        n
        for n, v in zip(names, raw, strict=True)
        if v is None and data[n].null_count() == data.height
    ]
    return without_empty_rows(data.drop(empty))


def read_sheets(path: Path) -> dict[str, pl.DataFrame]:
    """Every sheet of the workbook, by name in workbook order, every cell as text, with its
    first row as the header (column names stripped)."""
    grids = cells(path)
    frames = {name: _headed(grid) for name, grid in grids.items()}
    if any(frame is None for frame in frames.values()):
        headed = _load(path, header=True)
        frames = {
            name: frame if frame is not None else headed[name] for name, frame in frames.items()
        }
    return {
        name: frame.rename({c: c.strip() for c in frame.columns})
        for name, frame in frames.items()
        if frame is not None
    }


def read_sheet(path: Path, sheet: str | int | None = None) -> tuple[pl.DataFrame, Table]:
    """One sheet (name, 0-based index, or the first with cells) as all-text columns, with its
    header."""
    sheets = read_sheets(path)
    names = list(sheets)
    if sheet is None:  # the first sheet with cells: a blank one ahead of the data is common
        sheet = next((n for n in names if sheets[n].width), names[0])
    elif isinstance(sheet, int):
        if not 0 <= sheet < len(names):
            raise ReaderError(f"{path.name}: no sheet {sheet}; sheets: {', '.join(names)}")
        sheet = names[sheet]
    elif sheet not in names:
        raise ReaderError(f"{path.name}: no sheet {sheet!r}; sheets: {', '.join(names)}")
    frame = sheets[sheet]
    return frame, Table(0, ",", list(frame.columns), [], "utf8")
