"""Check a fixed defect: a process that read a parquet window used to abort at exit sometimes
("terminate called without an active exception", exit 134).

    .venv/bin/python scripts/repro_window_exit_abort.py --runs 20

The cause: pyarrow read the window from a Python file object (``_RemoteFile``), so each buffer
it held owned a Python object; a decode worker dropping the last one just after the read had to
take the GIL, and if the interpreter was finalising by then the thread was ended inside a
noexcept destructor (std::terminate). Found with ``gdb -batch -ex run -ex bt --args python -c
...``: ``PyBuffer::~PyBuffer`` -> ``PyGILState_Ensure`` -> ``pthread_exit`` on an Arrow
``ThreadPool`` worker. Windows are now decoded from Arrow-owned memory (``_Ranges.native`` in
``ionworks._transfer``). ``tests/test_window_exit.py`` runs this child ten times.
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
from ionworks._transfer import read_window
frame = pl.DataFrame({"t": range(200_000), "v": [float(i % 977) for i in range(200_000)]})
buffer = io.BytesIO()
frame.write_parquet(buffer, row_group_size=20_000)
data = buffer.getvalue()
def fetch(first, last):
    start = max(0, len(data) - last) if first is None else first
    stop = len(data) if first is None else last + 1
    return data[start:stop], start, len(data)
assert read_window(fetch, 1000, 150_000, "series", None).height == 149_000
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
