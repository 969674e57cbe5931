from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.column_table import ColumnTable


T = TypeVar("T", bound="CyclesResponse")


@_attrs_define
class CyclesResponse:
    """
    Attributes:
        cycles (ColumnTable): A column-oriented table, `{column name: [values...]}`, all columns of equal length.
    """

    cycles: ColumnTable
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        cycles = self.cycles.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "cycles": cycles,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.column_table import ColumnTable  # noqa: PLC0415

        d = dict(src_dict)
        cycles = ColumnTable.from_dict(d.pop("cycles"))

        cycles_response = cls(
            cycles=cycles,
        )

        cycles_response.additional_properties = d
        return cycles_response

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
