"""Capacity fade: retention against a reference cycle, fade rate, knee and threshold crossing.

Input is a cycles table (``Cycle count`` and ``Discharge capacity [A.h]``, as the API serves and
:func:`ionworks.data.cycles.get_cycle_metrics` computes), or many of them stacked: the LazyFrame of
``ionworks.scan(path, table="cycles")`` is grouped by ``measurement_id``, so a fleet's fade
table is one call that reads only those three columns, one measurement's partition at a time
(its peak memory is one cell's rows, not the fleet's; a frame derived from the scan is read at
once).

* Retention is each cycle's capacity over the reference cycle's (the first cycle with a positive
  capacity unless ``reference_cycle`` is given); cycles without a positive capacity are skipped.
* ``Fade rate [%/100 cycles]`` is minus the least-squares slope of retention against cycle,
  in percentage points of the reference capacity per 100 cycles.
* The knee is the break point of the Bacon–Watts two-phase model in its sharp limit
  (``y = a0 + a1 (x - x1) + a2 |x - x1|``, a continuous two-line fit; Fermín-Cueto et al.,
  2020, use the same model for capacity knees), fitted by least squares over every break point
  ``x1`` that leaves at least 3 cycles on each side. It is reported only when the line after it
  is steeper (more fade) than ``min_slope_ratio`` times the line before it and the two lines
  leave at most half the squared residual of one straight line; otherwise it is null.
* ``Threshold cycle`` is where retention first falls to ``threshold`` (0.8 by default),
  interpolated linearly between the last cycle above and the first at or below; null when it
  never does. Retention is first averaged over a centred window of ``window`` cycles (5 by
  default, 1 for none), so one noisy cycle does not cross early.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import polars as pl

from ..columns import CAPACITY_RETENTION, CYCLE_COUNT, DISCHARGE_CAPACITY
from ..dataset import scan_source
from ..errors import DataError
from ._frames import Array, group_keys, lazy, require, require_numbers

__all__ = ["FADE_COLUMNS", "capacity_fade", "capacity_retention", "knee_point"]

FADE_COLUMNS = (
    "Reference cycle",
    "Reference capacity [A.h]",
    "Cycles",
    "Last cycle",
    "Retention",
    "Fade rate [%/100 cycles]",
    "Knee cycle",
    "Fade before knee [%/100 cycles]",
    "Fade after knee [%/100 cycles]",
    "Threshold",
    "Threshold cycle",
)
"""The summary columns of :func:`capacity_fade`, after the grouping columns."""

_HINT = (
    "Pass a cycles table (client.cell_measurement.cycles(id), ionworks.scan(path, "
    "table='cycles') or ionworks.data.cycles.get_cycle_metrics(steps))."
)


def capacity_retention(
    cycles: Any,
    *,
    reference_cycle: int | None = None,
    capacity: str = DISCHARGE_CAPACITY,
    by: str | list[str] | None = None,
) -> pl.DataFrame:
    """Each cycle's capacity and ``Capacity retention`` against the reference cycle, per cell."""
    lf, keys, _ = _checked(cycles, capacity, by)
    parts = []
    for key, part in _cells(_read_all(lf, keys, capacity), keys):
        x, y = _positive(*_xy(part, capacity))
        ref = _reference(x, y, reference_cycle, key)
        parts.append(
            part.filter(pl.col(capacity) > 0).with_columns(
                (pl.col(capacity) / y[ref]).alias(CAPACITY_RETENTION)
            )
        )
    return pl.concat(parts)


def capacity_fade(
    cycles: Any,
    *,
    reference_cycle: int | None = None,
    threshold: float = 0.8,
    capacity: str = DISCHARGE_CAPACITY,
    min_slope_ratio: float = 1.5,
    window: int = 5,
    by: str | list[str] | None = None,
) -> pl.DataFrame:
    """One row per cell: retention, fade rate, knee and threshold crossing (see the module)."""
    if not 0 < threshold < 1:
        raise DataError(
            f"threshold is a retention between 0 and 1 (0.8 for 80 %), got {threshold!r}."
        )
    lf, keys, schema_in = _checked(cycles, capacity, by)
    rows = [
        {
            **dict(zip(keys, key, strict=True)),
            **_fade_row(x, y, reference_cycle, key, threshold, min_slope_ratio, window),
        }
        for key, (x, y) in _cell_curves(lf, keys, capacity)
    ]
    schema = {k: schema_in[k] for k in keys} | {
        c: pl.Int64 if c in ("Reference cycle", "Cycles", "Last cycle") else pl.Float64
        for c in FADE_COLUMNS
    }
    # Built column by column: fewer parts of polars touched than from rows (see ``_xy``).
    return pl.DataFrame({c: [row[c] for row in rows] for c in schema}, schema=schema)


def _fade_row(
    x: Array,
    y: Array,
    reference_cycle: int | None,
    key: tuple[Any, ...],
    threshold: float,
    min_slope_ratio: float,
    window: int,
) -> dict[str, Any]:
    """One cell's summary from its cycles and positive capacities, as :data:`FADE_COLUMNS`."""
    ref = _reference(x, y, reference_cycle, key)
    retention = y / y[ref]
    after = x >= x[ref]
    xs, rs = x[after], retention[after]
    knee = knee_point(xs, rs, min_slope_ratio=min_slope_ratio)
    # (xs is sorted: one cycle number only has no slope)
    slope = _line_fit(xs, rs)[0] if xs[-1] > xs[0] else float("nan")
    return {
        "Reference cycle": int(x[ref]),
        "Reference capacity [A.h]": float(y[ref]),
        "Cycles": int(xs.size),
        "Last cycle": int(xs[-1]),
        "Retention": float(rs[-1]),
        "Fade rate [%/100 cycles]": -slope * 1e4 if np.isfinite(slope) else None,
        "Knee cycle": None if knee is None else knee[0],
        "Fade before knee [%/100 cycles]": None if knee is None else -knee[1] * 1e4,
        "Fade after knee [%/100 cycles]": None if knee is None else -knee[2] * 1e4,
        "Threshold": threshold,
        "Threshold cycle": _crossing(xs, _moving_mean(rs, window), threshold),
    }


def knee_point(
    cycle: Array, retention: Array, *, min_slope_ratio: float = 1.5
) -> tuple[float, float, float] | None:
    """``(knee cycle, slope before, slope after)`` of the sharp Bacon–Watts fit, or None."""
    x, y = np.asarray(cycle, dtype=float), np.asarray(retention, dtype=float)
    if x.size < 8:
        return None
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    if x[0] == x[-1]:  # one cycle number only: no line through it, no knee
        return None
    # Work on x scaled to [0, 1] and y centred: the sums below then keep their precision.
    x0, span, y0 = x[0], (x[-1] - x[0]) or 1.0, y.mean()
    sse, coefs = _hinge_fits((x - x0) / span, y - y0)
    at = int(np.argmin(sse))
    _, a1, a2 = coefs[at] / np.array([1.0, span, span])
    before, after = a1 - a2, a1 + a2
    line_sse = _line_fit(x, y)[1]
    steeper = after < 0 and (before >= 0 or after <= min_slope_ratio * before)
    if not steeper or sse[at] > 0.5 * line_sse:
        return None
    return float(x[3 + at]), float(before), float(after)


def _line_fit(x: Array, y: Array) -> tuple[float, float]:
    """Slope and residual sum of squares of the least-squares line through ``(x, y)``, ``x``
    not all equal.

    In closed form over centred values, no less exact than ``np.polyfit``, whose SVD solver
    maps 1 MB of LAPACK's code into the process on first use: more than a cell's cycles
    weigh (``make bench``, fleet fade).
    """
    dx, dy = x - x.mean(), y - y.mean()
    slope = float(np.sum(dx * dy) / np.sum(dx * dx))
    return slope, float(np.sum((dy - slope * dx) ** 2))


def _hinge_fits(x: Array, y: Array) -> tuple[Array, Array]:
    """Residual sum of squares and coefficients of ``a0 + a1 (x - b) + a2 |x - b|`` for every
    break ``b = x[k]`` leaving 3 points or more on each side (``x`` sorted).

    The normal equations need only sums of ``1, x, x², y, xy`` left and right of the break, so
    prefix sums give every break's fit in O(n): no n-by-breaks matrix, whatever the cycles.
    """

    def prefix(values: Array) -> Array:
        return np.concatenate([[0.0], np.cumsum(values)])

    n = float(x.size)
    sums = [prefix(v) for v in (np.ones_like(x), x, x * x, y, x * y)]
    split = np.arange(3, x.size - 3)  # points [0, split) are left of the break
    b = x[split]
    left = [s[split] for s in sums]
    total = [s[-1] for s in sums]
    right = [t - lv for t, lv in zip(total, left, strict=True)]

    def moments(part: list[Array]) -> tuple[Array, Array, Array, Array]:
        count, sx, sxx, sy, sxy = part
        u1 = sx - count * b  # sum of (x - b)
        u2 = sxx - 2 * b * sx + count * b * b  # sum of (x - b)^2
        return u1, u2, sxy - b * sy, sy

    l1, l2, ly, _ = moments(left)
    r1, r2, ry, _ = moments(right)
    gram = np.empty((split.size, 3, 3))
    gram[:, 0, 0] = n
    gram[:, 0, 1] = gram[:, 1, 0] = l1 + r1
    gram[:, 0, 2] = gram[:, 2, 0] = r1 - l1
    gram[:, 1, 1] = gram[:, 2, 2] = l2 + r2
    gram[:, 1, 2] = gram[:, 2, 1] = r2 - l2
    rhs = np.stack([np.full(split.size, total[3]), ly + ry, ry - ly], axis=1)
    try:
        coefs = np.linalg.solve(gram, rhs[..., None])[..., 0]
    except np.linalg.LinAlgError:
        # A side whose cycles all equal the break (one cycle number repeated 4 times or
        # more, as when cells are grouped together) has no slope: that break cannot be the
        # knee. Solve the others; the usual case above keeps its numbers exactly.
        return _hinge_fits_some_singular(gram, rhs, float(np.sum(y * y)))
    sse = float(np.sum(y * y)) - np.einsum("mi,mi->m", coefs, rhs)
    return np.maximum(sse, 0.0), coefs


def _hinge_fits_some_singular(gram: Array, rhs: Array, yy: float) -> tuple[Array, Array]:
    """:func:`_hinge_fits`' end when some breaks' normal equations are singular: those get an
    infinite residual (never chosen), the others their least-squares fit."""
    solvable = np.linalg.cond(gram) < 1.0 / np.finfo(float).eps
    coefs = np.zeros((gram.shape[0], 3))
    sse = np.full(gram.shape[0], np.inf)
    if solvable.any():
        coefs[solvable] = np.linalg.solve(gram[solvable], rhs[solvable][..., None])[..., 0]
        fitted = yy - np.einsum("mi,mi->m", coefs[solvable], rhs[solvable])
        sse[solvable] = np.maximum(fitted, 0.0)
    return sse, coefs


def _moving_mean(values: Array, window: int) -> Array:
    """Centred moving mean over ``window`` points; near the ends the window shrinks on both
    sides alike, so a sloped line stays unbiased up to its last point."""
    half = max(0, int(window) // 2)
    if half == 0 or values.size < 3:
        return values
    sums = np.concatenate([[0.0], np.cumsum(values)])
    index = np.arange(values.size)
    reach = np.minimum(np.minimum(index, values.size - 1 - index), half)
    low, high = index - reach, index + reach + 1
    return np.asarray((sums[high] - sums[low]) / (high - low), dtype=np.float64)


def _crossing(x: Array, retention: Array, threshold: float) -> float | None:
    below = np.nonzero(retention <= threshold)[0]
    if below.size == 0:
        return None
    j = int(below[0])
    if j == 0:
        return float(x[0])
    r0, r1 = retention[j - 1], retention[j]
    return float(x[j - 1] + (r0 - threshold) / (r0 - r1) * (x[j] - x[j - 1]))


def _checked(
    cycles: Any, capacity: str, by: str | list[str] | None
) -> tuple[pl.LazyFrame, list[str], pl.Schema]:
    """The input as a LazyFrame, its grouping columns and its schema, its columns checked
    (nothing read; a ``scan`` frame's schema from its files, not from planning the query)."""
    lf = lazy(cycles, "capacity_fade")
    source = scan_source(lf)
    schema = lf.collect_schema() if source is None else source.frame_schema()
    columns = schema.names()
    require(columns, [CYCLE_COUNT, capacity], "capacity_fade", _HINT)
    require_numbers(schema, [CYCLE_COUNT, capacity], "capacity_fade")
    return lf, group_keys(columns, by), schema


def _cell_curves(
    lf: pl.LazyFrame, keys: list[str], capacity: str
) -> Iterator[tuple[tuple[Any, ...], tuple[Array, Array]]]:
    """Each cell's key and ``(cycle, capacity)`` arrays (see :func:`_xy`), cell after cell.

    The frame of ``ionworks.scan`` grouped by partition columns is read partition by
    partition, so the peak memory is one cell's rows, not the fleet's. Any other frame is
    read at once (the columns used only) and split.
    """
    source = scan_source(lf)
    groups = [] if source is None else source.partitions(keys)
    if source is None or not groups:
        for key, part in _cells(_read_all(lf, keys, capacity), keys):
            yield key, _positive(*_xy(part, capacity))
        return
    found = False
    for at, (key, files) in enumerate(groups):
        x, y = _xy(source.read(files, [CYCLE_COUNT, capacity]), capacity)
        if x.size == 0:  # no usable cycle: no cell, as when the fleet is read at once
            continue
        if not found and not (y > 0).any():
            # Reading the fleet at once says "no positive capacity anywhere" before any
            # cell's own lack of one: say the same.
            rest = [file for _, later in groups[at + 1 :] for file in later]
            if not rest or not _any_positive(source.lazy(rest), capacity):
                raise _no_positive(capacity)
        found = True
        yield key, _positive(x, y)
    if not found:
        raise _no_positive(capacity)


def _read_all(lf: pl.LazyFrame, keys: list[str], capacity: str) -> pl.DataFrame:
    """The grouping, cycle and capacity columns, read (only those), usable cycles only.

    Not sorted here: a fleet read through ``scan`` arrives one measurement after another, and
    sorting the whole table by a string key would hold it twice (``_cells`` sorts only when a
    cell's rows are not together, each cell's cycles are ordered by ``_sorted``).
    """
    read = lf.select(*keys, CYCLE_COUNT, pl.col(capacity).cast(pl.Float64))
    frame = read.filter(_usable(capacity)).collect()
    if not frame.select((pl.col(capacity) > 0).any()).item():
        raise _no_positive(capacity)
    return frame


def _usable(capacity: str) -> pl.Expr:
    # A cycle without a number or a finite capacity says nothing (polars orders NaN above
    # every number, so the ``> 0`` tests below would keep it).
    return pl.col(CYCLE_COUNT).is_not_null() & pl.col(capacity).cast(pl.Float64).is_finite()


def _any_positive(lf: pl.LazyFrame, capacity: str) -> bool:
    positive = _usable(capacity) & (pl.col(capacity).cast(pl.Float64) > 0)
    return bool(lf.select(positive.any()).collect().item())


def _no_positive(capacity: str) -> DataError:
    return DataError(f"capacity_fade: no cycle has a positive {capacity!r}. {_HINT}")


def _cells(frame: pl.DataFrame, keys: list[str]) -> list[tuple[tuple[Any, ...], pl.DataFrame]]:
    """Each cell's rows (zero-copy slices when each cell's rows are together), cycles in order."""
    if not keys:
        return [((), _sorted(frame))]
    changed = np.zeros(frame.height, dtype=bool)
    changed[:1] = True
    for key in keys:
        column = frame.get_column(key)
        changed |= column.ne_missing(column.shift(1)).fill_null(True).to_numpy()
    starts = np.nonzero(changed)[0]
    if starts.size != frame.select(keys).n_unique():  # a cell's rows are apart: group them
        frame = frame.sort(*keys, CYCLE_COUNT, maintain_order=True)
        return _cells(frame, keys)
    ends = np.append(starts[1:], frame.height)
    cells = []
    for start, end in zip(starts, ends, strict=True):
        part = frame.slice(int(start), int(end - start))
        cells.append((tuple(part.row(0)[: len(keys)]), _sorted(part)))
    return cells


def _sorted(part: pl.DataFrame) -> pl.DataFrame:
    cycle = part.get_column(CYCLE_COUNT)
    return part if cycle.is_sorted() else part.sort(CYCLE_COUNT, maintain_order=True)


def _xy(part: pl.DataFrame, capacity: str) -> tuple[Array, Array]:
    """A cell's usable cycles (a number and a finite capacity) in cycle order, ties kept in
    row order, as float arrays ``(cycle, capacity)``.

    In numpy, not in polars expressions: on a fleet read cell by cell, every polars operation
    used once maps its share of polars' library into memory, which weighed more than the
    data (``make bench``, fleet fade).
    """
    cycle = part.get_column(CYCLE_COUNT)
    y = part.get_column(capacity).cast(pl.Float64).to_numpy()
    usable = np.isfinite(y)
    if cycle.has_nulls():  # (is_null runs a polars expression: only when there are nulls)
        usable &= ~cycle.is_null().to_numpy()
    c = cycle.to_numpy()[usable]
    order = np.argsort(c, kind="stable")
    return c[order].astype(np.float64), y[usable][order]


def _positive(x: Array, y: Array) -> tuple[Array, Array]:
    """The cycles with a positive capacity (the others have nothing to retain)."""
    keep = y > 0
    return x[keep], y[keep]


def _reference(x: Array, y: Array, reference_cycle: int | None, key: tuple[Any, ...]) -> int:
    """The index of the reference cycle (the first with a positive capacity by default)."""
    if x.size == 0:
        cell = f" of {key[0]}" if key else ""
        raise DataError(f"capacity_fade: no cycle{cell} has a positive capacity. {_HINT}")
    if reference_cycle is None:
        return 0
    found = np.nonzero(x == reference_cycle)[0]
    if found.size == 0:
        cell = f" of {key[0]}" if key else ""
        raise DataError(
            f"capacity_fade: reference_cycle={reference_cycle} has no positive capacity{cell}; "
            f"cycles run from {int(x[0])} to {int(x[-1])}."
        )
    return int(found[0])
