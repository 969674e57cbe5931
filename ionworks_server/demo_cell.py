"""The physical model behind the demo's time series: one cell, one step at a time, in closed form.

An OCV(SOC) curve per chemistry, a series resistance plus one RC pair, a particle surface that
lags the bulk state of charge (so the voltage relaxes over minutes after each step), charge lost
to side reactions while charging and a lumped thermal model. Every step (rest, constant current
to a cut-off voltage, constant-voltage hold) is solved over its whole time grid with numpy, so
:mod:`ionworks_server.demo_series` can simulate a 1,000,000-row series in a few seconds.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import numpy as np
import numpy.typing as npt

__all__ = [
    "CHEMISTRIES",
    "Cell",
    "Chemistry",
    "FloatArray",
    "State",
    "Step",
    "chemistry_model",
    "constant_current",
    "constant_voltage",
    "rest",
]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Chemistry:
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


CHEMISTRIES: dict[str, Chemistry] = {
    "NMC": Chemistry(2.7, 4.2, 3.45, 0.55, 0.15, 0.70, 0.06, 0.03, 0.03),
    "NCA": Chemistry(2.7, 4.2, 3.40, 0.60, 0.15, 0.75, 0.06, 0.03, 0.03),
    "LCO": Chemistry(3.0, 4.2, 3.75, 0.30, 0.10, 0.90, 0.05, 0.03, 0.03),
    "LMO": Chemistry(3.0, 4.2, 3.70, 0.35, 0.10, 0.80, 0.05, 0.04, 0.03),
    "LFP": Chemistry(2.5, 3.65, 3.30, 0.05, 0.00, 0.80, 0.04, 0.25, 0.03),
}


def chemistry_model(name: str) -> Chemistry:
    """Map a chemistry label (``"NMC"``, ``"NCM811"``, ``"LFP"``, ...) to its model."""
    key = name.upper().replace("-", "").replace(" ", "")
    if key.startswith("NCM"):
        key = "NMC"
    for known in CHEMISTRIES:
        if key.startswith(known):
            return CHEMISTRIES[known]
    raise ValueError(
        f"unknown chemistry {name!r}; use one of {', '.join(sorted(CHEMISTRIES))} "
        "(NCM622, NCM811, ... are read as NMC)"
    )


@dataclass(frozen=True)
class Cell:
    """Lumped parameters of one cycle (capacity, resistances and diffusion age between cycles).

    ``tau_diffusion`` is the time constant of solid-state diffusion: the particle surface lags
    the bulk state of charge by ``I * tau_diffusion / (3600 * capacity)`` under load, and the
    gap closes exponentially at rest. Near empty or full, where the OCV curve is steep, that lag
    is what makes a real cell's voltage relax by hundreds of millivolts over minutes after a
    step ends. ``charge_efficiency`` is the share of charging current stored as recoverable
    charge; the rest goes to side reactions (SEI growth), which is why coulombic efficiency is
    below 100 %, far below in the formation cycle.
    """

    chem: Chemistry
    capacity_ah: float
    r0: float
    r1: float
    tau1: float
    tau_diffusion: float  # s
    charge_efficiency: float
    heat_capacity: float  # J/K
    tau_thermal: float  # s


@dataclass
class State:
    soc: float  # bulk state of charge
    v1: float  # RC-pair overpotential [V]
    lag: float  # bulk minus particle-surface state of charge
    theta: float  # temperature above ambient [K]


@dataclass
class Step:
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

    def voltage(self, cell: Cell) -> FloatArray:
        """Terminal voltage: OCV at the particle surface minus the ohmic and RC drops."""
        return cell.chem.ocv(self.soc - self.lag) - self.current * cell.r0 - self.v1

    def save(self, state: State) -> None:
        """Carry the end of this step over as the start of the next."""
        state.soc, state.v1 = float(self.soc[-1]), float(self.v1[-1])
        state.lag, state.theta = float(self.lag[-1]), float(self.theta[-1])


def _first_order(x0: float, gain: float, rate: float, lam: float, t: FloatArray) -> FloatArray:
    """Solution of ``x' = gain * exp(-lam t) - rate * x`` with ``x(0) = x0`` (``rate != lam``)."""
    e_rate = np.exp(-rate * t)
    out: FloatArray = x0 * e_rate + gain * (np.exp(-lam * t) - e_rate) / (rate - lam)
    return out


def _response(cell: Cell, state: State, t: FloatArray, i0: float, lam: float) -> _Response:
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


def rest(cell: Cell, state: State, duration: float, dt: float, step: int, cycle: int) -> Step:
    """Open circuit: the RC pair discharges and the surface catches up with the bulk."""
    t = _grid(duration, dt)
    r = _response(cell, state, t, 0.0, 0.0)
    r.save(state)
    return Step(t, r.current, r.voltage(cell), r.theta, step, cycle)


def constant_current(
    cell: Cell, state: State, current_a: float, dt: float, step: int, cycle: int
) -> Step:
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
    return Step(t, r.current, r.voltage(cell), r.theta, step, cycle)


def constant_voltage(
    cell: Cell, state: State, i_start: float, i_cutoff: float, dt: float, step: int, cycle: int
) -> Step:
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
    return Step(t, r.current, np.full_like(t, cell.chem.v_max), r.theta, step, cycle)


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
