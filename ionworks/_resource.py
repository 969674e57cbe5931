"""The base of every resource object: typed read-only fields over the JSON the server sent.

Kept apart from ``models.py`` because the generated field lists (``_spec_fields.py``) build on
``Field`` and ``Resource`` while ``models.py`` builds on them: one base module keeps the imports
one-way. ``ionworks.models`` re-exports both names.
"""

from __future__ import annotations

import html
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar, Generic, TypeVar, overload

T = TypeVar("T")


class Field(Generic[T]):
    """A typed read-only view of one key of the wrapped JSON (missing keys read as None)."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, objtype: type | None = None) -> Field[T]: ...
    @overload
    def __get__(self, obj: Resource, objtype: type | None = None) -> T: ...
    def __get__(self, obj: Resource | None, objtype: type | None = None) -> T | Field[T]:
        if obj is None:
            return self
        return obj._data.get(self.name)  # type: ignore[return-value]


class Resource(Mapping[str, Any]):
    """Base class: a read-only mapping with attribute access and compact reprs."""

    _summary_fields: ClassVar[tuple[str, ...]] = ("id", "name")

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data: dict[str, Any] = dict(data)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._data[name]
        except KeyError:
            fields = ", ".join(sorted(self._data))
            raise AttributeError(
                f"{type(self).__name__} has no field {name!r}; fields present: {fields}"
            ) from None

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Resource):
            return type(self) is type(other) and self._data == other._data
        return NotImplemented

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._data.get("id")))

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._data))

    def to_dict(self) -> dict[str, Any]:
        """A deep-enough copy of the server's JSON, safe to modify."""
        return dict(self._data)

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{key}={self._data[key]!r}" for key in self._summary_fields if key in self._data
        )
        return f"{type(self).__name__}({shown})"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(str(k))}</th>"
            f"<td style='text-align:left'>{html.escape(_short(v))}</td></tr>"
            for k, v in self._data.items()
        )
        return f"<b>{type(self).__name__}</b><table>{rows}</table>"


def field_names(cls: type[Resource]) -> frozenset[str]:
    """Names of the typed fields a resource class declares (its own and inherited).

    Lets tests and tools compare a class with the spec without instantiating it.
    """
    return frozenset(
        name
        for klass in cls.__mro__
        for name, value in vars(klass).items()
        if isinstance(value, Field)
    )


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[: limit - 1] + "…"
