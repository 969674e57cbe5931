"""Gamry Framework ``.DTA`` files with time-series curves (chronopotentiometry, cycling).

The file starts ``EXPLAIN``; ``TAG``/``DATE``/``TIME`` lines describe the test; each curve is
``CURVEn<TAB>TABLE<TAB>rows`` followed by a names line (``Pt T Vf Im ...``), a units line
(``# s V vs. Ref. A ...``) and the rows, every line starting with a tab. ``T`` restarts at 0 in
each curve, so later curves are shifted to follow the one before. Gamry's current is positive
when anodic, which is charge for a cell's positive electrode on the working lead. EIS tables
(``ZCURVE``: ``Freq Zreal Zimag ... Zmod Zphz``) hold no time series; :func:`eis` reads them.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from .. import columns as col
from ._errors import ReaderError
from ._finish import finish
from ._meta import parse_datetime, with_start
from ._text import head_text

NAME = "gamry"

_CURVE = re.compile(r"^CURVE\d*\tTABLE\t(\d+)", re.M)
_ZCURVE = re.compile(r"^ZCURVE\tTABLE\t(\d+)", re.M)
_ANY_TABLE = re.compile(r"^(\w+)\tTABLE\t\d+", re.M)
_NAMES = {"T": col.TIME, "Vf": col.VOLTAGE, "Im": col.CURRENT, "Temp": col.TEMPERATURE}
_EIS_NAMES = {
    "Freq": col.FREQUENCY,
    "Zreal": col.Z_RE,
    "Zimag": col.Z_IM,
    "Zmod": col.Z_MOD,
    "Zphz": col.Z_PHASE,
}


def sniff(text: str) -> bool:
    """True for a Gamry ``.DTA`` with a time-series curve or an EIS table."""
    return text.startswith("EXPLAIN") and (
        _CURVE.search(text) is not None or _ZCURVE.search(text) is not None
    )


def _tables(path: Path, pattern: re.Pattern[str], what: str) -> list[tuple[int, int, list[str]]]:
    """(first data line, rows, column names) of every table ``pattern`` matches."""
    text = path.read_text(encoding="latin-1")
    lines = text.splitlines()
    found = []
    for number, line in enumerate(lines):
        match = pattern.match(line)
        if match and number + 2 < len(lines):
            names = [f.strip() for f in lines[number + 1].split("\t")]
            found.append((number + 3, int(match.group(1)), names))
    if not found:
        tables = ", ".join(_ANY_TABLE.findall(text)) or "none"
        hint = "; its impedance is read by read.eis(path)" if _ZCURVE.search(text) else ""
        raise ReaderError(f"{path.name}: no {what} in this Gamry file (tables: {tables}){hint}")
    return found


def _curve(path: Path, start: int, rows: int, names: list[str]) -> pl.DataFrame:
    """One curve's T, Vf and Im (and Temp when written), parsed as numbers."""
    wanted = [n for n in _NAMES if n in names]
    if not {"T", "Vf", "Im"} <= set(wanted):
        raise ReaderError(
            f"{path.name}: line {start - 1}: a curve without T, Vf and Im; "
            f"columns found: {', '.join(n for n in names if n)}"
        )
    return _table(path, start, rows, names, wanted).rename({n: _NAMES[n] for n in wanted})


def _table(path: Path, start: int, rows: int, names: list[str], wanted: list[str]) -> pl.DataFrame:
    """Columns ``wanted`` of the table whose ``rows`` rows start at line ``start``, as numbers."""
    frame = pl.read_csv(
        path,
        separator="\t",
        has_header=False,
        skip_rows=start,
        n_rows=rows,
        columns=[names.index(n) for n in wanted],
        infer_schema=False,
        encoding="utf8-lossy",
        quote_char=None,
        truncate_ragged_lines=True,
    )
    frame.columns = wanted
    frame = _numbers(frame, path, start)
    if frame.height < rows:
        raise ReaderError(
            f"{path.name}: line {start + frame.height + 1}: the curve declares {rows} rows "
            f"but has {frame.height}; file truncated?"
        )
    return frame


def _numbers(frame: pl.DataFrame, path: Path, start: int) -> pl.DataFrame:
    """Every column as Float64; text that is not a number is an error naming its line."""
    parsed = frame.select(pl.all().str.strip_chars().cast(pl.Float64, strict=False))
    for name in frame.columns:
        bad = (parsed[name].is_null() & frame[name].is_not_null()).arg_true()
        if bad.len():
            row = int(bad[0])
            raise ReaderError(
                f"{path.name}: line {start + row + 1}: {name} is {frame[name][row]!r}, not a number"
            )
    return parsed


def read(path: Path) -> pl.DataFrame:
    """Every curve of a Gamry ``.DTA``, one after the other, in standard columns."""
    frames = []
    offset = 0.0
    curves = _tables(path, _CURVE, "CURVE table (time series)")
    for number, (start, rows, names) in enumerate(curves, start=1):
        frame = _curve(path, start, rows, names).with_columns(
            pl.lit(number, dtype=pl.Int64).alias(col.STEP_FROM_CYCLER)
        )
        if frame.height:
            frame = frame.with_columns(pl.col(col.TIME) - pl.col(col.TIME).first() + offset)
            offset = float(frame.select(pl.col(col.TIME).max()).item())
        frames.append(frame)
    return finish(pl.concat(frames, how="diagonal"), charge_positive=True)


def eis(path: Path) -> pl.DataFrame:
    """The impedance spectrum of a Gamry ``.DTA`` (its ``ZCURVE`` tables, in file order).

    Frequency in Hz, ``Z_Re``/``Z_Im`` in ohm as Gamry writes them (``Z_Im`` is the imaginary
    part itself, negative where the cell is capacitive), ``Z_Mod`` in ohm and ``Z_Phase`` in
    degrees; modulus and phase are computed from the parts when the table lacks them.
    """
    frames = []
    for start, rows, names in _tables(path, _ZCURVE, "ZCURVE table (EIS)"):
        wanted = [n for n in _EIS_NAMES if n in names]
        if not {"Freq", "Zreal", "Zimag"} <= set(wanted):
            raise ReaderError(
                f"{path.name}: line {start - 1}: a ZCURVE without Freq, Zreal and Zimag; "
                f"columns found: {', '.join(n for n in names if n)}"
            )
        frames.append(_table(path, start, rows, names, wanted))
    frame = pl.concat(frames, how="diagonal")
    if "Zmod" not in frame.columns:
        frame = frame.with_columns(
            (pl.col("Zreal") ** 2 + pl.col("Zimag") ** 2).sqrt().alias("Zmod")
        )
    if "Zphz" not in frame.columns:
        phase = pl.arctan2(pl.col("Zimag"), pl.col("Zreal")).degrees()
        frame = frame.with_columns(phase.alias("Zphz"))
    return frame.select([pl.col(n).alias(c) for n, c in _EIS_NAMES.items()])


def _explain(path: Path) -> dict[str, str]:
    """``KEY<TAB>TYPE<TAB>VALUE`` lines before the first curve (``TAG`` has its value second)."""
    text, _ = head_text(path)
    fields: dict[str, str] = {}
    for line in text.splitlines():
        if _CURVE.match(line):
            break
        parts = line.split("\t")
        if len(parts) >= 2:
            fields[parts[0]] = parts[1] if parts[0] == "TAG" or len(parts) < 3 else parts[2]
    return fields


def metadata(path: Path) -> dict[str, Any]:
    """Technique (``TAG``), title, potentiostat and start time from the header."""
    fields = _explain(path)
    names = {"TAG": "procedure", "TITLE": "test_name", "PSTAT": "instrument"}
    out: dict[str, Any] = {"cycler": NAME}
    out |= {name: fields[key] for key, name in names.items() if fields.get(key)}
    return with_start(out, start_time(path))


def start_time(path: Path) -> datetime | None:
    """``DATE`` and ``TIME`` lines (month first, as Gamry Framework writes them)."""
    fields = _explain(path)
    stamp = f"{fields.get('DATE', '')} {fields.get('TIME', '')}".strip()
    return parse_datetime(stamp, ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %I:%M:%S %p", "%Y-%m-%d %H:%M:%S"))
