"""Finding the table in a text export and parsing it with polars (never a Python loop over rows)."""

from __future__ import annotations

import mmap
import re
from collections.abc import Callable, Collection, Mapping
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
    raw = _read_head(path, size)
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
        "is this file in that format? Force another reader (reader=... in Python, -r NAME "
        "on the command line)"
    )


def read_table(
    path: Path,
    table: Table,
    dtypes: Mapping[str, type[pl.DataType]],
    *,
    encoding: str | None = None,
    quote_char: str | None = '"',
    integers: Collection[str] = (),
) -> pl.DataFrame:
    """Parse only the columns named in ``dtypes``, with those types, from the table below the header.

    Explicit types make the parse independent of how many rows polars would sniff, and reading
    only the needed columns keeps a wide export as fast as a narrow one. ``encoding`` overrides
    the table's (``"utf8-lossy"`` for exports that mix code pages); ``quote_char=None`` for
    formats whose fields hold bare quotes. Columns in ``integers`` (cycle and step counters)
    are parsed as Int64, cheaper than numbers with a fraction, when every value is a whole
    number; a file that writes ``2.0`` there is parsed again with ``dtypes``' types.
    """
    if integers:
        whole = {c: pl.Int64 for c in integers if c in dtypes}
        try:
            return read_table(
                path, table, {**dtypes, **whole}, encoding=encoding, quote_char=quote_char
            )
        except ReaderError:
            pass
    if quote_char is not None and not _contains(path, quote_char.encode()):
        quote_char = None  # nothing is quoted: not looking for quotes parses faster
    positions = sorted({table.columns.index(c) for c in dtypes if c in table.columns})
    wanted = [table.columns[i] for i in positions]
    # Positional names: headers repeat (Maccor's " Units") and may be blank.
    schema = {f"c{i}": dtypes.get(c, pl.String) for i, c in enumerate(table.columns)}
    try:
        frame = pl.read_csv(
            path,
            separator=table.separator,
            skip_rows=table.header_line + 1,
            has_header=False,
            schema=schema,
            columns=positions,
            encoding=encoding or table.encoding,
            quote_char=quote_char,
            truncate_ragged_lines=True,
        )
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as exc:
        # Put the file's column names back in place of our positional ones.
        brief = re.sub(r"'c(\d+)'", lambda m: repr(table.columns[int(m.group(1))]), _brief(exc))
        raise ReaderError(
            f"{path.name}: cannot parse the table below line {table.header_line + 1}: {brief}"
        ) from exc
    frame.columns = wanted
    _check_not_cut(path, table, frame)
    return frame


WHITESPACE = " "
"""A :class:`Table` separator meaning runs of spaces or tabs (column-aligned exports)."""


def read_whitespace_table(
    path: Path, table: Table, names: list[str], *, encoding: str | None = None
) -> pl.DataFrame:
    """Columns ``names`` (as text) of a table whose fields are separated by runs of whitespace.

    A CSV parser takes one separator character, and aligned exports pad with several spaces;
    each line is read whole, its runs of blanks made one separator, and split (all in polars).
    Text columns go through :func:`numeric` like any other, which names a bad line.
    """
    width = len(table.columns)
    lines = pl.read_csv(
        path,
        separator="\x01",
        has_header=False,
        skip_rows=table.header_line + 1,
        new_columns=["line"],
        schema={"line": pl.String},
        encoding=encoding or table.encoding,
        quote_char=None,
    )
    fields = pl.col("line").str.strip_chars().str.replace_all(r"[ \t]+", "\x01")
    split = fields.str.split_exact("\x01", width - 1).struct.rename_fields(table.columns)
    frame = lines.select(split).unnest("line").select(names)
    _check_not_cut(path, table, frame)
    return frame


def _contains(path: Path, byte: bytes) -> bool:
    """True when ``byte`` occurs in the file (one memchr over the mapped file: ~10 ms per 100 MB)."""
    with path.open("rb") as handle:
        if path.stat().st_size == 0:
            return False
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            return mapped.find(byte) >= 0


def _check_not_cut(path: Path, table: Table, frame: pl.DataFrame) -> None:
    """A last row with fewer values than the one before, in a file without a final newline, is a
    write that stopped midway: say so with its line instead of dropping it quietly."""
    if frame.height < 2:
        return
    with path.open("rb") as handle:
        handle.seek(-1, 2)
        ends_with_newline = handle.read(1) in (b"\n", b"\r")
    if ends_with_newline:
        return
    nulls = frame.tail(2).select(pl.sum_horizontal(pl.all().is_null())).to_series()
    if nulls[1] > nulls[0]:
        line = table.header_line + frame.height + 1
        raise ReaderError(f"{path.name}: line {line}: the last row is cut short; file truncated?")


def _brief(exc: Exception) -> str:
    """The polars error's first line and byte offset (the rest is advice about polars options)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    kept = lines[:1] + [x for x in lines if "offset" in x]
    return " ".join(dict.fromkeys(kept)) or type(exc).__name__


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
