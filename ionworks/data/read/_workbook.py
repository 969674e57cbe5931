"""Workbooks from cyclers other than Arbin, read by the text readers.

A cycler's Excel export holds, on one of its sheets, the same rows as its text export: the
preamble, the header row and the records. That sheet is written out as the text it would have
been (every cell as text, one row per line, tab- or comma-separated as the format's sniffer
recognises it), so the text sniffers detect the format and the text readers read it, with the
same units, signs and errors (which name ``run.xlsx, sheet record`` and the sheet's row as
the line).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl

from ._excel import cells, without_empty_rows

SNIFF_ROWS = 300
"""Rows of each sheet the sniffers see (a header lies within the first few dozen)."""

DATA_SHEET_HINTS = ("record", "detail", "data", "channel")
"""Words in the names of sheets that hold records: tried first, ahead of summaries (Neware's
``step``/``cycle`` sheets carry a step type and current too)."""

Sniffer = Callable[[str], bool]


def grids(path: Path, rows: int | None = None) -> dict[str, pl.DataFrame]:
    """Every sheet as a grid of text cells (no header row taken), first ``rows`` rows, rows
    of empty cells left out: views of the call's one parse of the workbook."""
    return {
        name: without_empty_rows(grid if rows is None else grid.head(rows))
        for name, grid in cells(path).items()
    }


SEPARATORS = ("\t", ",")
"""Separators a sheet is rendered with: cycler exports are tab- or comma-separated, and a
sniffer may know only its own (BDF's and PEC's split on commas)."""


def as_text(grid: pl.DataFrame, separator: str) -> str:
    """The sheet as a text export: ``separator`` between cells, empty cells as empty fields."""
    return grid.write_csv(separator=separator, include_header=False)


def _match(grid: pl.DataFrame, sniff: Sniffer) -> str | None:
    """The separator under which ``sniff`` recognises the sheet's first rows, or None."""
    head = grid.head(SNIFF_ROWS)
    return next((sep for sep in SEPARATORS if sniff(as_text(head, sep))), None)


def _ordered(names: list[str]) -> list[str]:
    """Sheet names with the ones named like record sheets first, each group in workbook order."""
    hinted = [n for n in names if any(h in n.lower() for h in DATA_SHEET_HINTS)]
    return hinted + [n for n in names if n not in hinted]


def detect(path: Path, sniffers: tuple[tuple[str, Sniffer], ...]) -> tuple[str, str] | None:
    """(reader, sheet) for the first sheet a text sniffer recognises, or None.

    Sniffers are tried in their order (the most specific first) on each sheet in turn."""
    heads = grids(path, SNIFF_ROWS)
    for sheet in _ordered(list(heads)):
        for name, sniff in sniffers:
            if _match(heads[sheet], sniff) is not None:
                return name, sheet
    return None


def describe(path: Path) -> str:
    """Each sheet's name and first row, for an error about a workbook no reader knows."""
    heads = grids(path, 1)
    parts = []
    for sheet, grid in heads.items():
        first = [str(v) for v in (grid.row(0) if grid.height else ()) if v not in (None, "")]
        parts.append(f"{sheet!r} ({', '.join(first[:12]) or 'empty'})")
    return "; ".join(parts)


def _continuations(all_grids: dict[str, pl.DataFrame], sheet: str) -> list[pl.DataFrame]:
    """Later sheets that repeat a header row of ``sheet`` at their top: a long test that
    the cycler split over several sheets (a sheet holds about a million rows)."""
    names = list(all_grids)
    first = all_grids[sheet]
    head_rows = set(first.head(SNIFF_ROWS).rows())
    parts = []
    for name in names[names.index(sheet) + 1 :]:
        grid = all_grids[name]
        if grid.height and grid.width == first.width and grid.row(0) in head_rows:
            parts.append(grid.slice(1).rename(dict(zip(grid.columns, first.columns, strict=True))))
    return parts


@contextmanager
def text_copy(path: Path, sniff: Sniffer) -> Iterator[Path]:
    """The sheet ``sniff`` recognises (else the first, tab-separated), with its continuation
    sheets, written to a temporary text file that is removed afterwards."""
    all_grids = grids(path)
    found = ((n, _match(all_grids[n], sniff)) for n in _ordered(list(all_grids)))
    sheet, separator = next(
        ((n, sep) for n, sep in found if sep is not None), (next(iter(all_grids)), "\t")
    )
    grid = pl.concat([all_grids[sheet], *_continuations(all_grids, sheet)])
    with tempfile.TemporaryDirectory(prefix="ionworks-sheet-") as folder:
        text = Path(folder) / f"{path.name}, sheet {sheet}"
        grid.write_csv(text, separator=separator, include_header=False)
        yield text
