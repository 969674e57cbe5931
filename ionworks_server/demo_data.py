"""Deterministic synthetic battery data for the demo database, tests and benchmarks.

The parts, one module each:

* :mod:`ionworks_server.demo_cell`: the physical cell model (OCV per chemistry, resistance and
  an RC pair, solid diffusion, side reactions, heat), every step solved in closed form.
* :mod:`ionworks_server.demo_series`: :func:`simulate_cycling` and :func:`long_series`, the
  model run through a CC-CV protocol into a cycler-style time series.
* :mod:`ionworks_server.demo_plans`: the plan dataclasses (:class:`DemoCatalog`,
  :class:`SpecPlan`, ...) and the catalogue's vocabulary.
* :mod:`ionworks_server.demo_catalog`: :func:`demo_catalog`, what the demo database holds.

This module gathers their public names, so callers need one import. Everything is a pure
function of its arguments (seeded ``numpy.random.Generator`` / ``random.Random``); no database,
files or clocks are involved.
"""

from __future__ import annotations

from .demo_catalog import demo_catalog
from .demo_plans import (
    DEMO_PROJECT_ID,
    N_SPECS,
    NAMED_SPEC,
    DemoCatalog,
    InstancePlan,
    MeasurementPlan,
    SpecPlan,
)
from .demo_series import AMBIENT_DEGC, long_series, simulate_cycling

__all__ = [
    "AMBIENT_DEGC",
    "DEMO_PROJECT_ID",
    "NAMED_SPEC",
    "N_SPECS",
    "DemoCatalog",
    "InstancePlan",
    "MeasurementPlan",
    "SpecPlan",
    "demo_catalog",
    "long_series",
    "simulate_cycling",
]
