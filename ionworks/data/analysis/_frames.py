"""Input checks shared by the analysis functions: frames in, clear errors out.

Every function accepts a polars ``DataFrame`` or ``LazyFrame`` (a pandas frame is converted);
what is missing is named with the fix, so a wrong table never ends in a numpy traceback.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from ..errors import DataError

Array = npt.NDArray[np.float64]

GROUP_KEY = "measurement_id"
"""The column a fleet frame (``ionworks.scan(...)``) is grouped by when ``by`` is not given."""


def lazy(data: Any, what: str) -> pl.LazyFrame:
    """``data`` as a LazyFrame (polars, pandas or a dict of columns)."""
    if isinstance(data, pl.LazyFrame):
        return data
    if isinstance(data, pl.DataFrame):
        return data.lazy()
    if isinstance(data, Mapping):
        return pl.DataFrame(dict(data)).lazy()
    if type(data).__module__.startswith("pandas"):
        return pl.DataFrame(pl.from_pandas(data)).lazy()
    raise DataError(
        f"{what}: expected a polars or pandas DataFrame (or a polars LazyFrame), "
        f"got {type(data).__name__}."
    )


def require(columns: Sequence[str], needed: Sequence[str], what: str, hint: str) -> None:
    """Raise naming every missing column and what gives it."""
    missing = [c for c in needed if c not in columns]
    if missing:
        present = ", ".join(repr(c) for c in list(columns)[:12])
        raise DataError(
            f"{what} needs the column(s) {', '.join(repr(c) for c in missing)}; "
            f"the frame has {present}{', ...' if len(columns) > 12 else ''}. {hint}"
        )


def require_numbers(schema: Mapping[str, Any], needed: Sequence[str], what: str) -> None:
    """Raise naming a column that holds text (or anything but numbers), with the fix."""
    for name in needed:
        dtype = schema[name]
        if not (dtype.is_numeric() or dtype == pl.Null):  # all-null: nothing to use, no error here
            raise DataError(
                f"{what}: column {name!r} holds {dtype}, not numbers; cast it first "
                f"(frame.with_columns(pl.col({name!r}).cast(pl.Float64))) or read the file "
                "with ionworks.data.read."
            )


def group_keys(columns: Sequence[str], by: str | Sequence[str] | None) -> list[str]:
    """The grouping columns: ``by`` as given, else ``measurement_id`` when the frame has it."""
    if by is None:
        return [GROUP_KEY] if GROUP_KEY in columns else []
    keys = [by] if isinstance(by, str) else list(by)
    require(columns, keys, "grouping", "Pass by= the columns that name each cell.")
    return keys


def gaussian_kernel(sigma_points: float) -> Array:
    """A normalised Gaussian sampled at whole points, cut at 3 standard deviations (99.7 % of
    its weight: wider costs time and changes nothing visible)."""
    half = max(1, int(np.ceil(3.0 * sigma_points)))
    x = np.arange(-half, half + 1, dtype=float)
    kernel = np.exp(-0.5 * (x / sigma_points) ** 2)
    return np.asarray(kernel / kernel.sum(), dtype=float)


def smooth(values: Array, sigma_points: float) -> Array:
    """Gaussian smoothing with the ends handled by normalising over the kernel's overlap.

    Dividing by the smoothed ones keeps a flat signal flat at the edges instead of pulling it
    towards zero, which a plain ``mode="same"`` convolution would do.
    """
    if sigma_points <= 0 or values.size < 2:
        return values
    kernel = gaussian_kernel(sigma_points)
    if kernel.size > values.size:
        # A short curve: cut the kernel to fit (the normalisation below keeps it unbiased).
        half = (values.size - 1) // 2
        kernel = kernel[kernel.size // 2 - half : kernel.size // 2 + half + 1]
    num = np.convolve(values, kernel, mode="same")
    den = np.convolve(np.ones_like(values), kernel, mode="same")
    return np.asarray(num / den, dtype=float)
