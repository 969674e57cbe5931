"""Specification of the matplotlib plots: what is drawn, not just that a file appears."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import matplotlib
import numpy as np
import polars as pl
import pytest

from ionworks.errors import IonworksError
from ionworks.plotting import (
    decimate_minmax,
    efficiency_outliers,
    plot_capacity,
    plot_time_series,
    plot_voltage_vs_capacity,
)

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.lines import Line2D


def line_x(line: Line2D) -> np.ndarray:
    return np.asarray(line.get_xdata(), dtype=float)


def line_y(line: Line2D) -> np.ndarray:
    return np.asarray(line.get_ydata(), dtype=float)


def legend_labels(ax: Axes) -> list[str]:
    legend = ax.get_legend()
    assert legend is not None
    return [text.get_text() for text in legend.get_texts()]


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


def short_series(n: int = 100, temperature: bool = False) -> pl.DataFrame:
    t = np.arange(n, dtype=float)
    df = pl.DataFrame(
        {"Time [s]": t, "Voltage [V]": 4.0 - t / (10 * n), "Current [A]": np.sin(t / 10)}
    )
    return df.with_columns(pl.lit(25.0).alias("Temperature [degC]")) if temperature else df


def cycling(n_cycles: int = 5, per_step: int = 30, dt_s: float = 60.0) -> pl.DataFrame:
    """Each cycle: 1 A discharge, rest, 1 A charge (capacity resets per step)."""
    time: list[float] = []
    current: list[float] = []
    voltage: list[float] = []
    step: list[int] = []
    cycle: list[int] = []
    dis: list[float] = []
    ch: list[float] = []
    k = 0
    for c in range(n_cycles):
        for current_a in (1.0, 0.0, -1.0):
            for j in range(per_step):
                time.append(len(time) * dt_s)
                current.append(current_a)
                voltage.append(3.6 - 0.01 * j if current_a > 0 else 3.4 + 0.01 * j)
                step.append(k)
                cycle.append(c)
                dis.append(max(current_a, 0) * j * dt_s / 3600)
                ch.append(max(-current_a, 0) * j * dt_s / 3600)
            k += 1
    return pl.DataFrame(
        {
            "Time [s]": time,
            "Current [A]": current,
            "Voltage [V]": voltage,
            "Step count": step,
            "Cycle count": cycle,
            "Discharge capacity [A.h]": dis,
            "Charge capacity [A.h]": ch,
        }
    )


# --------------------------------------------------------------------------------------------
# Decimation
# --------------------------------------------------------------------------------------------


def test_decimate_returns_small_series_unchanged() -> None:
    x, y = decimate_minmax([0, 1, 2], [5.0, 6.0, 7.0], 10)
    assert x.tolist() == [0, 1, 2] and y.tolist() == [5.0, 6.0, 7.0]


def test_decimate_keeps_every_bucket_extreme_in_time_order() -> None:
    rng = np.random.default_rng(1)
    y = rng.normal(size=100_003)
    y[12_345], y[99_999] = 50.0, -50.0
    x = np.arange(len(y)) * 0.5
    xs, ys = decimate_minmax(x, y, 1000)
    assert len(xs) <= 1000
    assert ys.max() == 50.0 and ys.min() == -50.0
    assert np.all(np.diff(xs) > 0)
    # every kept point is an original sample
    assert np.array_equal(y[(xs / 0.5).astype(int)], ys)


def test_decimate_ignores_nan_when_picking_extremes() -> None:
    y = np.ones(10_000)
    y[::3] = np.nan
    y[7] = 9.0
    _, ys = decimate_minmax(np.arange(10_000), y, 100)
    assert np.nanmax(ys) == 9.0


def test_decimate_rejects_mismatched_lengths_and_tiny_budgets() -> None:
    with pytest.raises(ValueError, match="same length"):
        decimate_minmax([1, 2], [1.0], 10)
    with pytest.raises(ValueError, match="at least 2"):
        decimate_minmax([1, 2, 3], [1.0, 2.0, 3.0], 1)


# --------------------------------------------------------------------------------------------
# plot_time_series
# --------------------------------------------------------------------------------------------


CURRENT_MA = "Current [mA]\n(+ discharge, - charge)"
CURRENT_A = "Current [A]\n(+ discharge, - charge)"


def test_time_series_plot_has_voltage_and_current_panels_sharing_time(tmp_path: Path) -> None:
    df = short_series()
    fig, axes = plot_time_series(df)
    assert len(axes) == 2 and len(fig.axes) == 2
    assert [ax.get_ylabel() for ax in axes] == ["Voltage [V]", CURRENT_MA]  # |I| < 1 A
    assert axes[-1].get_xlabel() == "Time [s]"
    assert axes[0].get_title() == "Voltage and current over time"
    line = axes[0].lines[0]
    assert np.array_equal(line_x(line), df["Time [s]"].to_numpy())
    assert np.array_equal(line_y(line), df["Voltage [V]"].to_numpy())
    assert line_y(axes[1].lines[0]) == pytest.approx(df["Current [A]"].to_numpy() * 1000)
    assert axes[1].get_shared_x_axes().joined(axes[0], axes[1])
    fig.savefig(tmp_path / "ts.png")
    assert (tmp_path / "ts.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_time_series_plot_adds_a_temperature_panel_only_when_the_column_exists() -> None:
    _, without = plot_time_series(short_series())
    _, with_temperature = plot_time_series(short_series(temperature=True), title="Cell 7")
    assert len(without) == 2
    assert len(with_temperature) == 3
    assert with_temperature[2].get_ylabel() == "Temperature [degC]"
    assert with_temperature[0].get_title() == "Cell 7"


def test_time_series_default_title_names_every_panel_drawn() -> None:
    _, axes = plot_time_series(short_series(temperature=True))
    assert axes[0].get_title() == "Voltage, current and temperature over time"


def test_a_coin_cells_current_is_in_milliamps_and_a_big_cells_in_amps() -> None:
    coin = short_series().with_columns(pl.Series("Current [A]", [0.0025, -0.0025] * 50))
    _, axes = plot_time_series(coin)
    assert axes[1].get_ylabel() == CURRENT_MA
    assert set(line_y(axes[1].lines[0]).round(9)) == {2.5, -2.5}
    big = coin.with_columns(pl.col("Current [A]") * 2000)  # 5 A
    _, axes = plot_time_series(big)
    assert axes[1].get_ylabel() == CURRENT_A
    assert set(line_y(axes[1].lines[0]).round(9)) == {5.0, -5.0}


def test_time_series_longer_than_two_hours_is_plotted_in_hours() -> None:
    df = short_series(100).with_columns(pl.col("Time [s]") * 100)  # 9,900 s
    _, axes = plot_time_series(df)
    assert axes[-1].get_xlabel() == "Time [h]"
    assert line_x(axes[0].lines[0])[-1] == pytest.approx(9900 / 3600)


def test_large_time_series_is_decimated_but_keeps_global_extremes(tmp_path: Path) -> None:
    n = 300_000
    t = np.arange(n, dtype=float)
    voltage = 3.7 + 0.1 * np.sin(t / 1000)
    voltage[123_457] = 4.5  # a one-sample spike
    voltage[222_222] = 2.5
    df = pl.DataFrame({"Time [s]": t, "Voltage [V]": voltage, "Current [A]": np.cos(t / 7)})
    fig, axes = plot_time_series(df, max_points=5000)
    ys = line_y(axes[0].lines[0])
    assert len(ys) <= 5000
    assert ys.max() == 4.5 and ys.min() == 2.5
    current = line_y(axes[1].lines[0])
    assert current.max() == df["Current [A]"].max() and current.min() == df["Current [A]"].min()
    fig.savefig(tmp_path / "big.png")


def test_time_series_plot_draws_into_one_given_axes_with_a_current_twin() -> None:
    fig, ax = plt.subplots()
    out_fig, axes = plot_time_series(short_series(temperature=True), ax=ax)
    assert out_fig is fig and axes[0] is ax
    assert [a.get_ylabel() for a in axes] == ["Voltage [V]", CURRENT_MA]


def test_time_series_plot_rejects_a_wrong_number_of_axes() -> None:
    _, grid = plt.subplots(2, 1)
    with pytest.raises(IonworksError, match="3 panels"):
        plot_time_series(short_series(temperature=True), ax=grid)


def test_time_series_plot_names_missing_columns() -> None:
    with pytest.raises(IonworksError, match="'Current \\[A\\]'"):
        plot_time_series(short_series().drop("Current [A]"))


def test_plots_only_show_when_asked_and_never_change_the_backend(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shown: list[bool] = []
    monkeypatch.setattr(plt, "show", lambda *a, **k: shown.append(True))
    backend = matplotlib.get_backend()
    plot_time_series(short_series())
    plot_capacity(pl.DataFrame({"Cycle count": [0], "Discharge capacity [A.h]": [1.0]}))
    assert shown == []
    plot_time_series(short_series(), show=True)
    assert shown == [True]
    assert matplotlib.get_backend() == backend


# --------------------------------------------------------------------------------------------
# plot_capacity
# --------------------------------------------------------------------------------------------


def test_capacity_plot_shows_capacities_per_cycle_and_efficiency_in_percent() -> None:
    cycles = pl.DataFrame(
        {
            "Cycle count": [2, 0, 1],
            "Discharge capacity [A.h]": [0.9, 1.0, 0.95],
            "Charge capacity [A.h]": [1.0, 1.0, 1.0],
        }
    )
    fig, (ax_cap, ax_ce) = plot_capacity(cycles.to_pandas())
    assert len(fig.axes) == 2
    discharge, charge = ax_cap.lines
    assert line_x(discharge).tolist() == [0, 1, 2]
    assert line_y(discharge).tolist() == [1.0, 0.95, 0.9]
    assert line_y(charge).tolist() == [1.0, 1.0, 1.0]
    assert legend_labels(ax_cap) == ["Discharge", "Charge"]
    assert line_y(ax_ce.lines[0]) == pytest.approx([100.0, 95.0, 90.0])
    assert ax_cap.get_ylabel() == "Capacity [A.h]"
    assert ax_ce.get_ylabel() == "Coulombic efficiency [%]"
    assert ax_ce.get_xlabel() == "Cycle count"


def test_capacity_plot_prefers_the_coulombic_efficiency_column() -> None:
    cycles = pl.DataFrame(
        {
            "Cycle count": [0, 1],
            "Discharge capacity [A.h]": [1.0, 1.0],
            "Charge capacity [A.h]": [1.0, 1.0],
            "Coulombic efficiency": [0.99, 0.98],
        }
    )
    _, axes = plot_capacity(cycles)
    assert line_y(axes[1].lines[0]) == pytest.approx([99.0, 98.0])


def test_a_coin_cells_capacity_is_in_milliamp_hours() -> None:
    cycles = pl.DataFrame(
        {
            "Cycle count": [0, 1, 2],
            "Discharge capacity [A.h]": [0.00475, 0.00474, 0.00473],
            "Charge capacity [A.h]": [0.00476, 0.00475, 0.00474],
        }
    )
    _, (ax_cap, _) = plot_capacity(cycles, title="Formation + 0.5C cycling")
    assert ax_cap.get_ylabel() == "Capacity [mA.h]"
    assert line_y(ax_cap.lines[0]) == pytest.approx([4.75, 4.74, 4.73])
    assert ax_cap.get_title() == "Formation + 0.5C cycling"


def formation_cycles(n: int = 20) -> pl.DataFrame:
    """A formation cycle at 87.6 % and then cycles at 99.85-99.9 %."""
    rng = np.random.default_rng(0)
    efficiency = np.concatenate(([0.876], 0.9985 + 0.0005 * rng.uniform(size=n - 1)))
    discharge = 0.0046 * (1 - 0.001 * np.arange(n))
    return pl.DataFrame(
        {
            "Cycle count": np.arange(n),
            "Discharge capacity [A.h]": discharge,
            "Charge capacity [A.h]": discharge / efficiency,
            "Coulombic efficiency": efficiency,
        }
    )


def test_an_outlier_cycle_does_not_flatten_the_efficiency_axis_and_is_marked() -> None:
    cycles = formation_cycles()
    _, (_, ax_ce) = plot_capacity(cycles)
    low, high = ax_ce.get_ylim()
    bulk = cycles["Coulombic efficiency"][1:].to_numpy() * 100
    assert low <= bulk.min() and high >= bulk.max()
    assert high - low < 1.0  # the bulk fills the axis: its 0.05-point scatter is visible
    assert low > 87.6  # the outlier is off scale ...
    notes = [t.get_text() for t in ax_ce.texts]
    assert notes == ["cycle 0: 87.6 % (off scale)"]  # ... and says so, at the bottom edge
    edge_marker = ax_ce.lines[-1]
    assert line_x(edge_marker).tolist() == [0.0] and line_y(edge_marker).tolist() == [low]
    assert ax_ce.get_ylabel() == "Coulombic efficiency [%]"


def test_efficiency_outliers_ignores_steady_scatter_and_nan() -> None:
    assert not efficiency_outliers([99.8, 99.9, 99.7, 99.85, np.nan]).any()
    assert efficiency_outliers([87.6, 99.9, 99.8, 99.85, np.nan]).tolist() == [
        True,
        False,
        False,
        False,
        False,
    ]
    assert not efficiency_outliers([87.6, 99.9]).any()  # two cycles: no bulk to judge by


def test_capacity_plot_without_charge_capacity_explains_the_missing_efficiency() -> None:
    _, axes = plot_capacity(pl.DataFrame({"Cycle count": [0], "Discharge capacity [A.h]": [1.0]}))
    assert len(axes[0].lines) == 1 and len(axes[1].lines) == 0
    assert "Charge capacity" in axes[1].texts[0].get_text()


# --------------------------------------------------------------------------------------------
# plot_voltage_vs_capacity
# --------------------------------------------------------------------------------------------


def test_voltage_vs_capacity_defaults_to_first_middle_and_last_cycle(tmp_path: Path) -> None:
    fig, ax = plot_voltage_vs_capacity(cycling(n_cycles=5))
    labels = legend_labels(ax)
    assert labels == ["Cycle 0", "Cycle 2", "Cycle 4"]
    assert len(ax.lines) == 6  # a discharge and a charge branch per cycle
    # 0.48 A.h per branch: shown in mA.h
    assert ax.get_xlabel() == "Capacity [mA.h]" and ax.get_ylabel() == "Voltage [V]"
    fig.savefig(tmp_path / "vq.png")


def test_voltage_vs_capacity_branches_follow_cumulative_capacity() -> None:
    _, ax = plot_voltage_vs_capacity(cycling(n_cycles=2), cycles=[1])
    discharge, charge = ax.lines
    assert discharge.get_linestyle() == "-" and charge.get_linestyle() == "--"
    assert np.array_equal(discharge.get_color(), charge.get_color())
    # 29 steps of 60 s at 1 A after the step's first sample, in mA.h
    assert line_x(discharge)[-1] == pytest.approx(29 * 60 / 3.6)
    assert line_y(discharge).tolist() == pytest.approx([3.6 - 0.01 * j for j in range(30)])
    assert line_x(charge)[-1] == pytest.approx(29 * 60 / 3.6)


def test_voltage_vs_capacity_integrates_current_without_capacity_columns() -> None:
    df = cycling(n_cycles=2).drop("Discharge capacity [A.h]", "Charge capacity [A.h]")
    _, ax = plot_voltage_vs_capacity(df, cycles=[0])
    discharge, charge = ax.lines
    assert line_x(discharge)[-1] == pytest.approx(29 * 60 / 3.6)
    assert line_x(charge)[-1] == pytest.approx(29 * 60 / 3.6)


def test_voltage_vs_capacity_of_a_big_cell_stays_in_amp_hours() -> None:
    df = cycling(n_cycles=2).with_columns(
        pl.col("Current [A]") * 10,
        pl.col("Discharge capacity [A.h]") * 10,
        pl.col("Charge capacity [A.h]") * 10,
    )
    _, ax = plot_voltage_vs_capacity(df, cycles=[0])
    assert ax.get_xlabel() == "Capacity [A.h]"
    assert line_x(ax.lines[0])[-1] == pytest.approx(10 * 29 * 60 / 3600)


def test_voltage_vs_capacity_takes_cycles_from_the_steps_table() -> None:
    df = cycling(n_cycles=3)
    steps = (
        df.with_row_index("row")
        .group_by("Step count", maintain_order=True)
        .agg(pl.col("row").first().alias("Start index"), pl.col("Cycle count").first())
    )
    _, ax = plot_voltage_vs_capacity(df.drop("Cycle count"), steps, cycles=[1, 2])
    assert legend_labels(ax) == ["Cycle 1", "Cycle 2"]


def test_voltage_vs_capacity_rejects_unknown_cycles() -> None:
    with pytest.raises(IonworksError, match="available cycles are 0 to 1"):
        plot_voltage_vs_capacity(cycling(n_cycles=2), cycles=[7])
