"""Resource objects: typed attribute access for known fields, tolerance for everything else.

Each object wraps the JSON the server sent. Known fields are typed attributes; unknown fields the
server adds later are reachable as attributes or items too (``spec.ratings["capacity"]``), so a
newer server never breaks an older client.
"""

from __future__ import annotations

import html
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar, overload

T = TypeVar("T")


class Field(Generic[T]):
    """A typed read-only view of one key of the wrapped JSON (missing keys read as None)."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, objtype: type | None = None) -> Field[T]: ...
    @overload
    def __get__(self, obj: Resource, objtype: type | None = None) -> T: ...
    def __get__(self, obj: Resource | None, objtype: type | None = None) -> T | Field[T]:
        if obj is None:
            return self
        return obj._data.get(self.name)  # type: ignore[return-value]


class Resource(Mapping[str, Any]):
    """Base class: a read-only mapping with attribute access and compact reprs."""

    _summary_fields: ClassVar[tuple[str, ...]] = ("id", "name")

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data: dict[str, Any] = dict(data)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._data[name]
        except KeyError:
            fields = ", ".join(sorted(self._data))
            raise AttributeError(
                f"{type(self).__name__} has no field {name!r}; fields present: {fields}"
            ) from None

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Resource):
            return type(self) is type(other) and self._data == other._data
        return NotImplemented

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._data.get("id")))

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._data))

    def to_dict(self) -> dict[str, Any]:
        """A deep-enough copy of the server's JSON, safe to modify."""
        return dict(self._data)

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{key}={self._data[key]!r}" for key in self._summary_fields if key in self._data
        )
        return f"{type(self).__name__}({shown})"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(str(k))}</th>"
            f"<td style='text-align:left'>{html.escape(_short(v))}</td></tr>"
            for k, v in self._data.items()
        )
        return f"<b>{type(self).__name__}</b><table>{rows}</table>"


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_timestamp(value: str | None) -> datetime | None:
    """ISO 8601 text from the server as an aware datetime (None stays None)."""
    return datetime.fromisoformat(value) if value else None


class CellSpecification(Resource):
    """A cell design: chemistry, form factor, ratings and (on ``get``) its components."""

    _summary_fields = ("id", "name", "form_factor", "chemistry")
    id: Field[str] = Field()
    name: Field[str] = Field()
    project_id: Field[str | None] = Field()
    form_factor: Field[str | None] = Field()
    manufacturer: Field[str | None] = Field()
    chemistry: Field[str | None] = Field()
    ratings: Field[dict[str, Any] | None] = Field()
    anode: Field[dict[str, Any] | None] = Field()
    cathode: Field[dict[str, Any] | None] = Field()
    electrolyte: Field[dict[str, Any] | None] = Field()
    separator: Field[dict[str, Any] | None] = Field()
    case: Field[dict[str, Any] | None] = Field()
    created_by_email: Field[str | None] = Field()
    created_at: Field[str | None] = Field()
    updated_at: Field[str | None] = Field()

    @property
    def capacity(self) -> float | None:
        """Rated capacity in A.h, when the ratings carry one."""
        rated = (self.ratings or {}).get("capacity")
        if not isinstance(rated, dict) or rated.get("value") is None:
            return None
        scale = {"A.h": 1.0, "Ah": 1.0, "mA.h": 1e-3, "mAh": 1e-3, "uA.h": 1e-6, "uAh": 1e-6}
        return float(rated["value"]) * scale.get(str(rated.get("unit", "A.h")), 1.0)


class CellInstance(Resource):
    """A physical cell built to a specification."""

    _summary_fields = ("id", "name", "cell_specification_id")
    id: Field[str] = Field()
    name: Field[str] = Field()
    cell_specification_id: Field[str] = Field()
    batch_id: Field[str | None] = Field()
    batch_name: Field[str | None] = Field()
    notes: Field[str | None] = Field()
    created_by_email: Field[str | None] = Field()
    created_at: Field[str | None] = Field()
    updated_at: Field[str | None] = Field()

    @property
    def specification_id(self) -> str:
        """Id of the parent cell specification."""
        return self.cell_specification_id


class CellMeasurement(Resource):
    """A test run on a cell instance (time series, properties or files)."""

    _summary_fields = ("id", "name", "measurement_type", "processing_status")
    id: Field[str] = Field()
    name: Field[str] = Field()
    cell_instance_id: Field[str] = Field()
    specification_id: Field[str | None] = Field()
    measurement_type: Field[str | None] = Field()
    start_time: Field[str | None] = Field()
    end_time: Field[str | None] = Field()
    notes: Field[str | None] = Field()
    protocol: Field[Any] = Field()
    test_setup: Field[Any] = Field()
    properties: Field[dict[str, Any] | None] = Field()
    tags: Field[list[str]] = Field()
    processing_status: Field[str | None] = Field()
    processing_error: Field[str | None] = Field()
    row_count: Field[int | None] = Field()
    created_by_email: Field[str | None] = Field()
    created_at: Field[str | None] = Field()
    updated_at: Field[str | None] = Field()

    @property
    def instance_id(self) -> str:
        """Id of the parent cell instance."""
        return self.cell_instance_id


class Pipeline(Resource):
    """A submitted modelling pipeline and its status."""

    _summary_fields = ("id", "name", "status")
    id: Field[str] = Field()
    name: Field[str | None] = Field()
    status: Field[str] = Field()
    error: Field[str | None] = Field()
    is_terminal: Field[bool] = Field()
    is_failed: Field[bool] = Field()
    result: Field[dict[str, Any] | None] = Field()


class MeasurementBundle:
    """What ``cell_measurement.create`` returns: the created measurement (``bundle.measurement``)."""

    def __init__(self, measurement: CellMeasurement, steps_created: int = 0) -> None:
        self.measurement = measurement
        self.steps_created = steps_created

    def __getattr__(self, name: str) -> Any:
        return getattr(self.measurement, name)

    def __repr__(self) -> str:
        return f"MeasurementBundle(measurement={self.measurement!r})"


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


def _shape(table: Any) -> str:
    rows, cols = table.shape
    return f"<{rows:,} rows × {cols} columns>"
