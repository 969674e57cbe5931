"""Step and cycle counts derived from a series that has none: where a new step or cycle opens.

Used by :class:`~ionworks.data.validate.SeriesValidator` (which carries the last row of these
keys across chunks) and by the step summariser (``changes``).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from .columns import CURRENT, CYCLE_FROM_CYCLER, FREQUENCY, STEP_FROM_CYCLER

__all__ = ["MODE", "REST_CURRENT_A", "change_keys", "changes", "cycle_change", "step_change"]

REST_CURRENT_A = 1e-3
"""|I| below this counts as rest when Step count has to be derived from the current alone."""


def changes(expr: pl.Expr) -> pl.Expr:
    """True where a value differs from the previous row (null counts as a value)."""
    return expr.ne_missing(expr.shift()) & (pl.int_range(pl.len()) > 0)


MODE = "_mode"
"""The key column of a row's mode (rest, discharge, charge, EIS), filled by the caller."""


def change_keys(columns: Sequence[str]) -> list[pl.Expr]:
    """The per-row values whose changes open a new step or cycle when counts are derived.

    Steps follow the cycler's step and cycle numbers when present, else the row's mode: EIS
    (rows with a frequency form steps of their own, whatever current they log), rest (|I| < 1 mA),
    discharge (I > 0) or charge (I < 0). The mode is null where the current is, and filled from
    its neighbours by the caller. Cycles follow the cycler's cycle number.
    """
    keys = [pl.col(c) for c in (STEP_FROM_CYCLER, CYCLE_FROM_CYCLER) if c in columns]
    if STEP_FROM_CYCLER not in columns:
        current = pl.col(CURRENT)
        eis = pl.col(FREQUENCY).is_not_null() if FREQUENCY in columns else pl.lit(False)
        mode = (
            pl.when(eis)
            .then(pl.lit(2, pl.Int8))
            .when(current.abs() < REST_CURRENT_A)
            .then(pl.lit(0, pl.Int8))
            .when(current > 0)
            .then(pl.lit(1, pl.Int8))
            .when(current < 0)
            .then(pl.lit(-1, pl.Int8))
            .otherwise(pl.lit(None, pl.Int8))
        )
        keys.append(mode.alias(MODE))
    return keys


def step_change(keys: Sequence[str]) -> pl.Expr:
    """True where a new step opens: the cycler's step changes (a new cycle always opens a new
    step, even if the cycler reuses the step number), or else the mode changes."""
    if STEP_FROM_CYCLER in keys:
        change = changes(pl.col(STEP_FROM_CYCLER))
        if CYCLE_FROM_CYCLER in keys:
            change = change | changes(pl.col(CYCLE_FROM_CYCLER))
        return change
    return changes(pl.col(MODE))


def cycle_change(keys: Sequence[str]) -> pl.Expr:
    """True where the cycler's cycle number changes; never without cycler cycle info."""
    if CYCLE_FROM_CYCLER in keys:
        return changes(pl.col(CYCLE_FROM_CYCLER))
    return pl.repeat(False, pl.len(), dtype=pl.Boolean)
