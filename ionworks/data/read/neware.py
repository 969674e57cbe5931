"""Neware CSV exports (BTSDA): ``Cycle Index``/``Step Index``/``Step Type``/``Current(A)``/``Date``.

Neware names columns with the unit in brackets (``Current(mA)``, ``Chg. Cap.(Ah)``), so units are
read from the header. The direction comes from the step type (``CC Chg``, ``CC DChg``, ``Rest``);
time from the absolute ``Date`` of each row (the ``Time`` column restarts at every step).
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from .. import columns as col
from ._errors import ReaderError
from ._finish import CAPACITY, DIRECTION, ENERGY, finish
from ._meta import with_start
from ._text import Table, find_table, read_table, split_unit
from ._units import duration_seconds, scale, timestamp_series

NAME = "neware"

_QUANTITIES = {
    "cycle index": col.CYCLE_FROM_CYCLER,
    "cycle id": col.CYCLE_FROM_CYCLER,
    "cycle": col.CYCLE_FROM_CYCLER,
    "step index": col.STEP_FROM_CYCLER,
    "step id": col.STEP_FROM_CYCLER,
    "step": col.STEP_FROM_CYCLER,
    "current": col.CURRENT,
    "cur": col.CURRENT,
    "voltage": col.VOLTAGE,
    "chg. cap.": col.CHARGE_CAPACITY,
    "dchg. cap.": col.DISCHARGE_CAPACITY,
    "capacity": CAPACITY,
    "chg. energy": col.CHARGE_ENERGY,
    "dchg. energy": col.DISCHARGE_ENERGY,
    "energy": ENERGY,
    "temperature": col.TEMPERATURE,
    "t1": col.TEMPERATURE,
}
"""Neware quantity name (lower case, unit removed) -> standard column."""

_COUNTERS = (col.CYCLE_FROM_CYCLER, col.STEP_FROM_CYCLER)
_MODE_NAMES = ("step type", "status")
_TIMESTAMP_NAMES = ("date", "realtime", "absolute time", "datetime", "date(h:min:s.ms)")
_DURATION_NAMES = ("cumulative time", "total time")
_DISCHARGE = re.compile(r"(?i)\bd\s?chg\b|discharge")
_CHARGE = re.compile(r"(?i)\bchg\b|charge")


def is_header(fields: list[str]) -> bool:
    """A Neware header has a step type/status, a step index and a current with a unit."""
    names = {split_unit(f)[0].lower() for f in fields}
    return (
        bool(names & set(_MODE_NAMES))
        and bool(names & {"step index", "step id", "steps"})
        and ("current" in names or "cur" in names)
    )


def sniff(text: str) -> bool:
    """True for a Neware CSV export: a Neware header row within the first lines."""
    for line in text.splitlines()[:40]:
        if is_header([f.strip() for f in re.split(r"[\t,]", line)]):
            return True
    return False


def _columns(table: Table) -> dict[str, tuple[str, float]]:
    """File column -> (standard column, factor to SI), the first of each quantity winning."""
    found: dict[str, tuple[str, float]] = {}
    taken: set[str] = set()
    for column in table.columns:
        name, unit = split_unit(column)
        target = _QUANTITIES.get(name.lower())
        if target is None or target in taken:
            continue
        factor = (
            1.0
            if target in (col.CYCLE_FROM_CYCLER, col.STEP_FROM_CYCLER, col.TEMPERATURE) or not unit
            else scale(unit)
        )
        found[column] = (target, factor)
        taken.add(target)
    # A both-ways counter only matters without the split pair (finish prefers the pair): not
    # parsing it saves a column of a million numbers.
    for both, pair in (
        (CAPACITY, {col.CHARGE_CAPACITY, col.DISCHARGE_CAPACITY}),
        (ENERGY, {col.CHARGE_ENERGY, col.DISCHARGE_ENERGY}),
    ):
        if pair <= taken:
            found = {c: m for c, m in found.items() if m[0] != both}
    return found


def _first(table: Table, names: tuple[str, ...]) -> str | None:
    """The first file column whose name (unit removed, lower case) is one of ``names``."""
    for column in table.columns:
        if split_unit(column)[0].lower() in names or column.lower() in names:
            return column
    return None


def read(path: Path) -> pl.DataFrame:
    """The time series of a Neware CSV export, in standard columns."""
    table = find_table(path, is_header, "Neware")
    columns = _columns(table)
    mode = _first(table, _MODE_NAMES)
    stamp = _first(table, _TIMESTAMP_NAMES)
    duration = None if stamp is not None else _first(table, _DURATION_NAMES)
    dtypes: dict[str, type[pl.DataType]] = {c: pl.Float64 for c in columns}
    dtypes |= {c: pl.String for c in (mode, stamp, duration) if c is not None}
    counters = [c for c, (t, _) in columns.items() if t in _COUNTERS]
    frame = read_table(path, table, dtypes, integers=counters)
    exprs = [(pl.col(c) if f == 1.0 else pl.col(c) * f).alias(t) for c, (t, f) in columns.items()]
    exprs.append(_time(frame, stamp, duration, path, table))
    if mode is not None:  # the step type itself is not kept (ionworksdata does not)
        exprs.append(direction_of(frame.get_column(mode)))
    data = frame.select(exprs)
    # The cast (a no-op for counters read as integers) also copies the parser's chunks of each
    # column into one: cheaper, measured, than leaving that to finish's drop_nulls.
    data = data.with_columns(pl.col(c for c in _COUNTERS if c in data.columns).cast(pl.Int64))
    return finish(data, file_columns=table.columns)


def direction_of(mode: pl.Series) -> pl.Expr:
    """:func:`direction` of each row, worked out once per distinct step type (a handful).

    Each row is then looked up in the few discharge and charge names: two ``is_in`` passes take
    half the time of a ``replace_strict`` table on a million rows in the parser's chunks (0.02
    against 0.045 s CPU) measured alone; in the whole reader the difference is within noise.
    """
    kinds = mode.unique().drop_nulls()
    letters = pl.DataFrame({"k": kinds}).select(direction(pl.col("k"))).to_series()
    row = pl.col(mode.name)
    return (
        pl.when(row.is_in(kinds.filter(letters == "D").implode()))
        .then(pl.lit("D"))
        .when(row.is_in(kinds.filter(letters == "C").implode()))
        .then(pl.lit("C"))
        .otherwise(None)
        .alias(DIRECTION)
    )


def direction(mode: pl.Expr) -> pl.Expr:
    """``CC DChg`` -> D, ``CCCV Chg`` -> C, rest and others -> none."""
    return (
        pl.when(mode.str.contains(_DISCHARGE.pattern))
        .then(pl.lit("D"))
        .when(mode.str.contains(_CHARGE.pattern))
        .then(pl.lit("C"))
        .otherwise(None)
    )


def _time(
    frame: pl.DataFrame, stamp: str | None, duration: str | None, path: Path, table: Table
) -> pl.Expr:
    """Seconds from the row timestamps (whole seconds in most exports), else a running duration."""
    if stamp is not None:
        seconds = timestamp_series(frame, stamp)
        _check_parsed(frame.get_column(stamp), seconds, stamp, path, table)
        return pl.lit(seconds).alias(col.TIME)
    if duration is not None:
        seconds = duration_seconds(frame, duration)
        _check_parsed(frame.get_column(duration), seconds, duration, path, table)
        return pl.lit(seconds).alias(col.TIME)
    raise ReaderError(
        f"{path.name}: no time column (looked for {', '.join(_TIMESTAMP_NAMES + _DURATION_NAMES)}); "
        f"columns found: {', '.join(c for c in table.columns if c)}"
    )


def _check_parsed(raw: pl.Series, parsed: pl.Series, name: str, path: Path, table: Table) -> None:
    """Raise naming the first line whose ``name`` value did not parse."""
    bad = (parsed.is_null() & raw.is_not_null()).arg_true()
    if bad.len():
        row = int(bad[0])
        line = table.header_line + row + 2
        raise ReaderError(f"{path.name}: line {line}: {name} {raw[row]!r} is not a time")


def metadata(path: Path) -> dict[str, Any]:
    """The cycler name and the first row's timestamp (Neware CSV exports carry no header block)."""
    return with_start({"cycler": NAME}, start_time(path))


def start_time(path: Path) -> datetime | None:
    """The timestamp of the first row, when the export has a date column."""
    table = find_table(path, is_header, "Neware")
    stamp = _first(table, _TIMESTAMP_NAMES)
    if stamp is None:
        return None
    first = pl.read_csv(
        path, skip_rows=table.header_line, n_rows=1, separator=table.separator, infer_schema=False
    )
    value = first.get_column(stamp).str.strip_chars().str.to_datetime(strict=False)[0]
    return value if isinstance(value, datetime) else None
