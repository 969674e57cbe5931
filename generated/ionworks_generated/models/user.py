from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.organization import Organization


T = TypeVar("T", bound="User")


@_attrs_define
class User:
    """
    Attributes:
        id (str):
        email (str):
        authorized_organization (None | Organization | Unset):
        organizations (list[Organization] | Unset):
        default_project_id (None | str | Unset): Project used when a request names none (spec names are unique per
            project).
    """

    id: str
    email: str
    authorized_organization: None | Organization | Unset = UNSET
    organizations: list[Organization] | Unset = UNSET
    default_project_id: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.organization import Organization  # noqa: PLC0415

        id = self.id

        email = self.email

        authorized_organization: dict[str, Any] | None | Unset
        if isinstance(self.authorized_organization, Unset):
            authorized_organization = UNSET
        elif isinstance(self.authorized_organization, Organization):
            authorized_organization = self.authorized_organization.to_dict()
        else:
            authorized_organization = self.authorized_organization

        organizations: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.organizations, Unset):
            organizations = []
            for organizations_item_data in self.organizations:
                organizations_item = organizations_item_data.to_dict()
                organizations.append(organizations_item)

        default_project_id: None | str | Unset
        if isinstance(self.default_project_id, Unset):
            default_project_id = UNSET
        else:
            default_project_id = self.default_project_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "email": email,
            }
        )
        if authorized_organization is not UNSET:
            field_dict["authorized_organization"] = authorized_organization
        if organizations is not UNSET:
            field_dict["organizations"] = organizations
        if default_project_id is not UNSET:
            field_dict["default_project_id"] = default_project_id

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.organization import Organization  # noqa: PLC0415

        d = dict(src_dict)
        id = d.pop("id")

        email = d.pop("email")

        def _parse_authorized_organization(data: object) -> None | Organization | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                authorized_organization_type_0 = Organization.from_dict(data)

                return authorized_organization_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Organization | Unset, data)

        authorized_organization = _parse_authorized_organization(
            d.pop("authorized_organization", UNSET)
        )

        _organizations = d.pop("organizations", UNSET)
        organizations: list[Organization] | Unset = UNSET
        if _organizations is not UNSET:
            organizations = []
            for organizations_item_data in _organizations:
                organizations_item = Organization.from_dict(organizations_item_data)

                organizations.append(organizations_item)

        def _parse_default_project_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        default_project_id = _parse_default_project_id(d.pop("default_project_id", UNSET))

        user = cls(
            id=id,
            email=email,
            authorized_organization=authorized_organization,
            organizations=organizations,
            default_project_id=default_project_id,
        )

        user.additional_properties = d
        return user

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
