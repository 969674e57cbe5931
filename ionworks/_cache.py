"""The local measurement cache: one diskcache entry per (server, credential, measurement, artifact).

Design decisions, each answering a weakness of the official client's cache (wire-facts §13.4):

* Entries live in a :class:`diskcache.Cache` (SQLite index + one file per table). diskcache writes
  the value file under a fresh random name first and commits the index row afterwards, so a crash
  or ``kill -9`` mid-write leaves the previous entry or nothing, never a truncated table (#3).
* Every artifact is its own entry, so a ``steps`` hit opens only the steps file (#1), and the
  JSON-derived steps of ``/steps_and_cycles`` are kept apart as ``sc_steps`` (#2).
* Keys carry the normalised base URL and a one-way fingerprint of the credential, so two servers
  or two users never share entries; the credential itself is never written anywhere (#4).
* :func:`invalidate` drops every artifact of a measurement (update/delete/extend) (#5, #10).
* Tables are stored as parquet bytes (never pickles) and loaded as polars only; the client
  converts to the user's backend afterwards (#6). Names never become paths (#7).
* :func:`clear_cache` deletes only entries this module created (#8); failures while saving are
  reported with an :class:`IonworksCacheWarning` naming the directory (#9).
* Freshness is judged at read time from the write time stored with the entry and the *current*
  TTL, so ``set_cache_ttl(None)`` makes old entries valid again, as in the official client.

Hot path: a hit costs one SQLite transaction plus ``pl.read_parquet`` on the entry's own file
(memory-mapped in place, no copy through Python).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import os
import re
import sqlite3
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal, get_args
from urllib.parse import quote, urlsplit, urlunsplit

import diskcache
import polars as pl

from ionworks._constants import ENV_CACHE_DIR, ENV_CACHE_SIZE_LIMIT, ENV_OFFLINE
from ionworks._dataframe import read_parquet, write_parquet_bytes
from ionworks.errors import CacheMissError, IonworksError

# --------------------------------------------------------------------------------------------
# Environment and defaults
# --------------------------------------------------------------------------------------------

# ENV_CACHE_DIR overrides the default directory (set_cache_directory still wins); ENV_OFFLINE in
# {1, true, yes} turns offline mode on by default.
"""Cache size limit in bytes; least-recently-used entries are evicted beyond it."""

DEFAULT_CACHE_DIRECTORY: Final = "~/.ionworksdata_cache"
DEFAULT_TTL: Final = 3600
DEFAULT_SIZE_LIMIT: Final = 10 * 2**30

TableArtifact = Literal["steps", "cycles", "time_series", "sc_steps"]
"""``sc_steps`` are the JSON-derived steps of ``/steps_and_cycles``: a different source (and
dtypes) than the parquet ``steps`` download, so they never answer for each other."""
TABLE_ARTIFACTS: Final[tuple[str, ...]] = get_args(TableArtifact)

_KEY_NAMESPACE: Final = "ionworks/v1"
_TAG_VERSION: Final = "iw1"
_TRUE_STRINGS: Final = frozenset({"1", "true", "yes"})
# diskcache's own file layout: <2 hex>/<2 hex>/<28 hex>.val (see diskcache.Disk.filename).
_VALUE_FILE = re.compile(r"[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{28}\.val")
ORPHAN_GRACE_SECONDS: Final = 600.0
"""A value file no entry references is swept once it has not been written for this long: a
write killed mid-way stops touching its file, while one still in progress (in any process)
writes to it continuously and is left alone."""
_SWEEP_MARKER: Final = ".ionworks-orphan-sweep"
"""Its modification time is when a process last started sweeping this directory."""

_now: Callable[[], float] = time.time
"""Clock used for write times and TTL checks; tests replace it instead of sleeping."""


class IonworksCacheWarning(UserWarning):
    """Something went wrong in the local cache; the data is still returned (or refetched)."""


# --------------------------------------------------------------------------------------------
# Process-global configuration
# --------------------------------------------------------------------------------------------

_enabled: bool = True
_directory: str | None = None  # None = default (env var or ~/.ionworksdata_cache)
_ttl: float | None = DEFAULT_TTL
_offline: bool | None = None  # None = read IONWORKS_OFFLINE on each call


def set_cache_enabled(enabled: bool) -> None:
    """Enable or disable caching globally (for every client in this process)."""
    global _enabled
    _enabled = bool(enabled)


def get_cache_enabled() -> bool:
    """Return whether caching is currently enabled."""
    return _enabled


def set_cache_directory(path: str | os.PathLike[str] | None) -> None:
    """Set the cache directory; ``None`` restores the default.

    The directory is created (private, mode 0700) on the first write, not here.
    """
    global _directory
    _directory = None if path is None else os.path.abspath(os.path.expanduser(os.fspath(path)))


def get_cache_directory() -> str:
    """Return the cache directory: the one set, else ``$IONWORKS_CACHE_DIR``, else the default."""
    if _directory is not None:
        return _directory
    configured = os.environ.get(ENV_CACHE_DIR, "").strip() or DEFAULT_CACHE_DIRECTORY
    return os.path.abspath(os.path.expanduser(configured))


def set_cache_ttl(seconds: float | None) -> None:
    """Set how long cached data stays fresh, in seconds; ``None`` means it never expires.

    Takes effect for entries already on disk too: freshness is judged when reading.
    """
    global _ttl
    if seconds is None:
        _ttl = None
        return
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError(f"cache TTL must be a number of seconds or None, not {seconds!r}")
    if math.isnan(seconds) or seconds < 0:
        raise ValueError(f"cache TTL must be >= 0 seconds or None, not {seconds!r}")
    _ttl = seconds


def get_cache_ttl() -> float | None:
    """Return the TTL in seconds (``None`` = never expires)."""
    return _ttl


def set_offline(offline: bool) -> None:
    """Turn offline mode on or off: when on, cached data is used whatever its age and a miss
    raises :class:`~ionworks.errors.CacheMissError` instead of calling the API."""
    global _offline
    _offline = bool(offline)


def get_offline() -> bool:
    """Return whether offline mode is on (default from ``IONWORKS_OFFLINE``)."""
    if _offline is not None:
        return _offline
    return os.environ.get(ENV_OFFLINE, "").strip().lower() in _TRUE_STRINGS


def _size_limit() -> int:
    raw = os.environ.get(ENV_CACHE_SIZE_LIMIT, "").strip()
    if not raw:
        return DEFAULT_SIZE_LIMIT
    try:
        limit = int(raw)
        if limit <= 0:
            raise ValueError
    except ValueError:
        _warn(f"{ENV_CACHE_SIZE_LIMIT}={raw!r} is not a positive number of bytes; using 10 GiB")
        return DEFAULT_SIZE_LIMIT
    return limit


# --------------------------------------------------------------------------------------------
# Scope: which server and which credential an entry belongs to
# --------------------------------------------------------------------------------------------


def _normalise_base_url(base_url: str) -> str:
    """Canonical form so ``https://API.x/`` and ``https://api.x:443`` share entries."""
    parts = urlsplit(base_url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = parts.port
    default_port = {"http": 80, "https": 443}.get(scheme)
    netloc = host if port is None or port == default_port else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path.rstrip("/"), "", ""))


@dataclass(frozen=True)
class CacheScope:
    """The server and credential an entry belongs to.

    Holds only a one-way fingerprint of the credential: entries of two users (or two servers)
    are kept apart without the key ever being written to disk.
    """

    base_url: str
    credential_fingerprint: str

    @classmethod
    def for_client(cls, base_url: str, credential: str | None) -> CacheScope:
        """Build the scope of a client from its base URL and its API key or token."""
        material = b"ionworks-cache-credential-v1\x00" + (credential or "").encode("utf-8")
        return cls(_normalise_base_url(base_url), hashlib.sha256(material).hexdigest()[:32])

    @property
    def key(self) -> str:
        """The scope as it appears in cache keys (no spaces: keys are space-separated)."""
        return f"{quote(self.base_url, safe='')}#{self.credential_fingerprint}"


def _measurement_prefix(scope: CacheScope, measurement_id: str) -> str:
    return f"{_KEY_NAMESPACE} {scope.key} {quote(str(measurement_id), safe='')} "


def _entry_key(scope: CacheScope, measurement_id: str, kind: str, name: str) -> str:
    return f"{_measurement_prefix(scope, measurement_id)}{kind}:{quote(name, safe='')}"


# --------------------------------------------------------------------------------------------
# The diskcache instance (one per directory per process)
# --------------------------------------------------------------------------------------------


class _Disk(diskcache.Disk):
    """diskcache's Disk, except a failed write (disk full) removes its partial value file.

    diskcache leaves that file behind when writing raises, which would waste the very space
    that ran out.
    """

    _local = threading.local()

    def filename(
        self, key: Any = diskcache.core.UNKNOWN, value: Any = diskcache.core.UNKNOWN
    ) -> tuple[str, str]:
        name, full_path = super().filename(key, value)
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


_caches: dict[str, diskcache.Cache] = {}
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


def _open_cache(*, create: bool) -> diskcache.Cache | _ReadOnlyCache | None:
    """Return the cache of the current directory; ``None`` if it does not exist and not create.

    A directory this process may not write to (a team's pre-filled cache on a read-only mount)
    is opened read-only: hits are served from it, and one warning says new data is not cached.
    """
    directory = get_cache_directory()
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
                size_limit=_size_limit(),
                # diskcache evicts up to cull_limit LRU entries per write once over the limit;
                # its default of 10 can wipe most of a cache of a few large time series. See _put.
                cull_limit=1,
            )
        except (sqlite3.OperationalError, PermissionError) as exc:
            cache = _open_read_only(directory, exc)
        else:
            _sweep_in_background(directory)
        _caches[directory] = cache
        return cache


def _open_read_only(directory: str, cause: Exception) -> _ReadOnlyCache:
    """Fall back to reading a cache we cannot write to; re-raise ``cause`` if it is not that."""
    if os.access(directory, os.W_OK) and _db_writable(directory):
        raise cause
    try:
        reader = _ReadOnlyCache(directory)
    except sqlite3.Error:
        raise cause from None
    _warn(
        f"The cache at {directory} is read-only ({cause}): cached data is served from it, but "
        "new data will not be cached. Point IONWORKS_CACHE_DIR (or ionworks.set_cache_directory) "
        "at a writable directory to cache new data."
    )
    return reader


def _db_writable(directory: str) -> bool:
    return os.access(os.path.join(directory, diskcache.core.DBNAME), os.W_OK)


class ReadOnlyCacheError(IonworksError):
    """The cache directory is read-only: nothing can be stored in or removed from it."""


class _ReadOnlyCache:
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
        self._con = _connect_read_only(os.path.join(directory, diskcache.core.DBNAME))
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


def _connect_read_only(path: str) -> sqlite3.Connection:
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


# --------------------------------------------------------------------------------------------
# Value files no entry references (writes killed before their commit)
# --------------------------------------------------------------------------------------------


def _value_files(directory: str) -> Iterator[tuple[str, str]]:
    """(relative path, full path) of every file in diskcache's value layout
    (``<2 hex>/<2 hex>/<28 hex>.val``); nothing else in the directory is looked at."""
    for top in _subdirectories(directory):
        for mid in _subdirectories(top.path):
            with contextlib.suppress(OSError), os.scandir(mid.path) as leaves:
                for leaf in leaves:
                    rel = f"{top.name}/{mid.name}/{leaf.name}"
                    if _VALUE_FILE.fullmatch(rel):
                        yield rel, leaf.path


def _subdirectories(path: str) -> list[os.DirEntry[str]]:
    """The two-character subdirectories of ``path`` (diskcache's fan-out levels)."""
    with contextlib.suppress(OSError), os.scandir(path) as entries:
        return [e for e in entries if len(e.name) == 2 and e.is_dir(follow_symlinks=False)]
    return []


def _unreferenced_value_files(directory: str) -> list[tuple[str, os.stat_result]]:
    """Value files no entry points to, with their stat (read before listing: see the grace)."""
    con = _connect_read_only(os.path.join(directory, diskcache.core.DBNAME))
    try:
        referenced = {
            name for (name,) in con.execute("SELECT filename FROM Cache WHERE filename IS NOT NULL")
        }
    finally:
        con.close()
    found = []
    for rel, full in _value_files(directory):
        if rel not in referenced:
            with contextlib.suppress(OSError):
                found.append((full, os.stat(full)))
    return found


def _sweep_orphans(directory: str, grace: float = ORPHAN_GRACE_SECONDS) -> list[os.stat_result]:
    """Delete unreferenced value files not written for ``grace`` seconds (killed writes) and
    return the stat of those left (writes that may still be in progress).

    The index is read before the files are listed, so a file committed meanwhile is recent and
    never taken for an orphan.
    """
    left = []
    cutoff = time.time() - grace
    for full, stat in _unreferenced_value_files(directory):
        if stat.st_mtime < cutoff:
            with contextlib.suppress(OSError):
                os.remove(full)
                continue
        left.append(stat)
    return left


def _sweep_in_background(directory: str) -> None:
    """Start a sweep on a daemon thread, at most once per grace period per directory (shared
    by every process through a marker file), so opening a large cache costs nothing extra."""
    marker = os.path.join(directory, _SWEEP_MARKER)
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
            _sweep_orphans(directory)

    threading.Thread(target=sweep, name="ionworks-cache-sweep", daemon=True).start()


def _put(cache: diskcache.Cache, key: str, value: Any, *, read: bool, tag: str) -> None:
    """Write one entry, then enforce the size limit.

    Each write evicts at most the single least-recently-used entry (cull_limit=1); when one
    large table replaced many small ones that is not enough, so fall back to diskcache's cull.
    """
    cache.set(key, value, read=read, tag=tag)
    if cache.volume() > cache.size_limit:
        cache.cull()


def _close_caches() -> None:
    """Close every open Cache (tests; or before deleting a directory)."""
    with _caches_lock:
        for cache in _caches.values():
            cache.close()
        _caches.clear()


# --------------------------------------------------------------------------------------------
# Entry metadata (kept in the diskcache tag)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Stamp:
    """What we record next to each value: when it was written and how many bytes it holds.

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

    def is_fresh(self) -> bool:
        """Judged against the *current* TTL; offline, anything cached beats nothing."""
        ttl = _ttl
        if ttl is None or get_offline():
            return True
        return _now() - self.written_at <= ttl


def _warn(message: str) -> None:
    warnings.warn(message, IonworksCacheWarning, stacklevel=3)


def _describe(kind: str, name: str, measurement_id: str) -> str:
    label = name if kind == "table" else f"{name} metadata"
    return f"{label} of measurement {measurement_id}"


def _discard_if_unchanged(cache: diskcache.Cache, key: str, tag: str) -> None:
    """Delete a bad entry unless another process has replaced it with a good one meanwhile."""
    with contextlib.suppress(Exception), cache.transact():
        value, current = cache.get(key, read=True, tag=True)  # read=True: don't load the file
        if isinstance(value, io.IOBase):
            value.close()
        if current == tag:
            cache.delete(key)


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------


def _check_artifact(artifact: str) -> None:
    if artifact not in TABLE_ARTIFACTS:
        raise ValueError(f"unknown cache artifact {artifact!r}; expected one of {TABLE_ARTIFACTS}")


def _readable_path(handle: io.BufferedReader) -> str:
    """A path polars can memory-map that stays valid while ``handle`` is open."""
    if sys.platform.startswith("linux"):
        fd_path = f"/proc/self/fd/{handle.fileno()}"
        if os.path.exists(fd_path):
            return fd_path
    return str(handle.name)


def load_table(
    scope: CacheScope, measurement_id: str, artifact: TableArtifact
) -> pl.DataFrame | None:
    """Return the cached table, or ``None`` on a miss (absent, expired, corrupt, or disabled).

    Never raises for cache trouble: a corrupt entry is deleted with a warning and reported as a
    miss so the caller refetches it.
    """
    _check_artifact(artifact)
    if not _enabled:
        return None
    key = _entry_key(scope, measurement_id, "table", artifact)
    what = _describe("table", artifact, measurement_id)
    try:
        cache = _open_cache(create=False)
        if cache is None:
            return None
        # diskcache opens the value file inside its transaction, so the handle is the committed
        # file even if a concurrent writer replaces the entry and deletes that file right after.
        # polars reads through the handle where the OS allows (Linux); elsewhere a vanished file
        # means "replaced meanwhile", so look the key up again.
        for _attempt in range(5):
            handle, tag = cache.get(key, read=True, tag=True)
            if handle is None:
                return None
            with handle:
                stamp = _Stamp.decode(tag)
                actual_size = os.fstat(handle.fileno()).st_size
                if stamp is None or stamp.size != actual_size:
                    expected = "unknown" if stamp is None else stamp.size
                    reason = f"file holds {actual_size} bytes, expected {expected}"
                    _warn(f"Ignoring corrupt cache entry ({what}) in {cache.directory}: {reason}")
                    _discard_if_unchanged(cache, key, tag)
                    return None
                if not stamp.is_fresh():
                    return None
                try:
                    return read_parquet(_readable_path(handle), description=f"cached {what}")
                except IonworksError as exc:
                    if not os.path.exists(handle.name):
                        continue
                    _warn(f"Ignoring corrupt cache entry ({what}) in {cache.directory}: {exc}")
                    _discard_if_unchanged(cache, key, tag)
                    return None
        return None
    except Exception as exc:  # SQLite locked/corrupt, permissions...: a miss, but say so
        _warn(f"Could not read {what} from the cache at {get_cache_directory()}: {exc!r}")
        return None


def _is_parquet(payload: bytes | bytearray | memoryview) -> bool:
    view = memoryview(payload).cast("B")
    return len(view) >= 12 and view[:4] == b"PAR1" and view[-4:] == b"PAR1"


def store_table(
    scope: CacheScope,
    measurement_id: str,
    artifact: TableArtifact,
    data: pl.DataFrame | bytes | bytearray | memoryview,
) -> bool:
    """Cache a table; parquet bytes already downloaded are stored as-is (no re-encoding).

    Returns whether it was stored. Failures (disk full, permissions) are reported with an
    :class:`IonworksCacheWarning` naming the directory, never raised: the caller has its data.
    """
    _check_artifact(artifact)
    if not _enabled:
        return False
    key = _entry_key(scope, measurement_id, "table", artifact)
    what = _describe("table", artifact, measurement_id)
    if not isinstance(data, (pl.DataFrame, bytes, bytearray, memoryview)):
        raise TypeError(f"expected a polars DataFrame or parquet bytes, not {type(data)!r}")
    if not isinstance(data, pl.DataFrame) and not _is_parquet(data):
        _warn(f"Not caching {what}: the data is not a parquet file")
        return False
    directory = get_cache_directory()
    try:
        cache = _open_cache(create=True)
        if not isinstance(cache, diskcache.Cache):
            return False  # read-only: said once when it was opened
        payload = write_parquet_bytes(data) if isinstance(data, pl.DataFrame) else data
        # read=True always makes a value file (whatever the size), which a hit reads in place.
        stamp = _Stamp.new(memoryview(payload).nbytes)
        _put(cache, key, io.BytesIO(payload), read=True, tag=stamp.encode())
        return True
    except Exception as exc:
        _warn(f"Could not save {what} to the local cache at {directory}: {exc!r}")
        return False


# --------------------------------------------------------------------------------------------
# Small JSON metadata (e.g. the measurement object, so detail() works offline)
# --------------------------------------------------------------------------------------------


def load_json(scope: CacheScope, measurement_id: str, name: str) -> Any | None:
    """Return cached JSON metadata, or ``None`` on a miss (same rules as :func:`load_table`)."""
    if not _enabled:
        return None
    key = _entry_key(scope, measurement_id, "json", name)
    what = _describe("json", name, measurement_id)
    try:
        cache = _open_cache(create=False)
        if cache is None:
            return None
        text, tag = cache.get(key, tag=True)
        if text is None:
            return None
        stamp = _Stamp.decode(tag)
        try:
            if not isinstance(text, str) or stamp is None or stamp.size != len(text):
                raise ValueError("value does not match its recorded size")
            value = json.loads(text)
        except ValueError as exc:
            _warn(f"Ignoring corrupt cache entry ({what}) in {cache.directory}: {exc}")
            _discard_if_unchanged(cache, key, tag)
            return None
        return value if stamp.is_fresh() else None
    except Exception as exc:
        _warn(f"Could not read {what} from the cache at {get_cache_directory()}: {exc!r}")
        return None


def store_json(scope: CacheScope, measurement_id: str, name: str, value: Any) -> bool:
    """Cache JSON-serialisable metadata; returns whether it was stored (failures warn)."""
    if not _enabled:
        return False
    key = _entry_key(scope, measurement_id, "json", name)
    text = json.dumps(value, separators=(",", ":"))  # a non-JSON value is a bug: let it raise
    try:
        cache = _open_cache(create=True)
        if not isinstance(cache, diskcache.Cache):
            return False  # read-only: said once when it was opened
        _put(cache, key, text, read=False, tag=_Stamp.new(len(text)).encode())
        return True
    except Exception as exc:
        what = _describe("json", name, measurement_id)
        _warn(f"Could not save {what} to the local cache at {get_cache_directory()}: {exc!r}")
        return False


# --------------------------------------------------------------------------------------------
# Invalidation, clearing, inspection
# --------------------------------------------------------------------------------------------


def _our_keys(cache: diskcache.Cache, prefix: str = _KEY_NAMESPACE + " ") -> Iterator[str]:
    """Keys this module created under ``prefix`` (other applications may share the directory)."""
    for key in cache.iterkeys():
        if isinstance(key, str) and key.startswith(prefix):
            yield key


def invalidate(scope: CacheScope, measurement_id: str) -> int:
    """Drop every cached artifact of a measurement for this scope; returns how many.

    Runs even when caching is disabled: skipping it would leave stale data to be served once
    caching is turned back on. Cost is a scan of the index keys (no value is read).
    """
    try:
        cache = _open_cache(create=False)
        if cache is None:
            return 0
        prefix = _measurement_prefix(scope, measurement_id)
        return sum(1 for key in list(_our_keys(cache, prefix)) if cache.delete(key))
    except Exception as exc:
        _warn(
            f"Could not invalidate measurement {measurement_id} in the cache at "
            f"{get_cache_directory()}: {exc!r}; stale data may be served until the TTL expires"
        )
        return 0


def clear_cache() -> int:
    """Delete every entry this cache created and return how many were deleted.

    Files in the directory that the cache did not create are left alone.
    """
    directory = get_cache_directory()
    try:
        cache = _open_cache(create=False)
        if cache is None:
            return 0
        deleted = sum(1 for key in list(_our_keys(cache)) if cache.delete(key))
        if len(cache) == 0:
            _remove_orphan_value_files(cache.directory)
    except Exception as exc:
        raise IonworksError(f"Could not clear the cache at {directory}: {exc!r}") from exc
    return deleted


def _remove_orphan_value_files(directory: str) -> None:
    """Remove value files left by writes killed before their commit (only when the index is
    empty, so none of them can belong to a live entry); only diskcache's own layout is touched."""
    for _rel, full in list(_value_files(directory)):
        with contextlib.suppress(OSError):
            os.remove(full)
    for sub in os.listdir(directory):
        if len(sub) == 2 and os.path.isdir(os.path.join(directory, sub)):
            for root, _dirs, _files in os.walk(os.path.join(directory, sub), topdown=False):
                with contextlib.suppress(OSError):
                    os.rmdir(root)  # only succeeds when empty


def cache_info() -> dict[str, Any]:
    """Settings and usage of the cache, for ``ionworks cache info``.

    ``orphan_bytes``/``orphan_files`` count value files no entry references: writes still in
    progress, or killed before their commit (swept once idle for ``ORPHAN_GRACE_SECONDS``).
    Cache trouble is reported as an :class:`IonworksError` naming the directory.
    """
    info: dict[str, Any] = {
        "directory": get_cache_directory(),
        "entries": 0,
        "size_bytes": 0,
        "orphan_files": 0,
        "orphan_bytes": 0,
        "read_only": False,
        "ttl": _ttl,
        "enabled": _enabled,
        "offline": get_offline(),
        "size_limit": _size_limit(),
    }
    try:
        cache = _open_cache(create=False)
        if cache is None:
            return info
        info["entries"] = sum(1 for _ in _our_keys(cache))
        info["size_bytes"] = int(cache.volume())
        info["read_only"] = not isinstance(cache, diskcache.Cache)
        if info["read_only"]:
            orphans = [stat for _, stat in _unreferenced_value_files(cache.directory)]
        else:
            orphans = _sweep_orphans(cache.directory)
    except (OSError, sqlite3.Error) as exc:
        raise IonworksError(f"Could not read the cache at {info['directory']}: {exc!r}") from exc
    info["orphan_files"] = len(orphans)
    info["orphan_bytes"] = sum(stat.st_size for stat in orphans)
    return info


# --------------------------------------------------------------------------------------------
# Offline mode
# --------------------------------------------------------------------------------------------


def require_online(what: str, measurement_id: str) -> None:
    """Call on a cache miss, before the network: raises :class:`CacheMissError` when offline.

    ``what`` names the data ("time_series", "steps", "measurement metadata", ...).
    """
    if not get_offline():
        return
    source = "IONWORKS_OFFLINE=1" if _offline is None else "ionworks.set_offline(True)"
    where = f"the local cache at {get_cache_directory()}"
    if not _enabled:
        where += " (caching is disabled: ionworks.set_cache_enabled(True))"
    raise CacheMissError(
        f"{what} of measurement {measurement_id} is not in {where} and offline mode is on "
        f"({source}); go online or disable offline mode with ionworks.set_offline(False)"
    )


__all__ = [
    "DEFAULT_CACHE_DIRECTORY",
    "DEFAULT_SIZE_LIMIT",
    "DEFAULT_TTL",
    "ENV_CACHE_DIR",
    "ENV_CACHE_SIZE_LIMIT",
    "ENV_OFFLINE",
    "TABLE_ARTIFACTS",
    "CacheScope",
    "IonworksCacheWarning",
    "ReadOnlyCacheError",
    "TableArtifact",
    "cache_info",
    "clear_cache",
    "get_cache_directory",
    "get_cache_enabled",
    "get_cache_ttl",
    "get_offline",
    "invalidate",
    "load_json",
    "load_table",
    "require_online",
    "set_cache_directory",
    "set_cache_enabled",
    "set_cache_ttl",
    "set_offline",
    "store_json",
    "store_table",
]
