"""Quick matplotlib plots of measurement data: time series, capacity fade, voltage vs capacity.

matplotlib is imported inside the functions so that importing the client never pays for it, and
the backend is never changed here: scripts and notebooks keep whatever they configured. Nothing
is shown unless ``show=True``.

Long series are reduced with :func:`decimate_minmax` before plotting: a million points take
seconds to draw and are indistinguishable on screen from a few thousand, but naive striding can
drop the voltage spikes and current pulses users look for, so each bucket keeps its extremes.

Conventions on screen: currents and capacities are in mA / mA.h when every value is below 1 A /
1 A.h (a coin cell's 0.0025 A reads 2.5 mA), else in A / A.h; current is positive on discharge
(the ionworks convention), which the current axis says. Coulombic efficiency is a ratio in the
cycles table (0.998) and a percentage in plots (99.8 %), labelled so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from ionworks._dataframe import to_polars
from ionworks.data.columns import (
    CHARGE_CAPACITY,
    COULOMBIC_EFFICIENCY,
    CURRENT,
    CYCLE_COUNT,
    DISCHARGE_CAPACITY,
    START_INDEX,
    TEMPERATURE,
    TIME,
    VOLTAGE,
)
from ionworks.errors import IonworksError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "decimate_minmax",
    "efficiency_outliers",
    "plot_capacity",
    "plot_time_series",
    "plot_voltage_vs_capacity",
]

HOURS_THRESHOLD_S = 2 * 3600
"""Series longer than this are plotted against hours: seconds become unreadable numbers."""

DEFAULT_MAX_POINTS = 20_000

_COLORS = {VOLTAGE: "tab:blue", CURRENT: "tab:orange", TEMPERATURE: "tab:red"}

CURRENT_SIGN = "+ discharge, - charge"
"""How the current axis says which sign is which (positive current discharges the cell)."""

MILLI_BELOW = 1.0
"""Currents and capacities whose largest magnitude is below this are shown in milli-units."""

OUTLIER_MIN_SPREAD_PCT = 0.5
"""Efficiencies within this many percentage points of the median are never outliers."""


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
    """Fail with the missing and the present column names, not a matplotlib KeyError."""
    missing = [column for column in columns if column not in df.columns]
    if missing:
        raise IonworksError(
            f"{what} needs the column(s) {', '.join(repr(c) for c in missing)}; "
            f"the data has {', '.join(repr(c) for c in df.columns) or 'no columns'}."
        )


def _numpy(df: pl.DataFrame, column: str) -> np.ndarray:
    """A column as float64 with nulls as NaN (matplotlib draws gaps for NaN)."""
    return df[column].cast(pl.Float64).to_numpy()


def _milli_scale(*arrays: np.ndarray) -> tuple[float, str]:
    """(factor, prefix): 1000 and "m" when every finite magnitude is below :data:`MILLI_BELOW`.

    Chosen once for everything drawn on one axis, so the lines stay comparable.
    """
    finite = [np.abs(a[np.isfinite(a)]) for a in arrays]
    largest = max((float(a.max()) for a in finite if a.size), default=0.0)
    return (1000.0, "m") if 0.0 < largest < MILLI_BELOW else (1.0, "")


def _panel(column: str, values: np.ndarray) -> tuple[np.ndarray, str]:
    """The values to draw for a time-series panel and the axis label (unit and sign)."""
    if column != CURRENT:
        return values, column
    factor, prefix = _milli_scale(values)
    return values * factor, f"Current [{prefix}A]\n({CURRENT_SIGN})"


def _default_title(panels: Sequence[str]) -> str:
    """What is drawn, in words: "Voltage, current and temperature over time"."""
    names = [name.split(" [")[0].lower() for name in panels]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"{listed[0].upper()}{listed[1:]} over time"


def plot_time_series(
    time_series: Any,
    *,
    show: bool = False,
    title: str | None = None,
    max_points: int = DEFAULT_MAX_POINTS,
    ax: Any = None,
) -> tuple[Figure, np.ndarray]:
    """Plot voltage and current against time, plus temperature when the data has it.

    Draws one panel per quantity, stacked and sharing the time axis: ``Voltage [V]``, current
    (in mA when below 1 A, labelled with its sign convention: positive is discharge) and, only
    if the column exists, ``Temperature [degC]``. Time is shown in hours when the series is
    longer than two hours. Each line is reduced to ``max_points`` with :func:`decimate_minmax`.

    Args:
        time_series: polars/pandas DataFrame or column dict with ``Time [s]``, ``Voltage [V]``,
            ``Current [A]``.
        show: call ``matplotlib.pyplot.show()`` before returning.
        title: title above the top panel, e.g. the measurement's name (default: what is
            drawn, "Voltage, current and temperature over time").
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

    x, in_hours = _time_axis(df)
    panels = [VOLTAGE, CURRENT] + ([TEMPERATURE] if TEMPERATURE in df.columns else [])
    fig, axes, twin = _time_series_axes(ax, panels)
    if twin:
        panels = [VOLTAGE, CURRENT]
    for panel_ax, column in zip(axes, panels, strict=True):
        values, label = _panel(column, _numpy(df, column))
        xs, ys = decimate_minmax(x, values, max_points)
        panel_ax.plot(xs, ys, color=_COLORS[column], linewidth=1.0, label=label)
        panel_ax.set_ylabel(label)
        panel_ax.grid(True, alpha=0.3)
    if twin:
        axes[0].tick_params(axis="y", colors=_COLORS[VOLTAGE])
        axes[1].tick_params(axis="y", colors=_COLORS[CURRENT])
    axes[0].set_title(title if title is not None else _default_title(panels))
    # A twin shares the x axis of the first Axes, whose label is the visible one.
    (axes[0] if twin else axes[-1]).set_xlabel("Time [h]" if in_hours else TIME)

    if show:
        plt.show()
    return fig, np.array(axes, dtype=object)


def _time_axis(df: pl.DataFrame) -> tuple[np.ndarray, bool]:
    """The x values (seconds, or hours for long series) and whether they are hours."""
    seconds = _numpy(df, TIME)
    duration = float(np.nanmax(seconds) - np.nanmin(seconds)) if np.isfinite(seconds).any() else 0
    in_hours = duration > HOURS_THRESHOLD_S
    return (seconds / 3600 if in_hours else seconds), in_hours


def _time_series_axes(ax: Any, panels: Sequence[str]) -> tuple[Figure, list[Any], bool]:
    """``(fig, axes, twin)`` for :func:`plot_time_series`: new panels, given ones, or a twin.

    A single Axes gets voltage on it and current on a twin right axis (``twin`` is then True and
    only those two are drawn); a sequence must hold one Axes per panel.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        fig, grid = plt.subplots(
            len(panels),
            1,
            sharex=True,
            squeeze=False,
            figsize=(9, 1.0 + 2.4 * len(panels)),
            layout="constrained",
        )
        return fig, list(grid[:, 0]), False
    if hasattr(ax, "twinx"):
        return ax.get_figure(), [ax, ax.twinx()], True
    axes = list(ax)
    if len(axes) != len(panels):
        raise IonworksError(
            f"plot_time_series draws {len(panels)} panels ({', '.join(panels)}) but got "
            f"{len(axes)} axes; pass one Axes per panel, or a single Axes."
        )
    return axes[0].get_figure(), axes, False


def plot_capacity(
    cycles: Any, *, show: bool = False, title: str | None = None
) -> tuple[Figure, np.ndarray]:
    """Plot discharge (and charge) capacity per cycle, with coulombic efficiency below.

    Capacities are in mA.h when all are below 1 A.h. The efficiency panel is in percent and its
    axis is scaled to the bulk of the cycles: a cycle far from the others (a formation cycle at
    88 % among cycles at 99.9 %) would squash them into a flat line, so it is marked at the
    axis edge with its cycle and value instead.

    Args:
        cycles: cycle metrics (``client.cell_measurement.cycles(id)``) with ``Cycle count`` and
            ``Discharge capacity [A.h]``; ``Charge capacity [A.h]`` and ``Coulombic efficiency``
            (a ratio) are used when present, the efficiency being computed from the two
            capacities when only they are given.
        show: call ``matplotlib.pyplot.show()`` before returning.
        title: title above the top panel, e.g. the measurement's name (default
            "Capacity per cycle").

    Returns:
        ``(fig, axes)`` with ``axes = [capacity_axes, efficiency_axes]`` (efficiency in percent).
    """
    df = to_polars(cycles)
    _require(df, (CYCLE_COUNT, DISCHARGE_CAPACITY), "plot_capacity")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    df = df.sort(CYCLE_COUNT)
    cycle = _numpy(df, CYCLE_COUNT)
    fig, (ax_cap, ax_ce) = plt.subplots(
        2, 1, sharex=True, figsize=(9, 6), height_ratios=(2, 1), layout="constrained"
    )
    discharge = _numpy(df, DISCHARGE_CAPACITY)
    charge = _numpy(df, CHARGE_CAPACITY) if CHARGE_CAPACITY in df.columns else None
    factor, prefix = _milli_scale(discharge, *([] if charge is None else [charge]))
    ax_cap.plot(cycle, discharge * factor, "o-", markersize=3, label="Discharge")
    if charge is not None:
        ax_cap.plot(cycle, charge * factor, "s--", markersize=3, label="Charge")
    ax_cap.set_ylabel(f"Capacity [{prefix}A.h]")
    ax_cap.set_title(title if title is not None else "Capacity per cycle")
    ax_cap.legend()
    ax_cap.grid(True, alpha=0.3)

    efficiency = _coulombic_efficiency(df, discharge, charge)
    if efficiency is not None:
        percent = efficiency * 100
        ax_ce.plot(cycle, percent, "o-", color="tab:green", markersize=3)
        _scale_to_bulk(ax_ce, cycle, percent)
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
    ax_ce.set_xlabel(CYCLE_COUNT)
    ax_ce.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_ce.grid(True, alpha=0.3)

    if show:
        plt.show()
    return fig, np.array([ax_cap, ax_ce], dtype=object)


def _coulombic_efficiency(
    df: pl.DataFrame, discharge: np.ndarray, charge: np.ndarray | None
) -> np.ndarray | None:
    """The cycles table's ratio, else discharge / charge capacity, else None (not computable)."""
    if COULOMBIC_EFFICIENCY in df.columns:
        return _numpy(df, COULOMBIC_EFFICIENCY)
    if charge is None:
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(charge > 0, discharge / charge, np.nan)


def efficiency_outliers(percent: Any) -> np.ndarray:
    """Mask of the efficiencies (in %) far from the bulk of the cycles.

    Far means more than five robust standard deviations (1.4826 x the median absolute
    deviation) from the median, and never within :data:`OUTLIER_MIN_SPREAD_PCT` points of it,
    so steady cycling with tiny scatter has no outliers. NaN is never an outlier.
    """
    values = np.asarray(percent, dtype=float)
    finite = values[np.isfinite(values)]
    if finite.size < 3:
        return np.zeros(values.shape, dtype=bool)
    median = float(np.median(finite))
    spread = max(5 * 1.4826 * float(np.median(np.abs(finite - median))), OUTLIER_MIN_SPREAD_PCT)
    with np.errstate(invalid="ignore"):
        far = np.abs(values - median) > spread
    return np.asarray(np.isfinite(values) & far, dtype=bool)


def _scale_to_bulk(ax: Axes, cycle: np.ndarray, percent: np.ndarray) -> None:
    """Limit the efficiency axis to the bulk of the cycles; mark each outlier at the edge."""
    outliers = efficiency_outliers(percent)
    bulk = percent[np.isfinite(percent) & ~outliers]
    if bulk.size == 0:
        return
    low, high = float(bulk.min()), float(bulk.max())
    pad = max(0.15 * (high - low), 0.05)
    low, high = low - pad, high + pad
    ax.set_ylim(low, high)
    for x, value in zip(cycle[outliers], percent[outliers], strict=True):
        below = value < low
        edge = low if below else high
        ax.plot(x, edge, "v" if below else "^", color="tab:red", markersize=7, clip_on=False)
        ax.annotate(
            f"cycle {x:g}: {value:.1f} % (off scale)",
            xy=(x, edge),
            xytext=(6, 6 if below else -12),
            textcoords="offset points",
            color="tab:red",
            fontsize=8,
            annotation_clip=False,
        )


def _cycle_column(df: pl.DataFrame, steps: Any) -> pl.Series:
    """Cycle number of every row: from the time series, else from the steps table, else 0."""
    if CYCLE_COUNT in df.columns:
        return df[CYCLE_COUNT]
    if steps is not None:
        table = to_polars(steps)
        if {START_INDEX, CYCLE_COUNT} <= set(table.columns):
            starts = (
                table.select(
                    pl.col(START_INDEX).cast(pl.Int64).alias("__row"),
                    pl.col(CYCLE_COUNT).cast(pl.Int64),
                )
                .drop_nulls()
                .sort("__row")
            )
            rows = pl.DataFrame({"__row": pl.int_range(0, df.height, eager=True, dtype=pl.Int64)})
            joined = rows.join_asof(starts, on="__row", strategy="backward")
            return joined[CYCLE_COUNT].fill_null(strategy="backward").fill_null(0)
    return pl.repeat(0, df.height, eager=True, dtype=pl.Int64).alias(CYCLE_COUNT)


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


def _chosen_cycles(available: list[int], cycles: Sequence[int] | None) -> list[int]:
    """The cycles to draw: as asked (all must exist), else first, middle and last."""
    if cycles is None:
        middle = available[len(available) // 2 : len(available) // 2 + 1]
        return list(dict.fromkeys(available[:1] + middle + available[-1:]))
    chosen = list(cycles)
    unknown = [c for c in chosen if c not in set(available)]
    if unknown:
        raise IonworksError(
            f"Cycle(s) {unknown} not in the data; available cycles are "
            f"{available[0]} to {available[-1]}."
            if available
            else f"Cycle(s) {unknown} not in the data, which has no cycles."
        )
    return chosen


_Branch = tuple[Any, int, str, np.ndarray, np.ndarray]
"""One line to draw: (color, cycle, line style, capacities, voltages)."""


def _branches(
    df: pl.DataFrame, colored_cycles: list[tuple[Any, int]], max_points: int
) -> list[_Branch]:
    """Discharge (solid) and charge (dashed) lines of each cycle, decimated; rests are left out.

    Collected before drawing so the capacity unit (mA.h or A.h) is chosen once for all lines.
    """
    branches: list[_Branch] = []
    for color, cycle in colored_cycles:
        rows = df.filter(pl.col("__cycle") == cycle)
        for branch, sign, style in (("__discharge", 1.0, "-"), ("__charge", -1.0, "--")):
            part = rows.filter(pl.col(CURRENT).cast(pl.Float64) * sign > 0)
            if not part.is_empty():
                xs, ys = decimate_minmax(_numpy(part, branch), _numpy(part, VOLTAGE), max_points)
                branches.append((color, cycle, style, xs, ys))
    return branches


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
    discharge branch, negative current the charge branch; rests are skipped. Capacity is in
    mA.h when every drawn value is below 1 A.h. Cycles come from
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
    chosen = _chosen_cycles(df["__cycle"].drop_nulls().unique().sort().to_list(), cycles)
    df = df.with_columns(
        _cumulative_capacity(df, DISCHARGE_CAPACITY, 1.0).alias("__discharge"),
        _cumulative_capacity(df, CHARGE_CAPACITY, -1.0).alias("__charge"),
    )

    fig, ax = plt.subplots(figsize=(8, 5.5), layout="constrained")
    colors = plt.get_cmap("viridis")(np.linspace(0.0, 0.9, max(len(chosen), 1)))
    branches = _branches(df, list(zip(colors, chosen, strict=False)), max_points)
    factor, prefix = _milli_scale(*(xs for *_, xs, _ in branches))
    labelled: set[int] = set()
    for color, cycle, style, xs, ys in branches:
        label = None if cycle in labelled else f"Cycle {cycle}"  # one legend entry per cycle
        labelled.add(cycle)
        ax.plot(xs * factor, ys, linestyle=style, color=color, linewidth=1.2, label=label)
    ax.set_xlabel(f"Capacity [{prefix}A.h]")
    ax.set_ylabel(VOLTAGE)
    ax.set_title("Voltage vs capacity (solid: discharge, dashed: charge)")
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend()

    if show:
        plt.show()
    return fig, ax
