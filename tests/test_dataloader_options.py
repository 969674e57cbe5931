"""DataLoader options select and transform the data as ionworksdata 0.20.2 does.

Expected outputs were written by ionworksdata itself (scripts/iwdata_fixtures_dataloader.py, run
with the scratch interpreter that has it installed); each case loads the same inputs here and
compares rows, column names, dtypes and values (relative 1e-9).
"""

from __future__ import annotations

import json
import math
import re
import warnings
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import ionworks
from ionworks import DataLoader, first_step_from_cycle, last_step_from_cycle
from ionworks.errors import InvalidParameterError, IonworksError

FIXTURES = Path(__file__).parent / "fixtures" / "ionworksdata" / "dataloader"
META = json.loads((FIXTURES / "cases.json").read_text())
CASES: dict[str, dict[str, Any]] = META["cases"]


def _inputs(name: str) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    steps = FIXTURES / f"{name}.steps.parquet"
    series = pl.read_parquet(FIXTURES / f"{name}.time_series.parquet")
    return series, pl.read_parquet(steps) if steps.exists() else None


def _same(ours: pl.DataFrame, theirs: pl.DataFrame) -> None:
    assert_frame_equal(ours, theirs, check_exact=False, rel_tol=1e-9, abs_tol=1e-12)


def _loader(case: dict[str, Any]) -> DataLoader:
    series, steps = _inputs(case["input"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the dict selectors warn, as there
        loader = DataLoader(
            series, steps, options=case.get("options") or {}, time_range=case.get("time_range")
        )
    return loader.slice_to_steps(*case["slice"]) if "slice" in case else loader


@pytest.mark.parametrize("name", sorted(CASES))
def test_data_and_steps_equal_ionworksdata(name: str) -> None:
    case = CASES[name]
    loader = _loader(case)
    _same(loader.data, pl.read_parquet(FIXTURES / f"{name}.data.parquet"))
    if case["has_steps"]:
        assert loader.steps is not None
        _same(loader.steps, pl.read_parquet(FIXTURES / f"{name}.steps.parquet"))
    else:
        assert loader.steps is None
    expected_voltage = case["initial_voltage"]
    if expected_voltage is None:
        assert loader.initial_voltage is None
    else:
        assert loader.initial_voltage == pytest.approx(expected_voltage, rel=1e-12)


@pytest.mark.parametrize("name", sorted(n for n, c in CASES.items() if c.get("cutoffs")))
def test_differential_cutoffs_equal_ionworksdata(name: str) -> None:
    loader = _loader(CASES[name])
    methods = {
        "dUdQ_explicit": ("dUdQ", "explicit", None),
        "dUdQ_quantile": ("dUdQ", "quantile", None),
        "dUdQ_peaks": ("dUdQ", "peaks", None),
        "dQdU_explicit": ("dQdU", "explicit", {"lower_ratio": 0.2, "upper_ratio": 0.7}),
        "dQdU_quantile": ("dQdU", "quantile", {"quantile": 0.5}),
    }
    for key, expected in CASES[name]["cutoffs"].items():
        kind, method, options = methods[key]
        call = getattr(loader, f"calculate_{kind}_cutoff")
        if expected == "ValueError":  # ionworksdata fails there; we fail with a message
            with pytest.raises(ValueError, match="no peak"):
                call(method=method, options=options)
        else:
            assert call(method=method, options=options) == pytest.approx(expected, rel=1e-9)


def test_the_cycle_queries_are_ionworksdatas() -> None:
    assert first_step_from_cycle(4) == META["sql"]["first_step_from_cycle(4)"]
    assert last_step_from_cycle(4) == META["sql"]["last_step_from_cycle(4)"]


def test_a_six_row_measurement_windowed_to_one_step_has_its_two_rows() -> None:
    series = pl.DataFrame(
        {
            "Time [s]": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0],
            "Current [A]": [0.0, 0.0, 1.0, 1.0, -1.0, -1.0],
            "Voltage [V]": [4.0, 4.0, 3.9, 3.8, 3.9, 4.0],
        }
    )
    steps = pl.DataFrame(
        {
            "Start index": [0, 2, 4],
            "End index": [1, 3, 5],
            "Step count": [0, 1, 2],
            "Start voltage [V]": [4.0, 3.9, 3.9],
            "End voltage [V]": [4.0, 3.8, 4.0],
        }
    )
    loader = DataLoader(series, steps, options={"first_step": 1, "last_step": 1})
    assert loader.data["Time [s]"].to_list() == [2.0, 3.0]
    assert loader["Voltage [V]"].to_list() == [3.9, 3.8]
    assert loader.initial_voltage == 4.0


def test_a_series_without_steps_keeps_the_rows_inside_the_time_range() -> None:
    """ionworksdata's loader ignores the window without steps; ours applies its window_rows."""
    series, _ = _inputs("ocp")
    loader = DataLoader(series, time_range={"start": 300.0, "end": 1200.0})
    expected = pl.read_parquet(FIXTURES / "ocp_window_rows.data.parquet")
    _same(loader.data.select(expected.columns), expected)
    assert loader.data["Voltage [V]"].equals(loader.data["OCP [V]"].alias("Voltage [V]"))


# -- checked before any request ------------------------------------------------------------------


class ExplodingClient:
    """Fails the test if the loader touches the client at all."""

    @property
    def cell_measurement(self) -> Any:
        raise AssertionError("a request was made")


@pytest.mark.parametrize(
    ("options", "time_range", "fragment"),
    [
        ({"first_step": -1}, None, "first_step"),
        ({"first_step": "drop table steps"}, None, "SELECT"),
        ({"last_step": {"cycle": "one"}}, None, "integer"),
        ({"last_step": {"cycles": 1}}, None, "'cycle'"),
        ({"first_step": 1.5}, None, "first_step"),
        ({"first_step": 1, "first_step_dict": {"step": 1}}, None, "both"),
        ({"transforms": {"sort": "yes"}}, None, "'sort'"),
        ({"transforms": {"sortt": True}}, None, "'sortt'"),
        ({"interpolate": "fast"}, None, "interpolate"),
        ({"interpolate": [1.0, "x"]}, None, "interpolate"),
        ({"filters": {"Voltage [V]": {"filter_type": "median"}}}, None, "savgol"),
        ({"capacity_column": 3}, None, "capacity_column"),
        ({"capacity": "x"}, None, "'capacity'"),
        (None, {"start": math.nan}, "finite"),
        (None, {"start": 10, "end": 5}, "after its end"),
        (None, {"begin": 0}, "time_range"),
    ],
)
def test_bad_options_fail_before_any_request(options: Any, time_range: Any, fragment: str) -> None:
    with pytest.raises(InvalidParameterError, match=fragment):
        DataLoader.from_db("m", client=ExplodingClient(), options=options, time_range=time_range)


def test_dict_selectors_still_work_but_warn() -> None:
    series, steps = _inputs("cycles")
    with pytest.warns(DeprecationWarning, match="deprecated"):
        loader = DataLoader(series, steps, options={"first_step_dict": {"cycle": 1}})
    assert loader.steps is not None and loader.steps["Cycle count"][0] == 1


def test_a_query_that_selects_several_steps_is_refused_naming_the_count() -> None:
    series, steps = _inputs("cycles")
    loader = DataLoader(series, steps, first_step='select * from steps where "Cycle count" = 1')
    with pytest.raises(InvalidParameterError, match="returned 5 steps, expected exactly 1"):
        loader.data  # noqa: B018


def test_data_dependent_problems_are_reported_when_the_data_is_read() -> None:
    series, steps = _inputs("cycles")
    loader = DataLoader(series, steps, options={"capacity_column": "Q [A.h]"})
    with pytest.raises(IonworksError, match=re.escape("'Q [A.h]' not found")):
        loader.data  # noqa: B018
    with pytest.raises(IonworksError, match=re.escape("rows 0..40 of a steps table with 15 rows")):
        DataLoader(series, steps, options={"last_step": 40}).steps  # noqa: B018


# -- configs, copies, directories ----------------------------------------------------------------


def test_to_config_ships_the_selected_window_and_rebuilds_the_same_data() -> None:
    case = CASES["cycles_steps_and_time"]
    loader = _loader(case)
    config = json.loads(json.dumps(loader.to_config()))
    assert "time_range" not in config and "options" not in config
    assert len(config["data"]["time_series"]["Time [s]"]) == loader.data.height
    assert config["data"]["steps"]["Start index"][0] == 0
    rebuilt = DataLoader.from_config(config)
    _same(rebuilt.data, loader.data)


def test_to_config_keeps_transforms_as_options_so_they_run_once() -> None:
    loader = _loader(CASES["gitt_top_level_transforms"])
    config = loader.to_config()
    assert config["options"] == {"rest_to_ocp": True, "sort": True}
    _same(DataLoader.from_config(config).data, loader.data)


def test_to_config_without_filtering_ships_everything_with_every_option() -> None:
    case = CASES["cycles_steps_and_time"]
    loader = _loader(case)
    series, _ = _inputs("cycles")
    config = loader.to_config(filter_data=False)
    assert config["options"] == case["options"] and config["time_range"] == case["time_range"]
    assert len(config["data"]["time_series"]["Time [s]"]) == series.height
    _same(DataLoader.from_config(config).data, loader.data)


def test_copy_is_equal_and_independent() -> None:
    loader = _loader(CASES["cycles_sql_cycle_1"])
    twin = loader.copy()
    assert twin == loader and twin is not loader
    _same(twin.data, loader.data)
    assert twin.options is not None and loader.options is not None
    before = dict(loader.options)
    twin.options["first_step"] = 0  # a copy of the options; neither loader's own change
    assert twin.options == before and loader.options == before


@pytest.mark.parametrize("suffix", ["parquet", "csv"])
def test_from_local_reads_a_directory(tmp_path: Path, suffix: str) -> None:
    series, steps = _inputs("cycles")
    assert steps is not None
    getattr(series, f"write_{suffix}")(tmp_path / f"time_series.{suffix}")
    getattr(steps, f"write_{suffix}")(tmp_path / f"steps.{suffix}")
    loader = DataLoader.from_local(tmp_path, options={"first_step": 1, "last_step": 1})
    assert loader.data.height == 61
    assert loader.steps is not None and loader.steps["Step count"].to_list() == [1]
    with pytest.raises(IonworksError, match=re.escape("time_series.parquet")):
        DataLoader.from_local(tmp_path / "missing")


# -- against the real local server ---------------------------------------------------------------


def test_a_database_window_fetches_only_its_rows_and_equals_the_local_loader(
    live_server: Any, tmp_path: Path
) -> None:
    client = ionworks.Ionworks(
        api_key=live_server.api_key, api_url=live_server.url, cache_dir=tmp_path / "cache"
    )
    spec = client.cell_spec.list(name_exact="NCM622/Graphite Coin Cell")[0]
    instance = client.cell_instance.list(spec.id)[0]
    measurement = client.cell_measurement.list(instance.id, measurement_type="time_series")[0]
    options = {"first_step": first_step_from_cycle(1), "last_step": last_step_from_cycle(1)}

    loader = DataLoader.from_db(measurement.id, client=client, options=options)
    local = DataLoader(
        client.cell_measurement.time_series(measurement.id),
        client.cell_measurement.steps(measurement.id),
        options=options,
    )
    steps = loader.steps
    assert steps is not None and set(steps["Cycle count"].to_list()) == {1}
    assert loader.data.height == int(steps["End index"][-1] - steps["Start index"][0] + 1)
    assert loader._ts_rows is not None  # only the cycle's rows crossed the wire
    _same(loader.data, local.data)
    _same(loader.to_local().data, local.data)
    assert loader.initial_voltage == local.initial_voltage


def test_a_steps_table_without_row_indices_is_kept_whole_and_cannot_select() -> None:
    series, _ = _inputs("cycles")
    counts = pl.DataFrame({"Step count": [0, 1]})
    loader = DataLoader(series, counts, time_range={"end": 95.0})
    assert loader.data.height == 10 and loader.steps is not None
    assert loader.to_config()["data"]["steps"] == {"Step count": [0, 1]}
    with pytest.raises(InvalidParameterError, match="need 'Start index' and 'End index'"):
        DataLoader(series, counts, options={"first_step": 1}).data  # noqa: B018
