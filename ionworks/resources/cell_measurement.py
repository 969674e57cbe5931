"""``client.cell_measurement``: measurements and their time series, steps and cycle metrics.

Each table is read through :mod:`ionworks._artifacts` (cache, else network, then cache; each
artifact its own cache entry, so a ``steps()`` hit never touches the time series). The bytes move
through :mod:`ionworks._transfer` and uploads follow :mod:`ionworks._upload`; this module keeps
what users call and how each call is shaped.

``timeout`` on a method bounds each request it makes (API calls and storage transfers) instead
of the client's. ``create`` and ``wait_for_processing`` already use ``timeout`` for how long to
wait for processing, so there the per-request bound is ``request_timeout``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import ModuleType
from typing import Any

import polars as pl

from .._artifacts import MeasurementData
from .._column_tables import column_tables
from .._constants import PROCESSING_TIMEOUT
from .._dataframe import Frame, columns_to_frame, to_backend
from .._fleet import TABLES, FleetResult, fetch_many
from .._pagination import PaginatedList
from .._polling import Backoff, poll
from .._transfer import EVERY_ROW, check_columns, select_columns
from .._upload import jsonable, upload_measurement
from ..models import CellMeasurement, MeasurementBundle, MeasurementDetail
from ._measurement_files import MeasurementFiles
from ._measurement_rules import (
    check_row_range,
    list_query,
    processed,
    raise_if_failed,
    still_processing,
)
from ._measurement_tags import ProjectMeasurements

PROCESSING_BACKOFF = Backoff(first=0.1, factor=1.5, cap=2.0)
"""Processing usually takes well under a second: ask early, then less and less often."""


@dataclass
class StepsAndCycles:
    """Steps and cycle metrics fetched together (unpacks as ``steps, cycles = ...``)."""

    steps: Frame
    cycles: Frame

    def __iter__(self) -> Iterator[Frame]:
        return iter((self.steps, self.cycles))


class CellMeasurements(ProjectMeasurements, MeasurementFiles):
    """Measurements of cell instances, and the tables behind them."""

    # ------------------------------------------------------------------ metadata

    def list(
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
    ) -> PaginatedList[CellMeasurement]:
        """One page of an instance's measurements (filters as ``cell_spec.list``, plus
        ``measurement_type``, ``started_after``/``started_before``, tags, and
        ``order_by="start_time"``)."""
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
        return self._page(
            list_cell_measurements,
            CellMeasurement,
            (cell_instance_id,),
            filters,
            limit,
            start,
            timeout=timeout,
        )

    def list_all(
        self,
        cell_instance_id: str,
        *,
        page_size: int = 1000,
        timeout: float | None = None,
        **filters: Any,
    ) -> Iterator[CellMeasurement]:
        """Every matching measurement of an instance, page by page."""
        first = self.list(cell_instance_id, limit=page_size, offset=0, timeout=timeout, **filters)
        return first.auto_paging_iter()

    def get(self, measurement_id: str, *, timeout: float | None = None) -> CellMeasurement:
        """One measurement's metadata, including its ``processing_status``."""
        from ionworks_generated.api.cell_measurements import get_cell_measurement

        return CellMeasurement(self._parsed(get_cell_measurement, measurement_id, timeout=timeout))

    def update(
        self, measurement_id: str, data: Mapping[str, Any], *, timeout: float | None = None
    ) -> CellMeasurement:
        """Update metadata (``tags`` replaces the tag set); drops this measurement's cache entries."""
        from ionworks_generated.api.cell_measurements import update_cell_measurement
        from ionworks_generated.models.cell_measurement_update import CellMeasurementUpdate

        body = CellMeasurementUpdate.from_dict(jsonable(dict(data)))
        try:
            updated = self._parsed(
                update_cell_measurement, measurement_id, body=body, timeout=timeout
            )
            return CellMeasurement(updated)
        finally:
            self._data.artifacts.invalidate(measurement_id)

    def delete(self, measurement_id: str, *, timeout: float | None = None) -> None:
        """Delete a measurement and its data; drops its cache entries."""
        from ionworks_generated.api.cell_measurements import delete_cell_measurement

        try:
            self._call(delete_cell_measurement, measurement_id, timeout=timeout)
        finally:
            self._data.artifacts.invalidate(measurement_id)

    # ------------------------------------------------------------------ tables

    def time_series(
        self,
        measurement_id: str,
        *,
        use_cache: bool = True,
        row_range: tuple[int, int] | None = None,
        columns: Sequence[str] | None = None,
        timeout: float | None = None,
    ) -> Frame:
        """The time series as a DataFrame (polars, or pandas if configured).

        ``row_range=(start, stop)`` returns only rows ``start <= i < stop`` and ``columns=[...]``
        only those columns (an unknown one raises, listing those present): from the cache when
        the whole series is cached, otherwise by reading just the needed parts of the stored
        parquet file with HTTP range requests (nothing is cached then).
        """
        from ionworks_generated.api.cell_measurements import download_time_series

        what = f"time series of {measurement_id}"
        window = None if row_range is None else check_row_range(row_range)
        wanted = check_columns(columns)
        if wanted is not None and window is None:  # a projection is a part, never cached
            window = EVERY_ROW

        def fetch() -> pl.DataFrame | bytes:
            response = self._call(download_time_series, measurement_id, timeout=timeout)
            transfer = self._data.transfer
            if window is None:
                return transfer.body(response, what=what, timeout=timeout)
            return transfer.rows(response, *window, columns=wanted, what=what, timeout=timeout)

        frame = self._data.artifacts.table(
            measurement_id, "time_series", fetch, use_cache=use_cache, window=window
        )
        return self._frame(select_columns(frame, wanted, what))

    def steps(
        self, measurement_id: str, *, use_cache: bool = True, timeout: float | None = None
    ) -> Frame:
        """The step table (one row per step: type, duration, capacities, ...) as a DataFrame."""
        from ionworks_generated.api.cell_measurements import download_steps

        fetch = self._downloader(download_steps, measurement_id, "steps", timeout)
        frame = self._data.artifacts.table(measurement_id, "steps", fetch, use_cache=use_cache)
        return self._frame(frame)

    def cycles(
        self, measurement_id: str, *, use_cache: bool = True, timeout: float | None = None
    ) -> Frame:
        """Cycle metrics (capacity, efficiency, retention, ...) as a DataFrame."""
        from ionworks_generated.api.cell_measurements import get_cycles

        def fetch() -> pl.DataFrame:
            (cycles,) = self._column_tables(get_cycles, measurement_id, ("cycles",), timeout)
            return columns_to_frame(cycles)

        frame = self._data.artifacts.table(measurement_id, "cycles", fetch, use_cache=use_cache)
        return self._frame(frame)

    def steps_and_cycles(
        self, measurement_id: str, *, use_cache: bool = True, timeout: float | None = None
    ) -> StepsAndCycles:
        """Steps and cycle metrics from one JSON call (``.steps``, ``.cycles``)."""
        from ionworks_generated.api.cell_measurements import get_steps_and_cycles

        def fetch() -> tuple[pl.DataFrame, ...]:
            tables = self._column_tables(
                get_steps_and_cycles, measurement_id, ("steps", "cycles"), timeout
            )
            return tuple(columns_to_frame(table) for table in tables)

        # JSON-derived steps live under their own key so steps() keeps the parquet fidelity.
        steps, cycles = self._data.artifacts.tables(
            measurement_id,
            ("sc_steps", "cycles"),
            fetch,
            use_cache=use_cache,
            what="steps and cycles",
        )
        return StepsAndCycles(self._frame(steps), self._frame(cycles))

    def detail(
        self,
        measurement_id: str,
        *,
        use_cache: bool = True,
        include_time_series: bool = True,
        include_steps: bool = True,
        include_cycles: bool = True,
        timeout: float | None = None,
    ) -> MeasurementDetail:
        """Everything about a measurement, shaped by its type.

        Time-series measurements get ``.time_series``, ``.steps`` and ``.cycles`` DataFrames,
        fetched concurrently; properties measurements carry ``.properties``; file measurements
        ``.files`` (name to bytes). ``.measurement`` holds the metadata, which is cached with the
        tables so that ``detail()`` works offline.
        """
        metadata = self._data.artifacts.metadata(
            measurement_id,
            lambda: self.get(measurement_id, timeout=timeout).to_dict(),
            use_cache=use_cache,
        )
        measurement = CellMeasurement(metadata)
        kind = measurement.measurement_type or "time_series"
        if kind == "file":
            files = self.files(measurement_id, use_cache=use_cache, timeout=timeout)
            return MeasurementDetail(measurement, files=files)
        if kind != "time_series":  # properties, or a type newer than this client: metadata only
            return MeasurementDetail(measurement)
        wanted: dict[str, Callable[..., Any]] = {}
        if include_steps:
            wanted["steps"] = self.steps
        if include_cycles:
            wanted["cycles"] = self.cycles
        # The small tables download on the client's long-lived worker threads while the time
        # series, by far the largest, is fetched in the calling thread: large buffers allocated in
        # fresh threads cost fresh memory-mapped pages every time (measured 40% slower for a
        # 1M-row series), and a pool kept for the client's lifetime avoids that for the others.
        futures = {
            name: self._data.pool.submit(
                fetch, measurement_id, use_cache=use_cache, timeout=timeout
            )
            for name, fetch in wanted.items()
        }
        tables: dict[str, Any] = {}
        if include_time_series:
            tables["time_series"] = self.time_series(
                measurement_id, use_cache=use_cache, timeout=timeout
            )
        tables.update({name: future.result() for name, future in futures.items()})
        return MeasurementDetail(measurement, **tables)

    def fetch_many(
        self,
        ids: Iterable[str],
        tables: Sequence[str] = TABLES,
        concurrency: int = 8,
        use_cache: bool = True,
        *,
        timeout: float | None = None,
    ) -> FleetResult:
        """``tables`` of many measurements on ``concurrency`` threads, through the cache, with one
        progress bar: ``.frames[id][table]``; a failed measurement is in ``.failed[id]`` (its error)
        and does not lose the others. A rerun fetches only what the cache lacks."""
        return fetch_many(
            self, ids, tables, concurrency=concurrency, use_cache=use_cache, timeout=timeout
        )

    def files(
        self, measurement_id: str, *, use_cache: bool = True, timeout: float | None = None
    ) -> dict[str, bytes]:
        """The files of a file measurement, by name, through the cache (``download_files``)."""
        return self.download_files(measurement_id, use_cache, timeout=timeout)

    # ------------------------------------------------------------------ writing

    def create(
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
        """Upload a time-series measurement and (by default) wait until the server processed it.

        ``measurement_data`` is ``{"measurement": {"name": ..., "notes": ..., "start_time": ...,
        "tags": [...]}, "time_series": <polars/pandas DataFrame or column dict>, "steps":
        <optional>}``, or the path of a cycler file (``"run-42.mpr"``), read by
        ``ionworks.data.read.time_series`` (format detected; ``reader="maccor"`` forces one) and
        named after the file; a file that does not read raises ``ReaderError`` (a ``ValueError``)
        and nothing is sent. The data is checked first (required columns, time non-decreasing, sign
        convention); a problem raises :class:`MeasurementValidationError` and nothing is sent.
        Processing failures raise :class:`MeasurementProcessingError` with the server's reason.
        Returns a bundle whose ``.measurement`` is the created (processed) measurement.
        ``timeout`` is how long to wait for processing; ``request_timeout`` bounds each request.
        """
        confirmed, steps_created = upload_measurement(
            self._parsed,
            self._data.transfer,
            cell_instance_id,
            measurement_data,
            validate=validate,
            timeout=request_timeout,
            reader=reader,
        )
        measurement = CellMeasurement(confirmed)
        if wait_for_processing:
            measurement = self.wait_for_processing(
                measurement.id, timeout=timeout, request_timeout=request_timeout
            )
        return MeasurementBundle(measurement, steps_created)

    def create_properties(
        self,
        cell_instance_id: str,
        name: str,
        properties: Mapping[str, Any],
        *,
        timeout: float | None = None,
        **fields: Any,
    ) -> CellMeasurement:
        """Create a properties measurement: ``{"capacity": {"value": 0.005, "unit": "A.h"}, ...}``.

        Extra keyword arguments (``notes``, ``protocol``, ``start_time``, ``tags``, ...) are stored
        with it.
        """
        from ionworks_generated.api.uploads import create_properties_measurement
        from ionworks_generated.models.properties_measurement_create import (
            PropertiesMeasurementCreate,
        )

        body = {"name": name, "measurement_type": "properties", "properties": dict(properties)}
        body.update({key: value for key, value in fields.items() if value is not None})
        created = self._parsed(
            create_properties_measurement,
            cell_instance_id,
            body=PropertiesMeasurementCreate.from_dict(jsonable(body)),
            timeout=timeout,
        )
        return CellMeasurement(created)

    def wait_for_processing(
        self,
        measurement_id: str,
        *,
        timeout: float = PROCESSING_TIMEOUT,
        request_timeout: float | None = None,
    ) -> CellMeasurement:
        """Poll until the server finished processing; raise if it failed or took too long."""
        from ionworks_generated.api.cell_measurements import get_cell_measurement

        def ask() -> CellMeasurement:
            body = self._parsed(
                get_cell_measurement,
                measurement_id,
                include_steps=False,
                include_time_series=False,
                timeout=request_timeout,
            )
            return raise_if_failed(measurement_id, CellMeasurement(body))

        return poll(
            ask,
            processed,
            timeout=timeout,
            backoff=PROCESSING_BACKOFF,
            on_timeout=lambda measurement: still_processing(measurement_id, measurement, timeout),
        )

    # ------------------------------------------------------------------ plumbing

    @property
    def _data(self) -> MeasurementData:
        return self._client._measurement_data

    def _frame(self, frame: pl.DataFrame) -> Frame:
        return to_backend(frame, self._client.dataframe_backend)

    def _column_tables(
        self,
        operation: ModuleType,
        measurement_id: str,
        keys: tuple[str, ...],
        timeout: float | None,
    ) -> tuple[dict[str, Any], ...]:
        """The column tables ``keys`` of a JSON table answer (``/cycles``, ``/steps_and_cycles``),
        decoded by :func:`~ionworks._column_tables.column_tables` (shared with the async client)."""
        response = self._send(operation, (measurement_id,), {}, timeout=timeout)
        return column_tables(response.content, keys, self._client.api_url)

    def _downloader(
        self,
        operation: ModuleType,
        measurement_id: str,
        what: str,
        timeout: float | None,
        *args: Any,
    ) -> Callable[[], bytes]:
        """A fetch of a download endpoint's bytes: inline (200) or through its redirect (3xx)."""

        def fetch() -> bytes:
            response = self._call(operation, measurement_id, *args, timeout=timeout)
            return self._data.transfer.body(
                response, what=f"{what} of {measurement_id}", timeout=timeout
            )

        return fetch


__all__ = ["CellMeasurements", "StepsAndCycles"]
