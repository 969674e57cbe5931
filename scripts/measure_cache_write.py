"""What the cache write of a fleet pull costs, and how much of that is this VM's free page reporting.

The VM hands memory freed some seconds ago back to its host (virtio-balloon free page reporting,
``page_reporting`` on the kernel command line); touching such a page again costs a host fault.
A cache write puts 2.5 MB of new page cache in memory per measurement, so it pays that fault on
every page unless the kernel has unreported free pages to give (memory freed a moment ago).

Part 1 writes ``--count`` parquet byte strings of a fleet measurement's size (the fleet's own
files when ``make bench`` stored them, else generated) into a new directory, four ways:

* ``store fresh``: through the client's cache write (``ionworks._cache.store_table`` with the
  bytes, the pull's own call), after ``--settle`` seconds in which this process freed nothing;
* ``store recycled``: the same, right after the previous directory of the same size was deleted
  (less than a second before), so the kernel reuses pages it has not reported yet;
* ``os.write fresh`` / ``os.write recycled``: a bare create + ``os.write`` + close per payload.

CPU per write is the writing thread's CPU time over the run divided by ``--count``; the median
of the rounds is reported.

Part 2 (``--pull``) runs the fleet pull of ``scripts/bench_fleet.py`` (``fetch_many`` of every
time series, cold cache, against its floor, in the bench's order) on the bench's fleet server, with
the cache write of this process wrapped (the library is not edited) to sum its thread CPU; it
reports wall and CPU of ours and the floor (client process and server process), the cache write's
CPU per measurement, and the share of the CPU gap it and the host-fault part of it explain.

    .venv/bin/python scripts/measure_cache_write.py --rounds 3 --pull
"""

from __future__ import annotations

import argparse
import functools
import io
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from ionworks import _cache as cache  # noqa: E402
from ionworks._cache import CacheScope, CacheSettings  # noqa: E402
from ionworks._cache.store import close_caches  # noqa: E402

MiB = 1 << 20


def thread_cpu() -> float:
    """Seconds of CPU (user + system) of the calling thread, to the nanosecond
    (``getrusage(RUSAGE_THREAD)`` counts in scheduler ticks of 4 ms)."""
    return time.thread_time()


def payloads(count: int) -> list[bytes]:
    """``count`` distinct parquet byte strings of a fleet measurement (100k rows, 8 columns)."""
    from bench_fleet import EIGHT, FLEET_HOME

    stored = sorted((FLEET_HOME / "data").glob("storage/measurements/*/time_series.parquet"))
    if len(stored) >= count:
        return [path.read_bytes() for path in stored[:count]]
    from ionworks._dataframe import write_parquet_bytes
    from ionworks_server.demo_series import long_series

    one = write_parquet_bytes(long_series(100_000, seed=1).select(EIGHT))
    return [bytes(bytearray(one)) for _ in range(count)]  # each its own memory


def store_all(data: list[bytes], directory: Path) -> list[float]:
    """Per-write CPU of the client's cache write of each payload into a new cache."""
    scope = CacheScope.for_client("http://127.0.0.1:1", "measure")
    settings = CacheSettings.create(directory=directory)
    cache.store_json(scope, "open", "measurement", {}, settings=settings)  # open it first
    costs = []
    for index, payload in enumerate(data):
        started = thread_cpu()
        stored = cache.store_table(scope, f"m{index}", "time_series", payload, settings=settings)
        costs.append(thread_cpu() - started)
        assert stored, "the cache refused the write"
    return costs


def bare_all(data: list[bytes], directory: Path) -> list[float]:
    """Per-write CPU of a bare create + ``os.write`` + close of each payload."""
    directory.mkdir()
    costs = []
    for index, payload in enumerate(data):
        started = thread_cpu()
        fd = os.open(directory / f"{index}.val", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        try:
            os.write(fd, payload)
        finally:
            os.close(fd)
        costs.append(thread_cpu() - started)
    return costs


def remove(directory: Path) -> None:
    close_caches()
    shutil.rmtree(directory)


def writes(data: list[bytes], rounds: int, settle: float, scratch: Path) -> dict[str, list[float]]:
    """Median per-write CPU of each of the four ways, in every round (module docstring)."""
    ways: dict[str, Callable[[list[bytes], Path], list[float]]] = {
        "store": store_all,
        "os.write": bare_all,
    }
    results: dict[str, list[float]] = {}
    for round_ in range(rounds):
        order = list(ways.items()) if round_ % 2 == 0 else list(reversed(ways.items()))
        for name, way in order:
            time.sleep(settle)  # nothing of ours freed meanwhile: new memory is reported memory
            fresh = way(data, scratch / "fresh")
            remove(scratch / "fresh")  # its pages are free, not yet reported...
            recycled = way(data, scratch / "recycled")  # ...and taken again at once
            remove(scratch / "recycled")
            for condition, costs in (("fresh", fresh), ("recycled", recycled)):
                results.setdefault(f"{name} {condition}", []).append(statistics.mean(costs))
            print(
                f"  round {round_ + 1}: {name:<9} fresh {statistics.mean(fresh) * 1e3:5.2f} ms, "
                f"recycled {statistics.mean(recycled) * 1e3:5.2f} ms per write",
                flush=True,
            )
    return results


# ------------------------------------------------------------------ part 2: the pull


def server_cpu(pid: int) -> float:
    """Seconds of CPU the server process has used (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class WriteMeter:
    """Wraps the cache write the pull calls (``ionworks._cache.store_table``, looked up by the
    read-through path at call time) to sum the CPU of the threads running it."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0
        self._lock = threading.Lock()

    @contextmanager
    def installed(self) -> Iterator[None]:
        original = cache.store_table

        @functools.wraps(original)
        def measured(*args: Any, **kwargs: Any) -> bool:
            started = thread_cpu()
            try:
                return original(*args, **kwargs)
            finally:
                spent = thread_cpu() - started
                with self._lock:
                    self.seconds += spent
                    self.calls += 1

        cache.store_table = measured
        try:
            yield
        finally:
            cache.store_table = original


def timed(fn: Callable[[], None], pid: int) -> tuple[float, float, float]:
    """(wall, client CPU, server CPU) seconds of one call."""
    import gc

    gc.collect()
    wall, client, server = time.perf_counter(), time.process_time(), server_cpu(pid)
    fn()
    return (time.perf_counter() - wall, time.process_time() - client, server_cpu(pid) - server)


def pull(rounds: int, scratch: Path) -> dict[str, Any]:
    """The bench's pull case, each run measured, the cache write metered (module docstring)."""
    import httpx
    from bench_fleet import CONCURRENCY, Fleet, FleetServer

    from ionworks import Ionworks

    server = FleetServer(persistent=True)
    try:
        bench = SimpleNamespace(tmp=scratch, repeats=rounds, smoke=False)
        fleet = Fleet(bench, server, paired=lambda *a, **k: (0.0, 0.0))
        urls = [fleet.signed_url(mid) for mid in fleet.ids]
        bare = httpx.Client(timeout=300)
        meter = WriteMeter()
        samples: dict[str, list[tuple[float, float, float]]] = {"ours": [], "floor": []}
        writes_cpu: list[float] = []
        caches: list[Path] = []

        def fresh() -> Ionworks:  # the bench's setup: the previous cache deleted, a new one
            for old in caches:
                shutil.rmtree(old, ignore_errors=True)
            caches[:] = [Path(tempfile.mkdtemp(prefix="fleet-cache-", dir=scratch))]
            return Ionworks(api_key=fleet.key, api_url=fleet.url, cache_dir=caches[0])

        def floor() -> None:  # the bench's floor, as written there
            def one(url: str) -> pl.DataFrame:
                return pl.read_parquet(io.BytesIO(bare.get(url).content))

            with ThreadPoolExecutor(CONCURRENCY) as pool:
                assert len(list(pool.map(one, urls))) == len(urls)

        for _ in range(rounds):
            client = fresh()

            def ours(client: Ionworks = client) -> None:
                result = client.cell_measurement.fetch_many(
                    fleet.ids, tables=("time_series",), concurrency=CONCURRENCY
                )
                assert result.ok and len(result) == len(fleet.ids), result.failed

            meter.seconds, meter.calls = 0.0, 0
            with meter.installed():
                samples["ours"].append(timed(ours, server.process.pid))
            assert meter.calls == len(fleet.ids), meter.calls
            writes_cpu.append(meter.seconds)
            fresh()
            samples["floor"].append(timed(floor, server.process.pid))
        count = len(fleet.ids)
    finally:
        server.close()
    median = {
        who: tuple(statistics.median(s[i] for s in runs) for i in range(3))
        for who, runs in samples.items()
    }
    return {"median": median, "writes": statistics.median(writes_cpu), "count": count}


def report(results: dict[str, list[float]], pulled: dict[str, Any] | None, count: int) -> None:
    per = {name: statistics.median(values) for name, values in results.items()}
    print(f"\nCPU per write, mean of {count} writes (median of the rounds):")
    for name, seconds in per.items():
        print(f"  {name:<20}{seconds * 1e3:7.2f} ms")
    fault = per["store fresh"] - per["store recycled"]
    print(
        f"  fresh - recycled: store {fault * 1e3:.2f} ms, os.write "
        f"{(per['os.write fresh'] - per['os.write recycled']) * 1e3:.2f} ms (the host faults); "
        f"store - os.write, recycled: {(per['store recycled'] - per['os.write recycled']) * 1e3:.2f}"
        " ms (the cache's own work)"
    )
    if pulled is not None:
        report_pull(pulled, per["store recycled"])


def report_pull(pulled: dict[str, Any], recycled: float | None) -> None:
    """The pull's medians, and the share of its CPU gap the cache write (and, given the
    recycled cost per write from part 1, its host faults) explain."""
    (ow, oc, os_), (fw, fc, fs) = pulled["median"]["ours"], pulled["median"]["floor"]
    n, write = pulled["count"], pulled["writes"]
    gap = (oc + os_) - (fc + fs)
    print(f"\nThe pull ({n} time series, bench order, medians):")
    print(f"  {'':<8}{'wall':>9}{'client CPU':>12}{'server CPU':>12}")
    for who, (w, c, s) in (("ours", (ow, oc, os_)), ("floor", (fw, fc, fs))):
        print(f"  {who:<8}{w:8.2f}s{c:11.2f}s{s:11.2f}s")
    print(
        f"  wall ratio {ow / fw:.2f}x; CPU gap (client + server) {gap:.2f} s\n"
        f"  cache write in the pull: {write:.2f} s CPU ({write / n * 1e3:.2f} ms per measurement),"
        f" {write / gap:.0%} of the CPU gap"
    )
    if recycled is not None:
        above = write - n * recycled
        print(
            f"  of which above the recycled cost ({recycled * 1e3:.2f} ms/write): "
            f"{above:.2f} s, {above / gap:.0%} of the CPU gap"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--settle", type=float, default=10.0, help="seconds before a fresh run")
    parser.add_argument("--pull", action="store_true", help="also meter the bench's pull")
    parser.add_argument("--only-pull", action="store_true", help="the pull alone (no part 1)")
    args = parser.parse_args()
    if args.only_pull:
        with tempfile.TemporaryDirectory(prefix="ionworks-cache-write-") as tmp:
            report_pull(pull(args.rounds, Path(tmp)), None)
        return 0
    data = payloads(args.count)
    size = statistics.mean(len(d) for d in data)
    print(f"{args.count} payloads of {size / MiB:.2f} MiB; {args.rounds} rounds")
    with tempfile.TemporaryDirectory(prefix="ionworks-cache-write-") as tmp:
        results = writes(data, args.rounds, args.settle, Path(tmp))
        del data
        pulled = pull(args.rounds, Path(tmp)) if args.pull else None
    report(results, pulled, args.count)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
