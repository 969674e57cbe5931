"""``AsyncIonworks``'s resources for specifications, instances and pipelines, and their base.

Each method is the ``async`` twin of the sync method of the same name in ``resources/``: the same
arguments, checks and filters (the pure helpers there: ``list_query``, ``create_payload``,
``prepare_request``, ``parse_page``, ...), with the request awaited on the async client. Lists
return :class:`~ionworks._pagination.AsyncPaginatedList` (``async for`` walks every page) and
``list_all`` is an async iterator.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import datetime
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

import anyio

from . import _polling
from ._async_http import send
from ._http import parse
from ._pagination import AsyncPaginatedList, parse_page
from .errors import ConflictError, NotFoundError
from .models import CellInstance, CellInstanceDetail, CellSpecification, Pipeline, Resource
from .resources import cell_instance, cell_spec, pipeline
from .resources._base import page_query, prepare_request
from .resources._ids import add_name_hint

if TYPE_CHECKING:
    import httpx

    from ._async_client import AsyncIonworks

R = TypeVar("R", bound=Resource)
T = TypeVar("T")


class AsyncResourceAPI:
    """Base of ``client.cell_spec``, ``client.cell_instance``, ... of :class:`AsyncIonworks`."""

    def __init__(self, client: AsyncIonworks) -> None:
        self._client = client

    async def _call(
        self, operation: ModuleType, *args: Any, timeout: float | None = None, **kwargs: Any
    ) -> Any:
        """Run a generated operation (positional arguments: its path ids), decoded by it."""
        response = await self._send(operation, args, kwargs, timeout=timeout)
        return parse(operation, self._client._api, self._client.api_url, response)

    async def _parsed(
        self, operation: ModuleType, *args: Any, timeout: float | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """The JSON body of a successful call, as a plain dict."""
        parsed = (await self._call(operation, *args, timeout=timeout, **kwargs)).parsed
        return parsed.to_dict() if parsed is not None else {}

    async def _send(
        self,
        operation: ModuleType,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        timeout: float | None = None,
    ) -> httpx.Response:
        ids, request = prepare_request(operation, args, kwargs)
        try:
            return await send(self._client._http, self._client.api_url, request, timeout=timeout)
        except NotFoundError as error:
            add_name_hint(error, ids)
            raise

    async def _page(
        self,
        operation: ModuleType,
        wrap: Callable[[dict[str, Any]], R],
        args: tuple[Any, ...],
        filters: dict[str, Any],
        limit: int | None,
        offset: int,
        *,
        timeout: float | None = None,
    ) -> AsyncPaginatedList[R]:
        """One page; ``async for`` over it awaits the following pages with the same filters."""

        async def fetch(next_offset: int, page_limit: int | None) -> AsyncPaginatedList[R]:
            return await self._page(
                operation, wrap, args, filters, page_limit, next_offset, timeout=timeout
            )

        query = page_query(filters, limit, offset)
        response = await self._send(operation, args, query, timeout=timeout)
        items, total = parse_page(response, wrap, offset, self._client.api_url)
        return AsyncPaginatedList(items, total=total, limit=limit, offset=offset, fetch_page=fetch)


async def poll_async(
    ask: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    *,
    timeout: float,
    backoff: _polling.Backoff,
    on_timeout: Callable[[T], Exception],
) -> T:
    """The async twin of :func:`ionworks._polling.poll` (the same backoff and deadline rule)."""
    deadline = anyio.current_time() + timeout
    next_interval = backoff.intervals()
    while True:
        answer = await ask()
        if done(answer):
            return answer
        interval = next_interval()
        if anyio.current_time() + interval > deadline:
            raise on_timeout(answer)
        await anyio.sleep(interval)


class AsyncCellSpecifications(AsyncResourceAPI):
    """List, read, create, update and delete cell specifications (async)."""

    async def list(
        self,
        limit: int | None = None,
        offset: int | None = None,
        *,
        name: str | None = None,
        name_exact: str | None = None,
        form_factor: str | None = None,
        created_by_email: str | None = None,
        created_after: str | datetime | None = None,
        created_before: str | datetime | None = None,
        updated_after: str | datetime | None = None,
        updated_before: str | datetime | None = None,
        order_by: str | None = None,
        order: str | None = None,
        project_id: str | None = None,
        include_components: bool = False,
        timeout: float | None = None,
    ) -> AsyncPaginatedList[CellSpecification]:
        """One page of specifications (filters as ``Ionworks.cell_spec.list``)."""
        from ionworks_generated.api.cell_specifications import list_cell_specifications

        limit, start, filters = cell_spec.list_query(
            limit,
            offset,
            name=name,
            name_exact=name_exact,
            form_factor=form_factor,
            created_by_email=created_by_email,
            created_after=created_after,
            created_before=created_before,
            updated_after=updated_after,
            updated_before=updated_before,
            order_by=order_by,
            order=order,
            project_id=project_id,
            include_components=include_components,
        )
        return await self._page(
            list_cell_specifications, CellSpecification, (), filters, limit, start, timeout=timeout
        )

    async def list_all(
        self, *, page_size: int = 1000, timeout: float | None = None, **filters: Any
    ) -> AsyncIterator[CellSpecification]:
        """Every matching specification, page by page (``async for``)."""
        async for spec in await self.list(limit=page_size, offset=0, timeout=timeout, **filters):
            yield spec

    async def get(self, cell_spec_id: str, *, timeout: float | None = None) -> CellSpecification:
        """One specification with its full nested data."""
        from ionworks_generated.api.cell_specifications import get_cell_specification

        body = await self._parsed(get_cell_specification, cell_spec_id, timeout=timeout)
        return CellSpecification(body)

    async def create(
        self, data: Mapping[str, Any], *, timeout: float | None = None
    ) -> CellSpecification:
        """Create a specification; ``project_id`` defaults to the client's project."""
        from ionworks_generated.api.cell_specifications import create_cell_specification
        from ionworks_generated.models.cell_specification_create import CellSpecificationCreate

        body = CellSpecificationCreate.from_dict(
            cell_spec.create_payload(data, self._client.project_id)
        )
        return CellSpecification(
            await self._parsed(create_cell_specification, body=body, timeout=timeout)
        )

    async def update(
        self, cell_spec_id: str, data: Mapping[str, Any], *, timeout: float | None = None
    ) -> CellSpecification:
        """Update fields of a specification."""
        from ionworks_generated.api.cell_specifications import update_cell_specification
        from ionworks_generated.models.cell_specification_update import CellSpecificationUpdate

        body = CellSpecificationUpdate.from_dict(dict(data))
        return CellSpecification(
            await self._parsed(update_cell_specification, cell_spec_id, body=body, timeout=timeout)
        )

    async def delete(self, cell_spec_id: str, *, timeout: float | None = None) -> None:
        """Delete a specification, with its instances, measurements and stored data."""
        from ionworks_generated.api.cell_specifications import delete_cell_specification

        await self._call(delete_cell_specification, cell_spec_id, timeout=timeout)

    async def create_or_get(
        self, data: Mapping[str, Any], *, timeout: float | None = None
    ) -> CellSpecification:
        """Create the specification, or return the existing one with the same name."""
        try:
            return await self.create(data, timeout=timeout)
        except ConflictError as conflict:
            if conflict.existing_id:
                return await self.get(conflict.existing_id, timeout=timeout)
            project_id = data.get("project_id") or self._client.project_id
            matches = await self.list(
                name_exact=str(data["name"]), project_id=project_id, limit=2, timeout=timeout
            )
            if matches.count == 1:
                return matches[0]
            raise


class AsyncCellInstances(AsyncResourceAPI):
    """List, read, create, update and delete cell instances (async)."""

    async def list(
        self,
        cell_spec_id: str,
        limit: int | None = None,
        offset: int | None = None,
        *,
        name: str | None = None,
        name_exact: str | None = None,
        created_by_email: str | None = None,
        created_after: str | datetime | None = None,
        created_before: str | datetime | None = None,
        updated_after: str | datetime | None = None,
        updated_before: str | datetime | None = None,
        order_by: str | None = None,
        order: str | None = None,
        batch_id: str | None = None,
        timeout: float | None = None,
    ) -> AsyncPaginatedList[CellInstance]:
        """One page of the instances of a specification."""
        from ionworks_generated.api.cell_instances import list_cell_instances

        limit, start, filters = cell_instance.list_query(
            limit,
            offset,
            name=name,
            name_exact=name_exact,
            created_by_email=created_by_email,
            created_after=created_after,
            created_before=created_before,
            updated_after=updated_after,
            updated_before=updated_before,
            order_by=order_by,
            order=order,
            batch_id=batch_id,
        )
        return await self._page(
            list_cell_instances,
            CellInstance,
            (cell_spec_id,),
            filters,
            limit,
            start,
            timeout=timeout,
        )

    async def list_all(
        self,
        cell_spec_id: str,
        *,
        page_size: int = 1000,
        timeout: float | None = None,
        **filters: Any,
    ) -> AsyncIterator[CellInstance]:
        """Every matching instance of a specification, page by page (``async for``)."""
        first = await self.list(cell_spec_id, limit=page_size, offset=0, timeout=timeout, **filters)
        async for instance in first:
            yield instance

    async def get(
        self,
        spec_or_instance_id: str,
        cell_instance_id: str | None = None,
        *,
        timeout: float | None = None,
    ) -> CellInstance:
        """One instance: ``get(spec_id, instance_id)`` or ``get(instance_id)``."""
        from ionworks_generated.api.cell_instances import get_cell_instance

        instance_id = cell_instance_id or spec_or_instance_id
        body = await self._parsed(get_cell_instance, instance_id, timeout=timeout)
        return cell_instance.check_owner(CellInstance(body), spec_or_instance_id, cell_instance_id)

    async def detail(
        self,
        cell_instance_id: str,
        *,
        include_steps: bool = True,
        include_cycles: bool = True,
        include_time_series: bool = True,
        use_cache: bool = True,
        concurrency: int = 8,
        timeout: float | None = None,
    ) -> CellInstanceDetail:
        """The instance with every measurement's detail (as ``Ionworks.cell_instance.detail``:
        all pages, oldest first, tables through ``fetch_many`` and the cache)."""
        from ._async_project import instance_detail, wanted_tables

        instance = await self.get(cell_instance_id, timeout=timeout)
        tables = wanted_tables(include_time_series, include_steps, include_cycles)
        return await instance_detail(
            self._client.cell_measurement,
            instance,
            tables,
            use_cache=use_cache,
            concurrency=concurrency,
            timeout=timeout,
        )

    async def create(
        self, cell_spec_id: str, data: Mapping[str, Any], *, timeout: float | None = None
    ) -> CellInstance:
        """Create an instance of a specification (``name`` required, unique per specification)."""
        from ionworks_generated.api.cell_instances import create_cell_instance
        from ionworks_generated.models.cell_instance_create import CellInstanceCreate

        body = CellInstanceCreate.from_dict(cell_instance.create_payload(data))
        return CellInstance(
            await self._parsed(create_cell_instance, cell_spec_id, body=body, timeout=timeout)
        )

    async def update(
        self, cell_instance_id: str, data: Mapping[str, Any], *, timeout: float | None = None
    ) -> CellInstance:
        """Update fields of an instance."""
        from ionworks_generated.api.cell_instances import update_cell_instance
        from ionworks_generated.models.cell_instance_update import CellInstanceUpdate

        body = CellInstanceUpdate.from_dict(dict(data))
        return CellInstance(
            await self._parsed(update_cell_instance, cell_instance_id, body=body, timeout=timeout)
        )

    async def delete(self, cell_instance_id: str, *, timeout: float | None = None) -> None:
        """Delete an instance with its measurements and stored data."""
        from ionworks_generated.api.cell_instances import delete_cell_instance

        await self._call(delete_cell_instance, cell_instance_id, timeout=timeout)

    async def create_or_get(
        self, cell_spec_id: str, data: Mapping[str, Any], *, timeout: float | None = None
    ) -> CellInstance:
        """Create the instance, or return the existing one with the same name."""
        try:
            return await self.create(cell_spec_id, data, timeout=timeout)
        except ConflictError as conflict:
            if conflict.existing_id:
                return await self.get(conflict.existing_id, timeout=timeout)
            matches = await self.list(
                cell_spec_id, name_exact=str(data["name"]), limit=2, timeout=timeout
            )
            if matches.count == 1:
                return matches[0]
            raise


class AsyncPipelines(AsyncResourceAPI):
    """Submit pipelines (``run``) and read their status (``get``, ``wait``), async."""

    async def run(
        self,
        config: Mapping[str, Any],
        *,
        project_id: str | None = None,
        name: str | None = None,
        description: str | None = None,
        options: Mapping[str, Any] | None = None,
        wait: bool = False,
        timeout: float = 600.0,
        request_timeout: float | None = None,
    ) -> Pipeline:
        """Submit a pipeline config (as ``Ionworks.pipeline.run``)."""
        from ionworks_generated.api.pipelines import create_pipeline
        from ionworks_generated.models.pipeline_create import PipelineCreate

        payload = pipeline.run_payload(
            config,
            project_id=project_id,
            default_project=self._client.project_id,
            name=name,
            description=description,
            options=options,
        )
        body = PipelineCreate.from_dict(payload)
        created = Pipeline(await self._parsed(create_pipeline, body=body, timeout=request_timeout))
        if not wait:
            return created
        return await self.wait(created.id, timeout=timeout, request_timeout=request_timeout)

    create = run

    async def get(self, pipeline_id: str, *, timeout: float | None = None) -> Pipeline:
        """A pipeline's status, and its result once finished."""
        from ionworks_generated.api.pipelines import get_pipeline

        return Pipeline(await self._parsed(get_pipeline, pipeline_id, timeout=timeout))

    async def wait(
        self,
        pipeline_id: str,
        *,
        timeout: float = 600.0,
        poll: float = 1.0,
        request_timeout: float | None = None,
    ) -> Pipeline:
        """Poll every ``poll`` seconds until the pipeline is terminal (completed or failed)."""
        return await poll_async(
            lambda: self.get(pipeline_id, timeout=request_timeout),
            pipeline.is_terminal,
            timeout=timeout,
            backoff=_polling.Backoff(first=poll),
            on_timeout=lambda found: pipeline.still_running(pipeline_id, found, timeout),
        )


__all__ = [
    "AsyncCellInstances",
    "AsyncCellSpecifications",
    "AsyncPipelines",
    "AsyncResourceAPI",
    "poll_async",
]
