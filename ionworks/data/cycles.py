"""The cycles table: per-cycle metrics computed from a steps table.

One lazy polars ``group_by`` over the steps table's ``Cycle count``, then ratios and running sums
over the (few) cycles. Column names and order are those of the cycles table the Ionworks API
serves (``openapi.yaml``; :data:`ionworks.data.columns.CYCLES`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl

from .columns import (
    CAPACITY_FADE,
    CAPACITY_RETENTION,
    CAPACITY_THROUGHPUT,
    CHARGE_CAPACITY,
    CHARGE_DURATION,
    CHARGE_ENERGY,
    COULOMBIC_EFFICIENCY,
    CYCLE_COUNT,
    CYCLE_DURATION,
    CYCLES,
    DISCHARGE_CAPACITY,
    DISCHARGE_DURATION,
    DISCHARGE_ENERGY,
    DURATION,
    END_TIME,
    ENERGY_CYCLES,
    ENERGY_EFFICIENCY,
    ENERGY_FADE,
    ENERGY_RETENTION,
    ENERGY_THROUGHPUT,
    MAX_VOLTAGE,
    MEAN_CHARGE_CURRENT,
    MEAN_CURRENT,
    MEAN_DISCHARGE_CURRENT,
    MEAN_TEMPERATURE,
    MIN_VOLTAGE,
    START_TIME,
)

__all__ = ["CYCLE_METRIC_COLUMNS", "cycle_metrics", "get_cycle_metrics"]

CYCLE_METRIC_COLUMNS = CYCLES
"""Full column order of :func:`cycle_metrics`; energy and temperature columns are left out when
the steps table cannot provide them."""


def get_cycle_metrics(steps: pl.DataFrame, options: dict[str, Any] | None = None) -> pl.DataFrame:
    """Per-cycle metrics of a steps table, as ``ionworksdata.cycle_metrics.get_cycle_metrics``.

    Needs ``Cycle count`` and the discharge and charge capacities (``ValueError`` otherwise);
    energy, voltage, duration, start-time, current and temperature metrics appear when the
    steps carry their inputs. ``options={"current units": "density"}`` reads the capacities
    per area (``[mA.h.cm-2]``). Efficiencies are null where the charge side is not positive;
    retention is relative to the first cycle's discharge; throughput is a running sum.
    """
    capacity_units = _capacity_units(options)
    discharge, charge = (f"{side} capacity [{capacity_units}]" for side in ("Discharge", "Charge"))
    for name in (CYCLE_COUNT, discharge, charge):
        if name not in steps.columns:
            raise ValueError(f"Steps DataFrame must contain '{name}' column")
    cols = set(steps.columns)
    has_energy = {DISCHARGE_ENERGY, CHARGE_ENERGY} <= cols
    has_duration = DURATION in cols
    aggs = [pl.col(discharge).sum(), pl.col(charge).sum()]
    if has_energy:
        aggs += [pl.col(DISCHARGE_ENERGY).sum(), pl.col(CHARGE_ENERGY).sum()]
    if {MIN_VOLTAGE, MAX_VOLTAGE} <= cols:
        aggs += [pl.col(MIN_VOLTAGE).min(), pl.col(MAX_VOLTAGE).max()]
    if has_duration:
        aggs.append(pl.col(DURATION).sum().alias(CYCLE_DURATION))
    if START_TIME in cols:
        aggs.append(pl.col(START_TIME).min())
    table = steps.group_by(CYCLE_COUNT).agg(aggs).sort(CYCLE_COUNT)
    table = table.with_columns(_efficiency(discharge, charge).alias(COULOMBIC_EFFICIENCY))
    if has_energy:
        table = table.with_columns(
            _efficiency(DISCHARGE_ENERGY, CHARGE_ENERGY).alias(ENERGY_EFFICIENCY)
        )
    table = _with_retention(table, discharge, CAPACITY_RETENTION, CAPACITY_FADE)
    if has_energy:
        table = _with_retention(table, DISCHARGE_ENERGY, ENERGY_RETENTION, ENERGY_FADE)
    if MEAN_CURRENT in cols and has_duration:
        table = _with_side(table, steps, pl.col(MEAN_CURRENT) > 0, "discharge")
        table = _with_side(table, steps, pl.col(MEAN_CURRENT) < 0, "charge")
    if MEAN_TEMPERATURE in cols and has_duration:
        weighted = _weighted_mean(MEAN_TEMPERATURE).alias(MEAN_TEMPERATURE)
        per_cycle = steps.group_by(CYCLE_COUNT).agg(weighted)
        table = table.join(per_cycle, on=CYCLE_COUNT, how="left", maintain_order="left")
    table = table.with_columns(
        (pl.col(discharge) + pl.col(charge))
        .cum_sum()
        .alias(f"Capacity throughput [{capacity_units}]")
    )
    if has_energy:
        table = table.with_columns(
            (pl.col(DISCHARGE_ENERGY) + pl.col(CHARGE_ENERGY)).cum_sum().alias(ENERGY_THROUGHPUT)
        )
    return table


def _capacity_units(options: dict[str, Any] | None) -> str:
    """``A.h`` for total capacities (the default), ``mA.h.cm-2`` for densities."""
    units = {"total": "A.h", "density": "mA.h.cm-2"}
    kind = (options or {}).get("current units", "total")
    if kind not in units:
        raise ValueError("Invalid current units option")
    return units[kind]


def _efficiency(num: str, den: str) -> pl.Expr:
    return pl.when(pl.col(den) > 0).then(pl.col(num) / pl.col(den)).otherwise(None)


def _weighted_mean(name: str) -> pl.Expr:
    """Duration-weighted mean: a long step says more than a short one."""
    return (pl.col(name) * pl.col(DURATION)).sum() / pl.col(DURATION).sum()


def _with_retention(table: pl.DataFrame, name: str, retention: str, fade: str) -> pl.DataFrame:
    """Each cycle's ``name`` relative to the first cycle's (null when that is not positive)."""
    first = table.get_column(name)[0] if table.height else None
    if first is None or not first > 0:
        return table.with_columns(
            pl.lit(None, pl.Float64).alias(retention), pl.lit(None, pl.Float64).alias(fade)
        )
    return table.with_columns((pl.col(name) / first).alias(retention)).with_columns(
        (1.0 - pl.col(retention)).alias(fade)
    )


def _with_side(table: pl.DataFrame, steps: pl.DataFrame, mask: pl.Expr, side: str) -> pl.DataFrame:
    """The duration-weighted mean current and total duration of the cycle's ``side`` steps."""
    current, duration = f"Mean {side} current [A]", f"{side.capitalize()} duration [s]"
    chosen = steps.select(CYCLE_COUNT, MEAN_CURRENT, DURATION).filter(mask)  # not all 40 columns
    if chosen.height == 0:
        return table.with_columns(
            pl.lit(None, pl.Float64).alias(current), pl.lit(None, pl.Float64).alias(duration)
        )
    per_cycle = chosen.group_by(CYCLE_COUNT).agg(
        _weighted_mean(MEAN_CURRENT).alias(current), pl.col(DURATION).sum().alias(duration)
    )
    # The cycles' order is kept explicitly: the throughput below is a running sum over it.
    return table.join(per_cycle, on=CYCLE_COUNT, how="left", maintain_order="left")


def cycle_metrics(steps: pl.DataFrame) -> pl.DataFrame:
    """The server's per-cycle metrics of an *uploaded* steps table, which may lack columns.

    Derived steps tables get :func:`get_cycle_metrics` (ionworksdata's rules); an uploaded one
    may miss the capacities that function requires, so this form fills what is missing with
    nulls (column order: :data:`CYCLE_METRIC_COLUMNS`).

    Grouped by ``Cycle count`` (ascending; all steps are cycle 0 if the column is absent).
    Efficiencies are ratios (null when the charge side is <= 0); retention is relative to the
    first cycle's discharge (all null when that is null or <= 0); throughput is a running sum.
    Energy columns appear only when the steps carry both energy columns, and
    ``Mean temperature [degC]`` only when the steps carry it. Missing numeric inputs (possible
    in uploaded steps tables) give null columns rather than errors.
    """
    cols = set(steps.columns)
    has_energy = DISCHARGE_ENERGY in cols and CHARGE_ENERGY in cols
    has_temperature = MEAN_TEMPERATURE in cols
    cycle = pl.col(CYCLE_COUNT).cast(pl.Int64) if CYCLE_COUNT in cols else pl.lit(0, pl.Int64)
    per_cycle = (
        steps.lazy().group_by(cycle.alias(CYCLE_COUNT)).agg(_per_cycle(cols)).sort(CYCLE_COUNT)
    )
    metrics = per_cycle.with_columns(_derived(has_temperature)).with_columns(
        (1.0 - pl.col(CAPACITY_RETENTION)).alias(CAPACITY_FADE),
        (1.0 - pl.col(ENERGY_RETENTION)).alias(ENERGY_FADE),
    )
    order = [
        c
        for c in CYCLE_METRIC_COLUMNS
        if (has_energy or c not in ENERGY_CYCLES) and (has_temperature or c != MEAN_TEMPERATURE)
    ]
    return metrics.select(order).with_columns(pl.exclude(CYCLE_COUNT).cast(pl.Float64)).collect()


def _per_cycle(cols: set[str]) -> list[pl.Expr]:
    """The sums, extremes and per-side totals of each cycle's steps."""

    def col(name: str) -> pl.Expr:
        return pl.col(name).cast(pl.Float64) if name in cols else pl.lit(None, pl.Float64)

    duration = col(DURATION) if DURATION in cols else col(END_TIME) - col(START_TIME)
    mean_i = col(MEAN_CURRENT)

    def side(mask: pl.Expr, prefix: str) -> list[pl.Expr]:
        return [
            mask.sum().alias(f"_{prefix}_n"),
            duration.filter(mask).sum().alias(f"_{prefix}_dur"),
            (mean_i * duration).filter(mask).sum().alias(f"_{prefix}_charge"),
        ]

    def reduce(name: str, how: Callable[[pl.Expr], pl.Expr]) -> pl.Expr:
        # An absent input gives a null metric, not the 0 that summing a null literal would give.
        if name not in cols:
            return pl.lit(None, pl.Float64).alias(name)
        return how(col(name)).alias(name)

    has_duration = DURATION in cols or {START_TIME, END_TIME} <= cols
    aggs = [
        reduce(DISCHARGE_CAPACITY, pl.Expr.sum),
        reduce(CHARGE_CAPACITY, pl.Expr.sum),
        reduce(DISCHARGE_ENERGY, pl.Expr.sum),
        reduce(CHARGE_ENERGY, pl.Expr.sum),
        reduce(MIN_VOLTAGE, pl.Expr.min),
        reduce(MAX_VOLTAGE, pl.Expr.max),
        (duration.sum() if has_duration else pl.lit(None, pl.Float64)).alias(CYCLE_DURATION),
        reduce(START_TIME, pl.Expr.min),
        *side(mean_i > 0, "dis"),
        *side(mean_i < 0, "chg"),
    ]
    if MEAN_TEMPERATURE in cols:
        # Weighted by step duration: a long rest says more about the cell's temperature.
        temperature = col(MEAN_TEMPERATURE)
        weight = duration.filter(temperature.is_not_null())
        aggs += [
            (temperature * duration).sum().alias("_temp_weighted"),
            weight.sum().alias("_temp_weight"),
        ]
    return aggs


def _derived(has_temperature: bool) -> list[pl.Expr]:
    """Efficiencies, retention, per-side currents and durations, and throughput per cycle."""

    def ratio(num: str, den: str) -> pl.Expr:
        return pl.when(pl.col(den) > 0).then(pl.col(num) / pl.col(den))

    def retention(name: str) -> pl.Expr:
        first = pl.col(name).first()
        return pl.when(first > 0).then(pl.col(name) / first)

    def weighted_current(prefix: str) -> pl.Expr:
        dur, n = pl.col(f"_{prefix}_dur"), pl.col(f"_{prefix}_n")
        return pl.when((n > 0) & (dur > 0)).then(pl.col(f"_{prefix}_charge") / dur)

    def side_duration(prefix: str) -> pl.Expr:
        return pl.when(pl.col(f"_{prefix}_n") > 0).then(pl.col(f"_{prefix}_dur"))

    def throughput(discharge: str, charge: str) -> pl.Expr:
        return (pl.col(discharge).fill_null(0.0) + pl.col(charge).fill_null(0.0)).cum_sum()

    temperature = pl.when(pl.col("_temp_weight") > 0).then(
        pl.col("_temp_weighted") / pl.col("_temp_weight")
    )
    return [
        ratio(DISCHARGE_CAPACITY, CHARGE_CAPACITY).alias(COULOMBIC_EFFICIENCY),
        ratio(DISCHARGE_ENERGY, CHARGE_ENERGY).alias(ENERGY_EFFICIENCY),
        retention(DISCHARGE_CAPACITY).alias(CAPACITY_RETENTION),
        retention(DISCHARGE_ENERGY).alias(ENERGY_RETENTION),
        weighted_current("dis").alias(MEAN_DISCHARGE_CURRENT),
        side_duration("dis").alias(DISCHARGE_DURATION),
        weighted_current("chg").alias(MEAN_CHARGE_CURRENT),
        side_duration("chg").alias(CHARGE_DURATION),
        throughput(DISCHARGE_CAPACITY, CHARGE_CAPACITY).alias(CAPACITY_THROUGHPUT),
        throughput(DISCHARGE_ENERGY, CHARGE_ENERGY).alias(ENERGY_THROUGHPUT),
        *([temperature.alias(MEAN_TEMPERATURE)] if has_temperature else []),
    ]
