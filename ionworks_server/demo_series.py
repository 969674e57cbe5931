"""Cycler-style time series from the cell model: :func:`simulate_cycling` and :func:`long_series`.

A CC-CV cycling protocol is run on :mod:`ionworks_server.demo_cell`'s model, step by step, and
the steps are joined into one frame with the columns a cycler export has (names from
:mod:`ionworks.data.columns`), measurement noise, and per-step cumulative capacities and
energies. Everything is a pure function of its arguments (seeded ``numpy.random.Generator``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from ionworks.data.columns import (
    CHARGE_CAPACITY,
    CHARGE_ENERGY,
    CURRENT,
    CYCLE_COUNT,
    CYCLE_FROM_CYCLER,
    DISCHARGE_CAPACITY,
    DISCHARGE_ENERGY,
    STEP_COUNT,
    STEP_FROM_CYCLER,
    TEMPERATURE,
    TIME,
    VOLTAGE,
)

from .demo_cell import (
    Cell,
    Chemistry,
    FloatArray,
    State,
    Step,
    chemistry_model,
    constant_current,
    constant_voltage,
    rest,
)

__all__ = ["AMBIENT_DEGC", "long_series", "simulate_cycling"]

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


@dataclass(frozen=True)
class _Test:
    """One simulated test: the keyword arguments of :func:`simulate_cycling` and more."""

    capacity_ah: float
    n_cycles: int
    seed: int
    sample_period_s: float
    fade_per_cycle: float
    c_rate: float
    with_temperature: bool
    chemistry: str
    initial_rest_s: float
    coulombic_efficiency: float = 0.998
    first_cycle_efficiency: float | None = None
    prior_cycles: int = 0
    cell_seed: int | None = None
    max_rows: int | None = None  # stop adding cycles once this many rows are simulated

    def check(self) -> None:
        """Refuse parameters the model cannot run, naming them."""
        if (
            self.capacity_ah <= 0
            or self.sample_period_s <= 0
            or self.c_rate <= 0
            or self.n_cycles < 0
            or self.prior_cycles < 0
        ):
            raise ValueError(
                "capacity_ah, sample_period_s and c_rate must be positive, n_cycles and"
                " prior_cycles >= 0"
            )
        for name, value in (
            ("coulombic_efficiency", self.coulombic_efficiency),
            ("first_cycle_efficiency", self.first_cycle_efficiency),
        ):
            if value is not None and not 0.5 <= value <= 1.0:
                raise ValueError(f"{name} is a ratio between 0.5 and 1, got {value}")


@dataclass(frozen=True)
class _CellDraw:
    """The parameters that make one cell differ from another of the same spec."""

    r0: float
    r1: float
    tau1: float
    tau_diffusion: float


def _draw_cell(test: _Test, cell_rng: np.random.Generator) -> tuple[_CellDraw, State]:
    """Per-cell variation and the starting state, so two seeds give visibly different cells."""
    # The order of the draws is part of the demo data: changing it changes every series.
    r0 = 0.08 / test.capacity_ah * cell_rng.uniform(0.9, 1.1)
    r1 = 0.04 / test.capacity_ah * cell_rng.uniform(0.9, 1.1)
    tau1 = 60.0 * cell_rng.uniform(0.8, 1.2)
    state = State(soc=0.95 + 0.05 * cell_rng.uniform(), v1=0.0, lag=0.0, theta=0.0)
    tau_diffusion = 420.0 * cell_rng.uniform(0.8, 1.2)
    return _CellDraw(r0, r1, tau1, tau_diffusion), state


def _aged(test: _Test, chem: Chemistry, draw: _CellDraw, n: int) -> Cell:
    """The cell in cycle ``n`` of this test: less capacity, more resistance."""
    age = test.prior_cycles + n
    growth = 1.0 + 2.5 * test.fade_per_cycle * age
    efficiency = test.coulombic_efficiency
    if n == 0 and test.first_cycle_efficiency is not None:
        efficiency = test.first_cycle_efficiency
    return Cell(
        chem,
        test.capacity_ah * (1.0 - test.fade_per_cycle) ** age,
        draw.r0 * growth,
        draw.r1 * growth,
        draw.tau1,
        draw.tau_diffusion,
        efficiency,
        15.0 * test.capacity_ah,
        900.0,
    )


def _run_protocol(test: _Test, chem: Chemistry, draw: _CellDraw, state: State) -> list[Step]:
    """The initial rest, then CC charge, CV hold, rest, CC discharge, rest per cycle."""
    dt = test.sample_period_s
    # The cell arrives discharged from full at this test's rate and rested, as a cycler leaves
    # it at the end of a test: so the first charge starts where every later discharge ends, and
    # cycle 0's efficiency is not skewed by where it started.
    base = _aged(test, chem, draw, 0)
    constant_current(base, state, test.c_rate * test.capacity_ah, dt, 0, 0)
    rest(base, state, 4 * 3600.0, 60.0, 0, 0)

    steps = [rest(base, state, test.initial_rest_s, dt, _INITIAL_REST, 1)]
    rows = 0
    for n in range(test.n_cycles):
        if test.max_rows is not None and rows >= test.max_rows:
            break
        cell = _aged(test, chem, draw, n)
        rate_a = test.c_rate * test.capacity_ah
        cycle = n + 1
        cycle_steps = [
            constant_current(cell, state, -rate_a, dt, _CC_CHARGE, cycle),
            constant_voltage(cell, state, -rate_a, test.capacity_ah / 20.0, dt, _CV_CHARGE, cycle),
            rest(cell, state, 1800.0, dt, _REST_AFTER_CHARGE, cycle),
            constant_current(cell, state, rate_a, dt, _CC_DISCHARGE, cycle),
            rest(cell, state, 1800.0, dt, _REST_AFTER_DISCHARGE, cycle),
        ]
        steps.extend(cycle_steps)
        rows += sum(s.t.size for s in cycle_steps)
    return steps


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


def _frame(
    steps: list[Step], rng: np.random.Generator, capacity_ah: float, with_temperature: bool
) -> pl.DataFrame:
    """Join the steps into one cycler-style frame, with measurement noise from ``rng``."""
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

    columns: dict[str, Any] = {TIME: time, CURRENT: current, VOLTAGE: voltage}
    if with_temperature:
        theta = np.concatenate([s.theta for s in steps])
        columns[TEMPERATURE] = AMBIENT_DEGC + theta + rng.normal(0.0, 0.02, n_rows)

    def per_step(values: list[int]) -> npt.NDArray[np.int64]:
        return np.repeat(np.array(values, dtype=np.int64), lengths)

    def cumulative(values: FloatArray) -> FloatArray:
        return _cumulative_per_step(np.clip(values, 0.0, None), time, starts, lengths)

    columns |= {
        STEP_COUNT: np.repeat(np.arange(len(steps), dtype=np.int64), lengths),
        CYCLE_COUNT: per_step([s.cycle - 1 for s in steps]),
        DISCHARGE_CAPACITY: cumulative(current),
        CHARGE_CAPACITY: cumulative(-current),
        DISCHARGE_ENERGY: cumulative(power),
        CHARGE_ENERGY: cumulative(-power),
        STEP_FROM_CYCLER: per_step([s.program_step for s in steps]),
        CYCLE_FROM_CYCLER: per_step([s.cycle for s in steps]),
    }
    return pl.DataFrame(columns)


def _simulate(test: _Test) -> pl.DataFrame:
    """Run ``test`` and return its series (see :func:`simulate_cycling`)."""
    test.check()
    chem = chemistry_model(test.chemistry)
    rng = np.random.default_rng(test.seed)
    # Tests of one cell share a cell_seed, so they describe the same cell.
    cell_rng = rng if test.cell_seed is None else np.random.default_rng(test.cell_seed)
    draw, state = _draw_cell(test, cell_rng)
    steps = _run_protocol(test, chem, draw, state)
    return _frame(steps, rng, test.capacity_ah, test.with_temperature)


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
        _Test(
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
        test = _Test(
            n_cycles=n_rows // 500 + 2,  # upper bound; generation stops once n_rows is reached
            initial_rest_s=600.0 + extra_samples * dt,
            max_rows=n_rows,
            **params,
        )
        ts = _simulate(test).head(n_rows)
        steps = ts.get_column(STEP_COUNT)
        if n_rows < 2 or steps[-1] == steps[-2]:
            return ts
    return ts
