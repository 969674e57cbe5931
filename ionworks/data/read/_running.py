"""Cumulative counters restarted at each step, in numpy a block of rows at a time.

:func:`._finish.with_cumulative` states the rules as polars expressions: a both-ways counter
split into running discharge and charge sums by the rate's sign, then each counter less its
value at its step's first row, as a magnitude. Evaluated that way, every step (difference,
choice, running sum, gather, subtraction) is a new column of a million numbers, and each new
column costs fresh pages. Here the same operations, in the same order, run over blocks of
rows that stay in the CPU's caches, into one output array per counter; running sums carry
from block to block by adding the carry to a block's first value, which is the addition a
single running sum makes there. Only for columns without nulls (a null changes the rules'
results in ways numpy's NaN would not): the caller keeps polars for the others.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

Ints = np.ndarray[Any, np.dtype[np.integer[Any]]]
Floats = np.ndarray[Any, np.dtype[np.float64]]

BLOCK_ROWS = 1 << 16
"""Rows worked at a time: a block's few arrays stay in the CPU's caches."""


def _blocks(rows: int) -> Iterator[tuple[int, int]]:
    """(first, end) of each block of rows."""
    for first in range(0, rows, BLOCK_ROWS):
        yield first, min(first + BLOCK_ROWS, rows)


def split_restarted(
    counter: Floats, rate: Floats, steps: Ints, starts: Ints
) -> tuple[Floats, Floats]:
    """``counter`` (counting both ways) split into discharge and charge, each restarted.

    The running sums of ``split_by_direction`` (each row's change, the first row's value for
    the first row, counted in discharge where ``rate > 0``, its magnitude in charge where
    ``rate < 0``, else 0; polars compares NaN as above every number), then each less its value
    at its step's first row, as a magnitude (``from_step_start``), without the running sums as
    columns. ``steps`` numbers each row's step from 0 (the step count) and ``starts`` holds
    each step's first row, so ``starts[steps[i]]`` is row ``i``'s step start.
    """
    rows = len(counter)
    out = (np.empty(rows), np.empty(rows))
    at_start = (np.empty(len(starts)), np.empty(len(starts)))
    carry = [0.0, 0.0]
    delta, part = np.empty(BLOCK_ROWS), np.empty(BLOCK_ROWS)
    for first, end in _blocks(rows):
        change, counted = delta[: end - first], part[: end - first]
        if first == 0:
            change[0] = counter[0]
            np.subtract(counter[1:end], counter[: end - 1], out=change[1:])
        else:
            np.subtract(counter[first:end], counter[first - 1 : end - 1], out=change)
        rates = rate[first:end]
        here = slice(*np.searchsorted(starts, [first, end]))  # steps starting in this block
        for k, charge in enumerate((False, True)):
            if charge:
                np.abs(change, out=counted)
                np.copyto(counted, 0.0, where=~(rates < 0.0))
            else:  # polars orders NaN above every number: a NaN rate counts as discharge
                np.copyto(counted, change)
                np.copyto(counted, 0.0, where=rates <= 0.0)
            if first:
                counted[0] += carry[k]
            np.cumsum(counted, out=counted)
            carry[k] = float(counted[-1])
            at_start[k][here] = counted[starts[here] - first]
            block = out[k][first:end]
            # np.take lets go of the GIL (indexing with [] holds it): two counters' splits
            # run side by side on two threads.
            np.subtract(counted, np.take(at_start[k], steps[first:end]), out=block)
            np.abs(block, out=block)
    return out
