"""``Ionworks``: configuration, credentials and the sub-clients users call."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from typing import TYPE_CHECKING, Any

import httpx

from . import _constants as C
from . import _proxies as proxies
from ._cache import CacheSettings
from ._dataframe import Backend, resolve_backend
from ._deadline import deadline_transport
from ._http import Retries, build_api_client, build_storage_client, call, check_timeout
from ._logging import configure_from_environment
from .errors import InvalidParameterError, MissingCredentialsError

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from ionworks_generated import Client as GeneratedClient

    from ._artifacts import Artifacts, MeasurementData
    from ._export import ExportResult
    from .resources.cell_instance import CellInstances
    from .resources.cell_measurement import CellMeasurements
    from .resources.cell_spec import CellSpecifications
    from .resources.pipeline import Pipelines


_SETTINGS = (
    "api_url",
    "project_id",
    "dataframe_backend",
    "timeout",
    "max_retries",
    "_retry_budget",
    "_transfer_timeout",
    "_credential",
    "_auth_kind",
    "_cache_settings",
    "_headers",
)


class ClientSettings:
    """What both clients (``Ionworks`` and ``AsyncIonworks``) are configured with: credentials,
    URL, timeouts, retries, DataFrame backend and cache settings, resolved and checked once here.

    Subclasses add their HTTP clients in ``_connect`` (also called by :meth:`_copy_with`).
    """

    def __init__(
        self,
        api_key: str | None = None,
        api_url: str | None = None,
        *,
        token: str | None = None,
        project_id: str | None = None,
        organization_id: str | None = None,
        timeout: float = C.DEFAULT_TIMEOUT,
        transfer_timeout: float = C.DEFAULT_TRANSFER_TIMEOUT,
        max_retries: int = C.DEFAULT_MAX_RETRIES,
        retry_budget: float = C.DEFAULT_RETRY_BUDGET,
        dataframe_backend: str | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        cache_ttl: float | None = None,
        offline: bool | None = None,
        cache_enabled: bool | None = None,
    ) -> None:
        if api_key is None and token is None:
            token = os.environ.get(C.ENV_API_TOKEN) or None
            api_key = None if token else os.environ.get(C.ENV_API_KEY) or None
        if not api_key and not token:
            raise MissingCredentialsError(
                f"No Ionworks credentials: pass {type(self).__name__}(api_key=...) or set the "
                f"{C.ENV_API_KEY} environment variable (or {C.ENV_API_TOKEN} for a bearer token)."
            )
        for name, value in (("timeout", timeout), ("transfer_timeout", transfer_timeout)):
            if value is None:
                raise InvalidParameterError(f"{name}=None: pass a positive number of seconds")
            check_timeout(value, name)
        url = (api_url or os.environ.get(C.ENV_API_URL) or C.DEFAULT_API_URL).rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise InvalidParameterError(f"api_url={url!r} must start with http:// or https://")
        configure_from_environment()
        self.api_url = url
        self.project_id = project_id or os.environ.get(C.ENV_PROJECT_ID) or None
        self.dataframe_backend: Backend = resolve_backend(dataframe_backend)
        self.timeout = timeout
        self.max_retries = max_retries
        self._retry_budget = retry_budget
        self._transfer_timeout = transfer_timeout
        self._credential = token or api_key or ""
        self._auth_kind = "token" if token else "api_key"
        self._cache_settings = CacheSettings.create(
            directory=cache_dir, ttl=cache_ttl, offline=offline, enabled=cache_enabled
        )

        headers = {"Authorization": f"Bearer {token}"} if token else {"X-API-Key": str(api_key)}
        organization = organization_id or os.environ.get(C.ENV_ORGANIZATION_ID)
        if organization:
            headers["X-Organization-Id"] = organization
        self._headers = headers
        self._owns_transports = True

    def _artifacts(self) -> Artifacts:
        """This client's cached measurement artifacts (its server, credential and settings)."""
        from ._artifacts import Artifacts
        from ._cache import CacheScope

        scope = CacheScope.for_client(self.api_url, self._credential)
        return Artifacts(scope, self._cache_settings)

    @property
    def _retries(self) -> Retries:
        """The retry policy of this client's API and storage transports."""
        return Retries(self.max_retries, self._retry_budget)

    def _copy_with(self, timeout: float | None, max_retries: int | None) -> Any:
        """A copy with other defaults sharing this client's pools (see ``with_options``)."""
        check_timeout(timeout)
        if max_retries is not None and (
            isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0
        ):
            raise InvalidParameterError(f"max_retries={max_retries!r} must be an integer >= 0")
        copy = object.__new__(type(self))
        lazy = {
            name
            for cls in type(self).__mro__
            for name, value in vars(cls).items()
            if isinstance(value, cached_property)
        }
        copy.__dict__.update({k: v for k, v in self.__dict__.items() if k not in lazy})
        copy.timeout = self.timeout if timeout is None else timeout
        copy.max_retries = self.max_retries if max_retries is None else max_retries
        copy._owns_transports = False
        copy._connect()
        return copy

    def _connect(self) -> None:
        raise NotImplementedError

    def _settings(self) -> dict[str, Any]:
        """The settings :meth:`ClientSettings.__init__` resolved (what a twin client copies)."""
        return {name: getattr(self, name) for name in _SETTINGS}


class Ionworks(ClientSettings):
    """Client for the Ionworks battery-data API.

    Credentials come from the arguments or, when neither ``api_key`` nor ``token`` is passed, from
    ``IONWORKS_API_TOKEN`` / ``IONWORKS_API_KEY`` (a token wins). ``api_url`` defaults to
    ``IONWORKS_API_URL`` or the hosted API. ``dataframe_backend`` ("polars" or "pandas") defaults
    to ``IONWORKS_DATAFRAME_BACKEND`` or polars, and applies to this client only.

    ``timeout`` (seconds) bounds each API call as a whole: connecting, every byte of the answer
    and any retries. ``transfer_timeout`` bounds each read of a storage transfer (downloads of
    large tables may take longer in total). A refused connection is retried for one second at
    most; a busy server (503, 429 with ``Retry-After``) is retried within ``retry_budget``.

    ``cache_dir``, ``cache_ttl`` (seconds; ``math.inf``: never expires), ``offline`` and
    ``cache_enabled`` override the process-wide cache settings (``ionworks.set_cache_directory``
    and friends) for this client; None follows them, as they are when each call is made.

    Every method also takes ``timeout=`` for that call alone; :meth:`with_options` gives a
    copy with other defaults that shares this client's connections.

    Use it as a context manager, or call :meth:`close`, to release connections::

        with Ionworks() as client:
            specs = client.cell_spec.list(name="graphite")
    """

    def __init__(
        self,
        api_key: str | None = None,
        api_url: str | None = None,
        *,
        token: str | None = None,
        project_id: str | None = None,
        organization_id: str | None = None,
        timeout: float = C.DEFAULT_TIMEOUT,
        transfer_timeout: float = C.DEFAULT_TRANSFER_TIMEOUT,
        max_retries: int = C.DEFAULT_MAX_RETRIES,
        retry_budget: float = C.DEFAULT_RETRY_BUDGET,
        dataframe_backend: str | None = None,
        transport: httpx.BaseTransport | None = None,
        storage_transport: httpx.BaseTransport | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        cache_ttl: float | None = None,
        offline: bool | None = None,
        cache_enabled: bool | None = None,
    ) -> None:
        super().__init__(
            api_key,
            api_url,
            token=token,
            project_id=project_id,
            organization_id=organization_id,
            timeout=timeout,
            transfer_timeout=transfer_timeout,
            max_retries=max_retries,
            retry_budget=retry_budget,
            dataframe_backend=dataframe_backend,
            cache_dir=cache_dir,
            cache_ttl=cache_ttl,
            offline=offline,
            cache_enabled=cache_enabled,
        )
        # The transports hold the connection pools; with_options copies share them.
        self._transports = (
            transport or proxies.transport(deadline_transport),
            storage_transport or proxies.transport(httpx.HTTPTransport),
        )
        self._connect()

    @classmethod
    def _twin_of(cls, settings: ClientSettings) -> Ionworks:
        """A sync client with another client's settings and its own connection pools."""
        twin = object.__new__(cls)
        twin.__dict__.update(settings._settings())
        twin._owns_transports = True
        twin._transports = (
            proxies.transport(deadline_transport),
            proxies.transport(httpx.HTTPTransport),
        )
        twin._connect()
        return twin

    def _connect(self) -> None:
        """Build the API and storage httpx clients over this client's (maybe shared) pools."""
        api_transport, storage_transport = self._transports
        retries = self._retries
        self._http = build_api_client(
            self.api_url,
            self._headers,
            timeout=self.timeout,
            retries=retries,
            transport=api_transport,
            owns_transport=self._owns_transports,
        )
        self._storage = build_storage_client(
            timeout=self._transfer_timeout,
            retries=retries,
            transport=storage_transport,
            owns_transport=self._owns_transports,
        )

    def with_options(
        self, *, timeout: float | None = None, max_retries: int | None = None
    ) -> Ionworks:
        """A copy of this client with other defaults; None keeps this client's value.

        The copy shares this client's connection pools and its cache settings, so it is cheap
        to make per call site (``client.with_options(timeout=5).cell_spec.list()``). Closing
        the copy leaves the pools open; closing this client closes them for both.
        """
        copy: Ionworks = self._copy_with(timeout, max_retries)
        return copy

    @cached_property
    def _api(self) -> GeneratedClient:
        from ionworks_generated import Client as GeneratedClient

        return GeneratedClient(base_url=self.api_url).set_httpx_client(self._http)

    @cached_property
    def _pool(self) -> ThreadPoolExecutor:
        """Worker threads for concurrent downloads, kept for the client's lifetime."""
        return ThreadPoolExecutor(max_workers=4, thread_name_prefix="ionworks")

    @cached_property
    def _measurement_data(self) -> MeasurementData:
        """The cache, storage transfers and worker threads the measurement resources use."""
        from ._artifacts import MeasurementData
        from ._transfer import Transfer

        return MeasurementData(self._artifacts(), Transfer(self._storage, self.api_url), self._pool)

    @cached_property
    def cell_spec(self) -> CellSpecifications:
        """Cell specifications: ``list``, ``get``, ``create``, ``update``, ``delete``."""
        from .resources.cell_spec import CellSpecifications

        return CellSpecifications(self)

    @cached_property
    def cell_instance(self) -> CellInstances:
        """Cell instances of a specification."""
        from .resources.cell_instance import CellInstances

        return CellInstances(self)

    @cached_property
    def cell_measurement(self) -> CellMeasurements:
        """Measurements of a cell instance, and their time series, steps and cycles."""
        from .resources.cell_measurement import CellMeasurements

        return CellMeasurements(self)

    @property
    def measurement(self) -> CellMeasurements:
        """Alias of :attr:`cell_measurement`."""
        return self.cell_measurement

    @cached_property
    def pipeline(self) -> Pipelines:
        """Modelling pipelines."""
        from .resources.pipeline import Pipelines

        return Pipelines(self)

    def health_check(self, *, timeout: float | None = None) -> dict[str, Any]:
        """``GET /healthz``: the server's status. ``timeout``: seconds for this call."""
        from ionworks_generated.api.system import health_check

        response = call(health_check, self._api, self.api_url, timeout=timeout)
        return response.parsed.to_dict() if response.parsed is not None else {}

    def whoami(self, *, timeout: float | None = None) -> dict[str, Any]:
        """``GET /users/me``: the user and organization behind the credential."""
        from ionworks_generated.api.system import get_current_user

        response = call(get_current_user, self._api, self.api_url, timeout=timeout)
        parsed: dict[str, Any] = response.parsed.to_dict()
        return parsed

    def export(
        self,
        path: str | os.PathLike[str],
        *,
        spec_id: str | None = None,
        instance_id: str | None = None,
        measurement_ids: Iterable[str] | None = None,
        name: str | None = None,
        tables: Sequence[str] = ("time_series", "steps", "cycles"),
        concurrency: int = 4,
        use_cache: bool = True,
    ) -> ExportResult:
        """Write measurements to a hive-partitioned parquet dataset that engines read.

        Selects by ``measurement_ids``, else ``instance_id``, else ``spec_id``, else every
        specification whose name contains ``name`` (all of them when None); the other filters
        narrow a ``measurement_ids`` selection. Time-series measurements get ``tables`` under
        ``spec_id=/instance_id=/measurement_id=``; ``_metadata/`` holds the specs, instances
        and measurements. A rerun skips measurements whose ``updated_at`` has not changed; each
        partition appears whole or not at all; failures are listed, not raised. Read it back
        with ``ionworks.scan(path)``, DuckDB, Spark or Dask.
        """
        from ._export import export

        return export(
            self,
            path,
            spec_id=spec_id,
            instance_id=instance_id,
            measurement_ids=measurement_ids,
            name=name,
            tables=tables,
            concurrency=concurrency,
            use_cache=use_cache,
        )

    def close(self) -> None:
        """Close pooled connections."""
        if "_pool" in self.__dict__:
            self._pool.shutdown(wait=False)
        self._http.close()
        self._storage.close()

    def __enter__(self) -> Ionworks:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Ionworks(api_url={self.api_url!r}, auth={self._auth_kind}, backend={self.dataframe_backend!r})"
