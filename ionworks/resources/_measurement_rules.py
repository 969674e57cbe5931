"""What ``cell_measurement`` decides without I/O, shared by the sync and async resources:
list filters, the processing states, and the checks of a table read's arguments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .._filters import choice, common_filters, iso_timestamp, page_bounds
from ..errors import InvalidParameterError, MeasurementProcessingError
from ..models import CellMeasurement

PENDING_STATES = frozenset({"pending", "running"})


def list_query(
    limit: int | None,
    offset: int | None,
    *,
    measurement_type: str | None,
    started_after: str | datetime | None,
    started_before: str | datetime | None,
    order_by: str | None,
    order: str | None,
    tags_all: str | list[str] | None,
    tags_any: str | list[str] | None,
    **common: Any,
) -> tuple[int | None, int, dict[str, Any]]:
    """The checked page bounds and wire filters of ``list`` (both clients')."""
    from ionworks_generated.models.measurement_order_by import MeasurementOrderBy
    from ionworks_generated.models.measurement_type import MeasurementType
    from ionworks_generated.models.sort_order import SortOrder

    limit, start = page_bounds(limit, offset)
    filters = common_filters(**common)
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
    return limit, start, filters


def processed(measurement: CellMeasurement) -> bool:
    """Whether the server is done with a measurement (processed, or failed)."""
    return measurement.processing_status not in PENDING_STATES


def still_processing(
    measurement_id: str, measurement: CellMeasurement, timeout: float
) -> MeasurementProcessingError:
    """The error of a wait for processing that ran out of time."""
    status = measurement.processing_status
    return MeasurementProcessingError(
        f"Measurement {measurement_id} was still {status!r} after {timeout:.0f} s; "
        f"call client.cell_measurement.wait_for_processing({measurement_id!r}) later",
        failures={measurement_id: f"still {status} after {timeout:.0f} s"},
    )


def raise_if_failed(measurement_id: str, measurement: CellMeasurement) -> CellMeasurement:
    """Processing failed for good: say why, with the server's reason."""
    if measurement.processing_status != "failed":
        return measurement
    reason = measurement.processing_error or "the server gave no reason"
    raise MeasurementProcessingError(
        f"Processing of measurement {measurement_id} ({measurement.name!r}) failed: {reason}",
        failures={measurement_id: reason},
    )


def check_row_range(row_range: tuple[int, int]) -> tuple[int, int]:
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


__all__ = [
    "PENDING_STATES",
    "check_row_range",
    "list_query",
    "processed",
    "raise_if_failed",
    "still_processing",
]
