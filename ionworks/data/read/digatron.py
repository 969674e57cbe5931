"""Digatron CSV exports (BTS-600/UBT): the unit after ``#`` in each header (``Voltage#V``).

Unit capitals vary within a file (``AhCha#AH`` beside ``AhDch#Ah``), so names are matched
case-insensitively. Time comes from ``Timestamp`` (ISO 8601 with a UTC offset), never from
``Program Duration#s``, which some exports fill with milliseconds. ``Status`` says ``CHA``,
``DCH`` or ``PAU`` per row; the current is positive on charge and is signed from the status.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from .. import columns as col
from ._finish import MODE
from ._mapped import Plan, plan_of_header, standard
from ._meta import with_start
from ._text import find_table, read_table

NAME = "digatron"

_QUANTITIES = {
    "timestamp": col.TIME,
    "voltage": col.VOLTAGE,
    "current": col.CURRENT,
    "ahcha": col.CHARGE_CAPACITY,
    "ahdch": col.DISCHARGE_CAPACITY,
    "whcha": col.CHARGE_ENERGY,
    "whdch": col.DISCHARGE_ENERGY,
    "temp1": col.TEMPERATURE,
    "step": col.STEP_FROM_CYCLER,
    "cycle": col.CYCLE_FROM_CYCLER,
    "status": MODE,
}
"""Digatron name (lower case, before ``#``) -> standard column."""


def _split(column: str) -> tuple[str, str]:
    """``AhCha#AH`` -> ("ahcha", "AH"); ``Step`` -> ("step", "")."""
    name, _, unit = column.partition("#")
    return name.strip().lower(), unit.strip()


def is_header(fields: list[str]) -> bool:
    """A Digatron header: ``Timestamp``, ``Voltage#V`` and ``Current#A`` (any capitals)."""
    lowered = {f.lower() for f in fields}
    return {"timestamp", "voltage#v", "current#a"} <= lowered


def sniff(text: str) -> bool:
    """True for a Digatron export: its header within the first lines."""
    lines = text.splitlines()[:30]
    return any(is_header([f.strip() for f in re.split(r"[,;\t]", line)]) for line in lines)


def _plan(columns: list[str]) -> Plan:
    """Mapping and units of a Digatron header, first column of each quantity winning."""

    def unit_of(target: str, unit: str) -> str:
        """Time is the row's timestamp; temperature and state are taken as written."""
        if target == col.TIME:
            return "timestamp"
        return "" if target in (col.TEMPERATURE, MODE) else unit

    return plan_of_header(
        columns,
        _split,
        _QUANTITIES,
        unit_of,
        charge_positive=True,
        charge=("cha",),
        discharge=("dch",),
    )


def read(path: Path) -> pl.DataFrame:
    """The time series of a Digatron CSV export, in standard columns."""
    table = find_table(path, is_header, "Digatron")
    plan = _plan(table.columns)
    return standard(read_table(path, table, plan.dtypes()), plan, path, table)


def metadata(path: Path) -> dict[str, Any]:
    """The cycler and the first row's timestamp (the export has no header block to read)."""
    return with_start({"cycler": NAME}, start_time(path))


def start_time(path: Path) -> datetime | None:
    """The first row's ``Timestamp`` (timezone-aware, as the file writes its offset)."""
    table = find_table(path, is_header, "Digatron")
    stamp = next(c for c in table.columns if c.lower() == "timestamp")
    first = read_table(path, table, {stamp: pl.String}).head(1)
    value = first.get_column(stamp).str.strip_chars().str.to_datetime(strict=False)
    found = value[0] if value.len() else None
    return found if isinstance(found, datetime) else None
