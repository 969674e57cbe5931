"""Regenerate ``generated/ionworks_generated`` and ``ionworks/_spec_fields.py`` from ``openapi.yaml``.

Runs the pinned openapi-python-client and then the pinned ruff from this virtual environment by
absolute path, so the result does not depend on the caller's PATH or working directory (the
generator's own ruff hooks are skipped with only a warning when ruff is not on PATH). Then
``gen_models.py`` writes the typed field lists of the public models (formatted by the same ruff).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import gen_models

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TARGET = ROOT / "generated" / "ionworks_generated"


def run(*args: str | Path, cwd: Path = ROOT) -> None:
    subprocess.run([str(a) for a in args], cwd=cwd, check=True)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "ionworks_generated"
        run(
            BIN / "openapi-python-client",
            "generate",
            "--path",
            ROOT / "openapi.yaml",
            "--config",
            ROOT / "scripts" / "openapi-client-config.yaml",
            "--meta",
            "none",
            "--output-path",
            out,
            "--fail-on-warning",
        )
        ruff = BIN / "ruff"
        run(ruff, "check", "--isolated", "--quiet", "--fix-only", "--select", "F401,I", out)
        run(ruff, "format", "--isolated", "--quiet", "--line-length", "100", out)
        (out / "py.typed").touch()
        if TARGET.exists():
            shutil.rmtree(TARGET)
        TARGET.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(out, TARGET)
    print(f"regenerated {TARGET.relative_to(ROOT)}")
    gen_models.main()


if __name__ == "__main__":
    main()
