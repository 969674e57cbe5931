"""Client-side data checks and outbound conversion for payloads that carry measurement data.

Everything here runs before a request is built: when a check fails a
:class:`~ionworks.errors.MeasurementValidationError` is raised and nothing is sent.

The official client (0.38.0) applies its 1,000-row inline cap *after* its schema layer has turned
DataFrames into plain dicts, so the cap silently never fires for pipeline configs (wire facts
§12.5). :func:`check_inline_rows` therefore runs on the config exactly as the user wrote it and
recognises every form an inline time series can take, including column dicts and
``DataLoader.to_config()`` output; :func:`serialize_config` converts only afterwards.
"""

from __future__ import annotations

import datetime as _dt
import math
import sys
from collections.abc import Callable, Mapping
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
    "validate_measurement_upload",
]

MAX_INLINE_ROWS = 1000
"""Largest time series (in rows) that may be sent inline; bigger data must be uploaded first."""

TIME = "Time [s]"
CURRENT = "Current [A]"
VOLTAGE = "Voltage [V]"
FREQUENCY = "Frequency [Hz]"
STEP = "Step count"
DISCHARGE_CAPACITY = "Discharge capacity [A.h]"
CHARGE_CAPACITY = "Charge capacity [A.h]"
CUMULATIVE_COLUMNS = (
    DISCHARGE_CAPACITY,
    CHARGE_CAPACITY,
    "Discharge energy [W.h]",
    "Charge energy [W.h]",
)
REQUIRED_COLUMNS = (TIME, CURRENT, VOLTAGE)
TIME_ZERO_TOLERANCE = 1e-6


# --------------------------------------------------------------------------------------------
# Inline row cap
# --------------------------------------------------------------------------------------------


def _row_cap_message(n_rows: int) -> str:
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
    # Imported here: the DataLoader module is heavier and imports this one's siblings.
    from ionworks.dataloader import DataLoader

    return isinstance(value, DataLoader)


def _join(path: str, key: Any) -> str:
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


# --------------------------------------------------------------------------------------------
# Pre-upload validation
# --------------------------------------------------------------------------------------------

_Add = Callable[..., None]


def _first_index(mask: pl.Series) -> int:
    return int(mask.arg_true()[0])


def _float(df: pl.DataFrame, column: str) -> pl.Series:
    """A numeric column as Float64 with NaN treated as missing."""
    return df[column].cast(pl.Float64).fill_nan(None)


def _step_starts(df: pl.DataFrame) -> pl.Series:
    """True on the first row of every step (row 0 included)."""
    return (df[STEP].diff() != 0).fill_null(True)


def _check_time(df: pl.DataFrame, add: _Add) -> None:
    time = _float(df, TIME)
    missing = time.is_null()
    if FREQUENCY in df.columns and df.schema[FREQUENCY].is_numeric():
        eis_rows = _float(df, FREQUENCY).is_not_null()
        bad_missing = missing & ~eis_rows
    else:
        bad_missing = missing
    if bad_missing.any():
        row = _first_index(bad_missing)
        add(
            "time_missing",
            f"Column '{TIME}' is missing at row {row} ({bad_missing.sum()} rows in total); "
            f"only EIS rows (with '{FREQUENCY}') may have no time.",
            column=TIME,
            row=row,
        )

    present_rows = (~missing).arg_true()
    if present_rows.is_empty():
        return
    present = time.drop_nulls()
    first_row = int(present_rows[0])
    if abs(present[0]) > TIME_ZERO_TOLERANCE:
        add(
            "time_not_starting_at_zero",
            f"Column '{TIME}' must start at 0 but starts at {present[0]} (row {first_row}); "
            "subtract the first time value.",
            column=TIME,
            row=first_row,
            value=present[0],
        )
    decreasing = (present.diff() < 0).fill_null(False)
    if decreasing.any():
        position = _first_index(decreasing)
        row = int(present_rows[position])
        add(
            "time_not_monotonic",
            f"Column '{TIME}' must be non-decreasing but goes from {present[position - 1]} to "
            f"{present[position]} at row {row} ({decreasing.sum()} decreases in total).",
            column=TIME,
            row=row,
        )


def _check_step_count(df: pl.DataFrame, add: _Add) -> bool:
    """Check ``Step count``; return whether it is usable for the per-step checks."""
    steps = df[STEP]
    if not steps.dtype.is_numeric():
        add(
            "step_count_invalid",
            f"Column '{STEP}' has type {steps.dtype}, expected integers.",
            column=STEP,
            row=0,
        )
        return False
    if steps.null_count():
        row = _first_index(steps.is_null())
        add(
            "step_count_invalid",
            f"Column '{STEP}' is missing at row {row}.",
            column=STEP,
            row=row,
        )
        return False
    ok = True
    if steps[0] != 0:
        add(
            "step_count_invalid",
            f"Column '{STEP}' must start at 0 but starts at {steps[0]} (row 0).",
            column=STEP,
            row=0,
        )
        ok = False
    jumps = steps.diff()
    bad = ~jumps.is_in([0, 1]).fill_null(True)
    if bad.any():
        row = _first_index(bad)
        add(
            "step_count_invalid",
            f"Column '{STEP}' must stay the same or increase by 1 from row to row, but changes by "
            f"{jumps[row]} at row {row} ({bad.sum()} such rows in total).",
            column=STEP,
            row=row,
        )
        ok = False
    return ok


def _check_cumulative(df: pl.DataFrame, column: str, starts: pl.Series, add: _Add) -> None:
    values = _float(df, column)
    scale = values.abs().max()
    if scale is None:
        return
    assert isinstance(scale, float)
    # A cycler samples the first point of a step slightly after it starts, so "reset" allows a
    # small value; carrying the previous step's total over is far above 1 % of the maximum.
    reset_tolerance = 1e-9 + 0.01 * scale
    not_reset = starts & (values.abs() > reset_tolerance).fill_null(False)
    if not_reset.any():
        row = _first_index(not_reset)
        add(
            "cumulative_not_reset",
            f"Column '{column}' must restart from 0 at each step but is {values[row]} at row "
            f"{row}, the first row of step {df[STEP][row]}.",
            column=column,
            row=row,
        )
    decreasing = ~starts & (values.diff() < -(1e-9 + 1e-6 * scale)).fill_null(False)
    if decreasing.any():
        row = _first_index(decreasing)
        add(
            "cumulative_not_reset",
            f"Column '{column}' must not decrease within a step but goes from {values[row - 1]} "
            f"to {values[row]} at row {row} (step {df[STEP][row]}).",
            column=column,
            row=row,
        )


def _check_sign_convention(df: pl.DataFrame, starts: pl.Series | None, add: _Add) -> None:
    """Positive current must be discharge: flag data where most rows say otherwise."""
    current = _float(df, CURRENT)
    agree = pl.repeat(False, df.height, eager=True)
    disagree = agree
    for column, sign in ((DISCHARGE_CAPACITY, 1.0), (CHARGE_CAPACITY, -1.0)):
        if column not in df.columns or not df.schema[column].is_numeric():
            continue
        values = _float(df, column)
        scale = values.abs().max()
        if scale is None:
            continue
        assert isinstance(scale, float)
        rising = (values.diff() > 1e-9 + 1e-6 * scale).fill_null(False)
        if starts is not None:
            rising = rising & ~starts
        signed = current * sign
        agree = agree | (rising & (signed > 0).fill_null(False))
        disagree = disagree | (rising & (signed < 0).fill_null(False))
    n_disagree, n_agree = int(disagree.sum()), int(agree.sum())
    if n_disagree > n_agree:
        row = _first_index(disagree)
        add(
            "current_sign_convention",
            f"Column '{CURRENT}' looks sign-swapped: on {n_disagree} of {n_disagree + n_agree} "
            f"rows where capacity accumulates the current has the wrong sign (first at row {row}). "
            "The convention is positive current = discharge, negative = charge.",
            column=CURRENT,
            row=row,
            n_rows=n_disagree,
        )


def _check_steps_table(steps: pl.DataFrame, n_rows: int, add: _Add) -> None:
    for column in ("Start index", "End index"):
        if column not in steps.columns or not steps.schema[column].is_numeric():
            continue
        outside = ((steps[column] < 0) | (steps[column] >= n_rows)).fill_null(True)
        if outside.any():
            row = _first_index(outside)
            add(
                "steps_index_out_of_range",
                f"Steps column '{column}' is {steps[column][row]} at steps row {row}, outside "
                f"the time series (rows 0 to {n_rows - 1}).",
                column=column,
                row=row,
            )


def validate_measurement_upload(time_series: Any, steps: Any = None) -> None:
    """Check measurement data before it is uploaded, reporting every problem at once.

    Checks (each issue has a stable ``code``): required numeric columns ``Time [s]``,
    ``Current [A]``, ``Voltage [V]`` (``missing_column``, ``column_not_numeric``); at least one row
    (``empty_time_series``); time starts at 0 and never decreases, with gaps allowed only on EIS
    rows (``time_not_starting_at_zero``, ``time_not_monotonic``, ``time_missing``); ``Step count``
    starts at 0 and steps by 0 or 1 (``step_count_invalid``); cumulative capacity/energy columns
    restart each step and never decrease within one (``cumulative_not_reset``); positive current
    means discharge (``current_sign_convention``); step ``Start/End index`` inside the series
    (``steps_index_out_of_range``). Accepts polars, pandas or column dicts.

    Raises:
        MeasurementValidationError: one error whose ``errors`` list holds every problem, each
            with ``code``, ``message`` and ``data`` (``column``, first offending ``row``, ...).
    """
    df = to_polars(time_series)
    issues: list[dict[str, Any]] = []

    def add(code: str, message: str, **data: Any) -> None:
        issues.append({"code": code, "message": message, "data": data})

    for column in REQUIRED_COLUMNS:
        if column not in df.columns:
            add("missing_column", f"Required column '{column}' is missing.", column=column)
        elif not df.schema[column].is_numeric():
            add(
                "column_not_numeric",
                f"Column '{column}' has type {df.schema[column]}, expected numbers.",
                column=column,
            )
    if df.height == 0:
        add("empty_time_series", "The time series has no rows.")
    else:

        def usable(column: str) -> bool:
            return column in df.columns and df.schema[column].is_numeric()

        if usable(TIME):
            _check_time(df, add)
        starts: pl.Series | None = None
        if STEP in df.columns and _check_step_count(df, add):
            starts = _step_starts(df)
            for column in CUMULATIVE_COLUMNS:
                if usable(column):
                    _check_cumulative(df, column, starts, add)
        if usable(CURRENT):
            _check_sign_convention(df, starts, add)
        if steps is not None:
            _check_steps_table(to_polars(steps), df.height, add)

    if not issues:
        return
    if len(issues) == 1:
        message = f"Measurement data failed validation: {issues[0]['message']}"
    else:
        lines = "\n".join(f"  - [{issue['code']}] {issue['message']}" for issue in issues)
        message = f"Measurement data failed validation ({len(issues)} problems):\n{lines}"
    raise MeasurementValidationError(message + "\nNothing was uploaded.", issues)
