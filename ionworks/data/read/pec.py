"""PEC cycler CSV exports: ``Key:,value`` metadata lines, then a table with units in brackets.

The table has ``Step``, ``Cycle``, ``Total Time (Seconds)``, ``Voltage (mV)``, ``Current (mA)``
and counters per direction; PEC labels its energy counters ``Charge Capacity (mWh)``, so the
unit decides whether a counter is a capacity or an energy. PEC writes charge current as positive.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from .. import columns as col
from ._finish import finish
from ._meta import with_start
from ._text import find_table, read_table, split_unit
from ._units import scale

NAME = "pec"

_ENERGY_UNITS = {"wh", "mwh"}


def _target(name: str, unit: str) -> str | None:
    """The standard column for a PEC column name and unit, or None when we do not keep it."""
    key = name.lower()
    energy = unit.lower() in _ENERGY_UNITS
    plain = {
        "step": col.STEP_FROM_CYCLER,
        "cycle": col.CYCLE_FROM_CYCLER,
        "total time": col.TIME,
        "voltage": col.VOLTAGE,
        "current": col.CURRENT,
        "cell surface temperature": col.TEMPERATURE,
        "charge energy": col.CHARGE_ENERGY,
        "discharge energy": col.DISCHARGE_ENERGY,
    }
    if key == "charge capacity":
        return col.CHARGE_ENERGY if energy else col.CHARGE_CAPACITY
    if key == "discharge capacity":
        return col.DISCHARGE_ENERGY if energy else col.DISCHARGE_CAPACITY
    return plain.get(key)


def _factor(target: str, unit: str) -> float:
    """Factor to SI: counters and temperatures are taken as written, the rest by unit."""
    if target in (col.STEP_FROM_CYCLER, col.CYCLE_FROM_CYCLER, col.TEMPERATURE):
        return 1.0
    return 1.0 if unit.lower() in ("seconds", "") else scale(unit)


def _mapping(columns: list[str]) -> dict[str, tuple[str, float]]:
    """File column -> (standard column, factor), first occurrence of each target winning."""
    found: dict[str, tuple[str, float]] = {}
    for column in columns:
        name, unit = split_unit(column)
        target = _target(name, unit)
        if target is not None and target not in {t for t, _ in found.values()}:
            found[column] = (target, _factor(target, unit))
    return found


def is_header(fields: list[str]) -> bool:
    """A PEC table header: ``Test``, ``Cell`` and ``Total Time (Seconds)`` among its fields."""
    return {"Test", "Cell"} <= set(fields) and any(f.startswith("Total Time") for f in fields)


def sniff(text: str) -> bool:
    """True for a PEC export: its ``Test``/``Cell`` header within the first lines."""
    return any(is_header([f.strip() for f in line.split(",")]) for line in text.splitlines()[:200])


def read(path: Path) -> pl.DataFrame:
    """The time series of a PEC CSV, in standard columns."""
    table = find_table(path, is_header, "PEC")
    mapping = _mapping(table.columns)
    frame = read_table(path, table, {c: pl.Float64 for c in mapping})
    data = frame.select((pl.col(c) * f).alias(t) for c, (t, f) in mapping.items())
    counters = [c for c in (col.CYCLE_FROM_CYCLER, col.STEP_FROM_CYCLER) if c in data.columns]
    data = data.with_columns(pl.col(counters).cast(pl.Int64))
    return finish(data, file_columns=table.columns, charge_positive=True)


def metadata(path: Path) -> dict[str, Any]:
    """The ``Key:,value`` lines above the table (test regime, cell, temperatures...) and start."""
    table = find_table(path, is_header, "PEC")
    out: dict[str, Any] = {"cycler": NAME}
    for line in table.preamble:
        key, _, value = line.partition(",")
        value = value.strip().rstrip(",")
        if key.endswith(":") and value:
            out[key[:-1].strip()] = value
    return with_start(out, start_time(path))


def start_time(path: Path) -> datetime | None:
    """The ``Start Time:`` line (``MM/DD/YYYY HH:MM:SS``), when present."""
    table = find_table(path, is_header, "PEC")
    for line in table.preamble:
        key, _, value = line.partition(",")
        if key.strip() == "Start Time:":
            try:
                return datetime.strptime(value.strip().rstrip(","), "%m/%d/%Y %H:%M:%S")
            except ValueError:
                return None
    return None
