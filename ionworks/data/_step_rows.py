"""One row per step: the aggregation behind :mod:`ionworks.data.steps`, before classification.

:func:`aggregate_steps` reduces whole steps in one polars ``group_by`` pass; :class:`LongStep`
gives the same row for a step too long to hold in memory, from running aggregates fed piece by
piece. The step table's classification, per-cycle sums and column order are applied afterwards
(:func:`ionworks.data.steps.finish_steps`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import polars as pl

from .columns import (
    CHARGE_CAPACITY,
    CHARGE_ENERGY,
    CUMULATIVE,
    CURRENT,
    CYCLE_COUNT,
    CYCLE_FROM_CYCLER,
    DISCHARGE_CAPACITY,
    DISCHARGE_ENERGY,
    END_INDEX,
    END_TIME,
    END_VOLTAGE,
    FRAME,
    FREQUENCY,
    MAX_CURRENT,
    MAX_FREQUENCY,
    MAX_POWER,
    MAX_VOLTAGE,
    MEAN_CURRENT,
    MEAN_FREQUENCY,
    MEAN_POWER,
    MEAN_VOLTAGE,
    MIN_CURRENT,
    MIN_FREQUENCY,
    MIN_POWER,
    MIN_VOLTAGE,
    START_INDEX,
    START_TIME,
    START_VOLTAGE,
    STD_CURRENT,
    STD_FREQUENCY,
    STD_POWER,
    STD_VOLTAGE,
    STEP_COUNT,
    STEP_FROM_CYCLER,
    TIME,
    VOLTAGE,
)

__all__ = ["CARRIED", "LongStep", "aggregate_steps", "cumulative_rules"]

CARRIED = (FREQUENCY, STEP_COUNT, CYCLE_COUNT, STEP_FROM_CYCLER, CYCLE_FROM_CYCLER, FRAME)
"""Columns the step summary reads besides time, current, voltage and the cumulative ones."""

_POWER = "_p"  # voltage times current
_CAPACITIES = (DISCHARGE_CAPACITY, CHARGE_CAPACITY)

# Source column -> its (min, max, std, mean) columns in the steps table.
_STAT_NAMES: dict[str, tuple[str, str, str, str]] = {
    VOLTAGE: (MIN_VOLTAGE, MAX_VOLTAGE, STD_VOLTAGE, MEAN_VOLTAGE),
    CURRENT: (MIN_CURRENT, MAX_CURRENT, STD_CURRENT, MEAN_CURRENT),
    _POWER: (MIN_POWER, MAX_POWER, STD_POWER, MEAN_POWER),
    FREQUENCY: (MIN_FREQUENCY, MAX_FREQUENCY, STD_FREQUENCY, MEAN_FREQUENCY),
}

# Cumulative column -> (source, sign) of the rate it integrates (positive current = discharge).
_INTEGRANDS = {
    DISCHARGE_CAPACITY: (CURRENT, 1.0),
    CHARGE_CAPACITY: (CURRENT, -1.0),
    DISCHARGE_ENERGY: (_POWER, 1.0),
    CHARGE_ENERGY: (_POWER, -1.0),
}


def _power(cols: set[str]) -> pl.Expr:
    """Voltage times current, whatever ``Power [W]`` the series carries (as ionworksdata)."""
    if CURRENT not in cols:
        return pl.lit(None, pl.Float64)
    return pl.col(VOLTAGE) * pl.col(CURRENT)


def _or_null(name: str, cols: set[str]) -> pl.Expr:
    """A series column, or a null one (a series may lack time or current)."""
    return pl.col(name) if name in cols else pl.lit(None, pl.Float64).alias(name)


def cumulative_rules(cols: set[str], integrate: bool) -> dict[str, str]:
    """How each cumulative column of the steps table is found: ``delta`` (last minus first),
    ``integrate`` (trapezoid of the current or power), ``null`` or ``zero``.

    ionworksdata's rule: capacities are deltas when the series has both, else null; an energy is
    a delta when the series has it, else 0 when the capacities are known, else null. The server
    (``integrate``) integrates whatever the upload lacks instead, as a reader would.
    """
    both = DISCHARGE_CAPACITY in cols and CHARGE_CAPACITY in cols
    rules: dict[str, str] = {}
    for name in CUMULATIVE:
        if integrate:
            rules[name] = "delta" if name in cols else "integrate"
        elif name in (DISCHARGE_CAPACITY, CHARGE_CAPACITY):
            rules[name] = "delta" if both else "null"
        else:
            rules[name] = "delta" if name in cols else ("zero" if both else "null")
    return rules


def _row_inputs(cols: set[str]) -> list[pl.Expr]:
    """The columns the summary reads."""
    needed = [pl.col(c) for c in (VOLTAGE, *CARRIED, *CUMULATIVE) if c in cols]
    return [_or_null(TIME, cols), _or_null(CURRENT, cols), *needed, _power(cols).alias(_POWER)]


def cycle_counts(cycler: pl.Series, starts: pl.Series) -> pl.Series:
    """ionworksdata's cycle count at rows ``starts``: the changes of the cycler's cycle number
    up to each (a change to or from a missing value does not count).

    From the column's runs (one short pass) rather than a count on every row.
    """
    runs = cycler.rle().struct.unnest()
    value = runs.get_column("value")
    counted = (value.is_not_null() & value.shift().is_not_null()).cast(pl.Int64).cum_sum()
    run_start = runs.get_column("len").cast(pl.Int64).cum_sum() - runs.get_column("len")
    run = np.searchsorted(run_start.to_numpy(), starts.to_numpy(), side="right") - 1
    # Built from numpy, so the column carries no sorted flag: get_cycle_metrics then groups it
    # (and sums) as it does any steps table, ionworksdata's included.
    return pl.Series(CYCLE_COUNT, counted.to_numpy()[run], pl.Int64)


def _trimmed_std(source: str) -> pl.Expr:
    """A step's std without its first sample when it has over two, nor its last when over
    three: cyclers log those at the transition (ionworksdata's rule)."""
    n = pl.len()
    head = (n > 2).cast(pl.UInt32)
    tail = (n > 3).cast(pl.UInt32)
    return pl.col(source).slice(head, n - head - tail).std()


def _with_increments(frame: pl.LazyFrame, rules: dict[str, str]) -> pl.LazyFrame:
    """Trapezoidal increments for the cumulative columns ``rules`` integrate.

    They are null on a step's first row, so each step integrates only its own samples.
    """
    t, i, p, group = pl.col(TIME), pl.col(CURRENT), pl.col(_POWER), pl.col("_grp")
    dt = t - t.shift()
    integrands = {
        DISCHARGE_CAPACITY: i.clip(lower_bound=0.0) / 3600.0,
        CHARGE_CAPACITY: (-i).clip(lower_bound=0.0) / 3600.0,
        DISCHARGE_ENERGY: p.clip(lower_bound=0.0) / 3600.0,
        CHARGE_ENERGY: (-p).clip(lower_bound=0.0) / 3600.0,
    }
    to_integrate = [c for c in CUMULATIVE if rules[c] == "integrate"]
    if not to_integrate:
        return frame
    return frame.with_columns(
        pl.when(group == group.shift())
        .then(0.5 * (integrands[c] + integrands[c].shift()) * dt)
        .alias(f"_inc {c}")
        for c in to_integrate
    )


def _stats(source: str, trimmed: bool) -> list[pl.Expr]:
    low, high, std, mean = _STAT_NAMES[source]
    spread = _trimmed_std(source) if trimmed else pl.col(source).std()
    return [
        pl.col(source).min().alias(low),
        pl.col(source).max().alias(high),
        spread.fill_null(0.0).alias(std),
        pl.col(source).mean().alias(mean),
    ]


def _aggregations(cols: set[str], rules: dict[str, str], absolute: bool) -> list[pl.Expr]:
    """A step's times, voltages, capacities, energies and statistics, from the rows
    :func:`_row_inputs` reads."""
    t, v = pl.col(TIME), pl.col(VOLTAGE)

    def cumulative(name: str) -> pl.Expr:
        rule = rules[name]
        if rule == "delta":
            delta = pl.col(name).last() - pl.col(name).first()
            # A split Capacity counter: set_capacity's restarted counters are absolute values.
            return (delta.abs() if absolute and name in _CAPACITIES else delta).alias(name)
        if rule == "integrate":
            return pl.col(f"_inc {name}").sum().alias(name)
        # A Null-typed column (cast to Float64 at the end) keeps the cycle sums null, not 0.
        return (pl.lit(0.0) if rule == "zero" else pl.lit(None)).alias(name)

    def absent(source: str, value: float | None) -> list[pl.Expr]:
        return [pl.lit(value, pl.Float64).alias(n) for n in _STAT_NAMES[source]]

    # Without a frequency the series counts as 0 Hz throughout, as in ionworksdata.
    has_current = CURRENT in cols
    return [
        t.first().alias(START_TIME),
        t.last().alias(END_TIME),
        v.first().alias(START_VOLTAGE),
        v.last().alias(END_VOLTAGE),
        *[cumulative(c) for c in CUMULATIVE],
        *_stats(VOLTAGE, trimmed=True),
        *(_stats(CURRENT, trimmed=True) if has_current else absent(CURRENT, None)),
        *(_stats(_POWER, trimmed=True) if has_current else absent(_POWER, None)),
        *(_stats(FREQUENCY, trimmed=False) if FREQUENCY in cols else absent(FREQUENCY, 0.0)),
    ]


def _first_or_null(name: str, cols: set[str]) -> pl.Expr:
    if name in cols:
        return pl.col(name).first().alias(name)
    return pl.lit(None, pl.Int64).alias(name)


def aggregate_steps(
    ts: pl.DataFrame,
    row_offset: int,
    integrate: bool,
    *,
    count_cycles: bool = False,
    absolute: bool = False,
) -> pl.DataFrame:
    """One row per step of ``ts`` (whole steps only), before classification.

    ``row_offset`` is the series row of ``ts``'s first row (for the start and end indices);
    ``integrate``: see :func:`cumulative_rules`. ``count_cycles``: ``ts`` is the whole series
    and ``Cycle count`` is counted here as ionworksdata counts it (:func:`cycle_counts`; 0
    without ``Cycle from cycler``); else ``ts`` carries it. ``absolute``: capacities are the
    absolute change over the step (a split ``Capacity [A.h]`` counter, see
    :class:`ionworks.data._capacity_split.CapacitySplit`).

    Steps are contiguous runs of rows, so the group key is marked sorted: polars then reduces
    each step as a slice of the columns, several times cheaper than hashing every row (and its
    slice-wise std is the more accurate one). Indices follow from the steps' lengths.
    """
    cols = set(ts.columns)
    rules = cumulative_rules(cols, integrate)
    measures = _aggregations(cols, rules, absolute)
    labels = [_first_or_null(STEP_FROM_CYCLER, cols), _first_or_null(CYCLE_FROM_CYCLER, cols)]
    labels += [pl.col(FRAME).first()] if FRAME in cols else []
    labels += [] if count_cycles else [pl.col(CYCLE_COUNT).first()]
    step = ts.get_column(STEP_COUNT)
    if "integrate" in rules.values() or step.null_count() or not step.is_sorted():
        # As ionworksdata: a new step wherever the count differs from the row before (a null
        # count differs from everything, itself included); the key numbers the runs.
        count = pl.col(STEP_COUNT)
        key = (count != count.shift()).fill_null(True).cast(pl.Int64).cum_sum()
        labels.append(count.first())
    else:
        key = pl.col(STEP_COUNT)  # sorted, no nulls: each count is one run, the key itself
    frame = ts.lazy().select(key.set_sorted().alias("_grp"), *_row_inputs(cols))
    table = (
        _with_increments(frame, rules)
        .group_by("_grp", maintain_order=True)
        .agg(pl.len().alias("_len"), *measures, *labels)
        .collect()
    )
    if STEP_COUNT not in table.columns:
        table = table.rename({"_grp": STEP_COUNT})
    lengths = table.get_column("_len").cast(pl.Int64)
    starts = lengths.cum_sum() - lengths
    if count_cycles and CYCLE_FROM_CYCLER in cols:
        table = table.with_columns(cycle_counts(ts.get_column(CYCLE_FROM_CYCLER), starts))
    elif count_cycles:
        table = table.with_columns(pl.Series(CYCLE_COUNT, np.zeros(table.height, np.int64)))
    return table.select(
        (starts + row_offset).alias(START_INDEX),
        (starts + lengths - 1 + row_offset).alias(END_INDEX),
        *_names(measures),
        STEP_COUNT,
        STEP_FROM_CYCLER,
        CYCLE_COUNT,
        CYCLE_FROM_CYCLER,
        *([FRAME] if FRAME in cols else []),
    )


def _names(exprs: list[pl.Expr]) -> list[str]:
    return [e.meta.output_name() for e in exprs]


class LongStep:
    """Running aggregates of a step too long to hold whole, fed piece by piece.

    Each piece starts with the last row of the previous one (held back by the caller), which
    gives the trapezoidal increments their previous sample and keeps the step's last row out of
    the spread statistics until it is known to be the last. Minimum, maximum, first and last
    values are exact; sums, means and standard deviations are merged from the pieces (Chan's
    formula), equal to a single pass up to rounding in the last digits.
    """

    def __init__(
        self, first: pl.DataFrame, row_offset: int, integrate: bool, *, absolute: bool = False
    ) -> None:
        self._template = aggregate_steps(first.head(1), row_offset, integrate, absolute=absolute)
        self._absolute = absolute
        self._first = first.row(0, named=True)
        self._last: dict[str, Any] = self._first
        self._cols = set(first.columns)
        self._rules = cumulative_rules(self._cols, integrate)
        self._integrated = [c for c in CUMULATIVE if self._rules[c] == "integrate"]
        self._start = row_offset
        self._rows = 0
        self._stats: dict[str, list[Any]] = {}  # source -> [count, sum, min, max]
        self._spread: dict[str, tuple[int, float, float]] = {}  # source -> (n, mean, M2)
        self._sums: dict[str, float] = {}  # integrated cumulative column -> sum of increments

    def _sources(self) -> list[str]:
        """The columns with min/max/std/mean statistics, in the steps table's order."""
        current = [CURRENT, _POWER] if CURRENT in self._cols else []
        return [VOLTAGE, *current] + ([FREQUENCY] if FREQUENCY in self._cols else [])

    def fold(self, piece: pl.DataFrame, *, last: bool) -> None:
        """Aggregate ``piece`` (all of it when ``last``, else all but its final row)."""
        first_fold = self._rows == 0
        cols = self._cols
        n = piece.height
        pos = pl.int_range(pl.len())
        counted = pos < n if last else pos < n - 1
        spread = counted & ((pos > 0) if first_fold else pl.lit(True))
        if last:
            spread = spread & (pos < n - 1)
        frame = piece.with_columns(_power(cols).alias(_POWER))
        sources = self._sources()
        exprs: list[pl.Expr] = []
        for s in sources:
            value = pl.col(s).filter(counted)
            spread_value = value if s == FREQUENCY else pl.col(s).filter(spread)
            exprs += [
                value.count().alias(f"{s}|n"),
                value.sum().alias(f"{s}|sum"),
                value.min().alias(f"{s}|min"),
                value.max().alias(f"{s}|max"),
                spread_value.count().alias(f"{s}|sn"),
                spread_value.mean().alias(f"{s}|mean"),
                spread_value.var().alias(f"{s}|var"),
            ]
        dt = pl.col(TIME) - pl.col(TIME).shift()
        for name in self._integrated:
            source, sign = _INTEGRANDS[name]
            f = (sign * pl.col(source)).clip(lower_bound=0.0) / 3600.0
            exprs.append(pl.when(pos > 0).then(0.5 * (f + f.shift()) * dt).sum().alias(name))
        out = frame.select(exprs).row(0, named=True)
        for s in sources:
            self._merge(s, out)
        for name in self._integrated:
            self._sums[name] = self._sums.get(name, 0.0) + (out[name] or 0.0)
        self._rows += n if last else n - 1
        if last:
            self._last = piece.tail(1).row(0, named=True)

    def _merge(self, s: str, out: dict[str, Any]) -> None:
        """Merge one piece's aggregates of column ``s`` into the running ones (Chan's formula)."""
        count, total, low, high = self._stats.get(s, [0, 0.0, None, None])
        if out[f"{s}|n"]:
            count += out[f"{s}|n"]
            total += out[f"{s}|sum"]
            low = out[f"{s}|min"] if low is None else min(low, out[f"{s}|min"])
            high = out[f"{s}|max"] if high is None else max(high, out[f"{s}|max"])
        self._stats[s] = [count, total, low, high]
        na, mean_a, m2_a = self._spread.get(s, (0, 0.0, 0.0))
        nb = out[f"{s}|sn"]
        if nb:
            mean_b = out[f"{s}|mean"]
            m2_b = (out[f"{s}|var"] or 0.0) * (nb - 1)
            n = na + nb
            delta = mean_b - mean_a
            self._spread[s] = (
                n,
                mean_a + delta * nb / n,
                m2_a + m2_b + delta * delta * na * nb / n,
            )

    def result(self) -> pl.DataFrame:
        """The step's row, shaped like :func:`aggregate_steps` output."""
        row = self._template.row(0, named=True)
        last = self._last
        row[END_INDEX] = self._start + self._rows - 1
        row[END_TIME] = last.get(TIME)
        row[END_VOLTAGE] = last[VOLTAGE]
        for name in CUMULATIVE:
            if self._rules[name] == "delta":
                first = self._first[name]
                delta = None if first is None or last[name] is None else last[name] - first
                if delta is not None and self._absolute and name in _CAPACITIES:
                    delta = abs(delta)
                row[name] = delta
            elif self._rules[name] == "integrate":
                row[name] = self._sums.get(name, 0.0)
        for s in self._sources():
            low_name, high_name, std_name, mean_name = _STAT_NAMES[s]
            count, total, low, high = self._stats[s]
            n, _, m2 = self._spread.get(s, (0, 0.0, 0.0))
            row[low_name] = low
            row[high_name] = high
            row[mean_name] = total / count if count else None
            row[std_name] = math.sqrt(m2 / (n - 1)) if n > 1 else 0.0
        return pl.from_dicts([row], schema=self._template.schema)
