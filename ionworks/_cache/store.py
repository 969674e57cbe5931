"""The diskcache instances: one per directory per process, opened once and kept.

Entries live in a :class:`diskcache.Cache` (SQLite index + one file per table). diskcache writes
the value file under a fresh random name first and commits the index row afterwards, so a crash
or ``kill -9`` mid-write leaves the previous entry or nothing, never a truncated table. Opening
is the expensive part (SQLite connection, settings), so every later call of any client using the
same directory reuses the open instance.

:class:`_Disk` spreads value files over 16 directories instead of diskcache's 65,536: nearly
every new file created one or two directories, which cost more than writing a small table
(measured on ext4: a 20 kB entry 5.7 ms wall and 2.3 ms CPU, 1.1 ms and 0.4 ms with the 16).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from typing import Any

import diskcache

from .config import get_cache_directory, size_limit, warn
from .readonly import ReadOnlyCache
from .sweep import sweep_in_background


class _Disk(diskcache.Disk):  # type: ignore[misc]  # diskcache ships no type hints
    """diskcache's Disk, with fewer value directories (module docstring), and removing the
    partial value file of a failed write (disk full), which diskcache leaves behind: it would
    waste the very space that ran out.

    File names keep diskcache's layout (``<2 hex>/<2 hex>/<28 hex>.val``, which the sweep and
    entries written before rely on), with the directories drawn from 16 (``00/<hex>0``).
    """

    _local = threading.local()

    def filename(
        self, key: Any = diskcache.core.UNKNOWN, value: Any = diskcache.core.UNKNOWN
    ) -> tuple[str, str]:
        hex_name = os.urandom(16).hex()
        name = os.path.join("00", hex_name[0] + "0", hex_name[4:] + ".val")
        full_path = os.path.join(self._directory, name)
        self._local.last_path = full_path
        return name, full_path

    def store(
        self, value: Any, read: bool, key: Any = diskcache.core.UNKNOWN
    ) -> tuple[int, int, str | None, Any]:
        self._local.last_path = None
        try:
            size, mode, filename, db_value = super().store(value, read, key=key)
        except BaseException:
            partial = getattr(self._local, "last_path", None)
            if partial:
                with contextlib.suppress(OSError):
                    os.remove(partial)
            raise
        return size, mode, filename, db_value


_caches: dict[str, diskcache.Cache | ReadOnlyCache] = {}
_caches_lock = threading.Lock()


def _make_private_directory(directory: str) -> None:
    """Create the cache directory readable by its owner only (cached data may be confidential)."""
    if os.path.isdir(directory):
        return
    try:
        os.makedirs(directory, mode=0o700)
    except FileExistsError:
        return  # created concurrently by someone else: not ours to chmod
    os.chmod(directory, 0o700)  # makedirs' mode is filtered by the umask


def open_cache(
    directory: str | None = None, *, create: bool
) -> diskcache.Cache | ReadOnlyCache | None:
    """Return the cache of ``directory`` (default: the process default directory); ``None`` if
    it does not exist and not ``create``.

    A directory this process may not write to (a team's pre-filled cache on a read-only mount)
    is opened read-only: hits are served from it, and one warning says new data is not cached.
    """
    directory = get_cache_directory() if directory is None else directory
    with _caches_lock:
        cache = _caches.get(directory)
        db_exists = os.path.isfile(os.path.join(directory, diskcache.core.DBNAME))
        if cache is not None and db_exists:
            return cache
        if not create and not db_exists:
            return None  # reading never creates anything
        if cache is not None:  # the directory was removed behind our back: start afresh
            cache.close()
        _make_private_directory(directory)
        try:
            cache = diskcache.Cache(
                directory,
                disk=_Disk,
                eviction_policy="least-recently-used",
                size_limit=size_limit(),
                # diskcache evicts up to cull_limit LRU entries per write once over the limit;
                # its default of 10 can wipe most of a cache of a few large time series. See put.
                cull_limit=1,
            )
        except (sqlite3.OperationalError, PermissionError) as exc:
            cache = _open_read_only(directory, exc)
        else:
            sweep_in_background(directory)
        _caches[directory] = cache
        return cache


def _open_read_only(directory: str, cause: Exception) -> ReadOnlyCache:
    """Fall back to reading a cache we cannot write to; re-raise ``cause`` if it is not that."""
    if os.access(directory, os.W_OK) and _db_writable(directory):
        raise cause
    try:
        reader = ReadOnlyCache(directory)
    except sqlite3.Error:
        raise cause from None
    warn(
        f"The cache at {directory} is read-only ({cause}): cached data is served from it, but "
        "new data will not be cached. Point IONWORKS_CACHE_DIR (or ionworks.set_cache_directory) "
        "at a writable directory to cache new data."
    )
    return reader


def _db_writable(directory: str) -> bool:
    return os.access(os.path.join(directory, diskcache.core.DBNAME), os.W_OK)


def put(cache: diskcache.Cache, key: str, value: Any, *, read: bool, tag: str) -> None:
    """Write one entry, then enforce the size limit.

    Each write evicts at most the single least-recently-used entry (cull_limit=1); when one
    large table replaced many small ones that is not enough, so fall back to diskcache's cull.
    """
    cache.set(key, value, read=read, tag=tag)
    if cache.volume() > cache.size_limit:
        cache.cull()


def close_caches() -> None:
    """Close every open cache (tests; or before deleting a directory)."""
    with _caches_lock:
        for cache in _caches.values():
            cache.close()
        _caches.clear()
