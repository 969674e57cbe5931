"""Analysis engineers run right after reading data back: dQ/dV and dV/dQ with their peaks,
resistance from current pulses, capacity fade with its knee; one cell or a fleet.

Pure functions on polars frames (pandas frames are converted), numpy for the signal work; each
accepts the LazyFrame of ``ionworks.scan(...)`` and works per ``measurement_id``. Methods and
their parameters are documented in the modules: :mod:`.incremental`, :mod:`.pulses`,
:mod:`.fade`.
"""

from __future__ import annotations

from .fade import FADE_COLUMNS, capacity_fade, capacity_retention, knee_point
from .incremental import DIRECTION, DQDV, DVDQ, dqdv, dvdq
from .peaks import find_peaks
from .pulses import DISCHARGED, R0, pulse_resistance, resistance_column

__all__ = [
    "DIRECTION",
    "DISCHARGED",
    "DQDV",
    "DVDQ",
    "FADE_COLUMNS",
    "R0",
    "capacity_fade",
    "capacity_retention",
    "dqdv",
    "dvdq",
    "find_peaks",
    "knee_point",
    "pulse_resistance",
    "resistance_column",
]
