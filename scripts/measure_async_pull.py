"""AsyncIonworks' fleet pull against its floor and against the sync client, in one run.

Starts a demo server on loopback, then, interleaved and repeated (medians): the async floor
(raw ``httpx.AsyncClient`` redirect + signed GET + parquet decode in a thread, 8 at a time),
``await AsyncIonworks.cell_measurement.fetch_many`` and the sync ``fetch_many`` (8 threads), all
of the time series of the NCM622 demo cells with ``use_cache=False``. Each is timed by the wall
clock and by this process's CPU time (the server runs apart, so CPU time is the client's own
cost and is less noisy than the wall clock on a shared machine).

    .venv/bin/python scripts/measure_async_pull.py [--repeats 9]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import httpx
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from server_process import start_server

from ionworks import AsyncIonworks, Ionworks

CONCURRENCY = 8
NAMES = ("floor", "async", "sync")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    repeats = parser.parse_args().repeats
    data = Path(tempfile.mkdtemp(prefix="async-pull-"))
    server = start_server(data / "data", "bench-key-0123456789", demo=True)
    try:
        keys: dict[str, Any] = {"api_key": server.api_key, "api_url": server.url}
        sync = Ionworks(**keys, cache_dir=data / "sync")
        ids = [
            m.id
            for spec in sync.cell_spec.list(name="NCM622", limit=50)
            for cell in sync.cell_instance.list_all(spec.id)
            for m in sync.cell_measurement.list_all(cell.id, measurement_type="time_series")
        ]
        wall, cpu = anyio.run(_rounds, sync, keys, server.url, ids, repeats, data)
    finally:
        server.stop()
    print(f"{len(ids)} time series, {repeats} rounds (medians)")
    for clock, times in (("wall", wall), ("cpu", cpu)):
        floor, ours, threads = (statistics.median(times[name]) for name in NAMES)
        print(
            f"  {clock:4}: async floor {floor * 1000:.1f} ms, "
            f"async fetch_many {ours * 1000:.1f} ms ({ours / floor:.2f}x the floor), "
            f"sync fetch_many {threads * 1000:.1f} ms (async/sync {ours / threads:.2f})"
        )


async def _rounds(
    sync: Ionworks, keys: dict[str, Any], url: str, ids: list[str], repeats: int, data: Path
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    wall: dict[str, list[float]] = {name: [] for name in NAMES}
    cpu: dict[str, list[float]] = {name: [] for name in NAMES}
    headers = {"X-API-Key": keys["api_key"]}
    async with (
        AsyncIonworks(**keys, cache_dir=data / "async") as client,
        httpx.AsyncClient(base_url=url, headers=headers) as api,
        httpx.AsyncClient() as storage,
    ):

        async def floor() -> None:
            slots = anyio.Semaphore(CONCURRENCY)

            async def one(mid: str) -> None:
                async with slots:
                    redirect = await api.get(f"/cell_measurements/{mid}/time_series/download")
                    target = httpx.URL(url).join(redirect.headers["Location"])
                    body = (await storage.get(target)).content
                    await anyio.to_thread.run_sync(lambda: pl.read_parquet(io.BytesIO(body)))

            async with anyio.create_task_group() as group:
                for mid in ids:
                    group.start_soon(one, mid)

        async def ours() -> None:
            pulled = await client.cell_measurement.fetch_many(
                ids, tables=["time_series"], concurrency=CONCURRENCY, use_cache=False
            )
            assert pulled.ok, pulled.failed

        async def threaded() -> None:
            pulled = sync.cell_measurement.fetch_many(
                ids, tables=["time_series"], concurrency=CONCURRENCY, use_cache=False
            )
            assert pulled.ok, pulled.failed

        runs: dict[str, Callable[[], Awaitable[None]]] = {
            "floor": floor,
            "async": ours,
            "sync": threaded,
        }
        for round_ in range(repeats + 1):  # round 0 warms connections, threads and imports
            for name, run in runs.items():
                started, used = time.perf_counter(), time.process_time()
                await run()
                if round_:
                    wall[name].append(time.perf_counter() - started)
                    cpu[name].append(time.process_time() - used)
    return wall, cpu


if __name__ == "__main__":
    main()
