"""Cost of API-key verification: the function alone (cold and repeated) and per HTTP request.

In-process part: a fresh data dir with ``--keys`` keys; each key's first ``authenticate`` is the
cold cost (for a slow hash, the hashing), then ``--repeat`` calls with one key are the per-request
cost a busy client sees. HTTP part: ``--repeat`` sequential ``GET /users/me`` on one keep-alive
connection to a real ``ionworks serve`` (no demo).

    .venv/bin/python scripts/measure_key_cost.py --keys 20 --repeat 1000
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from server_process import start_server  # noqa: E402

from ionworks_server import auth  # noqa: E402
from ionworks_server.auth import (  # noqa: E402
    authenticate,
    create_key,
    ensure_organization,
    ensure_user,
)
from ionworks_server.config import Settings  # noqa: E402
from ionworks_server.db import create_db_engine, init_schema, write  # noqa: E402


def in_process(data_dir: Path, n_keys: int, repeat: int) -> None:
    settings = Settings.from_data_dir(data_dir)
    data_dir.mkdir(parents=True)
    engine = create_db_engine(settings.database_url)
    init_schema(engine)
    with write(engine) as conn:
        org = ensure_organization(conn, "bench")
        user = ensure_user(conn, org, "bench@localhost")
        keys = [create_key(conn, org, user) for _ in range(n_keys)]
    cache = getattr(auth, "_CACHE", None)  # the verified-key cache, where there is one
    if cache is not None:
        cache.clear()  # creating a key remembers it: measure a key this process never saw
    cold = []
    for key in keys:
        t0 = time.perf_counter()
        authenticate(engine, {"x-api-key": key})
        cold.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    for _ in range(repeat):
        authenticate(engine, {"x-api-key": keys[0]})
    warm = (time.perf_counter() - t0) / repeat
    print(
        f"authenticate(): first use of a key median {statistics.median(cold) * 1e3:.2f} ms "
        f"(max {max(cold) * 1e3:.2f} ms, {n_keys} keys); repeated {warm * 1e6:.0f} us/call "
        f"({repeat} calls)"
    )
    engine.dispose()


def over_http(data_dir: Path, repeat: int) -> None:
    key = "bench-key-0123456789"
    server = start_server(data_dir, key)
    try:
        with httpx.Client(base_url=server.url, headers={"X-API-Key": key}) as http:
            first = time.perf_counter()
            assert http.get("/users/me").status_code == 200
            first = time.perf_counter() - first
            t0 = time.perf_counter()
            for _ in range(repeat):
                http.get("/users/me").raise_for_status()
            per = (time.perf_counter() - t0) / repeat
            t0 = time.perf_counter()
            for _ in range(repeat):
                http.get("/healthz").raise_for_status()
            health = (time.perf_counter() - t0) / repeat
    finally:
        server.stop()
    print(
        f"GET /users/me: first {first * 1e3:.1f} ms, then {per * 1e3:.2f} ms/request over "
        f"{repeat} (GET /healthz, no auth: {health * 1e3:.2f} ms/request)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ionworks-keys-") as tmp:
        in_process(Path(tmp) / "a", args.keys, args.repeat)
        over_http(Path(tmp) / "b", args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
