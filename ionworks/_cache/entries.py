"""Reading and writing entries: tables as parquet bytes, small metadata as JSON.

* Every artifact is its own entry, so a ``steps`` hit opens only the steps file, and the
  JSON-derived steps of ``/steps_and_cycles`` are kept apart as ``sc_steps``.
* Tables are stored as parquet bytes (never pickles) and loaded as polars only; the client
  converts to the user's backend afterwards.
* Freshness is judged at read time from the write time stored with the entry and the *current*
  TTL, so ``set_cache_ttl(None)`` makes old entries valid again, as in the official client.
* Trouble never fails a call: a corrupt entry is dropped with an ``IonworksCacheWarning`` and
  reported as a miss; a failed save warns, naming the directory.

Hot path: a hit costs one SQLite transaction plus ``pl.read_parquet`` on the entry's own file
(memory-mapped in place, no copy through Python).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import diskcache
import polars as pl

from ionworks._dataframe import read_parquet, write_parquet_bytes
from ionworks.errors import IonworksError

from .config import PROCESS_DEFAULTS, CacheSettings, warn
from .keys import CacheScope, TableArtifact, check_artifact, describe, entry_key
from .readonly import ReadOnlyCache
from .store import open_cache, put

_TAG_VERSION: Final = "iw1"
_T = TypeVar("_T")

_now: Callable[[], float] = time.time
"""Clock used for write times and TTL checks; tests replace it instead of sleeping."""


@dataclass(frozen=True)
class _Stamp:
    """What we record next to each value (in the diskcache tag): write time, size, nonce.

    The write time comes from the injectable clock, so TTL tests need no sleeping; the size
    catches a truncated value file without reading it; the nonce tells two writes apart.
    """

    written_at: float
    size: int
    nonce: str

    def encode(self) -> str:
        return f"{_TAG_VERSION} {self.written_at!r} {self.size} {self.nonce}"

    @classmethod
    def new(cls, size: int) -> _Stamp:
        return cls(_now(), size, os.urandom(6).hex())

    @classmethod
    def decode(cls, tag: object) -> _Stamp | None:
        if not isinstance(tag, str):
            return None
        parts = tag.split(" ")
        if len(parts) != 4 or parts[0] != _TAG_VERSION:
            return None
        try:
            return cls(float(parts[1]), int(parts[2]), parts[3])
        except ValueError:
            return None

    def is_fresh(self, settings: CacheSettings) -> bool:
        """Judged against the *current* TTL; offline, anything cached beats nothing."""
        ttl = settings.cache_ttl()
        if ttl is None or settings.is_offline():
            return True
        return _now() - self.written_at <= ttl


def _discard_if_unchanged(cache: diskcache.Cache | ReadOnlyCache, key: str, tag: str) -> None:
    """Delete a bad entry unless another process has replaced it with a good one meanwhile."""
    if not isinstance(cache, diskcache.Cache):
        return  # read-only: nothing can be removed
    with contextlib.suppress(Exception), cache.transact():
        value, current = cache.get(key, read=True, tag=True)  # read=True: don't load the file
        if isinstance(value, io.IOBase):
            value.close()
        if current == tag:
            cache.delete(key)


def _readable_path(handle: io.BufferedReader) -> str:
    """A path polars can memory-map that stays valid while ``handle`` is open."""
    if sys.platform.startswith("linux"):
        fd_path = f"/proc/self/fd/{handle.fileno()}"
        if os.path.exists(fd_path):
            return fd_path
    return str(handle.name)


def load_table(
    scope: CacheScope,
    measurement_id: str,
    artifact: TableArtifact,
    *,
    settings: CacheSettings = PROCESS_DEFAULTS,
) -> pl.DataFrame | None:
    """Return the cached table, or ``None`` on a miss (absent, expired, corrupt, or disabled).

    Never raises for cache trouble: a corrupt entry is deleted with a warning and reported as a
    miss so the caller refetches it.
    """
    check_artifact(artifact)

    def read(cache: diskcache.Cache | ReadOnlyCache, key: str, what: str) -> pl.DataFrame | None:
        # diskcache opens the value file inside its transaction, so the handle is the committed
        # file even if a concurrent writer replaces the entry and deletes that file right after.
        # polars reads through the handle where the OS allows (Linux); elsewhere a vanished file
        # means "replaced meanwhile", so look the key up again.
        for _attempt in range(5):
            handle, tag = cache.get(key, read=True, tag=True)
            if handle is None:
                return None
            with handle:
                outcome = _read_handle(cache, key, tag, handle, what, settings)
            if outcome is not _REPLACED:
                return outcome
        return None

    return _read_entry(scope, measurement_id, "table", artifact, settings, read)


def _read_entry(
    scope: CacheScope,
    measurement_id: str,
    kind: str,
    name: str,
    settings: CacheSettings,
    read: Callable[[diskcache.Cache | ReadOnlyCache, str, str], _T | None],
) -> _T | None:
    """What every read shares: disabled or absent is a miss, and so is trouble, with a warning.

    ``read(cache, key, what)`` looks the entry up; ``what`` names it in warnings.
    """
    if not settings.is_enabled():
        return None
    key = entry_key(scope, measurement_id, kind, name)
    what = describe(kind, name, measurement_id)
    directory = settings.cache_directory()
    try:
        cache = open_cache(directory, create=False)
        return None if cache is None else read(cache, key, what)
    except Exception as exc:  # SQLite locked/corrupt, permissions...: a miss, but say so
        warn(f"Could not read {what} from the cache at {directory}: {exc!r}")
        return None


def _write_entry(
    scope: CacheScope,
    measurement_id: str,
    kind: str,
    name: str,
    settings: CacheSettings,
    payload: Callable[[], str | bytes | bytearray | memoryview],
) -> bool:
    """What every write shares: stamped, atomic, and a failure warns instead of raising.

    ``payload()`` runs inside the guard, so an encoding failure is reported like a full disk.
    Text is stored inline; bytes always as a value file (``read=True`` makes one whatever the
    size), which a hit reads in place.
    """
    key = entry_key(scope, measurement_id, kind, name)
    directory = settings.cache_directory()
    try:
        cache = open_cache(directory, create=True)
        if not isinstance(cache, diskcache.Cache):
            return False  # read-only: said once when it was opened
        data = payload()
        if isinstance(data, str):
            put(cache, key, data, read=False, tag=_Stamp.new(len(data)).encode())
        else:
            stamp = _Stamp.new(memoryview(data).nbytes)
            put(cache, key, io.BytesIO(data), read=True, tag=stamp.encode())
        return True
    except Exception as exc:
        what = describe(kind, name, measurement_id)
        warn(f"Could not save {what} to the local cache at {directory}: {exc!r}")
        return False


_REPLACED: Final = pl.DataFrame()
"""Sentinel of :func:`_read_handle`: the file vanished under us (replaced), look it up again."""


def _read_handle(
    cache: diskcache.Cache | ReadOnlyCache,
    key: str,
    tag: Any,
    handle: io.BufferedReader,
    what: str,
    settings: CacheSettings,
) -> pl.DataFrame | None:
    """Check one entry's size and age, then read it; a corrupt entry is dropped (a miss)."""
    stamp = _Stamp.decode(tag)
    actual_size = os.fstat(handle.fileno()).st_size
    if stamp is None or stamp.size != actual_size:
        expected = "unknown" if stamp is None else stamp.size
        reason = f"file holds {actual_size} bytes, expected {expected}"
        warn(f"Ignoring corrupt cache entry ({what}) in {cache.directory}: {reason}")
        _discard_if_unchanged(cache, key, tag)
        return None
    if not stamp.is_fresh(settings):
        return None
    try:
        return read_parquet(_readable_path(handle), description=f"cached {what}")
    except IonworksError as exc:
        if not os.path.exists(handle.name):
            return _REPLACED
        warn(f"Ignoring corrupt cache entry ({what}) in {cache.directory}: {exc}")
        _discard_if_unchanged(cache, key, tag)
        return None


def _is_parquet(payload: bytes | bytearray | memoryview) -> bool:
    view = memoryview(payload).cast("B")
    return len(view) >= 12 and view[:4].tobytes() == b"PAR1" and view[-4:].tobytes() == b"PAR1"


def store_table(
    scope: CacheScope,
    measurement_id: str,
    artifact: TableArtifact,
    data: pl.DataFrame | bytes | bytearray | memoryview,
    *,
    settings: CacheSettings = PROCESS_DEFAULTS,
) -> bool:
    """Cache a table; parquet bytes already downloaded are stored as-is (no re-encoding).

    Returns whether it was stored. Failures (disk full, permissions) are reported with an
    :class:`IonworksCacheWarning` naming the directory, never raised: the caller has its data.
    """
    check_artifact(artifact)
    if not settings.is_enabled():
        return False
    if not isinstance(data, pl.DataFrame | bytes | bytearray | memoryview):
        raise TypeError(f"expected a polars DataFrame or parquet bytes, not {type(data)!r}")
    if not isinstance(data, pl.DataFrame) and not _is_parquet(data):
        warn(
            f"Not caching {describe('table', artifact, measurement_id)}: the data is not a parquet file"
        )
        return False

    def payload() -> bytes | bytearray | memoryview:
        return write_parquet_bytes(data) if isinstance(data, pl.DataFrame) else data

    return _write_entry(scope, measurement_id, "table", artifact, settings, payload)


def load_json(
    scope: CacheScope,
    measurement_id: str,
    name: str,
    *,
    settings: CacheSettings = PROCESS_DEFAULTS,
) -> Any | None:
    """Return cached JSON metadata, or ``None`` on a miss (same rules as :func:`load_table`)."""

    def read(cache: diskcache.Cache | ReadOnlyCache, key: str, what: str) -> Any | None:
        text, tag = cache.get(key, tag=True)
        if text is None:
            return None
        stamp = _Stamp.decode(tag)
        try:
            if not isinstance(text, str) or stamp is None or stamp.size != len(text):
                raise ValueError("value does not match its recorded size")
            value = json.loads(text)
        except ValueError as exc:
            warn(f"Ignoring corrupt cache entry ({what}) in {cache.directory}: {exc}")
            _discard_if_unchanged(cache, key, tag)
            return None
        return value if stamp.is_fresh(settings) else None

    return _read_entry(scope, measurement_id, "json", name, settings, read)


def store_json(
    scope: CacheScope,
    measurement_id: str,
    name: str,
    value: Any,
    *,
    settings: CacheSettings = PROCESS_DEFAULTS,
) -> bool:
    """Cache JSON-serialisable metadata; returns whether it was stored (failures warn)."""
    if not settings.is_enabled():
        return False
    text = json.dumps(value, separators=(",", ":"))  # a non-JSON value is a bug: let it raise
    return _write_entry(scope, measurement_id, "json", name, settings, lambda: text)


def load_bytes(
    scope: CacheScope,
    measurement_id: str,
    name: str,
    *,
    settings: CacheSettings = PROCESS_DEFAULTS,
) -> bytes | None:
    """Return a cached file of a file measurement, or ``None`` on a miss (rules of
    :func:`load_table`: a truncated entry is dropped with a warning)."""

    def read(cache: diskcache.Cache | ReadOnlyCache, key: str, what: str) -> bytes | None:
        handle, tag = cache.get(key, read=True, tag=True)
        if handle is None:
            return None
        with handle:
            stamp = _Stamp.decode(tag)
            actual_size = os.fstat(handle.fileno()).st_size
            if stamp is None or stamp.size != actual_size:
                expected = "unknown" if stamp is None else stamp.size
                reason = f"file holds {actual_size} bytes, expected {expected}"
                warn(f"Ignoring corrupt cache entry ({what}) in {cache.directory}: {reason}")
                _discard_if_unchanged(cache, key, tag)
                return None
            data: bytes = handle.read()
        return data if stamp.is_fresh(settings) else None

    return _read_entry(scope, measurement_id, "file", name, settings, read)


def store_bytes(
    scope: CacheScope,
    measurement_id: str,
    name: str,
    data: bytes,
    *,
    settings: CacheSettings = PROCESS_DEFAULTS,
) -> bool:
    """Cache one file of a file measurement as it came; returns whether it was stored."""
    if not settings.is_enabled():
        return False
    return _write_entry(scope, measurement_id, "file", name, settings, lambda: data)
