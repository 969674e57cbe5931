"""Specification of ``DataLoader``: lazy database references, local data and config round trips."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
import polars as pl
import pytest

import ionworks.dataloader
from ionworks.dataloader import DataLoader
from ionworks.errors import IonworksError

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


TIME_SERIES = pl.DataFrame(
    {
        "Time [s]": [0.0, 10.0, 20.0, 30.0, 40.0],
        "Current [A]": [1.0, 1.0, 0.0, -1.0, -1.0],
        "Voltage [V]": [4.0, 3.9, 3.95, 4.0, 4.1],
        "Step count": [0, 0, 1, 2, 2],
    }
)
STEPS = pl.DataFrame({"Start index": [0, 2, 3], "End index": [1, 2, 4], "Step count": [0, 1, 2]})


class FakeMeasurements:
    """Stands in for ``client.cell_measurement``, counting every call."""

    def __init__(self, as_pandas: bool = False) -> None:
        self.calls: list[tuple[str, str, bool]] = []
        self.as_pandas = as_pandas

    def _frame(self, df: pl.DataFrame) -> Any:
        return df.to_pandas() if self.as_pandas else df

    def steps(self, measurement_id: str, use_cache: bool = True) -> Any:
        self.calls.append(("steps", measurement_id, use_cache))
        return self._frame(STEPS)

    def time_series(self, measurement_id: str, use_cache: bool = True) -> Any:
        self.calls.append(("time_series", measurement_id, use_cache))
        return self._frame(TIME_SERIES)


class FakeClient:
    def __init__(self, as_pandas: bool = False) -> None:
        self.cell_measurement = FakeMeasurements(as_pandas)


@pytest.fixture
def client() -> FakeClient:
    return FakeClient()


# --------------------------------------------------------------------------------------------
# Laziness
# --------------------------------------------------------------------------------------------


def test_from_db_fetches_nothing_until_data_is_read(client: FakeClient) -> None:
    loader = DataLoader.from_db("meas-1", client=client)
    assert client.cell_measurement.calls == []
    assert loader.measurement_id == "meas-1"
    assert not loader.is_local
    assert repr(loader) == "DataLoader(db:meas-1, not loaded)"


def test_reading_steps_fetches_only_the_steps(client: FakeClient) -> None:
    loader = DataLoader.from_db("meas-1", client=client, use_cache=False)
    steps = loader.steps
    assert client.cell_measurement.calls == [("steps", "meas-1", False)]
    assert steps is not None and steps.equals(STEPS)
    assert repr(loader) == "DataLoader(db:meas-1, time series not loaded, 3 steps)"


def test_reading_data_fetches_the_time_series_once(client: FakeClient) -> None:
    loader = DataLoader.from_db("meas-1", client=client)
    assert loader.data.equals(TIME_SERIES)
    assert loader.time_series.equals(TIME_SERIES)
    assert client.cell_measurement.calls == [("time_series", "meas-1", True)]


def test_frames_returned_as_pandas_by_the_client_are_normalised_to_polars() -> None:
    loader = DataLoader.from_db("meas-1", client=FakeClient(as_pandas=True))
    assert isinstance(loader.data, pl.DataFrame)
    assert isinstance(loader.steps, pl.DataFrame)


def test_without_a_client_one_is_built_from_the_environment_at_first_fetch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built: list[FakeClient] = []

    def factory() -> FakeClient:
        built.append(FakeClient())
        return built[-1]

    monkeypatch.setattr(ionworks.dataloader, "Ionworks", factory)
    loader = DataLoader.from_db("db:meas-2")
    assert built == []
    assert loader.measurement_id == "meas-2"
    loader.steps  # noqa: B018
    loader.data  # noqa: B018
    assert len(built) == 1
    assert [c[0] for c in built[0].cell_measurement.calls] == ["steps", "time_series"]


def test_a_database_loader_without_a_client_reads_from_the_server_the_environment_names(
    live_server: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """The real default path: ``Ionworks()`` from IONWORKS_API_KEY/URL, built at first fetch."""
    monkeypatch.delenv("IONWORKS_API_TOKEN", raising=False)
    monkeypatch.setenv("IONWORKS_API_KEY", live_server.api_key)
    monkeypatch.setenv("IONWORKS_API_URL", live_server.url)
    monkeypatch.setenv("IONWORKS_CACHE_DIR", str(tmp_path / "cache"))
    client = ionworks.Ionworks()
    spec = client.cell_spec.list(name_exact="NCM622/Graphite Coin Cell")[0]
    instance = client.cell_instance.list(spec.id)[0]
    measurement = client.cell_measurement.list(instance.id, measurement_type="time_series")[0]

    loader = DataLoader.from_db(f"db:{measurement.id}", use_cache=False)
    assert loader.data.equals(client.cell_measurement.time_series(measurement.id, use_cache=False))
    steps = client.cell_measurement.steps(measurement.id, use_cache=False)
    assert loader.steps is not None and steps is not None and loader.steps.equals(steps)


def test_time_range_limits_the_rows_data_returns(client: FakeClient) -> None:
    loader = DataLoader.from_db("meas-1", client=client, time_range={"start": 10, "end": 30})
    assert loader.data["Time [s]"].to_list() == [10.0, 20.0, 30.0]
    assert DataLoader(TIME_SERIES, time_range=(None, 15)).data.height == 2


# --------------------------------------------------------------------------------------------
# Local data
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["polars", "pandas", "columns"])
def test_local_loader_accepts_polars_pandas_and_column_dicts(kind: str) -> None:
    source: Any = {
        "polars": TIME_SERIES,
        "pandas": TIME_SERIES.to_pandas(),
        "columns": TIME_SERIES.to_dict(as_series=False),
    }[kind]
    loader = DataLoader(source)
    assert loader.is_local and loader.measurement_id is None
    assert isinstance(loader.data, pl.DataFrame)
    assert loader.data.equals(TIME_SERIES)
    assert loader.steps is None


def test_local_loader_repr_shows_rows_and_steps() -> None:
    big = pl.DataFrame({"Time [s]": pl.int_range(0, 12_345, eager=True)})
    steps = pl.DataFrame({"Step count": list(range(37))})
    assert repr(DataLoader(big, steps)) == "DataLoader(local, 12,345 rows, 37 steps)"
    assert repr(DataLoader(big)) == "DataLoader(local, 12,345 rows, no steps)"


def test_loader_without_time_series_points_to_from_db() -> None:
    with pytest.raises(IonworksError, match="from_db"):
        DataLoader()


def test_unknown_options_are_rejected_before_anything_is_sent() -> None:
    with pytest.raises(IonworksError, match="'first_stpe'"):
        DataLoader(TIME_SERIES, options={"first_stpe": 1})


def test_to_local_fetches_everything_and_drops_the_database_reference(client: FakeClient) -> None:
    options = {"first_step": 0, "transforms": {"sort": True}}
    loader = DataLoader.from_db("meas-1", client=client, options=options)
    local = loader.to_local()
    assert sorted(c[0] for c in client.cell_measurement.calls) == ["steps", "time_series"]
    assert local.is_local and local.measurement_id is None
    assert local.options == options
    assert local == DataLoader(TIME_SERIES, STEPS, options=options)
    assert local.to_config()["data"]["time_series"]["Time [s]"] == [0.0, 10.0, 20.0, 30.0, 40.0]


# --------------------------------------------------------------------------------------------
# Config shapes and round trips
# --------------------------------------------------------------------------------------------


def test_db_loader_config_is_a_reference_with_optional_range_and_options() -> None:
    assert DataLoader.from_db("m").to_config() == {"data": "db:m"}
    loader = DataLoader.from_db(
        "m", options={"first_step": 1, "last_step": 3}, time_range={"start": 0, "end": 3600}
    )
    assert loader.to_config() == {
        "data": "db:m",
        "time_range": {"start": 0, "end": 3600},
        "options": {"first_step": 1, "last_step": 3},
    }


def test_local_loader_without_steps_inlines_a_column_dict() -> None:
    config = DataLoader(TIME_SERIES).to_config()
    assert config == {"data": TIME_SERIES.to_dict(as_series=False)}


def test_local_loader_with_steps_inlines_time_series_and_steps() -> None:
    config = DataLoader(TIME_SERIES, STEPS, options={"capacity_column": "x"}).to_config()
    assert config == {
        "data": {
            "time_series": TIME_SERIES.to_dict(as_series=False),
            "steps": STEPS.to_dict(as_series=False),
        },
        "options": {"capacity_column": "x"},
    }


def test_local_config_is_strict_json_with_nan_as_null() -> None:
    df = TIME_SERIES.with_columns(pl.Series("Voltage [V]", [4.0, float("nan"), None, 4.0, 4.1]))
    config = DataLoader(df.to_pandas()).to_config()
    assert config["data"]["Voltage [V]"] == [4.0, None, None, 4.0, 4.1]
    json.dumps(config, allow_nan=False)


@pytest.mark.parametrize(
    "loader",
    [
        DataLoader.from_db("meas-9", time_range={"start": 0}, options={"first_step": 2}),
        DataLoader(TIME_SERIES),
        DataLoader(TIME_SERIES, STEPS, options={"transforms": {"sort": True}}),
        DataLoader(TIME_SERIES.with_columns(pl.lit(float("nan")).alias("Temperature [degC]"))),
    ],
    ids=["db", "local", "local-with-steps", "local-with-nan"],
)
def test_from_config_inverts_to_config(loader: DataLoader) -> None:
    config = json.loads(json.dumps(loader.to_config()))
    assert DataLoader.from_config(config) == loader


def test_from_config_accepts_a_bare_db_string() -> None:
    assert DataLoader.from_config("db:abc") == DataLoader.from_db("abc")


def test_equality_compares_source_options_and_range() -> None:
    assert DataLoader.from_db("a") != DataLoader.from_db("b")
    assert DataLoader.from_db("a") != DataLoader.from_db("a", options={"first_step": 1})
    assert DataLoader(TIME_SERIES) != DataLoader(TIME_SERIES, STEPS)
    assert DataLoader(TIME_SERIES) != DataLoader.from_db("a")
    assert DataLoader(TIME_SERIES) == DataLoader(TIME_SERIES.to_pandas())


@pytest.mark.parametrize(
    ("config", "fragment"),
    [
        (["db:x"], "must be a dict"),
        ({"options": {}}, "no 'data' key"),
        ({"data": "db:x", "extra": 1}, "'extra'"),
        ({"data": "file:data.csv"}, "'db:<measurement_id>'"),
        ({"data": "db:"}, "'db:<measurement_id>'"),
        ({"data": {"Time [s]": [0, 1], "Voltage [V]": [4.0]}}, "different lengths"),
        ({"data": {"Time [s]": 5}}, "'Time [s]' holds a int"),
        ({"data": {"time_series": {"Time [s]": [0]}, "meta": {}}}, "'meta'"),
        ({"data": "db:x", "options": {"nope": 1}}, "'nope'"),
        ({"data": "db:x", "time_range": {"begin": 0}}, "time_range"),
        ({"data": "db:x", "time_range": {"start": 10, "end": 5}}, "after its end"),
    ],
)
def test_from_config_rejects_invalid_configs_naming_the_problem(config: Any, fragment: str) -> None:
    with pytest.raises(IonworksError) as info:
        DataLoader.from_config(config)
    assert fragment in str(info.value)


# --------------------------------------------------------------------------------------------
# Plotting and imports
# --------------------------------------------------------------------------------------------


def test_plot_data_loads_the_time_series_and_returns_figure_and_axes(client: FakeClient) -> None:
    loader = DataLoader.from_db("meas-1", client=client)
    fig, axes = loader.plot_data()
    assert client.cell_measurement.calls == [("time_series", "meas-1", True)]
    assert len(axes) == 2
    assert list(np.asarray(axes[0].lines[0].get_ydata())) == TIME_SERIES["Voltage [V]"].to_list()
    assert "meas-1" in axes[0].get_title()
    assert fig is axes[0].get_figure()


def test_plot_data_can_draw_into_given_axes() -> None:
    import matplotlib.pyplot as plt

    fig, given = plt.subplots(2, 1)
    out_fig, axes = DataLoader(pd.DataFrame(TIME_SERIES.to_dict(as_series=False))).plot_data(
        ax=given
    )
    assert out_fig is fig
    assert list(axes) == list(given)
