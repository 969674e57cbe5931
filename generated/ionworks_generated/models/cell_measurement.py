from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.measurement_type import MeasurementType
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.cell_measurement_properties_type_0 import CellMeasurementPropertiesType0


T = TypeVar("T", bound="CellMeasurement")


@_attrs_define
class CellMeasurement:
    """
    Example:
        {'id': 'meas-5b1c', 'name': 'cycling-0.5C-25degC', 'cell_instance_id': 'inst-42', 'specification_id':
            'spec-9d2e', 'measurement_type': 'time_series', 'start_time': '2026-03-04T08:00:00Z', 'end_time':
            '2026-03-06T20:12:40Z', 'notes': '0.5C CC-CV cycling', 'protocol': 'CC-CV 0.5C to 4.2 V, C/20 cut-off; CC 0.5C
            to 3.0 V', 'test_setup': {'cycler': 'Maccor 4000', 'channel': 12, 'chamber_temperature': {'value': 25, 'unit':
            'degC'}}, 'properties': None, 'tags': ['cycling', '25degC'], 'processing_status': 'ready', 'processing_error':
            None, 'row_count': 21874, 'created_by_email': 'jane.doe@example.com', 'created_at': '2026-03-07T09:00:00Z',
            'updated_at': '2026-03-07T09:00:00Z'}

    Attributes:
        id (str):
        name (str):
        cell_instance_id (str):
        specification_id (None | str | Unset):
        measurement_type (MeasurementType | str | Unset): `time_series`, `properties` or `file`; clients must accept
            types they do not know yet.
        start_time (None | str | Unset):
        end_time (None | str | Unset):
        notes (None | str | Unset):
        protocol (Any | Unset): Free-form description of the test protocol (text or structured).
        test_setup (Any | Unset): Free-form description of the test setup (text or structured).
        properties (CellMeasurementPropertiesType0 | None | Unset): Measured properties of a properties measurement,
            each a Quantity.
        tags (list[str] | Unset):
        processing_status (None | str | Unset): `pending`, `running`, `ready` or `failed`; null for measurements without
            processing.
        processing_error (None | str | Unset):
        row_count (int | None | Unset): Rows in the time series, once processed.
        created_by_email (None | str | Unset):
        created_at (str | Unset):
        updated_at (str | Unset):
    """

    id: str
    name: str
    cell_instance_id: str
    specification_id: None | str | Unset = UNSET
    measurement_type: MeasurementType | str | Unset = UNSET
    start_time: None | str | Unset = UNSET
    end_time: None | str | Unset = UNSET
    notes: None | str | Unset = UNSET
    protocol: Any | Unset = UNSET
    test_setup: Any | Unset = UNSET
    properties: CellMeasurementPropertiesType0 | None | Unset = UNSET
    tags: list[str] | Unset = UNSET
    processing_status: None | str | Unset = UNSET
    processing_error: None | str | Unset = UNSET
    row_count: int | None | Unset = UNSET
    created_by_email: None | str | Unset = UNSET
    created_at: str | Unset = UNSET
    updated_at: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.cell_measurement_properties_type_0 import (
            CellMeasurementPropertiesType0,  # noqa: PLC0415
        )

        id = self.id

        name = self.name

        cell_instance_id = self.cell_instance_id

        specification_id: None | str | Unset
        if isinstance(self.specification_id, Unset):
            specification_id = UNSET
        else:
            specification_id = self.specification_id

        measurement_type: str | Unset
        if isinstance(self.measurement_type, Unset):
            measurement_type = UNSET
        elif isinstance(self.measurement_type, MeasurementType):
            measurement_type = self.measurement_type.value
        else:
            measurement_type = self.measurement_type

        start_time: None | str | Unset
        if isinstance(self.start_time, Unset):
            start_time = UNSET
        else:
            start_time = self.start_time

        end_time: None | str | Unset
        if isinstance(self.end_time, Unset):
            end_time = UNSET
        else:
            end_time = self.end_time

        notes: None | str | Unset
        if isinstance(self.notes, Unset):
            notes = UNSET
        else:
            notes = self.notes

        protocol = self.protocol

        test_setup = self.test_setup

        properties: dict[str, Any] | None | Unset
        if isinstance(self.properties, Unset):
            properties = UNSET
        elif isinstance(self.properties, CellMeasurementPropertiesType0):
            properties = self.properties.to_dict()
        else:
            properties = self.properties

        tags: list[str] | Unset = UNSET
        if not isinstance(self.tags, Unset):
            tags = self.tags

        processing_status: None | str | Unset
        if isinstance(self.processing_status, Unset):
            processing_status = UNSET
        else:
            processing_status = self.processing_status

        processing_error: None | str | Unset
        if isinstance(self.processing_error, Unset):
            processing_error = UNSET
        else:
            processing_error = self.processing_error

        row_count: int | None | Unset
        if isinstance(self.row_count, Unset):
            row_count = UNSET
        else:
            row_count = self.row_count

        created_by_email: None | str | Unset
        if isinstance(self.created_by_email, Unset):
            created_by_email = UNSET
        else:
            created_by_email = self.created_by_email

        created_at = self.created_at

        updated_at = self.updated_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "name": name,
                "cell_instance_id": cell_instance_id,
            }
        )
        if specification_id is not UNSET:
            field_dict["specification_id"] = specification_id
        if measurement_type is not UNSET:
            field_dict["measurement_type"] = measurement_type
        if start_time is not UNSET:
            field_dict["start_time"] = start_time
        if end_time is not UNSET:
            field_dict["end_time"] = end_time
        if notes is not UNSET:
            field_dict["notes"] = notes
        if protocol is not UNSET:
            field_dict["protocol"] = protocol
        if test_setup is not UNSET:
            field_dict["test_setup"] = test_setup
        if properties is not UNSET:
            field_dict["properties"] = properties
        if tags is not UNSET:
            field_dict["tags"] = tags
        if processing_status is not UNSET:
            field_dict["processing_status"] = processing_status
        if processing_error is not UNSET:
            field_dict["processing_error"] = processing_error
        if row_count is not UNSET:
            field_dict["row_count"] = row_count
        if created_by_email is not UNSET:
            field_dict["created_by_email"] = created_by_email
        if created_at is not UNSET:
            field_dict["created_at"] = created_at
        if updated_at is not UNSET:
            field_dict["updated_at"] = updated_at

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.cell_measurement_properties_type_0 import (
            CellMeasurementPropertiesType0,  # noqa: PLC0415
        )

        d = dict(src_dict)
        id = d.pop("id")

        name = d.pop("name")

        cell_instance_id = d.pop("cell_instance_id")

        def _parse_specification_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        specification_id = _parse_specification_id(d.pop("specification_id", UNSET))

        def _parse_measurement_type(data: object) -> MeasurementType | str | Unset:
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                measurement_type_type_0 = MeasurementType(data)

                return measurement_type_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(MeasurementType | str | Unset, data)

        measurement_type = _parse_measurement_type(d.pop("measurement_type", UNSET))

        def _parse_start_time(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        start_time = _parse_start_time(d.pop("start_time", UNSET))

        def _parse_end_time(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        end_time = _parse_end_time(d.pop("end_time", UNSET))

        def _parse_notes(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        notes = _parse_notes(d.pop("notes", UNSET))

        protocol = d.pop("protocol", UNSET)

        test_setup = d.pop("test_setup", UNSET)

        def _parse_properties(data: object) -> CellMeasurementPropertiesType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                properties_type_0 = CellMeasurementPropertiesType0.from_dict(data)

                return properties_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(CellMeasurementPropertiesType0 | None | Unset, data)

        properties = _parse_properties(d.pop("properties", UNSET))

        tags = cast(list[str], d.pop("tags", UNSET))

        def _parse_processing_status(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        processing_status = _parse_processing_status(d.pop("processing_status", UNSET))

        def _parse_processing_error(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        processing_error = _parse_processing_error(d.pop("processing_error", UNSET))

        def _parse_row_count(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        row_count = _parse_row_count(d.pop("row_count", UNSET))

        def _parse_created_by_email(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        created_by_email = _parse_created_by_email(d.pop("created_by_email", UNSET))

        created_at = d.pop("created_at", UNSET)

        updated_at = d.pop("updated_at", UNSET)

        cell_measurement = cls(
            id=id,
            name=name,
            cell_instance_id=cell_instance_id,
            specification_id=specification_id,
            measurement_type=measurement_type,
            start_time=start_time,
            end_time=end_time,
            notes=notes,
            protocol=protocol,
            test_setup=test_setup,
            properties=properties,
            tags=tags,
            processing_status=processing_status,
            processing_error=processing_error,
            row_count=row_count,
            created_by_email=created_by_email,
            created_at=created_at,
            updated_at=updated_at,
        )

        cell_measurement.additional_properties = d
        return cell_measurement

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
