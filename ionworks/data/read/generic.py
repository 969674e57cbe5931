"""Any CSV or Excel table, with the column mapping given by the caller (reader ``"csv"``).

For files from a cycler we do not know, or a spreadsheet someone made by hand::

    time_series("run.csv", reader="csv",
                columns={"t": "Time [s]", "I (mA)": "Current [A]", "U": "Voltage [V]"},
                units={"I (mA)": "mA"})

``columns`` maps the file's column names to standard ones; ``units`` gives the unit the file
writes (keyed by file or standard column; ``"h"``, ``"ms"``, ``"mA"``, ``"mAh"``,
``"hh:mm:ss"`` durations, ``"timestamp"`` dates...); without one a column is taken to be in
the standard unit. The current is taken as positive on discharge unless
``charge_positive=True``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import polars as pl

from .. import columns as col
from ._errors import ReaderError
from ._excel import is_workbook, read_sheet
from ._mapped import Plan, standard
from ._text import find_table, head_text, read_table

NAME = "csv"

OPTIONS = ("columns", "units", "sheet", "charge_positive")
"""Keyword options this reader takes (through ``time_series(path, reader="csv", ...)``)."""


def plan(
    columns: Mapping[str, str],
    units: Mapping[str, str] | None = None,
    charge_positive: bool = False,
) -> Plan:
    """The mapping as a :class:`Plan`: units looked up by file column, then standard column."""
    if not columns:
        raise ReaderError(
            'the csv reader needs columns={"file column": "Time [s]", ...} '
            "naming at least the time, current and voltage columns"
        )
    targets = list(columns.values())
    doubled = sorted({t for t in targets if targets.count(t) > 1})
    if doubled:
        raise ReaderError(f"two file columns map to {', '.join(doubled)}; map each once")
    given = dict(units or {})
    by_file = {c: given.get(c, given.get(t, "")) for c, t in columns.items()}
    return Plan(dict(columns), by_file, charge_positive=charge_positive)


def read(
    path: Path,
    columns: Mapping[str, str] | None = None,
    units: Mapping[str, str] | None = None,
    sheet: str | int | None = None,
    charge_positive: bool = False,
) -> pl.DataFrame:
    """The time series of a CSV or Excel table under an explicit column mapping."""
    mapping = plan(columns or {}, units, charge_positive)
    with path.open("rb") as handle:
        magic = handle.read(8)
    if is_workbook(magic, path):
        frame, table = read_sheet(path, sheet)
        return standard(frame, mapping, path, table)
    wanted = set(mapping.columns)
    try:
        table = find_table(path, lambda fields: wanted <= set(fields), "mapped")
    except ReaderError as exc:
        text, _ = head_text(path)
        first = text.splitlines()[0] if text else ""
        fields = [f.strip() for f in first.split("\t" if "\t" in first else ",")]
        missing = ", ".join(repr(c) for c in mapping.columns if c not in fields)
        raise ReaderError(
            f"{path.name}: no header row with the mapped columns (no {missing} in the first "
            f"line); the first line has: {', '.join(fields)}"
        ) from exc
    # Time as text: a clock (hh:mm:ss) or date is only recognised once the values are seen.
    dtypes = mapping.dtypes() | {c: pl.String for c, t in mapping.columns.items() if t == col.TIME}
    frame = read_table(path, table, dtypes)
    return standard(frame, mapping, path, table)
