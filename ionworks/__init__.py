"""Python client for the Ionworks battery-data API.

from ionworks import Ionworks

client = Ionworks()                      # IONWORKS_API_KEY / IONWORKS_API_URL from the environment
specs = client.cell_spec.list(name="graphite")
detail = client.cell_measurement.detail(measurement_id)

Names are imported on first use (PEP 562), so ``import ionworks.data`` (the battery-data core,
which the local server uses too) loads neither httpx nor the generated client nor the rest of
this package. ``from ionworks import Ionworks`` works as always.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from ._cache import (
        cache_info,
        clear_cache,
        get_cache_directory,
        get_cache_enabled,
        get_cache_ttl,
        get_offline,
        set_cache_directory,
        set_cache_enabled,
        set_cache_ttl,
        set_offline,
    )
    from ._client import Ionworks
    from ._pagination import PaginatedList
    from .dataloader import DataLoader
    from .errors import (
        APIConnectionError,
        APIStatusError,
        APITimeoutError,
        BadRequestError,
        CacheMissError,
        ConflictError,
        InvalidParameterError,
        IonworksCacheWarning,
        IonworksError,
        MeasurementProcessingError,
        MeasurementValidationError,
        MissingCredentialsError,
        NotFoundError,
        PayloadTooLargeError,
        PermissionDeniedError,
        RateLimitError,
        ReadOnlyCacheError,
        ServerError,
        UsageLimitError,
    )
    from .models import (
        CellInstance,
        CellMeasurement,
        CellSpecification,
        MeasurementBundle,
        MeasurementDetail,
        Pipeline,
    )

_ERRORS = (
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "BadRequestError",
    "CacheMissError",
    "ConflictError",
    "InvalidParameterError",
    "IonworksCacheWarning",
    "IonworksError",
    "MeasurementProcessingError",
    "MeasurementValidationError",
    "MissingCredentialsError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RateLimitError",
    "ReadOnlyCacheError",
    "ServerError",
    "UsageLimitError",
)
_CACHE = (
    "cache_info",
    "clear_cache",
    "get_cache_directory",
    "get_cache_enabled",
    "get_cache_ttl",
    "get_offline",
    "set_cache_directory",
    "set_cache_enabled",
    "set_cache_ttl",
    "set_offline",
)
_MODELS = (
    "CellInstance",
    "CellMeasurement",
    "CellSpecification",
    "MeasurementBundle",
    "MeasurementDetail",
    "Pipeline",
)

# Public name -> the module (relative to this package) that defines it.
_WHERE: dict[str, str] = {
    "Ionworks": "._client",
    "PaginatedList": "._pagination",
    "DataLoader": ".dataloader",
    **{name: ".errors" for name in _ERRORS},
    **{name: "._cache" for name in _CACHE},
    **{name: ".models" for name in _MODELS},
}

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "BadRequestError",
    "CacheMissError",
    "CellInstance",
    "CellMeasurement",
    "CellSpecification",
    "ConflictError",
    "DataLoader",
    "InvalidParameterError",
    "Ionworks",
    "IonworksCacheWarning",
    "IonworksError",
    "MeasurementBundle",
    "MeasurementDetail",
    "MeasurementProcessingError",
    "MeasurementValidationError",
    "MissingCredentialsError",
    "NotFoundError",
    "PaginatedList",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "Pipeline",
    "RateLimitError",
    "ReadOnlyCacheError",
    "ServerError",
    "UsageLimitError",
    "__version__",
    "cache_info",
    "clear_cache",
    "get_cache_directory",
    "get_cache_enabled",
    "get_cache_ttl",
    "get_offline",
    "set_cache_directory",
    "set_cache_enabled",
    "set_cache_ttl",
    "set_offline",
]


def __getattr__(name: str) -> Any:
    """Import a public name's module on first access, then keep the name here (PEP 562).

    A submodule (``ionworks.errors``, ``ionworks.plotting``) is imported on access too, as it
    was reachable when this package imported everything eagerly.
    """
    module = _WHERE.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module, __name__), name)
    elif not name.startswith("__") and importlib.util.find_spec(f"{__name__}.{name}") is not None:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
