"""Incremental capacity (dQ/dV) and differential voltage (dV/dQ) of charge or discharge segments.

**dQ/dV** is computed as a charge histogram over voltage: each sampling interval contributes the
charge it passed, ``|I| * dt``, to the voltage bin holding the interval's mid-voltage; the bins
(``resolution`` wide, 1 mV by default) are then smoothed with a Gaussian of standard deviation
``smoothing`` volts (5 mV by default) and divided by the bin width. Nothing is ever divided by a
voltage difference, so a cycler's 0.1–1 mV quantisation (many samples at one voltage) cannot give
the zero-division spikes of a naive ``diff(Q) / diff(V)``; the curve's integral is the charge
passed. Peaks therefore sit at plateau voltages, whatever the sampling.

**dV/dQ** bins the voltage on a uniform capacity grid (``resolution`` A.h, 0.1 % of the segment's
capacity by default), averages each bin, smooths with a Gaussian of ``smoothing`` A.h (1 % of
the segment's capacity by default) and takes the gradient.

Both report magnitudes (positive on charge and on discharge) so peaks are maxima; capacity is the
charge integrated from the current since the segment began (positive current discharges, the
ionworks convention). A segment is the rows of one ``Cycle count`` (and one cell of a fleet)
flowing in the chosen direction; with ``constant_current_only`` (the default) constant-voltage
steps are left out, because holding the voltage piles charge into one bin.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import polars as pl

from ..columns import CAPACITY, CURRENT, CYCLE_COUNT, STEP_COUNT, TIME, VOLTAGE
from ..differential import find_peaks as _local_maxima
from ..errors import DataError
from ._frames import Array, group_keys, lazy, require, smooth

__all__ = ["DIRECTION", "DQDV", "DVDQ", "dqdv", "dvdq", "find_peaks"]

DQDV = "dQ/dV [A.h/V]"
DVDQ = "dV/dQ [V/A.h]"
DIRECTION = "Direction"
Direction = Literal["charge", "discharge"]

CC_RELATIVE_STD = 0.02
"""A step is constant-current when its current's std is below this share of its mean |current|."""

_HINT = "Read cycler files with ionworks.data.read, or rename the columns to the standard names."
_DQ, _VM, _BIN = "_dq", "_vm", "_bin"


def _segments(
    frame: Any,
    *,
    step: int | None,
    cycle: int | None,
    direction: Direction | None,
    constant_current_only: bool,
    by: str | list[str] | None,
    what: str,
) -> tuple[pl.LazyFrame, list[str], Direction]:
    """The rows of each segment with the charge each interval passed (``_dq``) and its
    mid-voltage (``_vm``), and the segment columns."""
    lf = lazy(frame, what)
    columns = lf.collect_schema().names()
    require(columns, [TIME, CURRENT, VOLTAGE], what, _HINT)
    keys = group_keys(columns, by)
    if step is not None:
        require(columns, [STEP_COUNT], f"{what}(step=...)", _HINT)
        lf = lf.filter(pl.col(STEP_COUNT) == step)
    if cycle is not None:
        require(columns, [CYCLE_COUNT], f"{what}(cycle=...)", _HINT)
        lf = lf.filter(pl.col(CYCLE_COUNT) == cycle)
    if direction is None:
        direction = _direction_of(lf) if step is not None else "discharge"
    if direction not in ("charge", "discharge"):
        raise DataError(f"{what}: direction must be 'charge' or 'discharge', got {direction!r}.")
    segment = [*keys, *([CYCLE_COUNT] if CYCLE_COUNT in columns else [])]
    sign = 1.0 if direction == "discharge" else -1.0

    def over(e: pl.Expr) -> pl.Expr:
        return e.over(keys) if keys else e

    i, t, v = pl.col(CURRENT), pl.col(TIME), pl.col(VOLTAGE)
    flowing = i * sign > 0
    keep = flowing & over(flowing.shift(1))
    if constant_current_only and STEP_COUNT in columns:
        runs = [*keys, STEP_COUNT]
        keep = keep & (i.std().over(runs) <= CC_RELATIVE_STD * i.abs().mean().over(runs))
    rows = lf.select(
        *segment,
        (i.abs() * over(t.diff()) / 3600.0).alias(_DQ),
        ((v + over(v.shift(1))) / 2.0).alias(_VM),
        keep.alias("_keep"),
    ).filter(pl.col("_keep") & (pl.col(_DQ) > 0))
    return rows.drop("_keep"), segment, direction


def _direction_of(lf: pl.LazyFrame) -> Direction:
    """The direction of a chosen step, from the sign of its mean current."""
    mean = lf.select(pl.col(CURRENT).mean()).collect().item()
    if mean is None:
        raise DataError("No rows for that step: check the Step count (the steps table lists them).")
    if mean == 0:
        raise DataError("That step is a rest (zero mean current): it has no dQ/dV; pick another.")
    return "discharge" if mean > 0 else "charge"


def _empty_error(what: str, direction: str, step: int | None, cycle: int | None) -> DataError:
    where = f" in step {step}" if step is not None else ""
    where += f" in cycle {cycle}" if cycle is not None else ""
    return DataError(
        f"{what}: no {direction} segment{where} (no consecutive rows with "
        f"{'positive' if direction == 'discharge' else 'negative'} current). Pick a "
        f"direction, step or cycle that has one, or check the sign convention "
        "(positive current discharges: ionworks.data.transform.set_positive_current_for_discharge)."
    )


def dqdv(
    frame: Any,
    *,
    step: int | None = None,
    cycle: int | None = None,
    direction: Direction | None = None,
    resolution: float = 0.001,
    smoothing: float = 0.005,
    constant_current_only: bool = True,
    min_points: int = 20,
    by: str | list[str] | None = None,
) -> pl.DataFrame:
    """Incremental capacity |dQ/dV| of every segment, on a uniform voltage grid.

    ``resolution``: the grid spacing in V; ``smoothing``: the Gaussian's standard deviation in V
    (0 for none). ``step``/``cycle`` select rows first; ``direction`` defaults to the step's own
    when ``step`` is given, else ``"discharge"``. ``by``: the columns naming each cell in a
    fleet frame (``measurement_id`` when present). Returns the segment columns, ``Direction``,
    ``Voltage [V]`` (bin centres) and ``dQ/dV [A.h/V]``.
    """
    _positive(resolution=resolution, smoothing=smoothing, allow_zero=("smoothing",))
    rows, segment, direction = _segments(
        frame,
        step=step,
        cycle=cycle,
        direction=direction,
        constant_current_only=constant_current_only,
        by=by,
        what="dqdv",
    )
    counts = pl.len().alias("_n")
    binned = (
        rows.group_by(*segment, (pl.col(_VM) / resolution).floor().cast(pl.Int64).alias(_BIN))
        .agg(pl.col(_DQ).sum(), counts)
        .sort(*segment, _BIN)
        .collect()
    )
    parts: list[pl.DataFrame] = []
    for key, part in _by_segment(binned, segment):
        if int(part.get_column("_n").sum()) < min_points:
            continue
        first, last = int(part[_BIN][0]), int(part[_BIN][-1])
        dense = np.zeros(last - first + 1)
        dense[part[_BIN].to_numpy() - first] = part[_DQ].to_numpy()
        curve = np.asarray(smooth(dense, smoothing / resolution) / resolution, dtype=np.float64)
        volts = np.asarray((np.arange(first, last + 1) + 0.5) * resolution, dtype=np.float64)
        parts.append(_curve(key, part, segment, direction, **{VOLTAGE: volts, DQDV: curve}))
    if not parts:
        raise _too_few(binned.height, "dqdv", direction, step, cycle, min_points)
    return pl.concat(parts)


def dvdq(
    frame: Any,
    *,
    step: int | None = None,
    cycle: int | None = None,
    direction: Direction | None = None,
    resolution: float | None = None,
    smoothing: float | None = None,
    constant_current_only: bool = True,
    min_points: int = 20,
    by: str | list[str] | None = None,
) -> pl.DataFrame:
    """Differential voltage |dV/dQ| of every segment, on a uniform capacity grid.

    ``resolution`` (grid spacing) and ``smoothing`` (Gaussian standard deviation) are in A.h;
    by default 0.1 % and 1 % of each segment's capacity. Returns the segment columns,
    ``Direction``, ``Capacity [A.h]`` (charge passed since the segment began),
    ``Voltage [V]`` (bin means, smoothed) and ``dV/dQ [V/A.h]``.
    """
    _positive(resolution=resolution, smoothing=smoothing, allow_zero=("smoothing",))
    rows, segment, direction = _segments(
        frame,
        step=step,
        cycle=cycle,
        direction=direction,
        constant_current_only=constant_current_only,
        by=by,
        what="dvdq",
    )
    data = rows.collect()
    parts: list[pl.DataFrame] = []
    for key, part in _by_segment(data, segment):
        if part.height < min_points:
            continue
        q = np.cumsum(part.get_column(_DQ).to_numpy())
        step_q = resolution or q[-1] / 1000.0
        bins = np.floor(q / step_q).astype(np.int64)
        counts = np.bincount(bins).astype(float)
        filled = counts > 0
        means = np.bincount(bins, weights=part.get_column(_VM).to_numpy())[filled] / counts[filled]
        centres = (np.arange(counts.size) + 0.5) * step_q
        volts = np.interp(centres, centres[filled], means)
        sigma = (smoothing if smoothing is not None else 0.01 * q[-1]) / step_q
        smoothed = smooth(volts, sigma)
        slope = np.abs(np.gradient(smoothed, step_q))
        parts.append(
            _curve(
                key, part, segment, direction, **{CAPACITY: centres, VOLTAGE: smoothed, DVDQ: slope}
            )
        )
    if not parts:
        raise _too_few(data.height, "dvdq", direction, step, cycle, min_points)
    return pl.concat(parts)


def _positive(allow_zero: tuple[str, ...] = (), **values: float | None) -> None:
    for name, value in values.items():
        if value is None:
            continue
        if (
            not isinstance(value, int | float)
            or value < 0
            or (value == 0 and name not in allow_zero)
        ):
            raise DataError(f"{name} must be a positive number, got {value!r}.")


def _too_few(
    found: int, what: str, direction: str, step: int | None, cycle: int | None, need: int
) -> DataError:
    if found == 0:
        return _empty_error(what, direction, step, cycle)
    return DataError(
        f"{what}: every {direction} segment has fewer than min_points={need} samples; too "
        "few to differentiate. Pass a longer segment or a smaller min_points."
    )


def _by_segment(
    frame: pl.DataFrame, segment: list[str]
) -> list[tuple[tuple[Any, ...], pl.DataFrame]]:
    if not segment:
        return [((), frame)]
    return list(frame.partition_by(segment, as_dict=True, maintain_order=True).items())


def _curve(
    key: tuple[Any, ...], part: pl.DataFrame, segment: list[str], direction: str, **data: Array
) -> pl.DataFrame:
    """One segment's curve with its segment columns (their types kept) and direction."""
    labels = [pl.lit(k, dtype=part.schema[c]).alias(c) for c, k in zip(segment, key, strict=True)]
    curve = pl.DataFrame(data).with_columns(*labels, pl.lit(direction).alias(DIRECTION))
    return curve.select(*segment, DIRECTION, *data)


PEAK_MIN_PROMINENCE = 0.05
"""Peaks lower than this share of the curve's highest value above their surroundings are noise."""


def find_peaks(curve: pl.DataFrame, *, min_prominence: float = PEAK_MIN_PROMINENCE) -> pl.DataFrame:
    """The peaks of a :func:`dqdv` or :func:`dvdq` result: position, height, width, prominence.

    One row per peak and segment. The position is refined between grid points with a parabola
    through the peak's three points; ``Prominence`` is the height above the higher of the two
    lowest points reached before a higher peak on each side (as ``scipy.signal.peak_prominences``)
    and the width is the full width at half that prominence. Peaks with a prominence below
    ``min_prominence`` times the segment's highest value are dropped.
    """
    if not isinstance(curve, pl.DataFrame):
        raise DataError("find_peaks takes the DataFrame that dqdv() or dvdq() returned.")
    if DQDV in curve.columns:
        x_name, y_name = VOLTAGE, DQDV
    elif DVDQ in curve.columns:
        x_name, y_name = CAPACITY, DVDQ
    else:
        raise DataError(
            f"find_peaks needs a {DQDV!r} or {DVDQ!r} column: pass the frame dqdv() or dvdq() returned."
        )
    unit = "V" if x_name == VOLTAGE else "A.h"
    segment = [c for c in curve.columns if c not in (CAPACITY, VOLTAGE, DQDV, DVDQ, DIRECTION)]
    keep = [*segment, DIRECTION] if DIRECTION in curve.columns else segment
    rows: list[dict[str, Any]] = []
    for key, part in _by_segment(curve, keep):
        x, y = part.get_column(x_name).to_numpy(), part.get_column(y_name).to_numpy()
        for position, height, width, prominence in _peaks_1d(x, y, min_prominence):
            labels = dict(zip(keep, key, strict=True))
            rows.append(
                {
                    **labels,
                    x_name: position,
                    y_name: height,
                    f"Width [{unit}]": width,
                    "Prominence": prominence,
                }
            )
    schema = {c: curve.schema[c] for c in keep} | {
        x_name: pl.Float64,
        y_name: pl.Float64,
        f"Width [{unit}]": pl.Float64,
        "Prominence": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)


def _peaks_1d(x: Array, y: Array, min_prominence: float) -> list[tuple[float, float, float, float]]:
    """(position, height, width, prominence) of each prominent local maximum of ``y(x)``."""
    if y.size < 3 or not np.isfinite(y).all():
        return []
    floor = min_prominence * float(np.max(y))
    found = []
    for i in _local_maxima(y):
        prominence = float(y[i] - max(_base(y[i::-1]), _base(y[i:])))
        if prominence <= floor:
            continue
        half = y[i] - prominence / 2.0
        width = _crossing(x, y, i, half, 1) - _crossing(x, y, i, half, -1)
        found.append((_vertex(x, y, int(i)), float(y[i]), width, prominence))
    return found


def _base(side: Array) -> float:
    """The lowest point on one side of a peak before the curve rises above it."""
    higher = np.nonzero(side > side[0])[0]
    stop = int(higher[0]) if higher.size else side.size
    return float(side[:stop].min())


def _crossing(x: Array, y: Array, i: int, level: float, step: int) -> float:
    """Where ``y`` falls to ``level`` walking from ``i`` in direction ``step`` (interpolated)."""
    j = i
    while 0 <= j + step < y.size and y[j + step] > level:
        j += step
    k = j + step
    if not 0 <= k < y.size:
        return float(x[j])
    frac = (y[j] - level) / (y[j] - y[k]) if y[j] != y[k] else 0.0
    return float(x[j] + frac * (x[k] - x[j]))


def _vertex(x: Array, y: Array, i: int) -> float:
    """The peak's position refined by a parabola through its three points (uniform grid)."""
    if i == 0 or i == y.size - 1:
        return float(x[i])
    below = y[i - 1] - 2.0 * y[i] + y[i + 1]
    offset = 0.5 * (y[i - 1] - y[i + 1]) / below if below < 0 else 0.0
    return float(x[i] + offset * (x[i + 1] - x[i]))
