"""Specification of the client-side data checks: the inline row cap and pre-upload validation."""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from ionworks._pipeline_config import (
    MAX_INLINE_ROWS,
    check_inline_rows,
    prepare_config,
    serialize_config,
)
from ionworks._upload_checks import validate_measurement_upload
from ionworks.dataloader import DataLoader
from ionworks.errors import IonworksError, MeasurementValidationError

SEED_MESSAGE_5000 = (
    "Time series has 5000 rows, which exceeds the maximum of 1000 rows for inline data. "
    "Upload the data as a measurement using client.cell_measurement.create() and reference it "
    "with 'db:<measurement_id>' or iwdata.DataLoader.from_db(MEASUREMENT_ID) instead."
)


def series(n: int) -> pl.DataFrame:
    t = np.arange(n, dtype=float)
    return pl.DataFrame({"Time [s]": t, "Current [A]": np.ones(n), "Voltage [V]": 4.0 - t * 1e-4})


def cycling(n_cycles: int = 2, per_step: int = 20, dt_s: float = 10.0) -> pl.DataFrame:
    """Valid data: per cycle a discharge, rest, charge, rest step; capacities reset per step."""
    cols: dict[str, list[float]] = {
        k: []
        for k in (
            "Time [s]",
            "Current [A]",
            "Voltage [V]",
            "Step count",
            "Cycle count",
            "Discharge capacity [A.h]",
            "Charge capacity [A.h]",
        )
    }
    step = 0
    for cycle in range(n_cycles):
        for current in (1.0, 0.0, -1.0, 0.0):
            for j in range(per_step):
                cols["Time [s]"].append(len(cols["Time [s]"]) * dt_s)
                cols["Current [A]"].append(current)
                cols["Voltage [V]"].append(3.7 - 0.01 * j * current)
                cols["Step count"].append(step)
                cols["Cycle count"].append(cycle)
                cols["Discharge capacity [A.h]"].append(max(current, 0) * j * dt_s / 3600)
                cols["Charge capacity [A.h]"].append(max(-current, 0) * j * dt_s / 3600)
            step += 1
    df = pl.DataFrame(cols)
    return df.with_columns(pl.col("Step count", "Cycle count").cast(pl.Int64))


def codes(exc: MeasurementValidationError) -> list[str]:
    return [issue["code"] for issue in exc.errors]


# --------------------------------------------------------------------------------------------
# Inline row cap
# --------------------------------------------------------------------------------------------


def test_inline_cap_allows_exactly_1000_rows() -> None:
    check_inline_rows({"data": series(MAX_INLINE_ROWS)})


def test_inline_cap_rejects_1001_rows() -> None:
    with pytest.raises(MeasurementValidationError) as info:
        check_inline_rows({"data": series(1001)})
    assert info.value.errors[0]["data"]["n_rows"] == 1001


def test_inline_cap_message_is_exactly_the_documented_text() -> None:
    with pytest.raises(MeasurementValidationError) as info:
        check_inline_rows(series(5000))
    assert str(info.value) == SEED_MESSAGE_5000
    assert isinstance(info.value, IonworksError)
    assert info.value.status_code is None


def test_inline_cap_error_lists_code_counts_and_dotted_path() -> None:
    config = {"elements": {"fit": {"objectives": [{"data": series(1500)}]}}}
    with pytest.raises(MeasurementValidationError) as info:
        check_inline_rows(config)
    (issue,) = info.value.errors
    assert issue["code"] == "time_series_row_count_exceeded"
    assert issue["message"] == str(info.value)
    assert issue["data"] == {
        "n_rows": 1500,
        "max_rows": 1000,
        "path": "elements.fit.objectives.0.data",
    }


@pytest.mark.parametrize("kind", ["polars", "pandas", "pyarrow", "lazy"])
def test_inline_cap_finds_frames_of_every_library_nested_deep_in_dicts_lists_and_tuples(
    kind: str,
) -> None:
    frame: Any = series(2000)
    if kind == "pandas":
        frame = frame.to_pandas()
    elif kind == "pyarrow":
        frame = frame.to_arrow()
    elif kind == "lazy":
        frame = frame.lazy()
    config = {"elements": {"a": {"objectives": ({"x": 1}, [{"data": {"data": frame}}])}}}
    with pytest.raises(MeasurementValidationError) as info:
        check_inline_rows(config)
    assert info.value.errors[0]["data"]["path"] == "elements.a.objectives.1.0.data.data"
    assert info.value.errors[0]["data"]["n_rows"] == 2000


def test_inline_cap_finds_column_dicts_of_lists_and_arrays() -> None:
    columns = {"Time [s]": list(range(1200)), "Voltage [V]": np.ones(1200)}
    with pytest.raises(MeasurementValidationError) as info:
        check_inline_rows({"objectives": [{"data": columns}]})
    assert info.value.errors[0]["data"] == {
        "n_rows": 1200,
        "max_rows": 1000,
        "path": "objectives.0.data",
    }


def test_inline_cap_checks_time_series_of_a_time_series_and_steps_payload() -> None:
    payload = {"time_series": series(1001), "steps": {"Step count": [0]}}
    with pytest.raises(MeasurementValidationError) as info:
        check_inline_rows({"data": payload})
    assert info.value.errors[0]["data"]["path"] == "data.time_series"


def test_inline_cap_applies_to_the_time_series_not_its_step_table() -> None:
    check_inline_rows({"data": {"time_series": series(1000), "steps": series(1500)}})


def test_inline_cap_catches_local_dataloader_and_its_to_config_output() -> None:
    loader = DataLoader(series(3000), pl.DataFrame({"Step count": [0, 1]}))
    with pytest.raises(MeasurementValidationError, match="has 3000 rows"):
        check_inline_rows({"objectives": [{"data": loader}]})
    with pytest.raises(MeasurementValidationError) as info:
        check_inline_rows({"objectives": [{"data": loader.to_config()}]})
    assert info.value.errors[0]["data"]["path"] == "objectives.0.data.data.time_series"
    no_steps = DataLoader(series(3000)).to_config()
    with pytest.raises(MeasurementValidationError):
        check_inline_rows([no_steps])


def test_inline_cap_lets_db_references_and_db_loaders_pass() -> None:
    config = {
        "a": "db:meas-1",
        "b": {"data": "db:meas-2", "time_range": {"start": 0, "end": 3600}},
        "c": DataLoader.from_db("meas-3"),
        "d": DataLoader.from_db("meas-4").to_config(),
    }
    check_inline_rows(config)


def test_inline_cap_ignores_parameter_lists_that_are_not_column_dicts() -> None:
    check_inline_rows(
        {"bounds": [[0.0, 1.0]] * 5000, "mixed": {"name": "x", "values": list(range(5000))}}
    )


def test_inline_cap_reports_every_oversized_series_and_starts_with_the_documented_text() -> None:
    with pytest.raises(MeasurementValidationError) as info:
        check_inline_rows({"a": series(5000), "b": [series(10), series(1234)]})
    assert [e["data"]["path"] for e in info.value.errors] == ["a", "b.1"]
    assert str(info.value).startswith(SEED_MESSAGE_5000)


def test_inline_cap_counts_rows_without_converting_frames_to_python(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("row counting must not convert the data")

    for name in ("to_dict", "to_dicts", "rows", "to_numpy", "iter_rows", "to_pandas"):
        monkeypatch.setattr(pl.DataFrame, name, forbidden)
    monkeypatch.setattr(pl.Series, "to_list", forbidden)
    big = pl.DataFrame({"Time [s]": pl.int_range(0, 2_000_000, eager=True)})
    with pytest.raises(MeasurementValidationError, match="2000000 rows"):
        check_inline_rows({"data": big})


# --------------------------------------------------------------------------------------------
# Outbound serialisation
# --------------------------------------------------------------------------------------------


def test_serialize_turns_frames_into_column_dicts_with_nan_and_inf_as_null() -> None:
    df = pl.DataFrame({"Time [s]": [0.0, 1.0, 2.0], "Voltage [V]": [4.0, float("nan"), math.inf]})
    out = serialize_config({"data": df, "pd": df.to_pandas()})
    expected = {"Time [s]": [0.0, 1.0, 2.0], "Voltage [V]": [4.0, None, None]}
    assert out == {"data": expected, "pd": expected}


def test_serialize_converts_tuples_floats_dates_arrays_and_loaders() -> None:
    loader = DataLoader.from_db("m1", options={"first_step": 1})
    config = {
        "bounds": (0.1, float("nan")),
        "when": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
        "day": dt.date(2026, 1, 2),
        "array": np.array([1.0, np.inf]),
        "scalar": np.float32(0.5),
        "loader": loader,
        "ref": "db:abc",
    }
    out = serialize_config(config)
    assert out == {
        "bounds": [0.1, None],
        "when": "2026-01-02T03:04:05+00:00",
        "day": "2026-01-02",
        "array": [1.0, None],
        "scalar": 0.5,
        "loader": {"data": "db:m1", "options": {"first_step": 1}},
        "ref": "db:abc",
    }
    json.dumps(out, allow_nan=False)


def test_prepare_config_checks_the_cap_before_serialising() -> None:
    with pytest.raises(MeasurementValidationError):
        prepare_config({"data": series(1001)})
    assert prepare_config({"data": series(2)})["data"]["Time [s]"] == [0.0, 1.0]


# --------------------------------------------------------------------------------------------
# Pre-upload validation
# --------------------------------------------------------------------------------------------


def test_valid_cycling_data_passes_validation() -> None:
    validate_measurement_upload(cycling(), None)


def test_validation_accepts_pandas_input() -> None:
    validate_measurement_upload(cycling().to_pandas())


def test_validation_reports_each_missing_required_column() -> None:
    with pytest.raises(MeasurementValidationError) as info:
        validate_measurement_upload(pl.DataFrame({"Time [s]": [0.0, 1.0]}))
    assert codes(info.value) == ["missing_column", "missing_column"]
    assert [e["data"]["column"] for e in info.value.errors] == ["Current [A]", "Voltage [V]"]
    assert "'Voltage [V]'" in str(info.value)


def test_validation_rejects_non_numeric_required_columns() -> None:
    text = series(3).with_columns(pl.Series("Voltage [V]", ["4.0", "3.9 V", "3.8"]))
    with pytest.raises(MeasurementValidationError) as info:
        validate_measurement_upload(text)
    assert codes(info.value) == ["column_not_numeric"]
    assert info.value.errors[0]["data"] == {"column": "Voltage [V]", "row": 1}
    assert "'3.9 V'" in str(info.value)
    flags = series(3).with_columns(pl.Series("Voltage [V]", [True, False, True]))
    with pytest.raises(MeasurementValidationError) as info:
        validate_measurement_upload(flags)
    assert codes(info.value) == ["column_not_numeric"]
    assert "type Boolean" in str(info.value)


def test_validation_reads_numbers_written_as_text_as_the_server_does() -> None:
    """The official client uploads such columns and the server reads them as numbers."""
    validate_measurement_upload(series(3).with_columns(pl.col("Voltage [V]").cast(pl.String)))


def test_validation_rejects_an_empty_time_series() -> None:
    with pytest.raises(MeasurementValidationError) as info:
        validate_measurement_upload(series(0))
    assert codes(info.value) == ["empty_time_series"]


def test_validation_requires_time_to_start_at_zero_within_a_microsecond() -> None:
    validate_measurement_upload(series(5).with_columns(pl.col("Time [s]") + 5e-7))
    with pytest.raises(MeasurementValidationError) as info:
        validate_measurement_upload(series(5).with_columns(pl.col("Time [s]") + 5))
    assert codes(info.value) == ["time_not_starting_at_zero"]
    assert info.value.errors[0]["data"]["row"] == 0


def test_validation_names_the_first_row_where_time_decreases() -> None:
    time = [0.0, 1.0, 2.0, 1.5, 3.0, 2.0]
    df = pl.DataFrame({"Time [s]": time, "Current [A]": [1.0] * 6, "Voltage [V]": [4.0] * 6})
    with pytest.raises(MeasurementValidationError) as info:
        validate_measurement_upload(df)
    (issue,) = info.value.errors
    assert issue["code"] == "time_not_monotonic"
    assert issue["data"] == {"column": "Time [s]", "row": 3}
    assert "row 3" in issue["message"] and "'Time [s]'" in issue["message"]
    assert "2 decreases" in issue["message"]


def test_validation_allows_missing_time_only_on_eis_rows() -> None:
    df = pl.DataFrame(
        {
            "Time [s]": [0.0, 1.0, None, None, 2.0],
            "Current [A]": [1.0] * 5,
            "Voltage [V]": [4.0] * 5,
            "Frequency [Hz]": [None, None, 1000.0, 100.0, None],
        }
    )
    validate_measurement_upload(df)
    with pytest.raises(MeasurementValidationError) as info:
        validate_measurement_upload(df.drop("Frequency [Hz]"))
    assert codes(info.value) == ["time_missing"]
    assert info.value.errors[0]["data"]["row"] == 2


@pytest.mark.parametrize(
    ("steps", "row"),
    [([1, 1, 2, 2], 0), ([0, 0, 2, 2], 2), ([0, 1, 0, 1], 2)],
    ids=["starts-at-1", "jumps-by-2", "goes-back"],
)
def test_validation_requires_step_count_from_zero_in_increments_of_one(
    steps: list[int], row: int
) -> None:
    df = series(4).with_columns(pl.Series("Step count", steps))
    with pytest.raises(MeasurementValidationError) as info:
        validate_measurement_upload(df)
    assert set(codes(info.value)) == {"step_count_invalid"}
    assert info.value.errors[-1]["data"]["row"] == row


def test_validation_requires_cumulative_capacity_to_reset_at_each_step() -> None:
    df = cycling()
    carried = df.with_columns(
        pl.col("Discharge capacity [A.h]").cum_max().alias("Discharge capacity [A.h]")
    )
    with pytest.raises(MeasurementValidationError) as info:
        validate_measurement_upload(carried)
    assert codes(info.value) == ["cumulative_not_reset"]
    assert info.value.errors[0]["data"] == {"column": "Discharge capacity [A.h]", "row": 20}


def test_validation_rejects_cumulative_capacity_decreasing_within_a_step() -> None:
    df = cycling()
    values = df["Charge capacity [A.h]"].to_list()
    values[50] = values[49] - 0.001
    with pytest.raises(MeasurementValidationError) as info:
        validate_measurement_upload(df.with_columns(pl.Series("Charge capacity [A.h]", values)))
    assert codes(info.value) == ["cumulative_not_reset"]
    assert info.value.errors[0]["data"]["row"] == 50


def test_validation_flags_a_swapped_current_sign_convention() -> None:
    swapped = cycling().with_columns(-pl.col("Current [A]"))
    with pytest.raises(MeasurementValidationError) as info:
        validate_measurement_upload(swapped)
    (issue,) = info.value.errors
    assert issue["code"] == "current_sign_convention"
    assert issue["data"]["row"] == 1  # the first row where discharge capacity grows
    assert "positive current = discharge" in issue["message"]


def test_validation_tolerates_a_few_rows_disagreeing_with_the_sign_convention() -> None:
    df = cycling()
    current = df["Current [A]"].to_list()
    current[5] = -1.0
    validate_measurement_upload(df.with_columns(pl.Series("Current [A]", current)))


def test_validation_collects_every_problem_into_one_error() -> None:
    df = cycling().with_columns(pl.col("Time [s]") + 1, pl.col("Step count") + 1)
    with pytest.raises(MeasurementValidationError) as info:
        validate_measurement_upload(df)
    assert codes(info.value) == ["time_not_starting_at_zero", "step_count_invalid"]
    message = str(info.value)
    assert "2 problems" in message and "Nothing was uploaded" in message


def test_validation_checks_step_indices_fall_inside_the_time_series() -> None:
    df = cycling(n_cycles=1)
    steps = pl.DataFrame({"Start index": [0, 40], "End index": [39, 80]})
    with pytest.raises(MeasurementValidationError) as info:
        validate_measurement_upload(df, steps)
    assert codes(info.value) == ["steps_index_out_of_range"]
    assert info.value.errors[0]["data"] == {"column": "End index", "row": 1}


def test_validation_accepts_a_step_table_of_the_right_size() -> None:
    validate_measurement_upload(
        cycling(n_cycles=1), pd.DataFrame({"Start index": [0, 40], "End index": [39, 79]})
    )


def test_pyarrow_tables_are_converted_for_serialisation() -> None:
    table = pa.table({"Time [s]": [0.0, 1.0]})
    assert serialize_config({"data": table}) == {"data": {"Time [s]": [0.0, 1.0]}}
