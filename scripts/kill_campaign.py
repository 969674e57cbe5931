"""A ``kill -9`` campaign against the real local server; prints the results table.

Each round starts the server on one data dir, drives an upload to a kill point (mid-PUT, during
confirm, right after confirm, during processing of a large upload), sends SIGKILL, restarts on
the same data dir, waits for interrupted jobs to finish or fail, and audits the files on disk
against the files the database references (``tests/crash_campaign.py``). Exits 1 when any
round leaves an orphan, a missing or torn file, or a stuck measurement.

    .venv/bin/python scripts/kill_campaign.py --rounds 5 --rows 1000000

Under ``scripts/with_postgres.py`` the server (and the audit) use a database on the throwaway
PostgreSQL cluster instead of the data dir's SQLite file.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from crash_campaign import KILL_POINTS, Campaign, KillResult, summary_row


def _print_table(results: list[KillResult]) -> None:
    rows = [summary_row(r) for r in results]
    columns = list(rows[0])
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in columns}
    print("  ".join(c.rjust(widths[c]) for c in columns))
    for row in rows:
        print("  ".join(str(row[c]).rjust(widths[c]) for c in columns))


def _print_totals(results: list[KillResult]) -> None:
    landed = sum(r.landed for r in results)
    before = sum(len(r.before_restart.orphans) for r in results)
    after = sum(len(r.after_restart.orphans) for r in results)
    missing = sum(len(r.after_restart.missing) for r in results)
    stuck = sum(len(r.after_restart.stuck) for r in results)
    last = results[-1].after_restart
    print(
        f"\nkills: {len(results)} ({landed} landed inside their window); orphans left by the "
        f"kills: {before}; orphans after restart: {after}; missing/torn: {missing}; "
        f"stuck: {stuck}; final data dir: {last.files_on_disk} files on disk, "
        f"{last.referenced} referenced by measurements, {last.staged} staged by open uploads"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="kills per kill point")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the large upload")
    parser.add_argument("--points", nargs="+", choices=list(KILL_POINTS), default=list(KILL_POINTS))
    parser.add_argument("--data-dir", type=Path, help="default: a fresh temporary directory")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kill-campaign-") as scratch:
        data_dir = args.data_dir or Path(scratch) / "data"
        campaign = Campaign(data_dir, rows=args.rows)
        results: list[KillResult] = []
        started = time.perf_counter()
        for round_number in range(args.rounds):
            for point in args.points:
                result = campaign.kill_at(point)
                results.append(result)
                print(
                    f"round {round_number + 1} {point}: landed={result.landed} "
                    f"orphans {len(result.before_restart.orphans)} -> "
                    f"{len(result.after_restart.orphans)}",
                    file=sys.stderr,
                    flush=True,
                )
        print(f"\n{len(results)} kills in {time.perf_counter() - started:.0f} s\n")
        _print_table(results)
        _print_totals(results)
    return 0 if all(r.after_restart.consistent for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
