"""Specification of the local measurement cache (ionworks._cache).

Every test runs against its own temporary cache directory; global settings are restored after.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import diskcache
import polars as pl
import pytest

from ionworks import _cache as cache
from ionworks._cache import CacheScope, IonworksCacheWarning, config, entries, keys, sweep
from ionworks._cache import store as cache_store
from ionworks._dataframe import write_parquet_bytes
from ionworks.errors import CacheMissError, IonworksError

ROOT = Path(__file__).resolve().parents[1]
SCOPE = CacheScope.for_client("https://api.ionworks.com", "sk-test-credential")
T0 = 1_800_000_000.0


@pytest.fixture(autouse=True)
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private cache directory, default settings, and a frozen clock at T0."""
    for name in ("IONWORKS_CACHE_DIR", "IONWORKS_CACHE_SIZE_LIMIT", "IONWORKS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(config, "_enabled", True)
    monkeypatch.setattr(config, "_ttl", cache.DEFAULT_TTL)
    monkeypatch.setattr(config, "_offline", None)
    monkeypatch.setattr(config, "_directory", None)
    monkeypatch.setattr(entries, "_now", lambda: T0)
    directory = tmp_path / "cache"
    cache.set_cache_directory(directory)
    yield directory
    cache_store.close_caches()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """A settable clock: tests move ``clock[0]`` instead of sleeping."""
    now = [T0]
    monkeypatch.setattr(entries, "_now", lambda: now[0])
    return now


def frame(n: int = 5, seed: int = 0) -> pl.DataFrame:
    return pl.DataFrame({"Step count": range(n), "Voltage [V]": [3.0 + seed + i for i in range(n)]})


def big_frame(rows: int, seed: int = 0) -> pl.DataFrame:
    """Incompressible data, so its parquet size is predictable (~8 bytes per row)."""
    return pl.select(pl.int_range(0, rows, dtype=pl.Int64).hash(seed).alias("h"))


def value_path(scope: CacheScope, measurement_id: str, artifact: str) -> Path:
    """Path of the file holding a cached table (test helper reaching into diskcache)."""
    store = cache_store.open_cache(create=False)
    assert store is not None
    handle = store.get(keys.entry_key(scope, measurement_id, "table", artifact), read=True)
    assert handle is not None, "entry is not cached"
    with handle:
        return Path(handle.name)


@pytest.fixture
def parquet_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every file polars is asked to read, as a real path (/proc/self/fd/N resolved)."""
    reads: list[str] = []
    real = pl.read_parquet

    def spy(source: Any, **kwargs: Any) -> pl.DataFrame:
        reads.append(os.path.realpath(source))
        return real(source, **kwargs)

    monkeypatch.setattr(pl, "read_parquet", spy)
    return reads


def value_files(directory: Path) -> list[Path]:
    return sorted(directory.rglob("*.val"))


# --- configuration ----------------------------------------------------------------------------


def test_defaults_match_the_documented_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config, "_directory", None)
    assert cache.get_cache_enabled() is True
    assert cache.get_cache_ttl() == 3600
    assert cache.get_cache_directory() == os.path.expanduser("~/.ionworksdata_cache")
    assert cache.get_offline() is False


def test_cache_dir_environment_variable_overrides_only_the_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(config, "_directory", None)
    monkeypatch.setenv("IONWORKS_CACHE_DIR", str(tmp_path / "from-env"))
    assert cache.get_cache_directory() == str(tmp_path / "from-env")
    cache.set_cache_directory(tmp_path / "explicit")
    assert cache.get_cache_directory() == str(tmp_path / "explicit")


def test_set_cache_ttl_accepts_seconds_and_none_and_rejects_negative() -> None:
    cache.set_cache_ttl(7200)
    assert cache.get_cache_ttl() == 7200
    cache.set_cache_ttl(None)
    assert cache.get_cache_ttl() is None
    with pytest.raises(ValueError, match=">= 0"):
        cache.set_cache_ttl(-1)
    with pytest.raises(TypeError):
        cache.set_cache_ttl("1h")  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["1", "true", "YES"])
def test_offline_default_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("IONWORKS_OFFLINE", value)
    assert cache.get_offline() is True
    cache.set_offline(False)
    assert cache.get_offline() is False


# --- round trips ------------------------------------------------------------------------------


def test_stored_frame_loads_back_equal() -> None:
    assert cache.store_table(SCOPE, "m1", "steps", frame()) is True
    loaded = cache.load_table(SCOPE, "m1", "steps")
    assert loaded is not None and loaded.equals(frame())


def test_downloaded_parquet_bytes_are_stored_as_is(cache_dir: Path) -> None:
    data = write_parquet_bytes(frame())
    cache.store_table(SCOPE, "m1", "time_series", data)
    assert value_path(SCOPE, "m1", "time_series").read_bytes() == data


def test_tables_are_parquet_files_never_pickles(cache_dir: Path) -> None:
    cache.store_table(SCOPE, "m1", "cycles", frame(2))
    content = value_path(SCOPE, "m1", "cycles").read_bytes()
    assert content[:4] == b"PAR1" and content[-4:] == b"PAR1"


def test_non_parquet_bytes_are_not_cached() -> None:
    with pytest.warns(IonworksCacheWarning, match="not a parquet file"):
        assert cache.store_table(SCOPE, "m1", "steps", b"<html>oops</html>") is False
    assert cache.load_table(SCOPE, "m1", "steps") is None


def test_unknown_artifact_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown cache artifact"):
        cache.load_table(SCOPE, "m1", "voltage")  # type: ignore[arg-type]


def test_json_metadata_round_trips_and_follows_the_ttl(clock: list[float]) -> None:
    meta = {"id": "m1", "name": "cycling", "measurement_type": "time_series"}
    assert cache.store_json(SCOPE, "m1", "measurement", meta) is True
    assert cache.load_json(SCOPE, "m1", "measurement") == meta
    clock[0] += 3601
    assert cache.load_json(SCOPE, "m1", "measurement") is None


def test_json_metadata_and_tables_of_the_same_name_are_separate() -> None:
    cache.store_json(SCOPE, "m1", "steps", {"x": 1})
    assert cache.load_table(SCOPE, "m1", "steps") is None


def test_hit_reads_the_entry_file_in_place(parquet_reads: list[str]) -> None:
    cache.store_table(SCOPE, "m1", "time_series", frame())
    assert cache.load_table(SCOPE, "m1", "time_series") is not None
    assert parquet_reads == [str(value_path(SCOPE, "m1", "time_series"))]


# --- one entry per artifact -------------------------------------------------------------------


def test_steps_hit_reads_only_the_steps_entry(parquet_reads: list[str]) -> None:
    cache.store_table(SCOPE, "m1", "steps", frame(3))
    cache.store_table(SCOPE, "m1", "cycles", frame(2))
    cache.store_table(SCOPE, "m1", "time_series", frame(50))
    value_path(SCOPE, "m1", "time_series").write_bytes(b"garbage" * 100)
    steps_path = str(value_path(SCOPE, "m1", "steps"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the corrupt time series must not even be looked at
        steps = cache.load_table(SCOPE, "m1", "steps")
    assert steps is not None and steps.equals(frame(3))
    assert parquet_reads == [steps_path]


def test_steps_and_cycles_json_steps_never_answer_for_parquet_steps() -> None:
    cache.store_table(SCOPE, "m1", "sc_steps", frame(3, seed=9))
    assert cache.load_table(SCOPE, "m1", "steps") is None
    cache.store_table(SCOPE, "m1", "steps", frame(3))
    assert cache.load_table(SCOPE, "m1", "steps").equals(frame(3))  # type: ignore[union-attr]
    assert cache.load_table(SCOPE, "m1", "sc_steps").equals(frame(3, seed=9))  # type: ignore[union-attr]


# --- scope: server and credential -------------------------------------------------------------


def test_two_credentials_never_share_entries() -> None:
    alice = CacheScope.for_client("https://api.ionworks.com", "key-alice")
    bob = CacheScope.for_client("https://api.ionworks.com", "key-bob")
    cache.store_table(alice, "m1", "steps", frame(seed=1))
    assert cache.load_table(bob, "m1", "steps") is None
    cache.store_table(bob, "m1", "steps", frame(seed=2))
    assert cache.load_table(alice, "m1", "steps").equals(frame(seed=1))  # type: ignore[union-attr]


def test_two_servers_never_share_entries() -> None:
    hosted = CacheScope.for_client("https://api.ionworks.com", "key")
    local = CacheScope.for_client("http://127.0.0.1:8000", "key")
    cache.store_table(hosted, "m1", "steps", frame())
    assert cache.load_table(local, "m1", "steps") is None


def test_equivalent_base_urls_share_a_scope() -> None:
    a = CacheScope.for_client("https://API.ionworks.com:443/", "key")
    b = CacheScope.for_client("https://api.ionworks.com", "key")
    assert a == b
    assert CacheScope.for_client("https://api.ionworks.com/v2", "key") != b


def test_credential_is_never_written_to_disk(cache_dir: Path) -> None:
    secret = "sk-live-THIS-MUST-NOT-LEAK-0123456789"
    scope = CacheScope.for_client("https://api.ionworks.com", secret)
    assert secret not in repr(scope)
    cache.store_table(scope, "m1", "steps", frame())
    cache.store_json(scope, "m1", "measurement", {"id": "m1"})
    cache_store.close_caches()
    for path in cache_dir.rglob("*"):
        assert secret.encode() not in (path.read_bytes() if path.is_file() else path.name.encode())


# --- TTL --------------------------------------------------------------------------------------


def test_ttl_expiry_uses_injected_clock(clock: list[float]) -> None:
    cache.store_table(SCOPE, "m1", "steps", frame())
    clock[0] = T0 + 3600
    assert cache.load_table(SCOPE, "m1", "steps") is not None
    clock[0] = T0 + 3601
    assert cache.load_table(SCOPE, "m1", "steps") is None


def test_ttl_none_makes_expired_entries_valid_again(clock: list[float]) -> None:
    cache.store_table(SCOPE, "m1", "steps", frame())
    clock[0] = T0 + 10 * 3600
    assert cache.load_table(SCOPE, "m1", "steps") is None
    cache.set_cache_ttl(None)
    assert cache.load_table(SCOPE, "m1", "steps") is not None


def test_ttl_change_applies_to_entries_already_on_disk(clock: list[float]) -> None:
    cache.store_table(SCOPE, "m1", "steps", frame())
    clock[0] = T0 + 60
    assert cache.load_table(SCOPE, "m1", "steps") is not None
    cache.set_cache_ttl(30)
    assert cache.load_table(SCOPE, "m1", "steps") is None


def test_rewrite_refreshes_the_write_time(clock: list[float]) -> None:
    cache.store_table(SCOPE, "m1", "steps", frame(seed=1))
    clock[0] = T0 + 5000
    cache.store_table(SCOPE, "m1", "steps", frame(seed=2))
    assert cache.load_table(SCOPE, "m1", "steps").equals(frame(seed=2))  # type: ignore[union-attr]


# --- enabled flag -----------------------------------------------------------------------------


def test_use_cache_disabled_neither_reads_nor_writes(cache_dir: Path) -> None:
    cache.store_table(SCOPE, "m1", "steps", frame())
    cache.set_cache_enabled(False)
    assert cache.get_cache_enabled() is False
    assert cache.load_table(SCOPE, "m1", "steps") is None
    assert cache.store_table(SCOPE, "m2", "steps", frame()) is False
    assert cache.store_json(SCOPE, "m2", "measurement", {}) is False
    assert cache.load_json(SCOPE, "m2", "measurement") is None
    cache.set_cache_enabled(True)
    assert cache.load_table(SCOPE, "m1", "steps") is not None
    assert cache.load_table(SCOPE, "m2", "steps") is None


def test_loading_never_creates_the_directory(cache_dir: Path) -> None:
    assert cache.load_table(SCOPE, "m1", "steps") is None
    assert cache.load_json(SCOPE, "m1", "measurement") is None
    assert cache.clear_cache() == 0
    assert not cache_dir.exists()


# --- invalidation and clearing ----------------------------------------------------------------


def test_invalidate_drops_every_artifact_of_that_measurement_for_that_scope() -> None:
    other = CacheScope.for_client("https://api.ionworks.com", "another-key")
    for artifact in cache.TABLE_ARTIFACTS:
        cache.store_table(SCOPE, "m1", artifact, frame())  # type: ignore[arg-type]
    cache.store_json(SCOPE, "m1", "measurement", {"id": "m1"})
    cache.store_table(SCOPE, "m10", "steps", frame())  # "m1" is a prefix of "m10"
    cache.store_table(other, "m1", "steps", frame())
    assert cache.invalidate(SCOPE, "m1") == 5
    assert all(cache.load_table(SCOPE, "m1", a) is None for a in cache.TABLE_ARTIFACTS)  # type: ignore[arg-type]
    assert cache.load_json(SCOPE, "m1", "measurement") is None
    assert cache.load_table(SCOPE, "m10", "steps") is not None
    assert cache.load_table(other, "m1", "steps") is not None


def test_invalidate_works_even_while_caching_is_disabled() -> None:
    cache.store_table(SCOPE, "m1", "steps", frame())
    cache.set_cache_enabled(False)
    assert cache.invalidate(SCOPE, "m1") == 1
    cache.set_cache_enabled(True)
    assert cache.load_table(SCOPE, "m1", "steps") is None


def test_clear_cache_counts_entries_it_deleted_and_leaves_other_files(cache_dir: Path) -> None:
    cache.store_table(SCOPE, "m1", "steps", frame())
    cache.store_table(SCOPE, "m1", "time_series", frame(100))
    cache.store_json(SCOPE, "m1", "measurement", {"id": "m1"})
    (cache_dir / "notes.txt").write_text("mine")
    (cache_dir / "m1_ae7be26cdaa742ca").mkdir()  # a legacy official-client entry
    (cache_dir / "m1_ae7be26cdaa742ca" / "steps.parquet").write_bytes(b"x")
    store = cache_store.open_cache(create=False)
    assert isinstance(store, diskcache.Cache)
    store.set("someone-else", "value")  # another application sharing the directory

    assert cache.clear_cache() == 3
    assert cache.load_table(SCOPE, "m1", "steps") is None
    assert (cache_dir / "notes.txt").read_text() == "mine"
    assert (cache_dir / "m1_ae7be26cdaa742ca" / "steps.parquet").exists()
    assert store.get("someone-else") == "value"
    assert cache.clear_cache() == 0


def test_clear_cache_removes_value_files_orphaned_by_killed_writes(cache_dir: Path) -> None:
    cache.store_table(SCOPE, "m1", "steps", frame())
    orphan = cache_dir / "ab" / "cd" / ("0" * 28 + ".val")
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"PAR1 half a table")
    assert cache.clear_cache() == 1
    assert value_files(cache_dir) == []


def test_cache_info_reports_settings_and_usage(cache_dir: Path) -> None:
    cache.store_table(SCOPE, "m1", "steps", frame())
    info = cache.cache_info()
    assert info["directory"] == str(cache_dir)
    assert info["entries"] == 1 and info["size_bytes"] > 0
    assert (info["ttl"], info["enabled"], info["offline"]) == (3600, True, False)


# --- robustness -------------------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["truncate", "garbage-same-size", "delete-file"])
def test_corrupt_entry_is_a_miss_with_warning(cache_dir: Path, damage: str) -> None:
    cache.store_table(SCOPE, "m1", "steps", frame(200))
    path = value_path(SCOPE, "m1", "steps")
    size = path.stat().st_size
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[: size // 2])
    elif damage == "garbage-same-size":
        path.write_bytes(b"PAR1" + b"\xff" * (size - 8) + b"PAR1")
    else:
        path.unlink()

    if damage == "delete-file":  # diskcache reports a vanished file as a plain miss
        assert cache.load_table(SCOPE, "m1", "steps") is None
        return
    with pytest.warns(IonworksCacheWarning, match=r"corrupt cache entry \(steps of measurement m1"):
        assert cache.load_table(SCOPE, "m1", "steps") is None
    assert cache.cache_info()["entries"] == 0  # deleted, so the next read is a clean miss
    cache.store_table(SCOPE, "m1", "steps", frame())
    assert cache.load_table(SCOPE, "m1", "steps").equals(frame())  # type: ignore[union-attr]


def test_corrupt_json_entry_is_a_miss_with_warning() -> None:
    cache.store_json(SCOPE, "m1", "measurement", {"id": "m1"})
    store = cache_store.open_cache(create=False)
    assert isinstance(store, diskcache.Cache)
    key = keys.entry_key(SCOPE, "m1", "json", "measurement")
    _, tag = store.get(key, tag=True)
    store.set(key, '{"id": "m1"', tag=tag)  # same size as '{"id":"m1"}', but broken JSON
    with pytest.warns(IonworksCacheWarning, match="corrupt cache entry"):
        assert cache.load_json(SCOPE, "m1", "measurement") is None


def test_save_failure_warns_naming_the_directory_and_keeps_the_old_entry(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache.store_table(SCOPE, "m1", "time_series", frame(seed=1))
    real_write = diskcache.Disk._write

    def disk_full(self: Any, full_path: str, iterator: Any, mode: str, encoding: Any = None) -> int:
        def chunks() -> Iterator[bytes]:
            yield next(iter(iterator))[:10]
            raise OSError(errno.ENOSPC, "No space left on device")

        return int(real_write(self, full_path, chunks(), mode, encoding))

    monkeypatch.setattr(diskcache.Disk, "_write", disk_full)
    with pytest.warns(IonworksCacheWarning, match=f"local cache at {cache_dir}.*No space left"):
        assert cache.store_table(SCOPE, "m1", "time_series", frame(seed=2)) is False
    assert len(value_files(cache_dir)) == 1  # the partial file was removed
    assert cache.load_table(SCOPE, "m1", "time_series").equals(frame(seed=1))  # type: ignore[union-attr]


def test_unusable_directory_warns_on_save_and_misses_on_load(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    cache.set_cache_directory(blocker / "cache")
    with pytest.warns(IonworksCacheWarning, match=str(blocker / "cache")):
        assert cache.store_table(SCOPE, "m1", "steps", frame()) is False
    assert cache.load_table(SCOPE, "m1", "steps") is None


def test_directory_is_private_0700(cache_dir: Path) -> None:
    old_umask = os.umask(0o022)
    try:
        cache.store_table(SCOPE, "m1", "steps", frame())
    finally:
        os.umask(old_umask)
    assert cache_dir.stat().st_mode & 0o777 == 0o700


def test_existing_directory_permissions_are_left_alone(cache_dir: Path) -> None:
    cache_dir.mkdir(mode=0o755)
    os.chmod(cache_dir, 0o755)
    cache.store_table(SCOPE, "m1", "steps", frame())
    assert cache_dir.stat().st_mode & 0o777 == 0o755


def test_one_cache_instance_per_directory_reopened_when_directory_changes(
    tmp_path: Path,
) -> None:
    cache.set_cache_directory(tmp_path / "a")
    cache.store_table(SCOPE, "m1", "steps", frame(seed=1))
    first = cache_store.open_cache(create=False)
    assert first is cache_store.open_cache(create=True)
    cache.set_cache_directory(tmp_path / "b")
    assert cache.load_table(SCOPE, "m1", "steps") is None
    cache.store_table(SCOPE, "m1", "steps", frame(seed=2))
    assert cache_store.open_cache(create=False) is not first
    cache.set_cache_directory(tmp_path / "a")
    assert cache.load_table(SCOPE, "m1", "steps").equals(frame(seed=1))  # type: ignore[union-attr]


def test_directory_removed_behind_our_back_is_recreated(cache_dir: Path) -> None:
    import shutil

    cache.store_table(SCOPE, "m1", "steps", frame())
    shutil.rmtree(cache_dir)
    assert cache.load_table(SCOPE, "m1", "steps") is None
    assert cache.store_table(SCOPE, "m1", "steps", frame()) is True
    assert cache.load_table(SCOPE, "m1", "steps") is not None


# --- size limit -------------------------------------------------------------------------------


def test_size_limit_comes_from_the_environment_with_lru_eviction(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("IONWORKS_CACHE_SIZE_LIMIT", "123456789")
    store = cache_store.open_cache(create=True)
    assert isinstance(store, diskcache.Cache)
    assert store.size_limit == 123456789
    assert store.eviction_policy == "least-recently-used"


def test_invalid_size_limit_warns_and_uses_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IONWORKS_CACHE_SIZE_LIMIT", "ten gigs")
    with pytest.warns(IonworksCacheWarning, match="IONWORKS_CACHE_SIZE_LIMIT"):
        store = cache_store.open_cache(create=True)
    assert isinstance(store, diskcache.Cache) and store.size_limit == 10 * 2**30


def test_least_recently_used_table_is_evicted_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IONWORKS_CACHE_SIZE_LIMIT", str(700_000))
    tables = {f"m{i}": big_frame(12_500, seed=i) for i in range(12)}  # ~100 kB each
    for mid in ("m0", "m1", "m2"):
        cache.store_table(SCOPE, mid, "time_series", tables[mid])
    assert cache.load_table(SCOPE, "m0", "time_series") is not None  # m0 is now recent

    def cached(mid: str) -> bool:
        store = cache_store.open_cache(create=False)
        assert isinstance(store, diskcache.Cache)
        return keys.entry_key(SCOPE, mid, "table", "time_series") in store

    for mid in list(tables)[3:]:
        cache.store_table(SCOPE, mid, "time_series", tables[mid])
        if not cached("m1"):
            break
    else:
        pytest.fail("the size limit never triggered an eviction")
    assert cached("m0") and cached("m2"), "only the least recently used entry goes first"


# --- offline ----------------------------------------------------------------------------------


def test_offline_miss_raises_cache_miss_error_with_one_clear_message(cache_dir: Path) -> None:
    cache.set_offline(True)
    assert cache.load_table(SCOPE, "m1", "time_series") is None
    with pytest.raises(CacheMissError) as info:
        cache.require_online("time_series", "m1")
    message = str(info.value)
    assert message.startswith(
        f"time_series of measurement m1 is not in the local cache at {cache_dir}"
    )
    assert "offline mode is on" in message and "ionworks.set_offline(False)" in message
    assert isinstance(info.value, IonworksError)


def test_offline_from_environment_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IONWORKS_OFFLINE", "1")
    with pytest.raises(CacheMissError, match=r"\(IONWORKS_OFFLINE=1\)"):
        cache.require_online("steps", "m1")


def test_online_require_online_is_a_no_op() -> None:
    cache.require_online("steps", "m1")


def test_offline_serves_entries_older_than_the_ttl(clock: list[float]) -> None:
    cache.store_table(SCOPE, "m1", "steps", frame())
    clock[0] = T0 + 30 * 86400
    assert cache.load_table(SCOPE, "m1", "steps") is None
    cache.set_offline(True)
    assert cache.load_table(SCOPE, "m1", "steps") is not None


# --- processes --------------------------------------------------------------------------------

_CHILD_ENV = {**os.environ, "PYTHONPATH": str(ROOT), "POLARS_MAX_THREADS": "1"}

_KILLED_WRITER = """
import sys, diskcache, polars as pl
from ionworks import _cache as cache
cache.set_cache_directory(sys.argv[1])
scope = cache.CacheScope.for_client("https://api.ionworks.com", "sk-test-credential")
real_write = diskcache.Disk._write

def stalling_write(self, full_path, iterator, mode, encoding=None):
    def chunks():
        for chunk in iterator:
            yield chunk
            # The previous chunk is in the file now: report it, then wait to be killed.
            print(full_path, flush=True)
            sys.stdin.read()
    return real_write(self, full_path, chunks(), mode, encoding)

diskcache.Disk._write = stalling_write
big = pl.select(pl.int_range(0, 1_000_000, dtype=pl.Int64).hash(7).alias("h"))
cache.store_table(scope, "m1", "time_series", big)
print("finished", flush=True)
"""

_FRESH_READER = """
import sys, json, warnings
from ionworks import _cache as cache
warnings.simplefilter("error")
cache.set_cache_directory(sys.argv[1])
scope = cache.CacheScope.for_client("https://api.ionworks.com", "sk-test-credential")
df = cache.load_table(scope, "m1", "time_series")
print(json.dumps(None if df is None else df["h"].to_list()))
"""


def _kill_a_writer_mid_write(cache_dir: Path) -> Path:
    """Start a process caching an ~8 MB table, SIGKILL it mid-write; the partial file's path."""
    writer = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WRITER, str(cache_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=_CHILD_ENV,
    )
    watchdog = threading.Timer(60, writer.kill)
    watchdog.start()
    try:
        assert writer.stdout is not None
        partial = Path(writer.stdout.readline().strip())
        assert partial.is_file(), "the writer never reached the middle of its write"
        assert 0 < partial.stat().st_size < 8_000_000  # mid-write: part of ~8 MB on disk
        writer.send_signal(signal.SIGKILL)
        assert writer.wait() == -signal.SIGKILL
    finally:
        watchdog.cancel()
        writer.kill()
    return partial


@pytest.mark.parametrize("old_entry", [True, False], ids=["old-entry", "no-entry"])
def test_kill_during_write_leaves_no_partial_entry(cache_dir: Path, old_entry: bool) -> None:
    old = pl.DataFrame({"h": [1, 2, 3]})
    if old_entry:
        cache.store_table(SCOPE, "m1", "time_series", old)
    cache_store.close_caches()
    _kill_a_writer_mid_write(cache_dir)

    reader = subprocess.run(
        [sys.executable, "-c", _FRESH_READER, str(cache_dir)],
        capture_output=True,
        text=True,
        env=_CHILD_ENV,
        timeout=60,
        check=True,
    )
    assert json.loads(reader.stdout) == ([1, 2, 3] if old_entry else None)


def test_a_write_killed_mid_way_is_counted_by_cache_info_and_swept_once_idle(
    cache_dir: Path,
) -> None:
    cache.store_table(SCOPE, "m0", "steps", frame())
    cache_store.close_caches()
    partial = _kill_a_writer_mid_write(cache_dir)

    info = cache.cache_info()
    assert (info["orphan_files"], info["orphan_bytes"]) == (1, partial.stat().st_size)
    assert partial.exists(), "a recent file may be another process's write in progress"

    idle_since = time.time() - cache.ORPHAN_GRACE_SECONDS - 60  # as if killed a while ago
    for path in (partial, cache_dir / sweep.SWEEP_MARKER):  # ... and last swept before that
        os.utime(path, (idle_since, idle_since))
    cache_store.close_caches()
    assert cache.load_table(SCOPE, "m0", "steps") is not None  # opening starts a sweep
    for thread in threading.enumerate():
        if thread.name == "ionworks-cache-sweep":
            thread.join(60)
    assert not partial.exists()
    info = cache.cache_info()
    assert (info["orphan_files"], info["orphan_bytes"], info["entries"]) == (0, 0, 1)


def test_cache_info_sweeps_idle_orphans_and_leaves_recent_ones(cache_dir: Path) -> None:
    cache.store_table(SCOPE, "m1", "steps", frame())
    idle, recent = (cache_dir / "ab" / "cd" / (c * 28 + ".val") for c in "01")
    for orphan in (idle, recent):
        orphan.parent.mkdir(parents=True, exist_ok=True)
        orphan.write_bytes(b"PAR1 half a table")
    long_ago = time.time() - cache.ORPHAN_GRACE_SECONDS - 60
    os.utime(idle, (long_ago, long_ago))
    info = cache.cache_info()
    assert (info["orphan_files"], info["orphan_bytes"]) == (1, len(b"PAR1 half a table"))
    assert not idle.exists() and recent.exists()
    assert cache.load_table(SCOPE, "m1", "steps") is not None


_READ_ONLY_CHECK = """
import json, os, sys, warnings
import polars as pl
from ionworks import _cache as cache
from ionworks.errors import CacheMissError

if os.geteuid() == 0:  # root writes through any file mode: become nobody for a real refusal
    os.setuid(65534)
directory = sys.argv[1]
try:
    open(os.path.join(directory, "cache.db"), "r+b").close()
    writable = True
except OSError:
    writable = False
cache.set_cache_directory(directory)
scope = cache.CacheScope.for_client("https://api.ionworks.com", "sk-test-credential")
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    online = cache.load_table(scope, "m1", "steps")
    meta = cache.load_json(scope, "m1", "measurement")
    info = cache.cache_info()
    stored = [cache.store_table(scope, "m2", "steps", pl.DataFrame({"a": [1]})),
              cache.store_json(scope, "m2", "measurement", {"id": "m2"})]
    cache.set_offline(True)
    offline = cache.load_table(scope, "m1", "steps")
    try:
        cache.load_table(scope, "m2", "steps")
        cache.require_online("steps", "m2")
        miss = "no error"
    except CacheMissError:
        miss = "CacheMissError"
print(json.dumps({
    "writable": writable,
    "online": None if online is None else online["Voltage [V]"].to_list(),
    "offline": None if offline is None else offline["Voltage [V]"].to_list(),
    "meta": meta,
    "entries": info["entries"],
    "read_only": info["read_only"],
    "stored": stored,
    "miss": miss,
    "warnings": [str(w.message) for w in caught],
}))
"""


def test_a_read_only_cache_serves_hits_and_warns_once_that_new_data_is_not_cached(
    cache_dir: Path,
) -> None:
    """A team's pre-filled cache on a read-only mount. Root writes through file modes, so the
    check runs in a child that drops to an unprivileged user when started as root."""
    shared = Path(tempfile.mkdtemp(prefix="ionworks-ro-cache-"))
    try:
        cache.set_cache_directory(shared)
        cache.store_table(SCOPE, "m1", "steps", frame())
        cache.store_json(SCOPE, "m1", "measurement", {"id": "m1"})
        cache_store.close_caches()
        for path in [shared, *shared.rglob("*")]:
            path.chmod(0o555 if path.is_dir() else 0o444)
        checked = subprocess.run(
            [sys.executable, "-c", _READ_ONLY_CHECK, str(shared)],
            capture_output=True,
            text=True,
            env=_CHILD_ENV,
            timeout=120,
        )
        assert checked.returncode == 0, checked.stderr
        result = json.loads(checked.stdout)
    finally:
        for path in [shared, *shared.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        shutil.rmtree(shared)
    assert result["writable"] is False, "the check must really be denied writes"
    expected = frame()["Voltage [V]"].to_list()
    assert result["online"] == expected and result["offline"] == expected
    assert result["meta"] == {"id": "m1"}
    assert (result["entries"], result["read_only"]) == (2, True)
    assert result["stored"] == [False, False]
    assert result["miss"] == "CacheMissError"
    assert len(result["warnings"]) == 1, result["warnings"]
    assert "read-only" in result["warnings"][0] and "will not be cached" in result["warnings"][0]


_WORKER = """
import sys, warnings
import polars as pl
from ionworks import _cache as cache
warnings.simplefilter("error")  # any cache warning fails the worker
cache.set_cache_directory(sys.argv[1])
writer = int(sys.argv[2])
scope = cache.CacheScope.for_client("https://api.ionworks.com", "sk-test-credential")

def table(w, r, n=2000):
    i = pl.int_range(0, n, dtype=pl.Int64, eager=True)
    return pl.DataFrame({"writer": [w] * n, "round": [r] * n, "v": i * (w + 1) + r})

sys.stdin.readline()  # start together
hits = 0
for r in range(25):
    cache.store_table(scope, "m1", "time_series", table(writer, r))
    df = cache.load_table(scope, "m1", "time_series")
    assert df is not None, "a stored table must be readable (possibly another writer's)"
    w, rr = df["writer"][0], df["round"][0]
    assert df.equals(table(w, rr)), f"inconsistent table from writer {w} round {rr}"
    hits += 1
print(hits)
"""


def test_four_processes_writing_and_reading_one_measurement_get_correct_tables(
    cache_dir: Path,
) -> None:
    cache.store_table(SCOPE, "m0", "steps", frame())  # create the directory up front
    cache_store.close_caches()
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(cache_dir), str(w)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_CHILD_ENV,
        )
        for w in range(4)
    ]
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write("go\n")
        worker.stdin.flush()
    outcomes = [worker.communicate(timeout=90) for worker in workers]
    for worker, (out, err) in zip(workers, outcomes, strict=True):
        assert worker.returncode == 0, err
        assert out.strip() == "25"


def test_value_layout_is_what_diskcache_documents(cache_dir: Path) -> None:
    """Guards the assumption the fast path rests on: a read=True value is a plain file."""
    cache.store_table(SCOPE, "m1", "steps", frame())
    rel = value_path(SCOPE, "m1", "steps").relative_to(cache_dir).as_posix()
    assert sweep.VALUE_FILE.fullmatch(rel)
