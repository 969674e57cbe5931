"""Arbin CSV and Excel exports (MITS Pro, ArbinDataExporter), and the one ``"arbin"`` entry.

The exports carry ``Channel_Normal_Table``'s columns with the unit in brackets:
``Test_Time(s)``, ``Current(A)``, ``Voltage(V)``, ``Charge_Capacity(Ah)``, ``Cycle_Index``,
``Step_Index`` (newer software writes ``Test Time (s)`` with spaces). Arbin writes charge
current as positive. Excel exports split long tests over several ``Channel_...`` sheets
(a sheet holds about a million rows), which are read in order and joined.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from .. import columns as col
from . import arbin
from ._excel import is_workbook, read_sheets
from ._mapped import Plan, plan_of_header, standard
from ._text import Table, find_table, read_table, split_unit

NAME = arbin.NAME

_QUANTITIES = {
    "test time": col.TIME,
    "current": col.CURRENT,
    "voltage": col.VOLTAGE,
    "charge capacity": col.CHARGE_CAPACITY,
    "discharge capacity": col.DISCHARGE_CAPACITY,
    "charge energy": col.CHARGE_ENERGY,
    "discharge energy": col.DISCHARGE_ENERGY,
    "cycle index": col.CYCLE_FROM_CYCLER,
    "step index": col.STEP_FROM_CYCLER,
    "aux temperature 1": col.TEMPERATURE,
    "temperature": col.TEMPERATURE,
}
"""Arbin quantity (lower case, ``_`` as space, unit removed) -> standard column.

``Power(W)`` is left out: Arbin signs it like its current (charge positive), and power is
recomputed as V·I from the flipped current, as ionworksdata does."""

_CHANNEL_SHEET = re.compile(r"(?i)^channel[_ ]?\d")


def _quantity(column: str) -> tuple[str, str]:
    """(quantity, unit) of an Arbin header: ``Test_Time(s)`` -> ("test time", "s")."""
    name, unit = split_unit(column)
    return re.sub(r"[_\s]+", " ", name).strip().lower(), unit


def plan_of(columns: list[str]) -> Plan:
    """The mapping of an Arbin header, first column of each quantity winning."""

    def unit_of(_target: str, unit: str) -> str:
        return "" if unit.lower() in ("c", "°c", "degc") else unit

    return plan_of_header(columns, _quantity, _QUANTITIES, unit_of, charge_positive=True)


def is_header(fields: list[str]) -> bool:
    """An Arbin export header: test time, cycle index, step index and current."""
    quantities = {_quantity(f)[0] for f in fields}
    return {"test time", "cycle index", "step index", "current"} <= quantities


def sniff(text: str) -> bool:
    """True for an Arbin CSV export (its header is the first line)."""
    first = text.splitlines()[0] if text else ""
    return is_header([f.strip() for f in re.split(r"[\t,]", first)])


def read(path: Path) -> pl.DataFrame:
    """The time series of an Arbin ``.res``, CSV or Excel export, by the file's content."""
    with path.open("rb") as handle:
        magic = handle.read(64)
    if arbin.sniff(magic):
        return arbin.read(path)
    if is_workbook(magic, path):
        return _read_workbook(path)
    table = find_table(path, is_header, "Arbin")
    plan = plan_of(table.columns)
    return standard(read_table(path, table, plan.dtypes()), plan, path, table)


def channel_sheets(sheets: dict[str, pl.DataFrame]) -> list[pl.DataFrame]:
    """The sheets holding measurements: every ``Channel_<n>...`` sheet but charts, in order."""
    names = [n for n in sheets if _CHANNEL_SHEET.match(n) and "chart" not in n.lower()]
    return [sheets[n] for n in names or list(sheets)[:1]]


def _read_workbook(path: Path) -> pl.DataFrame:
    """All channel sheets of an Arbin workbook, joined in sheet order."""
    frame = pl.concat(channel_sheets(read_sheets(path)), how="diagonal")
    table = Table(0, ",", list(frame.columns), [], "utf8")
    return standard(frame, plan_of(table.columns), path, table)


def metadata(path: Path) -> dict[str, Any]:
    """The ``.res`` file's ``Global_Table``; exports carry only the cycler name."""
    with path.open("rb") as handle:
        if arbin.sniff(handle.read(64)):
            return arbin.metadata(path)
    return {"cycler": NAME}


def start_time(path: Path) -> datetime | None:
    """When the test started, for ``.res`` files (exports do not write it in a header)."""
    with path.open("rb") as handle:
        if arbin.sniff(handle.read(64)):
            return arbin.start_time(path)
    return None
