"""The DataLoader's plumbing: frames in and out of configs, errors, the cut-off plot.

Kept apart from :mod:`ionworks.dataloader` so the loader reads as what it does (fetch, select,
transform); nothing here fetches.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import polars as pl

from ionworks._dataframe import frame_to_columns, to_polars
from ionworks.data.columns import END_INDEX, START_INDEX, STEP_COUNT
from ionworks.data.errors import DataError
from ionworks.data.window import Window, row_of_step_count
from ionworks.errors import InvalidParameterError, IonworksError

__all__ = [
    "DB_PREFIX",
    "checked",
    "frames_equal",
    "inline",
    "plot_cutoff",
    "raw_step_row",
    "read_config",
    "read_local_dir",
    "rebased_steps",
    "to_frame",
]

DB_PREFIX = "db:"
_CONFIG_KEYS = ("data", "options", "time_range")
T = TypeVar("T")


def checked(call: Callable[[], T]) -> T:
    """Run a data-core call, turning its ``DataError`` into the client's error type.

    ``InvalidParameterError`` is also a ``ValueError``, which is what ionworksdata raises.
    """
    try:
        return call()
    except DataError as exc:
        raise InvalidParameterError(str(exc)) from exc


def to_frame(value: Any, where: str) -> pl.DataFrame:
    """Convert user or config data to polars, naming the config location when it fails."""
    if isinstance(value, Mapping):
        bad = [
            key
            for key, column in value.items()
            if isinstance(column, str | bytes | Mapping) or not hasattr(column, "__len__")
        ]
        if bad:
            raise IonworksError(
                f"{where} must map column names to lists of values; {bad[0]!r} holds a "
                f"{type(value[bad[0]]).__name__}."
            )
        lengths = {key: len(column) for key, column in value.items()}
        if len(set(lengths.values())) > 1:
            raise IonworksError(f"{where} has columns of different lengths: {lengths}.")
    try:
        return to_polars(value)
    except IonworksError:
        raise
    except Exception as exc:  # any converter error becomes ours, naming the location
        raise IonworksError(f"{where} could not be read as a table: {exc}") from exc


def _comparable(df: pl.DataFrame | None) -> pl.DataFrame | None:
    """Widen numeric types and treat NaN as null, as a trip through JSON config does."""
    if df is None:
        return None
    return df.with_columns(
        [
            pl.col(name).cast(pl.Float64).fill_nan(None)
            if dtype.is_float()
            else pl.col(name).cast(pl.Int64)
            if dtype.is_integer()
            else pl.col(name)
            for name, dtype in df.schema.items()
        ]
    )


def frames_equal(a: pl.DataFrame | None, b: pl.DataFrame | None) -> bool:
    a, b = _comparable(a), _comparable(b)
    if a is None or b is None:
        return a is b
    return a.equals(b, null_equal=True)


def read_config(
    config: Any,
) -> tuple[str | None, pl.DataFrame | None, pl.DataFrame | None, dict[str, Any]]:
    """Split :meth:`DataLoader.to_config` output into (measurement id, series, steps, settings).

    Raises:
        IonworksError: the config is not one of the shapes ``to_config`` produces; the
            message names the offending key.
    """
    if isinstance(config, str):
        config = {"data": config}
    if not isinstance(config, Mapping):
        raise IonworksError(
            "DataLoader config must be a dict like {'data': 'db:<measurement_id>'}, got "
            f"{type(config).__name__}."
        )
    unknown = sorted(str(key) for key in config if key not in _CONFIG_KEYS)
    if unknown:
        raise IonworksError(
            f"Unknown DataLoader config key(s) {', '.join(map(repr, unknown))}; "
            f"expected {', '.join(map(repr, _CONFIG_KEYS))}."
        )
    if "data" not in config:
        raise IonworksError("DataLoader config has no 'data' key.")
    data = config["data"]
    settings = {"options": config.get("options"), "time_range": config.get("time_range")}
    if isinstance(data, str):
        if data.startswith(DB_PREFIX) and data[len(DB_PREFIX) :].strip():
            return data, None, None, settings
        raise IonworksError(
            f"DataLoader config 'data' is {data!r}; a string must be 'db:<measurement_id>'."
        )
    if isinstance(data, Mapping) and "time_series" in data:
        extra = sorted(str(key) for key in data if key not in ("time_series", "steps"))
        if extra:
            raise IonworksError(
                f"DataLoader config 'data' has unexpected key(s) {', '.join(map(repr, extra))}"
                "; with 'time_series' only 'steps' may accompany it."
            )
        steps = data.get("steps")
        series = to_frame(data["time_series"], "'data.time_series'")
        return None, series, None if steps is None else to_frame(steps, "'data.steps'"), settings
    if data is None:
        raise IonworksError("DataLoader config 'data' is None.")
    return None, to_frame(data, "'data'"), None, settings


def rebased_steps(window: Window) -> pl.DataFrame | None:
    """The window's steps with indices counted from its first row (as shipped inline)."""
    if window.steps is None or not {START_INDEX, END_INDEX} <= set(window.steps.columns):
        return window.steps
    return window.steps.with_columns([pl.col(c) - window.start for c in (START_INDEX, END_INDEX)])


def inline(series: pl.DataFrame, steps: pl.DataFrame | None) -> Any:
    """The ``"data"`` value of a local config: columns, or time series and steps."""
    columns = frame_to_columns(series)
    if steps is None:
        return columns
    return {"time_series": columns, "steps": frame_to_columns(steps)}


def plot_cutoff(xs: Any, ys: Any, cutoff: float, xlabel: str) -> None:
    """Show ``|dy/dx|`` with the cut-off drawn (matplotlib imported only when asked)."""
    import matplotlib.pyplot as plt
    import numpy as np

    _, ax = plt.subplots()
    ax.plot(xs, np.abs(np.gradient(ys, xs)))
    ax.axhline(cutoff, color="tab:red", linestyle="--")
    ax.set_xlabel(xlabel)
    ax.set_ylim(0, cutoff * 1.5)
    plt.show()


def raw_step_row(raw: pl.DataFrame, chosen: pl.DataFrame, index: int) -> int:
    """Row of the whole steps table holding row ``index`` of the chosen steps."""
    if STEP_COUNT in chosen.columns:
        count = chosen[STEP_COUNT][index]
        return checked(lambda: row_of_step_count(raw, count, "slice_to_steps"))
    start = chosen[START_INDEX][index]
    return int(raw.with_row_index("_r").filter(pl.col(END_INDEX) >= start)["_r"][0])


def read_local_dir(folder: Path) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """``time_series`` and optional ``steps`` of a directory, as parquet (preferred) or CSV."""
    for suffix, read in ((".parquet", pl.read_parquet), (".csv", pl.read_csv)):
        series = folder / f"time_series{suffix}"
        if series.exists():
            steps = folder / f"steps{suffix}"
            return read(series), read(steps) if steps.exists() else None
    raise IonworksError(
        f"Folder must contain time_series.parquet or time_series.csv. Path: {folder}"
    )
