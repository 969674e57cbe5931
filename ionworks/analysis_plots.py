"""Plots of :mod:`ionworks.data.analysis` results: dQ/dV by cycle, pulse resistance against
state of charge, capacity retention with its knee.

As :mod:`ionworks.plotting`: matplotlib is imported inside the functions (importing the client
never pays for it), the backend is never changed here, nothing is shown unless ``show=True``,
and each function returns ``(fig, ax)`` so the caller can restyle or save. Each accepts the
frame the matching analysis function returns (or, for fade, the cycles table itself).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from ionworks._dataframe import to_polars
from ionworks.data.analysis import (
    DISCHARGED,
    DQDV,
    DVDQ,
    FADE_COLUMNS,
    R0,
    capacity_fade,
    capacity_retention,
    find_peaks,
)
from ionworks.data.columns import CAPACITY, CAPACITY_RETENTION, CYCLE_COUNT, VOLTAGE
from ionworks.errors import IonworksError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_capacity_fade", "plot_dqdv", "plot_pulse_resistance"]

MAX_CURVES = 12
"""dQ/dV curves drawn at most; more cycles are thinned evenly (first and last always kept)."""


def _axes(ax: Axes | None, size: tuple[float, float] = (8, 5)) -> tuple[Figure, Axes]:
    import matplotlib.pyplot as plt

    if ax is not None:
        return ax.get_figure(), ax  # type: ignore[return-value]
    fig, new = plt.subplots(figsize=size, layout="constrained")
    return fig, new


def _cell_keys(frame: pl.DataFrame, used: set[str]) -> list[str]:
    """The columns naming a cell (``measurement_id`` ...): strings not among the data columns."""
    return [c for c in frame.columns if c not in used and frame.schema[c] == pl.String]


def plot_dqdv(
    curve: Any,
    *,
    cycles: list[int] | None = None,
    peaks: bool = True,
    ax: Axes | None = None,
    title: str | None = None,
    show: bool = False,
) -> tuple[Figure, Axes]:
    """Overlay the dQ/dV (or dV/dQ) curves of :func:`~ionworks.data.analysis.dqdv`, coloured by
    cycle (viridis, early cycles dark), peaks marked. At most :data:`MAX_CURVES` cycles unless
    ``cycles`` picks them."""
    frame = to_polars(curve)
    x_name, y_name = (VOLTAGE, DQDV) if DQDV in frame.columns else (CAPACITY, DVDQ)
    if y_name not in frame.columns:
        raise IonworksError(
            f"plot_dqdv takes the frame dqdv() or dvdq() returned (a {DQDV!r} column)."
        )
    import matplotlib as mpl

    has_cycle = CYCLE_COUNT in frame.columns
    chosen = sorted(frame.get_column(CYCLE_COUNT).unique().to_list()) if has_cycle else [None]
    if cycles is not None:
        chosen = [c for c in chosen if c in set(cycles)]
        if not chosen:
            raise IonworksError(f"plot_dqdv: none of cycles={cycles} is in the curve.")
    elif len(chosen) > MAX_CURVES:
        chosen = [chosen[int(i)] for i in np.linspace(0, len(chosen) - 1, MAX_CURVES).round()]
    fig, ax = _axes(ax)
    cmap = mpl.colormaps["viridis"]
    low, high = (min(chosen), max(chosen)) if has_cycle else (0, 1)
    norm = mpl.colors.Normalize(low, high if high > low else low + 1)
    found = find_peaks(frame) if peaks else None
    for cycle in chosen:
        part = frame.filter(pl.col(CYCLE_COUNT) == cycle) if has_cycle else frame
        colour = cmap(norm(cycle if cycle is not None else 0))
        keys = _cell_keys(part, {x_name, y_name, "Direction"})
        for line in part.partition_by(keys, maintain_order=True) if keys else [part]:
            ax.plot(line[x_name], line[y_name], color=colour, linewidth=1.2)
        if found is not None:
            hits = found.filter(pl.col(CYCLE_COUNT) == cycle) if has_cycle else found
            ax.plot(hits[x_name], hits[y_name], "v", color=colour, markersize=5)
    if has_cycle and len(chosen) > 1:
        fig.colorbar(mpl.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, label=CYCLE_COUNT)
    direction = frame.get_column("Direction")[0] if "Direction" in frame.columns else ""
    ax.set_xlabel(x_name)
    ax.set_ylabel(y_name)
    what = "Incremental capacity" if y_name == DQDV else "Differential voltage"
    ax.set_title(title if title is not None else f"{what}, {direction}".rstrip(", "))
    ax.grid(True, alpha=0.3)
    if show:
        import matplotlib.pyplot as plt

        plt.show()
    return fig, ax


def plot_pulse_resistance(
    table: Any, *, ax: Axes | None = None, title: str | None = None, show: bool = False
) -> tuple[Figure, Axes]:
    """R0 and R at 1/10/30 s of :func:`~ionworks.data.analysis.pulse_resistance` against SOC
    (in %; against charge drawn since full, else time, when SOC is unknown), in mΩ (Ω when the
    median R0 is 1 Ω or more).
    Discharge pulses are filled markers, charge pulses open ones."""
    frame = to_polars(table)
    if R0 not in frame.columns:
        raise IonworksError("plot_pulse_resistance takes the frame pulse_resistance() returned.")
    if "SOC" in frame.columns and frame.get_column("SOC").drop_nulls().len():
        x, label = frame.get_column("SOC").cast(pl.Float64).to_numpy() * 100, "State of charge [%]"
    elif DISCHARGED in frame.columns and frame.get_column(DISCHARGED).drop_nulls().len():
        x, label = frame.get_column(DISCHARGED).cast(pl.Float64).to_numpy(), DISCHARGED
    else:
        x, label = frame.get_column("Start time [s]").to_numpy() / 3600, "Pulse start [h]"
    fig, ax = _axes(ax)
    discharge = frame.get_column("Pulse current [A]").to_numpy() > 0
    names = [R0, *(c for c in frame.columns if c.startswith("R ") and c.endswith("s [Ohm]"))]
    r0 = frame.get_column(R0).cast(pl.Float64).drop_nans().drop_nulls()
    factor, unit = (1000.0, "mΩ") if r0.len() == 0 or abs(float(r0.median())) < 1 else (1.0, "Ω")  # type: ignore[arg-type]
    for name, colour in zip(
        names, ("black", "tab:blue", "tab:orange", "tab:red", "tab:purple"), strict=False
    ):
        values = frame.get_column(name).cast(pl.Float64).to_numpy() * factor
        text = name.replace(" [Ohm]", "")
        ax.plot(x[discharge], values[discharge], "o", color=colour, label=f"{text} discharge")
        if (~discharge).any():
            ax.plot(
                x[~discharge],
                values[~discharge],
                "o",
                mfc="none",
                color=colour,
                label=f"{text} charge",
            )
    ax.set_xlabel(label)
    ax.set_ylabel(f"Resistance [{unit}]")
    ax.set_title(title if title is not None else "Pulse resistance")
    ax.legend(fontsize="small", ncols=2)
    ax.grid(True, alpha=0.3)
    if show:
        import matplotlib.pyplot as plt

        plt.show()
    return fig, ax


def plot_capacity_fade(
    cycles: Any,
    *,
    threshold: float = 0.8,
    reference_cycle: int | None = None,
    ax: Axes | None = None,
    title: str | None = None,
    show: bool = False,
) -> tuple[Figure, Axes]:
    """Retention (%) against cycle for one cell or every cell of a fleet cycles table, the knee
    of each marked (×), the threshold drawn and its crossing marked (○)."""
    frame = to_polars(cycles) if not isinstance(cycles, pl.LazyFrame) else cycles.collect()
    retention = capacity_retention(frame, reference_cycle=reference_cycle)
    summary = capacity_fade(frame, threshold=threshold, reference_cycle=reference_cycle)
    keys = [c for c in summary.columns if c not in FADE_COLUMNS]
    fig, ax = _axes(ax)
    cells = (
        retention.partition_by(keys, as_dict=True, maintain_order=True) if keys else {(): retention}
    )
    for (key, part), row in zip(cells.items(), summary.iter_rows(named=True), strict=True):
        x = part.get_column(CYCLE_COUNT).to_numpy()
        y = part.get_column(CAPACITY_RETENTION).to_numpy() * 100
        label = str(key[0]) if key else None
        (line,) = ax.plot(x, y, "-", linewidth=1.2, label=label)
        knee = row["Knee cycle"]
        if knee is not None:
            ax.plot(
                [knee], [np.interp(knee, x, y)], "x", color=line.get_color(), markersize=10, mew=2
            )
        crossing = row["Threshold cycle"]
        if crossing is not None:
            ax.plot(
                [crossing], [threshold * 100], "o", mfc="none", color=line.get_color(), markersize=8
            )
    ax.axhline(threshold * 100, color="grey", linestyle="--", linewidth=1)
    ax.set_xlabel(CYCLE_COUNT)
    ax.set_ylabel("Capacity retention [%]")
    ax.set_title(title if title is not None else "Capacity fade (× knee, ○ threshold crossing)")
    if keys and len(cells) <= 12:
        ax.legend(fontsize="small")
    ax.grid(True, alpha=0.3)
    if show:
        import matplotlib.pyplot as plt

        plt.show()
    return fig, ax
