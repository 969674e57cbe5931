"""``client.cell_spec``: cell specifications."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from .._filters import choice, common_filters, page_bounds
from .._pagination import PaginatedList
from ..errors import ConflictError, InvalidParameterError
from ..models import CellSpecification
from ._base import ResourceAPI


class CellSpecifications(ResourceAPI):
    """List, read, create, update and delete cell specifications."""

    def list(
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
    ) -> PaginatedList[CellSpecification]:
        """One page of specifications, filtered on the server.

        ``name`` is a case-insensitive substring match, ``name_exact`` an exact match (it wins),
        ``form_factor`` exact; ``created_*``/``updated_*`` take ISO 8601 strings or datetimes;
        ``order_by`` is "name", "created_at" or "updated_at" and ``order`` "asc" or "desc".
        ``limit`` (1 to 1000, server default 1000) and ``offset`` select the page.
        ``timeout`` (seconds, retries included) bounds each page's call instead of the client's
        ``timeout``, here and on every method of the client's resources.
        """
        from ionworks_generated.api.cell_specifications import list_cell_specifications

        limit, start, filters = list_query(
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
        return self._page(
            list_cell_specifications, CellSpecification, (), filters, limit, start, timeout=timeout
        )

    def list_all(
        self, *, page_size: int = 1000, timeout: float | None = None, **filters: Any
    ) -> Iterator[CellSpecification]:
        """Every matching specification, page by page (same filters as :meth:`list`)."""
        return self.list(limit=page_size, offset=0, timeout=timeout, **filters).auto_paging_iter()

    def get(self, cell_spec_id: str, *, timeout: float | None = None) -> CellSpecification:
        """One specification with its full nested data (ratings and components)."""
        from ionworks_generated.api.cell_specifications import get_cell_specification

        return CellSpecification(
            self._parsed(get_cell_specification, cell_spec_id, timeout=timeout)
        )

    def create(self, data: Mapping[str, Any], *, timeout: float | None = None) -> CellSpecification:
        """Create a specification; ``project_id`` defaults to the client's project.

        Raises :class:`~ionworks.errors.ConflictError` (with ``existing_id``) when the name is taken.
        """
        from ionworks_generated.api.cell_specifications import create_cell_specification
        from ionworks_generated.models.cell_specification_create import CellSpecificationCreate

        body = CellSpecificationCreate.from_dict(create_payload(data, self._client.project_id))
        return CellSpecification(
            self._parsed(create_cell_specification, body=body, timeout=timeout)
        )

    def update(
        self, cell_spec_id: str, data: Mapping[str, Any], *, timeout: float | None = None
    ) -> CellSpecification:
        """Update fields of a specification (nested components are merged by the server)."""
        from ionworks_generated.api.cell_specifications import update_cell_specification
        from ionworks_generated.models.cell_specification_update import CellSpecificationUpdate

        body = CellSpecificationUpdate.from_dict(dict(data))
        return CellSpecification(
            self._parsed(update_cell_specification, cell_spec_id, body=body, timeout=timeout)
        )

    def delete(self, cell_spec_id: str, *, timeout: float | None = None) -> None:
        """Delete a specification, with its instances, measurements and stored data."""
        from ionworks_generated.api.cell_specifications import delete_cell_specification

        self._call(delete_cell_specification, cell_spec_id, timeout=timeout)

    def create_or_get(
        self, data: Mapping[str, Any], *, timeout: float | None = None
    ) -> CellSpecification:
        """Create the specification, or return the existing one with the same name."""
        try:
            return self.create(data, timeout=timeout)
        except ConflictError as conflict:
            if conflict.existing_id:
                return self.get(conflict.existing_id, timeout=timeout)
            project_id = data.get("project_id") or self._client.project_id
            matches = self.list(
                name_exact=str(data["name"]), project_id=project_id, limit=2, timeout=timeout
            )
            if matches.count == 1:
                return matches[0]
            raise


def list_query(
    limit: int | None,
    offset: int | None,
    *,
    form_factor: str | None,
    order_by: str | None,
    order: str | None,
    project_id: str | None,
    include_components: bool,
    **common: Any,
) -> tuple[int | None, int, dict[str, Any]]:
    """The checked page bounds and wire filters of ``list`` (both clients')."""
    from ionworks_generated.models.resource_order_by import ResourceOrderBy
    from ionworks_generated.models.sort_order import SortOrder

    limit, start = page_bounds(limit, offset)
    filters = common_filters(**common)
    if form_factor is not None:
        filters["form_factor"] = f"eq.{form_factor}"
    if project_id is not None:
        filters["project_id"] = project_id
    if include_components:
        filters["full"] = True
    if order_by is not None:
        filters["order_by"] = choice("order_by", order_by, ResourceOrderBy)
    if order is not None:
        filters["order"] = choice("order", order, SortOrder)
    return limit, start, filters


def create_payload(data: Mapping[str, Any], default_project: str | None) -> dict[str, Any]:
    """The body of ``create``: ``project_id`` defaults to the client's; a name is required."""
    payload = dict(data)
    if payload.get("project_id") is None and default_project:
        payload["project_id"] = default_project
    if not payload.get("name"):
        raise InvalidParameterError("A cell specification needs a non-empty 'name'")
    return payload
