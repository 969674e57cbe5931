"""The charge histogram over voltage behind dQ/dV, and the Gaussian smoothing of binned curves.

Every pass here runs in numpy ufuncs, ``bincount`` and ``repeat``, which release the GIL, so
two threads filling two disjoint parts of a grid run at once (``np.add.at`` would hold it).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ._frames import Array

IntArray = npt.NDArray[np.int64]


def charge_histogram(
    ends: tuple[Array, Array], dq: Array, shift: Array, width: float, base: int, size: int
) -> Array:
    """Charge per bin when each interval's charge ``dq`` is spread evenly over the voltages
    between its two ends (``width``-wide bins; bin ``b`` of an interval's segment is at
    ``shift + b`` on the grid, and at ``shift + b - base`` in the ``size`` bins returned).

    Spreading (rather than putting each interval's charge in the bin of its middle) matters
    whenever the voltage step between samples is near the bin width: whole intervals would
    fill bins unevenly, a beat pattern no smoothing removes. The bin positions are computed on
    the whole grid (``shift``), so a part of it gets the very numbers the whole would. Done in
    cache-sized blocks of intervals, every temporary reused; each interval's two end bins and
    their shares are written side by side and summed by one ``bincount`` at the end.
    """
    n = dq.size
    index = np.empty(2 * n, dtype=np.int64)  # the lower end's bin, then the upper end's
    share = np.empty(2 * n)
    inner: list[tuple[IntArray, Array]] = []
    block = min(1 << 16, n)
    lo, hi, span = np.empty(block), np.empty(block), np.empty(block)
    for start in range(0, n, block):
        stop = min(start + block, n)
        m = stop - start
        v0, v1 = ends[0][start:stop], ends[1][start:stop]
        np.minimum(v0, v1, out=lo[:m])
        np.maximum(v0, v1, out=hi[:m])
        for edge in (lo[:m], hi[:m]):
            edge /= width
            edge += shift[start:stop]
        bins = index[start:stop], index[n + start : n + stop]
        shares = share[start:stop], share[n + start : n + stop]
        raw = (v0, v1, shift[start:stop], width)
        found = _spread((lo[:m], hi[:m], dq[start:stop]), bins, shares, span[:m], raw)
        if found is not None:
            inner.append(found)
    index -= base
    mass = np.asarray(np.bincount(index, share, minlength=size), dtype=np.float64)  # no copy
    # An upper end rounding up onto the edge past the last bin adds its share, 0, there.
    mass = mass[:size]
    if inner:
        at = np.concatenate([i for i, _ in inner])
        at -= base
        mass += np.bincount(at, np.concatenate([c for _, c in inner]), minlength=size)
    return mass


def _spread(
    intervals: tuple[Array, Array, Array],
    bins: tuple[IntArray, IntArray],
    shares: tuple[Array, Array],
    span: Array,
    raw: tuple[Array, Array, Array, float],
) -> tuple[IntArray, Array] | None:
    """The bins ``a``, ``b`` of the ends of intervals ``[lo, hi]`` (bin units, >= 0) and the
    shares of their charge ``dq`` there, written to ``bins`` and ``shares``; the whole bins
    between (bin, charge), when an interval has any.

    An interval puts ``(hi - b) / (hi - lo)`` of its charge in the bin ``b`` of its upper end,
    ``(a + 1 - lo) / (hi - lo)`` in the bin ``a`` of its lower end (the rest, when they are
    neighbours) and ``1 / (hi - lo)`` in each whole bin between. An interval whose two samples
    read the same voltage (quantisation) puts its charge in that voltage's bin
    (:func:`_point_bins`, from ``raw``: the voltages, shifts and bin width). ``hi`` and
    ``span`` are overwritten.
    """
    lo, hi, dq = intervals
    a, b = bins
    np.copyto(a, lo, casting="unsafe")  # floor: lo >= 0
    np.copyto(b, hi, casting="unsafe")
    np.subtract(hi, lo, out=span)
    wide = np.flatnonzero(span > 1.0)  # needed for b - a > 1; a few intervals pass
    wide = wide[b[wide] - a[wide] > 1]
    density = dq[wide] / span[wide]
    own = (a[wide] + 1 - lo[wide]) * density  # the lower end's part, the whole bins apart
    lower, upper = shares
    np.subtract(hi, b, out=upper)
    upper *= dq
    with np.errstate(divide="ignore", invalid="ignore"):  # points (span 0) are set below
        upper /= span
    if span.min() < 1e-6:
        point = span < 1e-6
        upper[point] = 0.0
        a[point] = _point_bins(raw, point)
        b[point] = a[point]
    np.subtract(dq, upper, out=lower)
    if not wide.size:
        return None
    lower[wide] = own
    return _whole_bins(a[wide], b[wide], density)


def _point_bins(raw: tuple[Array, Array, Array, float], point: npt.NDArray[np.bool_]) -> IntArray:
    """The bins of the intervals of one voltage (``point``): the voltage's bin, then moved by
    the whole number ``shift``. Floored after the shift, a voltage just below a bin edge can
    round up into the next bin, past its segment's top bin (its charge then went to another
    segment's curve, or past the grid's end)."""
    v0, v1, shift, width = raw
    lowest = np.minimum(v0[point], v1[point])
    lowest /= width
    return np.asarray(np.floor(lowest) + shift[point], dtype=np.int64)


def _whole_bins(a: IntArray, b: IntArray, density: Array) -> tuple[IntArray, Array]:
    """The bins strictly between ``a`` and ``b`` of every interval and the charge (``density``)
    each gets."""
    inner = b - a - 1
    count = int(inner.sum())
    base, top = int(a.min()) + 1, int(b.max())
    if count <= top - base:  # the usual case: list the bins
        first = np.cumsum(inner) - inner  # where each interval's bins begin in the list
        at = np.arange(count)
        at += np.repeat(a + 1 - first, inner)
        return at, np.repeat(density, inner)
    steps = np.zeros(top - base + 1)  # more bins crossed than the range has: a running sum
    np.add.at(steps, a + 1 - base, density)
    np.add.at(steps, b - base, -density)
    return np.arange(base, top, dtype=np.int64), np.cumsum(steps)[:-1]


def padding_mask(bins: Any, pad: int) -> npt.NDArray[np.bool_]:
    """Which points of segments of ``bins`` points laid end to end, each between ``pad`` zeros
    on either side, are the segments' own (not padding)."""
    size = int(bins.sum()) + 2 * pad * bins.size
    own = np.ones(size, dtype=bool)
    if pad:
        padded = bins + 2 * pad
        runs = np.stack([np.cumsum(padded) - padded, np.cumsum(padded) - pad], axis=1).ravel()
        own[np.repeat(runs, pad) + np.tile(np.arange(pad), runs.size)] = False
    return own


def convolve(values: Array, kernel: Array) -> Array:
    """``np.convolve(values, kernel, "same")`` for a short symmetric kernel, where ``values``
    starts and ends with half a kernel of zeros (the padding; left as garbage in the result),
    in cache-sized blocks of shifted multiply-adds (SIMD: faster than numpy's one dot per
    point)."""
    pad = kernel.size // 2
    out = np.empty(values.size)  # the padding is not written: not read after
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


def edge_values(smoothed: Array, kernel: Array, bins: Any) -> tuple[Any, Array]:
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
