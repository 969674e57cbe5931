"""SQL over named frames (``ionworks.data.sql``) and over a measurement (``detail.sql``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl
import pytest

import ionworks
from ionworks.data.errors import DataError
from ionworks.data.sql import sql
from ionworks.errors import InvalidParameterError
from ionworks.models import CellMeasurement, MeasurementDetail

SERIES = pl.DataFrame(
    {
        "Time [s]": [0.0, 1.0, 2.0, 3.0],
        "Voltage [V]": [4.0, 3.9, 3.8, 3.9],
        "Step count": [0, 0, 1, 1],
    }
)
STEPS = pl.DataFrame({"Step count": [0, 1], "Step type": ["Rest", "Constant current charge"]})


def test_a_join_over_named_frames_returns_a_polars_frame() -> None:
    result = sql(
        'select "Time [s]", "Step type" from time_series join steps using ("Step count") '
        'order by "Time [s]"',
        time_series=SERIES,
        steps=STEPS,
    )
    assert result.columns == ["Time [s]", "Step type"]
    assert result["Step type"].to_list() == ["Rest", "Rest", *["Constant current charge"] * 2]


def test_with_queries_lazy_frames_pandas_and_column_dicts_are_accepted() -> None:
    query = 'with s as (select * from t where "Voltage [V]" < 4) select count(*) as n from s'
    for table in (SERIES, SERIES.lazy(), SERIES.to_pandas(), SERIES.to_dict(as_series=False)):
        assert sql(query, t=table)["n"].to_list() == [3]


@pytest.mark.parametrize(
    "query",
    [
        "delete from t",
        "drop table t",
        "create table u as select * from t",
        "insert into t values (1, 2, 3)",
        "select * from t; drop table t",
        "-- select\ndelete from t",
    ],
)
def test_anything_but_a_single_select_is_refused(query: str) -> None:
    with pytest.raises(DataError, match=r"SELECT|One statement"):
        sql(query, t=SERIES)


def test_a_trailing_semicolon_and_comments_are_fine() -> None:
    assert sql("/* first */ select count(*) as n from t; -- done", t=SERIES)["n"][0] == 4


def test_an_unknown_table_names_the_tables_available() -> None:
    with pytest.raises(DataError, match="tables available: steps, time_series"):
        sql("select * from cycles", time_series=SERIES, steps=STEPS)


def _detail(**tables: Any) -> MeasurementDetail:
    measurement = CellMeasurement({"id": "m-1", "measurement_type": "time_series"})
    return MeasurementDetail(measurement, **tables)


def test_detail_sql_keeps_the_backend_of_its_tables() -> None:
    query = 'select * from steps where "Step count" = 1'
    assert isinstance(_detail(time_series=SERIES, steps=STEPS).sql(query), pl.DataFrame)
    result = _detail(time_series=SERIES.to_pandas(), steps=STEPS.to_pandas()).sql(query)
    assert isinstance(result, pd.DataFrame) and result["Step type"].tolist() == [
        "Constant current charge"
    ]


def test_detail_sql_errors_are_the_clients() -> None:
    with pytest.raises(InvalidParameterError, match="SELECT"):
        _detail(time_series=SERIES).sql("delete from time_series")
    with pytest.raises(InvalidParameterError, match="no tables"):
        _detail().sql("select 1")


def test_detail_sql_over_a_measurement_from_the_server(live_server: Any, tmp_path: Path) -> None:
    client = ionworks.Ionworks(
        api_key=live_server.api_key, api_url=live_server.url, cache_dir=tmp_path / "cache"
    )
    spec = client.cell_spec.list(name_exact="NCM622/Graphite Coin Cell")[0]
    instance = client.cell_instance.list(spec.id)[0]
    measurement = client.cell_measurement.list(instance.id, measurement_type="time_series")[0]
    detail = client.cell_measurement.detail(measurement.id)
    per_step = detail.sql(
        'select "Step count", count(*) as rows, max(ts."Voltage [V]") as vmax '
        'from time_series as ts join steps using ("Step count") '
        'group by "Step count" order by "Step count"'
    )
    steps = detail.steps
    assert per_step["Step count"].to_list() == steps["Step count"].to_list()
    expected_rows = (steps["End index"] - steps["Start index"] + 1).to_list()
    assert per_step["rows"].to_list() == expected_rows
    assert per_step["vmax"].to_list() == pytest.approx(steps["Max voltage [V]"].to_list())
