from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.component import Component
    from ..models.ratings import Ratings


T = TypeVar("T", bound="CellSpecificationUpdate")


@_attrs_define
class CellSpecificationUpdate:
    """
    Attributes:
        name (str | Unset):
        project_id (None | str | Unset): Cannot change: equal to the current project, or null.
        form_factor (None | str | Unset):
        manufacturer (None | str | Unset):
        chemistry (None | str | Unset):
        ratings (None | Ratings | Unset): Rated quantities; on update, merged key by key (a key set to null is removed).
            Null changes nothing.
        anode (Component | None | Unset):
        cathode (Component | None | Unset):
        electrolyte (Component | None | Unset):
        separator (Component | None | Unset):
        case (Component | None | Unset):
    """

    name: str | Unset = UNSET
    project_id: None | str | Unset = UNSET
    form_factor: None | str | Unset = UNSET
    manufacturer: None | str | Unset = UNSET
    chemistry: None | str | Unset = UNSET
    ratings: None | Ratings | Unset = UNSET
    anode: Component | None | Unset = UNSET
    cathode: Component | None | Unset = UNSET
    electrolyte: Component | None | Unset = UNSET
    separator: Component | None | Unset = UNSET
    case: Component | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.component import Component  # noqa: PLC0415
        from ..models.ratings import Ratings  # noqa: PLC0415

        name = self.name

        project_id: None | str | Unset
        if isinstance(self.project_id, Unset):
            project_id = UNSET
        else:
            project_id = self.project_id

        form_factor: None | str | Unset
        if isinstance(self.form_factor, Unset):
            form_factor = UNSET
        else:
            form_factor = self.form_factor

        manufacturer: None | str | Unset
        if isinstance(self.manufacturer, Unset):
            manufacturer = UNSET
        else:
            manufacturer = self.manufacturer

        chemistry: None | str | Unset
        if isinstance(self.chemistry, Unset):
            chemistry = UNSET
        else:
            chemistry = self.chemistry

        ratings: dict[str, Any] | None | Unset
        if isinstance(self.ratings, Unset):
            ratings = UNSET
        elif isinstance(self.ratings, Ratings):
            ratings = self.ratings.to_dict()
        else:
            ratings = self.ratings

        anode: dict[str, Any] | None | Unset
        if isinstance(self.anode, Unset):
            anode = UNSET
        elif isinstance(self.anode, Component):
            anode = self.anode.to_dict()
        else:
            anode = self.anode

        cathode: dict[str, Any] | None | Unset
        if isinstance(self.cathode, Unset):
            cathode = UNSET
        elif isinstance(self.cathode, Component):
            cathode = self.cathode.to_dict()
        else:
            cathode = self.cathode

        electrolyte: dict[str, Any] | None | Unset
        if isinstance(self.electrolyte, Unset):
            electrolyte = UNSET
        elif isinstance(self.electrolyte, Component):
            electrolyte = self.electrolyte.to_dict()
        else:
            electrolyte = self.electrolyte

        separator: dict[str, Any] | None | Unset
        if isinstance(self.separator, Unset):
            separator = UNSET
        elif isinstance(self.separator, Component):
            separator = self.separator.to_dict()
        else:
            separator = self.separator

        case: dict[str, Any] | None | Unset
        if isinstance(self.case, Unset):
            case = UNSET
        elif isinstance(self.case, Component):
            case = self.case.to_dict()
        else:
            case = self.case

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if name is not UNSET:
            field_dict["name"] = name
        if project_id is not UNSET:
            field_dict["project_id"] = project_id
        if form_factor is not UNSET:
            field_dict["form_factor"] = form_factor
        if manufacturer is not UNSET:
            field_dict["manufacturer"] = manufacturer
        if chemistry is not UNSET:
            field_dict["chemistry"] = chemistry
        if ratings is not UNSET:
            field_dict["ratings"] = ratings
        if anode is not UNSET:
            field_dict["anode"] = anode
        if cathode is not UNSET:
            field_dict["cathode"] = cathode
        if electrolyte is not UNSET:
            field_dict["electrolyte"] = electrolyte
        if separator is not UNSET:
            field_dict["separator"] = separator
        if case is not UNSET:
            field_dict["case"] = case

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.component import Component  # noqa: PLC0415
        from ..models.ratings import Ratings  # noqa: PLC0415

        d = dict(src_dict)
        name = d.pop("name", UNSET)

        def _parse_project_id(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        project_id = _parse_project_id(d.pop("project_id", UNSET))

        def _parse_form_factor(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        form_factor = _parse_form_factor(d.pop("form_factor", UNSET))

        def _parse_manufacturer(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        manufacturer = _parse_manufacturer(d.pop("manufacturer", UNSET))

        def _parse_chemistry(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        chemistry = _parse_chemistry(d.pop("chemistry", UNSET))

        def _parse_ratings(data: object) -> None | Ratings | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                ratings_type_0 = Ratings.from_dict(data)

                return ratings_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Ratings | Unset, data)

        ratings = _parse_ratings(d.pop("ratings", UNSET))

        def _parse_anode(data: object) -> Component | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                anode_type_0 = Component.from_dict(data)

                return anode_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(Component | None | Unset, data)

        anode = _parse_anode(d.pop("anode", UNSET))

        def _parse_cathode(data: object) -> Component | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                cathode_type_0 = Component.from_dict(data)

                return cathode_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(Component | None | Unset, data)

        cathode = _parse_cathode(d.pop("cathode", UNSET))

        def _parse_electrolyte(data: object) -> Component | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                electrolyte_type_0 = Component.from_dict(data)

                return electrolyte_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(Component | None | Unset, data)

        electrolyte = _parse_electrolyte(d.pop("electrolyte", UNSET))

        def _parse_separator(data: object) -> Component | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                separator_type_0 = Component.from_dict(data)

                return separator_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(Component | None | Unset, data)

        separator = _parse_separator(d.pop("separator", UNSET))

        def _parse_case(data: object) -> Component | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                case_type_0 = Component.from_dict(data)

                return case_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(Component | None | Unset, data)

        case = _parse_case(d.pop("case", UNSET))

        cell_specification_update = cls(
            name=name,
            project_id=project_id,
            form_factor=form_factor,
            manufacturer=manufacturer,
            chemistry=chemistry,
            ratings=ratings,
            anode=anode,
            cathode=cathode,
            electrolyte=electrolyte,
            separator=separator,
            case=case,
        )

        cell_specification_update.additional_properties = d
        return cell_specification_update

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
