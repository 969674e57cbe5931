"""Quick matplotlib plots of measurement data: time series, capacity fade, voltage vs capacity.

matplotlib is imported inside the functions so that importing the client never pays for it, and
the backend is never changed here: scripts and notebooks keep whatever they configured. Nothing
is shown unless ``show=True``.

Long series are reduced with :func:`decimate_minmax` before plotting: a million points take
seconds to draw and are indistinguishable on screen from a few thousand, but naive striding can
drop the voltage spikes and current pulses users look for, so each bucket keeps its extremes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from ionworks._dataframe import to_polars
from ionworks.errors import IonworksError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "decimate_minmax",
    "plot_capacity",
    "plot_time_series",
    "plot_voltage_vs_capacity",
]

TIME = "Time [s]"
VOLTAGE = "Voltage [V]"
CURRENT = "Current [A]"
TEMPERATURE = "Temperature [degC]"
CYCLE = "Cycle count"
DISCHARGE_CAPACITY = "Discharge capacity [A.h]"
CHARGE_CAPACITY = "Charge capacity [A.h]"
COULOMBIC_EFFICIENCY = "Coulombic efficiency"

HOURS_THRESHOLD_S = 2 * 3600
"""Series longer than this are plotted against hours: seconds become unreadable numbers."""

DEFAULT_MAX_POINTS = 20_000

_COLORS = {VOLTAGE: "tab:blue", CURRENT: "tab:orange", TEMPERATURE: "tab:red"}


def decimate_minmax(x: Any, y: Any, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """Reduce ``(x, y)`` to at most ``max_points`` points without losing any extremum.

    The series is cut into ``max_points // 2`` equal buckets of consecutive points and each
    bucket keeps the points holding its minimum and maximum ``y``, in their original order, so
    the global minimum and maximum (and every local spike wider than a bucket's share of the
    screen) survive. NaNs are ignored when picking extremes. Series already small enough are
    returned unchanged (as arrays).
    """
    x_arr = np.asarray(x)
    y_arr = np.asarray(y, dtype=float)
    n = len(y_arr)
    if len(x_arr) != n:
        raise ValueError(f"x and y must have the same length, got {len(x_arr)} and {n}")
    if max_points < 2:
        raise ValueError(f"max_points must be at least 2, got {max_points}")
    if n <= max_points:
        return x_arr, y_arr

    n_buckets = max_points // 2
    size = -(-n // n_buckets)  # ceil: at most n_buckets buckets, so at most max_points points
    n_padded = -(-n // size) * size
    nan = np.isnan(y_arr)
    low = np.full(n_padded, np.inf)
    low[:n] = np.where(nan, np.inf, y_arr)
    high = np.full(n_padded, -np.inf)
    high[:n] = np.where(nan, -np.inf, y_arr)
    offsets = np.arange(0, n_padded, size)
    i_min = low.reshape(-1, size).argmin(axis=1) + offsets
    i_max = high.reshape(-1, size).argmax(axis=1) + offsets
    # np.unique sorts, which restores time order within and across buckets and drops buckets
    # whose minimum and maximum are the same point.
    keep = np.unique(np.minimum(np.concatenate([i_min, i_max]), n - 1))
    return x_arr[keep], y_arr[keep]


def _require(df: pl.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [column for column in columns if column not in df.columns]
    if missing:
        raise IonworksError(
            f"{what} needs the column(s) {', '.join(repr(c) for c in missing)}; "
            f"the data has {', '.join(repr(c) for c in df.columns) or 'no columns'}."
        )


def _numpy(df: pl.DataFrame, column: str) -> np.ndarray:
    """A column as float64 with nulls as NaN (matplotlib draws gaps for NaN)."""
    return df[column].cast(pl.Float64).to_numpy()


def plot_time_series(
    time_series: Any,
    *,
    show: bool = False,
    title: str | None = None,
    max_points: int = DEFAULT_MAX_POINTS,
    ax: Any = None,
) -> tuple[Figure, np.ndarray]:
    """Plot voltage and current against time, plus temperature when the data has it.

    Draws one panel per quantity, stacked and sharing the time axis: ``Voltage [V]``,
    ``Current [A]`` and, only if the column exists, ``Temperature [degC]``. Time is shown in
    hours when the series is longer than two hours. Each line is reduced to ``max_points`` with
    :func:`decimate_minmax`.

    Args:
        time_series: polars/pandas DataFrame or column dict with ``Time [s]``, ``Voltage [V]``,
            ``Current [A]``.
        show: call ``matplotlib.pyplot.show()`` before returning.
        title: title above the top panel (default "Voltage and current over time").
        max_points: most points drawn per line.
        ax: draw into existing axes instead of a new figure: one Axes per panel (2, or 3 with
            temperature), or a single Axes, which then gets voltage on the left and current on a
            twin right axis (no temperature panel).

    Returns:
        ``(fig, axes)`` where ``axes`` is a NumPy array of the Axes, top to bottom (for a single
        Axes passed in: that Axes and its current twin).
    """
    df = to_polars(time_series)
    _require(df, (TIME, VOLTAGE, CURRENT), "plot_time_series")
    import matplotlib.pyplot as plt

    seconds = _numpy(df, TIME)
    duration = float(np.nanmax(seconds) - np.nanmin(seconds)) if np.isfinite(seconds).any() else 0
    in_hours = duration > HOURS_THRESHOLD_S
    x = seconds / 3600 if in_hours else seconds
    panels = [VOLTAGE, CURRENT] + ([TEMPERATURE] if TEMPERATURE in df.columns else [])

    twin = False
    if ax is None:
        fig, grid = plt.subplots(
            len(panels),
            1,
            sharex=True,
            squeeze=False,
            figsize=(9, 1.0 + 2.4 * len(panels)),
            layout="constrained",
        )
        axes = list(grid[:, 0])
    elif hasattr(ax, "twinx"):
        panels = [VOLTAGE, CURRENT]
        axes = [ax, ax.twinx()]
        twin = True
        fig = ax.get_figure()
    else:
        axes = list(ax)
        if len(axes) != len(panels):
            raise IonworksError(
                f"plot_time_series draws {len(panels)} panels ({', '.join(panels)}) but got "
                f"{len(axes)} axes; pass one Axes per panel, or a single Axes."
            )
        fig = axes[0].get_figure()

    for panel_ax, column in zip(axes, panels, strict=True):
        xs, ys = decimate_minmax(x, _numpy(df, column), max_points)
        panel_ax.plot(xs, ys, color=_COLORS[column], linewidth=1.0, label=column)
        panel_ax.set_ylabel(column)
        panel_ax.grid(True, alpha=0.3)
    if twin:
        axes[0].tick_params(axis="y", colors=_COLORS[VOLTAGE])
        axes[1].tick_params(axis="y", colors=_COLORS[CURRENT])
    axes[0].set_title(title if title is not None else "Voltage and current over time")
    # A twin shares the x axis of the first Axes, whose label is the visible one.
    (axes[0] if twin else axes[-1]).set_xlabel("Time [h]" if in_hours else "Time [s]")

    if show:
        plt.show()
    return fig, np.array(axes, dtype=object)


def plot_capacity(cycles: Any, *, show: bool = False) -> tuple[Figure, np.ndarray]:
    """Plot discharge (and charge) capacity per cycle, with coulombic efficiency below.

    Args:
        cycles: cycle metrics (``client.cell_measurement.cycles(id)``) with ``Cycle count`` and
            ``Discharge capacity [A.h]``; ``Charge capacity [A.h]`` and ``Coulombic efficiency``
            (a ratio) are used when present, the efficiency being computed from the two
            capacities when only they are given.
        show: call ``matplotlib.pyplot.show()`` before returning.

    Returns:
        ``(fig, axes)`` with ``axes = [capacity_axes, efficiency_axes]`` (efficiency in percent).
    """
    df = to_polars(cycles)
    _require(df, (CYCLE, DISCHARGE_CAPACITY), "plot_capacity")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    df = df.sort(CYCLE)
    cycle = _numpy(df, CYCLE)
    fig, (ax_cap, ax_ce) = plt.subplots(
        2, 1, sharex=True, figsize=(9, 6), height_ratios=(2, 1), layout="constrained"
    )
    ax_cap.plot(cycle, _numpy(df, DISCHARGE_CAPACITY), "o-", markersize=3, label="Discharge")
    if CHARGE_CAPACITY in df.columns:
        ax_cap.plot(cycle, _numpy(df, CHARGE_CAPACITY), "s--", markersize=3, label="Charge")
    ax_cap.set_ylabel("Capacity [A.h]")
    ax_cap.set_title("Capacity per cycle")
    ax_cap.legend()
    ax_cap.grid(True, alpha=0.3)

    efficiency: np.ndarray | None = None
    if COULOMBIC_EFFICIENCY in df.columns:
        efficiency = _numpy(df, COULOMBIC_EFFICIENCY)
    elif CHARGE_CAPACITY in df.columns:
        charge = _numpy(df, CHARGE_CAPACITY)
        with np.errstate(divide="ignore", invalid="ignore"):
            efficiency = np.where(charge > 0, _numpy(df, DISCHARGE_CAPACITY) / charge, np.nan)
    if efficiency is not None:
        ax_ce.plot(cycle, efficiency * 100, "o-", color="tab:green", markersize=3)
    else:
        ax_ce.text(
            0.5,
            0.5,
            f"Coulombic efficiency needs '{CHARGE_CAPACITY}'",
            ha="center",
            va="center",
            transform=ax_ce.transAxes,
        )
    ax_ce.set_ylabel("Coulombic efficiency [%]")
    ax_ce.set_xlabel(CYCLE)
    ax_ce.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_ce.grid(True, alpha=0.3)

    if show:
        plt.show()
    return fig, np.array([ax_cap, ax_ce], dtype=object)


def _cycle_column(df: pl.DataFrame, steps: Any) -> pl.Series:
    """Cycle number of every row: from the time series, else from the steps table, else 0."""
    if CYCLE in df.columns:
        return df[CYCLE]
    if steps is not None:
        table = to_polars(steps)
        if {"Start index", CYCLE} <= set(table.columns):
            starts = (
                table.select(
                    pl.col("Start index").cast(pl.Int64).alias("__row"),
                    pl.col(CYCLE).cast(pl.Int64),
                )
                .drop_nulls()
                .sort("__row")
            )
            rows = pl.DataFrame({"__row": pl.int_range(0, df.height, eager=True, dtype=pl.Int64)})
            joined = rows.join_asof(starts, on="__row", strategy="backward")
            return joined[CYCLE].fill_null(strategy="backward").fill_null(0)
    return pl.repeat(0, df.height, eager=True, dtype=pl.Int64).alias(CYCLE)


def _cumulative_capacity(df: pl.DataFrame, column: str, sign: float) -> pl.Expr:
    """Capacity accumulated in this direction since the start of the cycle.

    Uses the per-step cumulative column when present (its increments, so per-step resets do not
    matter), otherwise integrates the current, holding each sample's current until the next
    sample as cyclers do (so a step's first row adds nothing, like the reset columns).
    """
    if column in df.columns:
        increment = pl.col(column).cast(pl.Float64).diff()
    else:
        dt = pl.col(TIME).cast(pl.Float64).diff().clip(lower_bound=0)
        held = (pl.col(CURRENT).cast(pl.Float64).shift(1) * sign).clip(lower_bound=0)
        increment = held * dt / 3600
    return increment.clip(lower_bound=0).fill_null(0).fill_nan(0).cum_sum().over("__cycle")


def plot_voltage_vs_capacity(
    time_series: Any,
    steps: Any = None,
    *,
    cycles: Sequence[int] | None = None,
    show: bool = False,
    max_points: int = DEFAULT_MAX_POINTS,
) -> tuple[Figure, Axes]:
    """Plot voltage against capacity for a few cycles, discharge solid and charge dashed.

    Capacity is accumulated within each cycle from ``Discharge capacity [A.h]`` /
    ``Charge capacity [A.h]`` (which restart every step), or by integrating ``Current [A]``
    over ``Time [s]`` when those columns are missing. Rows with positive current form the
    discharge branch, negative current the charge branch; rests are skipped. Cycles come from
    the time series' ``Cycle count``, else from ``steps`` (``Start index`` + ``Cycle count``),
    else the whole series is cycle 0.

    Args:
        cycles: cycle numbers to draw (default: first, middle and last).
        show: call ``matplotlib.pyplot.show()`` before returning.
        max_points: most points drawn per branch.

    Returns:
        ``(fig, ax)`` with one legend entry per cycle.
    """
    df = to_polars(time_series)
    _require(df, (VOLTAGE, CURRENT), "plot_voltage_vs_capacity")
    if DISCHARGE_CAPACITY not in df.columns or CHARGE_CAPACITY not in df.columns:
        _require(df, (TIME,), "plot_voltage_vs_capacity without capacity columns")
    import matplotlib.pyplot as plt

    df = df.with_columns(_cycle_column(df, steps).cast(pl.Int64).alias("__cycle"))
    available = df["__cycle"].drop_nulls().unique().sort().to_list()
    if cycles is None:
        middle = available[len(available) // 2 : len(available) // 2 + 1]
        chosen = list(dict.fromkeys(available[:1] + middle + available[-1:]))
    else:
        chosen = list(cycles)
        unknown = [c for c in chosen if c not in set(available)]
        if unknown:
            raise IonworksError(
                f"Cycle(s) {unknown} not in the data; available cycles are "
                f"{available[0]} to {available[-1]}."
                if available
                else f"Cycle(s) {unknown} not in the data, which has no cycles."
            )
    df = df.with_columns(
        _cumulative_capacity(df, DISCHARGE_CAPACITY, 1.0).alias("__discharge"),
        _cumulative_capacity(df, CHARGE_CAPACITY, -1.0).alias("__charge"),
    )

    fig, ax = plt.subplots(figsize=(8, 5.5), layout="constrained")
    colors = plt.get_cmap("viridis")(np.linspace(0.0, 0.9, max(len(chosen), 1)))
    for color, cycle in zip(colors, chosen, strict=False):
        rows = df.filter(pl.col("__cycle") == cycle)
        label: str | None = f"Cycle {cycle}"
        for branch, sign, style in (("__discharge", 1.0, "-"), ("__charge", -1.0, "--")):
            part = rows.filter(pl.col(CURRENT).cast(pl.Float64) * sign > 0)
            if part.is_empty():
                continue
            xs, ys = decimate_minmax(_numpy(part, branch), _numpy(part, VOLTAGE), max_points)
            ax.plot(xs, ys, linestyle=style, color=color, linewidth=1.2, label=label)
            label = None  # one legend entry per cycle
    ax.set_xlabel("Capacity [A.h]")
    ax.set_ylabel(VOLTAGE)
    ax.set_title("Voltage vs capacity (solid: discharge, dashed: charge)")
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend()

    if show:
        plt.show()
    return fig, ax
