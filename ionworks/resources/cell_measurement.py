"""``client.cell_measurement``: measurements and their time series, steps and cycle metrics.

Tables are read through the local cache (see :mod:`ionworks._cache`): each artifact is its own
entry, keyed by server, credential and measurement, so a ``steps()`` hit never touches the time
series. Parquet downloads follow the API's redirect with a credential-free storage client.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from types import ModuleType
from typing import Any
from urllib.parse import urljoin

import polars as pl

from .. import _cache as cache
from .._constants import PROCESSING_TIMEOUT
from .._dataframe import columns_to_frame, read_parquet, to_backend, to_polars, write_parquet_bytes
from .._filters import InvalidParameterError, choice, common_filters, iso_timestamp, page_bounds
from .._http import download, upload
from .._pagination import PaginatedList
from .._upload_checks import validate_measurement_upload
from ..errors import (
    IonworksError,
    MeasurementProcessingError,
    MeasurementValidationError,
)
from ..models import CellMeasurement, MeasurementBundle, MeasurementDetail
from ._base import ResourceAPI

PENDING_STATES = frozenset({"pending", "running"})


@dataclass
class StepsAndCycles:
    """Steps and cycle metrics fetched together (unpacks as ``steps, cycles = ...``)."""

    steps: Any
    cycles: Any

    def __iter__(self) -> Iterator[Any]:
        return iter((self.steps, self.cycles))


class CellMeasurements(ResourceAPI):
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
    ) -> PaginatedList[CellMeasurement]:
        """One page of an instance's measurements (filters as ``cell_spec.list``, plus
        ``measurement_type``, ``started_after``/``started_before``, tags, and
        ``order_by="start_time"``)."""
        from ionworks_generated.api.cell_measurements import list_cell_measurements
        from ionworks_generated.models.measurement_order_by import MeasurementOrderBy
        from ionworks_generated.models.measurement_type import MeasurementType
        from ionworks_generated.models.sort_order import SortOrder

        limit, start = page_bounds(limit, offset)
        filters = common_filters(
            name=name,
            name_exact=name_exact,
            created_by_email=created_by_email,
            created_after=created_after,
            created_before=created_before,
            updated_after=updated_after,
            updated_before=updated_before,
        )
        extra = {
            "start_time_gt": iso_timestamp("started_after", started_after),
            "start_time_lt": iso_timestamp("started_before", started_before),
            "measurement_type": choice("measurement_type", measurement_type, MeasurementType),
            "order_by": choice("order_by", order_by, MeasurementOrderBy),
            "order": choice("order", order, SortOrder),
            "tags_all": _tag_list(tags_all),
            "tags_any": _tag_list(tags_any),
        }
        filters.update({key: value for key, value in extra.items() if value is not None})
        return self._page(
            list_cell_measurements,
            CellMeasurement,
            (cell_instance_id,),
            filters,
            limit,
            start,
        )

    def list_all(
        self, cell_instance_id: str, *, page_size: int = 1000, **filters: Any
    ) -> Iterator[CellMeasurement]:
        """Every matching measurement of an instance, page by page."""
        return self.list(cell_instance_id, limit=page_size, offset=0, **filters).auto_paging_iter()

    def get(self, measurement_id: str) -> CellMeasurement:
        """One measurement's metadata, including its ``processing_status``."""
        from ionworks_generated.api.cell_measurements import get_cell_measurement

        return CellMeasurement(self._parsed(get_cell_measurement, measurement_id))

    def update(self, measurement_id: str, data: Mapping[str, Any]) -> CellMeasurement:
        """Update metadata (``tags`` replaces the tag set); drops this measurement's cache entries."""
        from ionworks_generated.api.cell_measurements import update_cell_measurement
        from ionworks_generated.models.cell_measurement_update import CellMeasurementUpdate

        body = CellMeasurementUpdate.from_dict(_jsonable(dict(data)))
        try:
            return CellMeasurement(self._parsed(update_cell_measurement, measurement_id, body=body))
        finally:
            cache.invalidate(self._client._cache_scope, measurement_id)

    def delete(self, measurement_id: str) -> None:
        """Delete a measurement and its data; drops its cache entries."""
        from ionworks_generated.api.cell_measurements import delete_cell_measurement

        try:
            self._call(delete_cell_measurement, measurement_id)
        finally:
            cache.invalidate(self._client._cache_scope, measurement_id)

    # ------------------------------------------------------------------ tables

    def time_series(
        self,
        measurement_id: str,
        *,
        use_cache: bool = True,
        row_range: tuple[int, int] | None = None,
    ) -> Any:
        """The time series as a DataFrame (polars, or pandas if configured).

        ``row_range=(start, stop)`` returns only rows ``start <= i < stop``: from the cache when
        the whole series is cached, otherwise by reading just the needed parts of the stored
        parquet file with HTTP range requests (nothing is cached then).
        """
        from ionworks_generated.api.cell_measurements import download_time_series

        if row_range is not None:
            return self._time_series_window(measurement_id, row_range, use_cache)
        return self._table(
            measurement_id,
            "time_series",
            lambda: self._download(download_time_series, measurement_id, "time series"),
            use_cache,
        )

    def _time_series_window(
        self, measurement_id: str, row_range: tuple[int, int], use_cache: bool
    ) -> Any:
        from ionworks_generated.api.cell_measurements import download_time_series

        start, stop = _check_row_range(row_range)
        if use_cache:
            hit = cache.load_table(self._client._cache_scope, measurement_id, "time_series")
            if hit is not None:
                return self._frame(hit.slice(start, stop - start))
        cache.require_online("time series", measurement_id)
        response = self._call(download_time_series, measurement_id)
        location = response.headers.get("Location")
        if not (300 <= response.status_code < 400 and location):
            # The server sent the bytes inline: slice what we already have.
            whole = read_parquet(bytes(response.content), description="time series")
            return self._frame(whole.slice(start, stop - start))
        url = urljoin(self._client.api_url + "/", location)
        try:
            window = pl.scan_parquet(url).slice(start, stop - start).collect()
        except Exception as exc:  # polars/object_store errors: say what failed, not how
            raise IonworksError(
                f"Could not read rows {start}..{stop} of the time series of {measurement_id} "
                f"from storage: {str(exc).strip().splitlines()[0] if str(exc).strip() else exc!r}"
            ) from exc
        return self._frame(window)

    def steps(self, measurement_id: str, *, use_cache: bool = True) -> Any:
        """The step table (one row per step: type, duration, capacities, ...) as a DataFrame."""
        from ionworks_generated.api.cell_measurements import download_steps

        return self._table(
            measurement_id,
            "steps",
            lambda: self._download(download_steps, measurement_id, "steps"),
            use_cache,
        )

    def cycles(self, measurement_id: str, *, use_cache: bool = True) -> Any:
        """Cycle metrics (capacity, efficiency, retention, ...) as a DataFrame."""
        from ionworks_generated.api.cell_measurements import get_cycles

        def fetch() -> pl.DataFrame:
            body = self._parsed(get_cycles, measurement_id)
            return columns_to_frame(body.get("cycles") or {})

        return self._table(measurement_id, "cycles", fetch, use_cache)

    def steps_and_cycles(self, measurement_id: str, *, use_cache: bool = True) -> StepsAndCycles:
        """Steps and cycle metrics from one JSON call (``.steps``, ``.cycles``)."""
        from ionworks_generated.api.cell_measurements import get_steps_and_cycles

        scope = self._client._cache_scope
        if use_cache:
            steps = cache.load_table(scope, measurement_id, "sc_steps")
            cycles = cache.load_table(scope, measurement_id, "cycles")
            if steps is not None and cycles is not None:
                return StepsAndCycles(self._frame(steps), self._frame(cycles))
        cache.require_online("steps and cycles", measurement_id)
        body = self._parsed(get_steps_and_cycles, measurement_id)
        steps = columns_to_frame(body.get("steps") or {})
        cycles = columns_to_frame(body.get("cycles") or {})
        if use_cache:
            # JSON-derived steps live under their own key so steps() keeps the parquet fidelity.
            cache.store_table(scope, measurement_id, "sc_steps", steps)
            cache.store_table(scope, measurement_id, "cycles", cycles)
        return StepsAndCycles(self._frame(steps), self._frame(cycles))

    def detail(
        self,
        measurement_id: str,
        *,
        use_cache: bool = True,
        include_time_series: bool = True,
        include_steps: bool = True,
        include_cycles: bool = True,
    ) -> MeasurementDetail:
        """Everything about a measurement, shaped by its type.

        Time-series measurements get ``.time_series``, ``.steps`` and ``.cycles`` DataFrames,
        fetched concurrently; properties measurements carry ``.properties``; file measurements
        ``.files`` (name to bytes). ``.measurement`` holds the metadata, which is cached with the
        tables so that ``detail()`` works offline.
        """
        measurement = self._metadata(measurement_id, use_cache)
        kind = measurement.measurement_type or "time_series"
        if kind == "file":
            return MeasurementDetail(measurement, files=self.files(measurement_id))
        if kind != "time_series":  # properties, or a type newer than this client: metadata only
            return MeasurementDetail(measurement)
        wanted: dict[str, Callable[..., Any]] = {}
        if include_steps:
            wanted["steps"] = self.steps
        if include_cycles:
            wanted["cycles"] = self.cycles
        tables: dict[str, Any] = {}
        # The small tables download on the client's long-lived worker threads while the time
        # series, by far the largest, is fetched in the calling thread: large buffers allocated in
        # fresh threads cost fresh memory-mapped pages every time (measured 40% slower for a
        # 1M-row series), and a pool kept for the client's lifetime avoids that for the others.
        pool = self._client._pool
        futures = {
            name: pool.submit(fetch, measurement_id, use_cache=use_cache)
            for name, fetch in wanted.items()
        }
        if include_time_series:
            tables["time_series"] = self.time_series(measurement_id, use_cache=use_cache)
        tables.update({name: future.result() for name, future in futures.items()})
        return MeasurementDetail(measurement, **tables)

    def files(self, measurement_id: str) -> dict[str, bytes]:
        """The files of a file measurement, by name."""
        from ionworks_generated.api.cell_measurements import (
            download_measurement_file,
            list_measurement_files,
        )

        cache.require_online("files", measurement_id)
        names = self._parsed(list_measurement_files, measurement_id)["filenames"]
        return {
            name: self._download(download_measurement_file, measurement_id, f"file {name}", name)
            for name in names
        }

    # ------------------------------------------------------------------ writing

    def create(
        self,
        cell_instance_id: str,
        measurement_data: Mapping[str, Any],
        *,
        validate: bool = True,
        wait_for_processing: bool = True,
        timeout: float = PROCESSING_TIMEOUT,
    ) -> MeasurementBundle:
        """Upload a time-series measurement and (by default) wait until the server processed it.

        ``measurement_data`` is ``{"measurement": {"name": ..., "notes": ..., "start_time": ...,
        "tags": [...]}, "time_series": <polars/pandas DataFrame or column dict>, "steps":
        <optional>}``. The data is checked first (required columns, time non-decreasing, sign
        convention); a problem raises :class:`MeasurementValidationError` and nothing is sent.
        Processing failures raise :class:`MeasurementProcessingError` with the server's reason.
        Returns a bundle whose ``.measurement`` is the created (processed) measurement.
        """
        from ionworks_generated.api.uploads import confirm_upload, initiate_upload
        from ionworks_generated.models.confirm_upload_request import ConfirmUploadRequest
        from ionworks_generated.models.initiate_upload_request import InitiateUploadRequest

        fields, time_series, steps = _unpack_measurement_data(measurement_data)
        if validate:
            validate_measurement_upload(time_series, steps)
        announce = {key: fields[key] for key in ("name", "notes") if fields.get(key) is not None}
        reserved = self._parsed(
            initiate_upload,
            cell_instance_id,
            body=InitiateUploadRequest.from_dict({"measurement": announce}),
        )
        targets = {item.get("filename"): item["signed_url"] for item in reserved["uploads"]}
        measurement_id = reserved["measurement_id"]
        uploads = [("time_series.parquet", time_series)]
        if steps is not None:
            uploads.append(("steps.parquet", steps))
        for filename, frame in uploads:
            if filename not in targets:
                raise IonworksError(
                    f"The server offered no upload URL for {filename} "
                    f"(offered: {sorted(str(name) for name in targets)})"
                )
            url = urljoin(self._client.api_url + "/", targets[filename])
            upload(self._client._storage, url, write_parquet_bytes(frame), what=filename)
        confirmed = self._parsed(
            confirm_upload,
            measurement_id,
            body=ConfirmUploadRequest.from_dict(
                {
                    "cell_instance_id": cell_instance_id,
                    "measurement": fields,
                    "measurement_type": "time_series",
                }
            ),
        )
        steps_created = int(confirmed.pop("steps_created", 0) or 0)
        confirmed.pop("instance", None)
        measurement = CellMeasurement(confirmed)
        if wait_for_processing:
            measurement = self.wait_for_processing(measurement.id, timeout=timeout)
        return MeasurementBundle(measurement, steps_created)

    def create_properties(
        self,
        cell_instance_id: str,
        name: str,
        properties: Mapping[str, Any],
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
        return CellMeasurement(
            self._parsed(
                create_properties_measurement,
                cell_instance_id,
                body=PropertiesMeasurementCreate.from_dict(_jsonable(body)),
            )
        )

    def wait_for_processing(
        self, measurement_id: str, *, timeout: float = PROCESSING_TIMEOUT
    ) -> CellMeasurement:
        """Poll until the server finished processing; raise if it failed or took too long."""
        from ionworks_generated.api.cell_measurements import get_cell_measurement

        deadline = time.monotonic() + timeout
        interval = 0.1
        while True:
            measurement = CellMeasurement(
                self._parsed(
                    get_cell_measurement,
                    measurement_id,
                    include_steps=False,
                    include_time_series=False,
                )
            )
            status = measurement.processing_status
            if status == "failed":
                reason = measurement.processing_error or "the server gave no reason"
                raise MeasurementProcessingError(
                    f"Processing of measurement {measurement_id} ({measurement.name!r}) failed: "
                    f"{reason}",
                    failures={measurement_id: reason},
                )
            if status not in PENDING_STATES:
                return measurement
            if time.monotonic() + interval > deadline:
                raise MeasurementProcessingError(
                    f"Measurement {measurement_id} was still {status!r} after {timeout:.0f} s; "
                    f"call client.cell_measurement.wait_for_processing({measurement_id!r}) later",
                    failures={measurement_id: f"still {status} after {timeout:.0f} s"},
                )
            time.sleep(interval)
            interval = min(2.0, interval * 1.5)

    # ------------------------------------------------------------------ plumbing

    def _frame(self, frame: pl.DataFrame) -> Any:
        return to_backend(frame, self._client.dataframe_backend)

    def _table(
        self,
        measurement_id: str,
        artifact: cache.TableArtifact,
        fetch: Callable[[], pl.DataFrame | bytes],
        use_cache: bool,
    ) -> Any:
        """Cache lookup, else fetch (raw parquet bytes or a frame), store, return in our backend."""
        scope = self._client._cache_scope
        if use_cache:
            hit = cache.load_table(scope, measurement_id, artifact)
            if hit is not None:
                return self._frame(hit)
        cache.require_online(artifact.replace("_", " "), measurement_id)
        fetched = fetch()
        if isinstance(fetched, pl.DataFrame):
            frame = fetched
        else:
            frame = read_parquet(fetched, description=f"{artifact} of measurement {measurement_id}")
        if use_cache:
            cache.store_table(scope, measurement_id, artifact, fetched)
        return self._frame(frame)

    def _download(self, operation: ModuleType, measurement_id: str, what: str, *args: Any) -> bytes:
        """Bytes of a download endpoint: inline (200) or through its storage redirect (3xx)."""
        response = self._call(operation, measurement_id, *args)
        if 300 <= response.status_code < 400:
            location = response.headers.get("Location")
            if not location:
                raise IonworksError(
                    f"The server redirected the {what} download of {measurement_id} without a "
                    "Location header"
                )
            url = urljoin(self._client.api_url + "/", location)
            return download(self._client._storage, url, what=f"{what} of {measurement_id}")
        return bytes(response.content)

    def _metadata(self, measurement_id: str, use_cache: bool) -> CellMeasurement:
        """Measurement metadata: fresh when online (cached for offline use), cached when offline."""
        scope = self._client._cache_scope
        if cache.get_offline():
            cached = cache.load_json(scope, measurement_id, "measurement") if use_cache else None
            if cached is None:
                cache.require_online("metadata", measurement_id)
                raise AssertionError("require_online raises when offline")
            return CellMeasurement(cached)
        measurement = self.get(measurement_id)
        if use_cache:
            previous = cache.load_json(scope, measurement_id, "measurement")
            if previous is not None and previous.get("updated_at") != measurement.updated_at:
                cache.invalidate(scope, measurement_id)  # the server's data changed since
            cache.store_json(scope, measurement_id, "measurement", measurement.to_dict())
        return measurement


def _check_row_range(row_range: tuple[int, int]) -> tuple[int, int]:
    try:
        start, stop = (int(value) for value in row_range)
    except (TypeError, ValueError):
        start, stop = -1, -1
    if not 0 <= start <= stop:
        raise InvalidParameterError(
            f"row_range={row_range!r} must be (start, stop) with 0 <= start <= stop"
        )
    return start, stop


def _tag_list(tags: str | list[str] | None) -> list[str] | None:
    if tags is None:
        return None
    listed = [tags] if isinstance(tags, str) else list(tags)
    return listed or None


def _jsonable(value: Any) -> Any:
    """Dates to ISO strings, recursively, so metadata dicts serialise."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return value


def _unpack_measurement_data(
    data: Mapping[str, Any],
) -> tuple[dict[str, Any], pl.DataFrame, pl.DataFrame | None]:
    if not isinstance(data, Mapping) or "measurement" not in data or "time_series" not in data:
        raise MeasurementValidationError(
            "measurement_data must be a dict with 'measurement' (a dict with at least 'name') and "
            "'time_series' (a DataFrame or column dict), and optionally 'steps'",
            errors=[{"code": "invalid_measurement_data", "message": "missing keys"}],
        )
    fields = _jsonable(dict(data["measurement"]))
    fields.pop("data_type", None)
    if not fields.get("name"):
        raise MeasurementValidationError(
            "measurement_data['measurement'] needs a non-empty 'name'",
            errors=[{"code": "missing_name", "message": "measurement name is required"}],
        )
    time_series = to_polars(data["time_series"])
    steps = to_polars(data["steps"]) if data.get("steps") is not None else None
    return fields, time_series, steps


__all__ = ["CellMeasurements", "StepsAndCycles"]
