"""Run the real local server as a subprocess for integration tests.

``start_server`` launches ``python -m ionworks_server serve`` on a free loopback port with its own
data dir, waits until ``GET /healthz`` answers, and returns a handle whose ``stop()`` terminates
it (then kills it if it does not exit). On Linux the child also gets ``PR_SET_PDEATHSIG`` so it
dies with the test process even if pytest itself is killed: no orphaned servers.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

__all__ = ["ServerProcess", "admin", "database_url_for", "free_port", "start_server"]

REPO_ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 60.0


def free_port() -> int:
    """A port that was free a moment ago (the server retries if it is taken meanwhile)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    """Ask Linux to SIGTERM the child when the test process dies (no-op elsewhere)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


TEST_DATABASE_ENV = "IONWORKS_TEST_DATABASE_URL"
"""A PostgreSQL server's URL (``make test-postgres`` sets it): each data dir then gets a database
of its own there, named after the data dir's path, so a restarted server finds its data again."""


def database_url_for(data_dir: Path) -> str | None:
    """The database of ``data_dir`` on the test PostgreSQL server (created if new), or None."""
    base = os.environ.get(TEST_DATABASE_ENV)
    if not base:
        return None
    import psycopg

    digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:24]
    name = f"iw_{digest}"
    with psycopg.connect(base, autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if found is None:
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base.rsplit('/', 1)[0]}/{name}"


def _child_env(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    # The test server must never pick up a developer's own data dir or database.
    env.pop("IONWORKS_SERVER_DATA_DIR", None)
    env.pop("IONWORKS_SERVER_DATABASE_URL", None)
    database_url = database_url_for(data_dir)
    if database_url:
        env["IONWORKS_SERVER_DATABASE_URL"] = database_url
    env["PYTHONUNBUFFERED"] = "1"
    return env


@dataclass
class ServerProcess:
    """A running server: what tests need to talk to it, and how to stop it."""

    url: str
    api_key: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    startup_s: float = 0.0
    extra_keys: dict[str, str] = field(default_factory=dict)

    def log(self) -> str:
        """Everything the server printed so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate the server, killing it if it does not exit in time."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)


def start_server(
    data_dir: Path,
    api_key: str | None,
    *,
    demo: bool = False,
    extra_args: Sequence[str] = (),
    timeout: float = START_TIMEOUT_S,
    attempts: int = 3,
) -> ServerProcess:
    """Start a server and wait until it is healthy; raises with its log if it never gets there.

    ``api_key=None`` starts it without ``--api-key`` (it then prints a key it created, if any).
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    last_error = ""
    for attempt in range(attempts):
        port = free_port()
        log_path = data_dir.parent / f"{data_dir.name}-server-{port}.log"
        args = [
            sys.executable,
            "-m",
            "ionworks_server",
            "serve",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            *(["--api-key", api_key] if api_key else []),
            *(["--demo"] if demo else []),
            *extra_args,
        ]
        started = time.perf_counter()
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                args,
                cwd=REPO_ROOT,
                env=_child_env(data_dir),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )
        server = ServerProcess(
            f"http://127.0.0.1:{port}", api_key or "", data_dir, process, log_path
        )
        try:
            _wait_healthy(server, timeout)
        except RuntimeError as exc:
            server.stop()
            last_error = str(exc)
            if "address already in use" in server.log().lower() and attempt + 1 < attempts:
                continue
            raise
        except BaseException:
            server.stop()
            raise
        server.startup_s = time.perf_counter() - started
        return server
    raise RuntimeError(last_error)


def _wait_healthy(server: ServerProcess, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise RuntimeError(
                    f"server exited with status {server.process.returncode}:\n{server.log()[-4000:]}"
                )
            try:
                # The banner proves the port is ours: serve binds before it prints, so a 200 from
                # another process that took the port meanwhile is not mistaken for this server.
                if (
                    client.get(f"{server.url}/healthz").status_code == 200
                    and f"local server on {server.url} " in server.log()
                ):
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    raise RuntimeError(f"server not healthy after {timeout:.0f} s:\n{server.log()[-4000:]}")


def admin(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m ionworks_server admin ...`` against a data dir."""
    return subprocess.run(
        [sys.executable, "-m", "ionworks_server", "admin", *args, "--data-dir", str(data_dir)],
        cwd=REPO_ROOT,
        env=_child_env(data_dir),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
