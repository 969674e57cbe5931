"""Reading a cache directory this process may not write to (a team's cache on a read-only mount).

diskcache itself cannot open such a directory: it writes its settings on open and, with
least-recently-used eviction, the access time on every read. So the reads the cache makes go
through a read-only SQLite handle here instead.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import diskcache

from ionworks.errors import ReadOnlyCacheError as ReadOnlyCacheError  # defined with every error


class ReadOnlyCache:
    """The reads this module makes of a diskcache directory, through a read-only SQLite handle.

    diskcache itself cannot open such a directory: it writes its settings on open and, with
    least-recently-used eviction, the access time on every read. Values are never unpickled
    (a shared directory is not trusted to hold pickles; this module never writes any).
    """

    _READABLE_MODES = frozenset(
        {diskcache.core.MODE_RAW, diskcache.core.MODE_BINARY, diskcache.core.MODE_TEXT}
    )

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self._disk = diskcache.Disk(directory)
        self._con = connect_read_only(os.path.join(directory, diskcache.core.DBNAME))
        self._lock = threading.Lock()

    def get(self, key: str, *, read: bool = False, tag: bool = False) -> Any:
        """Like ``diskcache.Cache.get`` for this module's string keys (a miss is None)."""
        with self._lock:
            row = self._con.execute(
                "SELECT mode, filename, value, tag FROM Cache WHERE key = ? AND raw = 1"
                " AND (expire_time IS NULL OR expire_time > ?)",
                (key, time.time()),
            ).fetchone()
        result, stored_tag = None, None
        if row is not None and row[0] in self._READABLE_MODES:
            mode, filename, value, stored_tag = row
            try:
                result = self._disk.fetch(mode, filename, value, read)
            except OSError:  # the file went away: a miss, as diskcache reports it
                result, stored_tag = None, None
        return (result, stored_tag) if tag else result

    def iterkeys(self) -> Iterator[Any]:
        with self._lock:
            rows = self._con.execute(
                "SELECT key FROM Cache WHERE raw = 1 ORDER BY rowid"
            ).fetchall()
        return iter(key for (key,) in rows)

    def __len__(self) -> int:
        with self._lock:
            return int(self._con.execute("SELECT COUNT(*) FROM Cache").fetchone()[0])

    def volume(self) -> int:
        """Bytes used: the database pages plus the values, as diskcache counts them."""
        with self._lock:
            pages = self._con.execute("PRAGMA page_count").fetchone()[0]
            page_size = self._con.execute("PRAGMA page_size").fetchone()[0]
            row = self._con.execute("SELECT value FROM Settings WHERE key = 'size'").fetchone()
        return int(pages) * int(page_size) + int(row[0] if row else 0)

    def delete(self, key: str) -> bool:
        raise ReadOnlyCacheError(f"The cache at {self.directory} is read-only: cannot delete")

    def close(self) -> None:
        self._con.close()


def connect_read_only(path: str) -> sqlite3.Connection:
    """Open the index read-only; ``immutable`` when SQLite cannot even create its WAL index
    (a read-only directory), which is exactly when no one can be writing to it."""
    uri = Path(path).resolve().as_uri()
    error: sqlite3.Error | None = None
    for options in ("mode=ro", "mode=ro&immutable=1"):
        con = sqlite3.connect(f"{uri}?{options}", uri=True, check_same_thread=False)
        try:
            con.execute("SELECT COUNT(*) FROM Cache").fetchone()
            return con
        except sqlite3.Error as exc:
            con.close()
            error = exc
    assert error is not None
    raise error
