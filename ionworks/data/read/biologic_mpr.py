"""BioLogic EC-Lab ``.mpr`` binary files, parsed from the format's public description.

An ``.mpr`` file is ``BIO-LOGIC MODULAR FILE`` followed by modules. Each module starts with
``MODULE``, a 10-byte short name, a 25-byte long name, its data length (uint32), a version (uint32)
and a date (8 ASCII bytes). The ``VMP data`` module holds the number
of points (uint32), the number of columns (uint8), the column ids (uint16 each, up to 200), then
fixed-size little-endian records from byte 0x195 of the module (0x196 in some newer writers).
The flag ids (mode, ox/red, error, control/Ns changes, counter) share one byte. The ``VMP LOG``
module stores when the run started as an OLE automation date (float64 days since 1899-12-30) at
byte 465, 469, 473 or 585 of its data, depending on the EC-Lab version. No library with a
permissive licence reads these files (galvani, the usual one, is GPL), so this parser is ours.
"""

from __future__ import annotations

import struct
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from .. import columns as col
from ._errors import ReaderError
from ._finish import CAPACITY, MODE, finish
from ._meta import with_start

NAME = "biologic"

MAGIC = b"BIO-LOGIC MODULAR FILE\x1a"
FILE_HEADER_SIZE = 52
MODULE_HEADER_SIZE = 57

FLAG_IDS = frozenset({1, 2, 3, 21, 31, 65})
"""Column ids stored as bits of one shared byte (mode in bits 0-1, ox/red bit 2, ...)."""

COLUMNS: dict[int, tuple[str, str]] = {
    4: ("time/s", "<f8"),
    5: ("control/V/mA", "<f4"),
    6: ("Ewe/V", "<f4"),
    7: ("dq/mA.h", "<f8"),
    8: ("I/mA", "<f4"),
    9: ("Ece/V", "<f4"),
    11: ("<I>/mA", "<f8"),
    13: ("(Q-Qo)/mA.h", "<f8"),
    16: ("Analog IN 1/V", "<f4"),
    19: ("control/V", "<f4"),
    20: ("control/mA", "<f4"),
    23: ("dQ/mA.h", "<f8"),
    24: ("cycle number", "<f8"),
    26: ("Rapp/Ohm", "<f4"),
    27: ("Ewe-Ece/V", "<f4"),
    32: ("freq/Hz", "<f4"),
    33: ("|Ewe|/V", "<f4"),
    34: ("|I|/A", "<f4"),
    35: ("Phase(Z)/deg", "<f4"),
    36: ("|Z|/Ohm", "<f4"),
    37: ("Re(Z)/Ohm", "<f4"),
    38: ("-Im(Z)/Ohm", "<f4"),
    39: ("I Range", "<u2"),
    69: ("R/Ohm", "<f4"),
    70: ("P/W", "<f4"),
    74: ("|Energy|/W.h", "<f8"),
    75: ("Analog OUT/V", "<f4"),
    76: ("<I>/mA", "<f4"),
    77: ("<Ewe>/V", "<f4"),
    96: ("|Ece|/V", "<f4"),
    98: ("Phase(Zce)/deg", "<f4"),
    99: ("|Zce|/Ohm", "<f4"),
    100: ("Re(Zce)/Ohm", "<f4"),
    101: ("-Im(Zce)/Ohm", "<f4"),
    123: ("Energy charge/W.h", "<f8"),
    124: ("Energy discharge/W.h", "<f8"),
    125: ("Capacitance charge/µF", "<f8"),
    126: ("Capacitance discharge/µF", "<f8"),
    131: ("Ns", "<u2"),
    169: ("Cs/µF", "<f4"),
    172: ("Cp/µF", "<f4"),
    430: ("Phase(Zwe-ce)/deg", "<f4"),
    431: ("|Zwe-ce|/Ohm", "<f4"),
    432: ("Re(Zwe-ce)/Ohm", "<f4"),
    433: ("-Im(Zwe-ce)/Ohm", "<f4"),
    434: ("(Q-Qo)/C", "<f4"),
    435: ("dQ/C", "<f4"),
    438: ("step time/s", "<f8"),
    441: ("<Ecv>/V", "<f4"),
    467: ("Q charge/discharge/mA.h", "<f8"),
    468: ("half cycle", "<u4"),
    469: ("z cycle", "<u4"),
    471: ("<Ece>/V", "<f4"),
    473: ("THD Ewe/%", "<f4"),
    474: ("THD I/%", "<f4"),
}
"""Column id -> (EC-Lab column name, little-endian numpy type), as EC-Lab's text export names them."""


def sniff(magic: bytes) -> bool:
    """True for an EC-Lab modular file."""
    return magic.startswith(MAGIC)


def modules(blob: bytes, name: str) -> dict[str, tuple[int, int, int]]:
    """Each module's short name -> (data offset, data length, version); errors name the offset."""
    if not blob.startswith(MAGIC):
        raise ReaderError(
            f"{name}: not a BioLogic .mpr file (no {MAGIC[:-1].decode()!r} at byte 0)"
        )
    found: dict[str, tuple[int, int, int]] = {}
    offset = FILE_HEADER_SIZE
    while offset < len(blob):
        if blob[offset : offset + 6] != b"MODULE":
            raise ReaderError(
                f"{name}: byte {offset}: expected a module header ('MODULE'), file corrupt"
            )
        if offset + MODULE_HEADER_SIZE > len(blob):
            raise ReaderError(f"{name}: byte {offset}: module header cut short, file truncated")
        short = blob[offset + 6 : offset + 16].decode("ascii", errors="replace").strip()
        length, version = struct.unpack_from("<II", blob, offset + 41)
        start = offset + MODULE_HEADER_SIZE
        if start + length > len(blob):
            raise ReaderError(
                f"{name}: byte {start}: module {short!r} declares {length} bytes but the file "
                f"ends after {len(blob) - start}; file truncated"
            )
        found[short] = (start, length, version)
        offset = start + length
    return found


def _record_dtype(ids: tuple[int, ...], record_size: int, name: str, at: int) -> np.dtype[Any]:
    """The numpy record type for ``ids``; one id we do not know takes the bytes left over."""
    fields: list[tuple[str, str]] = []
    if any(i in FLAG_IDS for i in ids):
        fields.append(("flags", "u1"))
    unknown = [i for i in ids if i not in FLAG_IDS and i not in COLUMNS]
    known_size = sum(np.dtype(t).itemsize for _, t in fields) + sum(
        np.dtype(COLUMNS[i][1]).itemsize for i in ids if i in COLUMNS
    )
    spare = record_size - known_size
    if len(unknown) > 1 or spare < 0 or (not unknown and spare != 0):
        raise ReaderError(
            f"{name}: byte {at}: column ids {unknown or list(ids)} do not fit {record_size}-byte records; "
            "this EC-Lab version writes columns we do not know yet"
        )
    for i in ids:
        if i in COLUMNS:
            fields.append(COLUMNS[i])
        elif i not in FLAG_IDS:
            fields.append((f"column {i}", f"V{spare}"))
    return np.dtype(fields)


def raw_data(path: Path) -> pl.DataFrame:
    """The ``VMP data`` module as a frame with EC-Lab's column names (no conversion)."""
    blob = path.read_bytes()
    found = modules(blob, path.name)
    if "VMP data" not in found:
        raise ReaderError(f"{path.name}: no 'VMP data' module; modules found: {', '.join(found)}")
    start, length, version = found["VMP data"]
    points, count = struct.unpack_from("<IB", blob, start)
    ids = struct.unpack_from(f"<{count}H", blob, start + 5)
    # Records start after 200 column-id slots: byte 0x195, or 0x196 in newer writers.
    candidates = (0x196, 0x195) if version >= 3 else (0x195, 0x196)
    first = start + next(
        (c for c in candidates if points and (length - c) % points == 0), candidates[0]
    )
    body = length - (first - start)
    if points == 0 or body % points:
        raise ReaderError(
            f"{path.name}: byte {first}: {body} bytes of data do not split into {points} records"
        )
    dtype = _record_dtype(ids, body // points, path.name, start + 5)
    records = np.frombuffer(blob, dtype=dtype, count=points, offset=first)
    names = [n for n in dtype.names or () if not n.startswith("column ")]
    return pl.DataFrame({n: records[n] for n in names})


def read(path: Path) -> pl.DataFrame:
    """The time series of an ``.mpr`` file, in standard columns (EC-Lab: positive current charges)."""
    raw = raw_data(path)
    exprs = [
        pl.col("time/s").cast(pl.Float64).alias(col.TIME),
        pl.col("Ewe/V").cast(pl.Float64).alias(col.VOLTAGE),
        (pl.col("I/mA").cast(pl.Float64) / 1000.0).alias(col.CURRENT),
    ]
    optional = {
        "(Q-Qo)/mA.h": (CAPACITY, 1e-3),
        "Energy charge/W.h": (col.CHARGE_ENERGY, 1.0),
        "Energy discharge/W.h": (col.DISCHARGE_ENERGY, 1.0),
        "cycle number": (col.CYCLE_FROM_CYCLER, 1.0),
    }
    exprs += [
        (pl.col(c).cast(pl.Float64) * f).alias(t)
        for c, (t, f) in optional.items()
        if c in raw.columns
    ]
    if "Ns" in raw.columns:
        exprs.append(pl.col("Ns").cast(pl.Int64).alias(col.STEP_FROM_CYCLER))
    if "half cycle" in raw.columns:
        exprs.append(pl.col("half cycle").cast(pl.Int64).alias("Half cycle from cycler"))
    if "flags" in raw.columns:
        exprs.append((pl.col("flags") & 3).cast(pl.Int64).alias(MODE))
    if "freq/Hz" in raw.columns and (raw["freq/Hz"] > 0).any():
        exprs += [
            pl.col("freq/Hz").cast(pl.Float64).alias(col.FREQUENCY),
            pl.col("|Z|/Ohm").cast(pl.Float64).alias(col.Z_MOD),
            pl.col("Phase(Z)/deg").cast(pl.Float64).alias(col.Z_PHASE),
        ]
    data = raw.select(exprs)
    if col.CYCLE_FROM_CYCLER in data.columns:
        data = data.with_columns(pl.col(col.CYCLE_FROM_CYCLER).cast(pl.Int64))
    if "I/mA" not in raw.columns or "Ewe/V" not in raw.columns or "time/s" not in raw.columns:
        raise ReaderError(f"{path.name}: columns found: {', '.join(raw.columns)}")
    return finish(data, file_columns=raw.columns, charge_positive=True)


LOG_START_OFFSETS = (465, 469, 473, 585)
"""Bytes into the ``VMP LOG`` data where EC-Lab versions write the start time (OLE date)."""

OLE_EPOCH = datetime(1899, 12, 30)
OLE_PLAUSIBLE_DAYS = (32874.0, 65745.0)
"""OLE dates from 1990 to 2080: eight bytes that decode outside this are not a start time."""


def _module_headers(path: Path) -> dict[str, tuple[int, int, str]]:
    """Each module's short name -> (data offset, data length, header date), reading only headers.

    The data module of a long run is large; the LOG module sits after it, so the headers are
    walked with seeks instead of reading the whole file.
    """
    found: dict[str, tuple[int, int, str]] = {}
    size = path.stat().st_size
    with path.open("rb") as handle:
        if handle.read(len(MAGIC)) != MAGIC:
            raise ReaderError(f"{path.name}: not a BioLogic .mpr file")
        offset = FILE_HEADER_SIZE
        while offset + MODULE_HEADER_SIZE <= size:
            handle.seek(offset)
            header = handle.read(MODULE_HEADER_SIZE)
            if header[:6] != b"MODULE":
                raise ReaderError(
                    f"{path.name}: byte {offset}: expected a module header ('MODULE'), file corrupt"
                )
            short = header[6:16].decode("ascii", errors="replace").strip()
            (length,) = struct.unpack_from("<I", header, 41)
            date = header[49:57].decode("ascii", errors="replace")
            found[short] = (offset + MODULE_HEADER_SIZE, length, date)
            offset += MODULE_HEADER_SIZE + length
    return found


def _header_date(text: str) -> datetime | None:
    """A module header's date (``03/15/17`` or ``03.15.17``, month first), or None."""
    for fmt in ("%m/%d/%y", "%m.%d.%y", "%m-%d-%y"):
        try:
            return datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
    return None


def start_time(path: Path) -> datetime | None:
    """When the run started, from the ``VMP LOG`` module; None for files without one.

    Of the candidate offsets, the first holding a plausible OLE date is taken, preferring one
    on the day the settings module's header says the file was written (EC-Lab stamps it at
    the start of the run).
    """
    found = _module_headers(path)
    if "VMP LOG" not in found:
        return None
    start, length, _ = found["VMP LOG"]
    with path.open("rb") as handle:
        handle.seek(start)
        log = handle.read(length)
    candidates: list[datetime] = []
    for at in LOG_START_OFFSETS:
        if at + 8 <= len(log):
            (days,) = struct.unpack_from("<d", log, at)
            if OLE_PLAUSIBLE_DAYS[0] < days < OLE_PLAUSIBLE_DAYS[1]:
                # To the millisecond: a float64 of days carries ~10 µs of rounding noise.
                candidates.append(OLE_EPOCH + timedelta(milliseconds=round(days * 86_400_000)))
    settings = _header_date(found["VMP Set"][2]) if "VMP Set" in found else None
    same_day = [c for c in candidates if settings is not None and c.date() == settings.date()]
    chosen = same_day or candidates
    return chosen[0] if chosen else None


def metadata(path: Path) -> dict[str, Any]:
    """The cycler and, where the file has a LOG module, when the run started."""
    return with_start({"cycler": NAME}, start_time(path))
