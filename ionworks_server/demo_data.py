"""Deterministic synthetic battery data for the demo database, tests and benchmarks.

Two kinds of things live here:

* :func:`simulate_cycling` / :func:`long_series` produce time series that look like a cycler
  export (wire facts §11.2 column names) from a small physical model: an OCV(SOC) curve per
  chemistry, a series resistance plus one RC pair, a particle surface that lags the bulk state
  of charge (so the voltage relaxes over minutes after each step), charge lost to side
  reactions (coulombic efficiency below 1, far below in a formation cycle), capacity fade per
  cycle and a lumped thermal model. Every step is solved in closed form over its whole time
  grid with numpy, so a 1,000,000-row series takes a few seconds.
* :func:`demo_catalog` is the plan of what the demo database holds (specs, instances and
  measurements with their metadata). Measurements carry generator parameters rather than frames,
  so building the catalog is cheap and the seeding code simulates only what it stores.

Everything is a pure function of its arguments (seeded ``numpy.random.Generator`` /
``random.Random``); no database, files or clocks are involved.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import polars as pl

__all__ = [
    "DEMO_PROJECT_ID",
    "DemoCatalog",
    "InstancePlan",
    "MeasurementPlan",
    "SpecPlan",
    "demo_catalog",
    "long_series",
    "simulate_cycling",
]

FloatArray = npt.NDArray[np.float64]

AMBIENT_DEGC = 25.0

# Cycler program step numbers ("Step from cycler") of the simulated protocol.
_INITIAL_REST, _CC_CHARGE, _CV_CHARGE, _REST_AFTER_CHARGE, _CC_DISCHARGE, _REST_AFTER_DISCHARGE = (
    1,
    2,
    3,
    4,
    5,
    6,
)


# --------------------------------------------------------------------------------------------
# Cell model
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Chemistry:
    """Voltage window and OCV shape ``a + b s + c s^2 - d exp(-s/e1) + f exp((s-1)/e2)``.

    The two exponential tails make the curve fall steeply below 0 % and rise steeply above
    100 % SOC, so CC steps always reach their cut-off voltage.
    """

    v_min: float
    v_max: float
    a: float
    b: float
    c: float
    d: float
    e1: float
    f: float
    e2: float

    def ocv(self, soc: FloatArray) -> FloatArray:
        s = np.clip(soc, -0.3, 1.3)
        return np.asarray(
            self.a
            + self.b * s
            + self.c * s * s
            - self.d * np.exp(-s / self.e1)
            + self.f * np.exp((s - 1.0) / self.e2),
            dtype=np.float64,
        )

    def slope(self, soc: float) -> float:
        """dOCV/dSOC, used to size the exponential current decay of the CV hold."""
        h = 1e-4
        lo, hi = self.ocv(np.array([soc - h, soc + h]))
        return float(max((hi - lo) / (2 * h), 0.05))


_CHEMISTRIES: dict[str, _Chemistry] = {
    "NMC": _Chemistry(2.7, 4.2, 3.45, 0.55, 0.15, 0.70, 0.06, 0.03, 0.03),
    "NCA": _Chemistry(2.7, 4.2, 3.40, 0.60, 0.15, 0.75, 0.06, 0.03, 0.03),
    "LCO": _Chemistry(3.0, 4.2, 3.75, 0.30, 0.10, 0.90, 0.05, 0.03, 0.03),
    "LMO": _Chemistry(3.0, 4.2, 3.70, 0.35, 0.10, 0.80, 0.05, 0.04, 0.03),
    "LFP": _Chemistry(2.5, 3.65, 3.30, 0.05, 0.00, 0.80, 0.04, 0.25, 0.03),
}


def _chemistry(name: str) -> _Chemistry:
    """Map a chemistry label (``"NMC"``, ``"NCM811"``, ``"LFP"``, ...) to its model."""
    key = name.upper().replace("-", "").replace(" ", "")
    if key.startswith("NCM"):
        key = "NMC"
    for known in _CHEMISTRIES:
        if key.startswith(known):
            return _CHEMISTRIES[known]
    raise ValueError(
        f"unknown chemistry {name!r}; use one of {', '.join(sorted(_CHEMISTRIES))} "
        "(NCM622, NCM811, ... are read as NMC)"
    )


@dataclass(frozen=True)
class _Cell:
    """Lumped parameters of one cycle (capacity, resistances and diffusion age between cycles).

    ``tau_diffusion`` is the time constant of solid-state diffusion: the particle surface lags
    the bulk state of charge by ``I * tau_diffusion / (3600 * capacity)`` under load, and the
    gap closes exponentially at rest. Near empty or full, where the OCV curve is steep, that lag
    is what makes a real cell's voltage relax by hundreds of millivolts over minutes after a
    step ends. ``charge_efficiency`` is the share of charging current stored as recoverable
    charge; the rest goes to side reactions (SEI growth), which is why coulombic efficiency is
    below 100 %, far below in the formation cycle.
    """

    chem: _Chemistry
    capacity_ah: float
    r0: float
    r1: float
    tau1: float
    tau_diffusion: float  # s
    charge_efficiency: float
    heat_capacity: float  # J/K
    tau_thermal: float  # s


@dataclass
class _State:
    soc: float  # bulk state of charge
    v1: float  # RC-pair overpotential [V]
    lag: float  # bulk minus particle-surface state of charge
    theta: float  # temperature above ambient [K]


@dataclass
class _Step:
    """One simulated step: times relative to its start and the noise-free signals."""

    t: FloatArray
    current: FloatArray
    voltage: FloatArray
    theta: FloatArray
    program_step: int
    cycle: int


@dataclass
class _Response:
    """The cell's signals on a step's time grid (see :func:`_response`)."""

    current: FloatArray
    soc: FloatArray
    v1: FloatArray
    lag: FloatArray
    theta: FloatArray

    def voltage(self, cell: _Cell) -> FloatArray:
        """Terminal voltage: OCV at the particle surface minus the ohmic and RC drops."""
        return cell.chem.ocv(self.soc - self.lag) - self.current * cell.r0 - self.v1

    def save(self, state: _State) -> None:
        """Carry the end of this step over as the start of the next."""
        state.soc, state.v1 = float(self.soc[-1]), float(self.v1[-1])
        state.lag, state.theta = float(self.lag[-1]), float(self.theta[-1])


def _first_order(x0: float, gain: float, rate: float, lam: float, t: FloatArray) -> FloatArray:
    """Solution of ``x' = gain * exp(-lam t) - rate * x`` with ``x(0) = x0`` (``rate != lam``)."""
    e_rate = np.exp(-rate * t)
    out: FloatArray = x0 * e_rate + gain * (np.exp(-lam * t) - e_rate) / (rate - lam)
    return out


def _response(cell: _Cell, state: _State, t: FloatArray, i0: float, lam: float) -> _Response:
    """Closed-form solution for a current ``i0 * exp(-lam t)`` (``lam = 0``: constant current).

    Positive current discharges. While charging only ``charge_efficiency`` of the current is
    stored; the RC pair and the heat see all of it.
    """
    rates = (1.0 / cell.tau1, 1.0 / cell.tau_diffusion, 1.0 / cell.tau_thermal / 2)
    # Keep the closed forms away from their removable singularities.
    for rate in rates:
        if abs(rate - lam) < 1e-9:
            lam *= 1.001
    stored = i0 * (cell.charge_efficiency if i0 < 0 else 1.0)
    decay = np.exp(-lam * t)
    current = i0 * decay
    moved = stored * t if lam == 0 else stored * (1.0 - decay) / lam  # A.s since step start
    coulombs = 3600.0 * cell.capacity_ah
    soc = state.soc - moved / coulombs
    v1 = _first_order(state.v1, i0 * cell.r1 / cell.tau1, 1.0 / cell.tau1, lam, t)
    lag = _first_order(state.lag, stored / coulombs, 1.0 / cell.tau_diffusion, lam, t)
    heat = (cell.r0 + cell.r1) * i0 * i0 / cell.heat_capacity
    theta = _first_order(state.theta, heat, 1.0 / cell.tau_thermal, 2 * lam, t)
    return _Response(current, soc, v1, lag, theta)


def _grid(duration: float, dt: float) -> FloatArray:
    """Sample times 0, dt, 2dt, ... plus the exact end time (so steps share boundary times)."""
    n = math.floor(duration / dt + 1e-9)
    t = np.arange(n + 1, dtype=np.float64) * dt
    if duration - t[-1] > 1e-6:
        t = np.append(t, duration)
    return t


def _rest(cell: _Cell, state: _State, duration: float, dt: float, step: int, cycle: int) -> _Step:
    """Open circuit: the RC pair discharges and the surface catches up with the bulk."""
    t = _grid(duration, dt)
    r = _response(cell, state, t, 0.0, 0.0)
    r.save(state)
    return _Step(t, r.current, r.voltage(cell), r.theta, step, cycle)


def _constant_current(
    cell: _Cell, state: _State, current_a: float, dt: float, step: int, cycle: int
) -> _Step:
    """Constant current (positive = discharge) until the chemistry's cut-off voltage."""
    charging = current_a < 0
    soc_span = (1.08 - state.soc) if charging else (state.soc + 0.08)
    efficiency = cell.charge_efficiency if charging else 1.0
    t_max = max(soc_span, 0.02) * 3600.0 * cell.capacity_ah / abs(current_a * efficiency)
    t = _grid(t_max, dt)
    v = _response(cell, state, t, current_a, 0.0).voltage(cell)
    limit = cell.chem.v_max if charging else cell.chem.v_min
    crossed = v >= limit if charging else v <= limit
    hits = np.flatnonzero(crossed)
    if hits.size == 0:
        end = float(t[-1])
    elif hits[0] == 0:
        end = float(t[1]) if t.size > 1 else dt  # keep at least two samples per step
    else:
        k = int(hits[0])
        frac = (limit - v[k - 1]) / (v[k] - v[k - 1])
        end = float(t[k - 1] + frac * (t[k] - t[k - 1]))
    t = _grid(end, dt)
    r = _response(cell, state, t, current_a, 0.0)
    r.save(state)
    return _Step(t, r.current, r.voltage(cell), r.theta, step, cycle)


def _constant_voltage(
    cell: _Cell, state: _State, i_start: float, i_cutoff: float, dt: float, step: int, cycle: int
) -> _Step:
    """CV hold at ``v_max``; the current decays exponentially from ``i_start`` to ``i_cutoff``.

    The decay time is solved for (:func:`_increasing_root`) so that the model's own terminal voltage is exactly
    ``v_max`` when the current reaches the cut-off: the hold ends where a real one would, and
    the rest that follows starts just below ``v_max`` and relaxes downwards, never upwards.
    """
    i0, i1 = abs(i_start), min(abs(i_cutoff), 0.5 * abs(i_start))
    sign = math.copysign(1.0, i_start)
    log_ratio = math.log(i0 / i1)

    def excess(log_tau: float) -> float:
        tau = math.exp(log_tau)
        # A numpy scalar broadcasts like a one-sample grid at a quarter of the cost.
        end = cast(FloatArray, np.float64(tau * log_ratio))
        return (
            float(_response(cell, state, end, i_start, 1.0 / tau).voltage(cell)) - cell.chem.v_max
        )

    # The charge passed is tau * (i0 - i1): from next to nothing up to the whole capacity.
    high = math.log(3600.0 * cell.capacity_ah / (i0 - i1))
    tau = math.exp(_increasing_root(excess, math.log(1e-3), high))
    t = _grid(max(tau * log_ratio, dt), dt)
    r = _response(cell, state, t, sign * i0, 1.0 / tau)
    r.save(state)
    return _Step(t, r.current, np.full_like(t, cell.chem.v_max), r.theta, step, cycle)


def _increasing_root(f: Callable[[float], float], low: float, high: float) -> float:
    """Where ``f`` turns from negative to positive in ``[low, high]`` (an end if it never does).

    Bisection while the bracket is wide (``f`` may be wildly curved there: the OCV's steep tail),
    then regula falsi with the Illinois step, which needs a handful of evaluations where
    bisection would need dozens; every simulated cycle solves one of these.
    """
    f_low, f_high = f(low), f(high)
    if f_low >= 0 or f_high <= 0:
        return low if f_low >= 0 else high
    while high - low > 0.05:
        middle = 0.5 * (low + high)
        f_middle = f(middle)
        if f_middle > 0:
            high, f_high = middle, f_middle
        else:
            low, f_low = middle, f_middle
    x, side = low, 0
    for _ in range(50):
        x = high - f_high * (high - low) / (f_high - f_low)
        fx = f(x)
        if abs(fx) < 1e-7:
            break
        if fx > 0:
            high, f_high = x, fx
            f_low = f_low / 2 if side == -1 else f_low
            side = -1
        else:
            low, f_low = x, fx
            f_high = f_high / 2 if side == 1 else f_high
            side = 1
    return x


def _cumulative_per_step(
    values: FloatArray, time: FloatArray, starts: npt.NDArray[np.bool_], lengths: npt.NDArray[Any]
) -> FloatArray:
    """Trapezoidal running integral of ``values`` [per second] that restarts at 0 on each step."""
    inc = np.zeros_like(values)
    inc[1:] = 0.5 * (values[1:] + values[:-1]) * np.diff(time) / 3600.0
    inc[starts] = 0.0
    total = np.cumsum(inc)
    out: FloatArray = total - np.repeat(total[starts], lengths)
    return out


def _simulate(
    *,
    capacity_ah: float,
    n_cycles: int,
    seed: int,
    sample_period_s: float,
    fade_per_cycle: float,
    c_rate: float,
    with_temperature: bool,
    chemistry: str,
    initial_rest_s: float,
    coulombic_efficiency: float = 0.998,
    first_cycle_efficiency: float | None = None,
    prior_cycles: int = 0,
    cell_seed: int | None = None,
    max_rows: int | None = None,
) -> pl.DataFrame:
    if capacity_ah <= 0 or sample_period_s <= 0 or c_rate <= 0 or n_cycles < 0 or prior_cycles < 0:
        raise ValueError(
            "capacity_ah, sample_period_s and c_rate must be positive, n_cycles and prior_cycles"
            " >= 0"
        )
    for name, value in (
        ("coulombic_efficiency", coulombic_efficiency),
        ("first_cycle_efficiency", first_cycle_efficiency),
    ):
        if value is not None and not 0.5 <= value <= 1.0:
            raise ValueError(f"{name} is a ratio between 0.5 and 1, got {value}")
    chem = _chemistry(chemistry)
    rng = np.random.default_rng(seed)
    # Per-cell variation, so two seeds give visibly different cells (and tests of one cell,
    # sharing a cell_seed, the same cell).
    cell_rng = rng if cell_seed is None else np.random.default_rng(cell_seed)
    r0 = 0.08 / capacity_ah * cell_rng.uniform(0.9, 1.1)
    r1 = 0.04 / capacity_ah * cell_rng.uniform(0.9, 1.1)
    tau1 = 60.0 * cell_rng.uniform(0.8, 1.2)
    state = _State(soc=0.95 + 0.05 * cell_rng.uniform(), v1=0.0, lag=0.0, theta=0.0)
    tau_diffusion = 420.0 * cell_rng.uniform(0.8, 1.2)
    dt = sample_period_s

    def aged(n: int) -> _Cell:
        """The cell in cycle ``n`` of this test: less capacity, more resistance."""
        age = prior_cycles + n
        growth = 1.0 + 2.5 * fade_per_cycle * age
        efficiency = coulombic_efficiency
        if n == 0 and first_cycle_efficiency is not None:
            efficiency = first_cycle_efficiency
        return _Cell(
            chem,
            capacity_ah * (1.0 - fade_per_cycle) ** age,
            r0 * growth,
            r1 * growth,
            tau1,
            tau_diffusion,
            efficiency,
            15.0 * capacity_ah,
            900.0,
        )

    # The cell arrives discharged from full at this test's rate and rested, as a cycler leaves
    # it at the end of a test: so the first charge starts where every later discharge ends, and
    # cycle 0's efficiency is not skewed by where it started.
    base = aged(0)
    _constant_current(base, state, c_rate * capacity_ah, dt, 0, 0)
    _rest(base, state, 4 * 3600.0, 60.0, 0, 0)

    steps: list[_Step] = []
    rows = 0
    steps.append(_rest(base, state, initial_rest_s, dt, _INITIAL_REST, 1))
    for n in range(n_cycles):
        if max_rows is not None and rows >= max_rows:
            break
        cell = aged(n)
        rate_a = c_rate * capacity_ah
        cycle = n + 1
        cycle_steps = [
            _constant_current(cell, state, -rate_a, dt, _CC_CHARGE, cycle),
            _constant_voltage(cell, state, -rate_a, capacity_ah / 20.0, dt, _CV_CHARGE, cycle),
            _rest(cell, state, 1800.0, dt, _REST_AFTER_CHARGE, cycle),
            _constant_current(cell, state, rate_a, dt, _CC_DISCHARGE, cycle),
            _rest(cell, state, 1800.0, dt, _REST_AFTER_DISCHARGE, cycle),
        ]
        steps.extend(cycle_steps)
        rows += sum(s.t.size for s in cycle_steps)

    lengths = np.array([s.t.size for s in steps], dtype=np.int64)
    offsets = np.concatenate(([0.0], np.cumsum([s.t[-1] for s in steps[:-1]])))
    time = np.concatenate([s.t + off for s, off in zip(steps, offsets, strict=True)])
    current = np.concatenate([s.current for s in steps])
    voltage = np.concatenate([s.voltage for s in steps])
    n_rows = time.size
    starts = np.zeros(n_rows, dtype=bool)
    starts[np.cumsum(lengths) - lengths] = True

    # Measurement noise scaled to the cell, small against the classification tolerances
    # (C/200 for current std, 10 mV for voltage std). Rest current is logged as exactly 0.
    moving = current != 0.0
    current = current + moving * rng.normal(0.0, 2e-5 * capacity_ah, n_rows)
    voltage = voltage + rng.normal(0.0, 2e-4, n_rows)
    power = voltage * current

    columns: dict[str, Any] = {
        "Time [s]": time,
        "Current [A]": current,
        "Voltage [V]": voltage,
    }
    if with_temperature:
        theta = np.concatenate([s.theta for s in steps])
        columns["Temperature [degC]"] = AMBIENT_DEGC + theta + rng.normal(0.0, 0.02, n_rows)
    columns |= {
        "Step count": np.repeat(np.arange(len(steps), dtype=np.int64), lengths),
        "Cycle count": np.repeat(np.array([s.cycle - 1 for s in steps], dtype=np.int64), lengths),
        "Discharge capacity [A.h]": _cumulative_per_step(
            np.clip(current, 0.0, None), time, starts, lengths
        ),
        "Charge capacity [A.h]": _cumulative_per_step(
            np.clip(-current, 0.0, None), time, starts, lengths
        ),
        "Discharge energy [W.h]": _cumulative_per_step(
            np.clip(power, 0.0, None), time, starts, lengths
        ),
        "Charge energy [W.h]": _cumulative_per_step(
            np.clip(-power, 0.0, None), time, starts, lengths
        ),
        "Step from cycler": np.repeat(
            np.array([s.program_step for s in steps], dtype=np.int64), lengths
        ),
        "Cycle from cycler": np.repeat(np.array([s.cycle for s in steps], dtype=np.int64), lengths),
    }
    return pl.DataFrame(columns)


def simulate_cycling(
    *,
    capacity_ah: float,
    n_cycles: int,
    seed: int,
    sample_period_s: float = 10.0,
    fade_per_cycle: float = 0.002,
    c_rate: float = 0.5,
    with_temperature: bool = True,
    chemistry: str = "NMC",
    coulombic_efficiency: float = 0.998,
    first_cycle_efficiency: float | None = None,
    prior_cycles: int = 0,
    cell_seed: int | None = None,
) -> pl.DataFrame:
    """Simulate a CC-CV cycling test and return it as a cycler-style time series.

    Protocol: 10 min rest, then per cycle CC charge at ``c_rate`` to the chemistry's maximum
    voltage, CV hold until |I| < C/20, 30 min rest, CC discharge to the minimum voltage, 30 min
    rest. The cell starts discharged (at this rate) and rested. Current is positive on
    discharge.

    What a real cell does and the model reproduces: capacity shrinks by ``fade_per_cycle``
    (relative) each cycle, counting ``prior_cycles`` done in earlier tests, and resistance grows
    with it; only ``coulombic_efficiency`` of the charge is given back on discharge, and
    ``first_cycle_efficiency`` (a formation cycle, typically 0.85-0.92) in cycle 0; after each
    step the voltage relaxes towards the OCV over minutes (solid diffusion), by hundreds of mV
    after a discharge to the cut-off. Deliverable capacity drops with the rate.

    ``seed`` draws the cell's parameters and the measurement noise; with ``cell_seed`` the
    parameters come from that instead, so several tests of one cell describe the same cell.

    Capacity/energy columns are cumulative within each step; ``Cycle count`` is 0-based and
    ``Cycle from cycler`` 1-based (the initial rest belongs to the first cycle). Chemistries:
    NMC (also NCM622/NCM811/...), NCA, LCO, LMO, LFP.
    """
    return _simulate(
        capacity_ah=capacity_ah,
        n_cycles=n_cycles,
        seed=seed,
        sample_period_s=sample_period_s,
        fade_per_cycle=fade_per_cycle,
        c_rate=c_rate,
        with_temperature=with_temperature,
        chemistry=chemistry,
        initial_rest_s=600.0,
        coulombic_efficiency=coulombic_efficiency,
        first_cycle_efficiency=first_cycle_efficiency,
        prior_cycles=prior_cycles,
        cell_seed=cell_seed,
    )


def long_series(n_rows: int, *, seed: int = 0) -> pl.DataFrame:
    """A cycling series of exactly ``n_rows`` rows, for benchmarks and scale tests.

    A 5 A.h NMC cell at C/2 sampled every 10 s (about 1,900 rows and 5 steps per cycle) is
    simulated for as many cycles as needed and cut at ``n_rows``. The cut never leaves a
    one-row step at the end: if it would, the initial rest is one sample longer.
    """
    if n_rows <= 0:
        raise ValueError(f"n_rows must be positive, got {n_rows}")
    dt = 10.0
    params: dict[str, Any] = {
        "capacity_ah": 5.0,
        "seed": seed,
        "sample_period_s": dt,
        "fade_per_cycle": 0.0003,
        "c_rate": 0.5,
        "with_temperature": True,
        "chemistry": "NMC",
    }
    for extra_samples in range(3):
        ts = _simulate(
            n_cycles=n_rows // 500 + 2,  # upper bound; generation stops once n_rows is reached
            initial_rest_s=600.0 + extra_samples * dt,
            max_rows=n_rows,
            **params,
        ).head(n_rows)
        steps = ts.get_column("Step count")
        if n_rows < 2 or steps[-1] == steps[-2]:
            return ts
    return ts


# --------------------------------------------------------------------------------------------
# Demo catalog
# --------------------------------------------------------------------------------------------

DEMO_PROJECT_ID = "proj-demo"

_CATALOG_START = datetime(2026, 1, 1, tzinfo=UTC)
_CATALOG_END = datetime(2026, 5, 31, 23, 59, 59, tzinfo=UTC)

_CREATORS = (
    "jane.doe@example.com",
    "raj.patel@example.com",
    "li.wei@example.com",
    "maria.garcia@example.com",
    "tom.nguyen@example.com",
    "amara.okafor@example.com",
)

# (cathode label, model chemistry, nominal voltage, cathode material id, cathode name)
_CATHODES = (
    ("NCM622", "NMC", 3.65, "mat-ncm622", "LiNi0.6Mn0.2Co0.2O2"),
    ("NCM811", "NMC", 3.65, "mat-ncm811", "LiNi0.8Mn0.1Co0.1O2"),
    ("NCM523", "NMC", 3.6, "mat-ncm523", "LiNi0.5Mn0.3Co0.2O2"),
    ("NCA", "NCA", 3.6, "mat-nca", "LiNi0.8Co0.15Al0.05O2"),
    ("LFP", "LFP", 3.2, "mat-lfp", "LiFePO4"),
    ("LCO", "LCO", 3.7, "mat-lco", "LiCoO2"),
    ("LMO", "LMO", 3.8, "mat-lmo", "LiMn2O4"),
)

# (anode label, material id, weight); graphite dominates, as in real catalogues.
_ANODES = (
    ("Graphite", "mat-graphite", 6),
    ("Si-Graphite", "mat-si-graphite", 2),
    ("Hard Carbon", "mat-hard-carbon", 1),
    ("Li Metal", "mat-li-metal", 1),
)

# (form factor, capacity range [A.h], case material, case name)
_FORM_FACTORS = (
    ("R2032", (0.003, 0.006), "mat-ss316", "Stainless steel 316 coin case"),
    ("R2025", (0.002, 0.004), "mat-ss316", "Stainless steel 316 coin case"),
    ("18650", (2.5, 3.5), "mat-nickel-steel", "Nickel-plated steel can"),
    ("21700", (4.0, 5.5), "mat-nickel-steel", "Nickel-plated steel can"),
    ("4680", (22.0, 26.0), "mat-nickel-steel", "Nickel-plated steel can"),
    ("pouch", (5.0, 60.0), "mat-al-laminate", "Aluminium laminate pouch"),
    ("prismatic", (50.0, 280.0), "mat-aluminium", "Aluminium prismatic can"),
)

_MANUFACTURERS = (
    "Ionworks Labs",
    "Northwind Energy",
    "Voltaic Cells Inc.",
    "Helios Battery Co.",
    "Kestrel Power Systems",
    "Aurora Cellworks",
)

_ELECTROLYTES = (
    ("mat-lipf6-ec-emc", "1 M LiPF6 in EC:EMC 3:7"),
    ("mat-lipf6-ec-dmc", "1 M LiPF6 in EC:DMC 1:1 + 2% VC"),
    ("mat-lifsi-dme", "1 M LiFSI in DME"),
)

_SEPARATORS = (
    ("mat-pe-16", "Polyethylene 16 um"),
    ("mat-pp-pe-pp-25", "PP/PE/PP trilayer 25 um"),
    ("mat-ceramic-pe-12", "Ceramic-coated PE 12 um"),
)

NAMED_SPEC = "NCM622/Graphite Coin Cell"
N_SPECS = 1250


@dataclass(frozen=True)
class MeasurementPlan:
    """One measurement to create; ``sim_params`` are :func:`simulate_cycling` keyword arguments.

    ``measurement_type`` is ``"time_series"`` (with ``sim_params``), ``"properties"`` (with
    ``properties``) or ``"file"`` (with ``files``: basename -> bytes). For time series,
    ``end_time`` is estimated from the protocol; ``start_time`` plus the simulated series' last
    ``Time [s]`` is the exact value if the seeder wants it.
    """

    name: str
    measurement_type: str
    start_time: str | None
    end_time: str | None
    created_at: str
    created_by_email: str
    notes: str | None
    protocol: dict[str, Any] | None
    test_setup: dict[str, Any] | None
    tags: list[str]
    sim_params: dict[str, Any] | None = None
    properties: dict[str, Any] | None = None
    files: dict[str, bytes] | None = None


@dataclass(frozen=True)
class InstancePlan:
    """One physical cell of a spec; ``batch_name`` is the production lot (``batch-A``, ...)."""

    name: str
    batch_name: str | None
    created_at: str
    updated_at: str
    created_by_email: str
    measurements: list[MeasurementPlan] = field(default_factory=list)


@dataclass(frozen=True)
class SpecPlan:
    """One cell specification; :meth:`body` is what a ``POST /cell_specifications`` would send."""

    name: str
    project_id: str
    manufacturer: str
    chemistry: str
    form_factor: str
    ratings: dict[str, Any]
    anode: dict[str, Any]
    cathode: dict[str, Any]
    electrolyte: dict[str, Any]
    separator: dict[str, Any]
    case: dict[str, Any]
    created_at: str
    updated_at: str
    created_by_email: str
    instances: list[InstancePlan] = field(default_factory=list)

    def body(self) -> dict[str, Any]:
        """The spec's own fields (no instances, no timestamps/creator: the server sets those)."""
        return {
            "name": self.name,
            "project_id": self.project_id,
            "manufacturer": self.manufacturer,
            "chemistry": self.chemistry,
            "form_factor": self.form_factor,
            "ratings": self.ratings,
            "anode": self.anode,
            "cathode": self.cathode,
            "electrolyte": self.electrolyte,
            "separator": self.separator,
            "case": self.case,
        }


@dataclass(frozen=True)
class DemoCatalog:
    """Everything the demo database holds, in creation order."""

    project_id: str
    creators: list[str]
    specs: list[SpecPlan]

    def spec(self, name: str) -> SpecPlan:
        """The spec with this exact name (``KeyError`` if there is none)."""
        for spec in self.specs:
            if spec.name == name:
                return spec
        raise KeyError(name)

    @property
    def instances(self) -> list[tuple[SpecPlan, InstancePlan]]:
        """Every (spec, instance) pair, in creation order."""
        return [(s, i) for s in self.specs for i in s.instances]

    @property
    def measurements(self) -> list[tuple[SpecPlan, InstancePlan, MeasurementPlan]]:
        """Every (spec, instance, measurement) triple, in creation order."""
        return [(s, i, m) for s in self.specs for i in s.instances for m in i.measurements]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(iso: str) -> datetime:
    return datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _quantity(value: float, unit: str) -> dict[str, Any]:
    return {"value": value, "unit": unit}


def _spec_plan(
    rnd: random.Random,
    *,
    name: str,
    cathode: tuple[str, str, float, str, str],
    anode: tuple[str, str, int],
    form: tuple[str, tuple[float, float], str, str],
    created_at: datetime,
    creator: str,
    capacity_ah: float | None = None,
) -> SpecPlan:
    label, _, nominal_v, cathode_id, cathode_name = cathode
    anode_label, anode_id, _ = anode
    form_factor, (cap_lo, cap_hi), case_id, case_name = form
    capacity = capacity_ah if capacity_ah is not None else round(rnd.uniform(cap_lo, cap_hi), 4)
    electrolyte_id, electrolyte_name = rnd.choice(_ELECTROLYTES)
    separator_id, separator_name = rnd.choice(_SEPARATORS)
    span = (_CATALOG_END - created_at).total_seconds()
    updated_at = created_at
    if rnd.random() < 0.4:
        updated_at = created_at + timedelta(seconds=int(rnd.uniform(0, span)))
    return SpecPlan(
        name=name,
        project_id=DEMO_PROJECT_ID,
        manufacturer=rnd.choice(_MANUFACTURERS),
        chemistry=f"{label}/{anode_label}",
        form_factor=form_factor,
        ratings={
            "capacity": _quantity(capacity, "A.h"),
            "nominal_voltage": _quantity(nominal_v, "V"),
        },
        anode={
            "material_id": anode_id,
            "name": f"{anode_label} anode",
            "properties": {
                "thickness": _quantity(round(rnd.uniform(40, 90), 1), "um"),
                "porosity": _quantity(round(rnd.uniform(0.25, 0.4), 3), "1"),
            },
        },
        cathode={
            "material_id": cathode_id,
            "name": f"{cathode_name} cathode",
            "properties": {
                "thickness": _quantity(round(rnd.uniform(35, 80), 1), "um"),
                "loading": _quantity(round(rnd.uniform(10, 25), 2), "mg.cm-2"),
            },
        },
        electrolyte={
            "material_id": electrolyte_id,
            "name": electrolyte_name,
            "properties": {"volume": _quantity(round(rnd.uniform(0.05, 0.2), 3), "mL.A-1.h-1")},
        },
        separator={
            "material_id": separator_id,
            "name": separator_name,
            "properties": {"porosity": _quantity(round(rnd.uniform(0.38, 0.5), 3), "1")},
        },
        case={
            "material_id": case_id,
            "name": case_name,
            "properties": {"form_factor": form_factor},
        },
        created_at=_iso(created_at),
        updated_at=_iso(updated_at),
        created_by_email=creator,
    )


def _time_series_plan(
    rnd: random.Random,
    *,
    name: str,
    spec: SpecPlan,
    start: datetime,
    creator: str,
    seed: int,
    target_rows: int,
    c_rate: float,
    sample_period_s: float,
    tags: list[str],
    formation: bool = False,
) -> MeasurementPlan:
    """A cycling measurement sized to roughly ``target_rows`` rows.

    ``formation``: cycle 0 is the cell's first charge ever, which loses 8-14 % of the charge to
    SEI growth (its coulombic efficiency is drawn from a generator of its own, so the catalog's
    other draws stay as they were).
    """
    capacity = float(spec.ratings["capacity"]["value"])
    chemistry = spec.chemistry.split("/")[0]
    # Rows per cycle: charge + CV (~1/c_rate h + ~0.3 h), two 30 min rests, discharge (~0.9/c_rate h).
    seconds_per_cycle = 3600.0 * (1.9 / c_rate + 1.3)
    n_cycles = max(1, min(40, round(target_rows * sample_period_s / seconds_per_cycle)))
    duration = timedelta(seconds=600 + n_cycles * seconds_per_cycle)
    model = _chemistry(chemistry)
    created = start + duration + timedelta(hours=rnd.randint(1, 30))
    fade = round(rnd.uniform(0.001, 0.004), 4)
    notes = f"{n_cycles} CC-CV cycles at C/{1 / c_rate:g}, 25 degC chamber."
    first_cycle: dict[str, float] = {}
    if formation:
        first_cycle["first_cycle_efficiency"] = round(0.86 + 0.05 * random.Random(seed).random(), 4)
        notes = f"Cycle 0 is the formation cycle (first charge). {notes}"
    return MeasurementPlan(
        name=name,
        measurement_type="time_series",
        start_time=_iso(start),
        end_time=_iso(start + duration),
        created_at=_iso(min(created, _CATALOG_END)),
        created_by_email=creator,
        notes=notes,
        protocol={
            "name": f"CCCV {c_rate:g}C cycling",
            "charge": f"CC {c_rate:g}C to {model.v_max} V, CV until C/20",
            "discharge": f"CC {c_rate:g}C to {model.v_min} V",
            "rest_min": 30,
            "cycles": n_cycles,
        },
        test_setup={
            "cycler": rnd.choice(("Maccor 4000", "Biologic BCS-815", "Neware BTS4000")),
            "channel": str(rnd.randint(1, 64)),
            "temperature": _quantity(25.0, "degC"),
            "sample_period": _quantity(sample_period_s, "s"),
        },
        tags=tags,
        sim_params={
            "capacity_ah": capacity,
            "n_cycles": n_cycles,
            "seed": seed,
            "sample_period_s": sample_period_s,
            "fade_per_cycle": fade,
            "c_rate": c_rate,
            "with_temperature": True,
            "chemistry": chemistry,
            # Lithium lost per cycle is most of the fade, so efficiency follows from it.
            "coulombic_efficiency": round(1.0 - 0.8 * fade, 5),
            **first_cycle,
        },
    )


def _one_cell_history(plans: list[MeasurementPlan]) -> list[MeasurementPlan]:
    """The tests of one cell in start order: one cell (parameters, ageing rate), each test
    starting as aged as the previous one left it, so capacity fades across the tests too."""
    ordered = sorted(plans, key=lambda m: m.start_time or "")
    first = ordered[0].sim_params if ordered else None
    done = 0
    out = []
    for plan in ordered:
        assert plan.sim_params is not None and first is not None
        params = {
            **plan.sim_params,
            "cell_seed": first["seed"],
            "fade_per_cycle": first["fade_per_cycle"],
            "coulombic_efficiency": first["coulombic_efficiency"],
            "prior_cycles": done,
        }
        out.append(replace(plan, sim_params=params))
        done += int(plan.sim_params["n_cycles"])
    return out


def _named_spec_instances(rnd: random.Random, spec: SpecPlan, seed: int) -> list[InstancePlan]:
    """The coin cell the documentation uses: batch-A cells with a March test campaign."""
    jane, raj = "jane.doe@example.com", "raj.patel@example.com"
    campaign = [
        # (name, start, c_rate, sample period, target rows)
        ("Formation + 0.5C cycling", datetime(2026, 2, 18, 9, 0, tzinfo=UTC), 0.5, 10.0, 9000),
        ("0.5C cycling run 1", datetime(2026, 3, 3, 10, 30, tzinfo=UTC), 0.5, 10.0, 14000),
        ("1C cycling run 1", datetime(2026, 3, 12, 8, 15, tzinfo=UTC), 1.0, 5.0, 20000),
        ("C/5 cycling", datetime(2026, 3, 24, 14, 0, tzinfo=UTC), 0.2, 30.0, 6000),
        ("0.5C cycling run 2", datetime(2026, 4, 7, 9, 45, tzinfo=UTC), 0.5, 10.0, 28000),
        ("1C cycling run 2", datetime(2026, 4, 21, 11, 0, tzinfo=UTC), 1.0, 10.0, 12000),
    ]
    cell_01 = [
        _time_series_plan(
            rnd,
            name=name,
            spec=spec,
            start=start,
            creator=jane,
            seed=seed * 1000 + k,
            target_rows=rows,
            c_rate=c_rate,
            sample_period_s=dt,
            tags=["cycling", f"{c_rate:g}C", "coin-cell"],
            formation=name.startswith("Formation"),
        )
        for k, (name, start, c_rate, dt, rows) in enumerate(campaign)
    ]
    cell_01 = _one_cell_history(cell_01)
    cell_01 += [
        MeasurementPlan(
            name="Beginning-of-life properties",
            measurement_type="properties",
            start_time="2026-02-16T10:00:00Z",
            end_time="2026-02-16T12:00:00Z",
            created_at="2026-02-16T13:05:00Z",
            created_by_email=jane,
            notes="Measured after formation at 25 degC.",
            protocol=None,
            test_setup={"instrument": "Biologic SP-300"},
            tags=["BOL", "properties"],
            properties={
                "capacity": _quantity(0.0049, "A.h"),
                "internal_resistance": _quantity(11.8, "Ohm"),
                "mass": _quantity(3.21, "g"),
            },
        ),
        MeasurementPlan(
            name="Assembly notes",
            measurement_type="file",
            start_time=None,
            end_time=None,
            created_at="2026-02-13T16:20:00Z",
            created_by_email=jane,
            notes="Glovebox assembly record.",
            protocol=None,
            test_setup=None,
            tags=["assembly"],
            files={
                "assembly_notes.csv": (
                    b"step,parameter,value,unit\n"
                    b"1,cathode_mass,21.4,mg\n"
                    b"2,anode_mass,13.9,mg\n"
                    b"3,electrolyte_volume,60,uL\n"
                    b"4,crimp_pressure,800,psi\n"
                )
            },
        ),
    ]
    cell_01.sort(key=lambda m: m.created_at)
    cell_02 = [
        _time_series_plan(
            rnd,
            name=name,
            spec=spec,
            start=start,
            creator=raj,
            seed=seed * 1000 + 10 + k,
            target_rows=rows,
            c_rate=0.5,
            sample_period_s=10.0,
            tags=["cycling", "0.5C", "coin-cell"],
        )
        for k, (name, start, rows) in enumerate(
            [
                ("0.5C cycling run 1", datetime(2026, 3, 5, 9, 0, tzinfo=UTC), 11000),
                ("0.5C cycling run 2", datetime(2026, 3, 20, 9, 0, tzinfo=UTC), 15000),
                ("0.5C cycling run 3", datetime(2026, 4, 14, 9, 0, tzinfo=UTC), 8000),
            ]
        )
    ]
    batch_b = [
        _time_series_plan(
            rnd,
            name=name,
            spec=spec,
            start=start,
            creator=raj,
            seed=seed * 1000 + 20 + k,
            target_rows=rows,
            c_rate=c_rate,
            sample_period_s=20.0,
            tags=["cycling", f"{c_rate:g}C", "batch-B"],
        )
        for k, (name, start, c_rate, rows) in enumerate(
            [
                ("Rate check 1C", datetime(2026, 4, 2, 13, 0, tzinfo=UTC), 1.0, 5000),
                ("0.5C cycling", datetime(2026, 5, 4, 13, 0, tzinfo=UTC), 0.5, 7000),
            ]
        )
    ]
    return [
        InstancePlan(
            name="batch-A-cell-01",
            batch_name="batch-A",
            created_at="2026-02-12T15:00:00Z",
            updated_at="2026-04-30T10:00:00Z",
            created_by_email=jane,
            measurements=cell_01,
        ),
        InstancePlan(
            name="batch-A-cell-02",
            batch_name="batch-A",
            created_at="2026-02-12T15:05:00Z",
            updated_at="2026-04-22T08:00:00Z",
            created_by_email=raj,
            measurements=_one_cell_history(cell_02),
        ),
        InstancePlan(
            name="batch-B-cell-01",
            batch_name="batch-B",
            created_at="2026-03-28T11:00:00Z",
            updated_at="2026-05-10T12:00:00Z",
            created_by_email=raj,
            measurements=_one_cell_history(batch_b),
        ),
    ]


def _other_instances(
    rnd: random.Random, spec: SpecPlan, index: int, seed: int
) -> list[InstancePlan]:
    """2-5 cells for one of the other tested specs; the first two carry one cycling test each."""
    n_cells = 2 + index % 4
    created = _parse(spec.created_at) + timedelta(days=rnd.randint(1, 6))
    instances: list[InstancePlan] = []
    for k in range(n_cells):
        batch = "batch-A" if k < (n_cells + 1) // 2 else "batch-B"
        creator = rnd.choice(_CREATORS)
        measurements: list[MeasurementPlan] = []
        if k < 2:
            start = created + timedelta(days=rnd.randint(2, 20), hours=rnd.randint(0, 23))
            small = spec.form_factor in ("R2032", "R2025")
            measurements.append(
                _time_series_plan(
                    rnd,
                    name=f"Cycle life {spec.form_factor} #{k + 1}",
                    spec=spec,
                    start=start,
                    creator=creator,
                    seed=seed * 1000 + 100 + index * 10 + k,
                    target_rows=rnd.randint(3000, 26000),
                    c_rate=rnd.choice((0.2, 0.5, 1.0) if small else (0.5, 1.0)),
                    sample_period_s=rnd.choice((10.0, 20.0, 30.0)),
                    tags=["cycle-life", batch],
                )
            )
        number = sum(1 for i in instances if i.batch_name == batch) + 1
        instances.append(
            InstancePlan(
                name=f"{batch}-cell-{number:02d}",
                batch_name=batch,
                created_at=_iso(created + timedelta(minutes=5 * k)),
                updated_at=_iso(created + timedelta(days=rnd.randint(0, 40))),
                created_by_email=creator,
                measurements=measurements,
            )
        )
    return instances


def demo_catalog(seed: int = 7) -> DemoCatalog:
    """The deterministic plan of the demo database (same ``seed``, same catalog).

    1,250 specs in project ``proj-demo`` spread over 2026-01-01..2026-05-31, among them
    ``"NCM622/Graphite Coin Cell"`` (R2032), whose ``batch-A-cell-01`` carries six cycling tests
    (some started in March 2026), a properties and a file measurement. Ten specs have instances;
    the rest have none. About 30 cycling measurements in total, each a few thousand to ~30,000
    rows once simulated.
    """
    rnd = random.Random(seed)
    span = int((_CATALOG_END - _CATALOG_START).total_seconds())
    anode_weights = [a[2] for a in _ANODES]

    named = _spec_plan(
        rnd,
        name=NAMED_SPEC,
        cathode=_CATHODES[0],
        anode=_ANODES[0],
        form=_FORM_FACTORS[0],
        created_at=datetime(2026, 2, 10, 9, 30, tzinfo=UTC),
        creator="jane.doe@example.com",
        capacity_ah=0.0049,
    )
    named = _with_instances(named, _named_spec_instances(rnd, named, seed))

    # Numbers follow creation time, so "#0042" was created before "#0043".
    offsets = sorted(rnd.randint(0, span) for _ in range(N_SPECS - 1))
    specs = [named]
    for k, offset in enumerate(offsets, start=1):
        cathode = rnd.choice(_CATHODES)
        anode = rnd.choices(_ANODES, weights=anode_weights)[0]
        form = _FORM_FACTORS[k % len(_FORM_FACTORS)]
        label = form[0] if form[0][0].isdigit() else form[0].capitalize()
        specs.append(
            _spec_plan(
                rnd,
                name=f"{cathode[0]}/{anode[0]} {label} #{k:04d}",
                cathode=cathode,
                anode=anode,
                form=form,
                created_at=_CATALOG_START + timedelta(seconds=offset),
                creator=rnd.choice(_CREATORS),
            )
        )
    specs.sort(key=lambda spec: spec.created_at)

    # Nine more specs get cells and tests: ones created from mid-January to February (so the
    # tests end before June), one per form factor first, so the demo shows coin, cylindrical,
    # pouch and prismatic data.
    candidates = [
        i
        for i, spec in enumerate(specs)
        if spec.name != NAMED_SPEC and "2026-01-15" <= spec.created_at < "2026-03-01"
    ]
    chosen: list[int] = []
    for form_factor, *_ in _FORM_FACTORS:
        chosen += [i for i in candidates if specs[i].form_factor == form_factor][:1]
    chosen += [i for i in candidates if i not in chosen][: 9 - len(chosen)]
    for n, i in enumerate(sorted(chosen)):
        specs[i] = _with_instances(specs[i], _other_instances(rnd, specs[i], n, seed))
    return DemoCatalog(project_id=DEMO_PROJECT_ID, creators=list(_CREATORS), specs=specs)


def _with_instances(spec: SpecPlan, instances: list[InstancePlan]) -> SpecPlan:
    return replace(spec, instances=instances)
