"""Maccor text and CSV exports (``Rec#``/``Cyc#``/``TestTime``/``Amps``/``Volts``/``State``).

Maccor writes the current as a magnitude and the direction in the ``State``/``MD`` column
(``C`` charge, ``D`` discharge, ``R`` rest; ``O``, ``P``, ``S`` control steps; ``MSG`` message
rows), so the sign always comes from that column. ``Amp-hr``/``Watt-hr`` count both directions.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from .. import columns as col
from . import _clock
from ._errors import ReaderError
from ._finish import CAPACITY, DIRECTION, ENERGY, MODE, finish
from ._meta import parse_datetime, with_start
from ._text import Table, find_table, head_text, numeric, read_table
from ._units import scale, text_duration_seconds

NAME = "maccor"

END_STATUS = "End status from cycler"

_RENAMES: dict[str, tuple[str, float]] = {
    "Cyc#": (col.CYCLE_FROM_CYCLER, 1.0),
    "Cycle P": (col.CYCLE_FROM_CYCLER, 1.0),
    "Cycle": (col.CYCLE_FROM_CYCLER, 1.0),
    "Cycle ID": (col.CYCLE_FROM_CYCLER, 1.0),
    "Step": (col.STEP_FROM_CYCLER, 1.0),
    "Step ID": (col.STEP_FROM_CYCLER, 1.0),
    "Amps": (col.CURRENT, 1.0),
    "Current": (col.CURRENT, 1.0),
    "mAmps": (col.CURRENT, 1e-3),
    "Volts": (col.VOLTAGE, 1.0),
    "Voltage": (col.VOLTAGE, 1.0),
    "Amp-hr": (CAPACITY, 1.0),
    "Capacity": (CAPACITY, 1.0),
    "mAmp-hr": (CAPACITY, 1e-3),
    "Watt-hr": (ENERGY, 1.0),
    "Energy": (ENERGY, 1.0),
    "mWatt-hr": (ENERGY, 1e-3),
    "Temp 1": (col.TEMPERATURE, 1.0),
    "ES": (END_STATUS, 1.0),
}
"""Maccor header -> (standard column, factor to SI)."""

_COUNTERS = (col.CYCLE_FROM_CYCLER, col.STEP_FROM_CYCLER, END_STATUS)
_TIME_COLUMNS = ("TestTime", "Test Time", "Test Time (sec)", "Test Time (s)", "Test Time (Hr)")
_MODE_COLUMNS = ("State", "MD", "Md", "Status")
_TIMESTAMP_COLUMNS = ("DPt Time", "DPt-Time", "DPT Time")
_TEST_DATE_FORMATS = ("%d %B %Y, %I:%M:%S %p", "%d %B %Y, %H:%M:%S", "%m/%d/%Y %H:%M:%S")
_VAR = re.compile(r"^(VAR|FLAG)(\d+)$")


def is_header(fields: list[str]) -> bool:
    """A Maccor table header names a record (or the procedure cycle) and a current in
    Maccor's words (the CSV export writes ``Cycle P``/``Cycle C`` and no record number)."""
    names = set(fields)
    counter = bool(names & {"Rec#", "Rec"}) or {"Cycle P", "Step"} <= names
    return counter and bool(names & {"Amps", "Current", "mAmps"})


def units_row(path: Path, table: Table) -> tuple[Table, dict[str, str]]:
    """The CSV export's units line under the header (``(sec)``, ``(A)``, ``(mAh)``), if any.

    Returns the table moved past that line and each column's unit; a line holding any digit
    is data, so files without a units line are returned unchanged.
    """
    text, _ = head_text(path)
    lines = text.splitlines()
    below = lines[table.header_line + 1] if len(lines) > table.header_line + 1 else ""
    fields = [f.strip().strip("()[]") for f in below.split(table.separator)]
    if not below.strip() or re.search(r"\d", below) or not any(fields):
        return table, {}
    units = {c: u for c, u in zip(table.columns, fields, strict=False) if u}
    moved = Table(
        table.header_line + 1, table.separator, table.columns, table.preamble, table.encoding
    )
    return moved, units


_TIME_UNITS = {"sec": 1.0, "s": 1.0, "min": 60.0, "hr": 3600.0, "h": 3600.0}


def sniff(text: str) -> bool:
    """True for a Maccor export: its header row is within the first lines of ``text``."""
    for line in text.splitlines()[:60]:
        fields = [f.strip() for f in re.split(r"[\t,]", line)]
        if is_header(fields):
            return True
    return False


def read(path: Path) -> pl.DataFrame:
    """The time series of a Maccor export, in standard columns.

    Without a state column (some exports write signed current instead), the sign is taken as
    written if it is mixed, else from the voltage response. The state is worked out once per
    distinct value (a handful), not once per row.
    """
    table, units = units_row(path, find_table(path, is_header, "Maccor"))
    time_name = _first_present(table.columns, _TIME_COLUMNS, "test time", path)
    mode_name = next((c for c in _MODE_COLUMNS if c in table.columns), None)
    dtypes: dict[str, type[pl.DataType]] = {c: pl.Float64 for c in table.columns if c in _RENAMES}
    dtypes |= {c: pl.Float64 for c in table.columns if _VAR.match(c)}
    dtypes |= {c: pl.String for c in (time_name, mode_name) if c is not None}
    # Maccor's tab-separated export never quotes a field; not looking for quotes parses 10 % faster.
    quote = None if table.separator == "\t" else '"'
    counters = [c for c in table.columns if _RENAMES.get(c, ("", 1.0))[0] in _COUNTERS]
    frame = read_table(path, table, dtypes, quote_char=quote, integers=counters)
    exprs = [_time(frame, time_name, path, table, units.get(time_name, ""))]
    for source, (target, factor) in _RENAMES.items():
        if source in frame.columns and target not in {e.meta.output_name() for e in exprs}:
            scaled = factor * _unit_factor(target, units.get(source, ""))
            exprs.append(_quantity(frame, source, scaled, path, table).alias(target))
    exprs += [_var(frame, c, path, table) for c in frame.columns if _VAR.match(c)]
    if mode_name is None:
        data = _integers(frame.select(exprs))
        return finish(data, file_columns=table.columns, infer_sign=_unsigned(data))
    # The distinct states from the runs of equal states (one comparison per row), not a hash
    # of every row's text: a state changes only between steps.
    states = frame.get_column(mode_name).rle().struct.field("value").unique().drop_nulls()
    letters = states.str.strip_chars().str.slice(0, 1)
    # Mostly the states are the letters already: the column is kept as it is, no lookup.
    as_written = bool((states == letters).all())
    mode = (
        pl.col(mode_name)
        if as_written
        else pl.col(mode_name).replace_strict(states, letters, default=None)
    )
    # Letters other than C and D leave the current as it is, as no direction does.
    data = _integers(frame.select(*exprs, mode.alias(MODE))).with_columns(
        pl.col(MODE).alias(DIRECTION)
    )
    messages = states.filter(states.str.strip_chars() == "MSG")
    if messages.len():
        data = data.filter(~frame.get_column(mode_name).is_in(messages.to_list()))
    calls = bool(letters.is_in(["P", "S", "O"]).any())  # else every row is in frame 0
    frames = frame_column(data) if calls else pl.repeat(0, data.height, dtype=pl.Int64, eager=True)
    return finish(data.with_columns(frames.alias(col.FRAME)), file_columns=table.columns)


def frame_column(data: pl.DataFrame) -> pl.Series:
    """The ``Frame`` column of :func:`frame_numbers`, looking only at the P/S/O marker rows."""
    mode = data.get_column(MODE)
    markers = mode.is_in(["P", "S", "O"]).arg_true()
    frames = frame_numbers(mode.gather(markers).to_numpy(), markers.to_numpy(), data.height)
    return pl.Series(col.FRAME, frames)


def _unit_factor(target: str, unit: str) -> float:
    """Factor from the units row's unit to SI; counters and temperatures are taken as written."""
    if not unit or target in (
        col.CYCLE_FROM_CYCLER,
        col.STEP_FROM_CYCLER,
        col.TEMPERATURE,
        END_STATUS,
    ):
        return 1.0
    return scale(unit)


def _unsigned(data: pl.DataFrame) -> bool:
    """True when no current is negative: a magnitude, so the direction must be inferred."""
    return col.CURRENT in data.columns and bool((data.get_column(col.CURRENT) >= 0).all())


def _integers(data: pl.DataFrame) -> pl.DataFrame:
    """Cycle, step and end status are counters: Int64 as ionworksdata types them."""
    names = [c for c in _COUNTERS if c in data.columns]
    return data.with_columns(pl.col(names).cast(pl.Int64))


def _var(frame: pl.DataFrame, column: str, path: Path, table: Table) -> pl.Expr:
    """A procedure register (``VAR3``), kept as ``VAR3 from cycler``."""
    return numeric(frame, column, path, table.header_line).alias(f"{column} from cycler")


def _quantity(frame: pl.DataFrame, source: str, factor: float, path: Path, table: Table) -> pl.Expr:
    """File column ``source`` in SI units (times ``factor``); a counter read as integers stays
    one (no round trip through Float64)."""
    if frame.schema[source] == pl.Int64 and factor == 1.0:
        return pl.col(source)
    value = numeric(frame, source, path, table.header_line)
    return value if factor == 1.0 else value * factor


def _time(frame: pl.DataFrame, name: str, path: Path, table: Table, unit: str = "") -> pl.Expr:
    """Test time in seconds, from ``0d 00:00:05.05`` text or a number of seconds (or hours)."""
    series = frame.get_column(name)
    # The usual layout first: it needs no scan for ":" to tell a clock from a number.
    fast = _clock.duration_seconds(series) if series.dtype == pl.String else None
    if fast is not None:
        return pl.lit(fast).alias(col.TIME)
    if series.dtype == pl.String and series.str.contains(":").any():
        seconds = text_duration_seconds(frame, name)
        bad = (seconds.is_null() & series.is_not_null()).arg_true()
        if bad.len():
            row = int(bad[0])
            raise _bad_time(path, table, row, series[row])
        return pl.lit(seconds).alias(col.TIME)
    factor = 3600.0 if name.endswith("(Hr)") else _TIME_UNITS.get(unit.lower(), 1.0)
    return (numeric(frame, name, path, table.header_line) * factor).alias(col.TIME)


def _bad_time(path: Path, table: Table, row: int, value: Any) -> Exception:
    """The error for a test time that is not ``[Nd ]hh:mm:ss``."""
    line = table.header_line + row + 2
    return ReaderError(f"{path.name}: line {line}: test time {value!r} is not [Nd ]hh:mm:ss")


def _first_present(columns: list[str], names: tuple[str, ...], what: str, path: Path) -> str:
    """The first of ``names`` that the header has; a clear error naming the columns otherwise."""
    for name in names:
        if name in columns:
            return name
    raise ReaderError(
        f"{path.name}: no {what} column (looked for {', '.join(names)}); "
        f"columns found: {', '.join(c for c in columns if c)}"
    )


def frame_numbers(
    mode: np.ndarray[Any, Any], markers: np.ndarray[Any, Any], rows: int
) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Number each row by the procedure activation (main procedure 0, each call the next number).

    Maccor marks a sub-procedure call by a ``P`` row directly followed by an ``S`` row, and a
    return by ``O``. Steps are numbered per procedure, so the step count must also advance when
    the frame changes (step 3 of a callee followed by step 3 of its caller is two steps).
    ``mode`` holds the marker rows' letters and ``markers`` their row numbers: only those rows
    are visited, so this stays fast on long files.
    """
    frame = np.zeros(rows, dtype=np.int64)
    stack, started, k = [0], 0, 0
    changes: list[tuple[int, int]] = []
    while k < len(markers):
        i = int(markers[k])
        is_call = (
            mode[k] == "P"
            and k + 1 < len(markers)
            and markers[k + 1] == i + 1
            and mode[k + 1] == "S"
        )
        if is_call:
            started += 1
            stack.append(started)
            changes.append((i + 2, started))
            k += 2
            continue
        if mode[k] == "O" and len(stack) > 1:
            stack.pop()
            changes.append((i + 1, stack[-1]))
        k += 1
    if not changes:
        return frame
    starts, values = (np.array(v, dtype=np.int64) for v in zip(*changes, strict=True))
    latest = np.searchsorted(starts, np.arange(rows), side="right") - 1
    return np.where(latest >= 0, values[np.maximum(latest, 0)], frame)


def metadata(path: Path) -> dict[str, Any]:
    """Channel, procedure, file name and start time from the lines above the table."""
    table = find_table(path, is_header, "Maccor")
    fields: dict[str, str] = {}
    for line in table.preamble:
        parts = [p.strip() for p in line.split(table.separator)]
        for key, value in zip(parts[::2], parts[1::2], strict=False):
            if key.endswith(":") and value:
                fields[key[:-1]] = value
    out: dict[str, Any] = {"cycler": NAME}
    for key, name in (
        ("Tester Channel", "channel"),
        ("Procedure", "procedure"),
        ("Filename", "test_name"),
    ):
        if key in fields:
            out[name] = fields[key]
    return with_start(out, start_time(path))


def start_time(path: Path) -> datetime | None:
    """When the test started: the ``Date of Test`` line, else the first data point's timestamp."""
    table = find_table(path, is_header, "Maccor")
    for line in table.preamble:
        parts = [p.strip() for p in line.split(table.separator)]
        if "Date of Test:" in parts:
            value = parts[parts.index("Date of Test:") + 1]
            found = parse_datetime(value, _TEST_DATE_FORMATS)
            if found is not None:
                return found
    return None
