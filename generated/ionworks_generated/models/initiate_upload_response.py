from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.upload_info import UploadInfo


T = TypeVar("T", bound="InitiateUploadResponse")


@_attrs_define
class InitiateUploadResponse:
    """
    Attributes:
        measurement_id (str):
        uploads (list[UploadInfo]):
    """

    measurement_id: str
    uploads: list[UploadInfo]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        measurement_id = self.measurement_id

        uploads = []
        for uploads_item_data in self.uploads:
            uploads_item = uploads_item_data.to_dict()
            uploads.append(uploads_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "measurement_id": measurement_id,
                "uploads": uploads,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.upload_info import UploadInfo  # noqa: PLC0415

        d = dict(src_dict)
        measurement_id = d.pop("measurement_id")

        uploads = []
        _uploads = d.pop("uploads")
        for uploads_item_data in _uploads:
            uploads_item = UploadInfo.from_dict(uploads_item_data)

            uploads.append(uploads_item)

        initiate_upload_response = cls(
            measurement_id=measurement_id,
            uploads=uploads,
        )

        initiate_upload_response.additional_properties = d
        return initiate_upload_response

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
