"""BioLogic EC-Lab/BT-Lab text exports: ``.mpt`` (reader ``"biologic mpt"``) and CSV
(reader ``"biologic csv"``).

An ``.mpt`` starts ``EC-Lab ASCII FILE`` and says ``Nb header lines : N``: line N holds the
tab-separated column names (``time/s``, ``Ewe/V``, ``I/mA``, ``Ns``, ``cycle number``...), the
unit after the last ``/``. A CSV export has the same names on its first line, comma or semicolon
separated. Where the PC's locale writes decimal commas (``3,7021``), so does the file. Like
the ``.mpr``, the current is positive on charge (anodic), and capacities are integrated.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from .. import columns as col
from ._errors import ReaderError
from ._mapped import Plan, plan_of_header, standard
from ._meta import parse_datetime, with_start
from ._text import Table, head_text, read_table

NAME_MPT = "biologic mpt"
NAME_CSV = "biologic csv"

_QUANTITIES = {
    "time": col.TIME,
    "ewe": col.VOLTAGE,
    "ecell": col.VOLTAGE,
    "<ewe>": col.VOLTAGE,
    "i": col.CURRENT,
    "<i>": col.CURRENT,
    "ns": col.STEP_FROM_CYCLER,
    "cycle number": col.CYCLE_FROM_CYCLER,
    "temperature": col.TEMPERATURE,
    "p": col.POWER,
}
"""EC-Lab quantity (lower case, unit removed) -> standard column; first of each wins."""

_HEADER_LINES = re.compile(r"Nb header lines\s*:\s*(\d+)")
_ACQUISITION = re.compile(r"Acquisition started on\s*:\s*(.+)")
_DATE_FORMATS = ("%m/%d/%Y %H:%M:%S.%f", "%m/%d/%Y %H:%M:%S", "%d/%m/%Y %H:%M:%S.%f")


def _quantity(column: str) -> tuple[str, str]:
    """(quantity, unit) of an EC-Lab name: ``I/mA`` -> ("i", "mA"), ``Ns`` -> ("ns", "")."""
    name, slash, unit = column.strip().rpartition("/")
    if not slash:
        return column.strip().lower(), ""
    return name.strip().lower(), unit.strip()


def is_header(fields: list[str]) -> bool:
    """An EC-Lab header names ``time/s``, a working-electrode voltage and a current."""
    targets = {_QUANTITIES.get(_quantity(f)[0]) for f in fields}
    return "time/s" in fields and {col.VOLTAGE, col.CURRENT} <= targets


def sniff_mpt(text: str) -> bool:
    """True for an ``.mpt``: EC-Lab's or BT-Lab's first line."""
    return text.startswith(("EC-Lab ASCII FILE", "BT-Lab ASCII FILE"))


def sniff_csv(text: str) -> bool:
    """True for an EC-Lab CSV export: its column names on the first line."""
    first = text.splitlines()[0] if text else ""
    return is_header([f.strip() for f in re.split(r"[\t,;]", first)])


def _table(path: Path) -> Table:
    """Where the table starts: line ``Nb header lines`` of an ``.mpt``, else the first line."""
    text, encoding = head_text(path)
    lines = text.splitlines()
    found = _HEADER_LINES.search("\n".join(lines[:5]))
    number = int(found.group(1)) - 1 if found else 0
    if number >= len(lines):
        raise ReaderError(f"{path.name}: the header says {number + 1} lines; the file is shorter")
    line = lines[number]
    separator = next((s for s in ("\t", ";", ",") if s in line), "\t")
    fields = [f.strip() for f in line.split(separator)]
    if not is_header(fields):
        raise ReaderError(
            f"{path.name}: line {number + 1} is not an EC-Lab header (time/s, Ewe/V, I/mA); "
            f"found: {', '.join(f for f in fields if f)}"
        )
    return Table(number, separator, fields, lines[:number], encoding)


def _plan(table: Table) -> Plan:
    """Standard columns and units of this file's columns."""
    return plan_of_header(table.columns, _quantity, _QUANTITIES, charge_positive=True)


def read(path: Path) -> pl.DataFrame:
    """The time series of an EC-Lab ``.mpt`` or CSV export, in standard columns."""
    table = _table(path)
    plan = _plan(table)
    decimal_comma = table.separator != "," and _decimal_comma(path, table)
    as_text = dict.fromkeys(plan.columns, pl.String)
    frame = read_table(path, table, as_text, encoding="utf8-lossy", quote_char=None)
    if decimal_comma:
        frame = frame.with_columns(pl.all().str.replace(",", ".", literal=True))
    return standard(frame, plan, path, table)


def _decimal_comma(path: Path, table: Table) -> bool:
    """True when the first data row writes numbers with a decimal comma."""
    text, _ = head_text(path)
    lines = text.splitlines()
    row = lines[table.header_line + 1] if len(lines) > table.header_line + 1 else ""
    return bool(re.search(r"\d,\d", row))


def metadata(path: Path) -> dict[str, Any]:
    """The technique (line 4 of an ``.mpt``) and the acquisition start."""
    table = _table(path)
    out: dict[str, Any] = {"cycler": "biologic"}
    if len(table.preamble) > 3 and table.preamble[3].strip():
        out["procedure"] = table.preamble[3].strip()
    return with_start(out, start_time(path))


def start_time(path: Path) -> datetime | None:
    """``Acquisition started on : 03/14/2024 09:30:00.000`` (the PC's local time)."""
    for line in _table(path).preamble:
        found = _ACQUISITION.search(line)
        if not found:
            continue
        started = parse_datetime(found.group(1), _DATE_FORMATS)
        if started is not None:
            return started
    return None
