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

``--requests`` measures instead where the async client's extra CPU per table goes: the CPU of one
storage GET (a demo steps file), one request at a time, through each layer of both stacks (the
clients' storage clients, plain httpx clients over the same network backends, bare httpcore
pools), interleaved rounds, medians.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import io
import socket
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
    parser.add_argument("--requests", action="store_true", help="CPU per request, by layer")
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
        if args.requests:
            _requests(sync, keys, server.url, ids[0], args.repeats, data)
            return
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


def _requests(
    sync: Ionworks, keys: dict[str, Any], url: str, mid: str, repeats: int, data: Path
) -> None:
    """CPU per storage GET through each layer of the sync and the async stacks."""
    import httpcore

    from ionworks._async_net import AsyncioBackend, async_transport

    answer = sync._http.get(f"/cell_measurements/{mid}/steps/download")
    target = str(httpx.URL(url).join(answer.headers["Location"]))
    count, times = 100, collections.defaultdict(list)

    def timed(name: str, get: Callable[[], object]) -> None:
        get()
        used = time.process_time()
        for _ in range(count):
            get()
        times[name].append((time.process_time() - used) / count)

    async def asynchronous() -> None:
        async with (
            AsyncIonworks(**keys, cache_dir=data / "requests") as client,
            httpx.AsyncClient(transport=async_transport()) as plain,
            httpcore.AsyncConnectionPool(network_backend=AsyncioBackend()) as pool,
        ):
            for name, get in (
                ("async client's storage client", lambda: client._storage.get(target)),
                ("httpx.AsyncClient, our backend", lambda: plain.get(target)),
                ("httpcore async pool, our backend", lambda: pool.request("GET", target)),
            ):
                await get()
                used = time.process_time()
                for _ in range(count):
                    await get()
                times[name].append((time.process_time() - used) / count)

    parts = httpx.URL(target)
    request = f"GET {parts.raw_path.decode()} HTTP/1.1\r\nHost: {parts.netloc.decode()}\r\n\r\n"

    async def streams() -> None:  # the floor of asyncio: its streams, HTTP parsed by hand
        reader, writer = await asyncio.open_connection(parts.host, parts.port)
        used = time.process_time()
        for _ in range(count):
            writer.write(request.encode())
            await reader.readexactly(_length(await reader.readuntil(b"\r\n\r\n")))
        times["asyncio streams (no HTTP library)"].append((time.process_time() - used) / count)
        writer.close()

    def blocking() -> None:  # the floor of the sync stack: a blocking socket
        with socket.create_connection((parts.host, parts.port)) as sock:
            file = sock.makefile("rb")
            used = time.process_time()
            for _ in range(count):
                sock.sendall(request.encode())
                head = b""
                while not head.endswith(b"\r\n\r\n"):
                    head += file.readline()
                file.read(_length(head))
            times["blocking socket (no HTTP library)"].append((time.process_time() - used) / count)

    with httpx.Client() as plain, httpcore.ConnectionPool() as pool:
        for _ in range(repeats):
            timed("sync client's storage client", lambda: sync._storage.get(target))
            timed("httpx.Client", lambda: plain.get(target))
            timed("httpcore sync pool", lambda: pool.request("GET", target))
            blocking()
            anyio.run(asynchronous)
            asyncio.run(streams())
    print(f"CPU per storage GET of a {len(sync._storage.get(target).content)}-byte body, medians:")
    for name, values in times.items():
        print(f"  {name:34} {statistics.median(values) * 1e6:6.0f} us")


def _length(head: bytes) -> int:
    """The Content-Length of a response head."""
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    raise ValueError("no Content-Length")


if __name__ == "__main__":
    main()
