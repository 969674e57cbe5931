"""``make load``: 64 concurrent clients of mixed traffic against ``ionworks serve --workers 1`` and
``--workers 2``; 0 errors required, p50/p99 per operation, every confirmed upload ``ready`` with
its exact row count. Not part of ``make test``.

Run under ``scripts/with_postgres.py`` (``make load`` does): each server gets a fresh database on
the throwaway cluster (``IONWORKS_TEST_DATABASE_URL``). Without it, only ``--workers 1`` on SQLite
runs. The clients run in this process (threads), on the same 2 cores as the server: the figures
are for the whole machine, not the server alone.

Operations (weights): a filtered, paged list of specifications (35), a measurement's detail (30),
a time-series download through its redirect (25), an upload of 2,000 rows (initiate, PUT, confirm;
10).
"""

from __future__ import annotations

import argparse
import io
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import psycopg

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from ionworks_server.demo_data import long_series  # noqa: E402

KEY = "load-test-key"
UPLOAD_ROWS = 2_000
WEIGHTS = {"list": 35, "detail": 30, "download": 25, "upload": 10}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def database(base: str | None) -> str | None:
    if not base:
        return None
    name = f"iw_load_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base.rsplit('/', 1)[0]}/{name}"


def start(workers: int, data_dir: Path, url: str | None) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    args = [sys.executable, "-m", "ionworks_server", "serve", "--port", str(port)]
    args += ["--data-dir", str(data_dir), "--api-key", KEY, "--workers", str(workers)]
    args += ["--max-connections", "2000"]
    if url:
        args += ["--database-url", url]
    env = {k: v for k, v in os.environ.items() if not k.startswith("IONWORKS_SERVER_")}
    log = (data_dir.parent / "server.log").open("wb")
    process = subprocess.Popen(args, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return process, base
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(
                f"server did not start:\n{(data_dir.parent / 'server.log').read_text()}"
            )
        time.sleep(0.2)


def parquet(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer, compression="zstd")
    return buffer.getvalue()


class Load:
    """The shared state of one run: the fixture ids, latencies, errors, confirmed uploads."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: list[str] = []
        self.confirmed: list[str] = []
        self.lock = threading.Lock()
        self.upload_body = parquet(long_series(UPLOAD_ROWS, seed=1))
        self.specs: list[str] = []
        self.instances: list[str] = []
        self.measurements: list[str] = []

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base, headers={"X-API-Key": KEY}, timeout=120)

    def setup(self) -> None:
        """20 specifications with an instance and two processed measurements each."""
        with self.client() as http:
            for n in range(20):
                spec = http.post("/cell_specifications", json={"name": f"load-spec-{n:03d}"})
                spec.raise_for_status()
                cell = http.post(
                    f"/cell_specifications/{spec.json()['id']}/cell_instances",
                    json={"name": f"load-cell-{n:03d}"},
                )
                cell.raise_for_status()
                self.specs.append(spec.json()["id"])
                self.instances.append(cell.json()["id"])
                for m in range(2):
                    self.measurements.append(self.upload(http, cell.json()["id"], f"seed-{m}"))
            for mid in self.measurements:
                self.wait_ready(http, mid, UPLOAD_ROWS)

    def upload(self, http: httpx.Client, cell: str, name: str) -> str:
        step = "initiate"
        try:
            started = http.post(
                f"/cell_instances/{cell}/cell_measurements/initiate-upload",
                json={"measurement": {"name": name}},
            )
            started.raise_for_status()
            target = {u["filename"]: u["signed_url"] for u in started.json()["uploads"]}
            step = "put"
            httpx.put(
                target["time_series.parquet"], content=self.upload_body, timeout=120
            ).raise_for_status()
            mid = str(started.json()["measurement_id"])
            step = "confirm"
            http.post(
                f"/cell_measurements/{mid}/confirm-upload",
                json={"cell_instance_id": cell, "measurement": {"name": name}},
            ).raise_for_status()
        except Exception as exc:
            raise RuntimeError(f"{step}: {type(exc).__name__}: {exc}") from None
        return mid

    @staticmethod
    def wait_ready(http: httpx.Client, mid: str, rows: int, timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        while True:
            body = http.get(f"/cell_measurements/{mid}", params={"include_steps": "false"}).json()
            if body["processing_status"] == "ready" and body["row_count"] == rows:
                return
            if body["processing_status"] not in ("pending", "running"):
                raise SystemExit(f"upload {mid} ended {body['processing_status']}: {body}")
            if time.monotonic() > deadline:
                raise SystemExit(f"upload {mid} still {body['processing_status']}")
            time.sleep(0.2)

    def one(self, http: httpx.Client, storage: httpx.Client, op: str, rng: random.Random) -> None:
        if op == "list":
            q = f"%{rng.randrange(20):03d}%"
            r = http.get("/cell_specifications", params={"name": f"ilike.{q}", "limit": 20})
            r.raise_for_status()
        elif op == "detail":
            mid = rng.choice(self.measurements)
            http.get(
                f"/cell_measurements/{mid}", params={"include_steps": "true"}
            ).raise_for_status()
        elif op == "download":
            mid = rng.choice(self.measurements)
            redirect = http.get(f"/cell_measurements/{mid}/time_series/download")
            if redirect.status_code != 302:
                raise RuntimeError(f"download: {redirect.status_code} {redirect.text[:200]}")
            storage.get(redirect.headers["location"]).raise_for_status()
        else:
            mid = self.upload(http, rng.choice(self.instances), f"load-{uuid.uuid4().hex[:12]}")
            with self.lock:
                self.confirmed.append(mid)

    def client_loop(self, seed: int, until: float) -> None:
        rng = random.Random(seed)
        ops, weights = list(WEIGHTS), list(WEIGHTS.values())
        with self.client() as http, httpx.Client(timeout=120) as storage:
            while time.monotonic() < until:
                op = rng.choices(ops, weights)[0]
                started = time.perf_counter()
                try:
                    self.one(http, storage, op, rng)
                except Exception as exc:
                    with self.lock:
                        self.errors.append(f"{op}: {type(exc).__name__}: {str(exc)[:200]}")
                    continue
                with self.lock:
                    self.latency[op].append(time.perf_counter() - started)


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


TRANSPORT = ("RemoteProtocolError", "ReadError", "ConnectError", "WriteError", "ConnectTimeout")


def kill_one_worker(supervisor: int) -> int:
    """SIGKILL one worker process of ``serve --workers N`` (a spawned child of the supervisor)."""
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    for pid in children:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        if b"multiprocessing" in cmdline and b"resource_tracker" not in cmdline:
            os.kill(int(pid), signal.SIGKILL)
            return int(pid)
    raise SystemExit(f"no worker process under {supervisor}: {children}")


def consistency(url: str | None, data_dir: Path, timeout: float = 300) -> str | None:
    """Once nothing is pending: every series ``ready`` with its rows (fixtures and uploads, the
    ones whose confirm answer was lost too), and storage holds exactly those; else the problem."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url or f"sqlite:///{data_dir / 'ionworks.sqlite3'}")
    query = "SELECT id, processing_status, row_count FROM cell_measurements"
    deadline = time.monotonic() + timeout
    try:
        while True:
            with engine.connect() as conn:
                rows = conn.execute(text(query)).all()
            if all(r.processing_status not in ("pending", "running") for r in rows):
                break
            if time.monotonic() > deadline:
                return "measurements still processing after the run"
            time.sleep(0.5)
    finally:
        engine.dispose()
    wrong = [r for r in rows if (r.processing_status, r.row_count) != ("ready", UPLOAD_ROWS)]
    if wrong:
        return f"{len(wrong)} measurements not ready with {UPLOAD_ROWS} rows: {wrong[:3]}"
    stored = {p.name for p in (data_dir / "storage" / "measurements").iterdir()}
    if stored != {r.id for r in rows}:
        return f"storage != database: {len(stored)} directories, {len(rows)} rows"
    if any((data_dir / "storage" / "processing").iterdir()):
        return "staged files left in storage/processing"
    return None


def run(
    workers: int, clients: int, seconds: float, pg: str | None, kill_after: float | None = None
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="ionworks-load-") as tmp:
        url = database(pg)
        process, base = start(workers, Path(tmp) / "data", url)
        load = Load(base)
        killed: list[float] = []
        try:
            load.setup()
            until = time.monotonic() + seconds
            threads = [
                threading.Thread(target=load.client_loop, args=(n, until)) for n in range(clients)
            ]
            for thread in threads:
                thread.start()
            if kill_after is not None and workers > 1:
                time.sleep(kill_after)
                print(f"  killed worker process {kill_one_worker(process.pid)} with SIGKILL")
                killed.append(time.monotonic())
            for thread in threads:
                thread.join()
            with load.client() as http:
                for mid in load.confirmed:  # every confirmed upload ends ready with its rows
                    load.wait_ready(http, mid, UPLOAD_ROWS)
            problem = consistency(url, Path(tmp) / "data")
            if problem:
                load.errors.append(f"consistency: {problem}")
        finally:
            process.terminate()
            process.wait(30)
            if load.errors:  # keep the server's log for the post-mortem
                kept = Path(tempfile.gettempdir()) / f"ionworks-load-workers{workers}.log"
                kept.write_bytes((Path(tmp) / "server.log").read_bytes())
                print(f"server log kept in {kept}")
    total = sum(len(v) for v in load.latency.values())
    cut = [e for e in load.errors if killed and any(t in e for t in TRANSPORT)]
    return {
        "interrupted": cut,
        "workers": workers,
        "database": "postgresql" if pg else "sqlite",
        "requests": total,
        "per_s": total / seconds,
        "errors": [e for e in load.errors if e not in cut],
        "uploads_ready": len(load.confirmed),
        "ops": {
            op: (len(v), quantile(v, 0.5) * 1000, quantile(v, 0.99) * 1000)
            for op, v in sorted(load.latency.items())
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument(
        "--kill-after",
        type=float,
        help="SIGKILL one worker process this many seconds into the traffic (--workers > 1); "
        "requests it was serving are counted apart, everything else must still hold",
    )
    args = parser.parse_args()
    pg = os.environ.get("IONWORKS_TEST_DATABASE_URL")
    failed = False
    for workers in args.workers if pg else [1]:
        result = run(workers, args.clients, args.seconds, pg, args.kill_after)
        print(
            f"\n--workers {workers} on {result['database']}: {result['requests']} operations in "
            f"{args.seconds:.0f} s ({result['per_s']:.1f}/s), {len(result['errors'])} errors, "
            f"{result['uploads_ready']} uploads confirmed; storage == database checked"
        )
        print(f"  {'operation':10s} {'count':>7s} {'p50 ms':>8s} {'p99 ms':>8s}")
        for op, (count, p50, p99) in result["ops"].items():
            print(f"  {op:10s} {count:7d} {p50:8.1f} {p99:8.1f}")
        if result["interrupted"]:
            print(f"  {len(result['interrupted'])} requests cut by the kill (connection lost)")
        for error in result["errors"][:20]:
            print(f"  error: {error}")
        failed = failed or bool(result["errors"])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
