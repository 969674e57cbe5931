from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.pipeline_result_type_0 import PipelineResultType0


T = TypeVar("T", bound="Pipeline")


@_attrs_define
class Pipeline:
    """
    Example:
        {'id': 'pipe-31c0', 'name': 'OCV entry', 'description': None, 'project_id': 'proj-demo', 'status': 'completed',
            'error': None, 'is_terminal': True, 'is_failed': False, 'result': {'entry': {'Negative electrode capacity
            [A.h]': 0.0051}}, 'created_at': '2026-03-08T12:00:00Z'}

    Attributes:
        id (str):
        status (str): `pending`, `running`, `completed` or `failed`.
        is_terminal (bool):
        is_failed (bool):
        name (None | str | Unset):
        description (None | str | Unset):
        project_id (None | str | Unset):
        error (None | str | Unset):
        result (None | PipelineResultType0 | Unset):
        created_at (str | Unset):
    """

    id: str
    status: str
    is_terminal: bool
    is_failed: bool
    name: None | str | Unset = UNSET
    description: None | str | Unset = UNSET
    project_id: None | str | Unset = UNSET
    error: None | str | Unset = UNSET
    result: None | PipelineResultType0 | Unset = UNSET
    created_at: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.pipeline_result_type_0 import PipelineResultType0  # noqa: PLC0415

        id = self.id

        status = self.status

        is_terminal = self.is_terminal

        is_failed = self.is_failed

        name: None | str | Unset
        if isinstance(self.name, Unset):
            name = UNSET
        else:
            name = self.name

        description: None | str | Unset
        if isinstance(self.description, Unset):
            description = UNSET
        else:
            description = self.description

        project_id: None | str | Unset
        if isinstance(self.project_id, Unset):
            project_id = UNSET
        else:
            project_id = self.project_id

        error: None | str | Unset
        if isinstance(self.error, Unset):
            error = UNSET
        else:
            error = self.error

        result: dict[str, Any] | None | Unset
        if isinstance(self.result, Unset):
            result = UNSET
        elif isinstance(self.result, PipelineResultType0):
            result = self.result.to_dict()
        else:
            result = self.result

        created_at = self.created_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "status": status,
                "is_terminal": is_terminal,
                "is_failed": is_failed,
            }
        )
        if name is not UNSET:
            field_dict["name"] = name
        if description is not UNSET:
            field_dict["description"] = description
        if project_id is not UNSET:
            field_dict["project_id"] = project_id
        if error is not UNSET:
            field_dict["error"] = error
        if result is not UNSET:
            field_dict["result"] = result
        if created_at is not UNSET:
            field_dict["created_at"] = created_at

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.pipeline_result_type_0 import PipelineResultType0  # noqa: PLC0415

        d = dict(src_dict)
        id = d.pop("id")

        status = d.pop("status")

        is_terminal = d.pop("is_terminal")

        is_failed = d.pop("is_failed")

        def _parse_name(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        name = _parse_name(d.pop("name", UNSET))

        def _parse_description(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        description = _parse_description(d.pop("description", UNSET))

        def _parse_project_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        project_id = _parse_project_id(d.pop("project_id", UNSET))

        def _parse_error(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        error = _parse_error(d.pop("error", UNSET))

        def _parse_result(data: object) -> None | PipelineResultType0 | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                result_type_0 = PipelineResultType0.from_dict(data)

                return result_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | PipelineResultType0 | Unset, data)

        result = _parse_result(d.pop("result", UNSET))

        created_at = d.pop("created_at", UNSET)

        pipeline = cls(
            id=id,
            status=status,
            is_terminal=is_terminal,
            is_failed=is_failed,
            name=name,
            description=description,
            project_id=project_id,
            error=error,
            result=result,
            created_at=created_at,
        )

        pipeline.additional_properties = d
        return pipeline

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
