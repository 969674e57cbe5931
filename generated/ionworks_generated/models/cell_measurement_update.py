from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.cell_measurement_update_properties_type_0 import (
        CellMeasurementUpdatePropertiesType0,
    )


T = TypeVar("T", bound="CellMeasurementUpdate")


@_attrs_define
class CellMeasurementUpdate:
    """
    Attributes:
        name (str | Unset):
        notes (None | str | Unset):
        start_time (None | str | Unset):
        end_time (None | str | Unset):
        protocol (Any | Unset): Free-form protocol description.
        test_setup (Any | Unset): Free-form test setup description.
        properties (CellMeasurementUpdatePropertiesType0 | None | Unset):
        tags (list[str] | None | str | Unset): The tag set (each tag trimmed, at most 50 tags of 50 characters). A bare
            string is one tag; null clears.
    """

    name: str | Unset = UNSET
    notes: None | str | Unset = UNSET
    start_time: None | str | Unset = UNSET
    end_time: None | str | Unset = UNSET
    protocol: Any | Unset = UNSET
    test_setup: Any | Unset = UNSET
    properties: CellMeasurementUpdatePropertiesType0 | None | Unset = UNSET
    tags: list[str] | None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.cell_measurement_update_properties_type_0 import (
            CellMeasurementUpdatePropertiesType0,  # noqa: PLC0415
        )

        name = self.name

        notes: None | str | Unset
        if isinstance(self.notes, Unset):
            notes = UNSET
        else:
            notes = self.notes

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

        protocol = self.protocol

        test_setup = self.test_setup

        properties: dict[str, Any] | None | Unset
        if isinstance(self.properties, Unset):
            properties = UNSET
        elif isinstance(self.properties, CellMeasurementUpdatePropertiesType0):
            properties = self.properties.to_dict()
        else:
            properties = self.properties

        tags: list[str] | None | str | Unset
        if isinstance(self.tags, Unset):
            tags = UNSET
        elif isinstance(self.tags, list):
            tags = self.tags

        else:
            tags = self.tags

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if name is not UNSET:
            field_dict["name"] = name
        if notes is not UNSET:
            field_dict["notes"] = notes
        if start_time is not UNSET:
            field_dict["start_time"] = start_time
        if end_time is not UNSET:
            field_dict["end_time"] = end_time
        if protocol is not UNSET:
            field_dict["protocol"] = protocol
        if test_setup is not UNSET:
            field_dict["test_setup"] = test_setup
        if properties is not UNSET:
            field_dict["properties"] = properties
        if tags is not UNSET:
            field_dict["tags"] = tags

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.cell_measurement_update_properties_type_0 import (
            CellMeasurementUpdatePropertiesType0,  # noqa: PLC0415
        )

        d = dict(src_dict)
        name = d.pop("name", UNSET)

        def _parse_notes(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        notes = _parse_notes(d.pop("notes", UNSET))

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

        protocol = d.pop("protocol", UNSET)

        test_setup = d.pop("test_setup", UNSET)

        def _parse_properties(data: object) -> CellMeasurementUpdatePropertiesType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                properties_type_0 = CellMeasurementUpdatePropertiesType0.from_dict(data)

                return properties_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(CellMeasurementUpdatePropertiesType0 | None | Unset, data)

        properties = _parse_properties(d.pop("properties", UNSET))

        def _parse_tags(data: object) -> list[str] | None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                tags_type_0 = cast(list[str], data)

                return tags_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[str] | None | str | Unset, data)

        tags = _parse_tags(d.pop("tags", UNSET))

        cell_measurement_update = cls(
            name=name,
            notes=notes,
            start_time=start_time,
            end_time=end_time,
            protocol=protocol,
            test_setup=test_setup,
            properties=properties,
            tags=tags,
        )

        cell_measurement_update.additional_properties = d
        return cell_measurement_update

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
