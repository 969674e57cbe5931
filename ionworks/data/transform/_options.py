"""Options of the transform functions: the defaults, the allowed values, and the unit columns.

ionworksdata's functions take an ``options`` dict and silently drop keys they do not know; here
a key no transform function knows is a :class:`DataError` (a typo such as ``"methd"`` would
otherwise change nothing, with no sign of why). Keys known to another transform function are
accepted, because ``set_positive_current_for_discharge`` passes one dict down to several.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..columns import (
    CHARGE_CAPACITY,
    CURRENT,
    DISCHARGE_CAPACITY,
)
from ..errors import DataError

REST_TOL = 1e-3
"""A (A): below this |current| a row is at rest (ionworksdata's ``settings.rest_tol``)."""

ZERO_CURRENT_PERCENT_TOL = 1e-2
"""Fraction of the largest |current| under which the current counts as zero."""

EIS_TOLERANCE = 1e-8
"""Hz: a row with a frequency above this belongs to an impedance sweep."""

KNOWN = frozenset(
    {
        "method",
        "current units",
        "zero current tol",
        "step column",
        "group EIS steps",
        "EIS tolerance",
        "cycle column",
    }
)
"""Every option key any transform function reads."""

_UNITS = {"total": ("A", "A.h"), "density": ("mA.cm-2", "mA.h.cm-2")}


@dataclass(frozen=True)
class Units:
    """The current and capacity columns for ``current units`` ``total`` (A) or ``density``."""

    current: str
    discharge_capacity: str
    charge_capacity: str
    capacity: str
    nominal_capacity: str


def units(options: Mapping[str, Any] | None) -> Units:
    """The unit-carrying column names ``options["current units"]`` selects."""
    fmt = (options or {}).get("current units", "total")
    if fmt not in _UNITS:
        raise DataError(
            f"option 'current units' is {fmt!r}; use 'total' (A, A.h) or 'density' "
            "(mA.cm-2, mA.h.cm-2)"
        )
    current_unit, capacity_unit = _UNITS[fmt]

    def unit(name: str, old: str, new: str) -> str:
        return name.replace(f"[{old}]", f"[{new}]")

    discharge = unit(DISCHARGE_CAPACITY, "A.h", capacity_unit)
    return Units(
        current=unit(CURRENT, "A", current_unit),
        discharge_capacity=discharge,
        charge_capacity=unit(CHARGE_CAPACITY, "A.h", capacity_unit),
        capacity=f"Capacity [{capacity_unit}]",
        nominal_capacity=f"Nominal cell capacity [{capacity_unit}]",
    )


def combine(
    defaults: Mapping[str, Any],
    allowed: Mapping[str, tuple[Any, ...]],
    options: Mapping[str, Any] | None,
    function: str,
) -> dict[str, Any]:
    """``defaults`` overridden by ``options``; unknown keys and values not ``allowed`` raise."""
    given = dict(options or {})
    unknown = sorted(set(given) - KNOWN)
    if unknown:
        raise DataError(
            f"{function}: unknown option(s) {unknown}; known options are {sorted(KNOWN)}"
        )
    combined = dict(defaults)
    combined.update({k: v for k, v in given.items() if k in defaults})
    for key, values in allowed.items():
        if combined[key] not in values:
            raise DataError(
                f"{function}: option {key!r} is {combined[key]!r}; use one of {list(values)}"
            )
    return combined


def require(data_columns: list[str], name: str, function: str, fix: str) -> None:
    """Raise a :class:`DataError` naming the missing column ``name`` and how to get it."""
    if name not in data_columns:
        raise DataError(f"{function}: the data has no {name!r} column; {fix}")
