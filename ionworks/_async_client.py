"""``AsyncIonworks``: the async twin of :class:`ionworks.Ionworks`.

The same configuration (``_client.ClientSettings``: credentials, URL, timeouts, retries,
backend, cache), the same resources and method names, each ``async def``. Requests are built
by the generated operations (``_operations.request_of``) and sent through an
``httpx.AsyncClient``, as the sync client sends them through an ``httpx.Client``: the generated
``asyncio_detailed`` functions are not used, for the same measured reason the sync client does
not use ``sync_detailed`` (decoding a list page into attrs models and back tripled its cost; see
:mod:`ionworks._operations`). Retries and deadlines follow the sync client's
:class:`~ionworks._retry.RetryPolicy`; errors are the same types with the same messages.

Modules of the async client: ``_async_http`` (transport and clients), ``_async_resources``
(specifications, instances, pipelines, the base), ``_async_measurements``, ``_async_transfer``
(storage, and the thread bridge reusing the sync cache and upload logic), ``_async_fleet``.
"""

from __future__ import annotations

import os
from functools import cached_property
from typing import TYPE_CHECKING, Any

import httpx

from . import _constants as C
from . import _proxies as proxies
from ._async_http import build_async_api_client, build_async_storage_client, call
from ._async_net import async_transport
from ._client import ClientSettings

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from ionworks_generated import Client as GeneratedClient

    from ._async_measurements import AsyncCellMeasurements, AsyncMeasurementData
    from ._async_resources import AsyncCellInstances, AsyncCellSpecifications, AsyncPipelines
    from ._async_transfer import Bridge
    from ._export import ExportResult


class AsyncIonworks(ClientSettings):
    """Async client for the Ionworks battery-data API; arguments as :class:`ionworks.Ionworks`
    (``transport``/``storage_transport`` are ``httpx.AsyncBaseTransport``).

    Use it in ``async with``, or ``await client.aclose()``, to release connections::

        async with AsyncIonworks() as client:
            page = await client.cell_spec.list(name="graphite")
            async for spec in page:  # every page, fetched as needed
                ...
            pull = await client.cell_measurement.fetch_many(ids, concurrency=8)
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
        transport: httpx.AsyncBaseTransport | None = None,
        storage_transport: httpx.AsyncBaseTransport | None = None,
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
            transport or proxies.async_transport(async_transport),
            storage_transport or proxies.async_transport(async_transport),
        )
        self._connect()

    def _connect(self) -> None:
        """Build the API and storage clients over this client's (maybe shared) pools."""
        api_transport, storage_transport = self._transports
        self._http = build_async_api_client(
            self.api_url,
            self._headers,
            timeout=self.timeout,
            retries=self._retries,
            transport=api_transport,
            owns_transport=self._owns_transports,
        )
        self._storage = build_async_storage_client(
            timeout=self._transfer_timeout,
            retries=self._retries,
            transport=storage_transport,
            owns_transport=self._owns_transports,
        )

    def with_options(
        self, *, timeout: float | None = None, max_retries: int | None = None
    ) -> AsyncIonworks:
        """A copy with other defaults sharing this client's connections (as ``Ionworks``)."""
        copy: AsyncIonworks = self._copy_with(timeout, max_retries)
        return copy

    @cached_property
    def _api(self) -> GeneratedClient:
        """The generated client's settings, which its response parsers read."""
        from ionworks_generated import Client as GeneratedClient

        return GeneratedClient(base_url=self.api_url)

    @cached_property
    def _bridge(self) -> Bridge:
        from ._async_transfer import Bridge

        return Bridge()

    @cached_property
    def _measurement_data(self) -> AsyncMeasurementData:
        """The cache, storage transfers and thread bridge of the measurement resource."""
        from ._async_measurements import AsyncMeasurementData
        from ._async_transfer import AsyncTransfer

        transfer = AsyncTransfer(self._storage, self.api_url, self._bridge)
        return AsyncMeasurementData(self._artifacts(), transfer, self._bridge)

    @cached_property
    def cell_spec(self) -> AsyncCellSpecifications:
        """Cell specifications: ``list``, ``get``, ``create``, ``update``, ``delete``."""
        from ._async_resources import AsyncCellSpecifications

        return AsyncCellSpecifications(self)

    @cached_property
    def cell_instance(self) -> AsyncCellInstances:
        """Cell instances of a specification."""
        from ._async_resources import AsyncCellInstances

        return AsyncCellInstances(self)

    @cached_property
    def cell_measurement(self) -> AsyncCellMeasurements:
        """Measurements of a cell instance, and their time series, steps and cycles."""
        from ._async_measurements import AsyncCellMeasurements

        return AsyncCellMeasurements(self)

    @property
    def measurement(self) -> AsyncCellMeasurements:
        """Alias of :attr:`cell_measurement`."""
        return self.cell_measurement

    @cached_property
    def pipeline(self) -> AsyncPipelines:
        """Modelling pipelines."""
        from ._async_resources import AsyncPipelines

        return AsyncPipelines(self)

    async def health_check(self, *, timeout: float | None = None) -> dict[str, Any]:
        """``GET /healthz``: the server's status. ``timeout``: seconds for this call."""
        from ionworks_generated.api.system import health_check

        response = await call(health_check, self._api, self._http, self.api_url, timeout=timeout)
        return response.parsed.to_dict() if response.parsed is not None else {}

    async def whoami(self, *, timeout: float | None = None) -> dict[str, Any]:
        """``GET /users/me``: the user and organization behind the credential."""
        from ionworks_generated.api.system import get_current_user

        response = await call(
            get_current_user, self._api, self._http, self.api_url, timeout=timeout
        )
        parsed: dict[str, Any] = response.parsed.to_dict()
        return parsed

    async def export(
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
        """``Ionworks.export``, awaited: the exporter (disk-bound, already concurrent on its own
        threads) runs in a worker thread on a sync client with this client's settings and cache
        (its own connections: transports passed to this client are not used)."""
        import anyio.to_thread

        from ._client import Ionworks

        def run() -> ExportResult:
            with Ionworks._twin_of(self) as twin:
                return twin.export(
                    path,
                    spec_id=spec_id,
                    instance_id=instance_id,
                    measurement_ids=measurement_ids,
                    name=name,
                    tables=tables,
                    concurrency=concurrency,
                    use_cache=use_cache,
                )

        return await anyio.to_thread.run_sync(run)

    async def aclose(self) -> None:
        """Close pooled connections (a ``with_options`` copy leaves the shared pools open)."""
        await self._http.aclose()
        await self._storage.aclose()

    async def __aenter__(self) -> AsyncIonworks:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return (
            f"AsyncIonworks(api_url={self.api_url!r}, auth={self._auth_kind}, "
            f"backend={self.dataframe_backend!r})"
        )


__all__ = ["AsyncIonworks"]
