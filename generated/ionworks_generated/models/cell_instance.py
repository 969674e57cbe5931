from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="CellInstance")


@_attrs_define
class CellInstance:
    """
    Example:
        {'id': 'inst-42', 'name': 'batch-A-cell-01', 'cell_specification_id': 'spec-9d2e', 'batch_id': None,
            'batch_name': None, 'notes': 'Built 2026-02-11', 'created_by_email': 'jane.doe@example.com', 'created_at':
            '2026-02-11T10:00:00Z', 'updated_at': '2026-02-11T10:00:00Z'}

    Attributes:
        id (str):
        name (str):
        cell_specification_id (str):
        batch_id (None | str | Unset):
        batch_name (None | str | Unset):
        notes (None | str | Unset):
        created_by_email (None | str | Unset):
        created_at (str | Unset):
        updated_at (str | Unset):
    """

    id: str
    name: str
    cell_specification_id: str
    batch_id: None | str | Unset = UNSET
    batch_name: None | str | Unset = UNSET
    notes: None | str | Unset = UNSET
    created_by_email: None | str | Unset = UNSET
    created_at: str | Unset = UNSET
    updated_at: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        name = self.name

        cell_specification_id = self.cell_specification_id

        batch_id: None | str | Unset
        if isinstance(self.batch_id, Unset):
            batch_id = UNSET
        else:
            batch_id = self.batch_id

        batch_name: None | str | Unset
        if isinstance(self.batch_name, Unset):
            batch_name = UNSET
        else:
            batch_name = self.batch_name

        notes: None | str | Unset
        if isinstance(self.notes, Unset):
            notes = UNSET
        else:
            notes = self.notes

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
                "cell_specification_id": cell_specification_id,
            }
        )
        if batch_id is not UNSET:
            field_dict["batch_id"] = batch_id
        if batch_name is not UNSET:
            field_dict["batch_name"] = batch_name
        if notes is not UNSET:
            field_dict["notes"] = notes
        if created_by_email is not UNSET:
            field_dict["created_by_email"] = created_by_email
        if created_at is not UNSET:
            field_dict["created_at"] = created_at
        if updated_at is not UNSET:
            field_dict["updated_at"] = updated_at

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        name = d.pop("name")

        cell_specification_id = d.pop("cell_specification_id")

        def _parse_batch_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        batch_id = _parse_batch_id(d.pop("batch_id", UNSET))

        def _parse_batch_name(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        batch_name = _parse_batch_name(d.pop("batch_name", UNSET))

        def _parse_notes(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        notes = _parse_notes(d.pop("notes", UNSET))

        def _parse_created_by_email(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        created_by_email = _parse_created_by_email(d.pop("created_by_email", UNSET))

        created_at = d.pop("created_at", UNSET)

        updated_at = d.pop("updated_at", UNSET)

        cell_instance = cls(
            id=id,
            name=name,
            cell_specification_id=cell_specification_id,
            batch_id=batch_id,
            batch_name=batch_name,
            notes=notes,
            created_by_email=created_by_email,
            created_at=created_at,
            updated_at=updated_at,
        )

        cell_instance.additional_properties = d
        return cell_instance

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
