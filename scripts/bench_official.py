"""The bench cases run through the official client (ionworks-api 0.38.0), for ``make bench-compare``.

Executed by ``scripts/bench.py --compare`` with the scratch venv's Python (never this project's),
against the same server and measurements in the same run; prints one JSON object of medians in
seconds (memory in bytes). Only the standard library, polars and the official client are used.
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any


def median(fn: Callable[[], Any], repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    big, small, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3])
    started = time.perf_counter()
    import ionworks
    from ionworks import Ionworks

    import_in_process = time.perf_counter() - started
    ionworks.set_cache_directory(tempfile.mkdtemp(prefix="official-cache-"))
    client = Ionworks()
    m = client.cell_measurement
    results: dict[str, float] = {"import_in_process": import_in_process}
    results["cold_time_series"] = median(lambda: m.time_series(big, use_cache=False), repeats)
    m.time_series(big)
    results["warm_time_series"] = median(lambda: m.time_series(big), repeats * 3)
    for mid in (big, small):
        m.time_series(mid)
        m.steps(mid)
    results["warm_steps_big"] = median(lambda: m.steps(big), repeats * 5)
    results["warm_steps_small"] = median(lambda: m.steps(small), repeats * 5)
    results["cold_detail"] = median(lambda: m.detail(big, use_cache=False), repeats)

    def list_all() -> int:
        seen, offset = 0, 0
        while True:
            page = client.cell_spec.list(limit=1000, offset=offset)
            seen += len(page.items)
            if seen >= page.total or not page.items:
                return seen
            offset += 1000

    results["list_specs"] = median(list_all, max(1, repeats // 2))
    code = "from ionworks import Ionworks"
    samples = []
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        samples.append(time.perf_counter() - start)
    results["import"] = statistics.median(samples)
    memory = (
        "import os\n"
        "from ionworks import Ionworks\n"
        "def hwm():\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith('VmHWM:'):\n"
        "            return int(line.split()[1]) * 1024\n"
        f"Ionworks().cell_measurement.time_series({big!r}, use_cache=False)\n"
        "print(hwm())\n"
    )
    out = subprocess.run([sys.executable, "-c", memory], check=True, capture_output=True, text=True)
    results["peak_rss"] = float(out.stdout.strip().splitlines()[-1])
    print(json.dumps(results))


if __name__ == "__main__":
    os.environ.setdefault("IONWORKS_DISABLE_PROGRESS_BARS", "1")
    main()
