"""Unit conversions and time parsing shared by the text readers (polars expressions only)."""

from __future__ import annotations

from functools import partial

import numpy as np
import polars as pl

from . import _clock, _pieces
from ._errors import ReaderError

SCALE_TO_SI = {
    "a": 1.0,
    "ma": 1e-3,
    "ua": 1e-6,
    "v": 1.0,
    "mv": 1e-3,
    "ah": 1.0,
    "mah": 1e-3,
    "a.h": 1.0,
    "ma.h": 1e-3,
    "wh": 1.0,
    "mwh": 1e-3,
    "w.h": 1.0,
    "mw.h": 1e-3,
    "w": 1.0,
    "mw": 1e-3,
    "s": 1.0,
    "ms": 1e-3,
    "min": 60.0,
    "h": 3600.0,
    "degc": 1.0,
    "°c": 1.0,
}
"""Factor from a unit as cyclers spell it (lower case, no spaces) to the SI unit of our columns."""


def scale(unit: str) -> float:
    """Factor that turns a value in ``unit`` into the SI unit of the standard column."""
    key = unit.strip().lower().replace(" ", "")
    if key not in SCALE_TO_SI:
        raise ReaderError(f"unknown unit {unit!r}; known units: {', '.join(sorted(SCALE_TO_SI))}")
    return SCALE_TO_SI[key]


def duration_seconds(frame: pl.DataFrame, name: str) -> pl.Series:
    """Parse ``[Nd ]hh:mm:ss[.fff]`` durations (Maccor, Neware) into seconds; null if malformed.

    Maccor writes ``2d 02:52:51.57``; Neware writes ``123:04:05`` with hours past 24. The day
    marker becomes one more ``:`` field, the fields are split once into a frame and then
    combined: evaluating the split inside one expression per field parses each string four
    times and takes three times as long on a million rows. A column in one layout throughout
    (nearly all) is read from its bytes instead (:mod:`._clock`), to the same numbers.
    """
    fast = _clock.duration_seconds(frame.get_column(name))
    return fast if fast is not None else text_duration_seconds(frame, name)


def text_duration_seconds(frame: pl.DataFrame, name: str) -> pl.Series:
    """:func:`duration_seconds` with polars' string functions, for every layout."""
    fast = _day_clock_seconds(frame, name)
    if fast is not None:
        return fast
    text = pl.col(name).str.strip_chars()
    split = text.str.replace("d", ":", literal=True).str.split_exact(":", 3).alias("_f")
    fields = frame.select(text.str.contains("d", literal=True).alias("_days"), split).unnest("_f")

    def number(i: int) -> pl.Expr:
        return pl.col(f"field_{i}").str.strip_chars().cast(pl.Float64, strict=False)

    with_days = number(0) * 86400.0 + number(1) * 3600.0 + number(2) * 60.0 + number(3)
    without = number(0) * 3600.0 + number(1) * 60.0 + number(2)
    seconds = pl.when(pl.col("_days")).then(with_days).when(number(3).is_null()).then(without)
    return fields.select(seconds.alias(name)).to_series()


def _day_clock_seconds(frame: pl.DataFrame, name: str) -> pl.Series | None:
    """Maccor's ``Nd hh:mm:ss[.ff]`` in one pass: the day marker becomes a fourth ``:`` field,
    one ``splitn`` and four number casts (a third faster than polars' time parser); None when
    any value does not fit, so the general parser decides."""
    text = pl.col(name).str.strip_chars().str.replace("d ", ":", literal=True)
    fields = frame.select(text.str.splitn(":", 4).alias("_f")).unnest("_f")
    numbers = [pl.col(f"field_{i}").cast(pl.Float64, strict=False) for i in range(4)]
    seconds = fields.select(
        (numbers[0] * 86400.0 + numbers[1] * 3600.0 + numbers[2] * 60.0 + numbers[3]).alias(name),
        pl.col("field_0").is_not_null().alias("_written"),
    )
    if seconds.filter(pl.col("_written") & pl.col(name).is_null()).height:
        return None
    return seconds.get_column(name)


TIMESTAMP_FORMATS = (
    ("%Y-%m-%dT%H:%M:%S%.f%:z", True),
    ("%Y-%m-%d %H:%M:%S%.f%:z", True),
    ("%Y-%m-%dT%H:%M:%S%.f", False),
    ("%Y-%m-%d %H:%M:%S%.f", False),
    ("%Y/%m/%d %H:%M:%S%.f", False),
    ("%m/%d/%Y %H:%M:%S%.f", False),
    ("%d.%m.%Y %H:%M:%S%.f", False),
    ("%Y-%m-%d %I:%M:%S %p", False),
    ("%m/%d/%Y %I:%M:%S %p", False),
)
"""Row timestamps as cyclers write them (ISO 8601 with or without an offset, US, German, 12 h).

Tried in order per row, so one file may mix spellings (Digatron drops ``.fff`` when zero)."""


def timestamp_seconds(name: str) -> pl.Expr:
    """Seconds since the epoch of the text timestamps in ``name``; null where none fits.

    Offsets are honoured (``+01:00`` is one hour before the same clock time in UTC); times
    without one are taken as written, which is all the time axis needs.
    """
    text = pl.col(name).str.strip_chars()
    parsed = [
        text.str.to_datetime(fmt, strict=False, time_unit="us", time_zone="UTC" if aware else None)
        .dt.epoch("us")
        .cast(pl.Float64)
        / 1e6
        for fmt, aware in TIMESTAMP_FORMATS
    ]
    return pl.coalesce(parsed)


def timestamp_series(frame: pl.DataFrame, name: str) -> pl.Series:
    """Seconds since the epoch of the timestamps in column ``name``; null where none fits.

    The format that parses the first hundred values is applied to the whole column in one
    pass (four times faster than letting polars infer it per call on a million rows), first
    without fractional seconds: most exports write whole seconds, and polars parses a format
    without ``%.f`` about ten times faster. A column that format does not fully parse goes
    through every format (:func:`timestamp_seconds`).
    """
    raw = frame.get_column(name)
    sample = raw.drop_nulls().head(100).str.strip_chars()
    for fmt, aware in TIMESTAMP_FORMATS if sample.len() else ():
        zone = "UTC" if aware else None
        if sample.str.to_datetime(fmt, strict=False, time_zone=zone).null_count():
            continue
        whole = fmt.replace("%.f", "")
        fits = not sample.str.to_datetime(whole, strict=False, time_zone=zone).null_count()
        for exact in dict.fromkeys((whole, fmt) if fits else (fmt,)):
            # The text as written first: a value with blanks around it does not match the
            # exact format, so only then is the column stripped (a copy of every string).
            for stripped in (False, True):
                text = raw.str.strip_chars() if stripped else raw
                dtype = pl.Datetime("us", zone)
                if not text.null_count():
                    seconds = epoch_seconds(text, dtype, exact)
                    if seconds is None:
                        continue
                    return seconds.alias(name)
                parse = partial(_strptime, dtype=dtype, fmt=exact)
                parsed = _pieces.by_slices(text, parse)  # strptime runs on one thread
                if parsed.null_count() == text.null_count():
                    return (parsed.dt.epoch("us").cast(pl.Float64) / 1e6).alias(name)
        break
    return frame.select(timestamp_seconds(name)).to_series()


PER_MICROSECOND = 1.0 / 1e6
"""Polars divides a float column by a number as it multiplies it by the number's inverse."""


def epoch_seconds(text: pl.Series, dtype: pl.Datetime, fmt: str) -> pl.Series | None:
    """``text.str.strptime(dtype, fmt).dt.epoch("us").cast(pl.Float64) / 1e6`` to the bit, or
    None when a value does not fit ``fmt``.

    Slices are parsed on threads (``strptime`` runs on one) and each slice's microseconds are
    converted straight into one array: no column of floats per step, no join of the slices.
    """
    out = np.empty(text.len())

    def parse(cut: tuple[int, int]) -> bool:
        at, rows = cut
        parsed = _strptime(text.slice(at, rows), dtype=dtype, fmt=fmt)
        if parsed.null_count():
            return False
        for chunk in parsed.dt.epoch("us").get_chunks():
            np.multiply(chunk.to_numpy(), PER_MICROSECOND, out=out[at : at + chunk.len()])
            at += chunk.len()
        return True

    if not all(_pieces.run(parse, _pieces.bounds(text.len()))):
        return None
    return pl.Series(text.name, out)


def _strptime(text: pl.Series, *, dtype: pl.Datetime, fmt: str) -> pl.Series:
    """``text`` parsed with the exact ``fmt``; null where it does not fit. Uncached: row
    timestamps are nearly all distinct, so a cache only adds hashing."""
    return text.str.strptime(dtype, fmt, strict=False, cache=False)
