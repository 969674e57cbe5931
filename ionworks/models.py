"""Resource objects: typed attribute access for known fields, tolerance for everything else.

Each object wraps the JSON the server sent. Known fields are typed attributes; unknown fields the
server adds later are reachable as attributes or items too (``spec.ratings["capacity"]``), so a
newer server never breaks an older client. The typed fields come from openapi.yaml through the
generated bases in ``_spec_fields.py`` (``make regen``); the classes here add only what is ours:
summary fields for reprs, docstrings and helpers.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from ._resource import Field, Resource, field_names
from ._spec_fields import (
    CellInstanceFields,
    CellMeasurementBundleFields,
    CellMeasurementFields,
    CellSpecificationFields,
    MeasurementTagUsageFields,
    PipelineFields,
)

__all__ = [
    "CellInstance",
    "CellInstanceDetail",
    "CellMeasurement",
    "CellSpecification",
    "Field",
    "MeasurementBundle",
    "MeasurementDetail",
    "MeasurementTagUsage",
    "Pipeline",
    "Resource",
    "field_names",
    "parse_timestamp",
]


def parse_timestamp(value: str | None) -> datetime | None:
    """ISO 8601 text from the server as an aware datetime (None stays None)."""
    return datetime.fromisoformat(value) if value else None


class CellSpecification(CellSpecificationFields):
    """A cell design: chemistry, form factor, ratings and (on ``get``) its components."""

    _summary_fields = ("id", "name", "form_factor", "chemistry")

    @property
    def capacity(self) -> float | None:
        """Rated capacity in A.h, when the ratings carry one."""
        rated = (self.ratings or {}).get("capacity")
        if not isinstance(rated, dict) or rated.get("value") is None:
            return None
        scale = {"A.h": 1.0, "Ah": 1.0, "mA.h": 1e-3, "mAh": 1e-3, "uA.h": 1e-6, "uAh": 1e-6}
        return float(rated["value"]) * scale.get(str(rated.get("unit", "A.h")), 1.0)


class CellInstance(CellInstanceFields):
    """A physical cell built to a specification."""

    _summary_fields = ("id", "name", "cell_specification_id")

    @property
    def specification_id(self) -> str:
        """Id of the parent cell specification."""
        return self.cell_specification_id


class CellMeasurement(CellMeasurementFields):
    """A test run on a cell instance (time series, properties or files)."""

    _summary_fields = ("id", "name", "measurement_type", "processing_status")

    @property
    def instance_id(self) -> str:
        """Id of the parent cell instance."""
        return self.cell_instance_id


class Pipeline(PipelineFields):
    """A submitted modelling pipeline and its status."""

    _summary_fields = ("id", "name", "status")


class MeasurementTagUsage(MeasurementTagUsageFields):
    """A tag used on a project's measurements and how many carry it (``cell_measurement.list_tags``)."""

    _summary_fields = ("tag", "usage_count")


class MeasurementBundle(CellMeasurementBundleFields, CellMeasurement):
    """What ``cell_measurement.create`` returns: the created measurement (``bundle.measurement``).

    Its fields are the measurement's plus ``steps_created`` (the spec's ``CellMeasurementBundle``),
    readable on the bundle itself (``bundle.id``) as well as on ``bundle.measurement``.
    """

    def __init__(self, measurement: CellMeasurement, steps_created: int = 0) -> None:
        super().__init__({**measurement._data, "steps_created": steps_created})
        self.measurement = measurement

    def __repr__(self) -> str:
        return f"MeasurementBundle(measurement={self.measurement!r})"

    def _repr_html_(self) -> str:
        return self.measurement._repr_html_()


class MeasurementDetail:
    """Everything about one measurement, shaped by its type (see ``cell_measurement.detail``).

    ``measurement`` holds the metadata; ``time_series``, ``steps`` and ``cycles`` are DataFrames
    for time-series measurements (None otherwise); ``files`` maps names to bytes for file
    measurements. Metadata fields are also reachable directly (``detail.name``).
    """

    def __init__(
        self,
        measurement: CellMeasurement,
        *,
        time_series: Any = None,
        steps: Any = None,
        cycles: Any = None,
        files: dict[str, bytes] | None = None,
    ) -> None:
        self.measurement = measurement
        self.time_series = time_series
        self.steps = steps
        self.cycles = cycles
        self.files = files

    @property
    def specification_id(self) -> str | None:
        """Id of the parent cell specification (``client.cell_spec.get(id)`` fetches it)."""
        return self.measurement.specification_id

    @property
    def instance_id(self) -> str:
        """Id of the parent cell instance."""
        return self.measurement.cell_instance_id

    @property
    def properties(self) -> dict[str, Any] | None:
        """Measured properties, for properties measurements."""
        return self.measurement.properties

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.measurement, name)

    def sql(self, query: str) -> Any:
        """Run a read-only SQL query over ``time_series``, ``steps`` and ``cycles``.

        ``detail.sql('select * from steps where "Cycle count" = 1')``; polars' SQL dialect.
        The result is a DataFrame of the tables' backend (pandas when they are pandas).
        """
        from ionworks.data.errors import DataError
        from ionworks.data.sql import sql
        from ionworks.errors import InvalidParameterError

        tables = dict(self._tables())
        if not tables:
            raise InvalidParameterError(
                f"Measurement {self.measurement.id} has no tables to query "
                f"(measurement_type {self.measurement.measurement_type!r})."
            )
        try:
            result = sql(query, **tables)
        except DataError as exc:
            raise InvalidParameterError(str(exc)) from exc
        pandas = any(type(t).__module__.startswith("pandas") for t in tables.values())
        return result.to_pandas() if pandas else result

    def _tables(self) -> list[tuple[str, Any]]:
        return [
            (label, table)
            for label, table in (
                ("time_series", self.time_series),
                ("steps", self.steps),
                ("cycles", self.cycles),
            )
            if table is not None
        ]

    def __repr__(self) -> str:
        parts = [f"{label}={_shape(table)}" for label, table in self._tables()]
        if self.files is not None:
            parts.append(f"files={sorted(self.files)}")
        body = ", ".join([repr(self.measurement), *parts])
        return f"MeasurementDetail({body})"

    def _repr_html_(self) -> str:
        sections = [self.measurement._repr_html_()]
        for label, table in self._tables():
            head = table.head(5)
            rendered = (
                head._repr_html_() if hasattr(head, "_repr_html_") else html.escape(str(head))
            )
            sections.append(f"<p><b>{label}</b> {_shape(table)}</p>{rendered}")
        return "".join(sections)


class CellInstanceDetail:
    """A cell instance with every one of its measurements' details (``cell_instance.detail``).

    ``instance`` is the cell, ``specification_id`` its specification's id, ``measurements`` a
    :class:`MeasurementDetail` per measurement, all pages of them, oldest first.
    """

    def __init__(
        self,
        instance: CellInstance,
        specification_id: str,
        measurements: list[MeasurementDetail],
    ) -> None:
        self.instance = instance
        self.specification_id = specification_id
        self.measurements = measurements

    def __iter__(self) -> Iterator[MeasurementDetail]:
        return iter(self.measurements)

    def __len__(self) -> int:
        return len(self.measurements)

    def __getitem__(self, key: int | str) -> MeasurementDetail:
        """A measurement's detail by position, or by its id or name."""
        if isinstance(key, int):
            return self.measurements[key]
        for detail in self.measurements:
            if key in (detail.measurement.id, detail.measurement.name):
                return detail
        known = ", ".join(repr(d.measurement.name) for d in self.measurements[:10])
        raise KeyError(
            f"no measurement {key!r} in cell instance {self.instance.id}; it has {known}"
        )

    def __repr__(self) -> str:
        kinds: dict[str, int] = {}
        for detail in self.measurements:
            kind = str(detail.measurement.measurement_type or "time_series")
            kinds[kind] = kinds.get(kind, 0) + 1
        counted = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items())) or "none"
        return f"CellInstanceDetail(instance={self.instance!r}, measurements: {counted})"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<li>{html.escape(str(d.measurement.name))} "
            f"({html.escape(str(d.measurement.measurement_type))})</li>"
            for d in self.measurements[:50]
        )
        more = f"<p>… {len(self.measurements) - 50} more</p>" if len(self.measurements) > 50 else ""
        return f"{self.instance._repr_html_()}<ul>{rows}</ul>{more}"


def _shape(table: Any) -> str:
    rows, cols = table.shape
    return f"<{rows:,} rows × {cols} columns>"
