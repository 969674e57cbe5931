"""The fleet cases of ``make bench`` (issue 14): many measurements at once.

* ``fetch_many`` of N time series (cold cache) against the floor: raw concurrent httpx GETs of
  the same parquet files (signed URLs resolved once, outside the timing) + ``pl.read_parquet``,
  on as many threads;
* 2 of the 8 columns of one of them: bytes on the wire against the whole file;
* ``client.export`` of the N (cold cache), then a ``scan()`` aggregation over every cycle of
  every measurement, each in a fresh process: time and peak RSS (``VmHWM``); the aggregation's
  peak RSS above its idle process against the decoded size of the columns it reads.

N = 200 measurements of 100,000 rows and 8 columns (1.3 GB decoded, 0.5 GB of parquet), as the
issue asks; ``--smoke``: 4 of 2,000 rows. Sized for ``make bench`` to stay near 8 minutes: the
fleet is uploaded through the client once (about 2 minutes) into a data directory kept across
runs, and the pull is repeated 3 times there (each pull is itself 200 downloads); ``python
scripts/bench_fleet.py`` runs just these cases, 7 repeats by default.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

import httpx
import polars as pl

from ionworks import Ionworks
from ionworks.data import columns as col

ROOT = Path(__file__).resolve().parent.parent
EIGHT = (
    col.TIME,
    col.CURRENT,
    col.VOLTAGE,
    col.TEMPERATURE,
    col.STEP_COUNT,
    col.CYCLE_COUNT,
    col.DISCHARGE_CAPACITY,
    col.CHARGE_CAPACITY,
)
"""The stored columns of every fleet measurement (the server adds none when these are present)."""
SPEC = "bench-fleet"
FLEET_HOME = Path(tempfile.gettempdir()) / "ionworks-bench-fleet"
"""Where the fleet server keeps its data between runs of the bench."""
CONCURRENCY = 8
CASES = ("pull", "projection", "export_and_scan")
"""The cases of a run, in order (``--cases`` picks some)."""


class Recorder(Protocol):
    """What the fleet cases need of ``bench.Bench``."""

    tmp: Path
    repeats: int
    smoke: bool

    def add(
        self,
        name: str,
        ours: float,
        floor: float,
        target: float | None,
        note: str = "",
        unit: str = "ms",
    ) -> None: ...


def sizes(smoke: bool) -> tuple[int, int]:
    """(measurements, rows of each)."""
    return (4, 2_000) if smoke else (200, 100_000)


def status_code() -> str:
    """Source of a ``status(field)`` helper for child processes: /proc/self/status in bytes
    (``ru_maxrss`` would carry the parent's peak across fork and exec)."""
    return textwrap.dedent("""
        def status(field):
            for line in open("/proc/self/status"):
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    """)


class FleetServer:
    """A server of the fleet cases' own. Outside ``--smoke`` its data directory is kept across
    runs (``FLEET_HOME``): uploading the fleet takes minutes, finding it a second. A directory
    the server cannot start on (an older layout) is wiped and seeded again; a second bench
    running at the same time gets a fresh directory instead of sharing it."""

    def __init__(self, persistent: bool) -> None:
        import fcntl

        from run_demo import free_port, start_server, wait_until_ready

        self._scratch = tempfile.TemporaryDirectory(prefix="ionworks-bench-fleet-")
        home = Path(self._scratch.name)
        if persistent:
            FLEET_HOME.mkdir(exist_ok=True)
            self._lock = (FLEET_HOME / "lock").open("w")
            try:
                fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                home = FLEET_HOME
            except OSError:
                print(f"fleet: {FLEET_HOME} is in use by another bench; seeding a fresh server")
        self.key = f"bench-{secrets.token_urlsafe(12)}"
        for attempt in (1, 2):
            port = free_port()
            self.url = f"http://127.0.0.1:{port}"
            with (home / "server.log").open("wb") as log:
                self.process = start_server(port, self.key, str(home / "data"), log=log)
            try:
                wait_until_ready(self.url, self.process, timeout=120)
                return
            except SystemExit as exc:
                self.stop()
                log_tail = (home / "server.log").read_text(errors="replace")[-800:]
                if attempt == 2:
                    raise RuntimeError(f"{exc}: {log_tail}") from None
                print(f"fleet: the server did not start on {home / 'data'} ({exc}): seeding anew")
                shutil.rmtree(home / "data", ignore_errors=True)

    def stop(self) -> None:
        from run_demo import stop

        stop(self.process)

    def close(self) -> None:
        """Stop the server and release the data directory for the next bench."""
        self.stop()
        lock = getattr(self, "_lock", None)
        if lock is not None:
            lock.close()


class Fleet:
    """The fleet of one run: seeded once, then measured by each case."""

    def __init__(
        self, bench: Recorder, server: FleetServer, paired: Callable[..., tuple[float, float]]
    ) -> None:
        self.bench, self.paired = bench, paired
        self.repeats = bench.repeats
        self.url, self.key = server.url, server.key
        self.count, self.rows = sizes(bench.smoke)
        self.client = Ionworks(api_key=self.key, api_url=self.url, cache_dir=bench.tmp / "fc")
        self.bare = httpx.Client(timeout=300)
        self.raw = httpx.Client(headers={"X-API-Key": self.key}, timeout=300)
        self.spec_id, self.ids = self._seed()
        self.pull_floor = float("nan")

    def _seed(self) -> tuple[str, list[str]]:
        """The fleet spec's measurements, uploading those missing (the first run of a server)."""
        specs = self.client.cell_spec.list(name_exact=SPEC)
        spec = specs[0] if specs else self.client.cell_spec.create({"name": SPEC})
        instances = self.client.cell_instance.list(spec.id)
        instance = (
            instances[0]
            if instances
            else self.client.cell_instance.create(spec.id, {"name": f"{SPEC}-cell"})
        )
        have = {
            m.name: m.id
            for m in self.client.cell_measurement.list_all(instance.id)
            if m.processing_status == "ready"
        }
        names = [f"fleet-{self.rows}-{i:03d}" for i in range(self.count)]
        missing = [(i, name) for i, name in enumerate(names) if name not in have]
        started = time.perf_counter()

        def upload(item: tuple[int, str]) -> tuple[str, str]:
            from ionworks_server.demo_series import long_series

            series = long_series(self.rows, seed=item[0]).select(EIGHT)
            body = {"measurement": {"name": item[1]}, "time_series": series}
            return item[1], self.client.cell_measurement.create(instance.id, body).measurement.id

        with ThreadPoolExecutor(4) as pool:
            have.update(pool.map(upload, missing))
        if missing:
            print(
                f"fleet: uploaded {len(missing)} measurements of {self.rows:,} rows "
                f"in {time.perf_counter() - started:.1f} s"
            )
        return spec.id, [have[name] for name in names]

    def signed_url(self, measurement_id: str) -> str:
        url = f"{self.url}/cell_measurements/{measurement_id}/time_series/download"
        response = self.raw.get(url)
        assert response.status_code in (302, 307), response.status_code
        return str(httpx.URL(self.url).join(response.headers["Location"]))

    # -------------------------------------------------------------- cases

    def pull(self) -> None:
        """fetch_many of every time series, cold cache, against raw downloads + decode."""
        urls = [self.signed_url(mid) for mid in self.ids]
        caches: list[Path] = []
        clients: list[Ionworks] = []

        def fresh() -> None:  # a cold cache for every run of ours, the last one's deleted
            for old in caches:
                shutil.rmtree(old, ignore_errors=True)
            caches[:] = [Path(tempfile.mkdtemp(prefix="fleet-cache-", dir=self.bench.tmp))]
            clients[:] = [Ionworks(api_key=self.key, api_url=self.url, cache_dir=caches[0])]

        def ours() -> None:
            result = clients[0].cell_measurement.fetch_many(
                self.ids, tables=("time_series",), concurrency=CONCURRENCY
            )
            assert result.ok and len(result) == self.count, result.failed

        def floor() -> None:
            def one(url: str) -> pl.DataFrame:
                return pl.read_parquet(io.BytesIO(self.bare.get(url).content))

            with ThreadPoolExecutor(CONCURRENCY) as pool:
                frames = list(pool.map(one, urls))
            assert len(frames) == self.count

        def redirects() -> None:  # what the floor leaves out: the API call before each GET
            with ThreadPoolExecutor(CONCURRENCY) as pool:
                list(pool.map(self.signed_url, self.ids))

        ours_t, floor_t = self.paired(ours, floor, self.repeats, setup=fresh)
        fresh()
        _, api_t = self.paired(lambda: None, redirects, 3)
        self.pull_floor = floor_t
        self.bench.add(
            f"fetch_many {self.count} x {self.rows:,} rows",
            ours_t,
            floor_t,
            1.3,
            f"concurrency {CONCURRENCY}, cold cache; floor: raw httpx GETs of the signed URLs + "
            f"pl.read_parquet, {CONCURRENCY} threads; the {self.count} API redirects alone "
            f"{api_t * 1000:.0f} ms",
        )

    def projection(self) -> None:
        """Bytes on the wire for Time + Voltage of a fleet measurement against the whole file."""

        class Counting(httpx.HTTPTransport):
            moved = 0

            def handle_request(self, request: httpx.Request) -> httpx.Response:
                response = super().handle_request(request)
                Counting.moved += len(response.read())
                return response

        client = Ionworks(
            api_key=self.key,
            api_url=self.url,
            storage_transport=Counting(),
            cache_dir=self.bench.tmp / "fleet-projection",
        )
        wanted = [col.TIME, col.VOLTAGE]
        mid = self.ids[0]
        whole = client.cell_measurement.time_series(mid, use_cache=False)
        size, Counting.moved = Counting.moved, 0
        part = client.cell_measurement.time_series(mid, columns=wanted, use_cache=False)
        assert isinstance(whole, pl.DataFrame) and isinstance(part, pl.DataFrame)
        assert whole.width == 8 and part.equals(whole.select(wanted))
        self.bench.add(
            "2 of 8 columns (fleet series): bytes",
            Counting.moved,
            size,
            0.35,
            f"Time + Voltage of {whole.height:,} rows ({Counting.moved / size:.1%}); floor: the whole file",
            unit="MB",
        )

    def export_and_scan(self) -> None:
        """client.export of the fleet, then a per-cycle aggregation over it, each in a fresh
        process; times and peak RSS."""
        target = self.bench.tmp / "fleet-export"
        shutil.rmtree(target, ignore_errors=True)
        export = self._child(
            f"""
            from ionworks import Ionworks
            client = Ionworks(api_key={self.key!r}, api_url={self.url!r},
                              cache_dir={str(self.bench.tmp / "export-cache")!r})
            client.health_check()
            idle = status("VmRSS")
            started = time.perf_counter()
            result = client.export({str(target)!r}, spec_id={self.spec_id!r})
            seconds = time.perf_counter() - started
            assert result.ok and len(result.exported) == {self.count}, result.summary()
            print(json.dumps({{"seconds": seconds, "idle": idle, "peak": status("VmHWM")}}))
            """
        )
        shutil.rmtree(self.bench.tmp / "export-cache", ignore_errors=True)
        self.bench.add(
            f"export {self.count} measurements: time",
            export["seconds"],
            self.pull_floor,
            None,
            "3 tables each, cold cache, concurrency 4; floor: the raw pull of the time series",
        )
        files = sorted(target.glob("*/*/*/time_series.parquet"))
        on_disk = sum(f.stat().st_size for f in files)
        self.bench.add(
            "export: peak RSS",
            export["peak"],
            export["idle"],
            None,
            f"floor: the idle process; dataset {on_disk / 1e6:.0f} MB of time series",
            unit="MB",
        )
        self._scan(target)

    def _scan(self, target: Path) -> None:
        wanted = [col.CYCLE_COUNT, col.VOLTAGE, col.CURRENT, col.DISCHARGE_CAPACITY]
        rows = pl.scan_parquet(sorted(target.glob("*/*/*/time_series.parquet"))).select(pl.len())
        decoded = int(rows.collect().item()) * 8 * len(wanted)  # all Float64/Int64
        scan = self._child(
            f"""
            import polars as pl
            import ionworks
            pl.select(pl.lit(1))  # polars' thread pool up before the idle reading
            idle = status("VmRSS")
            started = time.perf_counter()
            V, I = pl.col("{col.VOLTAGE}"), pl.col("{col.CURRENT}")
            per_cycle = (
                ionworks.scan({str(target)!r}, "time_series")
                .group_by("measurement_id", "{col.CYCLE_COUNT}")
                .agg(V.max().alias("v_max"), V.min().alias("v_min"), I.abs().mean().alias("i"),
                     pl.col("{col.DISCHARGE_CAPACITY}").max().alias("q"))
                .collect(engine="streaming")
            )
            seconds = time.perf_counter() - started
            print(json.dumps({{"seconds": seconds, "idle": idle, "peak": status("VmHWM"),
                              "groups": per_cycle.height}}))
            """
        )
        self.bench.add(
            "scan: per-cycle aggregation, time",
            scan["seconds"],
            self.pull_floor,
            None,
            f"{scan['groups']:,} cycles, streaming engine; floor: the raw pull of the time series",
        )
        self.bench.add(
            "scan: peak RSS above idle vs data read",
            scan["peak"] - scan["idle"],
            decoded,
            1.0,
            f"floor: {len(wanted)} columns decoded ({decoded / 1e6:.0f} MB); "
            f"idle process {scan['idle'] / 1e6:.0f} MB",
            unit="MB",
        )

    @staticmethod
    def _child(body: str) -> dict[str, Any]:
        code = "import json, time\n" + status_code() + textwrap.dedent(body)
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT
        )
        if done.returncode != 0:
            raise RuntimeError(f"child exited {done.returncode}: {done.stderr[-1500:]}")
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        return result

    # -------------------------------------------------------------- official client

    def compare_with_official(self, python: Path) -> list[dict[str, Any]]:
        """The official client's loop over ``detail()`` against ``fetch_many`` of the same three
        tables, both cold, interleaved (``make bench-compare``)."""
        env = {**os.environ, "IONWORKS_API_URL": self.url, "IONWORKS_API_KEY": self.key}
        ids_file = self.bench.tmp / "fleet-ids.json"
        ids_file.write_text(json.dumps(self.ids))
        theirs: list[float] = []
        ours: list[float] = []
        for _ in range(1 if self.bench.smoke else 3):
            out = subprocess.run(
                [str(python), str(ROOT / "scripts" / "bench_official_fleet.py"), str(ids_file)],
                env=env,
                check=True,
                capture_output=True,
                text=True,
                cwd=tempfile.gettempdir(),
            ).stdout
            theirs.append(json.loads(out.strip().splitlines()[-1])["seconds"])
            cache = Path(tempfile.mkdtemp(prefix="fleet-cache-", dir=self.bench.tmp))
            client = Ionworks(api_key=self.key, api_url=self.url, cache_dir=cache)
            started = time.perf_counter()
            result = client.cell_measurement.fetch_many(self.ids, concurrency=CONCURRENCY)
            ours.append(time.perf_counter() - started)
            assert result.ok, result.failed
            shutil.rmtree(cache, ignore_errors=True)
        mine, official = statistics.median(ours), statistics.median(theirs)
        name = f"{self.count} measurements, 3 tables each (cold)"
        print(
            f"  {name:<40}{mine * 1000:9.1f} ms{official * 1000:9.1f} ms  {official / mine:6.2f}x"
            "  (official: a loop over detail(); target >= 3x)"
        )
        return [{"case": name, "ours": mine, "official": official, "target": ">= 3x"}]

    def run(self, attempt: Any, cases: Sequence[str] = CASES) -> None:
        for name in cases:
            attempt(getattr(self, name))


def run_fleet(
    bench: Any,
    paired: Callable[..., tuple[float, float]],
    compare: bool,
    repeats: int | None = None,
    cases: Sequence[str] = CASES,
) -> list[Any]:
    """The fleet ``cases`` (default all) on their own server, recorded on ``bench``; the
    comparison rows when ``compare``. ``repeats`` of the pull (default ``bench.repeats``)."""
    server = FleetServer(persistent=not bench.smoke)
    try:
        fleet = Fleet(bench, server, paired)
        fleet.repeats = repeats or bench.repeats
        fleet.run(bench.attempt, cases)
        if not compare:
            return []
        python = Path(tempfile.gettempdir()) / "ionworks-official" / "bin" / "python"
        if not python.exists():  # the scratch venv of make bench-compare, made as it makes it
            subprocess.run([sys.executable, "-m", "venv", str(python.parent.parent)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "ionworks-api==0.38.0"], check=True
        )
        return fleet.compare_with_official(python)
    finally:
        server.close()


def main() -> int:
    """Just the fleet cases (``--compare``: the official client's loop too)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from bench import Recorder as BaseRecorder
    from bench import paired

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--compare", action="store_true")
    parser.add_argument(
        "--cases",
        default=",".join(CASES),
        help=f"comma-separated cases to run, of {', '.join(CASES)} (default: all)",
    )
    args = parser.parse_args()
    cases = [name for name in args.cases.split(",") if name]
    if unknown := sorted(set(cases) - set(CASES)):
        parser.error(f"unknown case {', '.join(unknown)}; choose from {', '.join(CASES)}")
    with tempfile.TemporaryDirectory(prefix="ionworks-bench-fleet-") as tmp:
        bench: Any = BaseRecorder(args.smoke)
        bench.tmp, bench.repeats = Path(tmp), 2 if args.smoke else args.repeats
        run_fleet(bench, paired, args.compare, cases=cases)
    for case in bench.cases:
        print(f"  {case.name}: {case.note}")
    return 1 if any(c.target == "error" for c in bench.cases) else 0


if __name__ == "__main__":
    sys.exit(main())
