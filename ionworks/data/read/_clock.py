"""Durations written in one layout, parsed from their bytes with numpy.

A cycler export holds a million ``0d 01:02:03.00`` durations in one layout. Polars' string
functions copy, split and cast every value (a third of a reader's time); here the values are
joined into one buffer once, and each run of values of one length (days grow from ``9d`` to
``10d`` a few times in a file) is a table of bytes whose fields are read column by column.
Anything that does not fit the first value's layout (another spelling, a blank, a null, too
many runs) returns None and the caller's general parser decides: a result, when there is one,
is that parser's to the bit.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from . import _pieces

Bytes = np.ndarray[Any, np.dtype[np.uint8]]
Ints = np.ndarray[Any, np.dtype[np.int64]]
Floats = np.ndarray[Any, np.dtype[np.float64]]

_DAYS = re.compile(rb" *(\d{1,9})d (\d{1,9}):(\d{1,9}):(\d{1,9})(?:\.(\d{1,9}))? *")
"""Maccor's ``2d 02:52:51.57`` (padded with blanks in some exports): days, hours, minutes,
seconds, fraction."""
_HOURS = re.compile(rb" *(\d{1,9}):(\d{1,9}):(\d{1,9})(?:\.(\d{1,9}))? *")
"""Neware's ``123:04:05``: hours (past 24), minutes, seconds, fraction."""

MAX_RUNS = 64
"""Most runs of equal-length values parsed here; a column whose widths change more often (a
step time restarting every step) goes to the general parser."""

_LEAD_WIDTH = 12
"""Widest leading field (days or hours, with its padding) taken here; wider ones go to the
general parser."""

PIECE_ROWS = 1 << 16
"""Rows parsed at a time: a piece's bytes and numbers stay in the CPU's caches, and pieces
are shared among polars' threads (numpy lets go of the GIL while it computes)."""


def duration_seconds(raw: pl.Series) -> pl.Series | None:
    """Seconds of ``[Nd ]hh:mm:ss[.ff]`` values summed as the general parser sums them, or None.

    That parser adds ``days·86400 + hours·3600 + minutes·60`` (whole numbers, exact) and the
    seconds parsed as a decimal; ``(ss·10^k + ff) / 10^k`` is the correctly rounded value of
    that decimal, the same double a correctly rounding parser reads from the text.
    """
    first = _first(raw)
    with_days = None if first is None else _DAYS.fullmatch(first)
    match = with_days or (None if first is None else _HOURS.fullmatch(first))
    if match is None:
        return None
    weights = (86400.0, 3600.0, 60.0) if with_days else (3600.0, 60.0)
    written = match.group(len(weights) + 2)
    if written is not None and len(match.group(len(weights) + 1)) + len(written) > 15:
        return None  # ss·10^k + ff would pass 2^53 and round: not exact any more

    def seconds(fields: list[Ints]) -> Floats:
        # Days, hours and minutes as whole seconds in integers: below 2^53 they are exactly
        # the sum the parser's doubles reach, so one conversion replaces one per field.
        counted = fields[0] * int(weights[0])
        for field, weight in zip(fields[1 : len(weights)], weights[1:], strict=True):
            counted += field * int(weight)
        total = counted.astype(np.float64)
        whole = fields[len(weights)]
        if written is None:
            total += whole
        else:
            places = 10 ** len(written)
            total += (whole * places + fields[-1]).astype(np.float64) / float(places)
        return total

    return _parse(raw, match, match.end(1), seconds)


def _first(raw: pl.Series) -> bytes | None:
    """The first value's bytes, or None when the column is not all text (nulls included)."""
    if raw.dtype != pl.String or raw.len() == 0 or raw.null_count():
        return None
    value = raw[0]
    return value.encode() if isinstance(value, str) else None


def _parse(
    raw: pl.Series,
    match: re.Match[bytes],
    tail_start: int,
    combine: Callable[[list[Ints]], Floats],
) -> pl.Series | None:
    """``combine`` the digit groups of every run of equal-length values into one float column.

    ``match`` is the first value's layout; from ``tail_start`` on, every value must repeat it
    byte for byte outside the digit groups, and the bytes before it (a leading field that may
    widen) must be a number. None as soon as one run does not fit.
    """
    lengths = raw.str.len_bytes().to_numpy()
    tail = len(match.group(0)) - tail_start
    if not 1 <= int(lengths.min()) - tail <= int(lengths.max()) - tail <= _LEAD_WIDTH:
        return None
    bounds = np.flatnonzero(lengths[1:] != lengths[:-1]) + 1
    if len(bounds) >= MAX_RUNS:
        return None
    buffer: Bytes = np.frombuffer(raw.str.join("").cast(pl.Binary).item(), dtype=np.uint8)
    pieces: list[tuple[int, int, int, _Layout]] = []  # rows start:stop at a byte offset
    layouts: dict[int, _Layout] = {}  # one per width (a few), however many runs have it
    offset = 0
    for start, stop in zip([0, *bounds.tolist()], [*bounds.tolist(), len(lengths)], strict=True):
        width = int(lengths[start])
        if width not in layouts:
            layouts[width] = _Layout.of(match, tail_start, width, len(lengths))
        layout = layouts[width]
        for first in range(start, stop, PIECE_ROWS):
            last = min(first + PIECE_ROWS, stop)
            pieces.append((first, last, offset, layout))
            offset += (last - first) * layout.width
    out = np.empty(len(lengths), dtype=np.float64)

    def parse(piece: tuple[int, int, int, _Layout]) -> bool:
        first, last, at, layout = piece
        table = buffer[at : at + (last - first) * layout.width].reshape(last - first, layout.width)
        fields = _fields(table, layout)
        if fields is not None:
            out[first:last] = combine(fields)
        return fields is not None

    return pl.Series(raw.name, out) if all(_pieces.run(parse, pieces)) else None


@dataclass(frozen=True)
class _Layout:
    """The bytes expected in a table of values of one width, for a piece of rows at a time.

    ``expected`` holds "0" under each digit and the separator itself elsewhere; a value less
    its expected bytes (uint8 wraps, so anything below is large) is at most ``limit``: 9 under
    a digit, 0 under a separator. Both are tiled over :data:`PIECE_ROWS` rows, so a piece is
    checked in two flat passes.
    """

    width: int
    lead: int
    spans: list[tuple[int, int]]
    expected: Bytes
    limit: Bytes

    @classmethod
    def of(cls, match: re.Match[bytes], tail_start: int, width: int, rows: int) -> _Layout:
        """The layout of ``rows`` values of ``width`` bytes repeating ``match`` past ``tail_start``."""
        lead = width - (len(match.group(0)) - tail_start)
        expected = np.frombuffer(b"0" * lead + match.group(0)[tail_start:], dtype=np.uint8).copy()
        limit = np.zeros(width, dtype=np.uint8)
        limit[:lead] = 9
        spans = []
        for group in range(2, len(match.groups()) + 1):
            if match.group(group) is not None:
                start, stop = (lead + p - tail_start for p in match.span(group))
                expected[start:stop], limit[start:stop] = ord("0"), 9
                spans.append((start, stop))
        rows = min(rows, PIECE_ROWS)
        return cls(width, lead, spans, np.tile(expected, rows), np.tile(limit, rows))


def _fields(table: Bytes, layout: _Layout) -> list[Ints] | None:
    """The digit groups of ``layout`` read from a table of values of its width, or None.

    The leading field fills the columns before the tail; the tail's separators must equal the
    first value's, its digit groups be digits. A leading field padded with blanks fails the
    flat check and is read by :func:`_lead`.
    """
    size, width, lead = table.size, layout.width, layout.lead
    digits = (table.reshape(-1) - layout.expected[:size]).reshape(table.shape)
    if (digits.reshape(-1) > layout.limit[:size]).any():
        if (digits[:, lead:] > layout.limit[lead:width]).any():
            return None
        first = _lead(table, digits, lead)
    else:
        first = _number(digits, 0, lead)
    if first is None:
        return None
    return [first, *(_number(digits, start, stop) for start, stop in layout.spans)]


def _lead(table: Bytes, digits: Bytes, width: int) -> Ints | None:
    """The number right-aligned in the first ``width`` columns (blanks, then digits), as the
    general parser reads it after stripping the blanks; None if anything else is there."""
    if not (digits[:, :width] > 9).any():  # digits only, the usual case
        return _number(digits, 0, width)
    value = np.zeros(len(table), dtype=np.int64)
    started = np.zeros(len(table), dtype=bool)
    for column in range(width):
        digit = digits[:, column] <= 9
        blank = table[:, column] == 32
        if ((~digit & ~blank) | (blank & started)).any():
            return None
        started |= digit
        value *= 10
        value += np.where(digit, digits[:, column], 0)
    return None if not started.all() else value


def _number(digits: Bytes, start: int, stop: int) -> Ints:
    """The decimal number in columns ``start:stop`` of each row of digit values."""
    if stop - start == 2:  # up to 99: summed in bytes, then widened once
        small = digits[:, start] * np.uint8(10)
        small += digits[:, start + 1]
        return small.astype(np.int64)
    value = digits[:, start].astype(np.int64)
    for column in range(start + 1, stop):
        value *= 10
        value += digits[:, column]
    return value
