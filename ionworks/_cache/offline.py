"""Offline mode: a cache miss raises instead of calling the API, and says how to go online."""

from __future__ import annotations

from ionworks.errors import CacheMissError

from .config import PROCESS_DEFAULTS, CacheSettings


def require_online(
    what: str, measurement_id: str, *, settings: CacheSettings = PROCESS_DEFAULTS
) -> None:
    """Call on a cache miss, before the network: raises :class:`CacheMissError` when offline.

    ``what`` names the data ("time series", "steps", "metadata", ...).
    """
    if not settings.is_offline():
        return
    source = settings.offline_source()
    where = f"the local cache at {settings.cache_directory()}"
    if not settings.is_enabled():
        where += f" (caching is disabled: {settings.enable_hint()})"
    back = (
        "Ionworks(offline=False)" if settings.offline is not None else "ionworks.set_offline(False)"
    )
    raise CacheMissError(
        f"{what} of measurement {measurement_id} is not in {where} and offline mode is on "
        f"({source}); go online or disable offline mode with {back}"
    )
