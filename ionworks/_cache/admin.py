"""Invalidation, clearing and inspection of the cache (``ionworks cache info/clear``).

Only entries this package created are counted or deleted: other applications may share the
directory, and their keys do not start with our namespace.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import diskcache

from ionworks.errors import IonworksError

from .config import PROCESS_DEFAULTS, CacheSettings, size_limit, warn
from .keys import KEY_NAMESPACE, CacheScope, measurement_prefix
from .readonly import ReadOnlyCache
from .store import open_cache
from .sweep import remove_orphan_value_files, sweep_orphans, unreferenced_value_files


def _our_keys(
    cache: diskcache.Cache | ReadOnlyCache, prefix: str = KEY_NAMESPACE + " "
) -> Iterator[str]:
    """Keys this package created under ``prefix``."""
    for key in cache.iterkeys():
        if isinstance(key, str) and key.startswith(prefix):
            yield key


def invalidate(
    scope: CacheScope, measurement_id: str, *, settings: CacheSettings = PROCESS_DEFAULTS
) -> int:
    """Drop every cached artifact of a measurement for this scope; returns how many.

    Runs even when caching is disabled: skipping it would leave stale data to be served once
    caching is turned back on. Cost is a scan of the index keys (no value is read).
    """
    directory = settings.cache_directory()
    try:
        cache = open_cache(directory, create=False)
        if cache is None:
            return 0
        prefix = measurement_prefix(scope, measurement_id)
        return sum(1 for key in list(_our_keys(cache, prefix)) if cache.delete(key))
    except Exception as exc:
        warn(
            f"Could not invalidate measurement {measurement_id} in the cache at "
            f"{directory}: {exc!r}; stale data may be served until the TTL expires"
        )
        return 0


def clear_cache(*, settings: CacheSettings = PROCESS_DEFAULTS) -> int:
    """Delete every entry this cache created and return how many were deleted.

    Files in the directory that the cache did not create are left alone.
    """
    directory = settings.cache_directory()
    try:
        cache = open_cache(directory, create=False)
        if cache is None:
            return 0
        deleted = sum(1 for key in list(_our_keys(cache)) if cache.delete(key))
        if len(cache) == 0:
            remove_orphan_value_files(cache.directory)
    except Exception as exc:
        raise IonworksError(f"Could not clear the cache at {directory}: {exc!r}") from exc
    return deleted


def cache_info(*, settings: CacheSettings = PROCESS_DEFAULTS) -> dict[str, Any]:
    """Settings and usage of the cache, for ``ionworks cache info``.

    ``orphan_bytes``/``orphan_files`` count value files no entry references: writes still in
    progress, or killed before their commit (swept once idle for ``ORPHAN_GRACE_SECONDS``).
    Cache trouble is reported as an :class:`IonworksError` naming the directory.
    """
    info: dict[str, Any] = {
        "directory": settings.cache_directory(),
        "entries": 0,
        "size_bytes": 0,
        "orphan_files": 0,
        "orphan_bytes": 0,
        "read_only": False,
        "ttl": settings.cache_ttl(),
        "enabled": settings.is_enabled(),
        "offline": settings.is_offline(),
        "size_limit": size_limit(),
    }
    try:
        cache = open_cache(info["directory"], create=False)
        if cache is None:
            return info
        info["entries"] = sum(1 for _ in _our_keys(cache))
        info["size_bytes"] = int(cache.volume())
        info["read_only"] = not isinstance(cache, diskcache.Cache)
        if info["read_only"]:
            orphans = [stat for _, stat in unreferenced_value_files(cache.directory)]
        else:
            orphans = sweep_orphans(cache.directory)
    except (OSError, sqlite3.Error) as exc:
        raise IonworksError(f"Could not read the cache at {info['directory']}: {exc!r}") from exc
    info["orphan_files"] = len(orphans)
    info["orphan_bytes"] = sum(stat.st_size for stat in orphans)
    return info
