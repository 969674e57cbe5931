"""Finding the table in a text export and parsing it with polars (never a Python loop over rows)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from ._errors import ReaderError

HEADER_SEARCH_LINES = 300
"""Lines scanned for the table's header: cyclers write at most a few dozen lines of preamble."""


@dataclass(frozen=True)
class Table:
    """Where a text export's table starts, with the preamble lines above it."""

    header_line: int
    separator: str
    columns: list[str]
    preamble: list[str]
    encoding: str


def head_text(path: Path, size: int = 65536) -> tuple[str, str]:
    """The first ``size`` bytes decoded (UTF-8, else Latin-1 as older Windows exports use)."""
    raw = path.read_bytes()[:size] if path.stat().st_size <= size else _read_head(path, size)
    try:
        return raw.decode("utf-8-sig"), "utf8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(raw) - 4:  # a multibyte character cut by the size limit
            return raw[: exc.start].decode("utf-8-sig"), "utf8"
        return raw.decode("latin-1"), "latin1"


def _read_head(path: Path, size: int) -> bytes:
    """The first ``size`` bytes of ``path``."""
    with path.open("rb") as handle:
        return handle.read(size)


def find_table(path: Path, is_header: Callable[[list[str]], bool], what: str) -> Table:
    """Locate the header row: the first line whose fields satisfy ``is_header``."""
    text, encoding = head_text(path)
    lines = text.splitlines()[:HEADER_SEARCH_LINES]
    for number, line in enumerate(lines):
        separator = "\t" if "\t" in line else ","
        fields = [f.strip() for f in line.split(separator)]
        if is_header(fields):
            return Table(number, separator, fields, lines[:number], encoding)
    raise ReaderError(
        f"{path.name}: no {what} header row in its first {len(lines)} lines; "
        "is this file in that format? Pass reader=... to force another reader"
    )


def read_table(path: Path, table: Table, strings: Mapping[str, bool] | None = None) -> pl.DataFrame:
    """Parse the table below ``table``'s header; columns named in ``strings`` stay text."""
    overrides = {name: pl.String for name in strings or {}}
    try:
        frame = pl.read_csv(
            path,
            separator=table.separator,
            skip_rows=table.header_line,
            has_header=True,
            schema_overrides=overrides,
            infer_schema_length=10000,
            encoding=table.encoding,
            truncate_ragged_lines=True,
        )
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as exc:
        raise ReaderError(
            f"{path.name}: cannot parse the table below line {table.header_line + 1}: "
            f"{_first_line(exc)}"
        ) from exc
    return frame.rename({c: c.strip() for c in frame.columns if c != c.strip()})


def _first_line(exc: Exception) -> str:
    """The first line of a polars error (the rest is advice about polars options)."""
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def numeric(frame: pl.DataFrame, name: str, path: Path, header_line: int) -> pl.Expr:
    """Column ``name`` as Float64; text that is not a number is an error naming its line."""
    series = frame.get_column(name)
    if series.dtype.is_numeric():
        return pl.col(name).cast(pl.Float64)
    parsed = series.str.strip_chars().str.replace_all(",", "").cast(pl.Float64, strict=False)
    bad = (parsed.is_null() & series.is_not_null() & (series.str.strip_chars() != "")).arg_true()
    if bad.len():
        row = int(bad[0])
        raise ReaderError(
            f"{path.name}: line {header_line + row + 2}: {name} is {series[row]!r}, not a number"
        )
    return pl.lit(parsed).alias(name)


UNIT_IN_NAME = re.compile(r"^(?P<name>.*?)\s*[\[(/]\s*(?P<unit>[^\])]*?)\s*[\])]?\s*$")
"""``Current (mA)``, ``Current [A]``, ``Current / A``: a quantity name and its unit."""


def split_unit(column: str) -> tuple[str, str]:
    """(name, unit) of a header such as ``Voltage (mV)``; unit "" when none is written."""
    match = UNIT_IN_NAME.match(column)
    if not match or not match.group("unit"):
        return column.strip(), ""
    return match.group("name").strip(), match.group("unit").strip()
