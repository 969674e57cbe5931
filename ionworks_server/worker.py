"""Background processing of confirmed time-series uploads, off the request path.

Worker threads take measurement ids from a queue, check the staged parquet files' footers against
the :class:`~ionworks_server.upload_limits.ProcessingLimits` (a few-MB file can decode to 100
million rows: it is refused before any decoding), then read the series in chunks of
``CHUNK_ROWS`` rows (fewer for wide files: about ``CHUNK_BYTES`` decoded) and run
:func:`ionworks_server.processing.process_chunks` (validation, steps unless uploaded, cycle
metrics), writing the normalised series as it goes, so memory follows the chunk, not the file.
The results land atomically in the ``measurements`` area and the row is marked ``ready`` with its
``row_count``, or ``failed`` with a ``processing_error`` written for the user. polars releases the
GIL while it works, so requests keep being served during a large job.

Two lanes: uploads over ``SMALL_UPLOAD_ROWS`` rows or ``SMALL_UPLOAD_BYTES`` decoded (by their
footer) go to the big lane (``Settings.worker_threads`` threads); everything else, including files
refused at once, to a small lane with a thread of its own. A 1,000-row upload confirmed right
after a 4-million-row one is ready in about 0.1 s instead of waiting 15 s for it.

State changes are conditional (``WHERE processing_status = ...``) so a measurement deleted while
it was processed leaves no files behind. At start-up every measurement still ``pending`` or
``running`` (a crash or restart interrupted it) is queued again, and staged files that no row or
live reservation owns are swept.
"""

from __future__ import annotations

import logging
import queue
import shutil
import threading
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Engine, delete, select, update

from .db import (
    cell_instances,
    cell_measurements,
    cell_specifications,
    read,
    upload_reservations,
    utcnow,
    write,
)
from .processing import ProcessingError, process_chunks
from .storage import AREAS, Storage, part_target, sweep_parts
from .tables import SeriesWriter, write_summaries
from .upload_limits import FooterFacts, ProcessingLimits, read_footer

__all__ = ["Worker", "rated_capacity_ah"]

log = logging.getLogger("ionworks_server.worker")
M = cell_measurements
SWEEP_INTERVAL_S = 600.0
PERIODIC_SWEEP_MIN_AGE_S = 3 * 3600.0
CHUNK_ROWS = 262_144
"""Rows read, validated and written at a time (polars' own row-group size)."""
CHUNK_BYTES = 64 * 1024 * 1024
"""Decoded bytes per chunk at most (a 1,000-column file gets chunks of 8,192 rows)."""
SMALL_UPLOAD_ROWS = 200_000
SMALL_UPLOAD_BYTES = 32 * 1024 * 1024
"""Uploads within both take the small lane: well under a second of processing each."""
TIME_SERIES_UPLOADS = frozenset(("time_series.parquet", "steps.parquet"))
PROCESSED_FILES = frozenset(
    ("time_series.parquet", "steps.parquet", "cycles.parquet", "steps.json", "cycles.json")
)

_UNIT_TO_AH = {"a.h": 1.0, "ah": 1.0, "ma.h": 1e-3, "mah": 1e-3, "ua.h": 1e-6, "uah": 1e-6}


def rated_capacity_ah(ratings: Any) -> float | None:
    """The spec's rated capacity in A.h (``ratings.capacity``), when it is usable."""
    if not isinstance(ratings, dict):
        return None
    capacity = ratings.get("capacity")
    if not isinstance(capacity, dict):
        return None
    value, unit = capacity.get("value"), str(capacity.get("unit", "A.h")).strip().lower()
    if not isinstance(value, int | float) or isinstance(value, bool) or unit not in _UNIT_TO_AH:
        return None
    return float(value) * _UNIT_TO_AH[unit]


def _unreadable(label: str, exc: Exception) -> ProcessingError:
    return ProcessingError(
        f"{label} is not a readable parquet file ({type(exc).__name__}: {str(exc)[:200]}); "
        "write it with polars or pandas (DataFrame.write_parquet / to_parquet) and upload again."
    )


def _read_parquet(path: Path, label: str) -> pl.DataFrame:
    """Read an uploaded parquet file, turning any reader error into a message for the user."""
    try:
        return pl.read_parquet(path)
    except Exception as exc:
        raise _unreadable(label, exc) from None


def _check_footer(path: Path, label: str, limits: ProcessingLimits) -> FooterFacts:
    """Refuse an uploaded parquet file over the limits before any decoding; its footer facts."""
    try:
        facts = read_footer(path)
    except Exception as exc:
        raise _unreadable(label, exc) from None
    refusal = limits.refusal(facts, label)
    if refusal:
        raise ProcessingError(refusal)
    return facts


def _columns(path: Path, label: str) -> list[str]:
    try:
        return list(pl.read_parquet_schema(path))
    except Exception as exc:
        raise _unreadable(label, exc) from None


def _chunk_rows(facts: FooterFacts) -> int:
    """``CHUNK_ROWS``, or fewer rows so a chunk of a wide file stays near ``CHUNK_BYTES``."""
    per_row = facts.decoded_bytes / max(1, facts.rows)
    return max(1024, min(CHUNK_ROWS, int(CHUNK_BYTES / max(1.0, per_row))))


def _chunks(path: Path, rows: int, chunk_rows: int, label: str) -> Iterator[pl.DataFrame]:
    """The file's rows as frames of ``chunk_rows`` rows (the last fewer), decoded one at a time.

    polars reads only the pages a slice needs, even inside one large row group, and gives the
    same dtypes as ``pl.read_parquet``.
    """
    scan = pl.scan_parquet(path, glob=False)
    for offset in range(0, rows, chunk_rows):
        try:
            chunk = scan.slice(offset, chunk_rows).collect()
        except Exception as exc:
            raise _unreadable(label, exc) from None
        yield chunk


def _is_big(path: Path, limits: ProcessingLimits) -> bool:
    """Whether a staged upload takes the big lane: large by its footer, yet within the limits
    (files refused at once, and unreadable ones, fail fast in the small lane)."""
    try:
        facts = read_footer(path)
    except Exception:
        return False
    large = facts.rows > SMALL_UPLOAD_ROWS or facts.decoded_bytes > SMALL_UPLOAD_BYTES
    return large and limits.refusal(facts, path.name) is None


class Worker:
    """The processing queue and its thread(s)."""

    def __init__(
        self,
        engine: Engine,
        storage: Storage,
        threads: int = 1,
        limits: ProcessingLimits | None = None,
    ) -> None:
        self.engine = engine
        self.storage = storage
        self.limits = limits if limits is not None else ProcessingLimits.from_env()
        self._big: queue.Queue[str | None] = queue.Queue()
        self._small: queue.Queue[str | None] = queue.Queue()
        self._threads = [
            threading.Thread(
                target=self._run, args=(self._big, True), name=f"ionworks-worker-{n}", daemon=True
            )
            for n in range(max(1, threads))
        ]
        self._threads.append(
            threading.Thread(
                target=self._run,
                args=(self._small, False),
                name="ionworks-worker-small",
                daemon=True,
            )
        )
        self._started = False

    def start(self) -> None:
        """Sweep leftovers, requeue interrupted work, and start the thread(s)."""
        if self._started:
            return
        self._started = True
        self.sweep()
        with read(self.engine) as conn:
            interrupted = conn.execute(
                select(M.c.id)
                .where(M.c.processing_status.in_(("pending", "running")))
                .order_by(M.c.created_at)
            ).scalars()
            for measurement_id in interrupted:
                self.enqueue(measurement_id)
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the threads to finish their current job and exit."""
        if not self._started:
            return
        for thread in self._threads:
            lane = self._small if thread.name == "ionworks-worker-small" else self._big
            lane.put(None)
        for thread in self._threads:
            thread.join(timeout)

    def enqueue(self, measurement_id: str) -> None:
        """Queue a confirmed upload in its lane (its footer says how many rows it has)."""
        staged = self.storage.object_dir("processing", measurement_id) / "time_series.parquet"
        (self._big if _is_big(staged, self.limits) else self._small).put(measurement_id)

    # -- the loop ---------------------------------------------------------------------------

    def _run(self, lane: queue.Queue[str | None], sweeps: bool) -> None:
        while True:
            try:
                item = lane.get(timeout=SWEEP_INTERVAL_S)
            except queue.Empty:
                if sweeps:
                    self._safely(lambda: self.sweep(min_age_s=PERIODIC_SWEEP_MIN_AGE_S))
                continue
            if item is None:
                return
            self._safely(partial(self.process_one, item))

    @staticmethod
    def _safely(job: Any) -> None:
        try:
            job()
        except Exception:  # the thread must survive anything, or processing stops for good
            log.exception("worker job failed")

    def process_one(self, measurement_id: str) -> None:
        """Process one queued measurement: claim it, build its tables, record the outcome."""
        with write(self.engine) as conn:
            claimed = conn.execute(
                update(M)
                .where(M.c.id == measurement_id, M.c.processing_status.in_(("pending", "running")))
                .values(processing_status="running", updated_at=utcnow())
            ).rowcount
            capacity = conn.execute(
                select(cell_specifications.c.ratings)
                .select_from(
                    M.join(cell_instances, cell_instances.c.id == M.c.cell_instance_id).join(
                        cell_specifications,
                        cell_specifications.c.id == cell_instances.c.cell_specification_id,
                    )
                )
                .where(M.c.id == measurement_id)
            ).scalar()
        staged = self.storage.object_dir("processing", measurement_id)
        if not claimed:  # deleted (or already done) meanwhile
            self._discard(measurement_id)
            return
        try:
            row_count = self._build(measurement_id, staged, rated_capacity_ah(capacity))
        except ProcessingError as exc:
            self._finish(measurement_id, "failed", str(exc), None)
        except Exception:
            log.exception("processing measurement %s failed unexpectedly", measurement_id)
            self._finish(
                measurement_id,
                "failed",
                "internal error while processing the upload (the server log has the details); "
                "upload the data again, and report the problem if it persists",
                None,
            )
        else:
            self._finish(measurement_id, "ready", None, row_count)
        shutil.rmtree(staged, ignore_errors=True)

    def _build(self, measurement_id: str, staged: Path, capacity_ah: float | None) -> int:
        ts_path = staged / "time_series.parquet"
        if not ts_path.is_file():
            raise ProcessingError(
                "the uploaded time_series.parquet is missing on the server; upload it again"
            )
        label = "time_series.parquet"
        facts = _check_footer(ts_path, label, self.limits)
        steps_path = staged / "steps.parquet"
        uploaded_steps = None
        if steps_path.is_file():
            _check_footer(steps_path, "steps.parquet", self.limits)
            uploaded_steps = _read_parquet(steps_path, "steps.parquet")
        with SeriesWriter(self.storage, measurement_id) as writer:
            rows, steps, cycles = process_chunks(
                _chunks(ts_path, facts.rows, _chunk_rows(facts), label),
                _columns(ts_path, label),
                uploaded_steps,
                capacity_ah,
                writer.write,
            )
            writer.commit()
        write_summaries(self.storage, measurement_id, steps, cycles)
        return rows

    def _finish(
        self, measurement_id: str, status: str, error: str | None, row_count: int | None
    ) -> None:
        with write(self.engine) as conn:
            done = conn.execute(
                update(M)
                .where(M.c.id == measurement_id, M.c.processing_status == "running")
                .values(
                    processing_status=status,
                    processing_error=error,
                    row_count=row_count,
                    updated_at=utcnow(),
                )
            ).rowcount
        if not done:  # deleted while we worked: drop what we wrote
            self.storage.remove(measurement_id)

    def _discard(self, measurement_id: str) -> None:
        """Drop the files of a job whose measurement was deleted before it ran."""
        with read(self.engine) as conn:
            exists = conn.execute(select(M.c.id).where(M.c.id == measurement_id)).scalar()
        if exists is None:
            self.storage.remove(measurement_id)

    # -- housekeeping ----------------------------------------------------------------------------

    def sweep(self, min_age_s: float = 0.0) -> None:
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
        with write(self.engine) as conn:
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
            self._restore_unconfirmed(reservations, {row.id for row in rows})
        owned = _owned_files(reservations, rows, startup=min_age_s <= 0)
        cutoff = time.time() - min_age_s
        for area in AREAS:
            for entry in (self.storage.root / area).iterdir():
                keep = owned.get((area, entry.name))
                if keep is not None and entry.is_dir():
                    _prune(entry, keep, min_age_s)
                elif min_age_s <= 0 or _mtime(entry) < cutoff:
                    _remove(entry)

    def _restore_unconfirmed(self, reservations: Any, row_ids: set[str]) -> None:
        """Put back staged files a confirm moved but never committed (killed in between), so
        the upload can still be confirmed. Start-up only: a live confirm does exactly this move."""
        root = self.storage.root
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
