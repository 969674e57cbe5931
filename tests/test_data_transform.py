"""ionworks.data.transform against ionworksdata 0.20.2's outputs, and bad input.

The expected frames were written by ionworksdata itself (scripts/iwdata_fixtures_transform.py,
run in a scratch venv); every case of tests/fixtures/ionworksdata/transform/cases.json runs our
function with the same arguments and must give the same columns, dtypes and rows, numbers
equal to a relative 1e-9 (absolute 1e-12 for values that should be 0, where the order of float
operations can leave a rounding residue), or the same kind of error.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from ionworks.data import transform
from ionworks.data.columns import (
    CHARGE_CAPACITY,
    CHARGE_ENERGY,
    CURRENT,
    CYCLE_FROM_CYCLER,
    DISCHARGE_CAPACITY,
    DISCHARGE_ENERGY,
    STEP_COUNT,
    STEP_FROM_CYCLER,
    TIME,
    VOLTAGE,
)
from ionworks.data.errors import DataError

FIXTURES = Path(__file__).parent / "fixtures" / "ionworksdata" / "transform"
CASES: list[dict[str, Any]] = json.loads((FIXTURES / "cases.json").read_text())


def _input(name: str) -> pl.DataFrame:
    return pl.read_parquet(FIXTURES / "inputs" / f"{name}.parquet")


def _run(case: dict[str, Any]) -> tuple[Any, list[str]]:
    kwargs = dict(case["kwargs"])
    if "data_range" in kwargs:
        kwargs["data_range"] = slice(*kwargs["data_range"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = getattr(transform, case["function"])(_input(case["input"]), **kwargs)
    return result, [str(w.message) for w in caught]


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_transform_matches_ionworksdata(case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises(DataError):
            _run(case)
        return
    result, caught = _run(case)
    if isinstance(result, pl.Series):
        result = result.to_frame("result")
    expected = pl.read_parquet(FIXTURES / "expected" / f"{case['case']}.parquet")
    assert_frame_equal(result, expected, rel_tol=1e-9, abs_tol=1e-12)
    ours = [m for m in caught if m.startswith(case["function"])]
    theirs = [m for m in case["warnings"] if m.startswith(case["function"])]
    assert ours == theirs


CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "cyclers" / "expected"
CORPUS_CASES: list[dict[str, Any]] = json.loads((FIXTURES / "corpus_cases.json").read_text())
_PAIRS = {
    DISCHARGE_CAPACITY: CHARGE_CAPACITY,
    CHARGE_CAPACITY: DISCHARGE_CAPACITY,
    DISCHARGE_ENERGY: CHARGE_ENERGY,
    CHARGE_ENERGY: DISCHARGE_ENERGY,
}


def _corpus_variant(data: pl.DataFrame, variant: str) -> pl.DataFrame:
    """The inputs scripts/iwdata_fixtures_transform.py derived from a corpus series."""
    data = data.select(
        TIME, CURRENT, VOLTAGE, STEP_FROM_CYCLER, CYCLE_FROM_CYCLER, STEP_COUNT, *_PAIRS
    )
    variants = {
        "inverted": lambda: data.with_columns(-pl.col(CURRENT)),
        "unsigned": lambda: data.with_columns(pl.col(CURRENT).abs()),
        "unsigned_nosteps": lambda: data.with_columns(pl.col(CURRENT).abs()).drop(STEP_COUNT),
        "swapped": lambda: data.rename(_PAIRS),
        "nocap": lambda: data.drop(list(_PAIRS)),
        "shuffled_time": lambda: data.with_columns((pl.col(TIME) / 10.0).floor() * 10.0),
    }
    return variants[variant]() if variant in variants else data


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the cycler corpus is not at {CORPUS}")
@pytest.mark.parametrize("case", CORPUS_CASES, ids=[c["case"] for c in CORPUS_CASES])
def test_transform_matches_ionworksdata_on_real_cycler_series(case: dict[str, Any]) -> None:
    """Noisy real data: the sign fits and vote must decide as ionworksdata's do, row by row."""
    data = _corpus_variant(pl.read_parquet(CORPUS / case["source"]), case["variant"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = getattr(transform, case["function"])(data, **case["kwargs"])
    assert {c: str(t) for c, t in result.schema.items()} == case["schema"]
    assert result.height == case["height"]
    assert [str(w.message) for w in caught] == case["warnings"]
    if case["stored"]:
        expected = pl.read_parquet(FIXTURES / "corpus" / f"{case['case']}.parquet")
        assert_frame_equal(result.select(case["stored"]), expected, rel_tol=1e-9, abs_tol=1e-12)


def test_fixtures_cover_every_function_of_the_slice() -> None:
    covered = {c["function"] for c in CASES}
    assert covered >= {
        "set_capacity",
        "set_energy",
        "set_net_capacity",
        "set_nominal_soc",
        "set_cumulative_step_number",
        "get_cumulative_step_number",
        "set_cumulative_cycle_number",
        "get_cumulative_cycle_number",
        "set_step_count",
        "set_cycle_count",
        "reset_time",
        "offset_duplicate_times",
        "remove_outliers",
        "set_positive_current_for_discharge",
        "fix_swapped_charge_discharge_columns",
        "set_power",
    }


def test_swapped_columns_are_renamed_back_to_the_true_values() -> None:
    swapped = _input("swapped")
    fixed = transform.fix_swapped_charge_discharge_columns(swapped)
    truth = _input("cccv_cap")
    assert_frame_equal(fixed.select(truth.columns), truth, rel_tol=1e-9, abs_tol=1e-12)


def test_mode_column_signs_unsigned_current_per_row() -> None:
    data = pl.DataFrame(
        {
            TIME: [0.0, 1.0, 2.0, 3.0],
            CURRENT: [1.0, 1.0, 0.0, 1.0],
            VOLTAGE: [3.7, 3.8, 3.8, 3.6],
            "Status": [" chg", "CHG ", "Rest", "DChg"],
        }
    )
    out = transform.set_positive_current_for_discharge(data)
    assert out[CURRENT].to_list() == [-1.0, -1.0, 0.0, 1.0]


def test_caller_options_are_left_as_given() -> None:
    options = {"zero current tol": 0.01}
    transform.set_positive_current_for_discharge(_input("cccv"), options)
    assert options == {"zero current tol": 0.01}


def test_positive_current_is_charge_reads_the_voltage_response() -> None:
    t = np.arange(50.0)
    current = np.full(50, 0.01)
    falling = 4.0 - 0.01 * t - 0.05 * current
    assert transform.positive_current_is_charge(t, current, falling)[0] is False
    assert transform.positive_current_is_charge(t, current, falling[::-1].copy())[0] is True


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda d: transform.set_cumulative_step_number(d, {"methd": "status"}), "methd"),
        (lambda d: transform.set_cumulative_step_number(d, {"method": "voltage"}), "method"),
        (lambda d: transform.set_cumulative_step_number(d, {"method": "status"}), "'Status'"),
        (
            lambda d: transform.set_cumulative_step_number(
                d, {"method": "step column", "step column": "Step"}
            ),
            "'Step'",
        ),
        (lambda d: transform.set_capacity(d, {"current units": "mA"}), "current units"),
        (lambda d: transform.remove_outliers(d, VOLTAGE), "set_cumulative_step_number"),
        (
            lambda d: transform.set_nominal_soc(d, {"Nominal capacity": 1.0}),
            "Nominal cell capacity [A.h]",
        ),
        (lambda d: transform.set_cumulative_cycle_number(d), "'Cycle number'"),
        (lambda d: transform.set_positive_current_for_discharge(d.drop(VOLTAGE)), VOLTAGE),
        (lambda d: transform.set_capacity(d.drop(CURRENT)), CURRENT),
    ],
)
def test_bad_input_raises_a_data_error_naming_the_column_or_option(call: Any, words: str) -> None:
    data = pl.DataFrame({TIME: [0.0, 1.0], CURRENT: [0.1, 0.1], VOLTAGE: [3.7, 3.6]})
    with pytest.raises(DataError, match=words.replace("[", r"\[").replace(".", r"\.")):
        call(data)


def test_step_column_of_text_is_rejected() -> None:
    data = pl.DataFrame({TIME: [0.0, 1.0], CURRENT: [0.1, 0.1], "Step": ["a", "b"]})
    with pytest.raises(DataError, match="'Step' is String"):
        transform.set_step_count(data, {"step column": "Step"})


def test_net_capacity_refuses_to_overwrite_capacity() -> None:
    data = pl.DataFrame({TIME: [0.0], CURRENT: [0.0], "Capacity [A.h]": [1.0]})
    with pytest.raises(DataError, match="already has a 'Capacity"):
        transform.set_net_capacity(data)


def test_offset_gives_up_with_advice_when_offsets_cannot_separate_times() -> None:
    data = pl.DataFrame({TIME: [1.0] * 3})
    with pytest.raises(DataError, match="larger offset"):
        transform.offset_duplicate_times(data, offset=0.0)


def test_reset_time_of_an_empty_frame_is_empty() -> None:
    empty = pl.DataFrame({TIME: []}, schema={TIME: pl.Float64})
    assert transform.reset_time(empty).height == 0


def test_capacity_restarts_at_each_step_from_running_counters() -> None:
    data = pl.DataFrame(
        {
            TIME: [0.0, 1.0, 2.0, 3.0],
            CURRENT: [1.0, 1.0, -1.0, -1.0],
            STEP_COUNT: [0, 0, 1, 1],
            DISCHARGE_CAPACITY: [0.0, 1.0, 1.0, 1.0],
            CHARGE_CAPACITY: [0.0, 0.0, 0.0, 2.0],
        }
    )
    out = transform.set_capacity(data)
    assert out[DISCHARGE_CAPACITY].to_list() == [0.0, 1.0, 0.0, 0.0]
    assert out[CHARGE_CAPACITY].to_list() == [0.0, 0.0, 0.0, 2.0]
