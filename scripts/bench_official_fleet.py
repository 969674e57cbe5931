"""The official client's way to pull a fleet, for ``make bench-compare``: a loop over
``cell_measurement.detail`` (ionworks-api 0.38.0 has no bulk call).

Run by ``scripts/bench_fleet.py`` with the scratch venv's Python, against the same server and
measurements; prints ``{"seconds": ...}`` for one cold pass (the import is not timed).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time


def main() -> None:
    with open(sys.argv[1]) as listed:
        ids = json.loads(listed.read())
    import ionworks
    from ionworks import Ionworks

    ionworks.set_cache_directory(tempfile.mkdtemp(prefix="official-fleet-cache-"))
    measurements = Ionworks().cell_measurement
    started = time.perf_counter()
    for mid in ids:
        measurements.detail(mid, use_cache=False)
    print(json.dumps({"seconds": time.perf_counter() - started}))


if __name__ == "__main__":
    main()
