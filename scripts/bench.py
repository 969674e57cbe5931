"""``make bench``: our client against the physical floor, as ratios measured in one run.

Starts a local server on loopback with the demo data plus one long measurement, runs each case
(ours and its floor interleaved, medians over repeats), prints one table and writes
``bench-results.json``. ``--smoke`` runs every case on tiny data so the harness cannot rot.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import secrets
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from run_demo import free_port, start_server, stop, wait_until_ready  # noqa: E402

import ionworks  # noqa: E402
from ionworks import Ionworks  # noqa: E402


@dataclass
class Case:
    name: str
    ours: float
    floor: float
    target: str
    ok: bool | None
    note: str = ""
    unit: str = "ms"

    @property
    def ratio(self) -> float:
        return self.ours / self.floor if self.floor else float("nan")


def show(value: float, unit: str) -> str:
    """Seconds as milliseconds, bytes as megabytes."""
    return f"{value * 1000:9.1f} ms" if unit == "ms" else f"{value / 1e6:9.1f} MB"


def median_time(
    fn: Callable[[], Any], repeats: int, setup: Callable[[], Any] | None = None
) -> float:
    samples = []
    for _ in range(repeats):
        if setup is not None:
            setup()
        gc.collect()
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def paired(
    ours: Callable[[], Any],
    floor: Callable[[], Any],
    repeats: int,
    setup: Callable[[], Any] | None = None,
) -> tuple[float, float]:
    """Interleave ours and the floor so machine noise hits both alike; return both medians."""
    a: list[float] = []
    b: list[float] = []
    for _ in range(repeats):
        for fn, out in ((ours, a), (floor, b)):
            if setup is not None:
                setup()
            gc.collect()
            start = time.perf_counter()
            fn()
            out.append(time.perf_counter() - start)
    return statistics.median(a), statistics.median(b)


def subprocess_median(code: str, repeats: int, env: dict[str, str] | None = None) -> float:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, env=env)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


class Recorder:
    """Collects cases and prints each as it is measured."""

    def __init__(self, smoke: bool) -> None:
        self.smoke = smoke
        self.cases: list[Case] = []

    def add(
        self,
        name: str,
        ours: float,
        floor: float,
        target: float | None,
        note: str = "",
        unit: str = "ms",
    ) -> None:
        ratio = ours / floor if floor else float("nan")
        ok = None if target is None else ratio <= target
        label = "report" if target is None else f"<= {target}x"
        self.cases.append(Case(name, ours, floor, label, ok, note, unit))
        print(
            f"  {name:<40} ours {show(ours, unit)}  floor {show(floor, unit)}  {ratio:5.2f}x  {label}"
        )

    def attempt(self, case: Callable[[], None]) -> None:
        try:
            case()
        except Exception as exc:  # one broken case must not hide the others
            self.cases.append(
                Case(case.__name__, float("nan"), float("nan"), "error", False, repr(exc))
            )
            print(f"  {case.__name__}: FAILED {exc!r}")


# Server-side processing cases run on a fresh server without demo data, so its VmHWM is the
# high-water mark of that case alone.


def proc_status(pid: int, field: str) -> int:
    """A memory field of /proc/<pid>/status (VmRSS, VmHWM) in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def parquet_of(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer, compression="zstd")
    return buffer.getvalue()


def bomb_parquet(rows: int) -> bytes:
    """``rows`` rows of constant columns: about 13 KB per million rows on disk."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    group = 1_000_000
    table = pa.table(
        {
            "Time [s]": np.zeros(group),
            "Current [A]": np.zeros(group),
            "Voltage [V]": np.full(group, 3.7),
        }
    )
    buffer = io.BytesIO()
    with pq.ParquetWriter(buffer, table.schema, compression="zstd") as writer:
        for start in range(0, rows, group):
            writer.write_table(table.slice(0, min(group, rows - start)))
    return buffer.getvalue()


def series(rows: int, seed: int) -> pl.DataFrame:
    from ionworks_server.demo_data import long_series

    return long_series(rows, seed=seed)


class FreshServer:
    """A server with an empty data dir, one specification and one instance to upload to."""

    def __init__(self) -> None:
        self.dir = tempfile.TemporaryDirectory(prefix="ionworks-bench-proc-")
        port, key = free_port(), f"bench-{secrets.token_urlsafe(12)}"
        self.url = f"http://127.0.0.1:{port}"
        self.log = Path(self.dir.name) / "server.log"
        with self.log.open("wb") as log:
            self.process = start_server(port, key, str(Path(self.dir.name) / "data"), log=log)
        self.http = httpx.Client(base_url=self.url, headers={"X-API-Key": key}, timeout=300)
        try:
            wait_until_ready(self.url, self.process, timeout=120)
        except SystemExit as exc:
            raise RuntimeError(f"{exc}: {self.log.read_text()[-2000:]}") from None
        spec = self.http.post("/cell_specifications", json={"name": "bench-spec"}).json()
        instance = self.http.post(
            f"/cell_specifications/{spec['id']}/cell_instances", json={"name": "bench-cell"}
        ).json()
        self.instance_id = instance["id"]
        self.names = iter(range(10**6))

    def __enter__(self) -> FreshServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()
        stop(self.process)
        self.dir.cleanup()

    def memory(self, field: str) -> int:
        return proc_status(self.process.pid, field)

    def upload(self, data: bytes) -> tuple[str, float]:
        """initiate, PUT, confirm; the measurement id and the time confirm returned."""
        body = {"measurement": {"name": f"bench-{next(self.names)}"}}
        initiated = self.http.post(
            f"/cell_instances/{self.instance_id}/cell_measurements/initiate-upload", json=body
        ).json()
        target = initiated["uploads"][0]["signed_url"]
        put = httpx.put(target, content=data, timeout=300)
        assert put.status_code == 200, put.text
        mid = initiated["measurement_id"]
        confirm = self.http.post(
            f"/cell_measurements/{mid}/confirm-upload",
            json={"cell_instance_id": self.instance_id, **body, "measurement_type": "time_series"},
        )
        assert confirm.status_code == 201, confirm.text
        return mid, time.perf_counter()

    def wait(self, mid: str, timeout: float = 600) -> tuple[dict[str, Any], float]:
        """Poll until processed; the final body and when it was first seen so."""
        return self.wait_all([mid], timeout)[mid]

    def wait_all(
        self, ids: list[str], timeout: float = 600
    ) -> dict[str, tuple[dict[str, Any], float]]:
        """Poll all of ``ids`` in turn until each is processed (so the order they end is seen)."""
        deadline = time.monotonic() + timeout
        done: dict[str, tuple[dict[str, Any], float]] = {}
        while len(done) < len(ids):
            for mid in ids:
                if mid in done:
                    continue
                body: dict[str, Any] = self.http.get(
                    f"/cell_measurements/{mid}",
                    params={"include_steps": "false", "include_time_series": "false"},
                ).json()
                if body["processing_status"] not in ("pending", "running"):
                    done[mid] = (body, time.perf_counter())
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"still processing after {timeout:.0f} s: {set(ids) - set(done)}"
                )
            time.sleep(0.01)
        return done


def cycles_table(cycles: int, seed: int) -> pl.DataFrame:
    """A cycles table with every column of the API's, its capacity fading to a knee."""
    import numpy as np

    from ionworks.data.columns import CYCLE_COUNT, CYCLES, DISCHARGE_CAPACITY

    rng = np.random.default_rng(seed)
    c = np.arange(cycles)
    knee = cycles * rng.uniform(0.4, 0.8)
    fade = np.where(c <= knee, 1e-4 * c, 1e-4 * knee + 5e-4 * (c - knee))
    columns: dict[str, np.ndarray[Any, Any]] = {name: rng.random(cycles) for name in CYCLES}
    columns[CYCLE_COUNT] = c
    columns[DISCHARGE_CAPACITY] = 5.0 * (1 - fade) + rng.normal(0, 5e-4, cycles)
    return pl.DataFrame(columns)


class ProcessingBench(Recorder):
    """Server-side processing, each case on a fresh server: memory, bombs, small behind big."""

    def processing_memory(self) -> None:
        """Server peak RSS while processing a large upload, against its decoded frame."""
        rows = 20_000 if self.smoke else 2_000_000
        frame = series(rows, seed=7)
        data = parquet_of(frame)
        with FreshServer() as server:
            idle = server.memory("VmRSS")
            mid, _ = server.upload(data)
            body, _ = server.wait(mid)
            peak = server.memory("VmHWM")
        assert body["processing_status"] == "ready", body
        decoded = frame.estimated_size()
        self.add(
            f"server peak RSS, processing {rows:,} rows",
            peak,
            decoded,
            2.5,
            f"floor: the decoded frame ({len(data) / 1e6:.0f} MB as parquet); idle server "
            f"{idle / 1e6:.0f} MB; peak above idle {(peak - idle) / decoded:.2f}x the frame",
            unit="MB",
        )

    def bomb_refused(self) -> None:
        """A tiny file that decodes to 100 million rows is refused fast, in little memory."""
        rows = 100_000_000
        data = bomb_parquet(rows)
        small = parquet_of(series(1_000, seed=9))
        with FreshServer() as server:
            mid, confirmed = server.upload(data)
            body, done = server.wait(mid)
            peak = server.memory("VmHWM")
            small_id, small_confirmed = server.upload(small)
            _, small_done = server.wait(small_id)
        refused = done - confirmed
        self.add(
            f"{len(data) / 1e6:.1f} MB file of {rows / 1e6:.0f}M rows refused",
            refused,
            small_done - small_confirmed,
            None,
            f"{body['processing_status']}, server peak RSS {peak / 1e6:.0f} MB (targets: < 1 s, "
            "< 500 MB); floor: a 1,000-row upload processed",
        )
        self.cases[-1].ok = body["processing_status"] == "failed" and refused < 1 and peak < 5e8

    def small_behind_big(self) -> None:
        """A small upload confirmed just after a big one is not queued behind it."""
        big_rows = 300_000 if self.smoke else 4_000_000
        big = parquet_of(series(big_rows, seed=8))
        small = parquet_of(series(1_000, seed=9))
        with FreshServer() as server:
            alone_id, alone_confirmed = server.upload(small)
            _, alone_done = server.wait(alone_id)
            big_id, big_confirmed = server.upload(big)
            small_id, small_confirmed = server.upload(small)
            finished = server.wait_all([small_id, big_id])
        (_, small_done), (big_body, big_done) = finished[small_id], finished[big_id]
        assert big_body["processing_status"] == "ready", big_body
        first = "the small one" if small_done < big_done else "the big one"
        self.add(
            "1k-row upload confirmed behind a big one",
            small_done - small_confirmed,
            alone_done - alone_confirmed,
            None,
            f"floor: the same upload on an idle server; the {big_rows:,}-row one took "
            f"{big_done - big_confirmed:.2f} s; {first} finished first",
        )

    def steps_summary(self) -> None:
        """``steps.summarize`` + ``cycles.get_cycle_metrics`` against one polars group_by pass
        computing the same aggregates (first/last, deltas, min/max/std/mean) per step."""
        from ionworks.data.cycles import get_cycle_metrics
        from ionworks.data.steps import summarize

        rows = 20_000 if self.smoke else 10_000_000
        frame = series(rows, seed=11)
        v, i = pl.col("Voltage [V]"), pl.col("Current [A]")
        deltas = [
            (pl.col(c).last() - pl.col(c).first()).alias(c)
            for c in frame.columns
            if c.endswith(("capacity [A.h]", "energy [W.h]"))
        ]
        spreads = [
            agg.alias(f"{name} {k}")
            for name, e in (("v", v), ("i", i), ("p", v * i))
            for k, agg in enumerate((e.min(), e.max(), e.std(), e.mean()))
        ]
        firsts = [pl.col(c).first() for c in ("Time [s]", "Voltage [V]", "Cycle count")]
        lasts = [pl.col(c).last().alias(f"{c} last") for c in ("Time [s]", "Voltage [V]")]

        # A step is a run of sorted counts and summarize groups it as one (a column marked sorted:
        # polars reduces slices instead of gathering hashed rows), so the floor's key is marked
        # too. (Marking the key expression itself, group_by(col.set_sorted()), is not enough.)
        sorted_steps = pl.col("Step count").set_sorted()

        def floor() -> pl.DataFrame:
            aggs = [*firsts, *lasts, *deltas, *spreads]
            lazy = frame.lazy().with_columns(sorted_steps)
            return lazy.group_by("Step count").agg(aggs).collect()

        ours, floor_t = paired(
            lambda: get_cycle_metrics(summarize(frame)), floor, 1 if self.smoke else 3
        )
        self.add(
            f"steps + cycles ({rows:,} rows)",
            ours,
            floor_t,
            1.5,
            "floor: one polars group_by (sorted key) computing the same aggregates",
        )

    def analysis_dqdv(self) -> None:
        """``analysis.dqdv`` over every cycle of a series against one polars group_by pass
        over the same rows (per cycle: mean voltage, summed current, last time).

        A cycle is a run of sorted counts and dqdv relies on that (it cuts segments where the
        count changes, no hashing), so the floor's key is marked sorted, as in
        :meth:`steps_summary`; the hashed group_by (4-7x slower on these rows) is in the note.
        """
        from ionworks.data.analysis import _kernels, dqdv, dvdq, find_peaks

        rows = 20_000 if self.smoke else 1_000_000
        frame = series(rows, seed=11)
        # numba's import and compile (or cache load) on the first call, not in the timed runs.
        path = "numba kernels" if _kernels.compiled() is not None else "numpy (no numba)"
        aggs = [pl.col("Voltage [V]").mean(), pl.col("Current [A]").sum(), pl.col("Time [s]").max()]

        def floor() -> pl.DataFrame:
            lazy = frame.lazy().with_columns(pl.col("Cycle count").set_sorted())
            return lazy.group_by("Cycle count").agg(aggs).collect()

        def hashed() -> pl.DataFrame:
            return frame.lazy().group_by("Cycle count").agg(aggs).collect()

        calls: list[Callable[[], Any]] = [lambda: dqdv(frame), floor, hashed]
        times: list[list[float]] = [[], [], []]
        for _ in range(3 if self.smoke else 9):  # all three interleaved, as paired() does
            for fn, out in zip(calls, times, strict=True):
                gc.collect()
                start = time.perf_counter()
                fn()
                out.append(time.perf_counter() - start)
        ours, floor_t, hashed_t = (statistics.median(v) for v in times)
        cycles = frame.get_column("Cycle count").n_unique()
        curve = dqdv(frame)  # unbenched neighbours, timed for the note: dvdq and find_peaks
        others = {
            "dvdq": median_time(lambda: dvdq(frame), 3),
            "find_peaks": median_time(lambda: find_peaks(curve), 3),
        }
        self.add(
            f"dqdv, every cycle ({rows:,} rows)",
            ours,
            floor_t,
            3.0,
            f"{path}; floor: one polars group_by (sorted key) over the {cycles} cycles; "
            f"{ours / hashed_t:.2f}x of a hashed group_by ({hashed_t * 1000:.1f} ms); "
            + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in others.items()),
        )

    def analysis_fleet_fade(self) -> None:
        """``capacity_fade(ionworks.scan(...))`` over a 200-measurement export, in a fresh
        process: its peak RSS above the process after imports, against the decoded size of
        the data it reads (the three columns it selects, as the scan case of bench_fleet.py
        counts them; the whole tables, 7x more, are not read). The note gives the same peak
        for plain polars reading those columns, for polars reading one 1-row parquet file (the
        library's code mapped on first use, paid by any reader built on polars), and the whole
        tables' size.

        Two more numbers are reported beside it (the target stays on the first): the same
        call's peak above a base taken after polars read an unrelated 1-row parquet file (so
        the code any parquet read maps is already in the base), and its peak of anonymous
        memory (RssAnon sampled every 1 ms above the after-import base: the data, buffers and
        threads, not the libraries' code pages)."""
        from ionworks.data.columns import CYCLE_COUNT, DISCHARGE_CAPACITY
        from ionworks.data.dataset import partition_dir

        cells, cycles = (10, 200) if self.smoke else (200, 2_000)
        with tempfile.TemporaryDirectory(prefix="ionworks-bench-fleet-") as root:
            whole: float = 0
            for n in range(cells):
                table = cycles_table(cycles, seed=n)
                directory = partition_dir(root, "spec", f"inst-{n}", f"m-{n:04d}")
                directory.mkdir(parents=True)
                table.write_parquet(directory / "cycles.parquet")
                whole += table.estimated_size()
            read = ionworks.scan(root, table="cycles").select(
                "measurement_id", CYCLE_COUNT, DISCHARGE_CAPACITY
            )
            decoded = read.collect().estimated_size()
            calls = {
                "ours": "capacity_fade(lf).height",
                "polars": f"lf.select('measurement_id', {CYCLE_COUNT!r}, "
                f"{DISCHARGE_CAPACITY!r}).collect().height",
            }
            result = {name: self._fresh_peak(root, call) for name, call in calls.items()}
            tiny = Path(root) / "one-row.parquet"  # outside the */*/*/cycles.parquet glob
            pl.DataFrame({"x": [1.0]}).write_parquet(tiny)
            one_row = self._fresh_peak(root, f"pl.read_parquet({str(tiny)!r}).height", scan=False)
            warm = self._fresh_peak(root, calls["ours"], warm_up=tiny, sample=True)
            cold = self._fresh_peak(root, calls["ours"], sample=True)
        assert result["ours"]["rows"] == warm["rows"] == cold["rows"] == cells, result
        self.add(
            f"fleet fade, {cells} measurements: peak RSS",
            result["ours"]["peak"] - result["ours"]["base"],
            decoded,
            1.0,
            f"ours: peak RSS above the process after imports; floor: the columns it reads "
            f"decoded (id, cycle, capacity x {cycles:,} cycles each); plain polars reading "
            f"them peaks at {(result['polars']['peak'] - result['polars']['base']) / 1e6:.0f} "
            f"MB; polars reading a 1-row parquet file peaks at "
            f"{(one_row['peak'] - one_row['base']) / 1e6:.0f} MB (its code, mapped on first use); "
            f"the whole tables ({table.width} columns) are {whole / 1e6:.0f} MB; "
            f"took {result['ours']['s']:.2f} s",
            unit="MB",
        )
        self.add(
            f"fleet fade, {cells} measurements: peak RSS after a warm-up read",
            warm["peak"] - warm["base"],
            decoded,
            None,
            "the peak RSS row's call, its base taken after polars read an unrelated 1-row parquet file "
            f"(code pages mapped), VmHWM reset there; anonymous memory {warm['anon'] / 1e6:.1f} MB "
            "of it",
            unit="MB",
        )
        self.add(
            f"fleet fade, {cells} measurements: peak anonymous RSS",
            cold["anon"],
            decoded,
            None,
            "the peak RSS row's call, RssAnon sampled every 1 ms above the after-import base "
            "(polars' thread pool started by the call included; the libraries' code pages not)",
            unit="MB",
        )

    @staticmethod
    def _fresh_peak(
        root: str, call: str, scan: bool = True, warm_up: Path | None = None, sample: bool = False
    ) -> dict[str, Any]:
        """``call`` on ``lf = ionworks.scan(root, table="cycles")`` (``None`` if not ``scan``)
        in a fresh process: its RSS after imports, peak RSS, result and seconds. With
        ``warm_up``, that parquet file is read first and the base and peak are taken after it
        (VmHWM reset through /proc/self/clear_refs); with ``sample``, a thread samples RssAnon
        every 1 ms, and ``anon`` is its peak above the base (the thread started before it)."""
        before = ""
        if warm_up is not None:
            before += f"pl.read_parquet({str(warm_up)!r})\n"
        if sample:
            before += (
                "sampler = threading.Thread(target=sample, daemon=True)\n"
                "sampler.start()\n"
                "stop.wait(0.01)\n"
            )
        if warm_up is not None:
            before += 'Path("/proc/self/clear_refs").write_text("5")\n'
        code = textwrap.dedent(
            """
            import json, threading, time
            from pathlib import Path
            import ionworks
            import polars as pl  # loaded by the line below anyway: the base is unchanged
            from ionworks.data.analysis import capacity_fade
            def status(field):
                for line in Path("/proc/self/status").read_text().splitlines():
                    if line.startswith(field + ":"):
                        return int(line.split()[1]) * 1024
            peak_anon, stop = [0], threading.Event()
            def sample():
                while not stop.is_set():
                    peak_anon[0] = max(peak_anon[0], status("RssAnon"))
                    stop.wait(0.001)
            """
        )
        code += before
        code += textwrap.dedent(
            f"""
            base, anon_base = status("VmRSS"), status("RssAnon")
            peak_anon[0] = anon_base
            start = time.perf_counter()
            lf = ionworks.scan({root!r}, table="cycles") if {scan!r} else None
            rows = {call}
            took = time.perf_counter() - start
            stop.set()
            anon = max(peak_anon[0], status("RssAnon")) - anon_base
            print(json.dumps({{"base": base, "peak": status("VmHWM"), "rows": rows, "s": took,
                              "anon": anon}}))
            """
        )
        out = subprocess.run(
            [sys.executable, "-c", code], check=True, capture_output=True, text=True
        )
        result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
        return result

    def run(self) -> None:
        cases = (self.processing_memory, self.bomb_refused, self.small_behind_big)
        for case in (*cases, self.steps_summary, self.analysis_dqdv, self.analysis_fleet_fade):
            self.attempt(case)


class Bench(Recorder):
    def __init__(self, url: str, key: str, data_dir: Path, repeats: int, smoke: bool) -> None:
        super().__init__(smoke)
        self.url, self.key, self.data_dir = url, key, data_dir
        self.repeats = repeats
        self.client = Ionworks(api_key=key, api_url=url)
        self.raw = httpx.Client(headers={"X-API-Key": key}, timeout=300)
        self.bare = httpx.Client(timeout=300)
        self.comparison: list[dict[str, Any]] | None = None
        self.fleet_compare = False  # run_all sets it: the fleet's comparison needs its server
        self.fleet_rows: list[dict[str, Any]] = []
        self.tmp = Path(tempfile.mkdtemp(prefix="ionworks-bench-"))
        ionworks.set_cache_directory(self.tmp / "cache")
        self.big_id, self.small_id = self._find_measurements()

    def _find_measurements(self) -> tuple[str, str]:
        spec = self.client.cell_spec.list(name_exact="NCM622/Graphite Coin Cell")[0]
        rows: list[tuple[int, str, str]] = []
        for instance in self.client.cell_instance.list_all(spec.id):
            for m in self.client.cell_measurement.list_all(
                instance.id, measurement_type="time_series"
            ):
                rows.append((m.row_count or 0, m.id, m.name))
        rows.sort()
        big = rows[-1]
        small = min(rows, key=lambda r: abs(r[0] - 10_000))
        print(
            f"large measurement: {big[2]} ({big[0]:,} rows); small: {small[2]} ({small[0]:,} rows)"
        )
        return big[1], small[1]

    def signed_url(self, measurement_id: str, what: str) -> str:
        response = self.raw.get(f"{self.url}/cell_measurements/{measurement_id}/{what}/download")
        assert response.status_code in (302, 307), response.status_code
        return str(httpx.URL(self.url).join(response.headers["Location"]))

    def floor_download(self, measurement_id: str, what: str) -> Callable[[], pl.DataFrame]:
        url = self.signed_url(measurement_id, what)
        return lambda: pl.read_parquet(io.BytesIO(self.bare.get(url).content))

    # -------------------------------------------------------------- cases

    def cold_time_series(self) -> None:
        measurements = self.client.cell_measurement
        ours, floor = paired(
            lambda: measurements.time_series(self.big_id, use_cache=False),
            self.floor_download(self.big_id, "time_series"),
            self.repeats,
        )
        self.add("cold time series (large)", ours, floor, 1.15)

    def warm_time_series(self) -> None:
        measurements = self.client.cell_measurement
        frame = measurements.time_series(self.big_id)  # fills the cache
        assert isinstance(frame, pl.DataFrame)
        local = self.tmp / "local.parquet"
        local.write_bytes(self.bare.get(self.signed_url(self.big_id, "time_series")).content)
        ours, floor = paired(
            lambda: measurements.time_series(self.big_id),
            lambda: pl.read_parquet(local),
            self.repeats * 3,
        )
        again = measurements.time_series(self.big_id)
        assert isinstance(again, pl.DataFrame) and again.equals(frame)
        self.add("warm time series (cache hit)", ours, floor, 1.05)

    def warm_steps(self) -> None:
        measurements = self.client.cell_measurement
        for mid in (self.big_id, self.small_id):
            measurements.time_series(mid)
            measurements.steps(mid)
        ours, floor = paired(
            lambda: measurements.steps(self.big_id),
            lambda: measurements.steps(self.small_id),
            self.repeats * 5,
        )
        self.add(
            "warm steps beside the large series", ours, floor, 1.5, "floor: same call, small series"
        )

    def cold_detail(self) -> None:
        measurements = self.client.cell_measurement
        runs: dict[str, Callable[[], Any]] = {
            "detail": lambda: measurements.detail(self.big_id, use_cache=False),
            "time_series": lambda: measurements.time_series(self.big_id, use_cache=False),
            "steps": lambda: measurements.steps(self.big_id, use_cache=False),
            "cycles": lambda: measurements.cycles(self.big_id, use_cache=False),
        }
        samples: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(self.repeats * 2):  # interleaved, so noise hits every variant alike
            for name, fn in runs.items():
                gc.collect()
                start = time.perf_counter()
                fn()
                samples[name].append(time.perf_counter() - start)
        medians = {name: statistics.median(values) for name, values in samples.items()}
        ours = medians.pop("detail")
        slowest = max(medians, key=lambda k: medians[k])
        serial = sum(medians.values())
        self.add(
            "cold detail()",
            ours,
            medians[slowest],
            1.2,
            f"floor: {slowest} alone; the three one after another {serial * 1000:.1f} ms",
        )

    def list_specs(self) -> None:
        total = self.client.cell_spec.list(limit=1).total

        def raw_pages() -> int:
            n = 0
            for offset in range(0, total, 1000):
                body = self.raw.get(
                    f"{self.url}/cell_specifications", params={"limit": 1000, "offset": offset}
                ).json()
                n += len(body["items"])
            return n

        ours, floor = paired(
            lambda: sum(1 for _ in self.client.cell_spec.list_all(page_size=1000)),
            raw_pages,
            self.repeats,
        )
        self.add(f"list {total:,} specs (pages of 1000)", ours, floor, 1.2)

    def import_time(self) -> None:
        repeats = 3 if self.smoke else 9
        # The package exports lazily, so a bare ``import ionworks`` loads almost nothing; what a
        # user waits for is the client class and what it needs.
        ours = subprocess_median("from ionworks import Ionworks", repeats)
        floor = subprocess_median("import polars, httpx", repeats)
        self.add(
            "from ionworks import Ionworks",
            ours,
            floor,
            1.5,
            f"absolute median {ours * 1000:.0f} ms (target < 300 ms)",
        )
        if ours > 0.3:
            self.cases[-1].ok = False

    def memory(self) -> None:
        code = textwrap.dedent(f"""
            import json
            import ionworks, polars
            from ionworks import Ionworks
            # ru_maxrss survives fork+exec on Linux (it would report the parent's peak), so
            # read this process's own resident set and high-water mark from /proc.
            def status(field):
                for line in open("/proc/self/status"):
                    if line.startswith(field + ":"):
                        return int(line.split()[1]) * 1024
            client = Ionworks(api_key={self.key!r}, api_url={self.url!r})
            client.health_check()
            idle = status("VmRSS")
            frame = client.cell_measurement.time_series({self.big_id!r}, use_cache=False)
            peak = status("VmHWM")
            print(json.dumps({{"idle": idle, "peak": peak, "frame": frame.estimated_size()}}))
        """)
        out = subprocess.run(
            [sys.executable, "-c", code], check=True, capture_output=True, text=True
        ).stdout
        m = json.loads(out)
        self.add(
            "peak RSS, cold time_series",
            m["peak"],
            m["frame"] + m["idle"],
            2.5,
            f"frame {m['frame'] / 1e6:.0f} MB, idle process {m['idle'] / 1e6:.0f} MB",
            unit="MB",
        )

    def upload(self) -> None:
        frame = self.client.cell_measurement.time_series(self.big_id)
        assert isinstance(frame, pl.DataFrame)
        spec = self.client.cell_spec.list(name_exact="NCM622/Graphite Coin Cell")[0]
        instance = self.client.cell_instance.list(spec.id)[0]
        names = iter(range(1000))
        created: list[str] = []

        def ours() -> None:
            bundle = self.client.cell_measurement.create(
                instance.id,
                {
                    "measurement": {"name": f"bench-upload-{secrets.token_hex(4)}-{next(names)}"},
                    "time_series": frame,
                },
            )
            created.append(bundle.measurement.id)

        target = self.tmp / "upload.parquet"
        repeats = max(1, self.repeats // 2)
        ours_t, floor_t = paired(
            ours, lambda: frame.write_parquet(target, compression="zstd"), repeats
        )
        processing = [self.client.cell_measurement.get(mid) for mid in created]
        for mid in created:
            self.client.cell_measurement.delete(mid)
        self.add(
            f"upload + processing ({frame.height:,} rows)",
            ours_t,
            floor_t,
            None,
            f"end to end {ours_t:.2f} s; {len(processing)} uploads all "
            f"{sorted({str(p.processing_status) for p in processing})}",
        )

    def server_list_latency(self) -> None:
        db = self.data_dir / "ionworks.sqlite3"
        total = self.client.cell_spec.list(limit=1).total
        samples_ours = []
        n = 40 if self.smoke else 200
        for i in range(n):
            start = time.perf_counter()
            self.client.cell_spec.list(name=f"#{i % 90:02d}", limit=50)
            samples_ours.append(time.perf_counter() - start)
        connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        table = "cell_specifications"
        (org,) = connection.execute(f"SELECT organization_id FROM {table} LIMIT 1").fetchone()
        samples_sql = []
        for i in range(n):
            start = time.perf_counter()
            pattern = f"%#{i % 90:02d}%"
            rows = connection.execute(
                f"SELECT * FROM {table} WHERE organization_id = ? AND lower(name) LIKE lower(?) "
                "ORDER BY created_at, id LIMIT 50",
                (org, pattern),
            ).fetchall()
            connection.execute(
                f"SELECT count(*) FROM {table} WHERE lower(name) LIKE lower(?)", (pattern,)
            ).fetchone()
            del rows
            samples_sql.append(time.perf_counter() - start)
        p50 = statistics.median(samples_ours)
        p99 = statistics.quantiles(samples_ours, n=100)[98]
        self.add(
            f"server list p50, {total:,} specs, name filter",
            p50,
            statistics.median(samples_sql),
            3.0,
            f"p99 {p99 * 1000:.1f} ms",
        )

    def compare_with_official(self) -> None:
        """The same cases through ionworks-api 0.38.0, same server, same run (make bench-compare)."""
        python = Path(tempfile.gettempdir()) / "ionworks-official" / "bin" / "python"
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(python.parent.parent)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "ionworks-api==0.38.0"], check=True
        )
        env = {**os.environ, "IONWORKS_API_URL": self.url, "IONWORKS_API_KEY": self.key}
        out = subprocess.run(
            [
                str(python),
                str(ROOT / "scripts" / "bench_official.py"),
                self.big_id,
                self.small_id,
                str(self.repeats),
            ],
            env=env,
            check=True,
            capture_output=True,
            text=True,
            cwd=tempfile.gettempdir(),
        ).stdout
        theirs = json.loads(out.strip().splitlines()[-1])
        ours = {c.name: c for c in self.cases}
        pairs = [
            ("cold time series (large)", theirs["cold_time_series"]),
            ("warm time series (cache hit)", theirs["warm_time_series"]),
            ("warm steps beside the large series", theirs["warm_steps_big"]),
            ("cold detail()", theirs["cold_detail"]),
            ("from ionworks import Ionworks", theirs["import"]),
            ("peak RSS, cold time_series", theirs["peak_rss"]),
        ]
        listed = [c for name, c in ours.items() if name.startswith("list ")]
        if listed:
            pairs.append((listed[0].name, theirs["list_specs"]))
        print("\nofficial client (ionworks-api 0.38.0), same server, same run:")
        print(f"  {'case':<40}{'ours':>12}{'official':>12}  official/ours")
        self.comparison = []
        for name, value in pairs:
            if name not in ours:
                continue
            mine = ours[name]
            print(
                f"  {name:<40}{show(mine.ours, mine.unit):>12}{show(value, mine.unit):>12}"
                f"  {value / mine.ours:6.2f}x"
            )
            self.comparison.append({"case": name, "ours": mine.ours, "official": value})
        self.comparison += self.fleet_rows  # measured (and printed) by the fleet case
        steps_ratio = theirs["warm_steps_big"] / theirs["warm_steps_small"]
        print(
            f"  official warm steps big/small: {steps_ratio:.2f}x (ours {ours['warm steps beside the large series'].ratio:.2f}x)"
        )

    def column_projection(self) -> None:
        """Bytes moved for 2 columns of the large series (HTTP ranges) against the whole file."""
        from ionworks.data.columns import TIME, VOLTAGE

        class Counting(httpx.HTTPTransport):
            moved = 0

            def handle_request(self, request: httpx.Request) -> httpx.Response:
                response = super().handle_request(request)
                Counting.moved += len(response.read())
                return response

        client = Ionworks(api_key=self.key, api_url=self.url, storage_transport=Counting())
        wanted = [TIME, VOLTAGE]
        whole = client.cell_measurement.time_series(self.big_id, use_cache=False)
        size, Counting.moved = Counting.moved, 0
        part = client.cell_measurement.time_series(self.big_id, columns=wanted, use_cache=False)
        assert isinstance(whole, pl.DataFrame) and isinstance(part, pl.DataFrame)
        assert part.equals(whole.select(wanted))
        self.add(
            f"2 of {whole.width} columns: bytes moved",
            Counting.moved,
            size,
            0.35,
            "floor: the whole file",
            unit="MB",
        )

    def fleet(self) -> None:
        """Many measurements at once (issue 14), on a server of their own: bench_fleet.py."""
        from bench_fleet import run_fleet

        self.fleet_rows = run_fleet(self, paired, self.fleet_compare, min(self.repeats, 3))

    def read_cycler_files(self) -> None:
        """1M-row Maccor and Neware text exports vs pl.read_csv of the whole file; .mpr in MB/s."""
        from bench_readers import measure_readers

        rows = 20_000 if self.smoke else 1_000_000
        measure_readers(self, self.tmp, rows, self.repeats, paired)

    def run(self) -> None:
        for case in (
            self.cold_time_series,
            self.warm_time_series,
            self.warm_steps,
            self.cold_detail,
            self.list_specs,
            self.import_time,
            self.memory,
            self.upload,
            self.server_list_latency,
            self.read_cycler_files,
            self.column_projection,
            self.fleet,
        ):
            self.attempt(case)
        processing = ProcessingBench(self.smoke)
        processing.run()
        self.cases += processing.cases


IWDATA_PYTHON = Path(tempfile.gettempdir()) / "iwdata-venv" / "bin" / "python"
"""The scratch interpreter with ionworksdata 0.20.2 installed (never a project dependency)."""


def _ionworksdata_times(path: Path, repeats: int) -> dict[str, Any]:
    """ionworksdata's median and counts on the parquet at ``path``, from its own interpreter."""
    command = [str(IWDATA_PYTHON), str(ROOT / "scripts" / "bench_ionworksdata.py")]
    out = subprocess.run(
        [*command, str(path), str(repeats)],
        check=True,
        capture_output=True,
        text=True,
        cwd=tempfile.gettempdir(),
    ).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def _compare_steps_once(path: Path, rows: int, repeats: int) -> dict[str, Any]:
    """One size: ours and ionworksdata's medians on the same parquet, printed and returned."""
    from ionworks.data.cycles import get_cycle_metrics
    from ionworks.data.steps import summarize

    series(rows, seed=11).write_parquet(path)
    theirs = _ionworksdata_times(path, repeats)
    frame = pl.read_parquet(path)
    ours = median_time(lambda: get_cycle_metrics(summarize(frame)), repeats)
    steps = summarize(frame)
    same = (steps.height, get_cycle_metrics(steps).height) == (theirs["steps"], theirs["cycles"])
    name = f"steps + cycles ({rows:,} rows)"
    print(
        f"  {name:<40}{show(ours, 'ms'):>12}{show(theirs['median_s'], 'ms'):>14}"
        f"  {theirs['median_s'] / ours:6.2f}x{'' if same else '  (step counts differ!)'}"
    )
    return {
        "case": name,
        "ours": ours,
        "official": theirs["median_s"],
        "reference": f"ionworksdata {theirs['version']}",
        "same_steps_and_cycles": same,
    }


def compare_with_ionworksdata(smoke: bool, repeats: int = 3) -> list[dict[str, Any]]:
    """``summarize`` + ``get_cycle_metrics``: ours against ionworksdata 0.20.2 on one parquet.

    The same series (``series(rows, seed=11)``, as the steps case of ``make bench``) is written
    once per size; each side reads it outside its timing and reports the median of ``repeats``
    runs. 1M rows always; 10M too when ionworksdata's 1M time says its 10M runs fit in about
    60 s. Skipped, with a message, when the scratch venv is absent.
    """
    if not IWDATA_PYTHON.exists():
        print(f"\nionworksdata comparison skipped: no {IWDATA_PYTHON} (a venv with ionworksdata)")
        return []
    print("\nionworksdata 0.20.2, summarize + get_cycle_metrics, same parquet input:")
    print(f"  {'case':<40}{'ours':>12}{'ionworksdata':>14}  ionworksdata/ours")
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="ionworks-bench-iwdata-") as tmp:
        for rows in [20_000] if smoke else [1_000_000, 10_000_000]:
            results.append(_compare_steps_once(Path(tmp) / f"{rows}.parquet", rows, repeats))
            if results[-1]["official"] * 10 * repeats > 60:  # the next size: over a minute
                break
    return results


def run_all(
    rows: int, specs: int, repeats: int, smoke: bool, compare: bool
) -> tuple[Recorder, list[dict[str, Any]] | None]:
    """Every case: the client cases against one demo server, then the processing cases."""
    port, key = free_port(), f"bench-{secrets.token_urlsafe(12)}"
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="ionworks-bench-data-") as data_dir:
        started = time.monotonic()
        server = start_server(
            port, key, data_dir, "--demo", "--demo-rows", str(rows), "--demo-specs", str(specs)
        )
        try:
            wait_until_ready(url, server, timeout=600)
            print(
                f"server ready in {time.monotonic() - started:.1f} s ({rows:,}-row measurement, {specs:,} specs)"
            )
            bench = Bench(url, key, Path(data_dir), repeats, smoke)
            bench.fleet_compare = compare
            bench.run()
            if compare:
                bench.compare_with_official()
        finally:
            stop(server)

    if compare:  # after the server stopped: both sides get the machine to themselves
        bench.comparison = [*(bench.comparison or []), *compare_with_ionworksdata(smoke)]
    return bench, bench.comparison


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny data, few repeats (for CI)")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the long measurement")
    parser.add_argument("--specs", type=int, default=100_000, help="total specs for the list cases")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--output", default=str(ROOT / "bench-results.json"))
    parser.add_argument(
        "--compare",
        action="store_true",
        help="also run the cases through the official client (scratch venv outside the repo)",
    )
    parser.add_argument(
        "--processing-only",
        action="store_true",
        help="only the server-side processing cases (each on its own fresh server)",
    )
    args = parser.parse_args()
    rows, specs, repeats = (
        (20_000, 2_000, 2) if args.smoke else (args.rows, args.specs, args.repeats)
    )

    bench: Recorder
    comparison = None
    if args.processing_only:
        bench = ProcessingBench(args.smoke)
        bench.run()
    else:
        bench, comparison = run_all(rows, specs, repeats, args.smoke, args.compare)

    print()
    print(f"{'case':<42}{'ours':>12}{'floor':>12}{'ratio':>8}  {'target':<9}{'met':<5} note")
    for c in bench.cases:
        met = "-" if c.ok is None else ("yes" if c.ok else "NO")
        print(
            f"{c.name:<42}{show(c.ours, c.unit):>12}{show(c.floor, c.unit):>12}"
            f"{c.ratio:>7.2f}x  {c.target:<9}{met:<5} {c.note}"
        )
    results = {
        "comparison": comparison,
        "smoke": args.smoke,
        "rows": rows,
        "specs": specs,
        "cases": [{**asdict(c), "ratio": c.ratio} for c in bench.cases],
    }
    Path(args.output).write_text(json.dumps(results, indent=2))
    print(f"\nwrote {args.output}")
    return 0 if all(c.target != "error" for c in bench.cases) else 1


if __name__ == "__main__":
    sys.exit(main())
