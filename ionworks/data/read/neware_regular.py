"""Neware BTSDA CSV in the "regular" (nested) layout, and the one ``"neware"`` entry.

The nested layout writes three header lines and three kinds of rows, told apart by leading
empty fields::

    Cycle ID,Cap_Chg(mAh),Cap_DChg(mAh),Chg. Energy(Wh),DChg. Energy(Wh)
    ,Step ID,Step Type,Step Time,Capacity(mAh),Energy(mWh)
    ,,Record ID,Time,Voltage(V),Current(mA),Capacity(mAh),Energy(mWh),Realtime
    1,...                      a cycle summary
    ,1,Rest,...                a step summary
    ,,1,00:00:10,3.6,0,...     a record (a measurement)

Read as one flat table, a record's ``Time`` lands under the cycle's ``Chg. Energy(Wh)``
(``03:11:54`` where a number is expected), which is how flat readers fail on it. Records get
their step and cycle from the summary rows above them; time comes from ``Realtime`` when
written, else from the per-step ``Time``, each step continuing where the last one ended.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from .. import columns as col
from . import neware
from ._errors import ReaderError
from ._finish import CAPACITY, DIRECTION, ENERGY, MODE, changes, finish
from ._meta import with_start
from ._text import Table, head_text, split_unit
from ._units import duration_seconds, scale

NAME = neware.NAME

_RECORD = {
    "voltage": col.VOLTAGE,
    "current": col.CURRENT,
    "capacity": CAPACITY,
    "energy": ENERGY,
    "temperature": col.TEMPERATURE,
}
"""Record quantity (lower case, unit removed) -> standard column."""


def is_regular(text: str) -> bool:
    """True when the first three lines are the nested layout's cycle, step and record headers."""
    lines = text.splitlines()[:3]
    return (
        len(lines) == 3
        and lines[0].startswith("Cycle ID")
        and lines[1].lstrip(",\t").startswith("Step ID")
        and lines[2].lstrip(",\t").startswith("Record ID")
    )


def read(path: Path) -> pl.DataFrame:
    """A Neware CSV export in either layout, in standard columns."""
    text, encoding = head_text(path)
    if not is_regular(text):
        return neware.read(path)
    lines = text.splitlines()[:3]
    separator = "\t" if "\t" in lines[2] else ","
    headers = [[f.strip() for f in line.split(separator)] for line in lines]
    width = max(len(h) for h in headers)
    # Rows have three widths, so each line is read whole and split: a CSV parser would take
    # the first row's width for every row.
    lines_read = pl.read_csv(
        path,
        separator="\x01",
        has_header=False,
        skip_rows=3,
        new_columns=["line"],
        schema={"line": pl.String},
        encoding="utf8" if encoding == "utf8" else "utf8-lossy",
        quote_char=None,
    )
    split = pl.col("line").str.split_exact(separator, width - 1)
    rows = lines_read.select(split.struct.rename_fields([f"c{i}" for i in range(width)])).unnest(
        "line"
    )
    table = Table(2, separator, headers[2], lines[:2], encoding)
    return finish(_records(rows, headers[2], path), file_columns=table.columns)


def _records(rows: pl.DataFrame, record_header: list[str], path: Path) -> pl.DataFrame:
    """The record rows with their step, step type and cycle, in standard columns and units."""
    blank = [pl.col(f"c{i}").fill_null("").str.strip_chars() == "" for i in range(3)]
    nested = rows.with_columns(
        pl.when(~blank[0]).then(pl.col("c0")).forward_fill().cast(pl.Int64).alias("_cycle"),
        pl.when(blank[0] & ~blank[1]).then(pl.col("c1")).forward_fill().alias("_step"),
        pl.when(blank[0] & ~blank[1]).then(pl.col("c2")).forward_fill().alias(MODE),
    ).filter(blank[0] & blank[1] & ~blank[2])
    if nested.height == 0:
        raise ReaderError(f"{path.name}: the nested Neware layout has no record rows")
    exprs: list[pl.Expr] = [
        pl.col("_cycle").alias(col.CYCLE_FROM_CYCLER),
        pl.col("_step").cast(pl.Int64).alias(col.STEP_FROM_CYCLER),
        pl.col(MODE),
        neware.direction(pl.col(MODE)).alias(DIRECTION),
    ]
    for i, column in enumerate(record_header):
        name, unit = split_unit(column)
        target = _RECORD.get(name.lower())
        if target is not None:
            factor = 1.0 if target == col.TEMPERATURE or not unit else scale(unit)
            exprs.append((pl.col(f"c{i}").cast(pl.Float64) * factor).alias(target))
    data = nested.select(exprs).with_columns(_time(nested, record_header, path))
    return data.drop(MODE)


def _time(nested: pl.DataFrame, header: list[str], path: Path) -> pl.Series:
    """Seconds: from ``Realtime`` when written, else per-step ``Time`` made continuous."""
    names = [split_unit(c)[0].lower() for c in header]
    if "realtime" in names:
        stamp = nested.get_column(f"c{names.index('realtime')}").str.strip_chars()
        parsed = stamp.str.to_datetime(strict=False, time_unit="us")
        if parsed.null_count() == 0:
            return (parsed.dt.epoch("us").cast(pl.Float64) / 1e6).alias(col.TIME)
    if "time" not in names:
        raise ReaderError(f"{path.name}: no Time or Realtime in the record header {header}")
    source = f"c{names.index('time')}"
    frame = nested.select(changes("_step").cum_sum().alias("run")).with_columns(
        duration_seconds(nested, source).alias("t")
    )
    if frame.get_column("t").null_count():
        row = int(frame.get_column("t").is_null().arg_true()[0])
        raise ReaderError(f"{path.name}: record {row + 1}: Time is not hh:mm:ss")
    ends = frame.group_by("run", maintain_order=True).agg(pl.col("t").last().alias("end"))
    offsets = ends.with_columns(pl.col("end").cum_sum().shift(fill_value=0.0).alias("offset"))
    joined = frame.join(offsets, on="run", how="left", maintain_order="left")
    return (joined.get_column("t") + joined.get_column("offset")).alias(col.TIME)


def metadata(path: Path) -> dict[str, Any]:
    """The cycler name and start time, in either layout."""
    text, _ = head_text(path)
    if not is_regular(text):
        return neware.metadata(path)
    return with_start({"cycler": NAME}, start_time(path))


def start_time(path: Path) -> datetime | None:
    """The first record's ``Realtime``, when the nested layout writes one."""
    text, _ = head_text(path)
    if not is_regular(text):
        return neware.start_time(path)
    lines = text.splitlines()
    separator = "\t" if "\t" in lines[2] else ","
    names = [split_unit(f.strip())[0].lower() for f in lines[2].split(separator)]
    if "realtime" not in names:
        return None
    for line in lines[3:]:
        fields = line.split(separator)
        if len(fields) > 2 and not fields[0].strip() and not fields[1].strip():
            try:
                return datetime.fromisoformat(fields[names.index("realtime")].strip())
            except (ValueError, IndexError):
                return None
    return None
