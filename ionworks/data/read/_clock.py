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
from typing import Any

import numpy as np
import polars as pl

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
    out = np.empty(len(lengths), dtype=np.float64)
    offset = 0
    for start, stop in zip([0, *bounds.tolist()], [*bounds.tolist(), len(lengths)], strict=True):
        width = int(lengths[start])
        table = buffer[offset : offset + (stop - start) * width].reshape(stop - start, width)
        offset += (stop - start) * width
        fields = _fields(table, match, tail_start)
        if fields is None:
            return None
        out[start:stop] = combine(fields)
    return pl.Series(raw.name, out)


def _fields(table: Bytes, match: re.Match[bytes], tail_start: int) -> list[Ints] | None:
    """The digit groups of ``match`` read from a table of values of one width, or None.

    The leading field (group 1) fills the columns before the tail; the tail's separators must
    equal the first value's, its digit groups be digits.
    """
    lead = table.shape[1] - (len(match.group(0)) - tail_start)
    digits = table - np.uint8(48)  # wraps below "0", so a non-digit is >= 10
    first = _lead(table, digits, lead)
    if first is None:
        return None
    out = [first]
    is_digit = np.zeros(table.shape[1], dtype=bool)
    for group in range(2, len(match.groups()) + 1):
        if match.group(group) is not None:
            start, stop = (lead + p - tail_start for p in match.span(group))
            is_digit[start:stop] = True
            out.append(_number(digits, start, stop))
    if (digits[:, is_digit] > 9).any():
        return None
    layout = match.group(0)[tail_start:]
    for column in np.flatnonzero(~is_digit[lead:]):
        if (table[:, lead + column] != layout[column]).any():
            return None
    return out


def _lead(table: Bytes, digits: Bytes, width: int) -> Ints | None:
    """The number right-aligned in the first ``width`` columns (blanks, then digits), as the
    general parser reads it after stripping the blanks; None if anything else is there."""
    if not (table[:, :width] == 32).any():
        return None if (digits[:, :width] > 9).any() else _number(digits, 0, width)
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
    value = digits[:, start].astype(np.int64)
    for column in range(start + 1, stop):
        value *= 10
        value += digits[:, column]
    return value
