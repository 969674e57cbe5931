from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.get_time_series_overview_response_200_files import (
        GetTimeSeriesOverviewResponse200Files,
    )
    from ..models.get_time_series_overview_response_200_series import (
        GetTimeSeriesOverviewResponse200Series,
    )


T = TypeVar("T", bound="GetTimeSeriesOverviewResponse200")


@_attrs_define
class GetTimeSeriesOverviewResponse200:
    """
    Attributes:
        rows (int): Rows in the whole time series.
        window_rows (int): Rows between `start` and `end`.
        time_range (list[float] | None): First and last `Time [s]` in the window, or null when it is empty.
        columns (list[str]):
        series (GetTimeSeriesOverviewResponse200Series):
        files (GetTimeSeriesOverviewResponse200Files):
    """

    rows: int
    window_rows: int
    time_range: list[float] | None
    columns: list[str]
    series: GetTimeSeriesOverviewResponse200Series
    files: GetTimeSeriesOverviewResponse200Files
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        rows = self.rows

        window_rows = self.window_rows

        time_range: list[float] | None
        if isinstance(self.time_range, list):
            time_range = self.time_range

        else:
            time_range = self.time_range

        columns = self.columns

        series = self.series.to_dict()

        files = self.files.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "rows": rows,
                "window_rows": window_rows,
                "time_range": time_range,
                "columns": columns,
                "series": series,
                "files": files,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.get_time_series_overview_response_200_files import (
            GetTimeSeriesOverviewResponse200Files,  # noqa: PLC0415
        )
        from ..models.get_time_series_overview_response_200_series import (
            GetTimeSeriesOverviewResponse200Series,  # noqa: PLC0415
        )

        d = dict(src_dict)
        rows = d.pop("rows")

        window_rows = d.pop("window_rows")

        def _parse_time_range(data: object) -> list[float] | None:
            if data is None:
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                time_range_type_0 = cast(list[float], data)

                return time_range_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[float] | None, data)

        time_range = _parse_time_range(d.pop("time_range"))

        columns = cast(list[str], d.pop("columns"))

        series = GetTimeSeriesOverviewResponse200Series.from_dict(d.pop("series"))

        files = GetTimeSeriesOverviewResponse200Files.from_dict(d.pop("files"))

        get_time_series_overview_response_200 = cls(
            rows=rows,
            window_rows=window_rows,
            time_range=time_range,
            columns=columns,
            series=series,
            files=files,
        )

        get_time_series_overview_response_200.additional_properties = d
        return get_time_series_overview_response_200

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
