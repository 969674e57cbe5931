"""Peaks of a dQ/dV or dV/dQ curve: position, height, width and prominence, per segment.

Local maxima follow scipy's rule (as :func:`ionworks.data.differential.find_peaks`: a flat top
once, at its middle), found in every segment at once; the prominence and width follow
``scipy.signal.peak_prominences`` and ``peak_widths`` at half prominence, computed for every
peak at once (see :func:`_all_peaks`), and the position is refined between grid points.
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
    """Every segment's prominent peaks: (row, position, height, width, prominence) arrays.

    Walking from a peak, the first point above it lies on the flank of the nearest higher
    local maximum (or at the segment's end), so a peak's bases are the lowest valleys between
    it and those: the local maxima ("tops", with each segment's two ends) and the valleys
    between neighbouring tops are searched, for every peak at once, through tables of their
    maxima and minima over runs of 1, 2, 4, ... (a sparse table), not point by point.
    """
    ends = np.append(starts[1:], y.size)
    good = (ends - starts >= 3) & np.logical_and.reduceat(np.isfinite(y), starts)
    peaks = _local_maxima(y, starts)
    segment = np.searchsorted(starts, peaks, side="right") - 1
    peaks, segment = peaks[good[segment]], segment[good[segment]]
    if peaks.size == 0:
        empty = np.empty(0)
        return np.empty(0, dtype=np.int64), empty, empty, empty, empty
    used = np.unique(segment)
    tops = np.unique(np.concatenate([peaks, starts[used], ends[used] - 1]))
    rank = np.searchsorted(tops, peaks)  # each peak's place among the tops
    first = np.searchsorted(tops, starts[segment])  # its segment's two ends among the tops
    last = np.searchsorted(tops, ends[segment] - 1)
    level = y[tops]
    valley = np.minimum(np.minimum.reduceat(y, tops)[:-1], y[tops[1:]])  # tops k to k + 1
    highest, lowest = _table(level, np.maximum), _table(valley, np.minimum)
    height = level[rank]
    left = _reach(highest, rank, first, height, -1, above=False) - 1
    right = _reach(highest, rank, last, height, 1, above=False) + 1
    left_base = _range(lowest, np.maximum(left, first), rank - 1)
    right_base = _range(lowest, rank, np.minimum(right, last) - 1)
    prominence = height - np.maximum(left_base, right_base)
    kept = prominence > min_prominence * np.maximum.reduceat(y, starts)[segment]
    peaks, rank, first, last = peaks[kept], rank[kept], first[kept], last[kept]
    height, prominence, segment = height[kept], prominence[kept], segment[kept]
    half = height - prominence / 2.0
    # The valleys where the curve first falls to half height, each side (none: the end).
    after_valley = _reach(lowest, rank - 1, last - 1, half, 1, above=True) + 1
    before_valley = _reach(lowest, rank, first, half, -1, above=True) - 1
    after = np.full(peaks.size, -1)
    before = np.full(peaks.size, -1)
    for i, (r, q) in enumerate(zip(after_valley.tolist(), before_valley.tolist(), strict=True)):
        if r < last[i]:
            after[i] = tops[r] + int(np.argmax(y[tops[r] : tops[r + 1] + 1] <= half[i]))
        if q >= first[i]:
            region = y[tops[q] : tops[q + 1] + 1] <= half[i]
            before[i] = tops[q] + region.size - 1 - int(np.argmax(region[::-1]))
    stop = np.where(after < 0, ends[segment] - 1, after - 1)
    begin = np.where(before < 0, starts[segment], before + 1)
    width = _crossing(x, y, stop, after, half) - _crossing(x, y, begin, before, half)
    return peaks, _vertex(x, y, peaks), height, width, prominence


def _table(values: Array, pick: Any) -> list[Array]:
    """``table[j][i]``: ``pick`` (max or min) of ``values[i : i + 2**j]``."""
    table = [values]
    while 2 ** len(table) <= values.size:
        half = 2 ** (len(table) - 1)
        table.append(pick(table[-1][:-half], table[-1][half:]))
    return table


def _reach(table: list[Array], start: Any, bound: Any, level: Array, step: int, above: bool) -> Any:
    """How far from ``start`` (towards ``bound``, inclusive, in direction ``step``) every value
    stays at or below ``level`` (``above``: stays above it), walked in runs of 2**j: the
    last index reached (``start`` when the first one already fails)."""
    pos = np.asarray(start, dtype=np.int64).copy()
    for j in range(len(table) - 1, -1, -1):
        size = 2**j
        low = pos - size if step < 0 else pos + 1
        ok = (low >= bound) if step < 0 else (pos + size <= bound)
        where = np.flatnonzero(ok)
        run = table[j][low[where]]
        fine = run > level[where] if above else run <= level[where]
        pos[where[fine]] += step * size
    return pos


def _range(table: list[Array], a: Any, b: Any) -> Array:
    """``min`` over ``[a, b]`` (inclusive, never empty) of the values ``table`` was built on."""
    j = np.floor(np.log2(b - a + 1)).astype(np.int64)
    out = np.empty(a.size)
    for level in np.unique(j).tolist():
        sel = np.flatnonzero(j == level)
        rows = table[level]
        out[sel] = np.minimum(rows[a[sel]], rows[b[sel] - 2**level + 1])
    return out


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


def _crossing(x: Array, y: Array, j: Any, k: Any, level: Array) -> Array:
    """Where ``y`` falls to ``level`` between the last point above it (``j``) and the first at
    or below it (``k``), interpolated; at ``j`` when it never does (``k`` is -1)."""
    k = np.where(k < 0, j, k)
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
