"""CPU of one API request, on the server and in the client: the redirect of a table download
(``GET /cell_measurements/{id}/time_series/download``, 200 of which start a fleet pull) and the
other calls ``detail()`` makes.

A fresh ``ionworks serve`` (one process, SQLite, a hand-chosen key as ``make bench`` uses) with
one small time series. Each round sends ``--requests`` requests per call on ``--threads``
threads, first through a bare ``httpx.Client`` (the floor of a client's CPU), then through the
client's own call path (``_call`` of the generated operation: retries, deadline, error hook,
response decoding); rounds interleave the two. Server CPU is the server process's utime+stime
(``/proc``) over the requests; client CPU is this process's CPU over the same (nothing else runs
in it meanwhile). Medians of the rounds.

    .venv/bin/python scripts/measure_api_request.py --rounds 7 --requests 1000
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from server_process import start_server  # noqa: E402

from ionworks import Ionworks  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> float:
    """Seconds of CPU (user + system) the process ``pid`` has used, its threads included."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def seed(client: Ionworks) -> str:
    """A spec, an instance and one processed 2,000-row time series; its id."""
    from ionworks_server.demo_series import long_series

    spec = client.cell_spec.create({"name": f"api-cost-{os.getpid()}"})
    instance = client.cell_instance.create(spec.id, {"name": "cell"})
    body = {"measurement": {"name": "series"}, "time_series": long_series(2_000, seed=1)}
    return str(client.cell_measurement.create(instance.id, body).measurement.id)


def calls(
    client: Ionworks, raw: httpx.Client, mid: str
) -> dict[str, tuple[Callable[[], Any], ...]]:
    """Per call: (bare httpx, the client's path), each one request answering as the API does."""
    from ionworks_generated.api.cell_measurements import (
        download_time_series,
        get_cell_measurement,
        get_cycles,
    )

    measurements: Any = client.cell_measurement
    base = f"/cell_measurements/{mid}"

    def bare(path: str, status: int) -> Callable[[], Any]:
        def one() -> None:
            response = raw.get(path)
            assert response.status_code == status, (path, response.status_code)

        return one

    return {
        "time_series/download (302)": (
            bare(f"{base}/time_series/download", 302),
            lambda: measurements._call(download_time_series, mid),
        ),
        "GET measurement (JSON)": (
            bare(base, 200),
            lambda: measurements._call(get_cell_measurement, mid),
        ),
        "cycles (JSON)": (bare(f"{base}/cycles", 200), lambda: measurements._call(get_cycles, mid)),
    }


def burst(
    fn: Callable[[], Any], requests: int, threads: int, server_pid: int
) -> tuple[float, float]:
    """(server CPU, client CPU) in microseconds per request over ``requests`` calls of ``fn``."""
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda _: fn(), range(threads * 2)))  # connections open, threads started
        server0, client0 = process_cpu(server_pid), time.process_time()
        list(pool.map(lambda _: fn(), range(requests)))
        client1, server1 = time.process_time(), process_cpu(server_pid)
    return (server1 - server0) / requests * 1e6, (client1 - client0) / requests * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--only", default="", help="measure only the calls whose name has this")
    args = parser.parse_args()
    key = f"bench-{os.urandom(9).hex()}"
    with tempfile.TemporaryDirectory(prefix="ionworks-api-cost-") as tmp:
        server = start_server(Path(tmp) / "data", key)
        try:
            client = Ionworks(api_key=key, api_url=server.url, cache_dir=Path(tmp) / "cache")
            raw = httpx.Client(base_url=server.url, headers={"X-API-Key": key}, timeout=60)
            mid = seed(client)
            table = {k: v for k, v in calls(client, raw, mid).items() if args.only in k}
            samples: dict[tuple[str, str], list[tuple[float, float]]] = {}
            for _ in range(args.rounds):
                for name, (bare_fn, ours_fn) in table.items():
                    for who, fn in (("httpx", bare_fn), ("ours", ours_fn)):
                        cost = burst(fn, args.requests, args.threads, server.process.pid)
                        samples.setdefault((name, who), []).append(cost)
        finally:
            server.stop()
    print(
        f"CPU per request, median of {args.rounds} rounds of {args.requests} on "
        f"{args.threads} threads (us):"
    )
    print(f"  {'call':<30}{'sent by':>8}{'client CPU':>12}{'server CPU':>12}")
    for (name, who), values in samples.items():
        server_us = statistics.median(v[0] for v in values)
        client_us = statistics.median(v[1] for v in values)
        print(f"  {name:<30}{who:>8}{client_us:12.0f}{server_us:12.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
