"""The async fleet pull: ``await client.cell_measurement.fetch_many(ids, tables, concurrency=8)``.

The same result and rules as :func:`ionworks._fleet.fetch_many` (its argument checks, progress
bar and assembly are reused): each table goes through the resource's own async method, so the
cache (read and written in worker threads, off the event loop), offline mode, retries and
timeouts behave as for one measurement; a failure spoils only its measurement; a rerun fetches
only what the cache lacks. Concurrency is a semaphore over tasks instead of a thread pool.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

import anyio

from ._async_transfer import serial_bridge_decoding
from ._dataframe import Frame
from ._fleet import TABLES, FleetResult, assemble, checked, progress
from ._transfer_rules import quiet_transfers


async def fetch_many(
    source: Any,
    ids: Iterable[str],
    tables: Sequence[str] = TABLES,
    *,
    concurrency: int = 8,
    use_cache: bool = True,
    timeout: float | None = None,
) -> FleetResult:
    """Every ``(id, table)`` fetched by at most ``concurrency`` tasks at once.

    ``source`` is the async ``cell_measurement``: one awaitable method per name in ``tables``.
    """
    wanted, names = checked(ids, tables, concurrency)
    results: dict[str, dict[str, Frame]] = {mid: {} for mid in wanted}
    failed: dict[str, Exception] = {}
    slots = anyio.Semaphore(concurrency)
    with progress(len(wanted) * len(names)) as bar:

        async def one(mid: str, name: str) -> None:
            method: Callable[..., Awaitable[Frame]] = getattr(source, name)
            async with slots:
                with quiet_transfers(), serial_bridge_decoding():
                    try:
                        frame = await method(mid, use_cache=use_cache, timeout=timeout)
                    except Exception as error:  # kept per measurement, as in the sync pull
                        failed.setdefault(mid, error)
                    else:
                        results[mid][name] = frame
            if bar is not None:
                bar.update(1)

        async with anyio.create_task_group() as group:
            for mid in wanted:
                for name in names:
                    group.start_soon(one, mid, name)
    return assemble(wanted, names, results, failed)


__all__ = ["fetch_many"]
