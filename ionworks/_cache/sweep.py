"""Value files no entry references: writes killed before their commit, swept once idle.

diskcache writes a value file first and commits its index row afterwards, so a ``kill -9``
between the two leaves a file nothing points to. Only diskcache's own layout is ever touched.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from typing import Final

import diskcache

from .readonly import connect_read_only

# diskcache's own file layout: <2 hex>/<2 hex>/<28 hex>.val (see diskcache.Disk.filename).
VALUE_FILE: Final = re.compile(r"[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{28}\.val")
ORPHAN_GRACE_SECONDS: Final = 600.0
"""A value file no entry references is swept once it has not been written for this long: a
write killed mid-way stops touching its file, while one still in progress (in any process)
writes to it continuously and is left alone."""
SWEEP_MARKER: Final = ".ionworks-orphan-sweep"
"""Its modification time is when a process last started sweeping this directory."""


def value_files(directory: str) -> Iterator[tuple[str, str]]:
    """(relative path, full path) of every file in diskcache's value layout
    (``<2 hex>/<2 hex>/<28 hex>.val``); nothing else in the directory is looked at."""
    for top in subdirectories(directory):
        for mid in subdirectories(top.path):
            with contextlib.suppress(OSError), os.scandir(mid.path) as leaves:
                for leaf in leaves:
                    rel = f"{top.name}/{mid.name}/{leaf.name}"
                    if VALUE_FILE.fullmatch(rel):
                        yield rel, leaf.path


def subdirectories(path: str) -> list[os.DirEntry[str]]:
    """The two-character subdirectories of ``path`` (diskcache's fan-out levels)."""
    with contextlib.suppress(OSError), os.scandir(path) as entries:
        return [e for e in entries if len(e.name) == 2 and e.is_dir(follow_symlinks=False)]
    return []


def unreferenced_value_files(directory: str) -> list[tuple[str, os.stat_result]]:
    """Value files no entry points to, with their stat (read before listing: see the grace)."""
    con = connect_read_only(os.path.join(directory, diskcache.core.DBNAME))
    try:
        referenced = {
            name for (name,) in con.execute("SELECT filename FROM Cache WHERE filename IS NOT NULL")
        }
    finally:
        con.close()
    found = []
    for rel, full in value_files(directory):
        if rel not in referenced:
            with contextlib.suppress(OSError):
                found.append((full, os.stat(full)))
    return found


def sweep_orphans(directory: str, grace: float = ORPHAN_GRACE_SECONDS) -> list[os.stat_result]:
    """Delete unreferenced value files not written for ``grace`` seconds (killed writes) and
    return the stat of those left (writes that may still be in progress).

    The index is read before the files are listed, so a file committed meanwhile is recent and
    never taken for an orphan.
    """
    left = []
    cutoff = time.time() - grace
    for full, stat in unreferenced_value_files(directory):
        if stat.st_mtime < cutoff:
            with contextlib.suppress(OSError):
                os.remove(full)
                continue
        left.append(stat)
    return left


def sweep_in_background(directory: str) -> None:
    """Start a sweep on a daemon thread, at most once per grace period per directory (shared
    by every process through a marker file), so opening a large cache costs nothing extra."""
    marker = os.path.join(directory, SWEEP_MARKER)
    try:
        if time.time() - os.stat(marker).st_mtime < ORPHAN_GRACE_SECONDS:
            return
    except FileNotFoundError:
        pass
    except OSError:
        return
    try:
        with open(marker, "a"):
            os.utime(marker)
    except OSError:
        return

    def sweep() -> None:
        with contextlib.suppress(OSError, sqlite3.Error):  # housekeeping never breaks anything
            sweep_orphans(directory)

    threading.Thread(target=sweep, name="ionworks-cache-sweep", daemon=True).start()


def remove_orphan_value_files(directory: str) -> None:
    """Remove value files left by writes killed before their commit (only when the index is
    empty, so none of them can belong to a live entry); only diskcache's own layout is touched."""
    for _rel, full in list(value_files(directory)):
        with contextlib.suppress(OSError):
            os.remove(full)
    for sub in os.listdir(directory):
        if len(sub) == 2 and os.path.isdir(os.path.join(directory, sub)):
            for root, _dirs, _files in os.walk(os.path.join(directory, sub), topdown=False):
                with contextlib.suppress(OSError):
                    os.rmdir(root)  # only succeeds when empty
