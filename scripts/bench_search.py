"""Name search at scale (``make load-search``): p50/p99 of ``GET /cell_specifications?name=ilike.%x%``
at 1,000,000 specifications, on SQLite and (with ``IONWORKS_TEST_DATABASE_URL``, which
``scripts/with_postgres.py`` sets) on PostgreSQL.

Rows are bulk-inserted straight into a migrated database (the API would take hours), in the
server's default organization, then a real server answers the queries over HTTP. Each name
carries one of 1,000 random words, so a word (or three letters of it) matches about a thousand
names; the response has the first page (``limit`` 1000, the API's default, and 50) and ``total``;
an exact ``name=eq.`` of one existing name is timed beside them. The same patterns
are also timed in-process without the text index (the scan every server did before migration
0002), interleaved with the indexed query. The SQLite database is kept in
``/tmp/ionworks-bench-search`` across runs; the PostgreSQL one lives as long as its cluster.

    python scripts/with_postgres.py -- python scripts/bench_search.py [--specs N] [--queries N]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import random
import shutil
import statistics
import string
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, func, insert, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from server_process import database_url_for, start_server  # noqa: E402

sys.path.insert(0, str(ROOT / "scripts"))
from with_postgres import _as_owner, _bin, _free_port  # noqa: E402

from ionworks_server.db import cell_specifications as S  # noqa: E402
from ionworks_server.db import create_db_engine, organizations  # noqa: E402

KEY = "bench-search-key-0123456789"
CACHE = Path("/tmp/ionworks-bench-search")
SMALL_PAGE = 50
EXACT = 0
"""The run of ``name=eq.<an existing name>`` (default page), beside the two search pages."""
SHARED_BUFFERS = "1GB"
"""The bench cluster's ``shared_buffers`` (``make load-search`` passes it to with_postgres.py): the
table and its indexes (~800 MB at 1M specifications) fit, as docs/server.md advises a team."""
CHEMISTRIES = ["NMC811", "NMC622", "LFP", "NCA", "LCO", "LMO", "NMC532", "LMFP"]
FORMS = ["18650", "21700", "4680", "pouch", "prismatic", "R2032"]


def _words(rng: random.Random, count: int) -> list[str]:
    letters = string.ascii_lowercase
    return sorted({"".join(rng.choices(letters, k=7)) for _ in range(count * 2)})[:count]


def _rows(org: str, project: str, count: int, words: list[str]) -> Iterator[list[dict[str, Any]]]:
    rng = random.Random(7)
    now = datetime(2026, 1, 1)
    batch: list[dict[str, Any]] = []
    for i in range(count):
        name = (
            f"{rng.choice(CHEMISTRIES)}/Graphite {rng.choice(FORMS)} {rng.choice(words)} #{i:07d}"
        )
        batch.append(
            {
                "id": f"bench-{i:07d}",
                "organization_id": org,
                "project_id": project,
                "name": name,
                "ratings": {},
                "components": {},
                "extra": {},
                "created_at": now,
                "updated_at": now,
            }
        )
        if len(batch) == 20_000:
            yield batch
            batch = []
    if batch:
        yield batch


def _fill(engine: Engine, count: int, words: list[str]) -> None:
    with engine.connect() as conn:
        org, project = conn.execute(
            select(organizations.c.id, organizations.c.default_project_id)
        ).one()
        have = conn.execute(select(func.count()).select_from(S)).scalar_one()
    if have >= count:
        return
    started = time.perf_counter()
    for batch in _rows(org, project, count, words):
        with engine.begin() as conn:
            conn.execute(insert(S), batch)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    print(f"  inserted {count:,} specifications in {time.perf_counter() - started:.0f} s")


def _exact_names(engine: Engine, specs: int, count: int) -> list[str]:
    """``count`` names of the ``specs`` loaded specifications, for ``name=eq.<x>``."""
    ids = [f"bench-{i:07d}" for i in random.Random(5).sample(range(specs), count)]
    with engine.connect() as conn:
        found = dict(conn.execute(select(S.c.id, S.c.name).where(S.c.id.in_(ids))).all())
    return [found[i] for i in ids if i in found] or ["no such name"] * count


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _scan_ms(engine: Engine, org: str, pattern: str, limit: int) -> float:
    """The same page and count with a plain LIKE and no text index (PostgreSQL: index scans off)."""
    where = [S.c.organization_id == org, S.c.name.ilike(pattern, escape="\\")]
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET enable_bitmapscan = off"))
        started = time.perf_counter()
        conn.execute(select(func.count()).select_from(S).where(*where)).scalar_one()
        order = [S.c.created_at.asc().nulls_first(), S.c.id.asc()]
        conn.execute(select(S).where(*where).order_by(*order).limit(limit)).all()
        return (time.perf_counter() - started) * 1000


def _cpu_ns(pids: list[int]) -> int:
    """CPU time the processes ``pids`` (every thread) have used so far, in ns (Linux)."""
    total = 0
    for pid in pids:
        for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
            with contextlib.suppress(OSError, ValueError):
                total += int(stat.read_text().split()[0])
    return total


def _database_pids(engine: Engine) -> list[int]:
    """The PostgreSQL backends serving the bench's database (the server's pool), else none."""
    if engine.dialect.name != "postgresql":
        return []
    query = text(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid()"
    )
    with engine.connect() as conn:
        return [int(pid) for pid in conn.execute(query).scalars()]


def _reference_server(tree: Path, data_dir: Path) -> Any:
    """A server run from another checkout (``git worktree add DIR <commit>``) on the same data."""
    spec = importlib.util.spec_from_file_location(
        "reference_server", tree / "tests/server_process.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)  # its REPO_ROOT is the tree: the server runs from there
    return module.start_server(data_dir, KEY)


def _bench(
    label: str,
    data_dir: Path,
    count: int,
    queries: int,
    limit: int,
    scan: bool = True,
    reference: Path | None = None,
) -> dict[str, Any]:
    print(f"{label}: {count:,} specifications")
    rng = random.Random(11)
    words = _words(random.Random(3), 1000)
    servers = {"": start_server(data_dir, KEY)}
    try:
        if reference is not None:
            servers["reference_"] = _reference_server(reference, data_dir)
        url = database_url_for(data_dir) or f"sqlite:///{data_dir / 'ionworks.sqlite3'}"
        engine = create_db_engine(url)
        _fill(engine, count, words)
        with engine.connect() as conn:
            org = conn.execute(select(organizations.c.id)).scalar_one()
        https = {
            name: httpx.Client(base_url=server.url, headers={"X-API-Key": KEY}, timeout=120)
            for name, server in servers.items()
        }
        patterns = [f"%{w}%" for w in rng.sample(words, queries // 2)]
        patterns += [f"%{w[1:4]}%" for w in rng.sample(words, queries - len(patterns))]
        for http in https.values():
            http.get("/cell_specifications", params={"name": "ilike.%warm%", "limit": limit})
        exact = _exact_names(engine, count, len(patterns))
        pages = (limit, SMALL_PAGE, EXACT)
        runs = [(name, page) for page in pages for name in servers]
        walls: dict[tuple[str, int], list[float]] = {run: [] for run in runs}
        cpu: dict[tuple[str, int], list[float]] = {run: [] for run in runs}
        scanned: list[float] = []
        totals: list[int] = []
        for turn, (pattern, one) in enumerate(zip(patterns, exact, strict=True)):
            backends = _database_pids(engine)
            # interleaved: the default page, a small page, an exact name (each server in turn;
            # the reference first every other pattern, as the first reads the pages cold),
            # then the scan
            order = sorted(servers, reverse=turn % 2 == 1)
            for name, page in [(name, page) for page in pages for name in order]:
                pids = [servers[name].process.pid, *backends]
                params = {"name": f"ilike.{pattern}", "limit": str(page)}
                if page == EXACT:
                    params = {"name": f"eq.{one}", "limit": str(limit)}
                used = _cpu_ns(pids)
                started = time.perf_counter()
                response = https[name].get("/cell_specifications", params=params)
                walls[name, page].append((time.perf_counter() - started) * 1000)
                cpu[name, page].append((_cpu_ns(pids) - used) / 1e6)
                assert response.status_code == 200, response.text
                if page == EXACT:
                    assert response.json()["total"] == 1, (one, response.text[:200])
                else:
                    total = response.json()["total"]
            totals.append(total)
            if scan:
                scanned.append(_scan_ms(engine, org, pattern, limit))
        engine.dispose()
    finally:
        for server in servers.values():
            server.stop()
    result: dict[str, Any] = {
        "database": label,
        "specifications": count,
        "queries": len(patterns),
        "median_total": statistics.median(totals),
    }
    for (name, run), times in walls.items():
        what = "_eq" if run == EXACT else f"_limit{run}"
        result[f"{name}http{what}_p50_ms"] = round(_pct(times, 0.5), 1)
        result[f"{name}http{what}_p99_ms"] = round(_pct(times, 0.99), 1)
        result[f"{name}server_cpu{what}_p50_ms"] = round(_pct(cpu[name, run], 0.5), 1)
    if scanned:
        result[f"sql_scan_limit{limit}_p50_ms"] = round(_pct(scanned, 0.5), 1)
    print(json.dumps(result))
    return result


@contextlib.contextmanager
def _kept_cluster(directory: Path) -> Iterator[str]:
    """A PostgreSQL cluster kept in ``directory`` (made on first use), running for the block."""
    data = directory / "data"
    if not data.exists():
        directory.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(directory, "postgres", "postgres")
        init = [_bin("initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]
        subprocess.run(
            _as_owner([*init, "--locale=C.UTF-8"]), check=True, stdout=subprocess.DEVNULL
        )
    port = _free_port()
    options = f"-p {port} -k {directory} -c listen_addresses=127.0.0.1 -c fsync=off"
    options += f" -c shared_buffers={SHARED_BUFFERS}"
    log = directory / "server.log"
    start = [_bin("pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "start"]
    subprocess.run(_as_owner(start), check=True, stdout=subprocess.DEVNULL)
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        stop = [_bin("pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]
        subprocess.run(_as_owner(stop), check=False, capture_output=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--specs", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--keep", type=Path, help="keep and reuse the loaded databases here")
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    parser.add_argument("--no-scan", action="store_true", help="skip timing the unindexed scan")
    parser.add_argument(
        "--compare",
        type=Path,
        help="also time a server run from this checkout (git worktree add DIR COMMIT), interleaved",
    )
    args = parser.parse_args()
    postgres = os.environ.pop("IONWORKS_TEST_DATABASE_URL", None)  # SQLite first, on its own
    root = args.keep if args.keep is not None else CACHE
    results = []
    if args.only != "postgresql":
        data_dir = root / f"sqlite-{args.specs}"
        results.append(
            _bench(
                "sqlite",
                data_dir,
                args.specs,
                args.queries,
                args.limit,
                not args.no_scan,
                args.compare,
            )
        )
    with contextlib.ExitStack() as stack:
        if args.keep is not None and args.only != "sqlite":
            postgres = stack.enter_context(_kept_cluster(args.keep / "postgres-cluster"))
        if postgres and args.only != "sqlite":
            os.environ["IONWORKS_TEST_DATABASE_URL"] = postgres
            name = f"postgres-{args.specs}" + ("" if args.keep else f"-{os.getpid()}")
            bench = _bench(
                "postgresql",
                root / name,
                args.specs,
                args.queries,
                args.limit,
                not args.no_scan,
                args.compare,
            )
            results.append(bench)
        elif args.only != "sqlite":
            print("PostgreSQL skipped: run through scripts/with_postgres.py (make load-search)")
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
