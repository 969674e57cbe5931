"""Cache configuration: the process defaults and the per-client overrides resolved against them.

The module-level ``set_cache_*``/``set_offline`` functions set the process defaults (as the
official client's do); ``Ionworks(cache_dir=..., cache_ttl=..., offline=..., cache_enabled=...)``
overrides them for one client. An override left at ``None`` follows the process default *at call
time*, so changing a default later still reaches every client that did not override it.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass
from typing import Final

from ionworks._constants import ENV_CACHE_DIR, ENV_CACHE_SIZE_LIMIT, ENV_OFFLINE
from ionworks.errors import IonworksCacheWarning as IonworksCacheWarning  # users import it here too

DEFAULT_CACHE_DIRECTORY: Final = "~/.ionworksdata_cache"
DEFAULT_TTL: Final = 3600
DEFAULT_SIZE_LIMIT: Final = 10 * 2**30
"""Cache size limit in bytes; least-recently-used entries are evicted beyond it."""

_TRUE_STRINGS: Final = frozenset({"1", "true", "yes"})

_enabled: bool = True
_directory: str | None = None  # None = ENV_CACHE_DIR, else DEFAULT_CACHE_DIRECTORY
_ttl: float | None = DEFAULT_TTL
_offline: bool | None = None  # None = read ENV_OFFLINE on each call


def warn(message: str) -> None:
    """Report cache trouble without failing the call (the caller still gets its data)."""
    warnings.warn(message, IonworksCacheWarning, stacklevel=3)


def set_cache_enabled(enabled: bool) -> None:
    """Enable or disable caching by default (for every client that does not override it)."""
    global _enabled
    _enabled = bool(enabled)


def get_cache_enabled() -> bool:
    """Return whether caching is enabled by default."""
    return _enabled


def _absolute(path: str | os.PathLike[str]) -> str:
    return os.path.abspath(os.path.expanduser(os.fspath(path)))


def set_cache_directory(path: str | os.PathLike[str] | None) -> None:
    """Set the default cache directory; ``None`` restores the default.

    The directory is created (private, mode 0700) on the first write, not here.
    """
    global _directory
    _directory = None if path is None else _absolute(path)


def get_cache_directory() -> str:
    """Return the default cache directory: the one set, else ``$IONWORKS_CACHE_DIR``, else
    ``~/.ionworksdata_cache``."""
    if _directory is not None:
        return _directory
    return _absolute(os.environ.get(ENV_CACHE_DIR, "").strip() or DEFAULT_CACHE_DIRECTORY)


def check_ttl(seconds: object) -> float:
    """A TTL must be a non-negative number of seconds (``bool`` is not a number here)."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise TypeError(f"cache TTL must be a number of seconds or None, not {seconds!r}")
    if math.isnan(seconds) or seconds < 0:
        raise ValueError(f"cache TTL must be >= 0 seconds or None, not {seconds!r}")
    return seconds


def set_cache_ttl(seconds: float | None) -> None:
    """Set how long cached data stays fresh by default, in seconds; ``None``: never expires.

    Takes effect for entries already on disk too: freshness is judged when reading.
    """
    global _ttl
    _ttl = None if seconds is None else check_ttl(seconds)


def get_cache_ttl() -> float | None:
    """Return the default TTL in seconds (``None`` = never expires)."""
    return _ttl


def set_offline(offline: bool) -> None:
    """Turn offline mode on or off by default: when on, cached data is used whatever its age
    and a miss raises :class:`~ionworks.errors.CacheMissError` instead of calling the API."""
    global _offline
    _offline = bool(offline)


def get_offline() -> bool:
    """Return whether offline mode is on by default (from ``IONWORKS_OFFLINE`` unless set)."""
    if _offline is not None:
        return _offline
    return os.environ.get(ENV_OFFLINE, "").strip().lower() in _TRUE_STRINGS


def size_limit() -> int:
    """The size limit from ``IONWORKS_CACHE_SIZE_LIMIT``; a bad value warns and uses 10 GiB."""
    raw = os.environ.get(ENV_CACHE_SIZE_LIMIT, "").strip()
    if not raw:
        return DEFAULT_SIZE_LIMIT
    try:
        limit = int(raw)
        if limit <= 0:
            raise ValueError
    except ValueError:
        warn(f"{ENV_CACHE_SIZE_LIMIT}={raw!r} is not a positive number of bytes; using 10 GiB")
        return DEFAULT_SIZE_LIMIT
    return limit


@dataclass(frozen=True)
class CacheSettings:
    """One client's cache overrides; ``None`` follows the process default at call time.

    ``ttl=math.inf`` means "never expires" for this client (``None`` already means "follow the
    default", unlike ``set_cache_ttl(None)``).
    """

    directory: str | None = None
    ttl: float | None = None
    offline: bool | None = None
    enabled: bool | None = None

    @classmethod
    def create(
        cls,
        *,
        directory: str | os.PathLike[str] | None = None,
        ttl: float | None = None,
        offline: bool | None = None,
        enabled: bool | None = None,
    ) -> CacheSettings:
        """Validate the constructor arguments of ``Ionworks`` (bad values fail at once)."""
        return cls(
            directory=None if directory is None else _absolute(directory),
            ttl=None if ttl is None else check_ttl(ttl),
            offline=None if offline is None else bool(offline),
            enabled=None if enabled is None else bool(enabled),
        )

    def cache_directory(self) -> str:
        """The directory this client reads and writes."""
        return self.directory if self.directory is not None else get_cache_directory()

    def cache_ttl(self) -> float | None:
        """Seconds an entry stays fresh for this client; ``None`` = never expires."""
        if self.ttl is None:
            return _ttl
        return None if math.isinf(self.ttl) else self.ttl

    def is_offline(self) -> bool:
        """Whether this client must serve measurement data from the cache only."""
        return self.offline if self.offline is not None else get_offline()

    def is_enabled(self) -> bool:
        """Whether this client reads and writes the cache."""
        return self.enabled if self.enabled is not None else _enabled

    def offline_source(self) -> str:
        """Where offline mode was turned on, for the error message that names the way back."""
        if self.offline is not None:
            return "Ionworks(offline=True)"
        return "IONWORKS_OFFLINE=1" if _offline is None else "ionworks.set_offline(True)"

    def enable_hint(self) -> str:
        """How to turn caching back on, in the same terms it was turned off."""
        if self.enabled is not None:
            return "Ionworks(cache_enabled=True)"
        return "ionworks.set_cache_enabled(True)"


PROCESS_DEFAULTS: Final = CacheSettings()
"""No overrides: the process defaults (what the module-level functions of ``ionworks`` use)."""
