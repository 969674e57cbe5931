"""Work on a long column shared among polars' threads.

Polars evaluates one expression over one column on one thread (a string parse such as
``strptime`` takes a tenth of a second on a million rows that way), and numpy computes on one
core. Both let go of the GIL while they compute, so slices of a column handed to a few Python
threads run on every core polars may use; results are joined in order, so they are the same
values as one call over the whole column.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import polars as pl

T = TypeVar("T")
R = TypeVar("R")

MIN_ROWS = 1 << 16
"""Fewest rows per slice: below, starting a thread costs more than it saves."""


def run(fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """``fn`` of each of ``items``, in order, on up to ``pl.thread_pool_size()`` threads."""
    threads = min(pl.thread_pool_size(), len(items))
    if threads < 2:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(fn, items))


def bounds(rows: int) -> list[tuple[int, int]]:
    """(first row, row count) of the slices ``rows`` rows are cut into, one per thread."""
    parts = max(1, min(pl.thread_pool_size(), rows // MIN_ROWS))
    size = max(1, -(-rows // parts))
    return [(at, min(size, rows - at)) for at in range(0, rows, size)]


def by_slices(series: pl.Series, fn: Callable[[pl.Series], pl.Series]) -> pl.Series:
    """``fn`` (an elementwise function) of ``series``, applied to slices of it on threads."""
    cuts = bounds(len(series))
    if len(cuts) < 2:
        return fn(series)
    return pl.concat(run(fn, [series.slice(*cut) for cut in cuts]), rechunk=False)
