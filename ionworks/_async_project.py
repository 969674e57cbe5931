"""The async twins of the project-wide, tag and file methods of ``cell_measurement``, and of
``cell_instance.detail``.

Argument checks, batch size, cache entries and error messages are the sync modules' own
(``resources/_measurement_tags.py``, ``_measurement_files.py``, ``_instance_detail.py``); only
the requests are awaited, and the cache is read and written in bridge threads.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

import anyio

from ._async_resources import AsyncResourceAPI
from ._async_tasks import task_group
from ._pagination import AsyncPaginatedList
from .models import (
    CellInstance,
    CellInstanceDetail,
    CellMeasurement,
    MeasurementDetail,
    MeasurementTagUsage,
)
from .resources._instance_detail import (
    PAGE_SIZE,
    frames_or_raise,
    readable_series,
    wanted_tables,
)
from .resources._measurement_files import FILE_THREADS, chosen_names
from .resources._measurement_tags import (
    _strings,
    bulk_bodies,
    project_list_filters,
    project_of,
    tag_list_filters,
)

if TYPE_CHECKING:
    from ._async_measurements import AsyncCellMeasurements, AsyncMeasurementData


class AsyncProjectMeasurements(AsyncResourceAPI):
    """``list_by_project``, ``list_tags``, ``add_tags``, ``remove_tags``, ``download_files``."""

    async def list_by_project(
        self,
        project_id: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
        measurement_type: str | None = None,
        *,
        q: str | None = None,
        tags_all: str | Iterable[str] | None = None,
        tags_any: str | Iterable[str] | None = None,
        order_by: str | None = None,
        order: str | None = None,
        timeout: float | None = None,
    ) -> AsyncPaginatedList[CellMeasurement]:
        """One page of every measurement of a project (as ``Ionworks``'s); ``async for`` walks
        every page."""
        from ionworks_generated.api.cell_measurements import list_project_cell_measurements

        from ._filters import page_bounds

        limit, start = page_bounds(limit, offset)
        present = project_list_filters(
            project_of(self._client, "list_by_project", project_id),
            q=q,
            measurement_type=measurement_type,
            tags_all=tags_all,
            tags_any=tags_any,
            order_by=order_by,
            order=order,
        )
        return await self._page(
            list_project_cell_measurements,
            CellMeasurement,
            (),
            present,
            limit,
            start,
            timeout=timeout,
        )

    async def list_tags(
        self,
        project_id: str | None = None,
        q: str | None = None,
        limit: int | None = None,
        *,
        offset: int | None = None,
        timeout: float | None = None,
    ) -> AsyncPaginatedList[MeasurementTagUsage]:
        """The tags used in a project with their usage counts, most used first."""
        from ionworks_generated.api.cell_measurements import list_measurement_tags

        from ._filters import page_bounds

        limit, start = page_bounds(limit, offset)
        present = tag_list_filters(project_of(self._client, "list_tags", project_id), q)
        return await self._page(
            list_measurement_tags, MeasurementTagUsage, (), present, limit, start, timeout=timeout
        )

    async def add_tags(
        self,
        measurement_ids: str | Iterable[str],
        tags: str | Iterable[str],
        *,
        timeout: float | None = None,
    ) -> int:
        """Add ``tags`` to each measurement, keeping its other tags; returns how many changed."""
        add = _strings("tags", tags)
        return await self._bulk(measurement_ids, add=add, remove=[], timeout=timeout)

    async def remove_tags(
        self,
        measurement_ids: str | Iterable[str],
        tags: str | Iterable[str],
        *,
        timeout: float | None = None,
    ) -> int:
        """Remove ``tags`` (ignoring case) from each measurement; returns how many changed."""
        remove = _strings("tags", tags)
        return await self._bulk(measurement_ids, add=[], remove=remove, timeout=timeout)

    async def download_files(
        self,
        measurement_id: str,
        use_cache: bool = True,
        filenames: Sequence[str] | None = None,
        *,
        timeout: float | None = None,
    ) -> dict[str, bytes]:
        """The files of a file measurement, by name, through the cache (as ``Ionworks``'s)."""
        from ionworks_generated.api.cell_measurements import (
            get_cell_measurement,
            list_measurement_files,
        )

        data = self._data
        on_loop = data.bridge.on_loop

        def listed() -> list[str]:  # in a bridge thread
            data.artifacts.metadata(
                measurement_id,
                lambda: on_loop(
                    self._parsed, get_cell_measurement, measurement_id, timeout=timeout
                ),
                use_cache=use_cache,
            )
            body = on_loop(self._parsed, list_measurement_files, measurement_id, timeout=timeout)
            return list(body["filenames"])

        if filenames is None:
            names = await data.bridge.run_in_thread(
                data.artifacts.file_names, measurement_id, listed, use_cache=use_cache
            )
        else:
            names = chosen_names(filenames)
        files: dict[str, bytes] = {}
        slots = anyio.Semaphore(FILE_THREADS)

        async def one(name: str) -> None:
            async with slots:
                files[name] = await self._file(measurement_id, name, use_cache, timeout)

        async with task_group() as group:
            for name in names:
                group.start_soon(one, name)
        return {name: files[name] for name in names}

    async def _file(
        self, measurement_id: str, name: str, use_cache: bool, timeout: float | None
    ) -> bytes:
        from ionworks_generated.api.cell_measurements import download_measurement_file

        data = self._data
        what = f"file {name} of {measurement_id}"

        def fetch() -> bytes:  # in a bridge thread
            ids = (measurement_id, name)
            return data.bridge.on_loop(
                self._download, download_measurement_file, ids, what, timeout
            )

        return await data.bridge.run_in_thread(
            data.artifacts.file, measurement_id, name, fetch, use_cache=use_cache
        )

    async def _bulk(
        self,
        measurement_ids: str | Iterable[str],
        *,
        add: list[str],
        remove: list[str],
        timeout: float | None,
    ) -> int:
        from ionworks_generated.api.cell_measurements import bulk_update_measurement_tags

        updated = 0
        for body in bulk_bodies(measurement_ids, add, remove):
            result = await self._parsed(bulk_update_measurement_tags, body=body, timeout=timeout)
            updated += int(result["updated_count"])
        return updated

    async def _download(
        self, operation: ModuleType, ids: tuple[str, ...], what: str, timeout: float | None
    ) -> bytes:
        """The bytes a download endpoint answers (inline, or behind its redirect): the call
        and the transfer in one step, so a bridge thread waits on the loop once, not twice."""
        response = await self._call(operation, *ids, timeout=timeout)
        return await self._data.transfer.body(response, what=what, timeout=timeout)

    @property
    def _data(self) -> AsyncMeasurementData:
        data: AsyncMeasurementData = self._client._measurement_data
        return data


async def instance_detail(
    measurements_api: AsyncCellMeasurements,
    instance: CellInstance,
    tables: tuple[str, ...],
    *,
    use_cache: bool,
    concurrency: int,
    timeout: float | None,
) -> CellInstanceDetail:
    """The async twin of ``resources/_instance_detail.instance_detail`` (the same steps)."""
    data = measurements_api._data
    pages = measurements_api.list_all(
        instance.id, page_size=PAGE_SIZE, timeout=timeout, order_by="created_at", order="asc"
    )
    listed = [measurement async for measurement in pages]

    def remember() -> list[CellMeasurement]:  # the cache's metadata rules, in a bridge thread
        return [
            CellMeasurement(data.artifacts.metadata(m.id, m.to_dict, use_cache=use_cache))
            for m in listed
        ]

    measurements = await data.bridge.run_in_thread(remember)
    series = readable_series(measurements)
    frames: dict[str, dict[str, Any]] = {}
    if series and tables:
        pulled = await measurements_api.fetch_many(
            series, tables, concurrency=concurrency, use_cache=use_cache, timeout=timeout
        )
        frames = frames_or_raise(instance, series, pulled)
    details = []
    for m in measurements:
        if (m.measurement_type or "time_series") == "file":
            files = await measurements_api.download_files(m.id, use_cache, timeout=timeout)
            details.append(MeasurementDetail(m, files=files))
        else:
            details.append(MeasurementDetail(m, **(frames.get(m.id) or {})))
    return CellInstanceDetail(instance, instance.cell_specification_id, details)


__all__ = ["AsyncProjectMeasurements", "instance_detail", "wanted_tables"]
