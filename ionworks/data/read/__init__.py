"""Read cycler files into the standard time series (columns and units of :mod:`ionworks.data.columns`).

``time_series(path)`` detects the format from the file's content and returns seconds from the
start, current in A (positive on discharge), voltage in V, per-step capacities and energies,
power, step and cycle counts, and the cycler's own step and cycle numbers as
``Step from cycler``/``Cycle from cycler``. Reader names follow ionworksdata's (``"maccor"``,
``"neware"``, ``"arbin"``, ...) so code switches by changing an import. Several reads of one
file (the series, then its start time) share one parse inside ``with opened(path) as f:``.
"""

from __future__ import annotations

from ._api import (
    READERS,
    Opened,
    detect_reader,
    eis,
    metadata,
    opened,
    start_time,
    time_series,
    time_series_and_steps,
)
from ._errors import ReaderError, UnknownFormat

__all__ = [
    "READERS",
    "Opened",
    "ReaderError",
    "UnknownFormat",
    "detect_reader",
    "eis",
    "metadata",
    "opened",
    "start_time",
    "time_series",
    "time_series_and_steps",
]
