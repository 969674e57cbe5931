"""Battery Data Format (BDF) CSV: the Battery Data Alliance's ``Quantity / unit`` columns.

Headers are ``Test Time / h``, ``Current / A``, ``Voltage / V``, ``Step Index / 1`` ... (the
label form) or ``test_time_second``, ``current_ampere`` ... (the machine form); units come from
the header. The direction comes from ``Step Type`` (``charge``/``discharge``/``rest``) when the
file has it, otherwise from the voltage response (see ``_finish.infer_sign``).
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from .. import columns as col
from ._finish import DIRECTION, MODE, finish
from ._text import Table, find_table, read_table
from ._units import scale

NAME = "bdf"

_LABELS = {
    "test time": col.TIME,
    "current": col.CURRENT,
    "voltage": col.VOLTAGE,
    "power": col.POWER,
    "cycle count": col.CYCLE_FROM_CYCLER,
    "step index": col.STEP_FROM_CYCLER,
    "charge capacity": col.CHARGE_CAPACITY,
    "charging capacity": col.CHARGE_CAPACITY,
    "discharge capacity": col.DISCHARGE_CAPACITY,
    "discharging capacity": col.DISCHARGE_CAPACITY,
    "charge energy": col.CHARGE_ENERGY,
    "charging energy": col.CHARGE_ENERGY,
    "discharge energy": col.DISCHARGE_ENERGY,
    "discharging energy": col.DISCHARGE_ENERGY,
    "temperature t1": col.TEMPERATURE,
    "surface temperature t1": col.TEMPERATURE,
}
"""BDF quantity label (lower case) -> standard column."""

_MACHINE = {
    "test_time_second": (col.TIME, 1.0),
    "test_time_hour": (col.TIME, 3600.0),
    "current_ampere": (col.CURRENT, 1.0),
    "voltage_volt": (col.VOLTAGE, 1.0),
    "power_watt": (col.POWER, 1.0),
    "cycle_count": (col.CYCLE_FROM_CYCLER, 1.0),
    "step_index": (col.STEP_FROM_CYCLER, 1.0),
    "charging_capacity_ampere_hour": (col.CHARGE_CAPACITY, 1.0),
    "discharging_capacity_ampere_hour": (col.DISCHARGE_CAPACITY, 1.0),
    "charging_energy_watt_hour": (col.CHARGE_ENERGY, 1.0),
    "discharging_energy_watt_hour": (col.DISCHARGE_ENERGY, 1.0),
    "temperature_t1_celsius": (col.TEMPERATURE, 1.0),
}
"""BDF machine-readable names -> (standard column, factor to SI)."""

_LABEL = re.compile(r"^(?P<name>[^/]+?)\s*/\s*(?P<unit>\S+)$")
_STEP_TYPE = ("step type / 1", "step_type")


def _mapping(columns: list[str]) -> dict[str, tuple[str, float]]:
    """File column -> (standard column, factor), for the columns this format names."""
    found: dict[str, tuple[str, float]] = {}
    for column in columns:
        match = _LABEL.match(column.strip())
        if match and match.group("name").lower() in _LABELS:
            target = _LABELS[match.group("name").lower()]
            unit = match.group("unit")
            found[column] = (target, 1.0 if unit in ("1", "degC", "°C") else scale(unit))
        elif column.strip().lower() in _MACHINE:
            found[column] = _MACHINE[column.strip().lower()]
    return found


def is_header(fields: list[str]) -> bool:
    """A BDF header names test time, current and voltage in BDF's label or machine form."""
    targets = {t for t, _ in _mapping(fields).values()}
    return {col.TIME, col.CURRENT, col.VOLTAGE} <= targets


def sniff(text: str) -> bool:
    """True when the first line is a BDF header (BDF files start with the table)."""
    first = text.splitlines()[0] if text else ""
    return is_header([f.strip() for f in first.split(",")])


def read(path: Path) -> pl.DataFrame:
    """The time series of a BDF CSV, in standard columns."""
    table: Table = find_table(path, is_header, "Battery Data Format")
    mapping = _mapping(table.columns)
    step_type = next((c for c in table.columns if c.strip().lower() in _STEP_TYPE), None)
    dtypes: dict[str, type[pl.DataType]] = {c: pl.Float64 for c in mapping}
    if step_type is not None:
        dtypes[step_type] = pl.String
    frame = read_table(path, table, dtypes)
    exprs = [(pl.col(c) * f).alias(t) for c, (t, f) in mapping.items()]
    if step_type is not None:
        mode = pl.col(step_type).str.strip_chars().str.to_lowercase()
        direction = pl.when(mode == "charge").then(pl.lit("C")).when(mode == "discharge")
        exprs += [mode.alias(MODE), direction.then(pl.lit("D")).otherwise(None).alias(DIRECTION)]
    data = frame.select(exprs)
    counters = [c for c in (col.CYCLE_FROM_CYCLER, col.STEP_FROM_CYCLER) if c in data.columns]
    data = data.with_columns(pl.col(counters).cast(pl.Int64)).drop(MODE, strict=False)
    return finish(data, file_columns=table.columns, infer_sign=step_type is None)
