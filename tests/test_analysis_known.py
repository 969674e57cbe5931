"""Known-answer tests of ionworks.data.analysis: inputs built so the true answer is known.

Each builder is a small physical model: an open-circuit voltage made of logistic plateaus at
known voltages, a series resistance plus one RC branch for pulses, a fade curve linear to a known
knee and steeper after it. Tolerances are the ones issue 17 states.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import polars as pl
import pytest

from ionworks.data.analysis import (
    DQDV,
    R0,
    _kernels,
    capacity_fade,
    dqdv,
    find_peaks,
    pulse_resistance,
    resistance_column,
)

PLATEAUS = (3.45, 3.62, 3.95)
WEIGHTS = (0.3, 0.3, 0.25)
SPREAD_V = 0.012
CAPACITY_AH = 2.0
QUANTUM_V = 0.5e-3
NOISE_V = 0.3e-3
R_SERIES = 0.025
R_RC, TAU_S = 0.015, 20.0

_V_GRID = np.linspace(2.9, 4.3, 400_001)


def discharged_at(volts: np.ndarray) -> np.ndarray:
    """Charge drawn from full (A.h) when the open-circuit voltage is ``volts``."""
    plateaus = sum(
        w / (1.0 + np.exp((volts - p) / SPREAD_V)) for p, w in zip(PLATEAUS, WEIGHTS, strict=True)
    )
    return CAPACITY_AH * (plateaus + 0.15 * (4.2 - volts) / 1.2)


_Q_GRID = discharged_at(_V_GRID)[::-1]  # increasing with charge drawn


def ocv(drawn_ah: np.ndarray) -> np.ndarray:
    return np.asarray(np.interp(drawn_ah, _Q_GRID, _V_GRID[::-1]))


def quantised(volts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.round((volts + rng.normal(0.0, NOISE_V, volts.size)) / QUANTUM_V) * QUANTUM_V


def slow_discharge(current_a: float = CAPACITY_AH / 20) -> pl.DataFrame:
    """A C/20 discharge through the plateaus, 1 s samples, 0.5 mV quantisation and noise."""
    rng = np.random.default_rng(17)
    end = discharged_at(np.array([3.05]))[0]
    t = np.arange(0.0, end / current_a * 3600.0, 1.0)
    volts = ocv(current_a * t / 3600.0) - current_a * (R_SERIES + R_RC)
    return pl.DataFrame(
        {
            "Time [s]": t,
            "Current [A]": np.full(t.size, current_a),
            "Voltage [V]": quantised(volts, rng),
            "Step count": np.zeros(t.size, dtype=np.int64),
            "Cycle count": np.zeros(t.size, dtype=np.int64),
        }
    )


@pytest.fixture(params=["compiled", "numpy"])
def dqdv_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """dQ/dV's two paths: the numba kernels (the 'analysis' extra) and the numpy reference
    they fall back to; the known answers hold on both."""
    if request.param == "numpy":
        monkeypatch.setattr(_kernels, "_LOADED", [None])
    elif _kernels.compiled() is None:
        pytest.skip("numba (the 'analysis' extra) is not installed")
    return str(request.param)


@pytest.mark.usefixtures("dqdv_path")
def test_dqdv_peaks_at_the_plateau_voltages_within_5_mV() -> None:
    series = slow_discharge()
    curve = dqdv(series)
    peaks = find_peaks(curve).sort("Voltage [V]")
    # The series is at C/20 through R_SERIES + R_RC: each plateau appears shifted by I*R.
    shift = CAPACITY_AH / 20 * (R_SERIES + R_RC)
    found = peaks.get_column("Voltage [V]").to_numpy() + shift
    assert found.size == len(PLATEAUS), peaks
    assert np.abs(found - np.array(PLATEAUS)).max() < 0.005, (found, PLATEAUS)
    # The curve's integral is the charge drawn: no quantisation spike added or lost charge.
    drawn = series.height / 3600.0 * CAPACITY_AH / 20
    spacing = float(curve.get_column("Voltage [V]").diff().median())  # type: ignore[arg-type]
    assert abs(float(curve.get_column(DQDV).sum()) * spacing - drawn) < 0.002 * drawn


@pytest.mark.usefixtures("dqdv_path")
def test_dqdv_peak_heights_and_widths_are_those_of_the_smoothed_curve() -> None:
    """The true dQ/dV is -d(discharged_at)/dV; smoothed by the same Gaussian (5 mV), each
    plateau's peak has a known height and full width at half height (44 mV for 12 mV spread)."""
    grid = np.arange(3.0, 4.2, 1e-5)
    true = -np.gradient(discharged_at(grid), grid)
    offsets = np.arange(-2000, 2001) * 1e-5  # +-4 standard deviations of 5 mV
    kernel = np.exp(-0.5 * (offsets / 0.005) ** 2)
    smoothed = np.convolve(true, kernel / kernel.sum(), "same")
    peaks = find_peaks(dqdv(slow_discharge())).sort("Voltage [V]")
    for plateau, row in zip(PLATEAUS, peaks.iter_rows(named=True), strict=True):
        near = (grid > plateau - 0.08) & (grid < plateau + 0.08)
        y = smoothed[near]
        above = grid[near][y > (y.max() + y.min()) / 2]
        assert row[DQDV] == pytest.approx(y.max(), rel=0.02), (plateau, row)
        assert row["Width [V]"] == pytest.approx(above[-1] - above[0], rel=0.05), (plateau, row)


@pytest.mark.usefixtures("dqdv_path")
def test_naive_difference_quotient_spikes_where_dqdv_does_not() -> None:
    """Why the histogram method: diff(Q)/diff(V) on quantised data divides by zero."""
    series = slow_discharge()
    q = series.get_column("Time [s]").to_numpy() * CAPACITY_AH / 20 / 3600
    dv = np.diff(series.get_column("Voltage [V]").to_numpy())
    assert (dv == 0).mean() > 0.3  # most steps of a quantised slow discharge are flat
    with np.errstate(divide="ignore", invalid="ignore"):
        naive = np.abs(np.diff(q) / dv)
    assert not np.isfinite(naive).all()
    curve = dqdv(series).get_column(DQDV).to_numpy()
    assert np.isfinite(curve).all() and curve.max() < 20  # the true peaks are about 12 A.h/V


def pulse_train(rng_seed: int = 5) -> tuple[pl.DataFrame, list[float]]:
    """A charge to full, then at each plateau's centre a 2 A, 60 s discharge pulse after a long
    rest, with 1 A discharges in between; one RC branch. Returns the series and the state of
    charge (true) at each pulse."""
    rng = np.random.default_rng(rng_seed)
    plan: list[tuple[float, float]] = [(-1.0, 72.0), (0.0, 1800.0)]  # (current A, seconds)
    socs = []
    drawn = 0.02
    for plateau in PLATEAUS[::-1]:
        target = float(discharged_at(np.array([plateau]))[0])
        plan += [(1.0, (target - (drawn - 0.02)) * 3600.0), (0.0, 1800.0), (2.0, 60.0)]
        plan.append((0.0, 1800.0))
        socs.append(1.0 - target / CAPACITY_AH)
        drawn = target + 2.0 * 60 / 3600 + 0.02
    times, currents, volts, steps = [], [], [], []
    t0, q, u = 0.0, 0.02, 0.0  # start 0.02 A.h below full, RC relaxed
    for number, (current, duration) in enumerate(plan):
        # The step's first sample 10 ms after the edge, as a cycler logs a step start, then 1 s.
        offsets = np.concatenate([[0.01], np.arange(1.0, duration, 1.0)])
        u_t = current * R_RC + (u - current * R_RC) * np.exp(-offsets / TAU_S)
        q_t = q + current * offsets / 3600.0
        times.append(t0 + offsets)
        currents.append(np.full(offsets.size, current))
        volts.append(ocv(q_t) - current * R_SERIES - u_t)
        steps.append(np.full(offsets.size, number))
        t0 += duration
        q += current * duration / 3600.0
        u = current * R_RC + (u - current * R_RC) * math.exp(-duration / TAU_S)
    series = pl.DataFrame(
        {
            "Time [s]": np.concatenate(times),
            "Current [A]": np.concatenate(currents),
            "Voltage [V]": quantised(np.concatenate(volts), rng),
            "Step count": np.concatenate(steps).astype(np.int64),
        }
    )
    return series, socs


def test_pulse_resistance_recovers_r0_and_r10_of_the_circuit() -> None:
    series, socs = pulse_train()
    table = pulse_resistance(series, capacity_ah=CAPACITY_AH)
    pulses = table.filter(pl.col("Pulse current [A]") == 2.0)
    assert pulses.height == len(PLATEAUS), table
    r10_true = R_SERIES + R_RC * (1 - math.exp(-10.0 / TAU_S))
    for row, soc in zip(pulses.iter_rows(named=True), socs, strict=True):
        assert abs(row[R0] - R_SERIES) < 0.02 * R_SERIES, row
        assert abs(row[resistance_column(10)] - r10_true) < 0.03 * r10_true, row
        assert abs(row["SOC"] - soc) < 0.01, (row, soc)
    # every step that starts a current from rest is a pulse (the 1 A discharges too); rests not
    assert table.height == 2 * len(PLATEAUS)
    assert (table.get_column("Pulse current [A]") > 0).all()


def fade_curve(knee: int = 600, cycles: int = 1000) -> pl.DataFrame:
    """Retention linear at 1 %/100 cycles to ``knee``, then 6 %/100 cycles; noise 0.01 % (a
    cycler's capacity resolution: larger noise on the reference cycle alone moves the 80 %
    crossing by more than a cycle, whatever the method)."""
    rng = np.random.default_rng(3)
    c = np.arange(cycles)
    retention = np.where(c <= knee, 1 - 1e-4 * c, 1 - 1e-4 * knee - 6e-4 * (c - knee))
    capacity = 5.0 * (retention + rng.normal(0.0, 1e-4, cycles))
    return pl.DataFrame({"Cycle count": c, "Discharge capacity [A.h]": capacity})


def true_crossing(knee: int = 600) -> float:
    return knee + (1 - 1e-4 * knee - 0.8) / 6e-4


def test_capacity_fade_finds_the_knee_and_the_80_percent_crossing() -> None:
    summary = capacity_fade(fade_curve()).row(0, named=True)
    assert abs(summary["Knee cycle"] - 600) <= 0.05 * 600, summary
    assert abs(summary["Threshold cycle"] - true_crossing()) <= 1.0, summary
    assert abs(summary["Fade before knee [%/100 cycles]"] - 1.0) < 0.1, summary
    assert abs(summary["Fade after knee [%/100 cycles]"] - 6.0) < 0.2, summary


def test_capacity_fade_says_none_when_not_crossed_and_no_knee_on_a_line() -> None:
    c = np.arange(300)
    line = pl.DataFrame({"Cycle count": c, "Discharge capacity [A.h]": 5.0 * (1 - 2e-4 * c)})
    summary = capacity_fade(line).row(0, named=True)
    assert summary["Threshold cycle"] is None
    assert summary["Knee cycle"] is None
    assert summary["Fade rate [%/100 cycles]"] == pytest.approx(2.0)


def test_fade_rate_is_the_exact_least_squares_slope() -> None:
    # The slope of retention on cycle, in exact rational arithmetic: the fade rate is within
    # 1e-15 of it (np.polyfit, used before, was off by up to 7e-15 on such curves).
    for knee in (300, 450, 600, 750, 900):
        cells = fade_curve(knee=knee)
        x = [Fraction(int(v)) for v in cells.get_column("Cycle count")]
        y = cells.get_column("Discharge capacity [A.h]").to_numpy()
        r = [Fraction(float(v)) for v in y / y[0]]  # the retention capacity_fade computes
        mx, mr = sum(x) / len(x), sum(r) / len(r)
        slope = sum((a - mx) * (b - mr) for a, b in zip(x, r, strict=True)) / sum(
            (a - mx) ** 2 for a in x
        )
        rate = capacity_fade(cells).item(0, "Fade rate [%/100 cycles]")
        assert rate == pytest.approx(-float(slope) * 1e4, rel=1e-15, abs=0), knee
