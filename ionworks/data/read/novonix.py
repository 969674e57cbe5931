"""Novonix UHPC CSV exports: a ``[Summary]`` block, then ``[Data]`` and the table.

Columns carry units in brackets (``Run Time (h)``, ``Current (A)``, ``Potential (V)``,
``Temperature (°C)``) beside ``Cycle Number``, ``Step Number`` and ``Step Type``. The current
is positive on charge; capacities are integrated from it.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from .. import columns as col
from ._mapped import Plan, standard
from ._meta import parse_datetime, with_start
from ._text import find_table, read_table, split_unit

NAME = "novonix"

_QUANTITIES = {
    "run time": col.TIME,
    "current": col.CURRENT,
    "potential": col.VOLTAGE,
    "temperature": col.TEMPERATURE,
    "cycle number": col.CYCLE_FROM_CYCLER,
    "step number": col.STEP_FROM_CYCLER,
}
"""Novonix quantity (lower case, unit removed) -> standard column."""

_SUMMARY = {
    "channel": "channel",
    "protocol": "procedure",
    "cell": "cell",
    "serial number": "cycler_serial_number",
}


def is_header(fields: list[str]) -> bool:
    """A Novonix table header: run time, current and potential."""
    names = {split_unit(f)[0].lower() for f in fields}
    return {"run time", "current", "potential"} <= names


def sniff(text: str) -> bool:
    """True for a Novonix export: ``[Summary]`` first, then the word Novonix."""
    lines = text.splitlines()
    return bool(lines) and lines[0].startswith("[Summary]") and "novonix" in text[:4000].lower()


def read(path: Path) -> pl.DataFrame:
    """The time series of a Novonix export, in standard columns."""
    table = find_table(path, is_header, "Novonix")
    mapping: dict[str, str] = {}
    units: dict[str, str] = {}
    for column in table.columns:
        name, unit = split_unit(column)
        target = _QUANTITIES.get(name.lower())
        if target is not None and target not in mapping.values():
            mapping[column] = target
            units[column] = "" if target == col.TEMPERATURE else unit
    plan = Plan(mapping, units, charge_positive=True)
    return standard(read_table(path, table, plan.dtypes()), plan, path, table)


def _summary(path: Path) -> dict[str, str]:
    """``Key: value`` lines of the summary block, keys lower case."""
    table = find_table(path, is_header, "Novonix")
    fields: dict[str, str] = {}
    for line in table.preamble:
        if line.startswith("[End Summary]"):
            break
        key, sep, value = line.partition(":")
        if sep and value.strip():
            fields[key.strip().lower()] = value.strip()
    return fields


def metadata(path: Path) -> dict[str, Any]:
    """Channel, protocol, cell and serial number from the summary block, and the start."""
    fields = _summary(path)
    out: dict[str, Any] = {"cycler": NAME}
    out |= {name: fields[key] for key, name in _SUMMARY.items() if key in fields}
    return with_start(out, start_time(path))


def start_time(path: Path) -> datetime | None:
    """``Started: 2024-03-01 9:00:00 AM`` (12- or 24-hour clock, by the PC's locale)."""
    value = _summary(path).get("started")
    return parse_datetime(value, ("%Y-%m-%d %I:%M:%S %p", "%Y-%m-%d %H:%M:%S"))
