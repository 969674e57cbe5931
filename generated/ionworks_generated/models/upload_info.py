from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.upload_info_multipart_type_0 import UploadInfoMultipartType0


T = TypeVar("T", bound="UploadInfo")


@_attrs_define
class UploadInfo:
    """
    Attributes:
        signed_url (str): Where to PUT the bytes, with no API credentials.
        filename (str | Unset):
        token (str | Unset):
        path (str | Unset):
        multipart (None | Unset | UploadInfoMultipartType0): S3 multipart credentials for very large uploads; absent on
            the local server.
    """

    signed_url: str
    filename: str | Unset = UNSET
    token: str | Unset = UNSET
    path: str | Unset = UNSET
    multipart: None | Unset | UploadInfoMultipartType0 = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.upload_info_multipart_type_0 import UploadInfoMultipartType0  # noqa: PLC0415

        signed_url = self.signed_url

        filename = self.filename

        token = self.token

        path = self.path

        multipart: dict[str, Any] | None | Unset
        if isinstance(self.multipart, Unset):
            multipart = UNSET
        elif isinstance(self.multipart, UploadInfoMultipartType0):
            multipart = self.multipart.to_dict()
        else:
            multipart = self.multipart

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "signed_url": signed_url,
            }
        )
        if filename is not UNSET:
            field_dict["filename"] = filename
        if token is not UNSET:
            field_dict["token"] = token
        if path is not UNSET:
            field_dict["path"] = path
        if multipart is not UNSET:
            field_dict["multipart"] = multipart

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.upload_info_multipart_type_0 import UploadInfoMultipartType0  # noqa: PLC0415

        d = dict(src_dict)
        signed_url = d.pop("signed_url")

        filename = d.pop("filename", UNSET)

        token = d.pop("token", UNSET)

        path = d.pop("path", UNSET)

        def _parse_multipart(data: object) -> None | Unset | UploadInfoMultipartType0:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                multipart_type_0 = UploadInfoMultipartType0.from_dict(data)

                return multipart_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Unset | UploadInfoMultipartType0, data)

        multipart = _parse_multipart(d.pop("multipart", UNSET))

        upload_info = cls(
            signed_url=signed_url,
            filename=filename,
            token=token,
            path=path,
            multipart=multipart,
        )

        upload_info.additional_properties = d
        return upload_info

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
