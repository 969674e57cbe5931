"""Python client for the Ionworks battery-data API.

from ionworks import Ionworks

client = Ionworks()                      # IONWORKS_API_KEY / IONWORKS_API_URL from the environment
specs = client.cell_spec.list(name="graphite")
detail = client.cell_measurement.detail(measurement_id)
"""

from __future__ import annotations

from ._cache import (
    IonworksCacheWarning,
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
from ._filters import InvalidParameterError
from ._pagination import PaginatedList
from ._version import __version__
from .dataloader import DataLoader
from .errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    BadRequestError,
    CacheMissError,
    ConflictError,
    IonworksError,
    MeasurementProcessingError,
    MeasurementValidationError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
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
    "NotFoundError",
    "PaginatedList",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "Pipeline",
    "RateLimitError",
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
