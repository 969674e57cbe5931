from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.measurement_type import MeasurementType
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.measurement_fields import MeasurementFields


T = TypeVar("T", bound="InitiateUploadRequest")


@_attrs_define
class InitiateUploadRequest:
    """
    Attributes:
        measurement (MeasurementFields): Measurement metadata sent with an upload; `name` is required, other keys are
            stored as given.
        measurement_type (MeasurementType | Unset):
        filenames (list[str] | Unset): For file measurements, the names of the files to upload, in order.
    """

    measurement: MeasurementFields
    measurement_type: MeasurementType | Unset = UNSET
    filenames: list[str] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        measurement = self.measurement.to_dict()

        measurement_type: str | Unset = UNSET
        if not isinstance(self.measurement_type, Unset):
            measurement_type = self.measurement_type.value

        filenames: list[str] | Unset = UNSET
        if not isinstance(self.filenames, Unset):
            filenames = self.filenames

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "measurement": measurement,
            }
        )
        if measurement_type is not UNSET:
            field_dict["measurement_type"] = measurement_type
        if filenames is not UNSET:
            field_dict["filenames"] = filenames

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.measurement_fields import MeasurementFields  # noqa: PLC0415

        d = dict(src_dict)
        measurement = MeasurementFields.from_dict(d.pop("measurement"))

        _measurement_type = d.pop("measurement_type", UNSET)
        measurement_type: MeasurementType | Unset
        if isinstance(_measurement_type, Unset):
            measurement_type = UNSET
        else:
            measurement_type = MeasurementType(_measurement_type)

        filenames = cast(list[str], d.pop("filenames", UNSET))

        initiate_upload_request = cls(
            measurement=measurement,
            measurement_type=measurement_type,
            filenames=filenames,
        )

        initiate_upload_request.additional_properties = d
        return initiate_upload_request

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
