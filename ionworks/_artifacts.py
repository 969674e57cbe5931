"""One read-through path per artifact of a measurement: cache, else network, then cache.

``detail()``, ``time_series()``, ``steps()``, ``cycles()`` and ``steps_and_cycles()`` each make
one call here; the offline policy (a miss raises :class:`~ionworks.errors.CacheMissError` before
any request) and invalidation on a changed measurement live here too, so the order of "look up,
check offline, fetch, store" is written once. Fetching itself is the caller's (a closure over
the API and :class:`~ionworks._transfer.Transfer`), so this module never talks HTTP.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import polars as pl

from . import _cache as cache
from ._cache import CacheScope, CacheSettings, TableArtifact
from ._dataframe import read_parquet
from ._transfer import Transfer

Fetched = pl.DataFrame | bytes
"""What a table fetch returns: a frame, or parquet bytes (cached as they are, no re-encoding)."""


class Artifacts:
    """The cached artifacts of one client (its server, credential and cache settings)."""

    def __init__(self, scope: CacheScope, settings: CacheSettings) -> None:
        self.scope = scope
        self.settings = settings

    def table(
        self,
        measurement_id: str,
        artifact: TableArtifact,
        fetch: Callable[[], Fetched],
        *,
        use_cache: bool,
        window: tuple[int, int] | None = None,
    ) -> pl.DataFrame:
        """The table, from the cache when fresh there, else fetched (and then cached).

        With ``window=(start, stop)`` a hit is sliced, and ``fetch`` must return just those rows,
        which are not cached (a window is no substitute for the whole table).
        """
        if use_cache:
            hit = self._load(measurement_id, artifact)
            if hit is not None:
                return hit if window is None else hit.slice(window[0], window[1] - window[0])
        self.require_online(artifact.replace("_", " "), measurement_id)
        fetched = fetch()
        frame = fetched
        if not isinstance(frame, pl.DataFrame):
            frame = read_parquet(frame, description=f"{artifact} of measurement {measurement_id}")
        if use_cache and window is None:
            cache.store_table(self.scope, measurement_id, artifact, fetched, settings=self.settings)
        return frame

    def tables(
        self,
        measurement_id: str,
        artifacts: tuple[TableArtifact, ...],
        fetch: Callable[[], tuple[pl.DataFrame, ...]],
        *,
        use_cache: bool,
        what: str,
    ) -> tuple[pl.DataFrame, ...]:
        """Several tables one request answers: all from the cache, or all fetched and cached."""
        if use_cache:
            hits = [self._load(measurement_id, artifact) for artifact in artifacts]
            if all(hit is not None for hit in hits):
                return tuple(hit for hit in hits if hit is not None)
        self.require_online(what, measurement_id)
        frames = fetch()
        if use_cache:
            for artifact, frame in zip(artifacts, frames, strict=True):
                cache.store_table(
                    self.scope, measurement_id, artifact, frame, settings=self.settings
                )
        return frames

    def metadata(
        self, measurement_id: str, fetch: Callable[[], dict[str, Any]], *, use_cache: bool
    ) -> dict[str, Any]:
        """The measurement's metadata: fresh when online (and cached for offline use), cached
        when offline. Online, a changed ``updated_at`` drops the measurement's cached tables."""
        if self.settings.is_offline():
            cached = self._load_json(measurement_id) if use_cache else None
            if cached is None:
                self.require_online("metadata", measurement_id)
            return dict(cached or {})
        measurement = fetch()
        if use_cache:
            previous = self._load_json(measurement_id)
            if previous is not None and previous.get("updated_at") != measurement.get("updated_at"):
                self.invalidate(measurement_id)  # the server's data changed since
            cache.store_json(
                self.scope, measurement_id, "measurement", measurement, settings=self.settings
            )
        return measurement

    def file_names(
        self, measurement_id: str, fetch: Callable[[], list[str]], *, use_cache: bool
    ) -> list[str]:
        """The names of a file measurement's files: cached, else listed (and then cached)."""
        if use_cache:
            hit = cache.load_json(self.scope, measurement_id, "files", settings=self.settings)
            if isinstance(hit, list) and all(isinstance(name, str) for name in hit):
                return list(hit)
        self.require_online("file list", measurement_id)
        names = fetch()
        if use_cache:
            cache.store_json(self.scope, measurement_id, "files", names, settings=self.settings)
        return names

    def file(
        self, measurement_id: str, name: str, fetch: Callable[[], bytes], *, use_cache: bool
    ) -> bytes:
        """One file of a file measurement: cached, else downloaded (and then cached as it is).

        Entries share the measurement's prefix, so a changed ``updated_at`` seen by
        :meth:`metadata`, an update or a delete drops them with the tables."""
        if use_cache:
            hit = cache.load_bytes(self.scope, measurement_id, name, settings=self.settings)
            if hit is not None:
                return hit
        self.require_online(f"file {name!r}", measurement_id)
        data = fetch()
        if use_cache:
            cache.store_bytes(self.scope, measurement_id, name, data, settings=self.settings)
        return data

    def require_online(self, what: str, measurement_id: str) -> None:
        """Raise :class:`~ionworks.errors.CacheMissError` when this client is offline."""
        cache.require_online(what, measurement_id, settings=self.settings)

    def invalidate(self, measurement_id: str) -> None:
        """Drop every cached artifact of a measurement (after an update or delete)."""
        cache.invalidate(self.scope, measurement_id, settings=self.settings)

    def _load(self, measurement_id: str, artifact: TableArtifact) -> pl.DataFrame | None:
        return cache.load_table(self.scope, measurement_id, artifact, settings=self.settings)

    def _load_json(self, measurement_id: str) -> dict[str, Any] | None:
        value = cache.load_json(self.scope, measurement_id, "measurement", settings=self.settings)
        return value if isinstance(value, dict) else None


@dataclass(frozen=True)
class MeasurementData:
    """What the measurement resources need from their client, and nothing more."""

    artifacts: Artifacts
    transfer: Transfer
    pool: Executor
    """Long-lived worker threads for the small tables of ``detail()``."""


__all__ = ["Artifacts", "MeasurementData"]
