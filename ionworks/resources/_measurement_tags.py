"""Project-wide measurement reads and tag changes, part of ``client.cell_measurement``.

``list_by_project`` and ``list_tags`` read a whole project (``project_id`` defaults to the
client's project, as in the official client); ``add_tags`` / ``remove_tags`` change tags on many
measurements without replacing their other tags (``update(id, {"tags": ...})`` replaces the set).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Final

from .._filters import choice, page_bounds
from .._pagination import PaginatedList
from ..errors import InvalidParameterError
from ..models import CellMeasurement, MeasurementTagUsage
from ._base import ResourceAPI

if TYPE_CHECKING:
    from ionworks_generated.models.measurement_tags_bulk import MeasurementTagsBulk

BULK_BATCH: Final = 1000
"""Ids per bulk tag request: the most the server takes in one."""


class ProjectMeasurements(ResourceAPI):
    """The project-wide methods of ``client.cell_measurement``."""

    def list_by_project(
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
    ) -> PaginatedList[CellMeasurement]:
        """One page (25 by default, at most 1000) of every measurement of a project, across
        all its cells. ``q`` is a case-insensitive substring of the name, notes or a tag;
        ``tags_all`` / ``tags_any`` match tags ignoring case (a bare string is one tag).
        ``.auto_paging_iter()`` walks every page."""
        from ionworks_generated.api.cell_measurements import list_project_cell_measurements

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
        return self._page(
            list_project_cell_measurements,
            CellMeasurement,
            (),
            present,
            limit,
            start,
            timeout=timeout,
        )

    def list_tags(
        self,
        project_id: str | None = None,
        q: str | None = None,
        limit: int | None = None,
        *,
        offset: int | None = None,
        timeout: float | None = None,
    ) -> PaginatedList[MeasurementTagUsage]:
        """The tags used in a project with how many measurements carry each (``.tag``,
        ``.usage_count``), most used first; 50 a page by default. ``q``: a substring of the tag."""
        from ionworks_generated.api.cell_measurements import list_measurement_tags

        limit, start = page_bounds(limit, offset)
        present = tag_list_filters(project_of(self._client, "list_tags", project_id), q)
        return self._page(
            list_measurement_tags, MeasurementTagUsage, (), present, limit, start, timeout=timeout
        )

    def add_tags(
        self,
        measurement_ids: str | Iterable[str],
        tags: str | Iterable[str],
        *,
        timeout: float | None = None,
    ) -> int:
        """Add ``tags`` to each measurement, keeping its other tags; returns how many changed.

        A bare string is one id or one tag. A tag takes the spelling its project already uses.
        Each batch of 1000 ids is all or nothing on the server (an unknown id is a
        ``NotFoundError`` naming it); earlier batches of a larger call stay applied.
        """
        return self._bulk(measurement_ids, add=_strings("tags", tags), remove=[], timeout=timeout)

    def remove_tags(
        self,
        measurement_ids: str | Iterable[str],
        tags: str | Iterable[str],
        *,
        timeout: float | None = None,
    ) -> int:
        """Remove ``tags`` (ignoring case) from each measurement; returns how many changed."""
        return self._bulk(measurement_ids, add=[], remove=_strings("tags", tags), timeout=timeout)

    def _bulk(
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
            result = self._parsed(bulk_update_measurement_tags, body=body, timeout=timeout)
            updated += int(result["updated_count"])
        return updated


def project_of(client: Any, method: str, project_id: str | None) -> str:
    """The project to read: the argument, else the client's; a clear error when neither."""
    chosen = project_id if project_id is not None else client.project_id
    if not chosen or not isinstance(chosen, str):
        raise InvalidParameterError(
            f"{method}() needs a project: pass project_id=..., or create the client with "
            "Ionworks(project_id=...) or set IONWORKS_PROJECT_ID "
            "(client.whoami()['default_project_id'] is your default project)"
        )
    return chosen


def project_list_filters(
    project_id: str,
    *,
    q: str | None,
    measurement_type: str | None,
    tags_all: str | Iterable[str] | None,
    tags_any: str | Iterable[str] | None,
    order_by: str | None,
    order: str | None,
) -> dict[str, Any]:
    """The query of ``list_by_project`` (both clients): checked values, absent ones left out."""
    from ionworks_generated.models.measurement_order_by import MeasurementOrderBy
    from ionworks_generated.models.measurement_type import MeasurementType
    from ionworks_generated.models.sort_order import SortOrder

    filters = {
        "project_id": project_id,
        "q": _text("q", q),
        "measurement_type": choice("measurement_type", measurement_type, MeasurementType),
        "tags_all": _strings("tags_all", tags_all) or None,
        "tags_any": _strings("tags_any", tags_any) or None,
        "order_by": choice("order_by", order_by, MeasurementOrderBy),
        "order": choice("order", order, SortOrder),
    }
    return {key: value for key, value in filters.items() if value is not None}


def tag_list_filters(project_id: str, q: str | None) -> dict[str, Any]:
    """The query of ``list_tags`` (both clients)."""
    return (
        {"project_id": project_id} if q is None else {"project_id": project_id, "q": _text("q", q)}
    )


def bulk_bodies(
    measurement_ids: str | Iterable[str], add: list[str], remove: list[str]
) -> list[MeasurementTagsBulk]:
    """The bulk requests of one tag change, :data:`BULK_BATCH` distinct ids each (both clients);
    none when there is nothing to change."""
    from ionworks_generated.models.measurement_tags_bulk import MeasurementTagsBulk

    ids = list(dict.fromkeys(_strings("measurement_ids", measurement_ids)))
    if not ids or not (add or remove):
        return []
    return [
        MeasurementTagsBulk.from_dict(
            {"measurement_ids": ids[start : start + BULK_BATCH], "add": add, "remove": remove}
        )
        for start in range(0, len(ids), BULK_BATCH)
    ]


def _strings(argument: str, values: str | Iterable[str] | None) -> list[str]:
    """A bare string is one value, never its letters; anything but strings is a mistake."""
    if values is None:
        return []
    listed = [values] if isinstance(values, str) else list(values)
    wrong = [value for value in listed if not isinstance(value, str)]
    if wrong:
        raise InvalidParameterError(
            f"{argument} must be strings (or one string), got {wrong[0]!r} ({type(wrong[0]).__name__})"
        )
    return listed


def _text(argument: str, value: str | None) -> str | None:
    if value is not None and not isinstance(value, str):
        raise InvalidParameterError(f"{argument}={value!r} must be a string")
    return value


__all__ = [
    "BULK_BATCH",
    "ProjectMeasurements",
    "bulk_bodies",
    "project_list_filters",
    "project_of",
    "tag_list_filters",
]
