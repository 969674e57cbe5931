"""Specification of ionworks._dataframe: backend choice, conversions, parquet and JSON columns."""

from __future__ import annotations

import datetime as dt
import io
import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ionworks import _dataframe
from ionworks._dataframe import (
    columns_to_frame,
    frame_to_columns,
    read_parquet,
    resolve_backend,
    to_backend,
    to_polars,
    write_parquet_bytes,
)
from ionworks.errors import IonworksError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _no_backend_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IONWORKS_DATAFRAME_BACKEND", raising=False)


@pytest.fixture
def pandas_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make pandas look uninstalled (find_spec finds nothing, import fails)."""
    real_find_spec = _dataframe.importlib.util.find_spec

    def find_spec(name: str, *args: object) -> object:
        return None if name == "pandas" else real_find_spec(name)

    monkeypatch.setattr(_dataframe.importlib.util, "find_spec", find_spec)
    monkeypatch.setitem(sys.modules, "pandas", None)


# --- backend ----------------------------------------------------------------------------------


def test_backend_defaults_to_polars() -> None:
    assert resolve_backend(None) == "polars"


def test_explicit_backend_wins_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IONWORKS_DATAFRAME_BACKEND", "pandas")
    assert resolve_backend("polars") == "polars"
    assert resolve_backend(None) == "pandas"


def test_backend_name_is_case_insensitive() -> None:
    assert resolve_backend(" Pandas ") == "pandas"


def test_unknown_backend_raises_value_error_naming_the_choices() -> None:
    with pytest.raises(ValueError, match="'polars' or 'pandas'") as info:
        resolve_backend("numpy")
    assert "numpy" in str(info.value)


def test_unknown_backend_from_environment_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("IONWORKS_DATAFRAME_BACKEND", "arrow")
    with pytest.raises(ValueError, match="IONWORKS_DATAFRAME_BACKEND='arrow'"):
        resolve_backend(None)


@pytest.mark.usefixtures("pandas_missing")
def test_pandas_backend_without_pandas_says_how_to_install_it() -> None:
    with pytest.raises(IonworksError, match=r"pip install 'ionworks\[pandas\]'"):
        resolve_backend("pandas")
    with pytest.raises(IonworksError, match=r"pip install 'ionworks\[pandas\]'"):
        to_backend(pl.DataFrame({"a": [1]}), "pandas")


def test_to_backend_returns_the_same_polars_frame_or_an_equal_pandas_frame() -> None:
    df = pl.DataFrame({"Time [s]": [0.0, 1.0], "Step type": ["Rest", "Rest"]})
    assert to_backend(df, "polars") is df
    converted = to_backend(df, "pandas")
    assert isinstance(converted, pd.DataFrame)
    assert converted["Time [s]"].tolist() == [0.0, 1.0]
    assert converted["Step type"].tolist() == ["Rest", "Rest"]


def test_importing_the_modules_does_not_import_pandas_or_matplotlib() -> None:
    code = (
        "import sys, ionworks._dataframe, ionworks._cache\n"
        "bad = [m for m in ('pandas', 'matplotlib') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=60)


# --- to_polars --------------------------------------------------------------------------------


def test_to_polars_returns_polars_frames_unchanged() -> None:
    df = pl.DataFrame({"a": [1]})
    assert to_polars(df) is df


def test_to_polars_converts_pandas_and_keeps_only_a_named_index() -> None:
    positional = pd.DataFrame({"a": [1.0, 2.0]}, index=[5, 7])
    assert to_polars(positional).columns == ["a"]
    named = positional.rename_axis("Cycle count")
    converted = to_polars(named)
    assert converted.columns == ["Cycle count", "a"]
    assert converted["Cycle count"].to_list() == [5, 7]


def test_to_polars_converts_arrow_tables_and_batches() -> None:
    table = pa.table({"a": [1, 2]})
    assert to_polars(table).equals(pl.DataFrame({"a": [1, 2]}))
    assert to_polars(table.to_batches()[0]).equals(pl.DataFrame({"a": [1, 2]}))


def test_to_polars_column_dict_upcasts_mixed_ints_and_floats() -> None:
    df = to_polars({"Time [s]": [0, 1, 2.5], "Step count": [0, 0, 1]})
    assert df.schema == {"Time [s]": pl.Float64, "Step count": pl.Int64}


def test_to_polars_all_scalar_dict_is_one_row_and_empty_dict_is_empty() -> None:
    assert to_polars({"a": 1, "b": "x"}).to_dicts() == [{"a": 1, "b": "x"}]
    assert to_polars({}).shape == (0, 0)


def test_to_polars_list_of_row_dicts_unions_the_keys() -> None:
    df = to_polars([{"a": 1}, {"a": 2.5, "b": "x"}])
    assert df.to_dicts() == [{"a": 1.0, "b": None}, {"a": 2.5, "b": "x"}]
    assert to_polars([]).shape == (0, 0)


@pytest.mark.parametrize("bad", [42, "a,b\n1,2", {1, 2}, None])
def test_to_polars_rejects_other_types_naming_received_and_accepted(bad: object) -> None:
    with pytest.raises(IonworksError) as info:
        to_polars(bad)
    message = str(info.value)
    assert type(bad).__name__ in message
    assert "polars DataFrame" in message and "list of row dicts" in message


def test_to_polars_ragged_columns_raise_ionworks_error_not_polars_error() -> None:
    with pytest.raises(IonworksError, match="height"):
        to_polars({"a": [1, 2], "b": [1]})


def test_to_polars_list_of_non_dicts_names_the_element_type() -> None:
    with pytest.raises(IonworksError, match="list containing int"):
        to_polars([1, 2])


# --- JSON columns -----------------------------------------------------------------------------


def test_frame_to_columns_nulls_nan_and_inf_only_in_float_columns() -> None:
    df = pl.DataFrame(
        {
            "f": [1.5, math.nan, math.inf, -math.inf, None],
            "i": [1, 2, 3, 4, None],
            "s": ["nan", "inf", "a", "b", None],
        }
    )
    columns = frame_to_columns(df)
    assert columns == {
        "f": [1.5, None, None, None, None],
        "i": [1, 2, 3, 4, None],
        "s": ["nan", "inf", "a", "b", None],
    }
    json.dumps(columns, allow_nan=False)  # strict JSON


def test_frame_to_columns_writes_temporal_values_as_iso_strings() -> None:
    df = pl.DataFrame(
        {
            "naive": [dt.datetime(2026, 3, 1, 12, 30, 5, 250000)],
            "utc": [dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)],
            "day": [dt.date(2026, 3, 1)],
        }
    )
    columns = frame_to_columns(df)
    assert dt.datetime.fromisoformat(columns["naive"][0]) == dt.datetime(
        2026, 3, 1, 12, 30, 5, 250000
    )
    assert dt.datetime.fromisoformat(columns["utc"][0]) == dt.datetime(
        2026, 3, 1, 12, 0, tzinfo=dt.UTC
    )
    assert columns["day"] == ["2026-03-01"]


def test_frame_to_columns_cleans_nested_values_and_accepts_pandas() -> None:
    df = pl.DataFrame({"l": [[1.0, math.nan]]})
    assert frame_to_columns(df) == {"l": [[1.0, None]]}
    assert frame_to_columns(pd.DataFrame({"x": [1.0, math.nan]})) == {"x": [1.0, None]}


def test_columns_to_frame_reads_api_column_dicts() -> None:
    payload = {"Cycle count": [0, 1], "Discharge capacity [A.h]": [1, 0.98]}
    df = columns_to_frame(payload)
    assert df.schema == {"Cycle count": pl.Int64, "Discharge capacity [A.h]": pl.Float64}
    assert columns_to_frame({"Cycle count": 0}).height == 1
    assert columns_to_frame({}).shape == (0, 0)


def test_columns_to_frame_accepts_row_lists_and_rejects_null() -> None:
    assert columns_to_frame([{"a": 1}, {"a": 2}])["a"].to_list() == [1, 2]
    with pytest.raises(IonworksError, match="null"):
        columns_to_frame(None)
    with pytest.raises(IonworksError, match="str"):
        columns_to_frame("not a table")


def test_frame_to_columns_and_columns_to_frame_round_trip() -> None:
    df = pl.DataFrame({"a": [1.0, None], "b": ["x", "y"], "c": [1, 2]})
    assert columns_to_frame(json.loads(json.dumps(frame_to_columns(df)))).equals(df)


# --- parquet ----------------------------------------------------------------------------------


def _sample() -> pl.DataFrame:
    return pl.DataFrame({"Time [s]": [0.0, 1.0, 2.0], "Voltage [V]": [3.7, 3.8, 3.9]})


def test_write_parquet_bytes_uses_zstd_and_reads_back() -> None:
    data = write_parquet_bytes(_sample())
    meta = pq.ParquetFile(io.BytesIO(data)).metadata
    assert meta.row_group(0).column(0).compression == "ZSTD"
    assert read_parquet(data).equals(_sample())


def test_read_parquet_accepts_bytes_bytearray_memoryview_and_paths(tmp_path: Path) -> None:
    data = write_parquet_bytes(_sample())
    path = tmp_path / "t.parquet"
    path.write_bytes(data)
    for source in (data, bytearray(data), memoryview(data), path, str(path)):
        assert read_parquet(source).equals(_sample())


@pytest.mark.parametrize(
    "payload",
    [b"", b"<html>502 Bad Gateway</html>", b"PAR1" + b"\0" * 32 + b"PAR1"],
    ids=["empty", "html", "bad-footer"],
)
def test_read_parquet_of_non_parquet_bytes_raises_ionworks_error(payload: bytes) -> None:
    with pytest.raises(IonworksError, match="is not a valid parquet file: "):
        read_parquet(payload, description="time series of measurement m1")


def test_read_parquet_of_a_truncated_file_raises_ionworks_error(tmp_path: Path) -> None:
    data = write_parquet_bytes(_sample())
    path = tmp_path / "t.parquet"
    path.write_bytes(data[: len(data) // 2] + data[-8:])
    with pytest.raises(IonworksError, match="is not a valid parquet file"):
        read_parquet(path)


def test_read_parquet_of_a_missing_path_raises_ionworks_error(tmp_path: Path) -> None:
    with pytest.raises(IonworksError, match="no such file"):
        read_parquet(tmp_path / "absent.parquet")
