"""DataLoader options and transforms: what ``options={...}`` means, as pure frame functions.

The option surface and the transform order are ionworksdata 0.20.2's (``DataLoader`` in
``ionworksdata/load.py``, ``DataLoaderOptions`` in ``ionworks_schema``): ``rest_to_ocp``, then
``sort``, ``remove_duplicates``, ``remove_extremes``, ``filters``, ``interpolate``. Options are
checked in full by :func:`parse_options` before anything is fetched, so a misspelt key or a value
of the wrong type fails at once instead of quietly skipping the preprocessing asked for.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from .columns import (
    CAPACITY,
    CHARGE_CAPACITY,
    DISCHARGE_CAPACITY,
    END_INDEX,
    OCP_VOLTAGE_ALIASES,
    STEP_COUNT,
    STEP_TYPE,
    TIME,
    VOLTAGE,
)
from .differential import savgol_filter
from .errors import DataError
from .window import Window, check_step_selector

__all__ = [
    "OPTION_KEYS",
    "TRANSFORM_KEYS",
    "LoaderOptions",
    "alias_capacity",
    "apply_transforms",
    "filter_data",
    "interpolate_data",
    "ocp_voltage",
    "parse_options",
    "remove_duplicate_ocp",
    "remove_ocp_extremes",
    "rest_to_ocp",
    "sort_capacity_and_ocp",
    "transform_window",
]

_BOOL_TRANSFORMS = ("rest_to_ocp", "sort", "remove_duplicates", "remove_extremes")
TRANSFORM_KEYS = (*_BOOL_TRANSFORMS, "filters", "interpolate", "keep_first_ocp_point")
"""Transform names, accepted under ``transforms`` and (the older spelling) at the top level."""
OPTION_KEYS = frozenset(
    {"first_step", "last_step", "first_step_dict", "last_step_dict", "capacity_column"}
    | {"transforms", *TRANSFORM_KEYS}
)
"""Every key ``options`` may hold; anything else is an error."""


@dataclass(frozen=True)
class LoaderOptions:
    """Parsed options: the step selectors, the capacity column and the transforms to run."""

    first_step: Any = None
    last_step: Any = None
    capacity_column: str | None = None
    transforms: dict[str, Any] = field(default_factory=dict)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_filters(filters: Any) -> None:
    """``{column: {"filter_type": "savgol", "parameters": {...}}}``, checked without data."""
    if not isinstance(filters, Mapping):
        raise DataError(f"transforms 'filters' must map columns to filters, got {filters!r}.")
    for column, spec in filters.items():
        if not isinstance(spec, Mapping) or spec.get("filter_type") != "savgol":
            raise DataError(
                f"filter for {column!r} must be {{'filter_type': 'savgol', 'parameters': "
                f"{{'window_length': n, 'polyorder': k}}}}, got {spec!r}."
            )
        if not isinstance(spec.get("parameters", {}), Mapping):
            raise DataError(f"filter 'parameters' for {column!r} must be a dict.")


def _check_transform(name: str, value: Any) -> Any:
    """Validate one transform value; returns it normalised (an array of knots becomes a list)."""
    if name == "filters":
        _check_filters(value)
        return dict(value)
    if name == "interpolate":
        if hasattr(value, "tolist"):
            value = value.tolist()
        if _is_number(value) and value > 0:
            return value
        if isinstance(value, list) and value and all(_is_number(v) for v in value):
            return value
        raise DataError(
            f"transforms 'interpolate' must be a positive spacing or a list of knots, got {value!r}."
        )
    if not isinstance(value, bool):
        raise DataError(f"transforms {name!r} must be True or False, got {value!r}.")
    return value


def _transforms(options: Mapping[str, Any]) -> dict[str, Any]:
    nested = options.get("transforms") or {}
    if not isinstance(nested, Mapping):
        raise DataError(f"options 'transforms' must be a dict, got {nested!r}.")
    unknown = sorted(str(k) for k in nested if k not in TRANSFORM_KEYS)
    if unknown:
        raise DataError(
            f"Unknown transform(s) {', '.join(map(repr, unknown))}; "
            f"allowed: {', '.join(TRANSFORM_KEYS)}."
        )
    merged = dict(nested)
    for key in TRANSFORM_KEYS:  # the older top-level spelling; the nested one wins
        if key in options and key not in merged:
            merged[key] = options[key]
    return {k: _check_transform(k, v) for k, v in merged.items() if v is not None}


def _selector(options: Mapping[str, Any], name: str) -> Any:
    value, legacy = options.get(name), options.get(f"{name}_dict")
    if value is not None and legacy is not None:
        raise DataError(f"Cannot specify both {name} and {name}_dict.")
    if legacy is not None:
        warnings.warn(
            f"{name}_dict is deprecated. Use {name} instead.", DeprecationWarning, stacklevel=4
        )
        value = legacy
    check_step_selector(name, value)
    if isinstance(value, Mapping):
        warnings.warn(
            "Using dict format for step selection is deprecated. Use string SQL queries "
            "(first_step_from_cycle(n)) or integer step indices instead.",
            DeprecationWarning,
            stacklevel=4,
        )
    return value


def parse_options(options: Mapping[str, Any] | None) -> LoaderOptions:
    """Check every key and value of ``options`` and return them parsed."""
    options = options or {}
    if not isinstance(options, Mapping):
        raise DataError(f"DataLoader options must be a dict, got {type(options).__name__}.")
    unknown = sorted(str(key) for key in options if key not in OPTION_KEYS)
    if unknown:
        raise DataError(
            f"Unknown DataLoader option(s) {', '.join(map(repr, unknown))}; "
            f"allowed: {', '.join(sorted(OPTION_KEYS))}."
        )
    capacity = options.get("capacity_column")
    if capacity is not None and not isinstance(capacity, str):
        raise DataError(f"capacity_column must be a column name, got {capacity!r}.")
    return LoaderOptions(
        first_step=_selector(options, "first_step"),
        last_step=_selector(options, "last_step"),
        capacity_column=capacity,
        transforms=_transforms(options),
    )


def alias_capacity(data: pl.DataFrame, capacity_column: str | None) -> pl.DataFrame:
    """Copy ``capacity_column`` to ``Capacity [A.h]``, the axis the OCP transforms read."""
    if capacity_column is None:
        return data
    if capacity_column not in data.columns:
        raise DataError(
            f"Specified capacity_column {capacity_column!r} not found in data. "
            f"Available columns: {list(data.columns)}"
        )
    return data.with_columns(pl.col(capacity_column).alias(CAPACITY))


def ocp_voltage(data: pl.DataFrame) -> pl.DataFrame:
    """A table without steps must have a voltage: ``OCP [V]`` and its synonyms count as one."""
    if VOLTAGE in data.columns:
        return data
    for name in OCP_VOLTAGE_ALIASES:
        if name in data.columns:
            return data.with_columns(pl.col(name).alias(VOLTAGE))
    raise DataError(
        "Data must contain one of the following columns: "
        + ", ".join((VOLTAGE, *OCP_VOLTAGE_ALIASES))
    )


def _cumulative_net_capacity(data: pl.DataFrame) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Discharged minus charged charge since the first row (the per-step resets undone)."""
    if DISCHARGE_CAPACITY not in data.columns or CHARGE_CAPACITY not in data.columns:
        raise DataError(
            f"rest_to_ocp needs the {DISCHARGE_CAPACITY!r} and {CHARGE_CAPACITY!r} columns."
        )
    totals = []
    for name in (DISCHARGE_CAPACITY, CHARGE_CAPACITY):
        values = data[name].to_numpy().astype(float)
        totals.append(np.cumsum(np.maximum(np.diff(values, prepend=0), 0)))
    return np.asarray(totals[0] - totals[1], dtype=np.float64)


def rest_to_ocp(
    data: pl.DataFrame, steps: pl.DataFrame | None, start: int, keep_first: bool = False
) -> pl.DataFrame:
    """One OCP point (net capacity, voltage) at the end of each rest step, capacity from 0.

    ``start`` is the absolute row of ``data[0]`` (the steps table's indices are absolute).
    """
    if steps is None:
        raise DataError("rest_to_ocp requires steps data.")
    if not {STEP_TYPE, END_INDEX} <= set(steps.columns):
        raise DataError(f"rest_to_ocp requires {STEP_TYPE!r} and {END_INDEX!r} in steps data.")
    rests = steps.filter(pl.col(STEP_TYPE) == "Rest")
    if rests.height == 0:
        raise DataError("No rest steps found in data.")
    if STEP_COUNT in rests.columns:
        rests = rests.sort(STEP_COUNT)
    rows = [int(end) - start for end in rests[END_INDEX].to_list()]
    if keep_first:
        rows.insert(0, 0)
    capacity = _cumulative_net_capacity(data)[rows]
    ocp = pl.DataFrame({CAPACITY: capacity, VOLTAGE: data[VOLTAGE].gather(rows)}).sort(CAPACITY)
    return ocp.with_columns(pl.col(CAPACITY) - ocp[CAPACITY][0])


def remove_duplicate_ocp(data: pl.DataFrame, capacity_column: str = CAPACITY) -> pl.DataFrame:
    """Keep the first row of each capacity value, then of each voltage value."""
    data = data.unique(subset=[capacity_column], maintain_order=True)
    return data.unique(subset=[VOLTAGE], maintain_order=True)


def sort_capacity_and_ocp(data: pl.DataFrame) -> pl.DataFrame:
    """Voltage decreasing, capacity increasing from 0, duplicates removed."""
    voltage = data[VOLTAGE].to_numpy()
    if voltage[-1] > voltage[0]:
        data = data.reverse()
    names = [c for c in data.columns if c.startswith("Capacity [")]
    if len(names) != 1:
        raise DataError(
            "No capacity column found" if not names else f"Multiple capacity columns found: {names}"
        )
    capacity = data[names[0]].to_numpy().astype(float)
    if capacity[0] > capacity[-1]:
        capacity = capacity.max() - capacity
    capacity -= capacity.min()
    return remove_duplicate_ocp(data.with_columns(pl.Series(names[0], capacity)), names[0])


def remove_ocp_extremes(data: pl.DataFrame) -> pl.DataFrame:
    """Trim the curve to where d²V/dQ² is non-zero (flat extremes carry no information)."""
    q, u = data[CAPACITY].to_numpy(), data[VOLTAGE].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):  # repeated capacities give NaN: skipped
        curvature = np.gradient(np.gradient(u, q), q)
    nonzero = np.where(abs(curvature) > 1e-10)[0]
    if nonzero.size == 0:
        raise DataError("remove_extremes: the OCP curve has no curvature anywhere.")
    return data.slice(int(nonzero[0]), int(nonzero[-1] - nonzero[0] + 1))


def filter_data(data: pl.DataFrame, filters: Mapping[str, Any]) -> pl.DataFrame:
    """Smooth each named column with its filter (Savitzky–Golay)."""
    _check_filters(filters)
    replaced = []
    for column, spec in filters.items():
        if column not in data.columns:
            raise DataError(f"filters name column {column!r}, which the data does not have.")
        parameters = dict(spec.get("parameters", {}))
        replaced.append(pl.Series(column, savgol_filter(data[column].to_numpy(), **parameters)))
    return data.with_columns(replaced) if replaced else data


def interpolate_data(data: pl.DataFrame, knots: Any, x_column: str = TIME) -> pl.DataFrame:
    """Every numeric column linearly interpolated at ``knots`` along ``x_column``.

    A spacing (a number) means ``arange(min, max, spacing)``; text columns are dropped.
    """
    if x_column not in data.columns:
        raise DataError(f"interpolate needs a {x_column!r} column.")
    if _is_number(knots):
        x_all = data[x_column].cast(pl.Float64)
        low, high = float(x_all.min() or 0.0), float(x_all.max() or 0.0)  # type: ignore[arg-type]
        points = np.arange(low, high, float(knots))
    else:
        points = np.asarray(knots, dtype=float)
    x = data[x_column].to_numpy()
    result = {
        name: np.interp(points, x, data[name].to_numpy())
        for name, dtype in data.schema.items()
        if name != x_column and (dtype.is_numeric() or dtype == pl.Boolean)
    }
    result[x_column] = points
    return pl.DataFrame(result)


def apply_transforms(
    data: pl.DataFrame,
    steps: pl.DataFrame | None,
    transforms: Mapping[str, Any],
    start: int = 0,
) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """Run the transforms in ionworksdata's order; ``rest_to_ocp`` replaces data and drops steps."""
    if transforms.get("rest_to_ocp"):
        data = rest_to_ocp(data, steps, start, bool(transforms.get("keep_first_ocp_point")))
        steps = None
    if transforms.get("sort"):
        data = sort_capacity_and_ocp(data)
    if transforms.get("remove_duplicates"):
        data = remove_duplicate_ocp(data)
    if transforms.get("remove_extremes"):
        data = remove_ocp_extremes(data)
    if transforms.get("filters"):
        data = filter_data(data, transforms["filters"])
    if transforms.get("interpolate") is not None:
        data = interpolate_data(data, transforms["interpolate"])
    return data, steps


def transform_window(
    window: Window, options: LoaderOptions
) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """What ``.data``/``.steps`` show: the window, its capacity column aliased, transformed."""
    data = window.data if window.steps is not None else ocp_voltage(window.data)
    data = alias_capacity(data, options.capacity_column)
    return apply_transforms(data, window.steps, options.transforms, window.start)
