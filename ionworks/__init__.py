"""Python client for the Ionworks battery-data API.

from ionworks import Ionworks

client = Ionworks()                      # IONWORKS_API_KEY / IONWORKS_API_URL from the environment
specs = client.cell_spec.list(name="graphite")
detail = client.cell_measurement.detail(measurement_id)

async with AsyncIonworks() as client:    # the async twin: same resources, ``await`` each call
    specs = await client.cell_spec.list(name="graphite")

Names are imported on first use (PEP 562), so ``import ionworks.data`` (the battery-data core,
which the local server uses too) loads neither httpx nor the generated client nor the rest of
this package. ``from ionworks import Ionworks`` works as always.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any

from ._version import __version__ as __version__

# Public name -> the module (relative to this package) that defines it: the one runtime list;
# ``__all__`` and the lazy lookup both come from it.
_EXPORTS: dict[str, tuple[str, ...]] = {
    "._client": ("Ionworks",),
    "._async_client": ("AsyncIonworks",),
    "._pagination": ("AsyncPaginatedList", "PaginatedList"),
    ".data.dataset": ("scan",),
    ".dataloader": ("DataLoader", "first_step_from_cycle", "last_step_from_cycle"),
    ".errors": (
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
    ),
    "._cache": (
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
    ),
    ".models": (
        "CellInstance",
        "CellInstanceDetail",
        "CellMeasurement",
        "CellSpecification",
        "MeasurementBundle",
        "MeasurementDetail",
        "MeasurementTagUsage",
        "Pipeline",
    ),
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted([*_WHERE, "__version__"])

if TYPE_CHECKING:
    # What a type checker sees: the same names, re-exported explicitly (``name as name``) since
    # ``__all__`` is computed; tests/test_client_unit.py checks that both lists agree.
    from ._async_client import AsyncIonworks as AsyncIonworks
    from ._cache import cache_info as cache_info
    from ._cache import clear_cache as clear_cache
    from ._cache import get_cache_directory as get_cache_directory
    from ._cache import get_cache_enabled as get_cache_enabled
    from ._cache import get_cache_ttl as get_cache_ttl
    from ._cache import get_offline as get_offline
    from ._cache import set_cache_directory as set_cache_directory
    from ._cache import set_cache_enabled as set_cache_enabled
    from ._cache import set_cache_ttl as set_cache_ttl
    from ._cache import set_offline as set_offline
    from ._client import Ionworks as Ionworks
    from ._pagination import AsyncPaginatedList as AsyncPaginatedList
    from ._pagination import PaginatedList as PaginatedList
    from .data.dataset import scan as scan
    from .dataloader import DataLoader as DataLoader
    from .dataloader import first_step_from_cycle as first_step_from_cycle
    from .dataloader import last_step_from_cycle as last_step_from_cycle
    from .errors import APIConnectionError as APIConnectionError
    from .errors import APIStatusError as APIStatusError
    from .errors import APITimeoutError as APITimeoutError
    from .errors import BadRequestError as BadRequestError
    from .errors import CacheMissError as CacheMissError
    from .errors import ConflictError as ConflictError
    from .errors import InvalidParameterError as InvalidParameterError
    from .errors import IonworksCacheWarning as IonworksCacheWarning
    from .errors import IonworksError as IonworksError
    from .errors import MeasurementProcessingError as MeasurementProcessingError
    from .errors import MeasurementValidationError as MeasurementValidationError
    from .errors import MissingCredentialsError as MissingCredentialsError
    from .errors import NotFoundError as NotFoundError
    from .errors import PayloadTooLargeError as PayloadTooLargeError
    from .errors import PermissionDeniedError as PermissionDeniedError
    from .errors import RateLimitError as RateLimitError
    from .errors import ReadOnlyCacheError as ReadOnlyCacheError
    from .errors import ServerError as ServerError
    from .errors import UsageLimitError as UsageLimitError
    from .models import CellInstance as CellInstance
    from .models import CellInstanceDetail as CellInstanceDetail
    from .models import CellMeasurement as CellMeasurement
    from .models import CellSpecification as CellSpecification
    from .models import MeasurementBundle as MeasurementBundle
    from .models import MeasurementDetail as MeasurementDetail
    from .models import MeasurementTagUsage as MeasurementTagUsage
    from .models import Pipeline as Pipeline


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
