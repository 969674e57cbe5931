"""Neware CSV exports (BTSDA): ``Cycle Index``/``Step Index``/``Step Type``/``Current(A)``/``Date``.

Neware names columns with the unit in brackets (``Current(mA)``, ``Chg. Cap.(Ah)``), so units are
read from the header. The direction comes from the step type (``CC Chg``, ``CC DChg``, ``Rest``);
time from the absolute ``Date`` of each row (the ``Time`` column restarts at every step).
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from .. import columns as col
from ._errors import ReaderError
from ._finish import CAPACITY, ENERGY, finish
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
    with ThreadPoolExecutor(1) as pool:
        # The times (parsed on every thread polars has) meanwhile the numbers (in numpy, on one).
        times = pool.submit(_time, frame, stamp, duration, path, table)
        steps = None if mode is None else _StepTypes.of(frame.get_column(mode))
        exprs = [_in_si(frame, c, t, f, steps).alias(t) for c, (t, f) in columns.items()]
        exprs.append(times.result())
    # The current is signed here already (finish's rule, from the step type), so no
    # direction column is carried to finish, which puts the numbers in one chunk each.
    return finish(frame.select(exprs), file_columns=table.columns)


@dataclass(frozen=True)
class _StepTypes:
    """The step type's runs (a step is a run of rows of one type), as directions."""

    name: str
    """The step type's column."""
    discharge: pl.Series
    charge: pl.Series
    """The distinct discharge and charge step names (a handful)."""
    codes: npt.NDArray[np.int8]
    """Each row's direction: 1 discharge, 2 charge, 0 neither (rest, nulls, others)."""

    @classmethod
    def of(cls, mode: pl.Series) -> _StepTypes:
        """:func:`direction` of each run's name, not of each row: one comparison per row
        (polars' ``rle``) instead of hashing a million names or matching patterns on them."""
        runs = mode.rle().struct.unnest()
        names = runs.get_column("value")
        letters = pl.DataFrame({"k": names}).select(direction(pl.col("k"))).to_series()
        discharge, charge = (letters == "D").fill_null(False), (letters == "C").fill_null(False)
        code = discharge.cast(pl.Int8) + 2 * charge.cast(pl.Int8)
        return cls(
            mode.name,
            names.filter(discharge).unique(),
            names.filter(charge).unique(),
            np.repeat(code.to_numpy(), runs.get_column("len").to_numpy()),
        )


def _in_si(
    frame: pl.DataFrame, column: str, target: str, factor: float, steps: _StepTypes | None
) -> pl.Expr:
    """A file column in SI units, counters as integers, the current signed as
    :func:`._finish.signed` signs it (charge -|I|, discharge +|I|, others as written).

    ``|I·f| = |I|·f`` exactly (rounding is symmetric), so the sign is set before the unit
    factor. Without nulls, the work is done in place on one copy of the column in numpy
    (it is copied into one chunk anyway); with nulls, in polars, where a null stays one.
    """
    if target in _COUNTERS:  # whole numbers, even where a file writes them as 2.0
        return pl.col(column).cast(pl.Int64)
    signs = steps if target == col.CURRENT else None
    series = frame.get_column(column)
    if series.null_count() == 0 and (factor != 1.0 or signs is not None):
        values = series.to_numpy(writable=True)
        if signs is not None:
            np.abs(values, out=values, where=signs.codes != 0)
            np.negative(values, out=values, where=signs.codes == 2)
        if factor != 1.0:
            values *= factor
        return pl.lit(pl.Series(column, values))
    value = pl.col(column)
    if signs is not None:
        row = pl.col(signs.name)
        value = (
            pl.when(row.is_in(signs.discharge.implode()))
            .then(value.abs())
            .when(row.is_in(signs.charge.implode()))
            .then(-value.abs())
            .otherwise(value)
        )
    return value if factor == 1.0 else value * factor


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
    if parsed.null_count() == raw.null_count():  # a null parses to null: no other null
        return
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
