from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.run_measurement_sql_response_200_data import (
        RunMeasurementSqlResponse200Data,
    )


T = TypeVar("T", bound="RunMeasurementSqlResponse200")


@_attrs_define
class RunMeasurementSqlResponse200:
    """
    Attributes:
        columns (list[str]):
        types (list[str]): Polars dtype of each column.
        data (RunMeasurementSqlResponse200Data):
        row_count (int):
        truncated (bool):
        elapsed_ms (float):
    """

    columns: list[str]
    types: list[str]
    data: RunMeasurementSqlResponse200Data
    row_count: int
    truncated: bool
    elapsed_ms: float
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        columns = self.columns

        types = self.types

        data = self.data.to_dict()

        row_count = self.row_count

        truncated = self.truncated

        elapsed_ms = self.elapsed_ms

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "columns": columns,
                "types": types,
                "data": data,
                "row_count": row_count,
                "truncated": truncated,
                "elapsed_ms": elapsed_ms,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.run_measurement_sql_response_200_data import (
            RunMeasurementSqlResponse200Data,  # noqa: PLC0415
        )

        d = dict(src_dict)
        columns = cast(list[str], d.pop("columns"))

        types = cast(list[str], d.pop("types"))

        data = RunMeasurementSqlResponse200Data.from_dict(d.pop("data"))

        row_count = d.pop("row_count")

        truncated = d.pop("truncated")

        elapsed_ms = d.pop("elapsed_ms")

        run_measurement_sql_response_200 = cls(
            columns=columns,
            types=types,
            data=data,
            row_count=row_count,
            truncated=truncated,
            elapsed_ms=elapsed_ms,
        )

        run_measurement_sql_response_200.additional_properties = d
        return run_measurement_sql_response_200

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
