"""Current positive on discharge: from a mode column, step by step, or for the whole series."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl

from ..columns import FREQUENCY, STEP_COUNT, TIME, VOLTAGE
from ._counts import STATUS, STEP_NUMBER, set_cumulative_step_number, set_step_count
from ._ecm import Floats, positive_current_is_charge
from ._options import EIS_TOLERANCE, REST_TOL, ZERO_CURRENT_PERCENT_TOL, combine, require, units

MODE_LABELS = {
    "C": "C",
    "CHA": "C",
    "CHG": "C",
    "CHARGE": "C",
    "CC CHG": "C",
    "CCCV CHARGE": "C",
    "D": "D",
    "DCH": "D",
    "DCHG": "D",
    "DISCHARGE": "D",
    "CC DCHG": "D",
    "CCCV DISCHARGE": "D",
}
"""Cyclers' direction labels (case and spaces at the ends ignored) as "C" or "D". Whole labels
only, never prefixes: Neware writes both "CC Chg" and "CC DChg". Other labels (rest, "CV Chg")
leave the row's current as it is, as in ionworksdata."""


def scaled_rest_tol(current: Floats) -> float:
    """The |current| under which a row rests: 1 mA, or 1 % of the largest current if smaller
    (a coin cell may cycle below 1 mA)."""
    if len(current) == 0:
        return REST_TOL
    largest = float(np.abs(current).max())
    if largest == 0:
        return REST_TOL
    return min(REST_TOL, largest * ZERO_CURRENT_PERCENT_TOL)


def _from_mode(data: pl.DataFrame, current: str) -> pl.DataFrame | None:
    """Current signed from ``Status`` labels, or None when they cannot tell every loaded row."""
    if STATUS not in data.columns:
        return None
    label = pl.col(STATUS).cast(pl.Utf8).str.strip_chars().str.to_uppercase()
    mode = label.replace_strict(MODE_LABELS, default=None, return_dtype=pl.Utf8)
    seen = set(data.select(mode.unique()).to_series().to_list()) & {"C", "D"}
    if not seen:
        return None
    if seen != {"C", "D"}:
        # With one label only, an unlabelled loaded row could be the other direction.
        tol = scaled_rest_tol(data.get_column(current).abs().to_numpy())
        if data.filter((pl.col(current).abs() > tol) & mode.is_null()).height:
            return None
    magnitude = pl.col(current).abs()
    signed = pl.when(mode == "C").then(-magnitude).when(mode == "D").then(magnitude)
    return data.with_columns(signed.otherwise(pl.col(current)).alias(current))


def _steps(data: pl.DataFrame, current: str, options: dict[str, Any]) -> pl.DataFrame:
    """Time, current, voltage and ``Step count`` of the rows that are not an impedance sweep."""
    keep = [c for c in (TIME, current, VOLTAGE, FREQUENCY, STEP_COUNT) if c in data.columns]
    work = data.select(keep).with_row_index("_row")
    tol = options.get("EIS tolerance", EIS_TOLERANCE)
    if FREQUENCY in work.columns:
        is_eis = work.get_column(FREQUENCY).to_numpy() > tol
        if is_eis.any() and (~is_eis).any():
            work = work.filter(pl.col(FREQUENCY) <= tol)
    if STEP_COUNT not in work.columns:
        # The cycler's step, when given, is kept: signs of noisy current can split it.
        work = set_cumulative_step_number(work, options)
        step_options = {"method": "step column", "step column": STEP_NUMBER}
        work = set_step_count(work, step_options)
    return work


def _loaded_steps(work: pl.DataFrame, current: str) -> list[Any]:
    """``Step count`` values of steps whose mean current is above the rest tolerance."""
    means = work.group_by(STEP_COUNT).agg(pl.col(current).mean().alias("mean"))
    tol = scaled_rest_tol(work.get_column(current).to_numpy())
    return means.filter(pl.col("mean").abs() > tol).get_column(STEP_COUNT).to_list()


def _votes(work: pl.DataFrame, current: str, steps: list[Any]) -> dict[Any, tuple[bool, float]]:
    """(positive current charges, p) for each step, from its own voltage response."""
    t = work.get_column(TIME).to_numpy()
    i = work.get_column(current).to_numpy()
    v = work.get_column(VOLTAGE).to_numpy()
    ids = work.get_column(STEP_COUNT).to_numpy()
    votes = {}
    for step in steps:
        mask = ids == step
        votes[step] = positive_current_is_charge(t[mask], i[mask], v[mask])
    return votes


def _negated(data: pl.DataFrame, current: str, rows: pl.Series | None = None) -> pl.DataFrame:
    """The data with the current negated on ``rows`` (row numbers), or everywhere."""
    if rows is None:
        return data.with_columns(-pl.col(current))
    flip = pl.int_range(pl.len()).is_in(rows.implode())
    return data.with_columns(pl.when(flip).then(-pl.col(current)).otherwise(pl.col(current)))


def _whole_series_charges(work: pl.DataFrame, current: str) -> bool:
    columns = (work.get_column(c).to_numpy() for c in (TIME, current, VOLTAGE))
    return positive_current_is_charge(*columns)[0]


def _per_step(data: pl.DataFrame, current: str, options: dict[str, Any]) -> pl.DataFrame:
    """Magnitude-only current without a mode: each loaded step signed from its voltage."""
    work = _steps(data, current, options)
    steps = _loaded_steps(work, current)
    if not steps:
        return data
    if len(steps) > 1:
        votes = _votes(work, current, steps)
        charging = [s for s, (is_charge, _) in votes.items() if is_charge]
        if charging and len(charging) < len(votes):
            rows = work.filter(pl.col(STEP_COUNT).is_in(charging)).get_column("_row")
            return _negated(data, current, rows)
    return _negated(data, current) if _whole_series_charges(work, current) else data


def _global(data: pl.DataFrame, current: str, options: dict[str, Any]) -> pl.DataFrame:
    """Signed current: one confidence-weighted vote of the loaded steps decides a flip."""
    work = _steps(data, current, options)
    steps = _loaded_steps(work, current)
    if not steps:
        return data
    weight = {True: 0.0, False: 0.0}
    count = {True: 0, False: 0}
    for is_charge, p in _votes(work, current, steps).values():
        weight[is_charge] += 1.0 - p
        count[is_charge] += 1
    if weight[True] + weight[False] > 0:
        flip = weight[True] > weight[False]
    else:
        flip = count[True] > count[False]
    return _negated(data, current) if flip else data


def set_positive_current_for_discharge(
    data: pl.DataFrame, options: Mapping[str, Any] | None = None
) -> pl.DataFrame:
    """The data with current positive on discharge and negative on charge.

    Current of one sign only (a cycler writing magnitudes) is signed from a ``Status`` mode
    column when its labels cover every loaded row, else step by step from each step's voltage
    response. Current of both signs is flipped as a whole when the steps' vote says positive
    current charges. ``options`` as :func:`get_cumulative_step_number` (``method`` is always
    ``"current sign"``); the caller's dict is not changed.
    """
    opts = {**(options or {}), "method": "current sign"}
    combine({}, {}, opts, "set_positive_current_for_discharge")  # unknown keys are an error
    current = units(opts).current
    fix = "name the current column as the 'current units' option says"
    require(data.columns, current, "set_positive_current_for_discharge", fix)
    for name in (TIME, VOLTAGE):
        require(data.columns, name, "set_positive_current_for_discharge", "the sign needs it")
    values = data.get_column(current).cast(pl.Float64).to_numpy()
    loaded = values[np.abs(values) > scaled_rest_tol(values)]
    if len(loaded) == 0:
        return data
    if (loaded > 0).all() or (loaded < 0).all():
        signed = _from_mode(data, current)
        return signed if signed is not None else _per_step(data, current, opts)
    return _global(data, current, opts)
