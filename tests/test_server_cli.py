"""``serve`` and ``admin`` as a user runs them: keys, demo loading, restarts and start-up checks."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from conftest import http_client, new_organization_key
from server_process import REPO_ROOT, ServerProcess, admin, free_port, start_server

KEY = "cli-key-0123456789"


def sql(data_dir: Path, statement: str, *args: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(data_dir / "ionworks.sqlite3") as conn:
        rows = conn.execute(statement, args).fetchall()
        conn.commit()
        return rows


def test_admin_create_key_prints_only_a_working_key_while_the_server_runs(
    live_server: ServerProcess,
) -> None:
    result = admin(
        live_server.data_dir, "create-key", "--organization", "cli-lab", "--email", "li@example.com"
    )
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"iwk_[A-Za-z0-9_-]{40,}\n", result.stdout)
    me = http_client(live_server, result.stdout.strip()).get("/users/me").json()
    assert me["email"] == "li@example.com"
    assert me["authorized_organization"]["name"] == "cli-lab"
    second = new_organization_key(live_server, "cli-lab")
    assert second != result.stdout.strip()
    assert http_client(live_server, second).get("/users/me").status_code == 200


def test_serve_without_a_key_creates_one_and_prints_it_once(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", None)
    try:
        match = re.search(r"API key \(shown once, stored hashed\): (\S+)", server.log())
        assert match, server.log()
        assert server.url in server.log()
        assert http_client(server, match.group(1)).get("/users/me").status_code == 200
    finally:
        server.stop()
    again = start_server(tmp_path / "data", None)
    try:
        assert "shown once" not in again.log()
        assert "admin create-key" in again.log()
    finally:
        again.stop()


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir where a demo server ran once (and was stopped)."""
    data_dir = tmp_path_factory.mktemp("cli-demo") / "data"
    server = start_server(data_dir, KEY, demo=True, extra_args=["--demo-rows", "5000"])
    server.stop()
    assert "Loaded demo data" in server.log()
    assert "Added long-run-5000" in server.log()
    return data_dir


def test_demo_twice_is_a_no_op_with_a_message(demo_dir: Path) -> None:
    before = int(str(sql(demo_dir, "SELECT COUNT(*) FROM cell_specifications")[0][0]))
    server = start_server(demo_dir, KEY, demo=True, extra_args=["--demo-rows", "5000"])
    try:
        assert "Demo data not loaded: the data dir already holds data" in server.log()
        assert "Kept existing long-run-5000" in server.log()
        total = http_client(server).get("/cell_specifications", params={"limit": 1}).json()["total"]
        assert total == before >= 1200
        assert server.startup_s < 10, "an existing data dir must be ready quickly"
    finally:
        server.stop()


def test_demo_rows_adds_a_long_run_under_the_first_batch_a_cell(demo_dir: Path) -> None:
    rows = sql(
        demo_dir,
        "SELECT i.name, m.row_count, m.processing_status FROM cell_measurements m "
        "JOIN cell_instances i ON i.id = m.cell_instance_id WHERE m.name = 'long-run-5000'",
    )
    assert rows == [("batch-A-cell-01", 5000, "ready")]


def test_a_restart_reprocesses_interrupted_uploads_and_sweeps_orphans(demo_dir: Path) -> None:
    (mid,) = sql(demo_dir, "SELECT id FROM cell_measurements WHERE name = 'long-run-5000'")[0]
    storage = demo_dir / "storage"
    # Simulate a crash mid-processing: the row is 'running' and only the staged upload exists.
    staged = storage / "processing" / str(mid)
    staged.mkdir(parents=True)
    shutil.copy(
        storage / "measurements" / str(mid) / "time_series.parquet", staged / "time_series.parquet"
    )
    shutil.rmtree(storage / "measurements" / str(mid))
    sql(
        demo_dir,
        "UPDATE cell_measurements SET processing_status = 'running', row_count = NULL WHERE id = ?",
        mid,
    )
    orphan = storage / "uploads" / "ghost-upload"
    orphan.mkdir(parents=True)
    (orphan / "time_series.parquet").write_bytes(b"left behind")

    server = start_server(demo_dir, KEY)
    try:
        http = http_client(server)
        for _ in range(200):
            body = http.get(f"/cell_measurements/{mid}").json()
            if body["processing_status"] == "ready":
                break
            time.sleep(0.05)
        assert body["processing_status"] == "ready"
        assert body["row_count"] == 5000
        assert (storage / "measurements" / str(mid) / "steps.parquet").is_file()
        assert not staged.exists()
        assert not orphan.exists()
    finally:
        server.stop()


def test_a_data_dir_of_another_schema_version_is_refused_with_instructions(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    start_server(data_dir, KEY).stop()
    sql(data_dir, "UPDATE schema_info SET value = '999' WHERE key = 'schema_version'")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ionworks_server",
            "serve",
            "--port",
            str(free_port()),
            "--data-dir",
            str(data_dir),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "schema version 999" in result.stderr
    assert "--data-dir" in result.stderr


def test_the_module_entry_point_explains_its_usage() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ionworks_server"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "serve" in result.stderr and "admin" in result.stderr


def test_health_needs_no_key(live_server: ServerProcess) -> None:
    assert httpx.get(f"{live_server.url}/healthz").status_code == 200


@pytest.mark.parametrize("command", ["serve", "admin"])
def test_a_malformed_limit_variable_is_one_line_and_writes_nothing(
    tmp_path: Path, command: str
) -> None:
    data_dir = tmp_path / "data"
    argv = (
        ["serve", "--port", str(free_port())]
        if command == "serve"
        else ["admin", "create-key", "--organization", "lab"]
    )
    result = subprocess.run(
        [sys.executable, "-m", "ionworks_server", *argv, "--data-dir", str(data_dir)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "IONWORKS_SERVER_MAX_UPLOAD_ROWS": "abc"},
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: IONWORKS_SERVER_MAX_UPLOAD_ROWS must be a whole number, got 'abc'"
    ]
    assert not data_dir.exists()
