"""Fleet pulls: the tables of many measurements at once, on a bounded number of threads.

Each table goes through the resource's own method (``time_series``, ``steps``, ``cycles``), so
the cache, offline mode, retries and timeouts behave exactly as for one measurement, and a rerun
after a partial failure fetches only what the cache lacks. Threads, not processes: the time is
spent waiting on sockets and in polars/pyarrow, which release the GIL, and the client's httpx
pools are thread-safe.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from ._dataframe import Frame, serial_decoding
from ._progress import progress_enabled
from ._transfer import quiet_transfers
from .errors import InvalidParameterError, IonworksError

TABLES: Final = ("time_series", "steps", "cycles")
"""The tables a fleet pull can fetch, each by the resource method of that name."""


class TableSource(Protocol):
    """What a fleet pull needs of ``client.cell_measurement``: one method per table."""

    def time_series(self, measurement_id: str, *, use_cache: bool, timeout: float | None) -> Frame:
        """The time series of one measurement."""

    def steps(self, measurement_id: str, *, use_cache: bool, timeout: float | None) -> Frame:
        """The steps table of one measurement."""

    def cycles(self, measurement_id: str, *, use_cache: bool, timeout: float | None) -> Frame:
        """The cycles table of one measurement."""


@dataclass
class FleetResult:
    """What a fleet pull got: ``frames[id][table]`` for every measurement whose tables all came,
    ``failed[id]`` (the first error) for the others. Iterating yields ``(id, tables)`` of the
    successes in the order asked; ``raise_for_failures()`` turns failures into one error."""

    frames: dict[str, dict[str, Frame]] = field(default_factory=dict)
    failed: dict[str, Exception] = field(default_factory=dict)

    def __iter__(self) -> Iterator[tuple[str, dict[str, Frame]]]:
        return iter(self.frames.items())

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def ok(self) -> bool:
        """True when every measurement asked for came complete."""
        return not self.failed

    def raise_for_failures(self) -> None:
        """Raise an :class:`IonworksError` naming each failed measurement and why."""
        if self.failed:
            reasons = "; ".join(f"{mid}: {error}" for mid, error in self.failed.items())
            raise IonworksError(
                f"{len(self.failed)} of {len(self.failed) + len(self.frames)} measurements "
                f"failed ({reasons}); run the same pull again to fetch only what is missing"
            )

    def __repr__(self) -> str:
        return f"FleetResult({len(self.frames)} complete, {len(self.failed)} failed)"


def fetch_many(
    source: TableSource,
    ids: Iterable[str],
    tables: Sequence[str] = TABLES,
    *,
    concurrency: int = 8,
    use_cache: bool = True,
    timeout: float | None = None,
) -> FleetResult:
    """Every ``(id, table)`` fetched on ``concurrency`` threads; one failure spoils only its id."""
    wanted, names = checked(ids, tables, concurrency)
    results: dict[str, dict[str, Frame]] = {mid: {} for mid in wanted}
    failed: dict[str, Exception] = {}
    pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="ionworks-fleet")
    try:
        with progress(len(wanted) * len(names)) as bar:
            pending: dict[Future[Frame], tuple[str, str]] = {
                pool.submit(_one, source, mid, name, use_cache, timeout): (mid, name)
                for mid in wanted
                for name in names
            }
            # as_completed waits on every future once; wait(FIRST_COMPLETED) in a loop set up a
            # waiter on each pending future per completion (quadratic: a quarter of the pull's
            # Python time for 600 tables, taken from the threads doing the work).
            for future in as_completed(pending):
                mid, name = pending[future]
                _collect(future, mid, name, results, failed)
                if bar is not None:
                    bar.update(1)
    finally:  # an interrupt must not leave hundreds of queued downloads running
        pool.shutdown(wait=True, cancel_futures=True)
    return assemble(wanted, names, results, failed)


def assemble(
    wanted: list[str],
    names: list[str],
    results: dict[str, dict[str, Frame]],
    failed: dict[str, Exception],
) -> FleetResult:
    """The result, ids and tables in the order asked, not the order they finished (both clients)."""
    frames = {
        mid: {name: results[mid][name] for name in names} for mid in wanted if mid not in failed
    }
    return FleetResult(frames, {mid: failed[mid] for mid in wanted if mid in failed})


def _one(source: TableSource, mid: str, name: str, use_cache: bool, timeout: float | None) -> Frame:
    """One table of one measurement, without its own progress bar (the pull has one), decoded
    by this thread alone (the pull's threads already decode many files at once)."""
    with quiet_transfers(), serial_decoding():
        method = getattr(source, name)
        frame: Frame = method(mid, use_cache=use_cache, timeout=timeout)
        return frame


def _collect(
    future: Future[Frame],
    mid: str,
    name: str,
    results: dict[str, dict[str, Frame]],
    failed: dict[str, Exception],
) -> None:
    """Record a finished table, or its measurement's first error (any Exception: a surprise in
    one measurement must not lose the hundreds already fetched; KeyboardInterrupt still stops)."""
    error = future.exception()
    if error is None:
        results[mid][name] = future.result()
    elif isinstance(error, Exception):
        failed.setdefault(mid, error)
    else:
        raise error


def checked(
    ids: Iterable[str], tables: Sequence[str], concurrency: int
) -> tuple[list[str], list[str]]:
    """Distinct ids and tables in order; a lone string is a mistake, not a list of letters."""
    if isinstance(ids, str):
        raise InvalidParameterError(f"ids={ids!r} must be a list of measurement ids, not one id")
    wanted = list(dict.fromkeys(ids))
    names = [tables] if isinstance(tables, str) else list(dict.fromkeys(tables))
    unknown = [name for name in names if name not in TABLES]
    if unknown or not names:
        raise InvalidParameterError(
            f"tables={tables!r}: choose one or more of {', '.join(map(repr, TABLES))}"
        )
    if not all(isinstance(mid, str) and mid for mid in wanted):
        raise InvalidParameterError(f"ids must be measurement id strings, got {wanted!r}")
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise InvalidParameterError(f"concurrency={concurrency!r} must be a positive integer")
    return wanted, names


def progress(total: int) -> AbstractContextManager[Any]:
    """One bar over every table of the pull, when a person is watching."""
    if total == 0 or not progress_enabled():
        return nullcontext(None)
    import shutil

    from tqdm.auto import tqdm

    size = shutil.get_terminal_size((80, 24))  # a size-less pty reports 0: tqdm would hide
    return tqdm(
        total=total,
        desc="Fetching measurements",
        unit="table",
        ncols=size.columns or 80,
        nrows=size.lines or 24,
    )


__all__ = ["TABLES", "FleetResult", "TableSource", "assemble", "checked", "fetch_many", "progress"]
