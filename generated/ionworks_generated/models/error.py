from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.known_error_code import KnownErrorCode
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.error_detail_type_0 import ErrorDetailType0


T = TypeVar("T", bound="Error")


@_attrs_define
class Error:
    """The one error body of every 4xx and 5xx response.

    Example:
        {'error_code': 'CONFLICT', 'message': 'Cell specification with this name already exists', 'detail':
            {'existing_id': 'abc-123'}}

    Attributes:
        error_code (KnownErrorCode | str): Machine-readable code. Clients must accept codes they do not know yet.
        message (str): Human-readable description of what went wrong.
        detail (ErrorDetailType0 | None | Unset): Optional context; contents vary by error (for conflicts,
            `existing_id`).
    """

    error_code: KnownErrorCode | str
    message: str
    detail: ErrorDetailType0 | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.error_detail_type_0 import ErrorDetailType0  # noqa: PLC0415

        error_code: str
        if isinstance(self.error_code, KnownErrorCode):
            error_code = self.error_code.value
        else:
            error_code = self.error_code

        message = self.message

        detail: dict[str, Any] | None | Unset
        if isinstance(self.detail, Unset):
            detail = UNSET
        elif isinstance(self.detail, ErrorDetailType0):
            detail = self.detail.to_dict()
        else:
            detail = self.detail

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "error_code": error_code,
                "message": message,
            }
        )
        if detail is not UNSET:
            field_dict["detail"] = detail

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.error_detail_type_0 import ErrorDetailType0  # noqa: PLC0415

        d = dict(src_dict)

        def _parse_error_code(data: object) -> KnownErrorCode | str:
            try:
                if not isinstance(data, str):
                    raise TypeError()
                error_code_type_0 = KnownErrorCode(data)

                return error_code_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(KnownErrorCode | str, data)

        error_code = _parse_error_code(d.pop("error_code"))

        message = d.pop("message")

        def _parse_detail(data: object) -> ErrorDetailType0 | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                detail_type_0 = ErrorDetailType0.from_dict(data)

                return detail_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(ErrorDetailType0 | None | Unset, data)

        detail = _parse_detail(d.pop("detail", UNSET))

        error = cls(
            error_code=error_code,
            message=message,
            detail=detail,
        )

        error.additional_properties = d
        return error

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
