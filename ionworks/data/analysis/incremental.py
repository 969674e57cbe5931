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

from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import polars as pl

from ..columns import CAPACITY, VOLTAGE
from ..errors import DataError
from ._frames import Array, gaussian_kernel
from ._histogram import charge_histogram, convolve, edge_values, padding_mask
from ._kernels import compiled
from ._segments import Direction, Segments, collect_parts, collect_segments, in_parallel

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
    fleet frame (``measurement_id`` when present; a cell's rows may be interleaved with other
    cells', they are taken together in order). Returns the segment columns, ``Direction``,
    ``Voltage [V]`` (bin centres) and ``dQ/dV [A.h/V]``.
    """
    _check(resolution=resolution, smoothing=smoothing)
    min_points = _whole(min_points)
    parts = collect_parts(
        frame,
        step=step,
        cycle=cycle,
        direction=direction,
        constant_current_only=constant_current_only,
        min_points=min_points,
        by=by,
        what="dqdv",
        each=partial(_voltage_bins, resolution=resolution),
        parts=2,
    )
    first = np.concatenate([f for _, (f, _) in parts])
    bins = np.concatenate([b for _, (_, b) in parts])
    kernel = gaussian_kernel(smoothing / resolution) if smoothing > 0 else np.ones(1)
    pad = kernel.size // 2
    padded = bins + 2 * pad  # each segment padded with zeros, so no kernel reaches the next
    offsets = np.cumsum(padded) - padded
    shift = (offsets + pad - first).astype(np.float64)  # bin b of a segment: shift + b
    curve, volts = np.empty(int(bins.sum())), np.empty(int(bins.sum()))
    counts = np.cumsum([0, *(found.starts.size for found, _ in parts)])
    done = np.cumsum(bins) - bins
    calls = []
    for (found, _), s, e in zip(parts, counts[:-1].tolist(), counts[1:].tolist(), strict=True):
        out = slice(int(done[s]), int(done[s] + bins[s:e].sum()))
        grid = _Grid(first[s:e], bins[s:e], shift[s:e], int(offsets[s]), resolution, kernel)
        calls.append(partial(_part_curve, found, grid, curve[out], volts[out]))
    in_parallel(calls)
    labels = pl.concat([found.labels for found, _ in parts])
    return _result(labels, parts[0][0].direction, bins, **{VOLTAGE: volts, DQDV: curve})


@dataclass(frozen=True)
class _Grid:
    """The voltage grid of some segments: each one's first bin (in bin units from 0 V), number
    of bins and place on the whole grid (bin ``b`` at ``shift + b``; its first padded point at
    ``base``)."""

    first: Any
    bins: Any
    shift: Array
    base: int
    resolution: float
    kernel: Array


def _voltage_bins(found: Segments, resolution: float) -> tuple[Any, Any]:
    """Each segment's first bin (in bin units from 0 V) and number of bins."""
    if found.low is not None and found.high is not None:  # the compiled pass found them
        low, high = found.low, found.high
        first = np.floor(low / resolution).astype(np.int64)
        return first, np.floor(high / resolution).astype(np.int64) - first + 1
    starts, v0, v1 = found.starts, found.v0, found.v1
    low = np.minimum(np.minimum.reduceat(v0, starts), np.minimum.reduceat(v1, starts))
    high = np.maximum(np.maximum.reduceat(v0, starts), np.maximum.reduceat(v1, starts))
    first = np.floor(low / resolution).astype(np.int64)
    return first, np.floor(high / resolution).astype(np.int64) - first + 1


def _part_curve(found: Segments, grid: _Grid, curve: Array, volts: Array) -> None:
    """dQ/dV of some segments and its voltages, written to ``curve`` and ``volts``."""
    kernel, bins, resolution = grid.kernel, grid.bins, grid.resolution
    kernels = compiled()
    if kernels is not None:
        segments = (found.starts, grid.first, bins, grid.shift)
        ends = (found.v0, found.v1, found.dq)
        kernels.part_curve(ends, segments, resolution, kernel, (curve, volts))
        return
    pad = kernel.size // 2
    size = int(bins.sum()) + 2 * pad * bins.size
    shift = np.repeat(grid.shift, found.sizes)
    mass = charge_histogram((found.v0, found.v1), found.dq, shift, resolution, grid.base, size)
    del shift
    np.compress(padding_mask(bins, pad), convolve(mass, kernel), out=curve)
    del mass
    at, edges = edge_values(curve, kernel, bins)
    curve /= resolution
    curve[at] = edges / resolution
    np.add(
        np.repeat(grid.first - (np.cumsum(bins) - bins) + 0.5, bins),
        np.arange(curve.size),
        out=volts,
    )
    volts *= resolution


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
    min_points = _whole(min_points)
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
    starts, sizes = found.starts, found.sizes
    q = np.empty_like(found.dq)  # charge since each segment began, summed segment by segment
    for a, n in zip(starts.tolist(), sizes.tolist(), strict=True):
        np.cumsum(found.dq[a : a + n], out=q[a : a + n])
    total = q[starts + sizes - 1]
    width = np.full(starts.size, resolution) if resolution else total / 1000.0
    sigma = (np.full(starts.size, smoothing) if smoothing is not None else 0.01 * total) / width
    q /= np.repeat(width, sizes)
    index = np.floor(q).astype(np.int64)  # q increases: the last interval's bin is the last
    bins = index[starts + sizes - 1] + 1
    if bins.min() < 2:
        raise DataError(
            f"dvdq: resolution={resolution} A.h leaves a segment a single capacity bin; pass a "
            "resolution finer than the segment's capacity (the default is 0.1 % of it)."
        )
    offsets = np.cumsum(bins) - bins
    index += np.repeat(offsets, sizes)
    middle = found.v0 + found.v1
    middle /= 2.0
    volts = _bin_means(index, middle, bins)
    volts = _smooth_segments(volts, sigma, bins)
    spacing = np.repeat(width, bins)
    slope = np.empty_like(volts)  # np.gradient of each segment: central inside, one-sided at ends
    slope[1:-1] = (volts[2:] - volts[:-2]) / (2.0 * spacing[1:-1])
    first, last = offsets, offsets + bins - 1
    slope[first] = (volts[first + 1] - volts[first]) / width
    slope[last] = (volts[last] - volts[last - 1]) / width
    centres = np.arange(volts.size, dtype=np.float64)
    centres -= np.repeat(offsets - 0.5, bins)
    centres *= spacing
    return _result(
        found.labels,
        found.direction,
        bins,
        **{CAPACITY: centres, VOLTAGE: volts, DVDQ: np.abs(slope)},
    )


def _bin_means(index: Any, values: Array, bins: Any) -> Array:
    """The mean of ``values`` in every bin (``index``, segment after segment); an empty bin is
    interpolated between its segment's filled neighbours (the first filled value before them;
    a segment's last bin is never empty)."""
    counts = np.bincount(index, minlength=int(bins.sum())).astype(np.float64)
    sums = np.bincount(index, values, minlength=counts.size)
    filled = counts > 0
    means = np.divide(sums, counts, out=sums, where=filled)
    if filled.all():
        return np.asarray(means, dtype=np.float64)
    empty = np.flatnonzero(~filled)
    known = np.flatnonzero(filled)
    after = np.cumsum(filled)[empty]  # the next filled bin's place (same segment: its last is)
    right = known[after]
    left = known[np.maximum(after - 1, 0)]
    segment_start = np.repeat(np.cumsum(bins) - bins, bins)[empty]
    before = (after > 0) & (left >= segment_start)
    with np.errstate(divide="ignore", invalid="ignore"):  # left == right: not used below
        slope = (means[right] - means[left]) / (right - left)
    means[empty] = np.where(before, slope * (empty - left) + means[left], means[right])
    return np.asarray(means, dtype=np.float64)


def _smooth_segments(values: Array, sigma: Array, bins: Any) -> Array:
    """:func:`._frames.smooth` of every segment (Gaussian of ``sigma`` points, normalised over
    the kernel's overlap at the ends), segments sharing a kernel convolved in one pass."""
    out = values.copy()
    offsets = np.cumsum(bins) - bins
    kernels = {float(x): gaussian_kernel(float(x)) for x in np.unique(sigma[sigma > 0])}
    half = np.array([kernels[x].size // 2 if x > 0 else 0 for x in sigma.tolist()])
    half = np.minimum(half, (bins - 1) // 2)  # a short curve: the kernel cut to fit
    for x, h in sorted(set(zip(sigma.tolist(), half.tolist(), strict=True))):
        if x <= 0 or h == 0:
            continue
        full = kernels[x]
        kernel = full[full.size // 2 - h : full.size // 2 + h + 1]
        group = np.flatnonzero((sigma == x) & (half == h))
        n = bins[group]
        padded = n + 2 * h
        place = (np.cumsum(padded) - padded + h).tolist()
        spans = list(zip(offsets[group].tolist(), place, n.tolist(), strict=True))
        stacked = np.zeros(int(padded.sum()))  # the group's segments, half a kernel apart
        for o, p, m in spans:
            stacked[p : p + m] = values[o : o + m]
        smoothed = convolve(stacked, kernel)
        smoothed = np.concatenate([smoothed[p : p + m] for _, p, m in spans])
        smoothed /= kernel.sum()
        at, edges = edge_values(smoothed, kernel, n)
        smoothed[at] = edges * kernel.sum()
        done = 0
        for o, _, m in spans:
            out[o : o + m] = smoothed[done : done + m]
            done += m
    return out


def _result(labels: pl.DataFrame, direction: str, counts: Any, **data: Array) -> pl.DataFrame:
    """The curves (``counts`` points per segment) with each point's segment columns and the
    direction; numeric labels are repeated in numpy, others gathered by polars."""
    columns = []
    for column in labels.iter_columns():
        if column.dtype.is_numeric() and not column.has_nulls():
            values = np.repeat(column.to_numpy(), counts)
            columns.append(pl.Series(column.name, values, dtype=column.dtype))
        else:
            columns.append(column.gather(np.repeat(np.arange(column.len()), counts)))
    curve = pl.DataFrame([*columns, *(pl.Series(k, v) for k, v in data.items())])
    # A literal column: polars keeps one value, not a string per point.
    literal = pl.lit(direction, dtype=pl.String).alias(DIRECTION)
    return curve.insert_column(len(columns), literal)


def _check(**values: float | None) -> None:
    for name, value in values.items():
        ok = isinstance(value, int | float) and np.isfinite(value) and value >= 0
        if value is not None and (not ok or (value == 0 and name == "resolution")):
            raise DataError(f"{name} must be a positive number, got {value!r}.")


def _whole(min_points: Any) -> int:
    """``min_points`` as an int: a whole number (20.0 too), else a clear error (the segment
    filter compares counts with it, in numpy or in the compiled pass, which takes an int)."""
    ok = isinstance(min_points, int | float | np.integer | np.floating)
    if isinstance(min_points, bool) or not ok or not float(min_points).is_integer():
        raise DataError(
            f"min_points must be a whole number (the fewest samples a segment needs), "
            f"got {min_points!r}."
        )
    return int(min_points)
