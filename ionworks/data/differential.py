"""Signal helpers for OCP curves: Savitzky–Golay smoothing, peak finding, dU/dQ cut-offs.

Numpy re-statements of what ionworksdata 0.20.2 takes from scipy (``savgol_filter`` in its
default ``mode="interp"``, ``find_peaks``, linear ``interp1d``), so the data core needs no scipy;
tests compare the results with ionworksdata's to a relative 1e-9.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from .errors import DataError

__all__ = ["differential_cutoff", "find_peaks", "savgol_filter"]

Array = npt.NDArray[np.float64]


def savgol_filter(
    x: Any, window_length: int, polyorder: int, deriv: int = 0, mode: str = "interp"
) -> Array:
    """Smooth ``x`` with a Savitzky–Golay filter, as ``scipy.signal.savgol_filter`` does.

    Interior points are the least-squares polynomial of ``polyorder`` over the centred window
    evaluated at its centre; the first and last ``window_length // 2`` points come from one
    polynomial fitted to the first (last) window, which is scipy's ``mode="interp"``.
    """
    values = np.asarray(x, dtype=float)
    if mode != "interp" or deriv != 0:
        raise DataError("savgol supports mode='interp' and deriv=0 (the defaults) only.")
    if not isinstance(window_length, int) or window_length % 2 == 0 or window_length < 1:
        raise DataError(f"savgol window_length must be an odd positive int, got {window_length!r}.")
    if not isinstance(polyorder, int) or not 0 <= polyorder < window_length:
        raise DataError(f"savgol polyorder must be an int below window_length, got {polyorder!r}.")
    if window_length > values.size:
        raise DataError(
            f"savgol window_length ({window_length}) exceeds the {values.size} samples."
        )
    half = window_length // 2
    offsets = np.arange(-half, half + 1, dtype=float)
    design = offsets ** np.arange(polyorder + 1)[:, None]
    target = np.zeros(polyorder + 1)
    target[0] = 1.0
    weights = np.linalg.lstsq(design, target, rcond=None)[0]
    smoothed = np.convolve(values, weights[::-1], mode="same")
    if half:
        positions = np.arange(window_length, dtype=float)
        head = np.polyfit(positions, values[:window_length], polyorder)
        tail = np.polyfit(positions, values[-window_length:], polyorder)
        smoothed[:half] = np.polyval(head, positions[:half])
        smoothed[-half:] = np.polyval(tail, positions[-half:])
    return smoothed


def find_peaks(x: Any, height: Any = None) -> npt.NDArray[np.int64]:
    """Indices of local maxima (a flat top counts once, at its middle), as scipy finds them.

    ``height``: a minimum, or a ``(min, max)`` pair, on the peak's value.
    """
    values = np.asarray(x, dtype=float)
    peaks: list[int] = []
    i, last = 1, values.size - 1
    while i < last:
        if values[i - 1] < values[i]:
            ahead = i + 1
            while ahead < last and values[ahead] == values[i]:
                ahead += 1
            if values[ahead] < values[i]:
                peaks.append((i + ahead - 1) // 2)
                i = ahead
        i += 1
    found = np.asarray(peaks, dtype=np.int64)
    if height is None:
        return found
    low, high = height if isinstance(height, tuple | list) else (height, None)
    keep = np.ones(found.size, dtype=bool)
    if low is not None:
        keep &= values[found] >= low
    if high is not None:
        keep &= values[found] <= high
    return found[keep]


def _interp_grid(x: Array, dydx: Array) -> tuple[Array, Array]:
    """``dydx`` linearly interpolated onto 1,000 points spanning ``x`` (scipy ``interp1d``)."""
    order = np.argsort(x, kind="mergesort")
    grid = np.linspace(x.min(), x.max(), 1000)
    return grid, np.interp(grid, x[order], dydx[order])


def _explicit(
    x: Array, dydx: Array, lower_ratio: float = 0.1, upper_ratio: float = 0.9, scale: float = 1.1
) -> float:
    scaled = (x - x.min()) / (x.max() - x.min())
    low = int(np.argmin(np.abs(scaled - lower_ratio)))
    high = int(np.argmin(np.abs(scaled - upper_ratio)))
    low, high = min(low, high), max(low, high)
    return float(dydx[low:high].max() * scale)


def _quantile(x: Array, dydx: Array, quantile: float = 0.8, scale: float = 2) -> float:
    _, values = _interp_grid(x, dydx)
    return float(scale * np.percentile(values, quantile * 100))


def _peaks(x: Array, dydx: Array, scale: float = 1.1, **kwargs: Any) -> float:
    _, values = _interp_grid(x, dydx)
    unknown = set(kwargs) - {"height"}
    if unknown:
        raise DataError(f"peaks cut-off accepts 'scale' and 'height', got {sorted(unknown)}.")
    found = find_peaks(values, **kwargs)
    if found.size == 0:
        raise DataError("The peaks cut-off found no peak in the differential curve.")
    return float(values[found].max() * scale)


_METHODS: dict[str, Callable[..., float]] = {
    "explicit": _explicit,
    "quantile": _quantile,
    "peaks": _peaks,
}


def differential_cutoff(
    x: Any, y: Any, method: str = "explicit", options: Mapping[str, Any] | None = None
) -> float:
    """Cut-off for ``|dy/dx|`` (dU/dQ with x=capacity, y=voltage; dQ/dU the other way round).

    Methods as ionworksdata: ``"explicit"`` (largest value between 10% and 90% of the x range,
    times 1.1), ``"quantile"`` (2× the 80th percentile), ``"peaks"`` (largest peak times 1.1);
    ``options`` override those parameters.
    """
    if method not in _METHODS:
        raise DataError(f"Method {method!r} not recognized; use one of {sorted(_METHODS)}.")
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    dydx = np.abs(np.gradient(ys, xs))
    try:
        return _METHODS[method](xs, dydx, **dict(options or {}))
    except TypeError as exc:
        raise DataError(f"Bad option for the {method!r} cut-off: {exc}") from exc
