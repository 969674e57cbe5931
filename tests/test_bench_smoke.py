"""``make bench`` on tiny data, so the benchmark harness cannot rot (no timing is asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_smoke_run_measures_every_case(tmp_path: Path) -> None:
    output = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench.py"), "--smoke", "--output", str(output)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    cases = json.loads(output.read_text())["cases"]
    # 19, the fleet (pull, projection, export and scan: 2 each) and fleet fade's two added rows
    assert len(cases) == 27
    for case in cases:
        assert case["target"] != "error", case
        assert case["ours"] > 0 and case["floor"] > 0, case
