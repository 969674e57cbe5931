"""Pipeline configs on their way out: the 1,000-row inline cap, then conversion to JSON values.

Everything here runs before a request is built: when the cap is exceeded a
:class:`~ionworks.errors.MeasurementValidationError` is raised and nothing is sent.

The official client (0.38.0) applies its 1,000-row inline cap *after* its schema layer has turned
DataFrames into plain dicts, so the cap silently never fires for pipeline configs (a column dict
is not recognised as a time series). :func:`check_inline_rows` therefore runs on the config
exactly as the user wrote it and recognises every form an inline time series can take, including
column dicts and ``DataLoader.to_config()`` output; :func:`serialize_config` converts only
afterwards.
"""

from __future__ import annotations

import datetime as _dt
import math
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import polars as pl

from ionworks._dataframe import frame_to_columns, to_polars
from ionworks.errors import MeasurementValidationError

if TYPE_CHECKING:
    from ionworks.dataloader import DataLoader

__all__ = [
    "MAX_INLINE_ROWS",
    "check_inline_rows",
    "prepare_config",
    "serialize_config",
]

MAX_INLINE_ROWS = 1000
"""Largest time series (in rows) that may be sent inline; bigger data must be uploaded first."""


# --------------------------------------------------------------------------------------------
# Inline row cap
# --------------------------------------------------------------------------------------------


def _row_cap_message(n_rows: int) -> str:
    """The official client's wording, word for word: users search for it."""
    return (
        f"Time series has {n_rows} rows, which exceeds the maximum of {MAX_INLINE_ROWS} rows "
        "for inline data. Upload the data as a measurement using client.cell_measurement.create() "
        "and reference it with 'db:<measurement_id>' or iwdata.DataLoader.from_db(MEASUREMENT_ID) "
        "instead."
    )


def _optional_type(module: str, name: str) -> type | None:
    """A class from an optional library, only if that library is already imported.

    An object can only be a pandas (or pyarrow, numpy) instance if its library has been imported,
    so looking in ``sys.modules`` recognises it without importing anything.
    """
    mod = sys.modules.get(module)
    cls = getattr(mod, name, None) if mod is not None else None
    return cls if isinstance(cls, type) else None


def _is_frame(value: Any) -> bool:
    """True for the tabular objects the client accepts: polars, pandas, pyarrow tables."""
    if isinstance(value, pl.DataFrame | pl.LazyFrame):
        return True
    for module, name in (
        ("pandas", "DataFrame"),
        ("pyarrow", "Table"),
        ("pyarrow", "RecordBatch"),
    ):
        cls = _optional_type(module, name)
        if cls is not None and isinstance(value, cls):
            return True
    return False


def _frame_rows(value: Any) -> int:
    """Row count without materialising anything as Python objects."""
    if isinstance(value, pl.DataFrame):
        return value.height
    if isinstance(value, pl.LazyFrame):
        return int(value.select(pl.len()).collect().item())
    if hasattr(value, "num_rows"):  # pyarrow Table / RecordBatch
        return int(value.num_rows)
    return len(value)  # pandas


def _column_length(value: Any) -> int | None:
    """Length of a value that can be one column of a column dict, else None."""
    if isinstance(value, list | tuple):
        if value and isinstance(value[0], list | tuple | dict):
            return None  # nested structure, not a column of scalars
        return len(value)
    if isinstance(value, pl.Series):
        return len(value)
    array_types = (
        ("numpy", "ndarray"),
        ("pandas", "Series"),
        ("pyarrow", "Array"),
        ("pyarrow", "ChunkedArray"),
    )
    for module, name in array_types:
        cls = _optional_type(module, name)
        if cls is not None and isinstance(value, cls):
            column: Any = value
            if getattr(column, "ndim", 1) != 1:
                return None
            return len(column)
    return None


def _column_dict_rows(value: Mapping[Any, Any]) -> int | None:
    """Row count of a ``{column: [values]}`` dict, or None when ``value`` is not one."""
    if not value or not all(isinstance(key, str) for key in value):
        return None
    lengths = set()
    for column in value.values():
        length = _column_length(column)
        if length is None:
            return None
        lengths.add(length)
    return lengths.pop() if len(lengths) == 1 else None


def _is_dataloader(value: Any) -> bool:
    """True for a :class:`~ionworks.dataloader.DataLoader`, found without importing its module.

    The DataLoader module sits above the client (it builds one to fetch data), and the client's
    pipeline resource calls this module, so importing it here would close an import cycle. An
    object can only be a DataLoader once its module is imported, as with pandas above.
    """
    cls = _optional_type("ionworks.dataloader", "DataLoader")
    return cls is not None and isinstance(value, cls)


def _join(path: str, key: Any) -> str:
    """Dotted config path (``elements.fit.objectives.0.data``) for error messages."""
    return f"{path}.{key}" if path else str(key)


def _find_inline_series(config: Any) -> list[tuple[str, int]]:
    """Every inline time series in ``config`` as ``(path, n_rows)``, in document order."""
    found: list[tuple[str, int]] = []
    seen: set[int] = set()

    def walk(value: Any, path: str) -> None:
        if value is None or isinstance(value, str | bytes | int | float | bool):
            return  # "db:<id>" and other references pass through untouched
        if _is_frame(value):
            found.append((path, _frame_rows(value)))
            return
        if _is_dataloader(value):
            loader: DataLoader = value
            if loader.is_local:
                found.append((path, loader._raw_time_series_height()))
            return
        if isinstance(value, Mapping):
            if id(value) in seen:
                return
            seen.add(id(value))
            rows = _column_dict_rows(value)
            if rows is not None:
                found.append((path, rows))
                return
            for key, item in value.items():
                # The cap is on the time series; its steps table rides along unchecked.
                if key == "steps" and "time_series" in value:
                    continue
                walk(item, _join(path, key))
            return
        if isinstance(value, list | tuple):
            if id(value) in seen:
                return
            seen.add(id(value))
            for index, item in enumerate(value):
                if not isinstance(item, str | int | float | bool) and item is not None:
                    walk(item, _join(path, index))

    walk(config, "")
    return found


def check_inline_rows(config: Any) -> None:
    """Raise if any inline time series anywhere in ``config`` has more than 1,000 rows.

    Recognises polars/pandas DataFrames, pyarrow tables, column dicts
    (``{"Time [s]": [...], ...}``), ``{"time_series": ..., "steps": ...}`` payloads, local
    ``DataLoader`` objects and ``DataLoader.to_config()`` output, nested at any depth in dicts,
    lists and tuples. ``"db:<id>"`` references pass. Rows are counted with ``len``/``height``,
    never by converting the data.

    Raises:
        MeasurementValidationError: one ``time_series_row_count_exceeded`` issue per oversized
            series, with ``data = {"n_rows", "max_rows", "path"}``; ``path`` is dotted
            (``elements.fit.objectives.0.data``) and empty for the top level.
    """
    too_big = [(path, n) for path, n in _find_inline_series(config) if n > MAX_INLINE_ROWS]
    if not too_big:
        return
    errors: list[dict[str, Any]] = [
        {
            "code": "time_series_row_count_exceeded",
            "message": _row_cap_message(n),
            "data": {"n_rows": n, "max_rows": MAX_INLINE_ROWS, "path": path},
        }
        for path, n in too_big
    ]
    message = _row_cap_message(too_big[0][1])
    if len(errors) > 1:
        where = ", ".join(f"'{path}'" if path else "the top level" for path, _ in too_big)
        message += f" ({len(errors)} inline time series exceed the limit, at {where}.)"
    raise MeasurementValidationError(message, errors)


# --------------------------------------------------------------------------------------------
# Outbound JSON conversion
# --------------------------------------------------------------------------------------------


def _clean_float(value: float) -> float | None:
    """NaN and infinities are not JSON: they travel as null."""
    return value if math.isfinite(value) else None


def serialize_config(config: Any) -> Any:
    """Convert a pipeline payload to JSON-ready values; run :func:`check_inline_rows` first.

    DataFrames and pyarrow tables become column dicts, ``DataLoader`` objects their
    ``to_config()``, tuples and arrays become lists, NaN/±inf become ``None`` and dates/times ISO
    strings. Values of unknown types are returned unchanged so that a later layer (or ``json``)
    can decide about them.
    """
    if config is None or isinstance(config, str | bool | int):
        return config
    if isinstance(config, float):
        return _clean_float(config)
    if isinstance(config, _dt.datetime | _dt.date | _dt.time):
        return config.isoformat()
    if _is_frame(config):
        frame = config.collect() if isinstance(config, pl.LazyFrame) else to_polars(config)
        return serialize_config(frame_to_columns(frame))
    if _is_dataloader(config):
        return serialize_config(config.to_config())
    if isinstance(config, Mapping):
        return {key: serialize_config(item) for key, item in config.items()}
    if isinstance(config, list | tuple):
        return [serialize_config(item) for item in config]
    if isinstance(config, pl.Series):
        return [serialize_config(item) for item in config.to_list()]
    if hasattr(config, "tolist") and hasattr(config, "dtype"):  # numpy arrays/scalars, pandas
        return serialize_config(config.tolist())
    return config


def prepare_config(config: Any) -> Any:
    """Check the inline row cap, then serialise: what a request body builder should call."""
    check_inline_rows(config)
    return serialize_config(config)
