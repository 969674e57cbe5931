"""ionworks.data.cycles.get_cycle_metrics against ionworksdata 0.20.2's own outputs.

Fixtures: ``scripts/iwdata_fixtures_steps.py`` (run with the official package) applied
``get_cycle_metrics`` to ionworksdata's steps of each synthetic protocol and corpus file.
Deliberate difference: ionworksdata raises on a steps table whose capacities are all null
(its Null-typed columns cannot be summed cumulatively); ours, whose capacities stay Float64,
sums them as polars sums nulls (0 per cycle) and leaves the ratios null (checked below).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from ionworks.data import cycles, steps

FIXTURES = Path(__file__).parent / "fixtures" / "ionworksdata" / "steps"
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "cyclers" / "expected"
CASES = sorted(p.name.removesuffix(".cycles.parquet") for p in FIXTURES.glob("*.cycles.parquet"))


@pytest.mark.parametrize("name", [c for c in CASES if not c.startswith("corpus-")])
def test_get_cycle_metrics_equals_ionworksdata(name: str) -> None:
    expected = pl.read_parquet(FIXTURES / f"{name}.cycles.parquet")
    theirs_steps = pl.read_parquet(FIXTURES / f"{name}.steps.parquet")
    assert_frame_equal(cycles.get_cycle_metrics(theirs_steps), expected, rel_tol=1e-9)
    # And on our own steps table of the same input.
    ours_steps = steps.summarize(
        pl.read_parquet(FIXTURES / f"{name}.input.parquet"),
        cell_spec=__import__("json").loads((FIXTURES / f"{name}.meta.json").read_text())[
            "cell_spec"
        ],
    )
    ours = cycles.get_cycle_metrics(ours_steps)
    assert ours.columns == expected.columns
    # Where their steps column was Null-typed (all null), ours is Float64 nulls, which polars
    # sums to 0.0: the one consequence of the dtype difference (tests/test_data_steps.py).
    typed = [c for c, dtype in expected.schema.items() if dtype != pl.Null]
    assert_frame_equal(ours.select(typed), expected.select(typed), check_dtypes=False, rel_tol=1e-9)


@pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus/cyclers is absent")
@pytest.mark.parametrize("name", [c for c in CASES if c.startswith("corpus-")])
def test_get_cycle_metrics_of_the_corpus_equals_ionworksdata(name: str) -> None:
    stem = name.removeprefix("corpus-")
    ts = pl.read_parquet(CORPUS / f"{stem}.time_series.parquet")
    expected = pl.read_parquet(FIXTURES / f"{name}.cycles.parquet")
    assert_frame_equal(cycles.get_cycle_metrics(steps.summarize(ts)), expected, rel_tol=1e-9)


def test_all_null_capacities_give_null_metrics_where_ionworksdata_raises() -> None:
    error = (FIXTURES / "no_cumulative.cycles.error.txt").read_text()
    assert error.startswith("InvalidOperationError")
    ours = cycles.get_cycle_metrics(
        steps.summarize(pl.read_parquet(FIXTURES / "no_cumulative.input.parquet"))
    )
    assert ours["Capacity throughput [A.h]"].to_list() == [0.0] * ours.height
    assert ours["Coulombic efficiency"].null_count() == ours.height
    assert ours["Capacity retention"].null_count() == ours.height


def test_get_cycle_metrics_refuses_a_table_without_its_inputs() -> None:
    table = pl.read_parquet(FIXTURES / "cccv.steps.parquet")
    for name in ("Cycle count", "Discharge capacity [A.h]", "Charge capacity [A.h]"):
        with pytest.raises(ValueError, match=name.replace("[", r"\[").replace("]", r"\]")):
            cycles.get_cycle_metrics(table.drop(name))
    with pytest.raises(ValueError, match="current units"):
        cycles.get_cycle_metrics(table, {"current units": "amps"})
