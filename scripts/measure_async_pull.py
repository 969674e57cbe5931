"""AsyncIonworks' fleet pull against its floor and against the sync client, in one run.

Starts a demo server on loopback, then, for each table (the time series, the steps, the cycles),
interleaved and repeated (medians): the async floor (raw ``httpx.AsyncClient`` requests, the
redirect followed to the signed URL, the body decoded in a thread: parquet by polars, the
cycles' JSON by orjson into a frame; 8 at a time), ``await
AsyncIonworks.cell_measurement.fetch_many`` and the sync ``fetch_many`` (8 threads), over every
time-series measurement of the NCM622 demo cells with ``use_cache=False``. Each is timed by the
wall clock and by this process's CPU time (the server runs apart, so CPU time is the client's own
cost and is less noisy than the wall clock on a shared machine).

    .venv/bin/python scripts/measure_async_pull.py [--repeats 9] [--tables time_series,cycles]
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
import orjson
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from server_process import start_server

from ionworks import AsyncIonworks, Ionworks

CONCURRENCY = 8
NAMES = ("floor", "async", "sync")
TABLES = ("time_series", "steps", "cycles")
Times = dict[str, dict[str, list[float]]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--tables", default=",".join(TABLES), help="comma-separated")
    args = parser.parse_args()
    tables = [name for name in args.tables.split(",") if name]
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
        results = {
            table: anyio.run(_rounds, sync, keys, server.url, ids, table, args.repeats, data)
            for table in tables
        }
    finally:
        server.stop()
    print(f"{len(ids)} measurements, {args.repeats} rounds each (medians)")
    for table, times in results.items():
        for clock in ("wall", "cpu"):
            floor, ours, threads = (statistics.median(times[clock][name]) for name in NAMES)
            print(
                f"  {table:11} {clock:4}: async floor {floor * 1000:6.1f} ms, "
                f"async fetch_many {ours * 1000:6.1f} ms ({ours / floor:.2f}x the floor), "
                f"sync fetch_many {threads * 1000:6.1f} ms (async/sync {ours / threads:.2f})"
            )


def _decode(table: str, body: bytes) -> pl.DataFrame:
    if table == "cycles":
        return pl.DataFrame(orjson.loads(body)["cycles"])
    return pl.read_parquet(io.BytesIO(body))


def _path(table: str, mid: str) -> str:
    if table == "cycles":
        return f"/cell_measurements/{mid}/cycles"
    return f"/cell_measurements/{mid}/{table}/download"


async def _rounds(
    sync: Ionworks,
    keys: dict[str, Any],
    url: str,
    ids: list[str],
    table: str,
    repeats: int,
    data: Path,
) -> Times:
    times: Times = {clock: {name: [] for name in NAMES} for clock in ("wall", "cpu")}
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
                    answer = await api.get(_path(table, mid))
                    if answer.is_redirect:
                        target = httpx.URL(url).join(answer.headers["Location"])
                        answer = await storage.get(target)
                    body = answer.raise_for_status().content
                    await anyio.to_thread.run_sync(_decode, table, body)

            async with anyio.create_task_group() as group:
                for mid in ids:
                    group.start_soon(one, mid)

        async def ours() -> None:
            pulled = await client.cell_measurement.fetch_many(
                ids, tables=[table], concurrency=CONCURRENCY, use_cache=False
            )
            assert pulled.ok, pulled.failed

        async def threaded() -> None:
            pulled = sync.cell_measurement.fetch_many(
                ids, tables=[table], concurrency=CONCURRENCY, use_cache=False
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
                    times["wall"][name].append(time.perf_counter() - started)
                    times["cpu"][name].append(time.process_time() - used)
    return times


if __name__ == "__main__":
    main()
