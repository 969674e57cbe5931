"""Reproduce an open defect: a process that read a parquet window through our ranged file object
sometimes aborts at exit ("terminate called without an active exception", exit 134).

    .venv/bin/python scripts/repro_window_exit_abort.py --runs 20

Decoding on the calling thread (``use_threads=False`` in ``ionworks._transfer._read_window``) made
it rarer, not gone: this script still aborts in some runs. Not part of ``make test``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

CHILD = """
import io
import subprocess
import sys
import polars as pl
from ionworks._transfer import _read_window
frame = pl.DataFrame({"t": range(200_000), "v": [float(i % 977) for i in range(200_000)]})
buffer = io.BytesIO()
frame.write_parquet(buffer, row_group_size=20_000)
data = buffer.getvalue()
def fetch(first, last):
    start = max(0, len(data) - last) if first is None else first
    stop = len(data) if first is None else last + 1
    return data[start:stop], start, len(data)
assert _read_window(fetch, 1000, 150_000, "series", None).height == 149_000
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    runs = parser.parse_args().runs
    codes = [
        subprocess.run([sys.executable, "-c", CHILD], capture_output=True).returncode
        for _ in range(runs)
    ]
    aborted = sum(code != 0 for code in codes)
    print(f"{aborted} of {runs} runs aborted at exit: {codes}")


if __name__ == "__main__":
    main()
