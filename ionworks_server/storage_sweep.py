"""Housekeeping of the local storage root: the files on disk are exactly the files the database
references (see :func:`sweep`). Run at start-up by the only process serving a data dir (or the
``--workers`` supervisor before it starts its workers) and periodically by every worker.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, select

from .db import cell_measurements, upload_reservations, utcnow, write
from .storage import AREAS, Storage, part_target, sweep_parts

__all__ = ["PROCESSED_FILES", "TIME_SERIES_UPLOADS", "sweep"]

M = cell_measurements
TIME_SERIES_UPLOADS = frozenset(("time_series.parquet", "steps.parquet"))
PROCESSED_FILES = frozenset(
    ("time_series.parquet", "steps.parquet", "cycles.parquet", "steps.json", "cycles.json")
)


def sweep(engine: Engine, storage: Storage, min_age_s: float = 0.0) -> None:
    """Make the files on disk exactly the files the database references.

    Drops expired reservations, then every stored directory no row or reservation owns, every
    file inside an owned directory that its owner does not reference, and abandoned temp
    files (``.part``: unlocked, so no PUT is writing them). ``min_age_s=0`` is the start-up
    sweep: nothing is being written, so an interrupted job's partial output goes too (the
    job is queued again). Periodic sweeps run while requests are served, so they only touch
    entries untouched for ``min_age_s`` (longer than an upload URL lives): a row or
    reservation created after the snapshot below can only own recently modified entries.
    """
    now = utcnow()
    with write(engine) as conn:
        conn.execute(delete(upload_reservations).where(upload_reservations.c.expires_at < now))
        reservations = conn.execute(
            select(
                upload_reservations.c.id,
                upload_reservations.c.measurement_type,
                upload_reservations.c.filenames,
            )
        ).all()
        rows = conn.execute(
            select(M.c.id, M.c.measurement_type, M.c.processing_status, M.c.filenames)
        ).all()
    if min_age_s <= 0:
        _restore_unconfirmed(storage, reservations, {row.id for row in rows})
    owned = _owned_files(reservations, rows, startup=min_age_s <= 0)
    cutoff = time.time() - min_age_s
    for area in AREAS:
        for entry in (storage.root / area).iterdir():
            keep = owned.get((area, entry.name))
            if keep is not None and entry.is_dir():
                _prune(entry, keep, min_age_s)
            elif min_age_s <= 0 or _mtime(entry) < cutoff:
                _remove(entry)


def _restore_unconfirmed(storage: Storage, reservations: Any, row_ids: set[str]) -> None:
    """Put back staged files a confirm moved but never committed (killed in between), so
    the upload can still be confirmed. Start-up only: a live confirm does exactly this move."""
    root = storage.root
    for reservation in reservations:
        staged = root / "uploads" / reservation.id
        if reservation.id in row_ids or staged.exists():
            continue
        for area in ("processing", "measurements"):
            moved = root / area / reservation.id
            if moved.is_dir():
                moved.replace(staged)
                break


def _owned_files(
    reservations: Any, rows: Any, *, startup: bool
) -> dict[tuple[str, str], frozenset[str]]:
    """``(area, id) -> file names`` the database references (for reservations: may hold)."""
    owned: dict[tuple[str, str], frozenset[str]] = {}
    for reservation in reservations:
        is_file = reservation.measurement_type == "file"
        names = reservation.filenames if is_file else TIME_SERIES_UPLOADS
        owned["uploads", reservation.id] = frozenset(names)
    for row in rows:
        if row.measurement_type == "file":
            owned["measurements", row.id] = frozenset(row.filenames)
        elif row.processing_status in ("pending", "running"):
            owned["processing", row.id] = TIME_SERIES_UPLOADS
            if not startup:  # the worker may be writing them right now
                owned["measurements", row.id] = PROCESSED_FILES
        elif row.processing_status == "ready" and row.measurement_type == "time_series":
            owned["measurements", row.id] = PROCESSED_FILES
    return owned


def _prune(directory: Path, keep: frozenset[str], min_age_s: float) -> None:
    """Drop abandoned temp files and files the owner does not reference, old enough."""
    busy = set(sweep_parts(directory, min_age_s))
    cutoff = time.time() - min_age_s
    for path in directory.iterdir():
        if path.name in keep or part_target(path) in busy:
            continue
        if min_age_s <= 0 or _mtime(path) < cutoff:
            _remove(path)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return time.time()


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
