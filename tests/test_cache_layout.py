"""Where the cache puts its value files: few directories, diskcache's layout, old entries kept.

Creating a directory cost more than writing a small table (ionworks/_cache/store.py), so value
files are spread over 16 directories instead of diskcache's 65,536; the sweep and entries
written by earlier versions rely on the layout staying ``<2 hex>/<2 hex>/<28 hex>.val``.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from pathlib import Path

import diskcache
import polars as pl
import pytest

from ionworks import _cache as cache
from ionworks._cache import CacheScope, config, entries, keys, sweep
from ionworks._cache import store as cache_store
from ionworks._dataframe import write_parquet_bytes

SCOPE = CacheScope.for_client("https://api.ionworks.com", "sk-layout-test")
OURS = re.compile(r"00/[0-9a-f]0/[0-9a-f]{28}\.val")


@pytest.fixture(autouse=True)
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private cache directory with default settings, closed after."""
    for name in ("IONWORKS_CACHE_DIR", "IONWORKS_CACHE_SIZE_LIMIT", "IONWORKS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(config, "_enabled", True)
    monkeypatch.setattr(config, "_ttl", None)
    monkeypatch.setattr(config, "_offline", None)
    monkeypatch.setattr(config, "_directory", None)
    directory = tmp_path / "cache"
    cache.set_cache_directory(directory)
    yield directory
    cache_store.close_caches()


def value_files(directory: Path) -> list[str]:
    return sorted(
        str(path.relative_to(directory)).replace(os.sep, "/") for path in directory.rglob("*.val")
    )


def test_value_files_share_sixteen_directories_the_sweep_still_finds(cache_dir: Path) -> None:
    for i in range(60):
        frame = pl.DataFrame({"x": [i, i + 1]})
        assert cache.store_table(SCOPE, f"m{i}", "steps", frame) is True
    files = value_files(cache_dir)
    assert len(files) == 60
    assert all(OURS.fullmatch(name) for name in files), files[:3]
    assert len({name.rsplit("/", 1)[0] for name in files}) <= 16
    assert sorted(rel for rel, _ in sweep.value_files(str(cache_dir))) == files
    assert sweep.unreferenced_value_files(str(cache_dir)) == []  # each file has its entry
    for i in (0, 59):
        loaded = cache.load_table(SCOPE, f"m{i}", "steps")
        assert loaded is not None and loaded["x"].to_list() == [i, i + 1]


def test_entries_written_in_diskcaches_own_layout_are_still_read(cache_dir: Path) -> None:
    """A cache filled by an earlier version (diskcache's default file names) keeps working."""
    old = diskcache.Cache(str(cache_dir), eviction_policy="least-recently-used", cull_limit=1)
    data = write_parquet_bytes(pl.DataFrame({"x": [1, 2, 3]}))
    key = keys.entry_key(SCOPE, "m-old", "table", "cycles")
    stamp = entries._Stamp.new(len(data)).encode()
    for _ in range(5):  # diskcache's random name is one of ours 1 time in 4,096: draw again
        old.set(key, io.BytesIO(data), read=True, tag=stamp)
        (name,) = value_files(cache_dir)
        if not OURS.fullmatch(name):
            break
    old.close()
    assert not OURS.fullmatch(name)  # diskcache's two random levels
    loaded = cache.load_table(SCOPE, "m-old", "cycles")
    assert loaded is not None and loaded["x"].to_list() == [1, 2, 3]
    cache.store_table(SCOPE, "m-old", "cycles", pl.DataFrame({"x": [4]}))  # replaced: ours now
    (name,) = value_files(cache_dir)
    assert OURS.fullmatch(name)
