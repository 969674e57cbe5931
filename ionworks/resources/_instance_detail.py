"""``cell_instance.detail``: one cell with every measurement's data, as one fleet pull.

Every page of the instance's measurements is listed (the official client reads only the first
page). The list already carries each measurement's metadata, so it is handed to the cache as
``detail()`` would fetch it (a changed ``updated_at`` drops stale tables) without one more request
per measurement. Time-series tables then come through ``cell_measurement.fetch_many``: bounded
concurrency, one progress bar, the cache, and a rerun that fetches only what is missing. Files of
file measurements come through the cached ``download_files``; properties measurements are
metadata only, as in ``detail()``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._fleet import TABLES, FleetResult
from ..errors import IonworksError
from ..models import CellInstance, CellInstanceDetail, CellMeasurement, MeasurementDetail

if TYPE_CHECKING:
    from .cell_measurement import CellMeasurements

PAGE_SIZE = 1000
"""Measurements per list page (the server's maximum)."""
READY = (None, "ready")
"""Processing states with tables to read (None: measurements from before async processing)."""


def instance_detail(
    measurements_api: CellMeasurements,
    instance: CellInstance,
    tables: tuple[str, ...],
    *,
    use_cache: bool,
    concurrency: int,
    timeout: float | None,
) -> CellInstanceDetail:
    """The detail of ``instance``: ``tables`` (a subset of TABLES) of each ready time series."""
    artifacts = measurements_api._data.artifacts
    listed = list(
        measurements_api.list_all(
            instance.id, page_size=PAGE_SIZE, timeout=timeout, order_by="created_at", order="asc"
        )
    )
    measurements = [
        CellMeasurement(artifacts.metadata(m.id, m.to_dict, use_cache=use_cache)) for m in listed
    ]
    series = readable_series(measurements)
    frames: dict[str, dict[str, Any]] = {}
    if series and tables:
        pulled = measurements_api.fetch_many(
            series, tables, concurrency=concurrency, use_cache=use_cache, timeout=timeout
        )
        frames = frames_or_raise(instance, series, pulled)
    details = [
        _one(measurements_api, m, frames.get(m.id), use_cache, timeout) for m in measurements
    ]
    return CellInstanceDetail(instance, instance.cell_specification_id, details)


def readable_series(measurements: list[CellMeasurement]) -> list[str]:
    """Ids of the time-series measurements whose tables can be read (both clients)."""
    return [
        m.id
        for m in measurements
        if (m.measurement_type or "time_series") == "time_series" and m.processing_status in READY
    ]


def frames_or_raise(
    instance: CellInstance, series: list[str], pulled: FleetResult
) -> dict[str, dict[str, Any]]:
    """The pulled tables, or one error naming every measurement that could not be read."""
    if pulled.failed:
        reasons = "; ".join(f"{mid}: {error}" for mid, error in pulled.failed.items())
        raise IonworksError(
            f"cell_instance.detail({instance.id!r}): {len(pulled.failed)} of {len(series)} "
            f"measurements could not be read ({reasons}); call it again to fetch only what "
            "is missing (the rest is cached)"
        ) from next(iter(pulled.failed.values()))
    return dict(pulled.frames)


def _one(
    measurements_api: CellMeasurements,
    measurement: CellMeasurement,
    frames: dict[str, Any] | None,
    use_cache: bool,
    timeout: float | None,
) -> MeasurementDetail:
    kind = measurement.measurement_type or "time_series"
    if kind == "file":
        files = measurements_api.download_files(measurement.id, use_cache, timeout=timeout)
        return MeasurementDetail(measurement, files=files)
    return MeasurementDetail(measurement, **(frames or {}))


def wanted_tables(
    include_time_series: bool, include_steps: bool, include_cycles: bool
) -> tuple[str, ...]:
    """The fleet tables the ``include_*`` flags ask for, in TABLES order."""
    flags = {"time_series": include_time_series, "steps": include_steps, "cycles": include_cycles}
    return tuple(name for name in TABLES if flags[name])


__all__ = [
    "PAGE_SIZE",
    "frames_or_raise",
    "instance_detail",
    "readable_series",
    "wanted_tables",
]
