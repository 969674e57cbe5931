"""Background processing of confirmed time-series uploads, off the request path.

Worker threads claim jobs from the database's queue (:mod:`.state`: leases, so any process of
``ionworks serve --workers N`` can take any job and a dead worker's job is taken over), check the staged parquet files' footers against
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

State changes are conditional (``WHERE processing_status = ...``, and only while the job's lease
is held) so a measurement deleted while it was processed leaves no files behind and a job is
completed once. At start-up every measurement still ``pending`` or ``running`` without a job is
queued, and staged files that no row or live reservation owns are swept
(:mod:`.storage_sweep`)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Engine, select, update

from .db import cell_instances, cell_measurements, cell_specifications, read, utcnow, write
from .processing import ProcessingError, process_chunks
from .state import (
    Lease,
    claim,
    complete,
    lease_seconds,
    owner_token,
    queue_missing_jobs,
    release_all_leases,
    renew,
)
from .storage import Storage
from .storage_sweep import sweep
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
SMALL_UPLOAD_STORED_BYTES = 8 * 1024 * 1024
"""In object storage (no local footer at confirm), uploads stored within this take the small lane."""
POLL_S = 1.0
"""How often an idle thread looks for jobs queued by other processes (or left by dead ones)."""

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
    """The processing threads of this process, taking jobs from the database's queue.

    Lanes: ``threads`` threads take big jobs and one thread small ones. A thread claims the oldest
    free job of its lane (:func:`~ionworks_server.state.claim`); a confirm in this process wakes
    it at once, jobs confirmed by other processes (or left by a dead one) are found by polling
    every ``poll_s``. A heartbeat thread renews the leases of the jobs in progress.
    """

    def __init__(
        self,
        engine: Engine,
        storage: Storage,
        threads: int = 1,
        limits: ProcessingLimits | None = None,
        *,
        poll_s: float = POLL_S,
        lease_s: float | None = None,
    ) -> None:
        self.engine = engine
        self.storage = storage
        self.limits = limits if limits is not None else ProcessingLimits.from_env()
        self.poll_s = poll_s
        self.lease_s = lease_s if lease_s is not None else lease_seconds()
        self.owner = owner_token()
        self._wake = {"big": threading.Event(), "small": threading.Event()}
        self._stop = threading.Event()
        self._leases: dict[str, Lease] = {}
        self._lock = threading.Lock()
        self._last_sweep = time.monotonic()
        lanes = ["big"] * max(1, threads) + ["small"]
        self._threads = [
            threading.Thread(target=self._run, args=(lane,), name=f"ionworks-worker-{lane}-{n}")
            for n, lane in enumerate(lanes)
        ]
        self._threads.append(threading.Thread(target=self._heartbeat, name="ionworks-lease"))
        for thread in self._threads:
            thread.daemon = True
        self._started = False

    def start(self, *, startup_sweep: bool = True) -> None:
        """Sweep leftovers (unless another process serves this data dir), queue interrupted work
        that has no job, and start the threads."""
        if self._started:
            return
        self._started = True
        if startup_sweep:  # the only process on this database: no job is really held
            sweep(self.engine, self.storage)
            release_all_leases(self.engine)
        queue_missing_jobs(self.engine)
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the threads to finish their current job and exit."""
        if not self._started:
            return
        self._stop.set()
        for event in self._wake.values():
            event.set()
        for thread in self._threads:
            thread.join(timeout)

    def lane_of(self, measurement_id: str) -> str:
        """The lane of a staged upload: big when large by its footer (or, in object storage,
        its stored size) yet within the limits; refused and unreadable files fail fast in the
        small lane."""
        path = self.storage.local_upload(measurement_id, "time_series.parquet")
        if path is not None:
            return "big" if _is_big(path, self.limits) else "small"
        size = self.storage.upload_size(measurement_id, "time_series.parquet") or 0
        return "big" if size > SMALL_UPLOAD_STORED_BYTES else "small"

    def enqueue(self, measurement_id: str, lane: str = "small") -> None:
        """Wake a thread of ``lane``: a job was queued (the row is in the database already)."""
        self._wake[lane].set()

    # -- the loop ---------------------------------------------------------------------------

    def _run(self, lane: str) -> None:
        while not self._stop.is_set():
            lease = self._safely(lambda: claim(self.engine, lane, self.owner, self.lease_s))
            if lease is not None:
                with self._lock:
                    self._leases[lease.measurement_id] = lease
                try:
                    self._safely(partial(self.process_one, lease))
                finally:
                    with self._lock:
                        self._leases.pop(lease.measurement_id, None)
                continue
            if lane == "big" and time.monotonic() - self._last_sweep > SWEEP_INTERVAL_S:
                self._last_sweep = time.monotonic()
                self._safely(lambda: sweep(self.engine, self.storage, PERIODIC_SWEEP_MIN_AGE_S))
            self._wake[lane].wait(self.poll_s)
            self._wake[lane].clear()

    def _heartbeat(self) -> None:
        """Renew the leases of the jobs in progress every third of the lease."""
        while not self._stop.wait(self.lease_s / 3):
            with self._lock:
                leases = list(self._leases.values())
            lost = self._safely(partial(renew, self.engine, leases, self.lease_s)) or []
            for measurement_id in lost:
                log.warning("lease of job %s was taken over by another worker", measurement_id)

    @staticmethod
    def _safely(job: Any) -> Any:
        try:
            return job()
        except Exception:  # the thread must survive anything, or processing stops for good
            log.exception("worker job failed")
            return None

    def process_one(self, lease: Lease) -> None:
        """Process one claimed job: build its tables, record the outcome if still ours."""
        measurement_id = lease.measurement_id
        with read(self.engine) as conn:
            row = conn.execute(
                select(M.c.processing_status, cell_specifications.c.ratings)
                .select_from(
                    M.join(cell_instances, cell_instances.c.id == M.c.cell_instance_id).join(
                        cell_specifications,
                        cell_specifications.c.id == cell_instances.c.cell_specification_id,
                    )
                )
                .where(M.c.id == measurement_id)
            ).first()
        if row is None or row.processing_status not in ("pending", "running"):
            self._discard(lease, deleted=row is None)
            return
        if lease.attempts > 1:  # a worker died on it: its partial output goes
            self.storage.clear_output(measurement_id)
        try:
            with self.storage.staged(measurement_id) as staged:
                row_count = self._build(measurement_id, staged, rated_capacity_ah(row.ratings))
        except ProcessingError as exc:
            self._finish(lease, "failed", str(exc), None)
        except Exception:
            log.exception("processing measurement %s failed unexpectedly", measurement_id)
            self._finish(
                lease,
                "failed",
                "internal error while processing the upload (the server log has the details); "
                "upload the data again, and report the problem if it persists",
                None,
            )
        else:
            self._finish(lease, "ready", None, row_count)

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
        self.storage.publish(measurement_id)  # object storage: the results, before 'ready'
        return rows

    def _finish(self, lease: Lease, status: str, error: str | None, row_count: int | None) -> None:
        """Record the outcome and end the job, in one transaction, if the lease is still ours."""
        measurement_id = lease.measurement_id
        # Narrow: both statements are conditional (the lease, the status), so atomic alone.
        with write(self.engine, narrow=()) as conn:
            held = complete(conn, lease)
            done = (
                held
                and conn.execute(
                    update(M)
                    .where(M.c.id == measurement_id, M.c.processing_status == "running")
                    .values(
                        processing_status=status,
                        processing_error=error,
                        row_count=row_count,
                        updated_at=utcnow(),
                    )
                ).rowcount
            )
        if not held:  # another worker took the job over (we stalled past the lease): it is theirs
            log.warning(
                "job %s was taken over by another worker; its result stands", measurement_id
            )
        elif not done:  # deleted while we worked: drop what we wrote
            self.storage.remove(measurement_id)
        else:
            self.storage.unstage(measurement_id)

    def _discard(self, lease: Lease, *, deleted: bool) -> None:
        """End a job whose measurement was deleted (drop its files) or is already done."""
        with write(self.engine, narrow=()) as conn:
            held = complete(conn, lease)
        if held and deleted:
            self.storage.remove(lease.measurement_id)

    def sweep(self, min_age_s: float = 0.0) -> None:
        """See :func:`~ionworks_server.storage_sweep.sweep`."""
        sweep(self.engine, self.storage, min_age_s)
