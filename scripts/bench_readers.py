"""The cycler-file cases of ``make bench``: big synthetic exports read by ``ionworks.data.read``.

Text exports (Maccor, Neware) are compared with ``pl.read_csv`` parsing the whole file, every
column (the floor: no reader can skip parsing); the binary case (a BioLogic ``.mpr``) is
reported in MB/s against reading its bytes. Files are written once per run, in the layouts of
``tests/data/cyclers``, with a repeating rest / discharge / charge pattern.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from ionworks.data import read

STEP_ROWS = 1000
"""Rows per step of the synthetic pattern (rest, discharge, charge, repeated)."""


def _pattern(rows: int) -> pl.DataFrame:
    """Seconds, step number, state (R/D/C), current magnitude, voltage and a step counter."""
    index = pl.int_range(rows, eager=True)
    step = index // STEP_ROWS
    kind = step % 3
    return pl.DataFrame(
        {
            "t": index.cast(pl.Float64) * 10.0,
            "step": step + 1,
            "cycle": step // 3,
            "state": kind.replace_strict({0: "R", 1: "D", 2: "C"}, return_dtype=pl.String),
            "amps": kind.replace_strict({0: 0.0, 1: 1.0, 2: 0.5}, return_dtype=pl.Float64),
            "volts": 3.7 + 0.1 * np.sin(np.arange(rows) / 500.0),
            "in_step": (index % STEP_ROWS).cast(pl.Float64) * 10.0,
        }
    )


def _clock(seconds: pl.Expr, days: bool) -> pl.Expr:
    """``0d 01:02:03.00`` (Maccor) or ``01:02:03`` (Neware) text from seconds."""
    whole = seconds.cast(pl.Int64)
    hours = (whole // 3600) % 24 if days else whole // 3600
    parts = [
        hours.cast(pl.String).str.zfill(2),
        ((whole // 60) % 60).cast(pl.String).str.zfill(2),
        (whole % 60).cast(pl.String).str.zfill(2),
    ]
    text = pl.concat_str(parts, separator=":")
    return pl.format("{}d {}.00", whole // 86400, text) if days else text


def write_maccor(path: Path, rows: int) -> None:
    """A Maccor tab-separated text export (three preamble lines, ``TestTime`` as ``0d hh:mm:ss``)."""
    p = _pattern(rows)
    table = p.select(
        (pl.int_range(pl.len()) + 1).alias("Rec#"),
        pl.col("cycle").alias("Cyc#"),
        pl.col("step").alias("Step"),
        _clock(pl.col("t"), days=True).alias("TestTime"),
        _clock(pl.col("in_step"), days=True).alias("StepTime"),
        (pl.col("amps") * pl.col("in_step") / 3600).round(5).alias("Amp-hr"),
        (pl.col("amps") * pl.col("in_step") / 3600 * 3.7).round(5).alias("Watt-hr"),
        pl.col("amps").alias("Amps"),
        pl.col("volts").round(5).alias("Volts"),
        pl.col("state").alias("State"),
        pl.lit(0).alias("ES"),
        pl.lit("02/29/2024 09:15:00").alias("DPt Time"),
    )
    preamble = (
        "Today's Date:\t01 March 2024\tDate of Test:\t29 February 2024, 09:15:00 AM\n"
        "    Filename:\tbench_maccor\tTester Channel:\t7\n"
        "Procedure:\tCCCD.000\tDescription:\n"
    )
    path.write_text(preamble + table.write_csv(separator="\t"))


def write_neware(path: Path, rows: int) -> None:
    """A Neware CSV export (BTSDA flat layout, mA and mAh, a ``Date`` per row)."""
    p = _pattern(rows)
    step_type = pl.col("state").replace_strict({"R": "Rest", "D": "CC DChg", "C": "CC Chg"})
    start = pl.lit(1709197200.0)  # 2024-02-29 09:00:00 UTC
    date = ((start + pl.col("t")) * 1e6).cast(pl.Datetime("us")).dt.strftime("%Y-%m-%d %H:%M:%S")
    capacity = (pl.col("amps") * pl.col("in_step") / 3.6).round(3)
    table = p.select(
        (pl.int_range(pl.len()) + 1).alias("DataPoint"),
        (pl.col("cycle") + 1).alias("Cycle Index"),
        pl.col("step").alias("Step Index"),
        step_type.alias("Step Type"),
        _clock(pl.col("in_step"), days=False).alias("Time"),
        _clock(pl.col("t"), days=False).alias("Cumulative Time"),
        (pl.col("amps") * 1000 * pl.when(pl.col("state") == "D").then(-1).otherwise(1)).alias(
            "Current(mA)"
        ),
        pl.col("volts").round(4).alias("Voltage(V)"),
        capacity.alias("Capacity(mAh)"),
        pl.when(pl.col("state") == "C").then(capacity).otherwise(0.0).alias("Chg. Cap.(mAh)"),
        pl.when(pl.col("state") == "D").then(capacity).otherwise(0.0).alias("DChg. Cap.(mAh)"),
        date.alias("Date"),
    )
    path.write_text(table.write_csv())


def write_mpr(path: Path, rows: int) -> None:
    """A BioLogic ``.mpr`` with one data module: flags, Ns, time/s, Ewe/V, I/mA, (Q-Qo)/mA.h."""
    p = _pattern(rows)
    ids = (1, 131, 4, 6, 8, 13)
    fields = [("f", "u1"), ("ns", "<u2"), ("t", "<f8"), ("v", "<f4"), ("i", "<f4"), ("q", "<f8")]
    records = np.zeros(rows, dtype=np.dtype(fields))
    records["f"] = 1
    records["ns"] = p["step"].to_numpy()
    records["t"] = p["t"].to_numpy()
    records["v"] = p["volts"].to_numpy()
    records["i"] = p["amps"].to_numpy() * 1000.0
    head = struct.pack("<IB", rows, len(ids)) + struct.pack(f"<{len(ids)}H", *ids)
    body = head.ljust(0x195, b"\x00") + records.tobytes()
    module = b"MODULE" + b"VMP data".ljust(10) + b"VMP data".ljust(25)
    module += struct.pack("<II", len(body), 2) + b"03.15.17"
    path.write_bytes(b"BIO-LOGIC MODULAR FILE\x1a".ljust(52, b" ") + module + body)


def measure_readers(bench: Any, tmp: Path, rows: int, repeats: int, paired: Any) -> None:
    """Add the three reader cases to ``bench`` (a Recorder), timing ours against the floor."""
    maccor, neware, mpr = tmp / "bench_maccor.txt", tmp / "bench_neware.csv", tmp / "bench.mpr"
    write_maccor(maccor, rows)
    write_neware(neware, rows)
    write_mpr(mpr, rows)
    for name, path, floor in (
        ("maccor", maccor, lambda: pl.read_csv(maccor, separator="\t", skip_rows=3)),
        ("neware", neware, lambda: pl.read_csv(neware)),
    ):
        ours, base = paired(lambda p=path: read.time_series(p), floor, repeats)
        size = path.stat().st_size / 1e6
        note = f"{size:.0f} MB, {size / ours:.0f} MB/s; floor: pl.read_csv, every column"
        bench.add(f"read {name} text ({rows:,} rows)", ours, base, 1.3, note)
    ours, base = paired(lambda: read.time_series(mpr), lambda: mpr.read_bytes(), repeats)
    size = mpr.stat().st_size / 1e6
    note = f"{size:.0f} MB at {size / ours:.0f} MB/s; floor: reading the bytes"
    bench.add(f"read biologic .mpr ({rows:,} records)", ours, base, None, note)


def _interleaved(
    fns: dict[str, Any], repeats: int, clock: Callable[[], float] | None = None
) -> dict[str, float]:
    """Median seconds of each of ``fns``, timed in turn (order rotated each round), so machine
    noise hits all alike.

    ``clock`` defaults to the wall clock; ``time.process_time`` gives CPU seconds (all threads),
    which other processes on a loaded machine disturb far less.
    """
    import gc
    import statistics
    import time

    now = clock or time.perf_counter
    samples: dict[str, list[float]] = {name: [] for name in fns}
    names = list(fns)
    for repeat in range(repeats):
        # A new order each round: no function always runs after the same one (the one before
        # leaves memory freed or in use, which moves the next one's page faults).
        for name in names[repeat % len(names) :] + names[: repeat % len(names)]:
            fn = fns[name]
            gc.collect()
            start = now()
            fn()
            samples[name].append(now() - start)
    return {name: statistics.median(times) for name, times in samples.items()}


def _readers_at(revision: str, tmp: Path) -> Any:
    """``ionworks.data.read`` as it was at ``revision`` (git), loaded beside today's."""
    import importlib.util
    import subprocess
    import sys
    import tarfile

    archive = tmp / "before.tar"
    root = Path(__file__).resolve().parent.parent
    subprocess.run(
        ["git", "-C", str(root), "archive", "-o", str(archive), revision, "ionworks/data/read"],
        check=True,
    )
    with tarfile.open(archive) as tar:
        tar.extractall(tmp / "before", filter="data")
    package = tmp / "before" / "ionworks" / "data" / "read"
    spec = importlib.util.spec_from_file_location(
        "ionworks.data.read_before",
        package / "__init__.py",
        submodule_search_locations=[str(package)],
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def main() -> None:
    """``python scripts/bench_readers.py [--rows N] [--repeats N] [--against REV] [--cpu]``.

    The text cases alone, as ratios to ``pl.read_csv``; with ``--against``, the readers at that
    git revision are timed in the same interleaved run, for a before/after comparison, and their
    frames checked equal to today's (a speed-up must not change a number).
    """
    import argparse
    import tempfile
    import time

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--against", help="a git revision whose readers to time as well")
    parser.add_argument("--cpu", action="store_true", help="CPU time instead of wall clock")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        before = _readers_at(args.against, Path(tmp)) if args.against else None
        maccor, neware = Path(tmp) / "m.txt", Path(tmp) / "n.csv"
        write_maccor(maccor, args.rows)
        write_neware(neware, args.rows)
        floors: dict[str, tuple[Path, dict[str, Any]]] = {
            "maccor": (maccor, {"separator": "\t", "skip_rows": 3}),
            "neware": (neware, {}),
        }
        for name, (path, options) in floors.items():
            fns: dict[str, Callable[[], Any]] = {
                "pl.read_csv": partial(pl.read_csv, path, **options),
                "ours": partial(read.time_series, path),
            }
            if before is not None:
                fns[args.against] = partial(before.time_series, path)
                same = before.time_series(path).equals(read.time_series(path))
                print(f"{name}: frames equal to {args.against}'s: {same}")
            clock = time.process_time if args.cpu else None
            times = _interleaved(fns, args.repeats, clock)
            base = times["pl.read_csv"]
            cells = ", ".join(f"{k} {v:.3f} s ({v / base:.2f}x)" for k, v in times.items())
            print(f"{name} ({args.rows:,} rows, {'CPU' if args.cpu else 'wall'}): {cells}")


if __name__ == "__main__":
    main()
