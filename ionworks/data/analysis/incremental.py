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

from typing import Any

import numpy as np
import polars as pl

from ..columns import CAPACITY, VOLTAGE
from ..errors import DataError
from ._frames import Array, gaussian_kernel
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
    fleet frame (``measurement_id`` when present; a cell's rows may be interleaved with other
    cells', they are taken together in order). Returns the segment columns, ``Direction``,
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
    starts, sizes, dq = found.starts, found.sizes, found.dq
    v0, v1 = found.v0, found.v1
    low = np.minimum(np.minimum.reduceat(v0, starts), np.minimum.reduceat(v1, starts))
    high = np.maximum(np.maximum.reduceat(v0, starts), np.maximum.reduceat(v1, starts))
    first = np.floor(low / resolution).astype(np.int64)
    bins = np.floor(high / resolution).astype(np.int64) - first + 1
    kernel = gaussian_kernel(smoothing / resolution) if smoothing > 0 else np.ones(1)
    pad = kernel.size // 2
    padded = bins + 2 * pad  # each segment padded with zeros, so no kernel reaches the next
    offsets = np.cumsum(padded) - padded
    shift = np.repeat((offsets + pad - first).astype(np.float64), sizes)  # bin b: shift + b
    mass = _histogram(v0, v1, dq, shift, resolution, int(padded.sum()))
    curve = _convolve(mass, kernel)
    del mass, shift
    # Keep the points of every segment, not its padding: moved left in place, in order.
    done = 0
    for o, n in zip(offsets.tolist(), bins.tolist(), strict=True):
        curve[done : done + n] = curve[o + pad : o + pad + n]
        done += n
    curve = curve[:done]
    ends = _ends(curve, kernel, bins)
    curve /= resolution
    curve[ends[0]] = ends[1] / resolution
    volts = np.repeat(first - (np.cumsum(bins) - bins) + 0.5, bins)
    volts += np.arange(done)
    volts *= resolution
    return _result(found, bins, **{VOLTAGE: volts, DQDV: curve})


def _ends(smoothed: Array, kernel: Array, bins: Any) -> tuple[Any, Array]:
    """The points within half a kernel of a segment's ends and their values divided by the
    share of the kernel that falls inside the segment (so the curve is not pulled towards zero
    there)."""
    pad = kernel.size // 2
    starts = np.cumsum(bins) - bins
    near = np.minimum(bins, 2 * pad)  # points per segment within pad of either end
    segment = np.repeat(np.arange(bins.size), near)
    k = np.arange(segment.size) - np.repeat(np.cumsum(near) - near, near)
    length = bins[segment]
    rank = np.where(k < pad, k, length - 2 * pad + k)  # the first pad points, then the last
    rank = np.where(near[segment] < 2 * pad, k, rank)  # a short segment: all its points
    at = starts[segment] + rank
    right = np.minimum(pad, length - 1 - rank) + pad + 1
    left = np.maximum(-pad, -rank) + pad
    total = np.concatenate([[0.0], np.cumsum(kernel)])
    return at, smoothed[at] / (total[right] - total[left])


def _convolve(values: Array, kernel: Array) -> Array:
    """``np.convolve(values, kernel, "same")`` for a short symmetric kernel, where ``values``
    starts and ends with half a kernel of zeros (the padding; left as garbage in the result),
    in cache-sized blocks of shifted multiply-adds (SIMD: faster than numpy's one dot per
    point)."""
    pad = kernel.size // 2
    out = np.zeros(values.size)
    n = values.size - 2 * pad
    block = 1 << 14
    scratch = np.empty(min(block, max(n, 0)))
    for s in range(pad, pad + n, block):
        m = min(block, pad + n - s)
        acc, tmp = out[s : s + m], scratch[:m]
        np.multiply(values[s : s + m], kernel[pad], out=acc)
        for k in range(1, pad + 1):
            np.add(values[s - k : s - k + m], values[s + k : s + k + m], out=tmp)
            tmp *= kernel[pad + k]
            acc += tmp
    return out


def _histogram(v0: Array, v1: Array, dq: Array, shift: Array, width: float, size: int) -> Array:
    """Charge per bin (``width`` wide, bin ``b`` of an interval's segment at ``shift + b``)
    when each interval's charge ``dq`` is spread evenly over the voltages ``v0`` to ``v1``.

    Spreading (rather than putting each interval's charge in the bin of its middle) matters
    whenever the voltage step between samples is near the bin width: whole intervals would
    fill bins unevenly, a beat pattern no smoothing removes. Done in cache-sized blocks of
    intervals, every temporary reused (a dozen fresh million-row temporaries cost more in page
    faults and memory traffic than the arithmetic).
    """
    mass = np.zeros(size)
    block = min(1 << 16, dq.size)
    lo, hi, span = np.empty(block), np.empty(block), np.empty(block)
    a, b = np.empty(block, dtype=np.int64), np.empty(block, dtype=np.int64)
    for start in range(0, dq.size, block):
        stop = min(start + block, dq.size)
        m = stop - start
        ends = v0[start:stop], v1[start:stop]
        np.minimum(*ends, out=lo[:m])
        np.maximum(*ends, out=hi[:m])
        for edge in (lo[:m], hi[:m]):
            edge /= width
            edge += shift[start:stop]
        _spread(mass, (lo[:m], hi[:m], dq[start:stop]), (a[:m], b[:m], span[:m]))
    return mass


def _spread(mass: Array, intervals: tuple[Array, Array, Array], scratch: tuple[Any, ...]) -> None:
    """Add the charge ``dq`` of intervals ``[lo, hi]`` (bin units, >= 0) to ``mass``.

    An interval puts ``(hi - b) / (hi - lo)`` of its charge in the bin ``b`` of its upper end,
    ``(a + 1 - lo) / (hi - lo)`` in the bin ``a`` of its lower end (the rest, when they are
    neighbours) and ``1 / (hi - lo)`` in each whole bin between. An interval whose two samples
    read the same voltage (quantisation) puts its charge in that voltage's bin. ``hi`` and the
    ``scratch`` arrays are overwritten.
    """
    lo, hi, dq = intervals
    a, b, span = scratch
    np.copyto(a, lo, casting="unsafe")  # floor: lo >= 0
    np.copyto(b, hi, casting="unsafe")
    np.subtract(hi, lo, out=span)
    wide = np.flatnonzero(span > 1.0)  # needed for b - a > 1; a few intervals pass
    wide = wide[b[wide] - a[wide] > 1]
    density = dq[wide] / span[wide]
    own = (a[wide] + 1 - lo[wide]) * density  # the lower end's part, the whole bins apart
    upper = np.subtract(hi, b, out=hi)
    upper *= dq
    with np.errstate(divide="ignore", invalid="ignore"):  # points (span 0) are set below
        upper /= span
    if span.min() < 1e-6:
        point = span < 1e-6
        upper[point] = 0.0
        b[point] = a[point]
    lower = np.subtract(dq, upper, out=span)
    if wide.size:
        lower[wide] = own
        _whole_bins(mass, a[wide], b[wide], density)
    np.add.at(mass, a, lower)
    np.add.at(mass, b, upper)


def _whole_bins(mass: Array, a: Any, b: Any, density: Array) -> None:
    """``density`` to each bin strictly between ``a`` and ``b`` of every interval."""
    inner = b - a - 1
    count = int(inner.sum())
    base, top = int(a.min()) + 1, int(b.max())
    if count <= top - base:  # the usual case: list the bins
        first = np.cumsum(inner) - inner  # where each interval's bins begin in the list
        owner = np.zeros(count, dtype=np.int64)  # the interval of each listed bin
        np.add.at(owner, first[1:], 1)
        np.cumsum(owner, out=owner)
        at = np.arange(count)
        at += (a + 1 - first)[owner]
        np.add.at(mass, at, density[owner])
        return
    steps = np.zeros(top - base + 1)  # more bins crossed than the range has: a running sum
    np.add.at(steps, a + 1 - base, density)
    np.add.at(steps, b - base, -density)
    mass[base:top] += np.cumsum(steps)[:-1]


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
    return _result(found, bins, **{CAPACITY: centres, VOLTAGE: volts, DVDQ: np.abs(slope)})


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
        smoothed = _convolve(stacked, kernel)
        smoothed = np.concatenate([smoothed[p : p + m] for _, p, m in spans])
        smoothed /= kernel.sum()
        at, edges = _ends(smoothed, kernel, n)
        smoothed[at] = edges * kernel.sum()
        done = 0
        for o, _, m in spans:
            out[o : o + m] = smoothed[done : done + m]
            done += m
    return out


def _result(found: Segments, counts: Any, **data: Array) -> pl.DataFrame:
    """The curves (``counts`` points per segment) with each point's segment columns and the
    direction; numeric labels are repeated in numpy, others gathered by polars."""
    labels = []
    for column in found.labels.iter_columns():
        if column.dtype.is_numeric() and not column.has_nulls():
            values = np.repeat(column.to_numpy(), counts)
            labels.append(pl.Series(column.name, values, dtype=column.dtype))
        else:
            labels.append(column.gather(np.repeat(np.arange(column.len()), counts)))
    curve = pl.DataFrame([*labels, *(pl.Series(k, v) for k, v in data.items())])
    # A literal column: polars keeps one value, not a string per point.
    direction = pl.lit(found.direction, dtype=pl.String).alias(DIRECTION)
    return curve.insert_column(len(labels), direction)


def _check(**values: float | None) -> None:
    for name, value in values.items():
        ok = isinstance(value, int | float) and np.isfinite(value) and value >= 0
        if value is not None and (not ok or (value == 0 and name == "resolution")):
            raise DataError(f"{name} must be a positive number, got {value!r}.")
