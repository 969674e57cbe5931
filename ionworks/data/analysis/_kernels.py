"""The compiled dQ/dV kernels when numba is installed (the ``analysis`` extra), else ``None``.

numba is imported here on the first dQ/dV call, never at ``import ionworks`` (it takes a
few hundred milliseconds), and the kernels are compiled then, or loaded from numba's disk cache.
Any failure (numba missing, too old or too new for this numpy, a compile error,
``NUMBA_DISABLE_JIT``) leaves ``None`` and one debug log line: the numpy path, the reference
the kernels are tested against, runs instead. Arguments go in as read-only contiguous arrays,
so every call has the types the first call compiled (no second compile mid-run).
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ._frames import Array

IntArray = npt.NDArray[np.int64]
_MOST = int(np.iinfo(np.int64).max)

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Intervals:
    """What :func:`Kernels.read_intervals` found: the kept intervals (charge, voltages at the
    start and the end) and, per
    kept segment, its first interval, the row its labels are read at, its voltage range."""

    dq: Array
    v0: Array
    v1: Array
    starts: IntArray
    rows: IntArray
    low: Array
    high: Array
    first_row: int
    last_row: int


class Kernels:
    """Typed entry points to the numba functions of :mod:`._jit`."""

    def __init__(self, module: Any) -> None:
        self._module = module

    def read_intervals(
        self,
        columns: tuple[Array, Array, Array],
        labels: tuple[IntArray, IntArray, IntArray],
        discharge: bool,
        constant_current_only: bool,
        min_points: int,
    ) -> Intervals:
        """``_segments._read``'s intervals of the rows (time, current, voltage columns; the
        cell, cycle and step labels, empty when absent) in one pass."""
        found = self._module.read_intervals(
            *(_frozen(c, np.float64) for c in columns),
            *(_frozen(c, np.int64) for c in labels),
            discharge,
            constant_current_only,
            min(int(min_points), _MOST),  # a count never exceeds it; an int64 for numba
        )
        dq, v0, v1, segments, kept, first_row, last_row = found
        starts, rows, low, high = (values[:kept].copy() for values in segments)
        return Intervals(dq, v0, v1, starts, rows, low, high, int(first_row), int(last_row))

    def part_curve(
        self,
        ends: tuple[Array, Array, Array],
        segments: tuple[IntArray, IntArray, IntArray, Array],
        resolution: float,
        kernel: Array,
        out: tuple[Array, Array],
    ) -> None:
        """``incremental._part_curve``: the intervals (two voltages, charge), the segments
        (starts, first bins, bin counts, grid shifts), written to ``out`` (curve, volts)."""
        starts, first, bins, shift = segments
        self._module.part_curve(
            *(_frozen(e, np.float64) for e in ends),
            _frozen(starts, np.int64),
            _frozen(first, np.int64),
            _frozen(bins, np.int64),
            _frozen(shift, np.float64),
            float(resolution),
            _frozen(kernel, np.float64),
            *out,
        )


def _frozen(values: Any, dtype: type) -> Any:
    """A read-only contiguous view (a copy only when the dtype or layout differs)."""
    array: npt.NDArray[Any] = np.ascontiguousarray(values, dtype=dtype)
    view = array.view()
    view.flags.writeable = False
    return view


_LOADED: list[Kernels | None] = []
_LOCK = threading.Lock()


def _forget_loading() -> None:
    """In a forked child: a lock held at the fork stays held (the thread loading the kernels is
    not there, and numba's compiler lock may be held by it too), so a child forked mid-load
    takes the numpy path, with a fresh lock."""
    global _LOCK
    if not _LOADED and _LOCK.locked():
        _LOADED.append(None)
    _LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_forget_loading)


def compiled() -> Kernels | None:
    """The kernels, loaded (and compiled, or read from numba's cache) on the first call;
    ``None`` when numba cannot give them."""
    if not _LOADED:
        with _LOCK:
            if not _LOADED:
                _LOADED.append(_load())
    return _LOADED[0]


def _load() -> Kernels | None:
    try:
        from . import _jit  # imports numba

        if _jit.DISABLED:  # NUMBA_DISABLE_JIT: the kernels would run as Python, far slower
            _log.debug("dQ/dV: NUMBA_DISABLE_JIT is set; using the numpy path")
            return None
        kernels = Kernels(_jit)
        _warm(kernels)
    except Exception as exc:  # ImportError, numba's typing or lowering errors, OSError
        _log.debug(
            "dQ/dV: numba kernels unavailable (%s: %s); using the numpy path",
            type(exc).__name__,
            exc,
        )
        return None
    return kernels


def _warm(kernels: Kernels) -> None:
    """Call both kernels once on a tiny series (the types every later call has), so a failure
    to compile shows here, not halfway through a user's call."""
    t = np.arange(4.0)
    found = kernels.read_intervals(
        (t, np.ones(4), np.array([3.5, 3.4, 3.3, 3.2])),
        (np.zeros(0, np.int64), np.zeros(4, np.int64), np.zeros(4, np.int64)),
        discharge=True,
        constant_current_only=True,
        min_points=1,
    )
    first = np.floor(found.low / 0.01).astype(np.int64)
    bins = np.floor(found.high / 0.01).astype(np.int64) - first + 1
    kernel = np.array([0.25, 0.5, 0.25])
    shift = (1 - first).astype(np.float64)
    curve, volts = np.empty(int(bins.sum())), np.empty(int(bins.sum()))
    ends = (found.v0, found.v1, found.dq)
    kernels.part_curve(ends, (found.starts, first, bins, shift), 0.01, kernel, (curve, volts))
