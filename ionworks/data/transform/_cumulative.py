"""Capacities, energies, net capacity, nominal state of charge and power.

Cumulative columns restart at 0 at every ``Step count`` change, as the API serves them. The
preference order is ionworksdata's: the file's own discharge/charge pair, then one both-ways
counter split by direction, then a trapezoidal integral of current (or power).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from ..columns import (
    CHARGE_CAPACITY,
    CHARGE_ENERGY,
    CURRENT,
    DISCHARGE_CAPACITY,
    DISCHARGE_ENERGY,
    POWER,
    STEP_COUNT,
    TIME,
    VOLTAGE,
)
from ..errors import DataError
from ._ecm import Floats, charge_fraction, cumulative_trapezoid
from ._options import Units, require, units

ENERGY = DISCHARGE_ENERGY.replace("Discharge energy", "Energy")
"""One both-ways energy counter, as some cyclers write it; replaced by the split pair."""

NOMINAL_SOC = "Nominal SOC"
"""Written by :func:`set_nominal_soc` (ionworksdata's name)."""

SWAP_TOLERANCE = 0.10
"""Worst-row relative error under which a pair counts as matching the integral (10 %)."""

Ints = npt.NDArray[np.intp]


def _floats(data: pl.DataFrame, name: str) -> Floats:
    return data.get_column(name).cast(pl.Float64).to_numpy()


def _step_starts(steps: Floats) -> Ints:
    """For each row, the row number where its step (a run of one ``Step count``) began."""
    first = np.concatenate([[True], np.diff(steps) != 0])
    return np.maximum.accumulate(np.where(first, np.arange(len(steps)), 0))


def _integral(rate: Floats, t: Floats, starts: Ints | None) -> Floats:
    """Trapezoidal integral of ``rate`` per hour, restarted at each step start."""
    area = cumulative_trapezoid(rate, t) / 3600.0
    return area if starts is None else area - area[starts]


def _restarted(values: Floats, starts: Ints | None) -> Floats:
    return values if starts is None else values - values[starts]


def _pair(data: pl.DataFrame, names: tuple[str, str, str], rate: Floats) -> tuple[Floats, Floats]:
    """(discharge, charge) counters, restarted per step, for the column names
    (discharge, charge, both-ways) and the signed ``rate`` (current or power)."""
    discharge_name, charge_name, both_name = names
    starts = _step_starts(_floats(data, STEP_COUNT)) if STEP_COUNT in data.columns else None
    if discharge_name in data.columns and charge_name in data.columns:
        discharge = _restarted(_floats(data, discharge_name), starts)
        charge = _restarted(_floats(data, charge_name), starts)
        return np.abs(discharge), np.abs(charge)
    if both_name in data.columns:
        delta = np.diff(_floats(data, both_name), prepend=0)
        discharge = np.cumsum(np.where(rate > 0, delta, 0))
        charge = np.cumsum(np.where(rate < 0, np.abs(delta), 0))
        if starts is None:
            return discharge, charge
        return np.abs(_restarted(discharge, starts)), np.abs(_restarted(charge, starts))
    t = _floats(data, TIME)
    return _integral(np.maximum(rate, 0), t, starts), _integral(np.maximum(-rate, 0), t, starts)


def _capacities(data: pl.DataFrame, u: Units) -> tuple[Floats, Floats]:
    require(data.columns, u.current, "set_capacity", "or give discharge/charge capacity columns")
    names = (u.discharge_capacity, u.charge_capacity, u.capacity)
    return _pair(data, names, _floats(data, u.current))


def _power(data: pl.DataFrame, u: Units) -> Floats:
    if POWER in data.columns:
        return _floats(data, POWER)
    for name in (u.current, VOLTAGE):
        require(data.columns, name, "set_energy", "or give a 'Power [W]' column")
    return _floats(data, u.current) * _floats(data, VOLTAGE)


def set_capacity(data: pl.DataFrame, options: Mapping[str, Any] | None = None) -> pl.DataFrame:
    """The data with ``Discharge capacity [A.h]`` and ``Charge capacity [A.h]``, each from 0 at
    every step; a single ``Capacity [A.h]`` column is split by the current's sign and dropped.

    ``options``: ``current units`` (``"density"``: mA.cm-2 current, mA.h.cm-2 capacities).
    """
    u = units(options)
    discharge, charge = _capacities(data, u)
    out = data.with_columns(
        pl.Series(u.discharge_capacity, discharge), pl.Series(u.charge_capacity, charge)
    )
    return out.drop(u.capacity, strict=False)


def set_energy(data: pl.DataFrame, options: Mapping[str, Any] | None = None) -> pl.DataFrame:
    """The data with ``Discharge energy [W.h]`` and ``Charge energy [W.h]``, each from 0 at
    every step, from the file's pair, a single ``Energy [W.h]`` split by the power's sign
    (then dropped), or the integral of power (``Power [W]``, else voltage × current)."""
    u = units(options)
    power = _power(data, u)
    discharge, charge = _pair(data, (DISCHARGE_ENERGY, CHARGE_ENERGY, ENERGY), power)
    out = data.with_columns(
        pl.Series(DISCHARGE_ENERGY, discharge), pl.Series(CHARGE_ENERGY, charge)
    )
    return out.drop(ENERGY, strict=False)


def _net(data: pl.DataFrame, u: Units) -> Floats:
    """Discharge minus charge capacity, as the columns hold them (computed if absent)."""
    if u.discharge_capacity in data.columns and u.charge_capacity in data.columns:
        return _floats(data, u.discharge_capacity) - _floats(data, u.charge_capacity)
    discharge, charge = _capacities(data, u)
    return discharge - charge


def set_net_capacity(data: pl.DataFrame, options: Mapping[str, Any] | None = None) -> pl.DataFrame:
    """The data with ``Capacity [A.h]``: discharge minus charge capacity on each row."""
    u = units(options)
    if u.capacity in data.columns:
        raise DataError(
            f"set_net_capacity: the data already has a {u.capacity!r} column; drop or rename "
            "it first (set_capacity splits it into discharge and charge capacity)"
        )
    return data.with_columns(pl.Series(u.capacity, _net(data, u)))


def set_nominal_soc(
    data: pl.DataFrame, cell_metadata: Mapping[str, Any], options: Mapping[str, Any] | None = None
) -> pl.DataFrame:
    """The data with ``Nominal SOC``: 1 − net capacity / nominal capacity, shifted so that its
    largest value is 1. ``cell_metadata`` holds ``Nominal cell capacity [A.h]`` (or
    ``[mA.h.cm-2]`` with density units)."""
    u = units(options)
    if u.nominal_capacity not in cell_metadata:
        raise DataError(
            f"set_nominal_soc: cell_metadata has no {u.nominal_capacity!r}; add the cell's "
            "nominal capacity under that key"
        )
    soc = 1 - _net(data, u) / float(cell_metadata[u.nominal_capacity])
    highest = float(np.max(soc)) if len(soc) else 1.0
    return data.with_columns(pl.Series(NOMINAL_SOC, soc + (1 - highest)))


def set_power(data: pl.DataFrame) -> pl.DataFrame:
    """The data with ``Power [W]`` = voltage × current (signed as the current); a power column
    already present (the cycler's) is kept, and without voltage or current nothing is added."""
    if POWER in data.columns or VOLTAGE not in data.columns or CURRENT not in data.columns:
        return data
    return data.with_columns((pl.col(VOLTAGE) * pl.col(CURRENT)).alias(POWER))


def _relative_error(reported: Floats, integrated: Floats) -> float:
    """Largest |reported − integrated| over the larger of their largest magnitudes (NaN rows
    ignored); infinite when there is nothing to compare."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        scale = float(np.fmax(np.nanmax(np.abs(integrated)), np.nanmax(np.abs(reported))))
    if not np.isfinite(scale) or scale <= 0.0:
        return float("inf")
    diff = np.abs(reported - integrated)
    if not np.any(np.isfinite(diff)):
        return float("inf")
    return float(diff[int(np.nanargmax(diff))]) / scale


def _swap_pairs(data: pl.DataFrame, tolerance: float) -> dict[str, str]:
    """Renames for each discharge/charge pair that matches the integrals only when swapped."""
    t = _floats(data, TIME)
    current = _floats(data, CURRENT)
    starts = _step_starts(_floats(data, STEP_COUNT))
    rates = [(DISCHARGE_CAPACITY, CHARGE_CAPACITY, current)]
    if POWER in data.columns or VOLTAGE in data.columns:
        power = _floats(data, POWER) if POWER in data.columns else _floats(data, VOLTAGE) * current
        rates.append((DISCHARGE_ENERGY, CHARGE_ENERGY, power))
    renames: dict[str, str] = {}
    for discharge_name, charge_name, rate in rates:
        if discharge_name not in data.columns or charge_name not in data.columns:
            continue
        d_int = _integral(np.maximum(rate, 0.0), t, starts)
        c_int = _integral(np.maximum(-rate, 0.0), t, starts)
        d, c = _floats(data, discharge_name), _floats(data, charge_name)
        as_is = max(_relative_error(d, d_int), _relative_error(c, c_int))
        swapped = max(_relative_error(d, c_int), _relative_error(c, d_int))
        if swapped <= tolerance < as_is:
            renames.update({discharge_name: charge_name, charge_name: discharge_name})
    return renames


def fix_swapped_charge_discharge_columns(
    data: pl.DataFrame, tolerance: float = SWAP_TOLERANCE
) -> pl.DataFrame:
    """The data with each capacity or energy pair whose labels are inverted renamed back.

    A pair is swapped when, compared row by row with the per-step integral of max(I, 0) and
    max(−I, 0) (of power for energies), it matches within ``tolerance`` only once swapped:
    some cyclers (half cells) label charge as discharge. Without ``Time [s]``, ``Step count``
    and ``Current [A]`` the data is returned as it is. When positive current does not look
    like discharge the labels have no reference, so nothing is renamed and a warning says to
    run ``set_positive_current_for_discharge`` first.
    """
    if not {TIME, STEP_COUNT, CURRENT}.issubset(data.columns):
        return data
    if VOLTAGE in data.columns:
        arrays = (_floats(data, name) for name in (TIME, CURRENT, VOLTAGE))
        if charge_fraction(*arrays) >= 0.25:
            warnings.warn(
                "fix_swapped_charge_discharge_columns: positive current does not correspond "
                "to discharge; refusing to swap labels. Run "
                "set_positive_current_for_discharge first.",
                stacklevel=2,
            )
            return data
    if data.height < 2:
        return data
    renames = _swap_pairs(data, tolerance)
    return data.rename(renames) if renames else data
