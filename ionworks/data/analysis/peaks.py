"""Peaks of a dQ/dV or dV/dQ curve: position, height, width and prominence, per segment.

Local maxima come from :func:`ionworks.data.differential.find_peaks` (scipy's rule, already in the
data core); the prominence and width follow ``scipy.signal.peak_prominences`` and
``peak_widths`` at half prominence, and the position is refined between grid points.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from ..columns import CAPACITY, VOLTAGE
from ..differential import find_peaks as _local_maxima
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
    rows: list[dict[str, Any]] = []
    groups = curve.partition_by(keep, as_dict=True, maintain_order=True) if keep else {(): curve}
    for key, part in groups.items():
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
