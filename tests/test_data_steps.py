"""ionworks.data.steps against ionworksdata 0.20.2's own outputs.

The fixtures under ``tests/fixtures/ionworksdata/steps/`` are written by
``scripts/iwdata_fixtures_steps.py`` run with the official package (never imported here).

Deliberate difference, checked below: where ionworksdata's table has a column that is null on
every row, its dtype is polars' ``Null`` (an artifact of building the table from Python dicts);
ours keeps the column's wire type (Int64 for cycler numbers, Float64 for numbers), so the
served parquet and JSON keep one schema whatever the upload carries.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from ionworks.data import cycles, steps
from ionworks.data.validate import validate_time_series

FIXTURES = Path(__file__).parent / "fixtures" / "ionworksdata" / "steps"
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "cyclers" / "expected"
CASES = sorted(p.name.removesuffix(".input.parquet") for p in FIXTURES.glob("*.input.parquet"))
WIRE_INTS = {"Step from cycler", "Cycle from cycler", "Frame"}


def _case(name: str) -> tuple[pl.DataFrame, Any, pl.DataFrame]:
    meta = json.loads((FIXTURES / f"{name}.meta.json").read_text())
    return (
        pl.read_parquet(FIXTURES / f"{name}.input.parquet"),
        meta["cell_spec"],
        pl.read_parquet(FIXTURES / f"{name}.steps.parquet"),
    )


def assert_same_table(ours: pl.DataFrame, theirs: pl.DataFrame) -> None:
    """Same rows, columns and values (rel 1e-9); same dtypes except their Null columns."""
    assert ours.columns == theirs.columns
    for name, dtype in theirs.schema.items():
        if dtype == pl.Null:
            assert ours[name].null_count() == ours.height, name
            assert ours.schema[name] == (pl.Int64 if name in WIRE_INTS else pl.Float64), name
        else:
            assert ours.schema[name] == dtype, name
    assert_frame_equal(ours, theirs, check_dtypes=False, rel_tol=1e-9, abs_tol=1e-15)


def test_fixtures_cover_every_protocol_of_the_brief() -> None:
    assert {"cccv", "gitt", "formation", "eis", "unsigned_with_mode", "no_cumulative"} <= set(CASES)


@pytest.mark.parametrize("name", CASES)
def test_summarize_equals_ionworksdata(name: str) -> None:
    ts, cell_spec, expected = _case(name)
    assert_same_table(steps.summarize(ts, cell_spec=cell_spec), expected)


@pytest.mark.parametrize("name", CASES)
def test_summarize_accepts_pandas_as_ionworksdata_does(name: str) -> None:
    pytest.importorskip("pandas")
    ts, cell_spec, _ = _case(name)
    ours = steps.summarize(ts.to_pandas(), cell_spec=cell_spec)
    assert_frame_equal(ours, steps.summarize(ts, cell_spec=cell_spec))


@pytest.mark.parametrize("name", CASES)
def test_identify_is_summarize_without_the_cycle_sums(name: str) -> None:
    ts, cell_spec, expected = _case(name)
    rows = steps.identify(ts, cell_spec=cell_spec)
    assert len(rows) == expected.height
    assert list(rows[0]) == [
        c
        for c in expected.columns
        if not c.startswith("Cycle ") or c in ("Cycle count", "Cycle from cycler")
    ]


@pytest.mark.parametrize("size", [1, 7, 64])
@pytest.mark.parametrize("name", CASES)
def test_the_chunked_summariser_gives_summarize_on_the_whole_series(name: str, size: int) -> None:
    ts, cell_spec, _ = _case(name)
    whole = steps.summarize(ts, cell_spec=cell_spec)
    capacity = steps._spec_capacity(cell_spec)
    for long_rows in (steps.LONG_STEP_ROWS, 5):
        summary = steps.StepSummariser(capacity, long_rows, integrate=False, count_cycles=True)
        for offset in range(0, ts.height, size):
            summary.add(ts.slice(offset, size))
        assert_frame_equal(summary.finish(), whole, rel_tol=1e-12, abs_tol=1e-14)


@pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus/cyclers is absent")
@pytest.mark.parametrize(
    "stem",
    sorted(
        p.name.removesuffix(".time_series.parquet") for p in CORPUS.glob("*.time_series.parquet")
    )
    if CORPUS.is_dir()
    else [],
)
def test_summarize_of_the_corpus_equals_ionworksdata_expected_steps(stem: str) -> None:
    ts = pl.read_parquet(CORPUS / f"{stem}.time_series.parquet")
    expected = pl.read_parquet(CORPUS / f"{stem}.steps.parquet")
    assert_same_table(steps.summarize(ts), expected)
    # The server's path (validated, then summarised in chunks) gives the same table.
    assert_frame_equal(steps.derive_steps(ts), steps.summarize(validate_time_series(ts)))


def test_derive_steps_integrates_what_an_upload_lacks_where_summarize_leaves_null() -> None:
    ts, _, _ = _case("no_cumulative")
    assert (
        steps.summarize(ts)["Discharge capacity [A.h]"].null_count() == ts["Step count"].n_unique()
    )
    derived = steps.derive_steps(ts)
    with_columns, _, _ = _case("cccv")
    reference = steps.summarize(with_columns)
    # The fixture's columns are rectangle sums, ours trapezoids: equal to 1 % on real steps.
    big = reference["Discharge capacity [A.h]"] > 1e-4
    assert derived.filter(big)["Discharge capacity [A.h]"].to_list() == pytest.approx(
        reference.filter(big)["Discharge capacity [A.h]"].to_list(), rel=1e-2
    )
    assert derived["Charge capacity [A.h]"].null_count() == 0


def test_summarize_refuses_what_ionworksdata_refuses() -> None:
    ts, _, _ = _case("cccv")
    with pytest.raises(KeyError, match="Step count"):
        steps.summarize(ts.drop("Step count"))
    with pytest.raises(KeyError, match="Voltage"):
        steps.summarize(ts.drop("Voltage [V]"))
    with pytest.raises(KeyError, match="at least one of"):
        steps.summarize(ts.drop("Time [s]"))
    with pytest.raises(ValueError, match="Unusable cell_spec"):
        steps.summarize(ts, cell_spec={"ratings": {"capacity": {"value": 1, "unit": "W"}}})


def test_infer_type_equals_ionworksdata() -> None:
    for case in json.loads((FIXTURES / "infer_type.json").read_text()):
        assert steps.infer_type(case["step"], **case["tolerances"]) == case["type"], case


@pytest.mark.parametrize(
    ("fixture", "rows", "columns"),
    [
        ("annotate.gitt", None, ["Step type", "Cycle count", "Mean current [A]"]),
        ("annotate.partial", slice(2, 3), ["Step type"]),
        ("annotate.none", slice(0, 0), ["Step type"]),
    ],
)
def test_annotate_equals_ionworksdata(fixture: str, rows: slice | None, columns: list[str]) -> None:
    ts, _, table = _case("gitt")
    if rows is not None:
        table = table.slice(rows.start, rows.stop)
    expected = pl.read_parquet(FIXTURES / f"{fixture}.parquet")
    ours = steps.annotate(ts, table, columns)
    assert_frame_equal(
        ours, expected, check_dtypes=bool(expected.height) and fixture != "annotate.none"
    )


@pytest.mark.parametrize(
    ("fixture", "dropped"),
    [
        (
            "cycle_sums.no_cycle_count",
            [
                "Cycle count",
                "Cycle charge capacity [A.h]",
                "Cycle discharge capacity [A.h]",
                "Cycle charge energy [W.h]",
                "Cycle discharge energy [W.h]",
            ],
        ),
        (
            "cycle_sums.no_energy",
            [
                "Charge energy [W.h]",
                "Cycle charge capacity [A.h]",
                "Cycle discharge capacity [A.h]",
                "Cycle charge energy [W.h]",
                "Cycle discharge energy [W.h]",
            ],
        ),
    ],
)
def test_set_cycle_capacity_and_energy_equal_ionworksdata(fixture: str, dropped: list[str]) -> None:
    _, _, table = _case("gitt")
    ours = steps.set_cycle_energy(steps.set_cycle_capacity(table.drop(dropped)))
    expected = pl.read_parquet(FIXTURES / f"{fixture}.parquet")
    assert_frame_equal(ours, expected, rel_tol=1e-9)


def test_the_server_keeps_an_uploaded_cycle_count_that_summarize_recounts() -> None:
    """Deliberate difference: ionworksdata's summarize ignores a series' own ``Cycle count``
    (it counts ``Cycle from cycler`` changes, 0 without them); the server keeps an uploaded
    count, which its validator derives the same way when the upload has none."""
    ts, _, expected = _case("no_cycler_numbers")
    assert steps.summarize(ts)["Cycle count"].to_list() == expected["Cycle count"].to_list()
    assert set(expected["Cycle count"]) == {0}
    served = steps.derive_steps(ts)
    first_rows = ts["Cycle count"].gather(served["Start index"])
    assert served["Cycle count"].to_list() == first_rows.to_list()
    assert served["Cycle count"].n_unique() > 1


@pytest.mark.parametrize("name", ["capacity_only", "capacity_only_falling"])
def test_summarize_splits_a_single_capacity_column_as_ionworksdata_does(name: str) -> None:
    """With only ``Capacity [A.h]`` (no discharge/charge pair), ionworksdata's summarize runs
    ``transform.set_capacity`` first; so do we, so each step gets its capacities, not null."""
    ts = pl.read_parquet(FIXTURES / f"{name}.series.parquet")
    assert "Capacity [A.h]" in ts.columns and "Discharge capacity [A.h]" not in ts.columns
    ours = steps.summarize(ts)
    assert_same_table(ours, pl.read_parquet(FIXTURES / f"{name}.steps.parquet"))
    assert ours["Discharge capacity [A.h]"].null_count() == 0
    assert ours.select(pl.max("Charge capacity [A.h]")).item() > 0.01  # the CC and CV charges
    expected_cycles = pl.read_parquet(FIXTURES / f"{name}.cycle_metrics.parquet")
    assert_frame_equal(cycles.get_cycle_metrics(ours), expected_cycles, rel_tol=1e-9)
    # The caller's frame is not changed: the split works on a copy.
    assert "Capacity [A.h]" in ts.columns


def test_summarize_of_an_empty_series_keeps_the_whole_typed_schema() -> None:
    """Deliberate difference: ionworksdata returns only the four per-cycle sum columns for an
    empty series (and its get_cycle_metrics then refuses that table); ours has every column,
    typed as in a table with rows, and get_cycle_metrics gives an empty cycles table."""
    theirs = json.loads((FIXTURES / "empty.summarize.json").read_text())
    assert theirs["height"] == 0 and theirs["columns"] == [
        "Cycle charge capacity [A.h]",
        "Cycle discharge capacity [A.h]",
        "Cycle charge energy [W.h]",
        "Cycle discharge energy [W.h]",
    ]
    assert "Cycle count" in theirs["cycles_error"]
    ts, _, _ = _case("cccv")
    ours = steps.summarize(ts.head(0))
    assert ours.height == 0
    assert ours.schema == steps.summarize(ts).schema
    assert set(theirs["columns"]) < set(ours.columns)
    metrics = cycles.get_cycle_metrics(ours)
    assert metrics.height == 0 and metrics.schema["Cycle count"] == pl.Int64
    assert steps.summarize(ts.head(0).to_pandas()).schema == ours.schema


CUMULATIVE_STEP_COLUMNS = [
    "Discharge capacity [A.h]",
    "Charge capacity [A.h]",
    "Cycle discharge capacity [A.h]",
    "Cycle charge capacity [A.h]",
]


@pytest.mark.parametrize("size", [1, 7, 64])
@pytest.mark.parametrize("name", ["capacity_only", "capacity_only_falling"])
def test_the_chunked_summariser_splits_a_single_capacity_column_as_summarize_does(
    name: str, size: int
) -> None:
    """The server summarises in chunks; a lone ``Capacity [A.h]`` counter gets the same
    discharge/charge split there as on the whole series (the running sums carry over)."""
    ts = pl.read_parquet(FIXTURES / f"{name}.series.parquet")
    whole = steps.summarize(ts)
    for long_rows in (steps.LONG_STEP_ROWS, 5):
        summary = steps.StepSummariser(None, long_rows, integrate=False, count_cycles=True)
        for offset in range(0, ts.height, size):
            summary.add(ts.slice(offset, size))
        chunked = summary.finish()
        assert_frame_equal(chunked, whole, rel_tol=1e-12, abs_tol=1e-14)
        # Capacities are differences of the same running sums: equal to the bit.
        assert_frame_equal(
            chunked.select(CUMULATIVE_STEP_COLUMNS), whole.select(CUMULATIVE_STEP_COLUMNS)
        )


@pytest.mark.parametrize("name", ["capacity_only", "capacity_only_falling"])
def test_the_server_splits_a_single_capacity_column_rather_than_integrating(name: str) -> None:
    """An upload with only ``Capacity [A.h]`` is served the split counter's capacities (as
    ``summarize`` of the validated series gives), not an integral of the current. (Energies
    it lacks are still integrated by the server, where ``summarize`` gives 0.)"""
    ts = pl.read_parquet(FIXTURES / f"{name}.series.parquet")
    served = steps.derive_steps(ts).select(CUMULATIVE_STEP_COLUMNS)
    expected = steps.summarize(validate_time_series(ts)).select(CUMULATIVE_STEP_COLUMNS)
    assert_frame_equal(served, expected)


def _renumbered(ts: pl.DataFrame) -> pl.DataFrame:
    """The series with each run of ``Step count`` numbered 0, 1, 2, ... (sorted, no nulls)."""
    step = pl.col("Step count")
    runs = (step != step.shift()).fill_null(True).cast(pl.Int64).cum_sum() - 1
    return ts.with_columns(runs.alias("Step count"))


@pytest.mark.parametrize("name", ["gitt", "formation", "cccv"])
def test_unsorted_or_missing_step_counts_summarise_like_sorted_runs(name: str) -> None:
    """Sorted counts are grouped by value, others by runs (a repeated count, a null count):
    both give the same steps, only ``Step count`` itself differs."""
    ts, cell_spec, _ = _case(name)
    counts = ts["Step count"]
    runs = (counts != counts.shift()).fill_null(True).cast(pl.Int64).cum_sum()
    # Revisit earlier counts (1, 2, 1, 2, ...) and blank one whole step's counts.
    scrambled = ts.with_columns(
        pl.when(runs == 3).then(None).otherwise(runs % 2).alias("Step count")
    )
    assert not scrambled["Step count"].drop_nulls().is_sorted()
    ours = steps.summarize(scrambled, cell_spec=cell_spec)
    reference = steps.summarize(_renumbered(scrambled), cell_spec=cell_spec)
    # Each row of a null count is a step of its own (null differs from null, as ionworksdata).
    assert ours.height == reference.height > runs.n_unique()
    assert (
        ours["Step count"].to_list()
        == scrambled["Step count"].gather(ours["Start index"]).to_list()
    )
    assert_frame_equal(
        ours.drop("Step count"), reference.drop("Step count"), rel_tol=1e-12, abs_tol=1e-14
    )


def test_cycle_counts_skip_changes_to_and_from_missing_cycler_numbers() -> None:
    """ionworksdata counts a change of ``Cycle from cycler`` only between two known values;
    the whole series (counted from the column's runs) and chunks (row by row) agree."""
    ts, _, _ = _case("formation")
    cycler = ts["Cycle from cycler"]
    row = pl.int_range(pl.len())
    # Gaps at step starts and inside steps, and changes inside steps.
    patched = ts.with_columns(
        pl.when(row % 37 == 5)
        .then(None)
        .when(row % 53 == 11)
        .then(pl.col("Cycle from cycler") + 7)
        .otherwise(pl.col("Cycle from cycler"))
        .alias("Cycle from cycler")
    )
    assert patched["Cycle from cycler"].null_count() > 0 and cycler.null_count() == 0
    whole = steps.summarize(patched)
    before = patched["Cycle from cycler"].shift()
    change = (patched["Cycle from cycler"] != before).fill_null(False).cast(pl.Int64).cum_sum()
    assert whole["Cycle count"].to_list() == change.gather(whole["Start index"]).to_list()
    summary = steps.StepSummariser(None, integrate=False, count_cycles=True)
    for offset in range(0, patched.height, 9):
        summary.add(patched.slice(offset, 9))
    assert summary.finish()["Cycle count"].to_list() == whole["Cycle count"].to_list()
