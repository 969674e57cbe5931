"""``make demo``: start a local server with demo data, run scripts/demo.py against it, stop it.

With ``IONWORKS_API_URL`` and ``IONWORKS_API_KEY`` already set, the walkthrough runs against that
server instead and nothing is started. The server is stopped on success, failure or Ctrl-C.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_ready(url: str, server: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the local server exited early with status {server.returncode}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the local server did not become ready within {timeout:.0f} s")


def start_server(
    port: int,
    key: str,
    data_dir: str,
    *options: str,
    log: Any = subprocess.DEVNULL,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """``ionworks serve`` on loopback in its own process group (so :func:`stop` gets it all)."""
    command = [sys.executable, "-m", "ionworks_server", "serve", "--port", str(port)]
    command += ["--data-dir", data_dir, "--api-key", key, *options]
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds through the `finally` that stops the server


def main() -> int:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    demo = [sys.executable, str(ROOT / "scripts" / "demo.py")]
    if os.environ.get("IONWORKS_API_URL") and os.environ.get("IONWORKS_API_KEY"):
        print(f"Using the server at {os.environ['IONWORKS_API_URL']} (from the environment)")
        return subprocess.call(demo, cwd=ROOT)
    port, key = free_port(), f"demo-{secrets.token_urlsafe(16)}"
    url = f"http://127.0.0.1:{port}"
    output = ROOT / os.environ.get("IONWORKS_DEMO_OUTPUT", "demo-output")
    output.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix="ionworks-demo-") as data_dir,
        open(output / "server.log", "wb") as log,
    ):
        started = time.monotonic()
        server = start_server(port, key, data_dir, "--demo", log=log)
        try:
            wait_until_ready(url, server, timeout=120)
            print(
                f"Local server with demo data ready at {url} in {time.monotonic() - started:.1f} s"
            )
            env = {**os.environ, "IONWORKS_API_URL": url, "IONWORKS_API_KEY": key}
            return subprocess.call(demo, cwd=ROOT, env=env)
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130
        finally:
            stop(server)


if __name__ == "__main__":
    sys.exit(main())
