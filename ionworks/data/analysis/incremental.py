"""Incremental capacity (dQ/dV) and differential voltage (dV/dQ) of charge or discharge segments.

**dQ/dV** is computed as a charge histogram over voltage: each sampling interval's charge,
``|I| * dt``, is spread evenly over the voltages between its two samples (so Q(V) is piecewise
linear; an interval whose two samples read the same voltage puts all of it at that voltage);
the bins (``resolution`` wide, 2 mV by default) are then smoothed with a Gaussian of
standard deviation ``smoothing`` volts (5 mV by default) and divided by the bin width. Nothing
is ever divided by a voltage difference, so a cycler's 0.1–1 mV quantisation (many samples at one voltage) cannot give
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

import itertools
from typing import Any

import numpy as np
import polars as pl

from ..columns import CAPACITY, VOLTAGE
from ..errors import DataError
from ._frames import Array, gaussian_kernel, smooth
from ._segments import Direction, Segments, collect_segments

__all__ = ["DIRECTION", "DQDV", "DVDQ", "dqdv", "dvdq"]

DQDV = "dQ/dV [A.h/V]"
DVDQ = "dV/dQ [V/A.h]"
DIRECTION = "Direction"


def dqdv(
    frame: Any,
    *,
    step: int | None = None,
    cycle: int | None = None,
    direction: Direction | None = None,
    resolution: float = 0.002,
    smoothing: float = 0.005,
    constant_current_only: bool = True,
    min_points: int = 20,
    by: str | list[str] | None = None,
) -> pl.DataFrame:
    """Incremental capacity |dQ/dV| of every segment, on a uniform voltage grid.

    ``resolution``: the grid spacing in V; ``smoothing``: the Gaussian's standard deviation in V
    (0 for none). A grid finer than ``smoothing / 2.5`` shows nothing more: the smoothed curve
    has no detail left at that scale (peak positions are refined between grid points anyway).
    ``step``/``cycle`` select rows first; ``direction`` defaults to the step's own when
    ``step`` is given, else ``"discharge"``. ``by``: the columns naming each cell in a
    fleet frame (``measurement_id`` when present). Returns the segment columns, ``Direction``,
    ``Voltage [V]`` (bin centres) and ``dQ/dV [A.h/V]``.
    """
    _check(resolution=resolution, smoothing=smoothing)
    found = collect_segments(
        frame,
        step=step,
        cycle=cycle,
        direction=direction,
        constant_current_only=constant_current_only,
        min_points=min_points,
        by=by,
        what="dqdv",
    )
    lo = np.minimum(found.v0, found.v1) / resolution
    hi = np.maximum(found.v0, found.v1) / resolution
    starts = found.starts
    first = np.floor(np.minimum.reduceat(lo, starts)).astype(np.int64)
    bins = np.floor(np.maximum.reduceat(hi, starts)).astype(np.int64) - first + 1
    kernel = gaussian_kernel(smoothing / resolution) if smoothing > 0 else np.ones(1)
    pad = kernel.size // 2
    sizes = bins + 2 * pad  # each segment padded with zeros, so no kernel reaches the next
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    shift = (offsets + pad - first)[found.seg]  # bin b of a segment sits at shift + b
    mass = _histogram(lo + shift, hi + shift, found.dq, int(sizes.sum()))
    segment_of = np.repeat(np.arange(bins.size), bins)
    rank = np.arange(segment_of.size) - np.repeat(np.cumsum(bins) - bins, bins)
    where = (offsets + pad)[segment_of] + rank
    smoothed = np.convolve(mass, kernel, "same")[where]
    curve = smoothed / _kernel_inside(kernel, rank, bins[segment_of]) / resolution
    volts = (first[segment_of] + rank + 0.5) * resolution
    return _result(found, segment_of, **{VOLTAGE: volts, DQDV: curve})


def _kernel_inside(kernel: Array, rank: Any, length: Any) -> Array:
    """The share of the kernel centred on point ``rank`` of a segment of ``length`` points that
    falls inside the segment: dividing by it keeps the curve unbiased at the segment's ends."""
    pad = kernel.size // 2
    inside = np.ones(np.shape(rank))
    edge = np.nonzero((rank < pad) | (rank > length - 1 - pad))[0]
    total = np.concatenate([[0.0], np.cumsum(kernel)])
    right = np.minimum(pad, length[edge] - 1 - rank[edge]) + pad + 1
    left = np.maximum(-pad, -rank[edge]) + pad
    inside[edge] = total[right] - total[left]
    return inside


def _histogram(lo: Array, hi: Array, dq: Array, size: int) -> Array:
    """Charge per unit bin when each ``dq`` is spread evenly over ``[lo, hi]`` (bin units).

    Spreading (rather than putting each interval's charge in the bin of its middle) matters
    whenever the voltage step between samples is near the bin width: whole intervals would
    fill bins unevenly, a beat pattern no smoothing removes. The cumulative charge at integer
    edge ``k`` is a sum of clamped ramps ``d * (max(0, k - lo) - max(0, k - hi))``,
    ``d = dq / (hi - lo)``; each ramp enters two difference arrays where it starts (``ceil`` of
    its end point), so one cumulative sum gives every bin in O(n + bins). An interval whose two
    samples read the same voltage (quantisation) puts its charge in that voltage's bin.
    """
    point = hi - lo < 1e-6
    mass = np.zeros(size)
    if point.any():
        mass += np.bincount(np.floor(lo[point]).astype(np.int64), dq[point], minlength=size)[:size]
        lo, hi, dq = lo[~point], hi[~point], dq[~point]
    density = dq / (hi - lo)
    slope = np.zeros(size + 1)
    level = np.zeros(size + 1)
    for ends, add in ((lo, np.add), (hi, np.subtract)):
        start = np.ceil(ends)
        index = start.astype(np.int64)
        add(slope, np.bincount(index, density, minlength=size + 1), out=slope)
        start -= ends
        start *= density
        add(level, np.bincount(index, start, minlength=size + 1), out=level)
    # Bin k holds C(k+1) - C(k) of the cumulative charge C; with C built from the two arrays
    # as above, that difference is the running slope at k plus the level entering at k + 1.
    return np.asarray(mass + np.cumsum(slope)[:size] + level[1:], dtype=np.float64)


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
    ``Direction``, ``Capacity [A.h]`` (charge passed since the segment began, bin centres),
    ``Voltage [V]`` (bin means, smoothed) and ``dV/dQ [V/A.h]``.
    """
    _check(resolution=resolution, smoothing=smoothing)
    found = collect_segments(
        frame,
        step=step,
        cycle=cycle,
        direction=direction,
        constant_current_only=constant_current_only,
        min_points=min_points,
        by=by,
        what="dvdq",
    )
    bounds = np.append(found.starts, found.seg.size)
    middle = (found.v0 + found.v1) / 2.0
    parts: list[tuple[Array, Array, Array]] = []
    for a, b in itertools.pairwise(bounds):
        q = np.cumsum(found.dq[a:b])
        width = resolution or q[-1] / 1000.0
        index = np.floor(q / width).astype(np.int64)
        counts = np.bincount(index).astype(float)
        filled = counts > 0
        means = np.bincount(index, weights=middle[a:b])[filled] / counts[filled]
        centres = (np.arange(counts.size) + 0.5) * width
        volts = smooth(
            np.interp(centres, centres[filled], means),
            (smoothing if smoothing is not None else 0.01 * q[-1]) / width,
        )
        parts.append((centres, volts, np.abs(np.gradient(volts, width))))
    segment_of = np.repeat(np.arange(len(parts)), [p[0].size for p in parts])
    columns = (np.concatenate([p[k] for p in parts]) for k in range(3))
    return _result(found, segment_of, **dict(zip((CAPACITY, VOLTAGE, DVDQ), columns, strict=True)))


def _result(found: Segments, segment_of: Any, **data: Array) -> pl.DataFrame:
    """The curves with each point's segment columns and the direction."""
    curve = pl.DataFrame([pl.Series(k, v) for k, v in data.items()]).with_columns(
        pl.lit(found.direction).alias(DIRECTION)
    )
    if found.labels.width:
        curve = pl.concat(
            [found.labels.select(pl.all().gather(segment_of)), curve], how="horizontal"
        )
    return curve.select(*found.labels.columns, DIRECTION, *data)


def _check(**values: float | None) -> None:
    for name, value in values.items():
        ok = isinstance(value, int | float) and np.isfinite(value) and value >= 0
        if value is not None and (not ok or (value == 0 and name == "resolution")):
            raise DataError(f"{name} must be a positive number, got {value!r}.")
