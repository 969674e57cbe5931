"""One row per step: the aggregation behind :mod:`ionworks.data.steps`, before classification.

:func:`aggregate_steps` reduces whole steps in one polars ``group_by`` pass; :class:`LongStep`
gives the same row for a step too long to hold in memory, from running aggregates fed piece by
piece. The step table's classification, per-cycle sums and column order are applied afterwards
(:func:`ionworks.data.steps.finish_steps`).
"""

from __future__ import annotations

import math
from typing import Any

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


def _positions(ts: pl.DataFrame, row_offset: int, cols: set[str]) -> pl.LazyFrame:
    """The columns the summary reads, with each row's step (``_grp``)."""
    v = pl.col(VOLTAGE)
    # As ionworksdata: a new step wherever the count differs from the row before (a null
    # count differs from everything, itself included).
    step = pl.col(STEP_COUNT)
    group_start = (step != step.shift()).fill_null(True)
    frame = ts.lazy().select(
        pl.int_range(row_offset, row_offset + pl.len(), dtype=pl.Int64).alias("_row"),
        group_start.alias("_start"),
        _or_null(TIME, cols),
        _or_null(CURRENT, cols),
        v,
        _power(cols).alias(_POWER),
        *[pl.col(c) for c in (*CARRIED, *CUMULATIVE) if c in cols],
    )
    return frame.with_columns(pl.col("_start").cast(pl.Int64).cum_sum().alias("_grp"))


def _trimmed_std(source: str) -> pl.Expr:
    """A step's std without its first sample when it has over two, nor its last when over
    three: cyclers log those at the transition (ionworksdata's rule)."""
    n = pl.len()
    head = (n > 2).cast(pl.UInt32)
    tail = (n > 3).cast(pl.UInt32)
    return pl.col(source).slice(head, n - head - tail).std()


def _with_increments(frame: pl.LazyFrame, rules: dict[str, str]) -> pl.LazyFrame:
    """Trapezoidal increments for the cumulative columns ``rules`` integrate.

    They are 0 on a step's first row, so each step integrates only its own samples.
    """
    t, i, p = pl.col(TIME), pl.col(CURRENT), pl.col(_POWER)
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
        pl.when(~pl.col("_start"))
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


def _aggregations(cols: set[str], rules: dict[str, str]) -> list[pl.Expr]:
    """Every column of a step's row, from its rows as :func:`_positions` prepares them."""
    t, v = pl.col(TIME), pl.col(VOLTAGE)

    def cumulative(name: str) -> pl.Expr:
        rule = rules[name]
        if rule == "delta":
            return (pl.col(name).last() - pl.col(name).first()).alias(name)
        if rule == "integrate":
            return pl.col(f"_inc {name}").sum().alias(name)
        # A Null-typed column (cast to Float64 at the end) keeps the cycle sums null, not 0.
        return (pl.lit(0.0) if rule == "zero" else pl.lit(None)).alias(name)

    def first_or_null(name: str) -> pl.Expr:
        if name in cols:
            return pl.col(name).first().alias(name)
        return pl.lit(None, pl.Int64).alias(name)

    def absent(source: str, value: float | None) -> list[pl.Expr]:
        return [pl.lit(value, pl.Float64).alias(n) for n in _STAT_NAMES[source]]

    # Without a frequency the series counts as 0 Hz throughout, as in ionworksdata.
    has_current = CURRENT in cols
    return [
        pl.col("_row").first().alias(START_INDEX),
        pl.col("_row").last().alias(END_INDEX),
        t.first().alias(START_TIME),
        t.last().alias(END_TIME),
        v.first().alias(START_VOLTAGE),
        v.last().alias(END_VOLTAGE),
        *[cumulative(c) for c in CUMULATIVE],
        *_stats(VOLTAGE, trimmed=True),
        *(_stats(CURRENT, trimmed=True) if has_current else absent(CURRENT, None)),
        *(_stats(_POWER, trimmed=True) if has_current else absent(_POWER, None)),
        *(_stats(FREQUENCY, trimmed=False) if FREQUENCY in cols else absent(FREQUENCY, 0.0)),
        pl.col(STEP_COUNT).first(),
        first_or_null(STEP_FROM_CYCLER),
        pl.col(CYCLE_COUNT).first(),
        first_or_null(CYCLE_FROM_CYCLER),
        *([pl.col(FRAME).first()] if FRAME in cols else []),
    ]


def aggregate_steps(ts: pl.DataFrame, row_offset: int, integrate: bool) -> pl.DataFrame:
    """One row per step of ``ts`` (whole steps only), before classification.

    ``row_offset`` is the series row of ``ts``'s first row (for the start and end indices);
    ``integrate``: see :func:`cumulative_rules`. ``ts`` carries ``Cycle count`` as the summary
    counts it.
    """
    cols = set(ts.columns)
    rules = cumulative_rules(cols, integrate)
    aggregations = _aggregations(cols, rules)
    step = ts.get_column(STEP_COUNT)
    if "integrate" in rules.values() or step.null_count() or not step.is_sorted():
        frame = _with_increments(_positions(ts, row_offset, cols), rules)
        return frame.group_by("_grp").agg(aggregations).sort("_grp").drop("_grp").collect()
    # Sorted counts (the usual case): each value is one run, so the counts group the rows
    # themselves and the indices follow from the run lengths. Saves three row-long columns.
    needed = [c for c in (VOLTAGE, *CARRIED, *CUMULATIVE) if c in cols]
    frame = ts.lazy().select(
        _or_null(TIME, cols), _or_null(CURRENT, cols), *needed, _power(cols).alias(_POWER)
    )
    end = pl.col("_len").cum_sum() - 1 + row_offset
    return (
        frame.group_by(pl.col(STEP_COUNT).alias("_grp"))
        .agg(pl.len().alias("_len"), *aggregations[2:])
        .sort("_grp")
        .with_columns(
            (end - pl.col("_len") + 1).cast(pl.Int64).alias(START_INDEX),
            end.cast(pl.Int64).alias(END_INDEX),
        )
        .select(START_INDEX, END_INDEX, *[c for c in _names(aggregations[2:])])
        .collect()
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

    def __init__(self, first: pl.DataFrame, row_offset: int, integrate: bool) -> None:
        self._template = aggregate_steps(first.head(1), row_offset, integrate)
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
                row[name] = None if first is None or last[name] is None else last[name] - first
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
