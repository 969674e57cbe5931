"""Keep a test run out of the developer's own client cache, and prove it did.

Clients built without ``cache_dir=`` (and CLI runs, scripts and any subprocess a test starts)
use the default cache directory: ``$IONWORKS_CACHE_DIR``, else ``~/.ionworksdata_cache``. Each
pytest process (the controller and every xdist worker) points ``IONWORKS_CACHE_DIR`` at a private
temporary directory before any test is collected; subprocesses inherit it. The controller lists
the files of the real cache directories at the start and, at the end, names every one that was
created, changed or removed, and fails the run: a suite must leave no trace in a user's cache.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ENV_CACHE_DIR = "IONWORKS_CACHE_DIR"
HOME_DEFAULT = "~/.ionworksdata_cache"

Snapshot = dict[str, tuple[int, int]]
"""Path -> (mtime in ns, size; -1 for a directory)."""


def snapshot(roots: list[Path]) -> Snapshot:
    """Every file and directory under ``roots`` with its mtime and size (missing roots: none)."""
    found: Snapshot = {}
    for root in roots:
        for directory, _, files in os.walk(root):
            for path, is_dir in (
                (directory, True),
                *((os.path.join(directory, f), False) for f in files),
            ):
                try:
                    stat = os.stat(path)
                except FileNotFoundError:  # removed while we walked (not by us: nothing runs yet)
                    continue
                found[path] = (stat.st_mtime_ns, -1 if is_dir else stat.st_size)
    return found


def differences(before: Snapshot, after: Snapshot) -> list[str]:
    """What changed between two snapshots, one line per path."""
    lines = [f"created  {path}" for path in sorted(after.keys() - before.keys())]
    lines += [f"removed  {path}" for path in sorted(before.keys() - after.keys())]
    lines += [
        f"modified {path}"
        for path in sorted(before.keys() & after.keys())
        if before[path] != after[path]
    ]
    return lines


@dataclass
class HomeCacheGuard:
    """The private cache of one pytest process, and the real ones it watches (controller only)."""

    private: Path
    previous: str | None
    watched: list[Path] = field(default_factory=list)
    before: Snapshot = field(default_factory=dict)

    @classmethod
    def start(cls, *, watch: bool) -> HomeCacheGuard:
        """Redirect the default cache of this process (and its children); snapshot the real ones."""
        previous = os.environ.get(ENV_CACHE_DIR)
        private = Path(tempfile.mkdtemp(prefix="ionworks-test-cache-"))
        guard = cls(private=private, previous=previous)
        if watch:
            guard.watched = real_cache_dirs(previous)
            guard.before = snapshot(guard.watched)
        os.environ[ENV_CACHE_DIR] = str(private)
        return guard

    def trespasses(self) -> list[str]:
        """Every change the run made under the watched directories (empty when none)."""
        return differences(self.before, snapshot(self.watched)) if self.watched else []

    def stop(self) -> None:
        """Give the environment back and delete the private cache."""
        if self.previous is None:
            os.environ.pop(ENV_CACHE_DIR, None)
        else:
            os.environ[ENV_CACHE_DIR] = self.previous
        shutil.rmtree(self.private, ignore_errors=True)


def real_cache_dirs(environment_value: str | None) -> list[Path]:
    """The home default, and the directory ``$IONWORKS_CACHE_DIR`` named before the run."""
    dirs = [Path(os.path.expanduser(HOME_DEFAULT)).resolve()]
    if environment_value and environment_value.strip():
        named = Path(os.path.expanduser(environment_value.strip())).resolve()
        if named not in dirs:
            dirs.append(named)
    return dirs
