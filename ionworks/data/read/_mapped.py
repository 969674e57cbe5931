"""One path for every table whose columns map one-to-one onto standard columns.

A format module (or the user, for the generic ``csv`` reader) says which file column is which
standard column and in which unit the file writes it; this module parses the text, converts
units, signs the current and hands the frame to :func:`._finish.finish`. Formats then differ
only in how they find their table and name their columns.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from .. import columns as col
from ._errors import ReaderError
from ._finish import DIRECTION, MODE, finish
from ._text import Table, numeric
from ._units import duration_seconds, scale, timestamp_series

DURATION_UNITS = frozenset({"hh:mm:ss", "h:min:s.ms", "h:m:s", "duration"})
"""Units meaning ``[Nd ]hh:mm:ss[.fff]`` text rather than a number."""

TIMESTAMP_UNITS = frozenset({"timestamp", "datetime", "date"})
"""Units meaning a date and time of day per row (time then counts from the first row)."""

COUNTERS = (col.STEP_FROM_CYCLER, col.CYCLE_FROM_CYCLER)
"""Columns kept as integers, as ionworksdata types them."""

AS_WRITTEN = frozenset({col.TEMPERATURE, *COUNTERS})
"""Columns whose unit needs no conversion (degC and counts)."""


@dataclass(frozen=True)
class Plan:
    """How a table's columns become standard ones.

    ``columns`` maps a file column to a standard column (or :data:`._finish.MODE` for the
    cycler's state text); ``units`` gives the unit the file writes each file column in.
    ``charge``/``discharge`` are the mode values (lower case, prefixes) that fix the direction.
    """

    columns: Mapping[str, str]
    units: Mapping[str, str] = field(default_factory=dict)
    charge_positive: bool = False
    infer_sign: bool = False
    charge: tuple[str, ...] = ()
    discharge: tuple[str, ...] = ()

    def dtypes(self) -> dict[str, type[pl.DataType]]:
        """What to parse each mapped column as: text where it is not a plain number."""
        text = {c for c, t in self.columns.items() if t == MODE or self._text_unit(c)}
        return {c: pl.String if c in text else pl.Float64 for c in self.columns}

    def _text_unit(self, column: str) -> bool:
        unit = self.units.get(column, "").strip().lower()
        return unit in DURATION_UNITS or unit in TIMESTAMP_UNITS


def plan_of_header(
    columns: list[str],
    quantity: Callable[[str], tuple[str, str]],
    quantities: Mapping[str, str],
    unit_of: Callable[[str, str], str] | None = None,
    **options: Any,
) -> Plan:
    """The plan of a header: ``quantity`` splits a column into (quantity, unit), ``quantities``
    names its standard column; the first column of each quantity wins (exports repeat some).

    ``unit_of(target, unit)`` overrides the unit kept; by default temperatures and the mode
    keep none (they are taken as written). ``options`` are the :class:`Plan`'s other fields.
    """
    mapping: dict[str, str] = {}
    units: dict[str, str] = {}
    for column in columns:
        name, unit = quantity(column)
        target = quantities.get(name)
        if target is None or target in mapping.values():
            continue
        mapping[column] = target
        as_written = target in (col.TEMPERATURE, MODE)
        units[column] = unit_of(target, unit) if unit_of else ("" if as_written else unit)
    return Plan(mapping, units, **options)


def standard(frame: pl.DataFrame, plan: Plan, path: Path, table: Table) -> pl.DataFrame:
    """The standard time series of ``frame`` (file column names) under ``plan``."""
    _check_targets(plan, table)
    exprs = [
        _convert(frame, c, t, plan.units.get(c, ""), path, table)
        for c, t in plan.columns.items()
        if c in frame.columns
    ]
    data = frame.select(exprs)
    if MODE in data.columns:
        data = data.with_columns(_direction(plan).alias(DIRECTION))
    counters = [c for c in COUNTERS if c in data.columns]
    data = data.with_columns(pl.col(counters).cast(pl.Int64))
    return finish(
        data,
        file_columns=table.columns,
        charge_positive=plan.charge_positive,
        infer_sign=plan.infer_sign,
    )


def _check_targets(plan: Plan, table: Table) -> None:
    """Unknown file columns and doubled targets are errors, not silently dropped data."""
    missing = [c for c in plan.columns if c not in table.columns]
    if missing:
        raise ReaderError(
            f"columns {', '.join(map(repr, missing))} are not in the file; "
            f"columns found: {', '.join(c for c in table.columns if c)}"
        )
    targets = list(plan.columns.values())
    doubled = sorted({t for t in targets if targets.count(t) > 1})
    if doubled:
        raise ReaderError(f"two file columns map to {', '.join(doubled)}; map each once")


def _convert(
    frame: pl.DataFrame, column: str, target: str, unit: str, path: Path, table: Table
) -> pl.Expr:
    """One file column in the standard column's unit."""
    key = unit.strip().lower()
    if target == MODE:
        return pl.col(column).str.strip_chars().alias(MODE)
    if key in TIMESTAMP_UNITS:
        stamps = timestamp_series(frame, column)
        return _parsed(frame, column, pl.lit(stamps), path, table).alias(target)
    if key in DURATION_UNITS or (target == col.TIME and _clock_text(frame, column)):
        seconds = duration_seconds(frame, column)
        return _parsed(frame, column, pl.lit(seconds), path, table).alias(target)
    factor = 1.0 if target in AS_WRITTEN or not key else scale(unit)
    return (numeric(frame, column, path, table.header_line) * factor).alias(target)


def _clock_text(frame: pl.DataFrame, column: str) -> bool:
    """True for a text column written as ``hh:mm:ss`` (some exports do so whatever the unit)."""
    series = frame.get_column(column)
    return series.dtype == pl.String and bool(series.head(100).str.contains(":").any())


def _parsed(frame: pl.DataFrame, column: str, expr: pl.Expr, path: Path, table: Table) -> pl.Expr:
    """``expr`` evaluated, or an error naming the first line whose text did not parse."""
    values = frame.select(expr.alias("v")).to_series()
    source = frame.get_column(column)
    bad = (values.is_null() & source.is_not_null() & (source.str.strip_chars() != "")).arg_true()
    if bad.len():
        row = int(bad[0])
        line = table.header_line + row + 2
        raise ReaderError(f"{path.name}: line {line}: {column} is {source[row]!r}, not a time")
    return pl.lit(values)


def _direction(plan: Plan) -> pl.Expr:
    """C, D or null from the mode text, by the plan's prefixes (case-insensitive)."""
    mode = pl.col(MODE).str.to_lowercase()

    def starts(prefixes: tuple[str, ...]) -> pl.Expr:
        hit = pl.lit(False)
        for prefix in prefixes:
            hit = hit | mode.str.starts_with(prefix)
        return hit

    return (
        pl.when(starts(plan.discharge))
        .then(pl.lit("D"))
        .when(starts(plan.charge))
        .then(pl.lit("C"))
        .otherwise(None)
    )
