"""The decimated overview of a time series, computed one row group at a time.

A 25-million-row series is 800 MB as four float columns; the overview never holds more than one
row group of them. Rows (of the ``start``-``end`` window) are cut into ``points // 2`` buckets
of consecutive rows and each bucket keeps the rows holding its minimum and maximum, as
``ionworks.plotting.decimate_minmax`` does on a whole array (NaN and nulls never chosen; on ties
the first row). A bucket split across two row groups is resolved by comparing the candidates of
both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["Overview", "overview_of"]

BATCH = 262_144
"""Rows decoded at once: the server's row-group size (at most about 8 MB per column)."""


@dataclass
class Overview:
    """What the overview route answers, before JSON."""

    rows: int
    window_rows: int
    time_range: tuple[float, float] | None
    series: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


def _floats(batch: pa.RecordBatch, name: str) -> np.ndarray:
    column = batch.column(name).cast(pa.float64())
    return np.asarray(column.fill_null(np.nan).to_numpy(zero_copy_only=False), dtype=np.float64)


def _groups_in_window(
    meta: pq.FileMetaData, time_index: int, start: float | None, end: float | None
) -> list[int]:
    """Row groups whose ``Time`` statistics overlap the window (all of them without stats)."""
    keep = []
    for g in range(meta.num_row_groups):
        stats = meta.row_group(g).column(time_index).statistics
        known = stats is not None and stats.has_min_max
        if known and (
            (start is not None and stats.max < start) or (end is not None and stats.min > end)
        ):
            continue
        keep.append(g)
    return keep


class _Extrema:
    """Per-bucket candidates (bucket, row, time, value) of one signal, merged at the end."""

    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, ...]] = []

    def add(self, first: int, size: int, time: np.ndarray, values: np.ndarray) -> None:
        """Rows ``first .. first + len(values)`` of the window (consecutive)."""
        lead = first % size
        total = -(-(lead + len(values)) // size) * size
        low = np.full(total, np.inf)
        high = np.full(total, -np.inf)
        present = ~np.isnan(values)
        low[lead : lead + len(values)] = np.where(present, values, np.inf)
        high[lead : lead + len(values)] = np.where(present, values, -np.inf)
        offsets = np.arange(0, total, size)
        buckets = first // size + np.arange(total // size)
        for index, extreme in (
            (low.reshape(-1, size).argmin(axis=1) + offsets, low),
            (high.reshape(-1, size).argmax(axis=1) + offsets, high),
        ):
            found = np.isfinite(extreme[index])
            local = index[found] - lead
            self.parts.append((buckets[found], local + first, time[local], values[local]))

    def points(self) -> tuple[np.ndarray, np.ndarray]:
        """The kept rows, in row order: each bucket's first minimum and first maximum."""
        if not self.parts:
            return np.array([]), np.array([])
        bucket, row, time, value = (np.concatenate(p) for p in zip(*self.parts, strict=True))
        keep: list[np.ndarray] = []
        for sign in (1.0, -1.0):
            order = np.lexsort((row, sign * value, bucket))
            first = np.ones(len(order), dtype=bool)
            first[1:] = bucket[order][1:] != bucket[order][:-1]
            keep.append(order[first])
        chosen = np.unique(np.concatenate(keep))
        _, at = np.unique(row[chosen], return_index=True)
        return time[chosen][at], value[chosen][at]


def _count(
    pf: pq.ParquetFile, groups: list[int], time: str, start: float | None, end: float | None
) -> tuple[int, float | None, float | None]:
    """Rows of the window and its first and last time: from the row groups' statistics where a
    group lies wholly inside the window, else from its Time column."""
    meta = pf.metadata
    index = pf.schema_arrow.get_field_index(time)
    n, lows, highs, partial = 0, [], [], []
    for g in groups:
        stats = meta.row_group(g).column(index).statistics
        inside = (
            stats is not None
            and stats.has_min_max
            and stats.null_count == 0
            and (start is None or stats.min >= start)
            and (end is None or stats.max <= end)
        )
        if inside:
            n += meta.row_group(g).num_rows
            lows.append(float(stats.min))
            highs.append(float(stats.max))
        else:
            partial.append(g)
    if partial:
        for batch in pf.iter_batches(columns=[time], row_groups=partial, batch_size=BATCH):
            t = _floats(batch, time)
            mask = _mask(t, start, end)
            n += int(mask.sum())
            found = t[mask & ~np.isnan(t)]
            if len(found):
                lows.append(float(found.min()))
                highs.append(float(found.max()))
    return n, (min(lows) if lows else None), (max(highs) if highs else None)


def _mask(t: np.ndarray, start: float | None, end: float | None) -> np.ndarray:
    mask = np.ones(len(t), dtype=bool)
    if start is not None:
        mask &= t >= start
    if end is not None:
        mask &= t <= end
    return mask


def overview_of(
    path: Path, time: str, columns: list[str], points: int, start: float | None, end: float | None
) -> Overview:
    """The overview of ``columns`` against ``time`` in the window, reading a group at a time."""
    pf = pq.ParquetFile(path)
    meta = pf.metadata
    time_index = pf.schema_arrow.get_field_index(time)
    groups = _groups_in_window(meta, time_index, start, end)
    n, lo, hi = _count(pf, groups, time, start, end)
    result = Overview(meta.num_rows, n, None if lo is None or hi is None else (lo, hi))
    size = max(1, -(-n // (points // 2)))
    extrema = {c: _Extrema() for c in columns}
    first = 0
    for batch in pf.iter_batches(columns=[time, *columns], row_groups=groups, batch_size=BATCH):
        t = _floats(batch, time)
        mask = _mask(t, start, end)
        if not mask.all():
            batch = batch.filter(pa.array(mask))
            t = t[mask]
        if not len(t):
            continue
        for column in columns:
            extrema[column].add(first, size if n > points else 1, t, _floats(batch, column))
        first += len(t)
    for column in columns:
        result.series[column] = extrema[column].points()
    return result
