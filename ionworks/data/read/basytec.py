"""BaSyTec exports: the ``.txt`` result file and the flat CSV (reader ``"basytec"``).

The ``.txt`` result file prefixes every preamble line with ``~``; the last ``~`` line is the
header, its fields separated by tabs or (in other exports) by runs of spaces, units in brackets (``Time[h]``, ``U[V]``, ``I[A]``, ``T1[°C]``), with the
program ``Line`` (the step), ``Cyc-Count`` and ``Command`` (``Charge``, ``Discharge``,
``Pause``). The flat CSV has ``run_time`` (``hh:mm:ss``, hours past 24), ``c_vol``, ``c_cur``,
``c_surf_temp`` and ``step_type``. Both write charge current as positive.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from .. import columns as col
from ._errors import ReaderError
from ._finish import MODE
from ._mapped import Plan, plan_of_header, standard
from ._meta import parse_datetime, with_start
from ._text import (
    WHITESPACE,
    Table,
    find_table,
    head_text,
    read_table,
    read_whitespace_table,
    split_unit,
)

NAME = "basytec"

_TXT = {
    "time": col.TIME,
    "u": col.VOLTAGE,
    "i": col.CURRENT,
    "t1": col.TEMPERATURE,
    "line": col.STEP_FROM_CYCLER,
    "cyc-count": col.CYCLE_FROM_CYCLER,
    "command": MODE,
}
"""``.txt`` quantity (lower case, unit removed) -> standard column."""

_CSV = {
    "run_time": (col.TIME, "hh:mm:ss"),
    "c_vol": (col.VOLTAGE, "V"),
    "c_cur": (col.CURRENT, "A"),
    "c_surf_temp": (col.TEMPERATURE, ""),
    "step_type": (col.STEP_FROM_CYCLER, ""),
}
"""Flat CSV column -> (standard column, unit)."""

_METADATA = {
    "name of test": "test_name",
    "testplan": "procedure",
    "testchannel": "channel",
    "battery": "cell",
    "operator (test)": "operator",
}


def sniff(text: str) -> bool:
    """True for a BaSyTec result file (``~Resultfile from Basytec``) or its flat CSV."""
    first = text.splitlines()[0] if text else ""
    return "Resultfile from Basytec" in first or {"run_time", "c_vol", "c_cur"} <= set(
        f.strip() for f in first.split(",")
    )


def _txt_table(path: Path) -> Table | None:
    """The header of a ``~`` result file (its last ``~`` line), or None for the flat CSV."""
    text, encoding = head_text(path)
    lines = text.splitlines()
    count = next((i for i, line in enumerate(lines) if not line.startswith("~")), len(lines))
    if count == 0:
        return None
    header = lines[count - 1].lstrip("~")
    separator = next((s for s in ("\t", ",") if s in header), WHITESPACE)
    fields = [f.strip() for f in header.split(None if separator == WHITESPACE else separator)]
    if "Resultfile from Basytec" in fields[0] or len(fields) < 3:
        raise ReaderError(f"{path.name}: no column header on the last '~' line (line {count})")
    return Table(count - 1, separator, fields, lines[: count - 1], encoding)


def _txt_plan(table: Table) -> Plan:
    """Mapping of a result file's header; the first ``Time[...]`` is the test time."""

    def quantity(column: str) -> tuple[str, str]:
        name, unit = split_unit(column)
        return name.lower(), unit

    return plan_of_header(
        table.columns,
        quantity,
        _TXT,
        charge_positive=True,
        charge=("charge",),
        discharge=("discharge",),
    )


def read(path: Path) -> pl.DataFrame:
    """The time series of a BaSyTec ``.txt`` result file or flat CSV, in standard columns."""
    table = _txt_table(path)
    if table is None:
        table = find_table(path, lambda f: {"run_time", "c_cur"} <= set(f), "BaSyTec CSV")
        plan = Plan(
            {c: t for c, (t, _) in _CSV.items() if c in table.columns},
            {c: u for c, (_, u) in _CSV.items()},
            charge_positive=True,
        )
    else:
        plan = _txt_plan(table)
    if table.separator == WHITESPACE:
        frame = read_whitespace_table(path, table, list(plan.columns))
    else:
        frame = read_table(path, table, plan.dtypes())
    return standard(frame, plan, path, table)


def metadata(path: Path) -> dict[str, Any]:
    """The ``~Key: value`` lines of a result file (test name, plan, channel, start)."""
    table = _txt_table(path)
    out: dict[str, Any] = {"cycler": NAME}
    for line in table.preamble if table else []:
        key, _, value = line.lstrip("~").partition(":")
        name = _METADATA.get(key.strip().lower())
        if name and value.strip():
            out[name] = value.strip()
    return with_start(out, start_time(path))


def start_time(path: Path) -> datetime | None:
    """``~Start of Test: 01.03.2024 09:00:00`` (day first, as BaSyTec writes)."""
    table = _txt_table(path)
    for line in table.preamble if table else []:
        key, _, value = line.lstrip("~").partition(":")
        if key.strip().lower() == "start of test":
            found = parse_datetime(value, ("%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M"))
            if found is not None:
                return found
    return None
