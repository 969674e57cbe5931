"""The compiled (numba) kernels of dQ/dV: one pass over the rows, one over the kept intervals.

Imported only by :mod:`._kernels` (lazily, on the first dQ/dV call), never at ``import
ionworks``. Each kernel computes what the numpy reference computes, with the same floating
point operations in the same order wherever the order decides a bin or a share (bin of
``lo / width + shift``, ``((hi - b) * dq) / span``, the lower ends' shares summed before the
upper ends', the whole bins between after, the convolution's shifted multiply-adds), so the
two paths agree to the last bits on the curve; see ``tests/test_analysis_compiled.py``.
``nogil``: the two halves of a long series run in two threads (``_segments.in_parallel``).
No ``fastmath`` (it would reorder sums) and no ``parallel`` (its threading layers are not a
library's to choose).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import config, njit

from ._segments import CC_RELATIVE_STD

DISABLED = bool(config.DISABLE_JIT)
"""Whether numba was told not to compile (``NUMBA_DISABLE_JIT``): then these are not used."""


def _jit_numpy(function: Any) -> Any:
    """:func:`_jit` with numpy's float errors (a division by zero gives inf, not a raise): no
    test before each division, so a loop of them runs in SIMD."""
    try:
        return njit(cache=True, nogil=True, error_model="numpy")(function)
    except RuntimeError:
        return njit(cache=False, nogil=True, error_model="numpy")(function)


def _jit(function: Any) -> Any:
    """``njit(nogil=True)``, cached on disk when numba finds a writable place for its cache
    (next to this file, else the user's cache directory); compiled per process otherwise."""
    try:
        return njit(cache=True, nogil=True)(function)
    except RuntimeError:  # "cannot cache function ...: no locator available for file ..."
        return njit(cache=False, nogil=True)(function)


@_jit
def read_intervals(
    t: Any,
    i: Any,
    v: Any,
    cell: Any,
    cycle: Any,
    step: Any,
    discharge: bool,
    constant_current_only: bool,
    min_points: int,
) -> Any:
    """The kept intervals of the rows, as ``_segments._read`` keeps them, in one pass.

    ``cell``, ``cycle``, ``step``: int64 labels per row (an empty array: no such column). An
    interval is rows ``r - 1, r`` both flowing in the direction, of one cell, with a finite
    positive charge and finite voltages. A segment (cell and cycle) or a step begins where the
    end row's label differs from the previous kept interval's. With ``constant_current_only``
    and steps, a run (a step of a segment) whose current varies more than 2 % is dropped; then
    a segment with fewer than ``min_points`` intervals. Dropped intervals are overwritten (the
    write position goes back), so nothing is compacted afterwards.

    Returns ``dq, v0, v1`` (the kept intervals: charge, voltages at the start and end); per
    kept segment (the first ``kept`` of each array of ``found``) its first interval, the end
    row of its first interval before the current filter (where its labels are read), its
    lowest and highest voltage; the end rows of the first and last intervals (-1: none).
    """
    n = t.size
    m = max(n - 1, 0)
    dq, v0, v1 = np.empty(m), np.empty(m), np.empty(m)
    found = (np.empty(m + 1, np.int64), np.empty(m + 1, np.int64), np.empty(m + 1), np.empty(m + 1))
    has_cell, has_cycle, has_step = cell.size > 0, cycle.size > 0, step.size > 0
    cc = constant_current_only and has_step
    scale = 3600.0 if discharge else -3600.0
    w, kept = 0, 0  # the next write position; the segments kept
    first_row, last = -1, -1  # end rows of the first and of the previous interval
    seg_w, seg_row, seg_low, seg_high = 0, -1, math.inf, -math.inf
    run_w, run_n, run_sum, run_sq, run_low, run_high = 0, 0, 0.0, 0.0, math.inf, -math.inf
    for r in range(1, n):
        c = i[r]
        if discharge:
            if not (c > 0 and i[r - 1] > 0):
                continue
        elif not (c < 0 and i[r - 1] < 0):
            continue
        if has_cell and cell[r] != cell[r - 1]:
            continue
        d = ((t[r] - t[r - 1]) * c) / scale
        a, b = v[r - 1], v[r]
        if not (np.isfinite(d) and d > 0 and np.isfinite(a) and np.isfinite(b)):
            continue
        new_segment = last < 0 or (
            (has_cell and cell[r] != cell[last]) or (has_cycle and cycle[r] != cycle[last])
        )
        new_run = new_segment or (cc and step[r] != step[last])
        if new_run and last >= 0:  # close the run before this interval
            run = (run_w, run_n, run_sum, run_sq, run_low, run_high)
            w, seg_low, seg_high = _end_run(cc, w, run, seg_low, seg_high)
        if new_segment:
            if last >= 0:
                segment = (seg_w, seg_row, seg_low, seg_high)
                w, kept = _end_segment(w, segment, min_points, found, kept)
            seg_w, seg_row, seg_low, seg_high = w, r, math.inf, -math.inf
        if new_run:
            run_w, run_n, run_sum, run_sq, run_low, run_high = w, 0, 0.0, 0.0, math.inf, -math.inf
        if first_row < 0:
            first_row = r
        if new_run or r - 1 != last:  # else its start is the end of the interval before
            run_low, run_high = min(run_low, a), max(run_high, a)
        run_low, run_high = min(run_low, b), max(run_high, b)  # one compare a step: less latency
        last = r
        dq[w], v0[w], v1[w] = d, a, b
        w += 1
        run_n, run_sum, run_sq = run_n + 1, run_sum + c, run_sq + c * c
    if last >= 0:  # close the last run and segment
        run = (run_w, run_n, run_sum, run_sq, run_low, run_high)
        w, seg_low, seg_high = _end_run(cc, w, run, seg_low, seg_high)
        w, kept = _end_segment(w, (seg_w, seg_row, seg_low, seg_high), min_points, found, kept)
    return dq[:w], v0[:w], v1[:w], found, kept, first_row, last


@_jit
def _end_run(cc: bool, w: int, run: Any, low: float, high: float) -> Any:
    """A run closed: kept, it widens its segment's voltage range (``low``, ``high``); dropped,
    the write position goes back to its start. The new position and range."""
    start, n, total, squares, run_low, run_high = run
    if _steady(cc, n, total, squares):
        return w, min(low, run_low), max(high, run_high)
    return start, low, high


@_jit
def _end_segment(w: int, segment: Any, min_points: int, found: Any, kept: int) -> Any:
    """A segment closed: recorded in ``found`` when it kept ``min_points`` intervals (and at
    least one), else dropped (the write position back to its start). The new position and
    number of segments kept."""
    start, row, low, high = segment
    if w - start >= min_points and w > start:
        starts, rows, lows, highs = found
        starts[kept], rows[kept], lows[kept], highs[kept] = start, row, low, high
        return w, kept + 1
    return start, kept


@_jit
def _steady(cc: bool, n: int, total: float, squares: float) -> bool:
    """Whether a run is kept: always without the current filter, else when its current's
    standard deviation is within 2 % of its mean magnitude (``_segments._constant_current``)."""
    if not cc:
        return True
    mean = total / n
    var = max(squares / n - mean * mean, 0.0)
    return bool(math.sqrt(var) <= CC_RELATIVE_STD * abs(mean))


@_jit
def part_curve(
    v0: Any,
    v1: Any,
    dq: Any,
    starts: Any,
    first: Any,
    bins: Any,
    shift: Any,
    resolution: float,
    kernel: Any,
    curve: Any,
    volts: Any,
) -> None:
    """dQ/dV of some segments written to ``curve`` and their bin centres to ``volts``: per
    segment the charge histogram (``_histogram.charge_histogram``), the Gaussian smoothing
    (``convolve``), the ends divided by the kernel's share inside (``edge_values``) and
    ``/ resolution``, all in a scratch grid of the segment's bins and half a kernel either
    side."""
    pad = kernel.size // 2
    total = np.zeros(kernel.size + 1)
    for k in range(kernel.size):
        total[k + 1] = total[k] + kernel[k]
    size, longest = 0, 0
    for s in range(starts.size):
        size = max(size, bins[s] + 2 * pad)
        stop = starts[s + 1] if s + 1 < starts.size else dq.size
        longest = max(longest, stop - starts[s])
    mass, inner = np.empty(size), np.empty(size)
    scratch = np.empty((4, longest))
    done = 0
    for s in range(starts.size):
        stop = starts[s + 1] if s + 1 < starts.size else dq.size
        width = bins[s] + 2 * pad
        origin = int(shift[s]) - pad + first[s]  # the grid index of the scratch's point 0
        mass[:width] = 0.0
        inner[:width] = 0.0
        _histogram(
            v0,
            v1,
            dq,
            (starts[s], stop),
            (shift[s], resolution),
            origin,
            width,
            mass,
            inner,
            scratch,
        )
        for x in range(width):
            mass[x] += inner[x]
        _smooth(mass, pad, kernel, total, resolution, curve[done : done + bins[s]])
        base = float(first[s] - done) + 0.5
        for j in range(bins[s]):
            volts[done + j] = (base + float(done + j)) * resolution
        done += bins[s]


@_jit_numpy
def _histogram(
    v0: Any,
    v1: Any,
    dq: Any,
    rows: Any,
    grid: Any,
    origin: int,
    width: int,
    mass: Any,
    inner: Any,
    scratch: Any,
) -> None:
    """One segment's charge histogram (``_histogram._spread``): the lower ends' shares, then
    the upper ends', into ``mass`` (each bin's sum in the order bincount adds); the whole bins
    between into ``inner``. The shares are computed first without a branch (SIMD), bins as
    floats (``floor``, exact: the values are positive), then scattered. Only a share of 0
    falls beyond the scratch grid (an upper end rounding up onto the edge past the top bin):
    skipped."""
    start, stop = rows
    shift, resolution = grid
    n = stop - start
    x0, x1, q = v0[start:stop], v1[start:stop], dq[start:stop]
    ends_a, ends_b, lower, upper = scratch[0], scratch[1], scratch[2], scratch[3]
    for j in range(n):
        r0, r1 = x0[j] / resolution, x1[j] / resolution
        e0, e1 = r0 + shift, r1 + shift
        lo, hi = min(e0, e1), max(e0, e1)
        a, b = np.floor(lo), np.floor(hi)
        span = hi - lo
        point = span < 1e-6  # one voltage: all of it in that bin (floored before the shift,
        a = np.floor(min(r0, r1)) + shift if point else a  # as _histogram._point_bins)
        share = ((hi - b) * q[j]) / span
        share = 0.0 if point else share
        b = a if point else b
        own = (a + 1.0 - lo) * (q[j] / span)
        rest = q[j] - share
        ends_a[j], ends_b[j] = a, b
        lower[j] = own if b - a > 1.0 else rest
        upper[j] = share
    for j in range(n):
        at = int(ends_a[j]) - origin
        if at < width:
            mass[at] += lower[j]
    for j in range(n):  # then the upper ends' shares, as bincount sums them
        at = int(ends_b[j]) - origin
        if at < width:
            mass[at] += upper[j]
    for j in range(n):  # the whole bins between the ends of an interval spanning more
        if ends_b[j] - ends_a[j] > 1.0:
            e0 = x0[j] / resolution + shift
            e1 = x1[j] / resolution + shift
            density = q[j] / (max(e0, e1) - min(e0, e1))
            top = min(int(ends_b[j]) - origin, width)  # never past the grid (no bounds checks)
            for x in range(int(ends_a[j]) + 1 - origin, top):
                inner[x] += density


@_jit
def _smooth(mass: Any, pad: int, kernel: Any, total: Any, resolution: float, out: Any) -> None:
    """``convolve`` of one segment's histogram (point by point the same multiply-adds, here
    tap by tap so the points go in SIMD), its ends divided by the share of the kernel inside
    the segment (``edge_values``), over ``resolution``, into ``out`` (the segment's points)."""
    bins = out.size
    middle, own = kernel[pad], mass[pad : pad + bins]
    for j in range(bins):  # indexed by the loop alone (views): no wraparound test, SIMD
        out[j] = own[j] * middle
    for k in range(1, pad + 1):
        weight = kernel[pad + k]
        left, right = mass[pad - k : pad - k + bins], mass[pad + k : pad + k + bins]
        for j in range(bins):
            tmp = left[j] + right[j]
            tmp *= weight
            out[j] += tmp
    for j in range(min(pad, bins)):
        out[j] = out[j] / _inside(total, pad, bins, j)
    for j in range(max(pad, bins - pad), bins):
        out[j] = out[j] / _inside(total, pad, bins, j)
    for j in range(bins):
        out[j] = out[j] / resolution


@_jit
def _inside(total: Any, pad: int, bins: int, j: int) -> float:
    """The share of the kernel that falls inside a segment of ``bins`` points at point ``j``."""
    right = min(pad, bins - 1 - j) + pad + 1
    left = max(-pad, -j) + pad
    return float(total[right] - total[left])
