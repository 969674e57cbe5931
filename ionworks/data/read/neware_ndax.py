"""Neware ``.ndax`` binary files (a zip of XML settings and ``data.ndc`` binary records).

Parsed by ``fastnda`` (BSD-3-Clause, polars-based; installed with ``pip install
'ionworks[readers]'``), then mapped to the standard columns here. Neware writes charge current as
positive; the direction comes from the step type (``CC_Chg``, ``CC_DChg``, ``Rest``...).
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import zipfile
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from .. import columns as col
from ._errors import ReaderError
from ._excel import zip_holds
from ._finish import CAPACITY, DIRECTION, ENERGY, MODE, finish

NAME = "neware ndax"

INSTALL_HINT = "reading Neware .ndax files needs fastnda: pip install 'ionworks[readers]'"


def sniff(magic: bytes, path: Path) -> bool:
    """True for a zip archive holding Neware's ``data.ndc`` records."""
    return zip_holds(magic, path, "data.ndc")


def _fastnda() -> Any:
    """The fastnda module, or a ReaderError saying how to install it."""
    try:
        return importlib.import_module("fastnda")
    except ImportError as exc:
        raise ReaderError(INSTALL_HINT) from exc


NEGATIVE_JUMPS = "IMPORTANT: This ndax has negative jumps in the 'unix_time_s' column"
"""The start of fastnda's warning (logger ``fastnda.ndax``) that the wall clock jumps back:
advice to use ``total_time_s``, which is what we read, so it is dropped for our call."""


def _not_negative_jumps(record: logging.LogRecord) -> bool:
    """A logging filter: False for fastnda's negative-jumps warning, True for anything else."""
    return not record.getMessage().startswith(NEGATIVE_JUMPS)


@contextlib.contextmanager
def _without_time_jump_warning() -> Iterator[None]:
    """fastnda's "negative jumps in unix_time_s" warning dropped while the block runs; its
    other messages pass (a filter on its logger, removed afterwards)."""
    logger = logging.getLogger("fastnda.ndax")
    logger.addFilter(_not_negative_jumps)
    try:
        yield
    finally:
        logger.removeFilter(_not_negative_jumps)


def read(path: Path) -> pl.DataFrame:
    """The time series of a ``.ndax`` file, in standard columns."""
    library = _fastnda()
    try:
        # "raw" keeps the cycler's own cycle numbers (the default renumbers from charges).
        with _without_time_jump_warning():
            raw: pl.DataFrame = library.read(path, cycle_mode="raw")
    except NotImplementedError as exc:  # a record layout fastnda does not know yet
        raise ReaderError(
            f"{path.name}: fastnda cannot read this .ndax's records ({exc}); a newer fastnda "
            "may: pip install -U fastnda"
        ) from exc
    except (zipfile.BadZipFile, KeyError, ValueError, EOFError, OSError) as exc:
        raise ReaderError(f"{path.name}: not a readable .ndax file: {exc}") from exc
    needed = {"total_time_s", "voltage_V", "current_mA", "step_type"}
    if not needed <= set(raw.columns):
        raise ReaderError(f"{path.name}: columns found: {', '.join(raw.columns)}")
    mode = pl.col("step_type").cast(pl.String)
    direction = (
        pl.when(mode.str.contains("(?i)dchg")).then(pl.lit("D")).when(mode.str.contains("(?i)chg"))
    )
    data = raw.select(
        # Time from the cycler's running total: the wall clock can jump (fastnda logs a warning).
        pl.col("total_time_s").cast(pl.Float64).alias(col.TIME),
        pl.col("voltage_V").cast(pl.Float64).alias(col.VOLTAGE),
        (pl.col("current_mA").cast(pl.Float64) / 1000.0).alias(col.CURRENT),
        pl.col("step_count").cast(pl.Int64).alias(col.STEP_FROM_CYCLER),
        pl.col("cycle_count").cast(pl.Int64).alias(col.CYCLE_FROM_CYCLER),
        (pl.col("capacity_mAh").cast(pl.Float64) / 1000.0).alias(CAPACITY),
        (pl.col("energy_mWh").cast(pl.Float64) / 1000.0).alias(ENERGY),
        mode.alias(MODE),
        direction.then(pl.lit("C")).otherwise(None).alias(DIRECTION),
    )
    return finish(data, file_columns=raw.columns, charge_positive=True)


def metadata(path: Path) -> dict[str, Any]:
    """Channel, device, procedure, serial number and start time from the archive's XML files."""
    try:
        info = _fastnda().read_metadata(path)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ReaderError(f"{path.name}: not a readable .ndax file: {exc}") from exc
    test = info.get("TestInfo", {}).get("TestInfo", {})
    out: dict[str, Any] = {"cycler": NAME}
    for key, name in (("ChlID", "channel"), ("DevID", "device"), ("StepName", "procedure")):
        if test.get(key):
            out[name] = test[key]
    serial = info.get("VersionInfo", {}).get("ZwjSn", {}).get("Sn")
    if serial:
        out["cycler_serial_number"] = serial
    if test.get("StartTime"):
        with contextlib.suppress(ValueError):
            out["start_time"] = datetime.strptime(test["StartTime"], "%Y-%m-%d %H:%M:%S")
    return out


def start_time(path: Path) -> datetime | None:
    """When the test started (``TestInfo.xml``'s ``StartTime``, the cycler's local time)."""
    started = metadata(path).get("start_time")
    return started if isinstance(started, datetime) else None
