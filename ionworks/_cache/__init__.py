"""The local measurement cache: one diskcache entry per (server, credential, measurement, artifact).

Each design decision answers a weakness seen in the official client's cache:

* a crash mid-write leaves the previous entry or nothing, never a truncated table (:mod:`.store`);
* each artifact is its own entry and tables are parquet bytes, never pickles (:mod:`.entries`);
* keys hold the normalised server URL and a one-way fingerprint of the credential, never the
  credential itself (:mod:`.keys`);
* update/delete drop every artifact of a measurement; ``clear_cache`` deletes only entries this
  package created; writes killed before their commit are swept once idle (:mod:`.admin`,
  :mod:`.sweep`); a read-only directory is still served from (:mod:`.readonly`);
* settings are process defaults with per-client overrides (:mod:`.config`), and offline mode
  says how to go back online (:mod:`.offline`).

Callers import from this package; the submodules are its layout.
"""

from __future__ import annotations

from ionworks._constants import ENV_CACHE_DIR, ENV_CACHE_SIZE_LIMIT, ENV_OFFLINE

from .admin import cache_info, clear_cache, invalidate
from .config import (
    DEFAULT_CACHE_DIRECTORY,
    DEFAULT_SIZE_LIMIT,
    DEFAULT_TTL,
    PROCESS_DEFAULTS,
    CacheSettings,
    IonworksCacheWarning,
    get_cache_directory,
    get_cache_enabled,
    get_cache_ttl,
    get_offline,
    set_cache_directory,
    set_cache_enabled,
    set_cache_ttl,
    set_offline,
)
from .entries import load_bytes, load_json, load_table, store_bytes, store_json, store_table
from .keys import TABLE_ARTIFACTS, CacheScope, TableArtifact
from .offline import require_online
from .readonly import ReadOnlyCacheError
from .sweep import ORPHAN_GRACE_SECONDS

__all__ = [
    "DEFAULT_CACHE_DIRECTORY",
    "DEFAULT_SIZE_LIMIT",
    "DEFAULT_TTL",
    "ENV_CACHE_DIR",
    "ENV_CACHE_SIZE_LIMIT",
    "ENV_OFFLINE",
    "ORPHAN_GRACE_SECONDS",
    "PROCESS_DEFAULTS",
    "TABLE_ARTIFACTS",
    "CacheScope",
    "CacheSettings",
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
    "load_bytes",
    "load_json",
    "load_table",
    "require_online",
    "set_cache_directory",
    "set_cache_enabled",
    "set_cache_ttl",
    "set_offline",
    "store_bytes",
    "store_json",
    "store_table",
]
