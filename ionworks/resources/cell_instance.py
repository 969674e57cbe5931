"""``client.cell_instance``: physical cells built to a specification."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from .._filters import choice, common_filters, page_bounds
from .._pagination import PaginatedList
from ..errors import ConflictError, InvalidParameterError, NotFoundError
from ..models import CellInstance, CellInstanceDetail
from ._base import ResourceAPI


class CellInstances(ResourceAPI):
    """List, read, create, update and delete cell instances."""

    def list(
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
    ) -> PaginatedList[CellInstance]:
        """One page of the instances of a specification (filters and ``timeout`` as ``cell_spec.list``)."""
        from ionworks_generated.api.cell_instances import list_cell_instances

        limit, start, filters = list_query(
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
        return self._page(
            list_cell_instances,
            CellInstance,
            (cell_spec_id,),
            filters,
            limit,
            start,
            timeout=timeout,
        )

    def list_all(
        self,
        cell_spec_id: str,
        *,
        page_size: int = 1000,
        timeout: float | None = None,
        **filters: Any,
    ) -> Iterator[CellInstance]:
        """Every matching instance of a specification, page by page."""
        page = self.list(cell_spec_id, limit=page_size, offset=0, timeout=timeout, **filters)
        return page.auto_paging_iter()

    def get(
        self,
        spec_or_instance_id: str,
        cell_instance_id: str | None = None,
        *,
        timeout: float | None = None,
    ) -> CellInstance:
        """One instance: ``get(spec_id, instance_id)`` as the docs write it, or ``get(instance_id)``.

        With two ids, an instance that belongs to another specification is a ``NotFoundError``.
        """
        from ionworks_generated.api.cell_instances import get_cell_instance

        instance_id = cell_instance_id or spec_or_instance_id
        instance = CellInstance(self._parsed(get_cell_instance, instance_id, timeout=timeout))
        return check_owner(instance, spec_or_instance_id, cell_instance_id)

    def detail(
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
        """The instance with every measurement's detail (all pages, oldest first).

        Time-series tables are fetched concurrently (``concurrency`` threads) through the
        cache, so a second call reads them locally; file measurements carry ``.files`` and
        properties measurements metadata. Measurements still processing (or failed) come with
        metadata only. If some tables cannot be read the call raises, and calling again fetches
        only what is missing.
        """
        from ._instance_detail import instance_detail, wanted_tables

        instance = self.get(cell_instance_id, timeout=timeout)
        tables = wanted_tables(include_time_series, include_steps, include_cycles)
        return instance_detail(
            self._client.cell_measurement,
            instance,
            tables,
            use_cache=use_cache,
            concurrency=concurrency,
            timeout=timeout,
        )

    def create(
        self, cell_spec_id: str, data: Mapping[str, Any], *, timeout: float | None = None
    ) -> CellInstance:
        """Create an instance of a specification (``name`` required, unique per specification)."""
        from ionworks_generated.api.cell_instances import create_cell_instance
        from ionworks_generated.models.cell_instance_create import CellInstanceCreate

        body = CellInstanceCreate.from_dict(create_payload(data))
        return CellInstance(
            self._parsed(create_cell_instance, cell_spec_id, body=body, timeout=timeout)
        )

    def update(
        self, cell_instance_id: str, data: Mapping[str, Any], *, timeout: float | None = None
    ) -> CellInstance:
        """Update fields of an instance (``batch_id: None`` removes it from its lot)."""
        from ionworks_generated.api.cell_instances import update_cell_instance
        from ionworks_generated.models.cell_instance_update import CellInstanceUpdate

        body = CellInstanceUpdate.from_dict(dict(data))
        return CellInstance(
            self._parsed(update_cell_instance, cell_instance_id, body=body, timeout=timeout)
        )

    def delete(self, cell_instance_id: str, *, timeout: float | None = None) -> None:
        """Delete an instance with its measurements and stored data."""
        from ionworks_generated.api.cell_instances import delete_cell_instance

        self._call(delete_cell_instance, cell_instance_id, timeout=timeout)

    def create_or_get(
        self, cell_spec_id: str, data: Mapping[str, Any], *, timeout: float | None = None
    ) -> CellInstance:
        """Create the instance, or return the existing one with the same name."""
        try:
            return self.create(cell_spec_id, data, timeout=timeout)
        except ConflictError as conflict:
            if conflict.existing_id:
                return self.get(conflict.existing_id, timeout=timeout)
            matches = self.list(
                cell_spec_id, name_exact=str(data["name"]), limit=2, timeout=timeout
            )
            if matches.count == 1:
                return matches[0]
            raise


def list_query(
    limit: int | None,
    offset: int | None,
    *,
    order_by: str | None,
    order: str | None,
    batch_id: str | None,
    **common: Any,
) -> tuple[int | None, int, dict[str, Any]]:
    """The checked page bounds and wire filters of ``list`` (both clients')."""
    from ionworks_generated.models.resource_order_by import ResourceOrderBy
    from ionworks_generated.models.sort_order import SortOrder

    limit, start = page_bounds(limit, offset)
    filters = common_filters(**common)
    if batch_id is not None:
        filters["batch_id"] = batch_id
    if order_by is not None:
        filters["order_by"] = choice("order_by", order_by, ResourceOrderBy)
    if order is not None:
        filters["order"] = choice("order", order, SortOrder)
    return limit, start, filters


def check_owner(
    instance: CellInstance, spec_or_instance_id: str, cell_instance_id: str | None
) -> CellInstance:
    """With two ids given to ``get``, an instance of another specification is not found."""
    if cell_instance_id is not None and instance.cell_specification_id != spec_or_instance_id:
        raise NotFoundError(
            f"Cell instance {cell_instance_id!r} does not belong to cell specification "
            f"{spec_or_instance_id!r} (it belongs to {instance.cell_specification_id!r})",
            status_code=404,
            error_code="NOT_FOUND",
        )
    return instance


def create_payload(data: Mapping[str, Any]) -> dict[str, Any]:
    """The body of ``create``: a name is required, the old ``batch`` refused."""
    if "batch" in data:
        raise InvalidParameterError("'batch' is no longer supported; pass 'batch_id' instead")
    if not data.get("name"):
        raise InvalidParameterError("A cell instance needs a non-empty 'name'")
    return dict(data)
