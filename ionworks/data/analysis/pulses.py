"""Resistance from current pulses: R0 at the edge and R at fixed times into each pulse.

A pulse is a step that carries current and whose current differs from the end of the step
before it by more than ``min_current_change`` (1 % of the series' largest |current| by default;
rests, the relaxations after pulses, are not pulses); steps are the runs of ``Step count``. For each pulse, with ``V0``/``I0`` the last sample before the step and ``t0``
the step's first sample:

* ``R0 [Ohm] = -(V(t0) - V0) / (I(t0) - I0)``: the instantaneous jump. The first sample already
  holds whatever the RC branches did in the time between the edge and that sample, so it reads
  high by about ``R1 * dt / tau``; sample a pulse's start fast (a cycler's step-start point is).
* ``R <d>s [Ohm]``: the same with ``V(t0 + d)`` (interpolated), null when the pulse is shorter.

Positive current discharges, so a discharge pulse drops the voltage and every resistance is
positive. The state of charge is counted from the last full charge: the end of the last
charging step that reached the series' top voltage (within 10 mV) before the pulse.
``Discharged since full [A.h]`` is the net charge drawn since then and ``SOC`` is
``1 - discharged / capacity_ah``; ``capacity_ah`` defaults to the most charge drawn after that
full charge anywhere in the series (an HPPC test discharges to empty). Both are null without a
full charge.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from ..columns import CURRENT, STEP_COUNT, TIME, VOLTAGE
from ..errors import DataError
from ._frames import Array, group_keys, lazy, require, require_numbers

__all__ = ["DISCHARGED", "R0", "pulse_resistance", "resistance_column"]

R0 = "R0 [Ohm]"
DISCHARGED = "Discharged since full [A.h]"
FULL_CHARGE_TOLERANCE_V = 0.010
"""A charging step that ends this close to the series' top voltage is a full charge."""


def resistance_column(seconds: float) -> str:
    """The column name of the resistance ``seconds`` into the pulse: ``"R 10s [Ohm]"``."""
    return f"R {seconds:g}s [Ohm]"


def pulse_resistance(
    time_series: Any,
    steps: Any = None,
    *,
    times: Sequence[float] = (1.0, 10.0, 30.0),
    min_current_change: float | None = None,
    capacity_ah: float | None = None,
    by: str | list[str] | None = None,
) -> pl.DataFrame:
    """One row per current pulse: its step, time, currents, R0, R at ``times`` and SOC.

    ``steps``: a steps table (:func:`ionworks.data.steps.summarize`) whose ``Start index`` /
    ``End index`` delimit the steps; without it the runs of ``Step count`` do. A fleet frame
    (``ionworks.scan(path, table="time_series")``) is split by ``by`` (``measurement_id`` when
    present) and each cell gets its own rows, with its key columns first.
    """
    frame = lazy(time_series, "pulse_resistance")
    keys = group_keys(frame.collect_schema().names(), by)
    if not keys:
        return _pulses(frame.collect(), steps, times, min_current_change, capacity_ah)
    if steps is not None:
        raise DataError(
            "pulse_resistance: steps= is for one series; a fleet frame uses Step count."
        )
    parts = []
    for key, cell in frame.collect().partition_by(keys, as_dict=True, maintain_order=True).items():
        found = _pulses(cell.drop(keys), None, times, min_current_change, capacity_ah)
        labels = [pl.lit(k, dtype=cell.schema[c]).alias(c) for c, k in zip(keys, key, strict=True)]
        parts.append(found.with_columns(labels).select(*keys, *found.columns))
    return pl.concat(parts, how="diagonal_relaxed")


def _pulses(
    ts: pl.DataFrame,
    steps: Any,
    times: Sequence[float],
    min_current_change: float | None,
    capacity_ah: float | None,
) -> pl.DataFrame:
    """The pulses of one cell's series."""
    hint = "Read cycler files with ionworks.data.read (it numbers the steps)."
    require(ts.columns, [TIME, CURRENT, VOLTAGE], "pulse_resistance", hint)
    require_numbers(ts.schema, [TIME, CURRENT, VOLTAGE], "pulse_resistance")
    t, i, v = (ts.get_column(c).cast(pl.Float64).to_numpy() for c in (TIME, CURRENT, VOLTAGE))
    starts = _step_starts(ts, steps, hint)
    if starts.size < 2:
        raise DataError(
            "pulse_resistance: the series has one step, so no current change to measure a "
            "resistance from; it needs a rest (or another current) before each pulse."
        )
    threshold = min_current_change
    if threshold is None:
        threshold = 0.01 * float(np.nanmax(np.abs(i))) if i.size else 0.0
    charge = np.concatenate([[0.0], np.cumsum(0.5 * (i[1:] + i[:-1]) * np.diff(t)) / 3600.0])
    full = _full_charges(ts, starts, i, v)
    ends = np.append(starts[1:], t.size)
    rows = []
    for k in range(1, starts.size):
        first, stop = int(starts[k]), int(ends[k])
        before = first - 1
        jump = i[first] - i[before]
        if abs(jump) <= threshold or abs(i[first]) <= threshold or not np.isfinite(jump):
            continue  # no current change, or a rest (the relaxation after a pulse)
        row: dict[str, Any] = {
            STEP_COUNT: int(ts.get_column(STEP_COUNT)[first]) if STEP_COUNT in ts.columns else k,
            "Start time [s]": float(t[first]),
            "Current before [A]": float(i[before]),
            "Pulse current [A]": float(i[first]),
            "Duration [s]": float(t[stop - 1] - t[first]),
            R0: float(-(v[first] - v[before]) / jump),
        }
        for d in times:
            at = t[first] + d
            inside = at <= t[stop - 1]
            volts = np.interp(at, t[first:stop], v[first:stop]) if inside else None
            row[resistance_column(d)] = (
                None if volts is None else float(-(volts - v[before]) / jump)
            )
        row.update(_soc(full, before, charge, capacity_ah))
        rows.append(row)
    if not rows:
        raise DataError(
            "pulse_resistance: no step changes the current by more than "
            f"{threshold:.3g} A, so there is no pulse; pass min_current_change= to lower it."
        )
    return pl.DataFrame(rows, infer_schema_length=None)


def _step_starts(ts: pl.DataFrame, steps: Any, hint: str) -> Array:
    """The first row of every step, from the steps table or the runs of ``Step count``."""
    if steps is not None:
        table = lazy(steps, "pulse_resistance(steps=...)").collect()
        require(table.columns, ["Start index"], "pulse_resistance(steps=...)", hint)
        found = np.unique(table.get_column("Start index").to_numpy().astype(np.int64))
        if found.size and (found[0] < 0 or found[-1] >= ts.height):
            raise DataError(
                "pulse_resistance: the steps table's Start index runs outside the time series; "
                "pass the steps table of this series."
            )
        return np.asarray(found, dtype=float)
    require(ts.columns, [STEP_COUNT], "pulse_resistance", hint)
    counts = ts.get_column(STEP_COUNT).to_numpy()
    changes = np.nonzero(counts[1:] != counts[:-1])[0] + 1
    return np.concatenate([[0], changes]).astype(float)


def _full_charges(ts: pl.DataFrame, starts: Array, i: Array, v: Array) -> Array:
    """The last row of every charging step that ended at the series' top voltage."""
    ends = np.append(starts[1:], ts.height).astype(np.int64) - 1
    top = float(np.nanmax(v))
    found = [
        int(end)
        for begin, end in zip(starts.astype(np.int64), ends, strict=True)
        if np.nanmean(i[begin : end + 1]) < 0 and v[end] >= top - FULL_CHARGE_TOLERANCE_V
    ]
    return np.asarray(found, dtype=np.int64)


def _soc(full: Array, row: int, charge: Array, capacity_ah: float | None) -> dict[str, Any]:
    """Charge drawn since the last full charge before ``row``, and the SOC it means."""
    earlier = full[full <= row]
    if earlier.size == 0:
        return {DISCHARGED: None, "SOC": None}
    start = int(earlier[-1])
    drawn = float(charge[row] - charge[start])
    nxt = full[full > start]
    stop = int(nxt[0]) if nxt.size else charge.size
    capacity = capacity_ah or float(np.max(charge[start:stop] - charge[start]))
    soc = 1.0 - drawn / capacity if capacity > 0 else None
    return {DISCHARGED: drawn, "SOC": soc}
