"""``make stress``: many cold starts of ``ionworks serve --demo``; any failed start fails the run.

Each start is a fresh interpreter with a fresh data dir and, by default, an empty bytecode cache
(``PYTHONPYCACHEPREFIX`` in a new directory), so imports are as slow as on a fresh clone: that is
where the polars/numpy first-use race showed. Two starts run at a time, as ``pytest -n 2`` does.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from run_demo import free_port, start_server, stop, wait_until_ready


def one_start(n: int, cold: bool) -> tuple[int, float, str | None]:
    """Start, wait for ``/healthz``, stop. Returns (n, seconds, failure or None)."""
    with tempfile.TemporaryDirectory(prefix="ionworks-stress-") as tmp:
        env = dict(os.environ)
        if cold:
            env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        port, key = free_port(), f"stress-{secrets.token_urlsafe(8)}"
        log_path = Path(tmp) / "server.log"
        started = time.monotonic()
        with open(log_path, "wb") as log:
            server = start_server(port, key, str(Path(tmp) / "data"), "--demo", log=log, env=env)
            try:
                wait_until_ready(f"http://127.0.0.1:{port}", server, timeout=180)
                failure = None
            except SystemExit as exc:
                failure = f"{exc}\n{log_path.read_text(errors='replace')[-3000:]}"
            finally:
                stop(server)
        return n, time.monotonic() - started, failure


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument(
        "--warm", action="store_true", help="keep the bytecode cache between starts"
    )
    args = parser.parse_args()
    failures = 0
    with ThreadPoolExecutor(args.parallel) as pool:
        for n, seconds, failure in pool.map(
            lambda n: one_start(n, not args.warm), range(1, args.runs + 1)
        ):
            status = "ok" if failure is None else "FAILED"
            print(f"start {n:3d}/{args.runs}: {status} in {seconds:.1f} s", flush=True)
            if failure is not None:
                failures += 1
                print(failure, file=sys.stderr)
    print(f"{args.runs - failures}/{args.runs} cold starts of `serve --demo` succeeded")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
