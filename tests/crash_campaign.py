"""Kill the real server with SIGKILL at chosen points of the upload flow, restart it on the same
data dir, and audit that the files on disk are exactly the files the database references.

Used by ``tests/test_crash_consistency.py`` (a few kills) and ``scripts/kill_campaign.py`` (a
longer campaign that prints a table). Kill points are reached by polling for the state they
need (a ``.part`` file exists), never by sleeping a fixed time; a point the server has already
passed when the kill lands is recorded as such, and the invariant must hold either way.
"""

from __future__ import annotations

import contextlib
import io
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import polars as pl
from server_process import ServerProcess, database_url_for, start_server

from ionworks_server.demo_data import long_series

__all__ = ["KILL_POINTS", "Audit", "Campaign", "KillResult", "audit"]

API_KEY = "crash-key-0123456789"
PROCESSED = ("time_series.parquet", "steps.parquet", "cycles.parquet", "steps.json", "cycles.json")
UPLOAD_TARGETS = ("time_series.parquet", "steps.parquet")
POLL_S = 0.002


@dataclass
class Audit:
    """What is on disk under ``storage/`` against what the database references."""

    files_on_disk: int = 0
    referenced: int = 0  # files of measurements
    staged: int = 0  # files of open uploads (reservations), not yet confirmed
    missing: list[str] = field(default_factory=list)  # referenced, absent or not whole
    orphans: list[str] = field(default_factory=list)  # on disk, referenced by nothing
    stuck: list[str] = field(default_factory=list)  # measurements still pending/running
    failed_without_reason: list[str] = field(default_factory=list)

    @property
    def consistent(self) -> bool:
        return not (self.missing or self.orphans or self.stuck or self.failed_without_reason)


def _rows(data_dir: Path, query: str) -> list[Any]:
    """The rows of ``query`` in the data dir's database: its SQLite file, or its database on
    the test PostgreSQL server (``make test-postgres``, ``with_postgres.py``)."""
    url = database_url_for(data_dir)
    if url is not None:
        import psycopg
        from psycopg.rows import dict_row

        with psycopg.connect(url, row_factory=dict_row) as conn:
            return list(conn.execute(query))
    with sqlite3.connect(data_dir / "ionworks.sqlite3", timeout=30) as conn:
        conn.row_factory = sqlite3.Row
        return list(conn.execute(query))


def _names(value: Any) -> list[str]:
    """A JSON list column: text on SQLite, already decoded by psycopg."""
    return list(json.loads(value) if isinstance(value, str) else value)


def _whole(path: Path, row_count: int | None = None) -> bool:
    """The file exists and decodes completely (and has the row count the database says)."""
    try:
        if path.suffix == ".json":
            json.loads(path.read_bytes())
            return True
        frame = pl.read_parquet(path)
    except Exception:
        return False
    return row_count is None or frame.height == row_count


def audit(data_dir: Path) -> Audit:
    """Compare ``<data_dir>/storage`` with the database (server stopped or quiescent)."""
    result = Audit()
    allowed: dict[Path, set[str]] = {}  # directory -> the names it may hold
    storage = data_dir / "storage"
    for r in _rows(data_dir, "SELECT id, measurement_type, filenames FROM upload_reservations"):
        listed = _names(r["filenames"]) if r["measurement_type"] == "file" else UPLOAD_TARGETS
        allowed[storage / "uploads" / r["id"]] = set(listed)
    measurements = _rows(
        data_dir,
        "SELECT id, measurement_type, processing_status, processing_error, filenames, row_count "
        "FROM cell_measurements",
    )
    for m in measurements:
        status, directory = m["processing_status"], storage / "measurements" / m["id"]
        if status in ("pending", "running"):
            result.stuck.append(m["id"])
            allowed[storage / "processing" / m["id"]] = set(UPLOAD_TARGETS)
            allowed[directory] = set(PROCESSED)
            continue
        if status == "failed" and not (m["processing_error"] or "").strip():
            result.failed_without_reason.append(m["id"])
        wanted: dict[str, int | None] = {}
        if m["measurement_type"] == "file":
            wanted = dict.fromkeys(_names(m["filenames"]))
        elif m["measurement_type"] == "time_series" and status == "ready":
            wanted = dict.fromkeys(PROCESSED)
            wanted["time_series.parquet"] = m["row_count"]
        allowed[directory] = set(wanted)
        for name, rows in wanted.items():
            result.referenced += 1
            if not _whole(directory / name, rows):
                result.missing.append(f"measurements/{m['id']}/{name}")
    for area in ("uploads", "processing", "measurements"):
        for entry in sorted((storage / area).iterdir()):
            names = allowed.get(entry)
            if names is None or not entry.is_dir():
                result.orphans.append(f"{area}/{entry.name}")
                result.files_on_disk += sum(1 for p in entry.rglob("*") if p.is_file())
                continue
            for path in sorted(entry.iterdir()):
                result.files_on_disk += 1
                if path.name not in names:
                    result.orphans.append(f"{area}/{entry.name}/{path.name}")
                elif area == "uploads":
                    result.staged += 1
    return result


@dataclass
class KillResult:
    """One kill: where it was aimed, whether it landed there, the audits before/after restart."""

    point: str
    landed: bool
    before_restart: Audit
    after_restart: Audit


def _parquet(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer, compression="zstd")
    return buffer.getvalue()


def _wait_for(condition: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(POLL_S)
    return False


def _has_part(directory: Path) -> bool:
    try:
        return any(p.name.endswith(".part") for p in directory.iterdir())
    except FileNotFoundError:
        return False


class Campaign:
    """Kills one server again and again on one data dir; ``rows`` sizes the processing upload."""

    def __init__(self, data_dir: Path, rows: int = 400_000) -> None:
        self.data_dir = data_dir
        self.series = _parquet(long_series(rows))
        self.small = _parquet(long_series(2_000))
        self.server: ServerProcess | None = None
        self.instance_id = ""
        self.count = 0

    # -- server lifecycle -----------------------------------------------------------------------

    def _start(self) -> ServerProcess:
        self.server = start_server(self.data_dir, API_KEY)
        return self.server

    def _http(self) -> httpx.Client:
        assert self.server is not None
        return httpx.Client(base_url=self.server.url, headers={"X-API-Key": API_KEY}, timeout=120.0)

    def _kill(self) -> None:
        assert self.server is not None
        self.server.process.kill()  # SIGKILL: no clean-up code runs
        self.server.process.wait(30)

    def _ensure_instance(self) -> None:
        if self.instance_id:
            return
        with self._http() as http:
            spec = http.post("/cell_specifications", json={"name": "crash-spec"}).json()
            cell = http.post(
                f"/cell_specifications/{spec['id']}/cell_instances", json={"name": "crash-cell"}
            )
            self.instance_id = cell.json()["id"]

    def _wait_settled(self, timeout: float = 300.0) -> None:
        """Wait until the restarted server has finished or failed every interrupted job."""
        _wait_for(lambda: not audit(self.data_dir).stuck, timeout)

    # -- one kill -----------------------------------------------------------------------------

    def kill_at(self, point: str) -> KillResult:
        """Start the server, drive an upload to ``point``, SIGKILL it, restart, audit."""
        self._start()
        self._ensure_instance()
        self.count += 1
        landed = KILL_POINTS[point](self, f"m{self.count}-{point}")
        return KillResult(point, landed, *self.restart())

    def restart(self) -> tuple[Audit, Audit]:
        """Audit the stopped server's data dir, start it, let it settle, stop it, audit again."""
        before = audit(self.data_dir)
        self._start()
        try:
            self._wait_settled()
        finally:
            assert self.server is not None
            self.server.stop()
        return before, audit(self.data_dir)

    def _initiate(self, http: httpx.Client, name: str) -> tuple[str, dict[str, str]]:
        initiated = http.post(
            f"/cell_instances/{self.instance_id}/cell_measurements/initiate-upload",
            json={"measurement": {"name": name}},
        ).json()
        urls = {u["filename"]: u["signed_url"] for u in initiated["uploads"]}
        return initiated["measurement_id"], urls

    def _confirm(self, http: httpx.Client, mid: str, name: str) -> httpx.Response:
        return http.post(
            f"/cell_measurements/{mid}/confirm-upload",
            json={"cell_instance_id": self.instance_id, "measurement": {"name": name}},
        )

    def staged_upload(self, name: str) -> tuple[str, str]:
        """Initiate and PUT a small upload, then stop the server (not confirmed)."""
        self._start()
        try:
            self._ensure_instance()
            with self._http() as http:
                mid, urls = self._initiate(http, name)
            assert httpx.put(urls["time_series.parquet"], content=self.small).status_code == 200
        finally:
            assert self.server is not None
            self.server.stop()
        return mid, name

    def confirm_and_settle(self, mid: str, name: str) -> str:
        """Start the server, confirm ``mid``, wait for processing; its final status."""
        self._start()
        try:
            with self._http() as http:
                confirmed = self._confirm(http, mid, name)
                assert confirmed.status_code == 201, confirmed.text
                self._wait_settled()
                return str(http.get(f"/cell_measurements/{mid}").json()["processing_status"])
        finally:
            assert self.server is not None
            self.server.stop()

    def mid_put(self, name: str) -> bool:
        """Kill while a PUT is streaming (its body is held after the first chunk)."""
        with self._http() as http:
            mid, urls = self._initiate(http, name)
        release = threading.Event()

        def held_body() -> Iterator[bytes]:
            yield self.series[: 64 * 1024]
            release.wait(60)
            yield self.series[64 * 1024 :]

        def put() -> None:
            with contextlib.suppress(httpx.HTTPError):  # the server dies under it: expected
                httpx.put(urls["time_series.parquet"], content=held_body(), timeout=60)

        sender = threading.Thread(target=put, daemon=True)
        sender.start()
        staged = self.data_dir / "storage" / "uploads" / mid
        landed = _wait_for(lambda: _has_part(staged), 60)
        self._kill()
        release.set()
        sender.join(60)
        return landed

    def after_confirm(self, name: str) -> bool:
        """Kill the moment confirm answers (processing queued or just started)."""
        with self._http() as http:
            mid, urls = self._initiate(http, name)
            assert httpx.put(urls["time_series.parquet"], content=self.series).status_code == 200
            confirmed = self._confirm(http, mid, name)
        self._kill()
        return confirmed.status_code == 201

    def mid_processing(self, name: str) -> bool:
        """Kill while the worker writes the processed tables (a ``.part`` in measurements/)."""
        with self._http() as http:
            mid, urls = self._initiate(http, name)
            assert httpx.put(urls["time_series.parquet"], content=self.series).status_code == 200
            confirmed = self._confirm(http, mid, name)
        assert confirmed.status_code == 201, confirmed.text
        out = self.data_dir / "storage" / "measurements" / mid
        processing = self.data_dir / "storage" / "processing" / mid
        # Stop polling once processing is over (its staged dir goes): the window was missed.
        _wait_for(lambda: _has_part(out) or not processing.exists(), 120)
        landed = _has_part(out)
        self._kill()
        return landed

    def mid_confirm(self, name: str) -> bool:
        """Kill while confirm-upload is in flight (lands before, inside or after its commit)."""
        with self._http() as http:
            mid, urls = self._initiate(http, name)
            assert httpx.put(urls["time_series.parquet"], content=self.small).status_code == 200
        sender = threading.Thread(target=self._confirm_quietly, args=(mid, name), daemon=True)
        sender.start()
        staged = self.data_dir / "storage" / "uploads" / mid
        landed = _wait_for(lambda: not staged.exists(), 5)
        self._kill()
        sender.join(60)
        return landed

    def _confirm_quietly(self, mid: str, name: str) -> None:
        with contextlib.suppress(httpx.HTTPError), self._http() as http:
            self._confirm(http, mid, name)


KILL_POINTS: dict[str, Callable[[Campaign, str], bool]] = {
    "mid-put": Campaign.mid_put,
    "after-confirm": Campaign.after_confirm,
    "mid-processing": Campaign.mid_processing,
    "mid-confirm": Campaign.mid_confirm,
}


def summary_row(result: KillResult) -> dict[str, Any]:
    """One line of the campaign table."""
    before, after = result.before_restart, result.after_restart
    return {
        "point": result.point,
        "landed": result.landed,
        "files before restart": before.files_on_disk,
        "orphans before restart": len(before.orphans),
        "files after restart": after.files_on_disk,
        "referenced after restart": after.referenced,
        "staged uploads": after.staged,
        "orphans after restart": len(after.orphans),
        "missing": len(after.missing),
        "stuck": len(after.stuck),
    }
