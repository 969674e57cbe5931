"""Every Python block in README.md and docs/*.md runs against the local server, so the docs cannot rot.

Blocks of one file run in order in one namespace, like a notebook; the server's URL and key are
set in the environment, and the literal URL/key of the README quickstart are swapped for them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import matplotlib
import pytest

import ionworks

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_blocks(path: Path) -> list[str]:
    return BLOCK.findall(path.read_text())


@pytest.mark.parametrize("path", [p for p in DOCS if python_blocks(p)], ids=lambda p: p.name)
def test_every_python_block_runs(
    path: Path, live_server: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    matplotlib.use("Agg")
    monkeypatch.setenv("IONWORKS_API_URL", live_server.url)
    monkeypatch.setenv("IONWORKS_API_KEY", live_server.api_key)
    ionworks.set_cache_directory(tmp_path / "cache")
    namespace: dict[str, Any] = {"__name__": f"docs_{path.stem}"}
    try:
        for number, block in enumerate(python_blocks(path), start=1):
            code = block.replace("http://127.0.0.1:8000", live_server.url).replace(
                "my-local-key", live_server.api_key
            )
            try:
                exec(compile(code, f"{path.name}#block{number}", "exec"), namespace)
            except Exception as exc:
                pytest.fail(f"{path.name} block {number} failed: {exc!r}\n{code}")
    finally:
        ionworks.set_cache_directory(None)
        ionworks.set_cache_ttl(3600)
