"""``AsyncIonworks.cell_measurement``: the async twin of ``resources/cell_measurement.py``.

The same methods and arguments. Metadata calls are awaited directly. Table reads keep the sync
client's read-through order (``_artifacts.Artifacts``: cache, else offline error, else fetch,
then cache) by running it in a bridge thread (``_async_transfer.Bridge``) whose fetch awaits
the request on the event loop: cache reads and writes and parquet decoding never block the
loop, and the cache rules exist once. Uploads run the sync upload protocol the same way, so
reading a cycler file, checking and encoding it happen in the thread too.
"""

from __future__ import annotations

import functools
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import ModuleType
from typing import Any

import polars as pl

from ._artifacts import Artifacts
from ._async_fleet import fetch_many
from ._async_project import AsyncProjectMeasurements
from ._async_resources import poll_async
from ._async_tasks import task_group
from ._async_transfer import AsyncTransfer, Bridge, BridgedUploads
from ._cache import TableArtifact
from ._column_tables import column_frames
from ._constants import PROCESSING_TIMEOUT
from ._dataframe import Frame, read_parquet, to_backend
from ._fleet import TABLES, FleetResult
from ._pagination import AsyncPaginatedList
from ._transfer import EVERY_ROW, check_columns, select_columns
from ._upload import jsonable, upload_measurement
from .models import CellMeasurement, MeasurementBundle, MeasurementDetail
from .resources._measurement_rules import (
    check_row_range,
    list_query,
    processed,
    raise_if_failed,
    still_processing,
)
from .resources.cell_measurement import PROCESSING_BACKOFF, StepsAndCycles


@dataclass(frozen=True)
class AsyncMeasurementData:
    """What the async measurement resource needs from its client."""

    artifacts: Artifacts
    transfer: AsyncTransfer
    bridge: Bridge


@dataclass(frozen=True)
class _JsonTables:
    """One JSON table request (``/cycles``, ``/steps_and_cycles``) of a measurement: the body
    awaited on the loop, decoded by :func:`~ionworks._column_tables.column_frames` (the sync
    client's decoding: orjson straight into columns, not the generated models)."""

    resource: AsyncCellMeasurements
    operation: ModuleType
    measurement_id: str
    keys: tuple[str, ...]
    timeout: float | None

    async def body(self) -> bytes:
        args = (self.measurement_id,)
        response = await self.resource._send(self.operation, args, {}, timeout=self.timeout)
        return response.content

    def decode(self, content: bytes) -> tuple[pl.DataFrame, ...]:
        return column_frames(content, self.keys, self.resource._client.api_url)

    def in_thread(self) -> tuple[pl.DataFrame, ...]:
        """From a bridge thread: the request awaited on the loop, decoded here."""
        return self.decode(self.resource._data.bridge.on_loop(self.body))


class AsyncCellMeasurements(AsyncProjectMeasurements):
    """Measurements of cell instances, and the tables behind them (async)."""

    # ------------------------------------------------------------------ metadata

    async def list(
        self,
        cell_instance_id: str,
        limit: int | None = None,
        offset: int | None = None,
        *,
        name: str | None = None,
        name_exact: str | None = None,
        measurement_type: str | None = None,
        created_by_email: str | None = None,
        created_after: str | datetime | None = None,
        created_before: str | datetime | None = None,
        updated_after: str | datetime | None = None,
        updated_before: str | datetime | None = None,
        started_after: str | datetime | None = None,
        started_before: str | datetime | None = None,
        order_by: str | None = None,
        order: str | None = None,
        tags_all: str | list[str] | None = None,
        tags_any: str | list[str] | None = None,
        timeout: float | None = None,
    ) -> AsyncPaginatedList[CellMeasurement]:
        """One page of an instance's measurements (filters as ``Ionworks.cell_measurement.list``)."""
        from ionworks_generated.api.cell_measurements import list_cell_measurements

        limit, start, filters = list_query(
            limit,
            offset,
            name=name,
            name_exact=name_exact,
            measurement_type=measurement_type,
            created_by_email=created_by_email,
            created_after=created_after,
            created_before=created_before,
            updated_after=updated_after,
            updated_before=updated_before,
            started_after=started_after,
            started_before=started_before,
            order_by=order_by,
            order=order,
            tags_all=tags_all,
            tags_any=tags_any,
        )
        return await self._page(
            list_cell_measurements,
            CellMeasurement,
            (cell_instance_id,),
            filters,
            limit,
            start,
            timeout=timeout,
        )

    async def list_all(
        self,
        cell_instance_id: str,
        *,
        page_size: int = 1000,
        timeout: float | None = None,
        **filters: Any,
    ) -> AsyncIterator[CellMeasurement]:
        """Every matching measurement of an instance, page by page (``async for``)."""
        first = await self.list(
            cell_instance_id, limit=page_size, offset=0, timeout=timeout, **filters
        )
        async for measurement in first:
            yield measurement

    async def get(self, measurement_id: str, *, timeout: float | None = None) -> CellMeasurement:
        """One measurement's metadata, including its ``processing_status``."""
        from ionworks_generated.api.cell_measurements import get_cell_measurement

        body = await self._parsed(get_cell_measurement, measurement_id, timeout=timeout)
        return CellMeasurement(body)

    async def update(
        self, measurement_id: str, data: Mapping[str, Any], *, timeout: float | None = None
    ) -> CellMeasurement:
        """Update metadata (``tags`` replaces the tag set); drops this measurement's cache entries."""
        from ionworks_generated.api.cell_measurements import update_cell_measurement
        from ionworks_generated.models.cell_measurement_update import CellMeasurementUpdate

        body = CellMeasurementUpdate.from_dict(jsonable(dict(data)))
        try:
            updated = await self._parsed(
                update_cell_measurement, measurement_id, body=body, timeout=timeout
            )
            return CellMeasurement(updated)
        finally:
            await self._invalidate(measurement_id)

    async def delete(self, measurement_id: str, *, timeout: float | None = None) -> None:
        """Delete a measurement and its data; drops its cache entries."""
        from ionworks_generated.api.cell_measurements import delete_cell_measurement

        try:
            await self._call(delete_cell_measurement, measurement_id, timeout=timeout)
        finally:
            await self._invalidate(measurement_id)

    # ------------------------------------------------------------------ tables

    async def time_series(
        self,
        measurement_id: str,
        *,
        use_cache: bool = True,
        row_range: tuple[int, int] | None = None,
        columns: Sequence[str] | None = None,
        timeout: float | None = None,
    ) -> Frame:
        """The time series (``row_range`` and ``columns`` as in ``Ionworks``: HTTP ranges on a miss)."""
        from ionworks_generated.api.cell_measurements import download_time_series

        what = f"time series of {measurement_id}"
        window = None if row_range is None else check_row_range(row_range)
        wanted = check_columns(columns)
        if wanted is not None and window is None:  # a projection is a part, never cached
            window = EVERY_ROW
        data, on_loop = self._data, self._data.bridge.on_loop
        if not use_cache and window is None:
            return await self._uncached(
                measurement_id, "time_series", download_time_series, timeout
            )

        def fetch() -> pl.DataFrame | bytes:  # in the bridge thread
            if window is None:
                return on_loop(
                    self._download, download_time_series, (measurement_id,), what, timeout
                )
            response = on_loop(self._call, download_time_series, measurement_id, timeout=timeout)
            return data.transfer.rows_in_thread(
                response, *window, columns=wanted, what=what, timeout=timeout
            )

        def read() -> Frame:
            frame = data.artifacts.table(
                measurement_id, "time_series", fetch, use_cache=use_cache, window=window
            )
            return self._frame(select_columns(frame, wanted, what))

        return await data.bridge.run_in_thread(read)

    async def steps(
        self, measurement_id: str, *, use_cache: bool = True, timeout: float | None = None
    ) -> Frame:
        """The step table as a DataFrame."""
        from ionworks_generated.api.cell_measurements import download_steps

        if not use_cache:
            return await self._uncached(measurement_id, "steps", download_steps, timeout)
        what = f"steps of {measurement_id}"

        def fetch() -> bytes:  # in the bridge thread
            ids = (measurement_id,)
            return self._data.bridge.on_loop(self._download, download_steps, ids, what, timeout)

        return await self._table(measurement_id, "steps", fetch, use_cache)

    async def cycles(
        self, measurement_id: str, *, use_cache: bool = True, timeout: float | None = None
    ) -> Frame:
        """Cycle metrics as a DataFrame."""
        from ionworks_generated.api.cell_measurements import get_cycles

        fetch = _JsonTables(self, get_cycles, measurement_id, ("cycles",), timeout)
        if not use_cache:
            return await self._uncached_read(
                measurement_id, "cycles", fetch.body, lambda content: fetch.decode(content)[0]
            )
        return await self._table(measurement_id, "cycles", lambda: fetch.in_thread()[0], use_cache)

    async def steps_and_cycles(
        self, measurement_id: str, *, use_cache: bool = True, timeout: float | None = None
    ) -> StepsAndCycles:
        """Steps and cycle metrics from one JSON call (``.steps``, ``.cycles``)."""
        from ionworks_generated.api.cell_measurements import get_steps_and_cycles

        data = self._data
        fetch = _JsonTables(
            self, get_steps_and_cycles, measurement_id, ("steps", "cycles"), timeout
        )

        def read() -> StepsAndCycles:
            steps, cycles = data.artifacts.tables(
                measurement_id,
                ("sc_steps", "cycles"),
                fetch.in_thread,
                use_cache=use_cache,
                what="steps and cycles",
            )
            return StepsAndCycles(self._frame(steps), self._frame(cycles))

        return await data.bridge.run_in_thread(read)

    async def detail(
        self,
        measurement_id: str,
        *,
        use_cache: bool = True,
        include_time_series: bool = True,
        include_steps: bool = True,
        include_cycles: bool = True,
        timeout: float | None = None,
    ) -> MeasurementDetail:
        """Everything about a measurement, shaped by its type; its tables fetched concurrently."""
        data = self._data

        def fetch_metadata() -> dict[str, Any]:  # in the bridge thread
            return data.bridge.on_loop(self._metadata, measurement_id, timeout)

        metadata = await data.bridge.run_in_thread(
            data.artifacts.metadata, measurement_id, fetch_metadata, use_cache=use_cache
        )
        measurement = CellMeasurement(metadata)
        kind = measurement.measurement_type or "time_series"
        if kind == "file":
            files = await self.files(measurement_id, use_cache=use_cache, timeout=timeout)
            return MeasurementDetail(measurement, files=files)
        if kind != "time_series":  # properties, or a type newer than this client: metadata only
            return MeasurementDetail(measurement)
        wanted = {
            "time_series": include_time_series,
            "steps": include_steps,
            "cycles": include_cycles,
        }
        tables: dict[str, Any] = {}

        async def one(name: str) -> None:
            method = getattr(self, name)
            tables[name] = await method(measurement_id, use_cache=use_cache, timeout=timeout)

        async with task_group() as group:
            for name, include in wanted.items():
                if include:
                    group.start_soon(one, name)
        return MeasurementDetail(measurement, **tables)

    async def fetch_many(
        self,
        ids: Iterable[str],
        tables: Sequence[str] = TABLES,
        concurrency: int = 8,
        use_cache: bool = True,
        *,
        timeout: float | None = None,
    ) -> FleetResult:
        """``tables`` of many measurements, at most ``concurrency`` at once, through the cache,
        with one progress bar; failures in ``.failed``; a rerun fetches only what is missing."""
        return await fetch_many(
            self, ids, tables, concurrency=concurrency, use_cache=use_cache, timeout=timeout
        )

    async def files(
        self, measurement_id: str, *, use_cache: bool = True, timeout: float | None = None
    ) -> dict[str, bytes]:
        """The files of a file measurement, by name, through the cache (``download_files``)."""
        return await self.download_files(measurement_id, use_cache, timeout=timeout)

    # ------------------------------------------------------------------ writing

    async def create(
        self,
        cell_instance_id: str,
        measurement_data: Mapping[str, Any] | str | os.PathLike[str],
        *,
        validate: bool = True,
        wait_for_processing: bool = True,
        timeout: float = PROCESSING_TIMEOUT,
        request_timeout: float | None = None,
        reader: str | None = None,
    ) -> MeasurementBundle:
        """Upload a time-series measurement and (by default) wait until the server processed it
        (arguments and errors as ``Ionworks.cell_measurement.create``)."""
        bridge = self._data.bridge

        def parsed(operation: ModuleType, *args: Any, **kwargs: Any) -> dict[str, Any]:
            return bridge.on_loop(self._parsed, operation, *args, **kwargs)

        confirmed, steps_created = await bridge.run_in_thread(
            upload_measurement,
            parsed,
            BridgedUploads(self._data.transfer, bridge),
            cell_instance_id,
            measurement_data,
            validate=validate,
            timeout=request_timeout,
            reader=reader,
        )
        measurement = CellMeasurement(confirmed)
        if wait_for_processing:
            measurement = await self.wait_for_processing(
                measurement.id, timeout=timeout, request_timeout=request_timeout
            )
        return MeasurementBundle(measurement, steps_created)

    async def create_properties(
        self,
        cell_instance_id: str,
        name: str,
        properties: Mapping[str, Any],
        *,
        timeout: float | None = None,
        **fields: Any,
    ) -> CellMeasurement:
        """Create a properties measurement (as ``Ionworks.cell_measurement.create_properties``)."""
        from ionworks_generated.api.uploads import create_properties_measurement
        from ionworks_generated.models.properties_measurement_create import (
            PropertiesMeasurementCreate,
        )

        body = {"name": name, "measurement_type": "properties", "properties": dict(properties)}
        body.update({key: value for key, value in fields.items() if value is not None})
        created = await self._parsed(
            create_properties_measurement,
            cell_instance_id,
            body=PropertiesMeasurementCreate.from_dict(jsonable(body)),
            timeout=timeout,
        )
        return CellMeasurement(created)

    async def wait_for_processing(
        self,
        measurement_id: str,
        *,
        timeout: float = PROCESSING_TIMEOUT,
        request_timeout: float | None = None,
    ) -> CellMeasurement:
        """Poll until the server finished processing; raise if it failed or took too long."""
        from ionworks_generated.api.cell_measurements import get_cell_measurement

        async def ask() -> CellMeasurement:
            body = await self._parsed(
                get_cell_measurement,
                measurement_id,
                include_steps=False,
                include_time_series=False,
                timeout=request_timeout,
            )
            return raise_if_failed(measurement_id, CellMeasurement(body))

        return await poll_async(
            ask,
            processed,
            timeout=timeout,
            backoff=PROCESSING_BACKOFF,
            on_timeout=lambda measurement: still_processing(measurement_id, measurement, timeout),
        )

    # ------------------------------------------------------------------ plumbing

    def _frame(self, frame: pl.DataFrame) -> Frame:
        return to_backend(frame, self._client.dataframe_backend)

    async def _metadata(self, measurement_id: str, timeout: float | None) -> dict[str, Any]:
        return (await self.get(measurement_id, timeout=timeout)).to_dict()

    async def _invalidate(self, measurement_id: str) -> None:
        await self._data.bridge.run_in_thread(self._data.artifacts.invalidate, measurement_id)

    async def _table(
        self,
        measurement_id: str,
        artifact: Any,
        fetch: Callable[[], pl.DataFrame | bytes],
        use_cache: bool,
    ) -> Frame:
        """A whole table through the cache, in a bridge thread (``fetch`` runs there too)."""

        def read() -> Frame:
            frame = self._data.artifacts.table(measurement_id, artifact, fetch, use_cache=use_cache)
            return self._frame(frame)

        return await self._data.bridge.run_in_thread(read)

    async def _uncached(
        self,
        measurement_id: str,
        artifact: TableArtifact,
        operation: ModuleType,
        timeout: float | None = None,
    ) -> Frame:
        """A downloaded (parquet) table with ``use_cache=False``: see :meth:`_uncached_read`."""
        what = f"{artifact.replace('_', ' ')} of {measurement_id}"
        description = f"{artifact} of measurement {measurement_id}"
        return await self._uncached_read(
            measurement_id,
            artifact,
            functools.partial(self._download, operation, (measurement_id,), what, timeout),
            functools.partial(read_parquet, description=description),
        )

    async def _uncached_read(
        self,
        measurement_id: str,
        artifact: TableArtifact,
        body: Callable[[], Awaitable[bytes]],
        decode: Callable[[bytes], pl.DataFrame],
    ) -> Frame:
        """A table with ``use_cache=False``: what ``Artifacts.table`` does then (the offline
        check, the request, the decoding), with the request awaited here on the loop rather
        than from a bridge thread (one wait of a thread on the loop fewer per table, the largest
        cost of an async fleet pull after the network's); decoded on the loop when small, else
        in a thread (:meth:`~ionworks._async_transfer.Bridge.decode`)."""
        self._data.artifacts.require_online(artifact.replace("_", " "), measurement_id)
        content = await body()
        return await self._data.bridge.decode(lambda raw: self._frame(decode(raw)), content)


__all__ = ["AsyncCellMeasurements", "AsyncMeasurementData"]
