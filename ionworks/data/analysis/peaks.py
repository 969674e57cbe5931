"""Peaks of a dQ/dV or dV/dQ curve: position, height, width and prominence, per segment.

Local maxima follow scipy's rule (as :func:`ionworks.data.differential.find_peaks`: a flat top
once, at its middle), found in every segment at once; the prominence and width follow
``scipy.signal.peak_prominences`` and ``peak_widths`` at half prominence, computed for all the
peaks of a segment together, and the position is refined between grid points.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from ..columns import CAPACITY, VOLTAGE
from ..errors import DataError
from ._frames import Array
from .incremental import DIRECTION, DQDV, DVDQ

__all__ = ["PEAK_MIN_PROMINENCE", "find_peaks"]

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
    width_name = f"Width [{unit}]"
    schema = {c: curve.schema[c] for c in keep} | {
        x_name: pl.Float64,
        y_name: pl.Float64,
        width_name: pl.Float64,
        "Prominence": pl.Float64,
    }
    if curve.height == 0:
        return pl.DataFrame(schema=schema)
    starts = _segment_starts(curve, keep)
    if starts is None:  # a segment's rows apart: together, in order of first appearance
        curve = pl.concat(curve.partition_by(keep, maintain_order=True))
        starts = _segment_starts(curve, keep)
        assert starts is not None
    x = _floats(curve.get_column(x_name))
    y = _floats(curve.get_column(y_name))
    found = _all_peaks(x, y, starts, min_prominence)
    values = pl.DataFrame(
        dict(zip((x_name, y_name, width_name, "Prominence"), found[1:], strict=True))
    )
    if keep:
        values = pl.concat([curve.select(keep)[found[0]], values], how="horizontal")
    return values.select(list(schema))


def _floats(column: pl.Series) -> Array:
    return np.asarray(column.cast(pl.Float64).to_numpy(), dtype=np.float64)


def _segment_starts(curve: pl.DataFrame, keep: list[str]) -> Any:
    """The first row of every segment (a run of equal ``keep`` values), or ``None`` when a
    segment's rows are not together."""
    if not keep:
        return np.zeros(1, dtype=np.int64)
    runs = curve.select(pl.struct(keep).rle_id()).to_series()
    count = int(runs[-1]) + 1
    if count != curve.select(pl.struct(keep).n_unique()).item():
        return None
    changed = np.flatnonzero(np.diff(runs.to_numpy()) != 0) + 1
    return np.concatenate([[0], changed]).astype(np.int64)


def _all_peaks(x: Array, y: Array, starts: Any, min_prominence: float) -> tuple[Any, ...]:
    """Every segment's prominent peaks: (row, position, height, width, prominence) arrays."""
    ends = np.append(starts[1:], y.size)
    top = _local_maxima(y, starts)
    out: list[tuple[Any, ...]] = []
    owner = np.searchsorted(starts, top, side="right") - 1
    split = np.searchsorted(owner, np.arange(starts.size + 1))
    for s, (a, b) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
        peaks = top[split[s] : split[s + 1]] - a
        ys = y[a:b]
        if peaks.size == 0 or ys.size < 3 or not np.isfinite(ys).all():
            continue
        out.append(_segment_peaks(x[a:b], ys, peaks, min_prominence, a))
    if not out:
        empty = np.empty(0)
        return np.empty(0, dtype=np.int64), empty, empty, empty, empty
    return tuple(np.concatenate([part[k] for part in out]) for k in range(5))


def _local_maxima(y: Array, starts: Any) -> Any:
    """Indices of every segment's local maxima, a flat top once at its middle, as
    :func:`ionworks.data.differential.find_peaks` (scipy's rule) finds them in each segment."""
    n = y.size
    new_run = np.ones(n, dtype=bool)
    new_run[1:] = y[1:] != y[:-1]
    new_run[starts] = True
    first = np.flatnonzero(new_run)  # runs of equal values, never across segments
    last = np.append(first[1:], n) - 1
    level = y[first]
    segment_first = np.zeros(n, dtype=bool)
    segment_first[starts] = True
    rise = np.zeros(first.size, dtype=bool)
    rise[1:] = (level[1:] > level[:-1]) & ~segment_first[first[1:]]
    fall = np.zeros(first.size, dtype=bool)
    fall[:-1] = (level[:-1] > level[1:]) & ~segment_first[first[1:]]
    top = np.flatnonzero(rise & fall)
    return (first[top] + last[top]) // 2


def _segment_peaks(
    x: Array, y: Array, peaks: Any, min_prominence: float, offset: int
) -> tuple[Any, ...]:
    """Prominence, width and refined position of the ``peaks`` (every local maximum) of one
    segment.

    Walking from a peak, the first point above it lies on the flank of the nearest higher
    local maximum (or the segment's end), so the bases are the lowest valleys between the
    peak and those: one comparison of the peaks with each other and with the valleys between
    them, not with every point.
    """
    prominence = _prominences(y, peaks)
    kept = prominence > min_prominence * float(np.max(y))
    tops = np.concatenate([[0], peaks, [y.size - 1]])
    valley = _valleys(y, tops)
    rank = np.flatnonzero(kept) + 1  # the kept peaks' places among the tops
    peaks, height, prominence = peaks[kept], y[peaks[kept]], prominence[kept]
    half = height - prominence / 2.0
    k = np.arange(valley.size)
    low = valley[None, :] <= half[:, None]
    right = np.where(low & (k >= rank[:, None]), k, valley.size).min(axis=1)
    left = np.where(low & (k < rank[:, None]), k, -1).max(axis=1)
    after = np.full(peaks.size, y.size)  # the first point at or below half height, each side
    before = np.full(peaks.size, -1)
    for i, (r, q) in enumerate(zip(right.tolist(), left.tolist(), strict=True)):
        if r < valley.size:
            after[i] = tops[r] + int(np.argmax(y[tops[r] : tops[r + 1] + 1] <= half[i]))
        if q >= 0:
            region = y[tops[q] : tops[q + 1] + 1] <= half[i]
            before[i] = tops[q] + region.size - 1 - int(np.argmax(region[::-1]))
    width = _crossing(x, y, after, -1, half) - _crossing(x, y, before, 1, half)
    return peaks + offset, _vertex(x, y, peaks), height, width, prominence


def _valleys(y: Array, tops: Any) -> Array:
    """The lowest value between each two neighbouring tops, both included."""
    return np.asarray(np.minimum(np.minimum.reduceat(y, tops)[:-1], y[tops[1:]]), dtype=np.float64)


def _prominences(y: Array, peaks: Any) -> Array:
    """Each peak's height above the higher of its two bases (``scipy.signal.peak_prominences``):
    the lowest point reached on each side before the curve rises above the peak."""
    tops = np.concatenate([[0], peaks, [y.size - 1]])  # the segment's ends bound every walk
    level, valley = y[tops], _valleys(y, tops)
    out = np.empty(peaks.size)
    t, k = np.arange(tops.size), np.arange(valley.size)
    step = max(1, 4_000_000 // tops.size)  # peaks at a time: bounded memory
    for s in range(0, peaks.size, step):
        rank = np.arange(s, min(s + step, peaks.size)) + 1
        height = level[rank][:, None]
        higher = level[None, :] > height
        left = np.where(higher & (t < rank[:, None]), t, 0).max(axis=1)
        right = np.where(higher & (t > rank[:, None]), t, tops.size - 1).min(axis=1)
        left_base = np.where((k >= left[:, None]) & (k < rank[:, None]), valley, np.inf)
        right_base = np.where((k >= rank[:, None]) & (k < right[:, None]), valley, np.inf)
        out[s : s + rank.size] = height[:, 0] - np.maximum(left_base.min(1), right_base.min(1))
    return out


def _crossing(x: Array, y: Array, k: Any, back: int, level: Array) -> Array:
    """Where ``y`` falls to ``level`` between the last point above it (``k + back``) and the
    first at or below it (``k``), interpolated; the segment's end when it never does."""
    j = k + back
    k = np.where((k < 0) | (k >= y.size), j, k)
    drop = y[j] - y[k]
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(drop != 0, (y[j] - level) / drop, 0.0)
    return np.asarray(x[j] + frac * (x[k] - x[j]), dtype=np.float64)


def _vertex(x: Array, y: Array, i: Any) -> Array:
    """Each peak's position refined by a parabola through its three points (uniform grid)."""
    inner = (i > 0) & (i < y.size - 1)
    a, b = np.where(inner, i - 1, i), np.where(inner, i + 1, i)
    below = y[a] - 2.0 * y[i] + y[b]
    with np.errstate(divide="ignore", invalid="ignore"):
        offset = np.where(below < 0, 0.5 * (y[a] - y[b]) / below, 0.0)
    return np.asarray(x[i] + offset * (x[b] - x[i]), dtype=np.float64)
