"""Time ionworksdata 0.20.2's ``steps.summarize`` + ``cycle_metrics.get_cycle_metrics``.

Run by the scratch interpreter that has the official package installed, never by the project:

    /tmp/iwdata-venv/bin/python scripts/bench_ionworksdata.py SERIES.parquet REPEATS

``scripts/bench.py --compare`` writes the series and times ours on the same frame. The parquet
read is outside the timing, as it is for ours. Prints one JSON line: the median seconds, the
samples, and the steps and cycles counts (so the caller can check both sides did the same work).
"""

from __future__ import annotations

import gc
import json
import statistics
import sys
import time

import ionworksdata
import polars as pl
from ionworksdata.cycle_metrics import get_cycle_metrics
from ionworksdata.steps import summarize


def main(path: str, repeats: int) -> int:
    frame = pl.read_parquet(path)
    samples: list[float] = []
    steps = cycles = 0
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        table = summarize(frame)
        metrics = get_cycle_metrics(table)
        samples.append(time.perf_counter() - start)
        steps, cycles = table.height, metrics.height
    result = {
        "version": ionworksdata.__version__,
        "rows": frame.height,
        "median_s": statistics.median(samples),
        "samples_s": samples,
        "steps": steps,
        "cycles": cycles,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 3))
