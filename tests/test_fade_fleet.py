"""``capacity_fade`` over ``ionworks.scan``: the partition-by-partition read gives the table of
reading the fleet at once, and ``scan`` says which frames it may read that way."""

from __future__ import annotations

import gc
import sys
import weakref
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from ionworks.data.analysis import capacity_fade, fade
from ionworks.data.dataset import partition_dir, scan, scan_source
from ionworks.data.errors import DataError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_analysis_known import fade_curve

CYCLE, CAPACITY = "Cycle count", "Discharge capacity [A.h]"


def write(root: Path, cells: dict[tuple[str, str, str], pl.DataFrame]) -> None:
    for (spec, instance, mid), frame in cells.items():
        directory = partition_dir(root, spec, instance, mid)
        directory.mkdir(parents=True, exist_ok=True)
        frame.write_parquet(directory / "cycles.parquet")


def awkward_fleet() -> dict[tuple[str, str, str], pl.DataFrame]:
    """Cells unlike each other: types that scan() widens, rows out of order with repeated
    cycles, unusable values, a cell with nothing usable (no row in either path) and one
    without the capacity column at all (read as nulls by scan)."""
    base = {f"m-{k}": fade_curve(knee=k) for k in (300, 450, 600, 750)}
    shuffled = pl.concat([base["m-450"], base["m-450"].head(30)]).sample(
        fraction=1.0, shuffle=True, seed=2
    )
    spoilt = base["m-600"].with_columns(
        pl.when(pl.col(CYCLE) % 17 == 0)
        .then(None)
        .when(pl.col(CYCLE) % 19 == 0)
        .then(float("nan"))
        .otherwise(pl.col(CAPACITY))
        .alias(CAPACITY),
        pl.when(pl.col(CYCLE) % 23 == 5).then(None).otherwise(pl.col(CYCLE)).alias(CYCLE),
    )
    return {
        ("spec-b", "inst-1", "m-300"): base["m-300"].cast({CYCLE: pl.Int32, CAPACITY: pl.Float32}),
        ("spec-a", "inst-2", "m-450"): shuffled,
        ("spec-a", "inst-3", "m-600"): spoilt,
        ("spec-a", "inst-4", "m-empty"): base["m-750"].head(0),
        ("spec-b", "inst-5", "m-750"): base["m-750"].cast({CYCLE: pl.Float64}),
        ("spec-b", "inst-6", "m-nocap"): base["m-750"].drop(CAPACITY),
    }


def test_partition_path_gives_the_table_of_reading_the_fleet_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, awkward_fleet())
    lf = scan(tmp_path)
    source = scan_source(lf)
    assert source is not None and len(source.partitions(["measurement_id"])) == 6
    whole = lf.select(pl.all())  # another query: not scan()'s frame, read at once
    assert scan_source(whole) is None
    variants: list[dict[str, Any]] = [{}, {"reference_cycle": 40, "threshold": 0.9, "window": 1}]
    read_all, at_once_reads = fade._read_all, list[pl.LazyFrame]()

    def counted_read_all(*args: Any) -> pl.DataFrame:
        at_once_reads.append(args[0])
        return read_all(*args)

    monkeypatch.setattr(fade, "_read_all", counted_read_all)
    for options in variants:
        by_partition = capacity_fade(lf, **options)
        assert at_once_reads == []  # scan()'s own frame is read partition by partition
        at_once = capacity_fade(whole, **options)
        assert [r is whole for r in at_once_reads] == [True]  # two paths compared below
        at_once_reads.clear()
        assert by_partition.equals(at_once), (by_partition, at_once)
        assert by_partition.get_column("measurement_id").to_list() == [
            "m-450",
            "m-600",
            "m-300",
            "m-750",
        ]
    by_instance = capacity_fade(lf, by=["spec_id", "instance_id"])
    assert by_instance.equals(capacity_fade(whole, by=["spec_id", "instance_id"]))
    assert by_instance.height == 4


def test_errors_are_those_of_reading_the_fleet_at_once(tmp_path: Path) -> None:
    good = fade_curve()
    none_positive = good.with_columns(pl.lit(-1.0).alias(CAPACITY))
    write(tmp_path / "a", {("s", "i1", "m-1"): none_positive, ("s", "i2", "m-2"): good})
    with pytest.raises(DataError, match="no cycle of m-1 has a positive capacity"):
        capacity_fade(scan(tmp_path / "a"))
    write(tmp_path / "b", {("s", "i1", "m-1"): none_positive, ("s", "i2", "m-2"): none_positive})
    with pytest.raises(DataError, match="no cycle has a positive 'Discharge capacity"):
        capacity_fade(scan(tmp_path / "b"))
    write(tmp_path / "c", {("s", "i1", "m-1"): good, ("s", "i2", "m-2"): good.head(10)})
    with pytest.raises(DataError, match="reference_cycle=20 has no positive capacity of m-2"):
        capacity_fade(scan(tmp_path / "c"), reference_cycle=20)


def test_paths_that_cannot_tell_cells_apart_are_read_at_once(tmp_path: Path) -> None:
    # One measurement under two instances (its files apart in path order), and ids that
    # polars decodes to one value: only reading the fleet at once groups them as one cell.
    a, b = fade_curve(knee=400), fade_curve(knee=700)
    write(tmp_path / "split", {("s", "i1", "m-1"): a, ("s", "i2", "m-2"): b, ("s", "i3", "m-1"): b})
    write(tmp_path / "escaped", {("s", "i1", "x%41"): a, ("s", "i2", "xA"): b})
    # (the hive null: polars reads that directory's id as null, not as its name)
    write(tmp_path / "null", {("s", "i1", "__HIVE_DEFAULT_PARTITION__"): a, ("s", "i2", "m"): b})
    cases: list[tuple[Path, list[str | None]]] = [
        (tmp_path / "split", ["m-1", "m-2"]),
        (tmp_path / "escaped", ["xA"]),
        (tmp_path / "null", [None, "m"]),
    ]
    for root, ids in cases:
        lf = scan(root)
        source = scan_source(lf)
        assert source is not None and source.partitions(["measurement_id"]) == []
        table = capacity_fade(lf)
        assert table.get_column("measurement_id").sort(nulls_last=False).to_list() == ids
        assert table.equals(capacity_fade(lf.select(pl.all())))


def test_scan_source_is_kept_for_the_frame_only_while_it_lives(tmp_path: Path) -> None:
    write(tmp_path, {("s", "i1", "m-1"): fade_curve()})
    lf = scan(tmp_path)
    assert scan_source(lf) is not None
    assert scan_source(lf.filter(pl.col(CYCLE) > 10)) is None
    assert scan_source(pl.LazyFrame({"a": [1]})) is None
    assert scan_source(lf).partitions(["spec_id", "Cycle count"]) == []  # type: ignore[union-attr]
    from ionworks.data import dataset

    # By the frame's own key (another test's frame collected here too would change the count).
    key, source = id(lf), weakref.ref(scan_source(lf))
    assert key in dataset._SOURCES
    del lf
    gc.collect()
    assert key not in dataset._SOURCES and source() is None


def test_scan_widens_types_across_files_as_before(tmp_path: Path) -> None:
    # scan() combines only the distinct schemas: the result is the schema of combining all.
    cycles = [pl.Series(CYCLE, [0, 1], dtype=pl.Int32)] * 2 + [
        pl.Series(CYCLE, [0.0, 1.0, 2.0]),
        pl.Series(CYCLE, [5, 6], dtype=pl.Int32),
    ]
    frames = {("s", f"i{n}", f"m-{n}"): c.to_frame() for n, c in enumerate(cycles)}
    frames["s", "i2", "m-2"] = frames["s", "i2", "m-2"].with_columns(pl.Series("Extra", [1, 2, 3]))
    write(tmp_path, frames)
    schema = scan(tmp_path).collect_schema()
    assert schema[CYCLE] == pl.Float64 and schema["Extra"] == pl.Int64
    assert scan(tmp_path).collect().height == 2 + 2 + 3 + 2


def test_cells_grouped_together_give_a_row_not_a_linear_algebra_error(tmp_path: Path) -> None:
    # by="spec_id" puts every cell of a spec in one group: each cycle number then repeats,
    # and a break with only that number on one side has singular normal equations. Four
    # copies of one curve have that curve's knee and fade.
    write(tmp_path, {("s", f"i{n}", f"m-{n}"): fade_curve(knee=600) for n in range(4)})
    row = capacity_fade(scan(tmp_path), by="spec_id").row(0, named=True)
    alone = capacity_fade(fade_curve(knee=600)).row(0, named=True)
    assert row["spec_id"] == "s" and row["Cycles"] == 4 * alone["Cycles"]
    assert row["Knee cycle"] == pytest.approx(alone["Knee cycle"], abs=5)
    assert row["Fade rate [%/100 cycles]"] == pytest.approx(alone["Fade rate [%/100 cycles]"])


def test_one_cycle_number_only_has_no_fade_rate_and_no_knee() -> None:
    cell = pl.DataFrame({CYCLE: [3] * 10, CAPACITY: [5.0 - 0.01 * k for k in range(10)]})
    row = capacity_fade(cell).row(0, named=True)
    assert row["Cycles"] == 10 and row["Fade rate [%/100 cycles]"] is None
    assert row["Knee cycle"] is None


def test_scan_source_reads_and_describes_partitions_as_the_scan_does(tmp_path: Path) -> None:
    # read() and frame_schema() stand in for the scan without planning it (less of polars
    # mapped into memory): same rows, types, column order, for files whose types scan()
    # widens, a file without the capacity column, an empty one, and a file with a column
    # named like a partition key (the partition's text replaces it, in its place).
    write(tmp_path / "awkward", awkward_fleet())
    keyed = fade_curve().with_columns(pl.lit(7).alias("instance_id"))
    write(tmp_path / "keyed", {("s", "i1", "m-1"): keyed, ("s", "i2", "m-2"): fade_curve()})
    for root in (tmp_path / "awkward", tmp_path / "keyed"):
        lf = scan(root)
        source = scan_source(lf)
        assert source is not None
        assert list(source.frame_schema().items()) == list(lf.collect_schema().items())
        groups = source.partitions(["measurement_id"]) + source.partitions(["spec_id"])
        assert len(groups) >= 3
        for _, files in groups:
            expected = source.lazy(files).select(CYCLE, CAPACITY).collect()
            assert_frame_equal(source.read(files, [CYCLE, CAPACITY]), expected)


@pytest.mark.parametrize("damage", ["truncated", "overwritten"])
def test_a_damaged_partition_is_named_with_what_to_do(tmp_path: Path, damage: str) -> None:
    # A truncated file fails scan()'s schema read, an overwritten page capacity_fade's read
    # of that partition; either way the error names the file (polars' own names none).
    write(tmp_path, awkward_fleet())
    victim = partition_dir(tmp_path, "spec-a", "inst-3", "m-600") / "cycles.parquet"
    data = bytearray(victim.read_bytes())
    if damage == "truncated":
        victim.write_bytes(bytes(data[:-20]))
    else:
        data[4:200] = b"\x07" * 196
        victim.write_bytes(bytes(data))
    with pytest.raises(DataError, match="not a readable parquet table") as raised:
        capacity_fade(scan(tmp_path, table="cycles"))
    assert str(victim) in str(raised.value)
    assert "Export that measurement again" in str(raised.value)
