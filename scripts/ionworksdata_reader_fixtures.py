"""Expected outputs of ionworksdata 0.20.2 on the small cycler files in tests/data/cyclers.

Run with the interpreter of a scratch venv holding ionworksdata (never the project's):
``/tmp/iwdata-venv/bin/python scripts/ionworksdata_reader_fixtures.py``. Writes, per file,
``<file>.parquet`` (its ``time_series``) when it reads, and ``status.json`` (read or the error)
under ``tests/fixtures/ionworksdata/readers/``. Not part of ``make test``.
"""

from __future__ import annotations

import json
from pathlib import Path

import ionworksdata as iwdata

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "cyclers"
OUT = ROOT / "tests" / "fixtures" / "ionworksdata" / "readers"

FILES = {
    "maccor_export.csv": "maccor",
    "neware_regular.csv": "neware",
    "biologic_small.mpt": "biologic mpt",
    "biologic_small.csv": "biologic csv",
    "arbin_small.csv": "arbin",
    "basytec_small.txt": "basytec",
    "digatron_small.csv": "digatron",
    "novonix_small.csv": "novonix",
    "gamry_small.DTA": "gamry",
}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    status: dict[str, dict[str, str | int]] = {}
    for name, reader in FILES.items():
        try:
            frame = iwdata.read.time_series(DATA / name, reader)
        except Exception as exc:  # recorded: which formats ionworksdata fails on, and why
            status[name] = {"reader": reader, "result": "failed", "error": f"{exc!r}"[:300]}
            continue
        frame.write_parquet(OUT / f"{name}.parquet")
        status[name] = {"reader": reader, "result": "read", "rows": frame.height}
    (OUT / "status.json").write_text(json.dumps(status, indent=2) + "\n")
    print(json.dumps(status, indent=2))


if __name__ == "__main__":
    main()
