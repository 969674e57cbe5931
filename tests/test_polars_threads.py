"""polars' lazy numpy proxy must be resolved before our thread pools first touch it.

Regression: ``ionworks serve --demo`` crashed at start on a fresh clone with ``TypeError: 'module'
object does not support item assignment`` when the demo loader's two threads resolved the proxy at
once. Each case runs in a fresh interpreter, where the proxy is still unresolved.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

RACE = textwrap.dedent(
    """
    import threading
    import polars as pl          # before numpy: polars installs its lazy numpy proxy
    import polars._dependencies as deps
    {prepare}
    errors = []
    barrier = threading.Barrier(8)

    def first_use():
        barrier.wait()
        try:
            deps.numpy.ndarray
        except Exception as exc:
            errors.append(repr(exc))

    threads = [threading.Thread(target=first_use) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(len(errors), errors[:1])
    """
)


def _race(prepare: str) -> str:
    code = RACE.format(prepare=prepare)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_race_is_real_without_the_fix() -> None:
    # If polars fixes its proxy this starts failing: then polars_threads can go.
    assert not _race("").startswith("0 "), "polars no longer races: remove polars_threads"


def _build_context(tmp_path: object) -> str:
    return (
        "from ionworks_server.app import build_context\n"
        "from ionworks_server.config import Settings\n"
        f"build_context(Settings.from_data_dir(__import__('pathlib').Path({str(tmp_path)!r})))"
    )


def test_build_context_resolves_the_proxy_first(tmp_path: object) -> None:
    assert _race(_build_context(tmp_path)).startswith("0 ")


def test_build_context_leaves_no_unresolved_proxy(tmp_path: object) -> None:
    """The race test alone cannot tell: with numpy already imported (the app imports it) the
    window is too narrow to hit, so it passed with the resolving call removed. The proxy
    itself must be gone."""
    code = (
        "import polars, polars._dependencies as deps\n"
        + _build_context(tmp_path)
        + "\nprint(type(vars(deps)['numpy']).__name__)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "module"
