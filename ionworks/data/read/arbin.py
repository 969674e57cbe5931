"""Arbin ``.res`` files: a Microsoft Access database, read through ``mdb-export`` (mdbtools).

The measurements are in ``Channel_Normal_Table`` (``Test_Time`` in s, ``Current`` in A with charge
positive, ``Voltage`` in V, cumulative ``Charge_/Discharge_Capacity`` and ``_Energy``); the test's
start, channel and schedule are in ``Global_Table``. No permissively licensed Python library reads
Access files, so we run Debian's ``mdbtools`` (GPL, used as a separate program, not linked).
"""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from .. import columns as col
from ._errors import ReaderError
from ._finish import finish

NAME = "arbin"

MAGIC = b"\x00\x01\x00\x00Standard Jet DB"
"""The first bytes of a Jet (Access 97-2003) database, which is what a ``.res`` file is."""

INSTALL_HINT = (
    "reading Arbin .res files needs the 'mdb-export' program from mdbtools: "
    "apt-get install mdbtools (Debian/Ubuntu), brew install mdbtools (macOS), "
    "or export the test to CSV from Arbin's software"
)

EXPORT_TIMEOUT_S = 600
"""mdb-export can spin on a damaged file; a generous bound turns that into an error."""

_COLUMNS = {
    "Test_Time": col.TIME,
    "Current": col.CURRENT,
    "Voltage": col.VOLTAGE,
    "Charge_Capacity": col.CHARGE_CAPACITY,
    "Discharge_Capacity": col.DISCHARGE_CAPACITY,
    "Charge_Energy": col.CHARGE_ENERGY,
    "Discharge_Energy": col.DISCHARGE_ENERGY,
    "Cycle_Index": col.CYCLE_FROM_CYCLER,
    "Step_Index": col.STEP_FROM_CYCLER,
}
"""Channel_Normal_Table column -> standard column (Arbin stores SI units)."""


def sniff(magic: bytes) -> bool:
    """True for an Access database (the container of ``.res`` files)."""
    return magic.startswith(MAGIC)


def mdb_export_available() -> bool:
    """Whether ``mdb-export`` is on PATH (tests skip, with the install hint, when it is not)."""
    return shutil.which("mdb-export") is not None


def export_table(path: Path, table: str) -> bytes:
    """One table of the database as CSV bytes, through ``mdb-export``."""
    program = shutil.which("mdb-export")
    if program is None:
        raise ReaderError(f"{path.name}: {INSTALL_HINT}")
    try:
        done = subprocess.run(
            [program, str(path), table], capture_output=True, timeout=EXPORT_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise ReaderError(f"{path.name}: mdb-export took over {EXPORT_TIMEOUT_S} s") from exc
    if done.returncode != 0:
        detail = done.stderr.decode(errors="replace").strip().splitlines()
        raise ReaderError(
            f"{path.name}: mdb-export could not read table {table} "
            f"(exit {done.returncode}: {detail[0] if detail else 'no message'}); is the file damaged?"
        )
    return done.stdout


def _table(path: Path, table: str, dtypes: dict[str, type[pl.DataType]]) -> pl.DataFrame:
    """Parse an exported table, only the columns in ``dtypes``, with their types."""
    raw = export_table(path, table)
    lines = raw.splitlines()
    if not lines or not lines[0].strip():  # mdb-export exits 0, with blank lines where it
        raise ReaderError(  # could not read the table's pages (and its header among them)
            f"{path.name}: the database has no readable rows in {table} (mdb-export read blank "
            "lines): is the file truncated? Copy it again from the cycler's computer"
        )
    try:
        header = pl.read_csv(io.BytesIO(raw), n_rows=0).columns
        wanted = [c for c in header if c in dtypes]
        return pl.read_csv(io.BytesIO(raw), columns=wanted, schema_overrides=dtypes)
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as exc:
        raise ReaderError(f"{path.name}: table {table} is not readable: {exc}") from exc


def read(path: Path) -> pl.DataFrame:
    """The time series of an Arbin ``.res`` file, in standard columns."""
    dtypes: dict[str, type[pl.DataType]] = {c: pl.Float64 for c in _COLUMNS}
    dtypes |= {"Cycle_Index": pl.Int64, "Step_Index": pl.Int64}
    frame = _table(path, "Channel_Normal_Table", dtypes)
    data = frame.select(pl.col(c).alias(_COLUMNS[c]) for c in frame.columns)
    return finish(data, file_columns=frame.columns, charge_positive=True)


def _ole_date(days: float) -> datetime:
    """An OLE automation date (days since 1899-12-30, as Access stores them) as a datetime."""
    return datetime(1899, 12, 30) + timedelta(days=days)


def metadata(path: Path) -> dict[str, Any]:
    """Test name, channel, schedule, operator, software and cycler serial from ``Global_Table``."""
    names = {
        "Test_Name": "test_name",
        "Channel_Number": "channel",
        "Schedule_File_Name": "procedure",
        "Creator": "operator",
        "Comments": "notes",
        "Software_Version": "software_version",
        "Serial_Number": "cycler_serial_number",
    }
    dtypes: dict[str, type[pl.DataType]] = dict.fromkeys(names, pl.String)
    row = _table(path, "Global_Table", dtypes | {"Start_DateTime": pl.Float64}).row(0, named=True)
    out: dict[str, Any] = {"cycler": NAME}
    out |= {names[k]: v for k, v in row.items() if k in names and v not in (None, "")}
    if row.get("Start_DateTime") is not None:
        out["start_time"] = _ole_date(float(row["Start_DateTime"]))
    return out


def start_time(path: Path) -> datetime | None:
    """When the test started (``Global_Table.Start_DateTime``, local time of the cycler PC)."""
    started = metadata(path).get("start_time")
    return started if isinstance(started, datetime) else None
