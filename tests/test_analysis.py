"""ionworks.data.analysis beyond the known answers: bad input, CV steps, steps tables, fleets
through ``ionworks.scan``, the real cycler corpus, and the plots."""

from __future__ import annotations

import itertools
import math
import sys
import threading
from pathlib import Path

import matplotlib
import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from ionworks.data import read
from ionworks.data.analysis import (
    DQDV,
    DVDQ,
    R0,
    capacity_fade,
    capacity_retention,
    dqdv,
    dvdq,
    find_peaks,
    pulse_resistance,
)
from ionworks.data.analysis._frames import gaussian_kernel, smooth
from ionworks.data.analysis._segments import collect_segments
from ionworks.data.cycles import get_cycle_metrics
from ionworks.data.dataset import partition_dir, scan
from ionworks.data.errors import DataError
from ionworks.data.steps import summarize

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_analysis_known import (
    PLATEAUS,
    fade_curve,
    pulse_train,
    slow_discharge,
)

matplotlib.use("Agg")

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "cyclers"


# ------------------------------------------------------------------ bad input, clear errors


def test_missing_columns_are_named_with_the_fix() -> None:
    series = slow_discharge().drop("Voltage [V]")
    with pytest.raises(DataError, match=r"'Voltage \[V\]'.*ionworks.data.read"):
        dqdv(series)
    with pytest.raises(DataError, match=r"'Step count'"):
        pulse_resistance(pulse_train()[0].drop("Step count"))
    with pytest.raises(DataError, match=r"'Discharge capacity \[A.h\]'.*cycles table"):
        capacity_fade(pl.DataFrame({"Cycle count": [0, 1]}))
    with pytest.raises(DataError, match="DataFrame"):
        dqdv([1, 2, 3])


def test_no_segment_in_the_asked_direction_says_so() -> None:
    with pytest.raises(DataError, match=r"no charge segment.*sign convention"):
        dqdv(slow_discharge(), direction="charge")
    with pytest.raises(DataError, match="no discharge segment in cycle 7"):
        dvdq(slow_discharge(), cycle=7)
    with pytest.raises(DataError, match="direction must be"):
        dqdv(slow_discharge(), direction="up")  # type: ignore[arg-type]


def test_too_few_points_is_refused_not_differentiated() -> None:
    short = slow_discharge().head(10)
    with pytest.raises(DataError, match="fewer than min_points=20"):
        dqdv(short)
    assert dqdv(short, min_points=5).height > 0


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(DataError, match="resolution must be a positive number"):
        dqdv(slow_discharge(), resolution=0)
    with pytest.raises(DataError, match="threshold is a retention"):
        capacity_fade(fade_curve(), threshold=80)
    with pytest.raises(DataError, match="reference_cycle=5000 has no positive capacity"):
        capacity_fade(fade_curve(), reference_cycle=5000)
    with pytest.raises(DataError, match="find_peaks needs"):
        find_peaks(pl.DataFrame({"x": [1.0]}))


def test_pulse_resistance_without_pulses_says_why() -> None:
    one_step = slow_discharge()
    with pytest.raises(DataError, match="one step"):
        pulse_resistance(one_step)
    steady = one_step.with_columns(pl.Series("Step count", np.arange(one_step.height) // 100))
    with pytest.raises(DataError, match="no step changes the current"):
        pulse_resistance(steady)


def test_text_columns_are_named_not_a_numpy_traceback() -> None:
    as_text = pl.col("Voltage [V]").cast(pl.String)
    with pytest.raises(DataError, match=r"'Voltage \[V\]' holds String, not numbers"):
        dqdv(slow_discharge().with_columns(as_text))
    with pytest.raises(DataError, match=r"'Voltage \[V\]' holds String, not numbers"):
        pulse_resistance(pulse_train()[0].with_columns(as_text))
    junk = pl.lit("n/a").alias("Discharge capacity [A.h]")
    with pytest.raises(DataError, match=r"'Discharge capacity \[A.h\]' holds String"):
        capacity_fade(fade_curve().with_columns(junk))


def _blank(frame: pl.DataFrame, column: str, rows: list[int], value: float | None) -> pl.DataFrame:
    hit = pl.int_range(pl.len()).is_in(rows)
    return frame.with_columns(pl.when(hit).then(value).otherwise(pl.col(column)).alias(column))


@pytest.mark.parametrize("value", [float("nan"), None, float("inf")], ids=["nan", "null", "inf"])
def test_a_dropped_sample_leaves_the_curves_and_fade_as_they_were(value: float | None) -> None:
    """A cycler's missing or NaN sample: the intervals touching it are left out, not spread
    over the histogram (it raised a numpy ValueError) nor through every dV/dQ bin (all NaN)."""
    series = slow_discharge()
    rows = [500, 4000, 9000]
    clean = find_peaks(dqdv(series)).get_column("Voltage [V]").to_numpy()
    for column in ("Voltage [V]", "Current [A]", "Time [s]"):
        gappy = _blank(series, column, rows, value)
        peaks = find_peaks(dqdv(gappy)).get_column("Voltage [V]").to_numpy()
        assert peaks.size == clean.size and np.abs(peaks - clean).max() < 1e-3, column
        assert dvdq(gappy).get_column(DVDQ).is_finite().all(), column
    cycles = fade_curve()
    expected = capacity_fade(cycles.filter(~pl.col("Cycle count").is_in([500, 700])))
    gappy_cycles = _blank(
        _blank(cycles, "Discharge capacity [A.h]", [500], value), "Cycle count", [700], None
    )
    assert capacity_fade(gappy_cycles).equals(expected)


# ------------------------------------------------------------------ behaviour


def test_constant_voltage_steps_are_left_out_of_dqdv() -> None:
    """A CV hold piles charge into one voltage bin: a false peak at the cut-off."""
    cc = slow_discharge()
    end_v = float(cc.get_column("Voltage [V]")[-1])
    t0 = float(cc.get_column("Time [s]")[-1])
    n = 3600
    cv = pl.DataFrame(
        {
            "Time [s]": t0 + 1 + np.arange(n, dtype=float),
            "Current [A]": 0.1 * np.exp(-np.arange(n) / 900.0),
            "Voltage [V]": np.full(n, end_v),
            "Step count": np.ones(n, dtype=np.int64),
            "Cycle count": np.zeros(n, dtype=np.int64),
        }
    )
    series = pl.concat([cc, cv])
    kept = find_peaks(dqdv(series)).get_column("Voltage [V]").to_numpy()
    assert kept.size == len(PLATEAUS) and (kept > end_v + 0.05).all()

    def near_cut_off(curve: pl.DataFrame) -> float:
        return float(curve.filter(pl.col("Voltage [V]") < end_v + 0.01).get_column(DQDV).max())  # type: ignore[arg-type]

    assert near_cut_off(dqdv(series)) < 1.0
    assert near_cut_off(dqdv(series, constant_current_only=False)) > 2.5  # the CV hold


def test_dvdq_spans_the_charge_and_integrates_to_the_voltage_drop() -> None:
    series = slow_discharge()
    curve = dvdq(series)
    drawn = series.height / 3600.0 * 0.1
    capacity = curve.get_column("Capacity [A.h]").to_numpy()
    assert abs(capacity[-1] - drawn) < 0.002 * drawn
    spacing = capacity[1] - capacity[0]
    volts = curve.get_column("Voltage [V]").to_numpy()
    assert curve.get_column(DVDQ).sum() * spacing == pytest.approx(volts[0] - volts[-1], rel=0.02)
    # dV/dQ peaks between the plateaus, where the voltage falls fastest
    peaks = find_peaks(curve)
    assert {"Capacity [A.h]", DVDQ, "Width [A.h]", "Prominence"} <= set(peaks.columns)


def test_a_steps_table_gives_the_same_pulses_as_the_step_count() -> None:
    series, _ = pulse_train()
    from_counts = pulse_resistance(series, capacity_ah=2.0)
    from_steps = pulse_resistance(series, summarize(series), capacity_ah=2.0)
    assert from_steps.equals(from_counts)
    with pytest.raises(DataError, match="outside the time series"):
        pulse_resistance(series.head(100), summarize(series))


def test_pulse_soc_without_a_capacity_uses_the_charge_drawn_to_empty() -> None:
    series, _ = pulse_train()
    table = pulse_resistance(series).filter(pl.col("Pulse current [A]") == 2.0)
    # the train stops above empty, so its own largest draw understates the capacity
    assert (np.diff(table.get_column("SOC").to_numpy()) < 0).all()
    drawn = table.get_column("Discharged since full [A.h]").to_numpy()
    # The charge to full is step 0; everything after it discharges, so the largest draw
    # after it is the whole rest of the train's charge (trapezoids, as a cycler counts).
    full = series.filter(pl.col("Step count") == 0).height - 1
    t, i = (series.get_column(c).to_numpy()[full:] for c in ("Time [s]", "Current [A]"))
    capacity = float(np.sum(0.5 * (i[1:] + i[:-1]) * np.diff(t))) / 3600.0
    assert table.get_column("SOC").to_numpy() == pytest.approx(1 - drawn / capacity, rel=1e-9)


def test_retention_is_relative_to_the_reference_cycle() -> None:
    cycles = fade_curve()
    retention = capacity_retention(cycles, reference_cycle=100)
    row = retention.filter(pl.col("Cycle count") == 100).row(0, named=True)
    assert row["Capacity retention"] == pytest.approx(1.0)
    summary = capacity_fade(cycles, reference_cycle=100).row(0, named=True)
    assert summary["Reference cycle"] == 100 and summary["Cycles"] == 900


# ------------------------------------------------------------------ fleets through scan()


def write_fleet(root: Path, frames: dict[str, pl.DataFrame], table: str) -> None:
    """An export's layout (spec/instance/measurement partitions) holding ``frames``."""
    for mid, frame in frames.items():
        directory = partition_dir(root, "spec-1", f"inst-{mid}", mid)
        directory.mkdir(parents=True, exist_ok=True)
        frame.write_parquet(directory / f"{table}.parquet")


def test_fleet_fade_table_is_one_call_on_scan(tmp_path: Path) -> None:
    knees = {"m-a": 400, "m-b": 600, "m-c": 700}
    cells = {mid: fade_curve(knee=k) for mid, k in knees.items()}
    write_fleet(tmp_path, cells, "cycles")
    table = capacity_fade(scan(tmp_path, table="cycles")).sort("measurement_id")
    assert table.get_column("measurement_id").to_list() == sorted(knees)
    for row in table.iter_rows(named=True):
        alone = capacity_fade(cells[row["measurement_id"]]).row(0, named=True)
        assert row == {"measurement_id": row["measurement_id"], **alone}
        assert abs(row["Knee cycle"] - knees[row["measurement_id"]]) <= 0.05 * 600


def test_fleet_rows_in_any_order_give_the_same_table() -> None:
    cells = {mid: fade_curve(knee=k) for mid, k in {"m-a": 400, "m-b": 600}.items()}
    stacked = pl.concat(
        f.with_columns(pl.lit(mid).alias("measurement_id")) for mid, f in cells.items()
    )
    shuffled = stacked.sample(fraction=1.0, shuffle=True, seed=4)
    assert capacity_fade(shuffled).sort("measurement_id").equals(capacity_fade(stacked))


def test_fleet_dqdv_and_pulses_per_measurement(tmp_path: Path) -> None:
    series = slow_discharge()
    shifted = series.with_columns(pl.col("Voltage [V]") + 0.1)
    write_fleet(tmp_path, {"m-1": series, "m-2": shifted}, "time_series")
    curves = dqdv(scan(tmp_path, table="time_series"))
    peaks = find_peaks(curves).sort("measurement_id", "Voltage [V]")
    one = peaks.filter(pl.col("measurement_id") == "m-1").get_column("Voltage [V]").to_numpy()
    two = peaks.filter(pl.col("measurement_id") == "m-2").get_column("Voltage [V]").to_numpy()
    assert np.abs(two - one - 0.1).max() < 0.001
    alone = find_peaks(dqdv(series)).sort("Voltage [V]").get_column("Voltage [V]").to_numpy()
    assert np.allclose(one, alone)

    train, _ = pulse_train()
    write_fleet(tmp_path / "p", {"m-1": train, "m-2": train}, "time_series")
    table = pulse_resistance(scan(tmp_path / "p", table="time_series"))
    per_cell = table.group_by("measurement_id").agg(pl.col(R0).mean())
    assert per_cell.height == 2
    assert per_cell.get_column(R0).to_list() == pytest.approx([0.025] * 2, rel=0.02)


# ------------------------------------------------------------------ the real corpus

CORPUS_FILES = [
    "maccor_001.txt",
    "neware_uio.csv",
    "batmo_bdf.csv",
    "pec.csv",
    "biol.mpr",
    "20160805_test001_45_cc_01.res",
    "20260302_IFE_BTS85_2_9_8_1.ndax",
]


def corpus_series(name: str) -> pl.DataFrame:
    if not CORPUS.is_dir():
        pytest.skip(f"the cycler corpus is not at {CORPUS}")
    try:
        return read.time_series(CORPUS / name)
    except read.ReaderError as exc:  # a missing mdb-export or fastnda, not our analysis
        if "install" in str(exc).lower():
            pytest.skip(str(exc))
        raise


@pytest.mark.parametrize("name", CORPUS_FILES)
def test_every_analysis_runs_on_the_corpus_or_says_what_is_missing(name: str) -> None:
    series = corpus_series(name)
    steps = summarize(series)
    kinds = set(steps.get_column("Step type").to_list())
    for direction in ("charge", "discharge"):
        has_cc = f"Constant current {direction}" in kinds
        if not has_cc:
            with pytest.raises(DataError, match=f"{direction} segment"):
                dqdv(series, direction=direction)
            continue
        curve = dqdv(series, direction=direction)
        assert np.isfinite(curve.get_column(DQDV).to_numpy()).all()
        assert find_peaks(curve).height >= 1
        assert dvdq(series, direction=direction).height > 0
    pulses = pulse_resistance(series)
    assert pulses.height >= 1 and pulses.get_column(R0).is_finite().all()
    cycles = get_cycle_metrics(steps)
    if (cycles.get_column("Discharge capacity [A.h]") > 0).any():
        fade = capacity_fade(cycles)
        assert fade.height == 1 and fade.get_column("Retention")[0] > 0
    else:
        with pytest.raises(DataError, match="no cycle has a positive"):
            capacity_fade(cycles)


# ------------------------------------------------------------------ plots


def test_plots_draw_what_the_analysis_found(tmp_path: Path) -> None:
    import matplotlib.pyplot as plt

    from ionworks.analysis_plots import plot_capacity_fade, plot_dqdv, plot_pulse_resistance
    from ionworks.errors import IonworksError

    fig, ax = plot_dqdv(dqdv(slow_discharge()))
    assert len(ax.lines) == 2  # the curve and its peak markers
    assert np.asarray(ax.lines[1].get_xdata()).size == len(PLATEAUS)
    fig.savefig(tmp_path / "dqdv.png")
    plt.close(fig)

    fig, ax = plot_pulse_resistance(pulse_resistance(pulse_train()[0], capacity_ah=2.0))
    assert ax.get_xlabel() == "State of charge [%]" and ax.get_ylabel() == "Resistance [mΩ]"
    plt.close(fig)

    fleet = pl.concat(
        [
            fade_curve(knee=k).with_columns(pl.lit(f"m{k}").alias("measurement_id"))
            for k in (400, 600)
        ]
    )
    fig, ax = plot_capacity_fade(fleet)
    knees = [line for line in ax.lines if line.get_marker() == "x"]
    assert sorted(round(float(np.asarray(line.get_xdata())[0])) for line in knees) == [400, 600]
    fig.savefig(tmp_path / "fade.png")
    plt.close(fig)
    assert (tmp_path / "dqdv.png").stat().st_size > 0

    with pytest.raises(IonworksError, match="dqdv"):
        plot_dqdv(pl.DataFrame({"x": [1.0]}))
    with pytest.raises(IonworksError, match="pulse_resistance"):
        plot_pulse_resistance(pl.DataFrame({"x": [1.0]}))


def test_sparse_samples_give_a_smooth_curve_not_a_beat_pattern() -> None:
    """Samples 1.8 mV apart on a 2 mV grid: binning whole intervals fills bins unevenly (a slow
    beat no smoothing removes); spreading each interval over its span gives a flat dQ/dV on a
    linear voltage curve."""
    t = np.arange(0.0, 7200.0, 10.0)
    volts = 4.0 - 1.0e-3 * 1.8 * t / 10.0  # a straight line: dQ/dV is constant
    series = pl.DataFrame(
        {
            "Time [s]": t,
            "Current [A]": np.full(t.size, 1.0),
            "Voltage [V]": volts,
            "Step count": np.zeros(t.size, dtype=np.int64),
        }
    )
    curve = dqdv(series)
    inner = curve.filter(pl.col("Voltage [V]").is_between(volts[-1] + 0.03, volts[0] - 0.03))
    values = inner.get_column(DQDV).to_numpy()
    expected = (10.0 / 3600.0) / 1.8e-3  # A.h per volt
    assert np.abs(values / expected - 1).max() < 0.01


# ------------------------------------------------------------------ the vectorised dqdv


def _spread_by_hand(volts: np.ndarray, charge: np.ndarray, width: float) -> dict[int, float]:
    """Each interval's charge spread evenly over the bins its voltage span covers, one
    interval and one bin at a time (what dqdv's histogram must equal)."""
    mass: dict[int, float] = {}
    for v0, v1, dq in zip(volts[:-1], volts[1:], charge, strict=True):
        lo, hi = min(v0, v1) / width, max(v0, v1) / width
        if hi - lo < 1e-6:
            mass[math.floor(lo)] = mass.get(math.floor(lo), 0.0) + dq
            continue
        for k in range(math.floor(lo), math.floor(hi) + 1):
            share = (min(hi, k + 1) - max(lo, k)) / (hi - lo)
            mass[k] = mass.get(k, 0.0) + dq * share
    return mass


@pytest.mark.parametrize("swing", [0.004, 0.9], ids=["a-few-bins", "across-the-range"])
def test_unsmoothed_dqdv_is_the_charge_spread_over_each_interval(swing: float) -> None:
    """Noisy, repeated and jumping voltages: intervals within one bin, at one voltage, across
    two bins, across many (both ways dqdv spreads whole bins: listed, or as a running sum when
    the intervals cross more bins than the grid has)."""
    rng = np.random.default_rng(5)
    n = 400
    volts = 3.5 + rng.uniform(-swing, swing, n)
    volts[100:140] = 3.5012  # quantisation: samples at one voltage
    volts[200] += 0.03  # a jump across a dozen bins
    t = np.cumsum(rng.uniform(0.5, 2.0, n))
    current = rng.uniform(0.9, 1.1, n)
    series = pl.DataFrame({"Time [s]": t, "Current [A]": current, "Voltage [V]": volts})
    curve = dqdv(series, smoothing=0, constant_current_only=False)
    charge = current[1:] * np.diff(t) / 3600.0
    expected = _spread_by_hand(volts, charge, 0.002)
    got = dict(
        zip(
            np.round(curve.get_column("Voltage [V]").to_numpy() / 0.002 - 0.5).astype(int),
            curve.get_column(DQDV).to_numpy() * 0.002,
            strict=True,
        )
    )
    assert set(expected) <= set(got)
    assert all(abs(got[k] - expected.get(k, 0.0)) < 1e-12 * charge.sum() for k in got)


def test_interleaved_cells_are_grouped_not_cut_into_single_rows() -> None:
    """A fleet frame whose cells' rows alternate (concatenated by time, say) gives each cell's
    curve: the rows of a cell are taken together, in order."""
    one = slow_discharge()
    two = one.with_columns(pl.col("Voltage [V]") + 0.1)
    cells = [f.with_columns(pl.lit(m).alias("measurement_id")) for m, f in (("a", one), ("b", two))]
    together = dqdv(pl.concat(cells))
    interleaved = pl.concat(cells).sort("Time [s]", "measurement_id", maintain_order=True)
    assert interleaved.get_column("measurement_id")[:4].to_list() == ["a", "b", "a", "b"]
    assert dqdv(interleaved).equals(together)


def test_a_cycle_count_that_changes_back_between_kept_rows_is_one_segment() -> None:
    """Segments are cut where the kept rows' labels differ, not wherever a label changes in
    the rows between them (a mislabelled rest sample must not split a discharge)."""
    series = slow_discharge().with_columns(
        pl.when(pl.int_range(pl.len()) == 3000)
        .then(pl.lit(0.0))
        .otherwise(pl.col("Current [A]"))
        .alias("Current [A]"),
        pl.when(pl.int_range(pl.len()) == 3000)
        .then(pl.lit(7, dtype=pl.Int64))
        .otherwise(pl.col("Cycle count"))
        .alias("Cycle count"),
    )
    curve = dqdv(series, constant_current_only=False)
    assert curve.get_column("Cycle count").unique().to_list() == [0]
    peaks = find_peaks(curve).get_column("Voltage [V]").to_numpy()
    clean = find_peaks(dqdv(slow_discharge())).get_column("Voltage [V]").to_numpy()
    assert peaks.size == clean.size and np.abs(peaks - clean).max() < 1e-3


def test_dvdq_with_a_grid_coarser_than_the_segment_says_so() -> None:
    """One capacity bin has no slope: a clear error (it was numpy's 'Shape of array too
    small' from np.gradient)."""
    with pytest.raises(DataError, match=r"resolution=5.0 A.h leaves a segment a single"):
        dvdq(slow_discharge(), resolution=5.0)


def test_peaks_of_segments_given_apart_are_those_of_each_segment() -> None:
    """find_peaks on the curves of two cycles, their rows interleaved in blocks, finds each
    cycle's peaks as on its own curve."""
    one = dqdv(slow_discharge())
    two = dqdv(slow_discharge().with_columns(pl.lit(1, dtype=pl.Int64).alias("Cycle count")))
    mixed = pl.concat(
        [one.head(200), two.head(300), one.tail(one.height - 200), two.tail(two.height - 300)]
    )
    peaks = find_peaks(mixed)
    assert peaks.equals(pl.concat([find_peaks(one), find_peaks(two)]))
    assert peaks.height == 2 * len(PLATEAUS)


def _peaks_by_walking(
    y: np.ndarray, min_prominence: float
) -> list[tuple[int, float, float, float]]:
    """(index, position, prominence, width in points) of each prominent local maximum, walking
    from each peak point by point (scipy's peak_prominences and peak_widths at half
    prominence; the position at the vertex of the parabola through the peak's three points)."""
    found = []
    i = 1
    while i < y.size - 1:
        if y[i - 1] < y[i]:
            ahead = i + 1
            while ahead < y.size - 1 and y[ahead] == y[i]:
                ahead += 1
            if y[ahead] < y[i]:
                p = (i + ahead - 1) // 2
                bases = []
                for step in (-1, 1):
                    j, lowest = p, y[p]
                    while 0 <= j + step < y.size and y[j + step] <= y[p]:
                        j += step
                        lowest = min(lowest, y[j])
                    bases.append(lowest)
                prominence = y[p] - max(bases)
                if prominence > min_prominence * y.max():
                    half, sides = y[p] - prominence / 2, []
                    for step in (-1, 1):
                        j = p
                        while 0 <= j + step < y.size and y[j + step] > half:
                            j += step
                        k = j + step
                        inside = 0 <= k < y.size and y[j] != y[k]
                        sides.append(j + step * ((y[j] - half) / (y[j] - y[k]) if inside else 0.0))
                    curvature = y[p - 1] - 2.0 * y[p] + y[p + 1]
                    vertex = 0.5 * (y[p - 1] - y[p + 1]) / curvature if curvature < 0 else 0.0
                    found.append((p, p + vertex, prominence, sides[1] - sides[0]))
                i = ahead
        i += 1
    return found


def test_peaks_of_ties_plateaus_and_noise_are_those_found_by_walking() -> None:
    """find_peaks searches every segment's peaks at once; on curves with ties, flat tops,
    short and NaN segments it finds what walking from each peak finds."""
    rng = np.random.default_rng(3)
    for _ in range(60):
        parts, expected = [], []
        for cycle in range(int(rng.integers(1, 6))):
            n = int(rng.choice([2, 3, 5, 40, 200]))
            y = np.round(rng.normal(size=n).cumsum() * 2) / 2 + 5  # flat tops and ties
            if rng.random() < 0.15:
                y[rng.integers(0, n)] = np.nan  # a segment with a gap has no peaks
            elif n >= 3:
                expected += [(cycle, *found) for found in _peaks_by_walking(y, 0.05)]
            parts.append(
                pl.DataFrame(
                    {
                        "Cycle count": np.full(n, cycle, dtype=np.int64),
                        "Voltage [V]": np.arange(n, dtype=float),  # 1 V apart: widths in points
                        DQDV: y,
                    }
                )
            )
        peaks = find_peaks(pl.concat(parts))
        got = peaks.select("Cycle count", "Voltage [V]", "Prominence", "Width [V]").rows()
        assert [g[0] for g in got] == [e[0] for e in expected]
        for (_, *values), (_, index, *truth) in zip(got, expected, strict=True):
            assert abs(values[0] - index) <= 0.5  # refined between grid points
            assert np.allclose(values, truth, rtol=0, atol=1e-12)


def _dvdq_segment_by_segment(
    series: pl.DataFrame, resolution: float | None, smoothing: float | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """dvdq's curves the plain way, one segment at a time (np.interp, smooth, np.gradient):
    what the vectorised version must equal."""
    found = collect_segments(
        series,
        step=None,
        cycle=None,
        direction=None,
        constant_current_only=True,
        min_points=20,
        by=None,
        what="dvdq",
    )
    bounds = np.append(found.starts, found.dq.size)
    middle = (found.v0 + found.v1) / 2.0
    parts = []
    for a, b in itertools.pairwise(bounds):
        q = np.cumsum(found.dq[a:b])
        width = resolution or q[-1] / 1000.0
        index = np.floor(q / width).astype(np.int64)
        counts = np.bincount(index).astype(float)
        filled = counts > 0
        means = np.bincount(index, weights=middle[a:b])[filled] / counts[filled]
        centres = (np.arange(counts.size) + 0.5) * width
        sigma = (smoothing if smoothing is not None else 0.01 * q[-1]) / width
        volts = smooth(np.interp(centres, centres[filled], means), sigma)
        parts.append((centres, volts, np.abs(np.gradient(volts, width))))
    centres, volts, slope = (np.concatenate([p[k] for p in parts]) for k in range(3))
    return centres, volts, slope


@pytest.mark.parametrize(
    ("resolution", "smoothing"), [(None, None), (0.002, 0.01), (0.001, 0.0)], ids=str
)
def test_dvdq_of_all_segments_at_once_is_each_segments_own(
    resolution: float | None, smoothing: float | None
) -> None:
    """Segments of different capacities (their own grid and kernel by default), sparse samples
    (empty bins interpolated) and a short segment (the kernel cut to fit) give, computed
    together, the curves each segment gives on its own."""
    full = slow_discharge()
    cycles = [
        full,
        full.gather_every(7).with_columns(pl.col("Current [A]") * 7),  # sparse: empty bins
        full.head(400),  # short: 11 bins of 2 mA.h, fewer than the kernel's points
        full.slice(2000, 3000).with_columns(pl.col("Current [A]") * 0.5),
    ]
    series = pl.concat(
        [
            c.with_columns(pl.lit(k, dtype=pl.Int64).alias("Cycle count"))
            for k, c in enumerate(cycles)
        ]
    ).with_columns(pl.int_range(pl.len()).cast(pl.Float64).alias("Time [s]"))
    curve = dvdq(series, resolution=resolution, smoothing=smoothing)
    centres, volts, slope = _dvdq_segment_by_segment(series, resolution, smoothing)
    assert curve.get_column("Cycle count").unique(maintain_order=True).to_list() == [0, 1, 2, 3]
    got = [curve.get_column(c).to_numpy() for c in ("Capacity [A.h]", "Voltage [V]", DVDQ)]
    for values, truth in zip(got, (centres, volts, slope), strict=True):
        assert values.shape == truth.shape
        assert np.abs(values - truth).max() <= 1e-11 * np.abs(truth).max()


@pytest.mark.parametrize("smoothing", [0.005, 0.02])
def test_smoothed_dqdv_of_all_segments_at_once_is_each_segments_own(smoothing: float) -> None:
    """Each segment's charge spread by hand, smoothed on its own (the kernel's overlap with the
    segment normalising its ends, a segment narrower than the kernel included): what dqdv
    computes for every segment at once."""
    full = slow_discharge()
    cycles = [full.slice(0, 6000), full.slice(9000, 40), full.slice(20000, 3000), full.head(900)]
    series = pl.concat(
        [
            c.with_columns(pl.lit(k, dtype=pl.Int64).alias("Cycle count"))
            for k, c in enumerate(cycles)
        ]
    )
    curve = dqdv(series, smoothing=smoothing)
    found = collect_segments(
        series,
        step=None,
        cycle=None,
        direction=None,
        constant_current_only=True,
        min_points=20,
        by=None,
        what="dqdv",
    )
    kernel = gaussian_kernel(smoothing / 0.002)
    pad = kernel.size // 2
    expected = []
    for a, b in itertools.pairwise(np.append(found.starts, found.dq.size)):
        volts = np.append(found.v0[a:b], found.v1[b - 1])
        assert np.array_equal(volts[1:-1], found.v1[a : b - 1])  # consecutive intervals
        spread = _spread_by_hand(volts, found.dq[a:b], 0.002)
        mass = np.array([spread.get(k, 0.0) for k in range(min(spread), max(spread) + 1)])
        inside = np.convolve(np.ones(mass.size), kernel, "full")[pad : pad + mass.size]
        expected.append(np.convolve(mass, kernel, "full")[pad : pad + mass.size] / inside)
    assert min(e.size for e in expected) < kernel.size < max(e.size for e in expected) // 2
    got = curve.get_column(DQDV).to_numpy() * 0.002
    truth = np.concatenate(expected)
    assert got.shape == truth.shape
    assert np.abs(got - truth).max() <= 1e-11 * truth.max()


def test_segment_edges_cells_times_and_a_first_sample_dropped() -> None:
    """No interval joins two cells (a fleet whose second cell's clock runs on from the
    first's), a missing voltage at a run's first row drops only that row's interval, and a
    segment of exactly min_points intervals is kept."""
    one = slow_discharge().head(4000)
    cells = [
        one.with_columns(pl.lit("a").alias("measurement_id")),
        one.with_columns(
            pl.col("Time [s]") + one.get_column("Time [s]").max() + 1.0,
            pl.col("Voltage [V]") + 0.3,
            pl.lit("b").alias("measurement_id"),
        ),
    ]
    for function in (dqdv, dvdq):  # (equal up to the rounding of a running sum)
        apart = pl.concat([function(cell) for cell in cells])
        assert_frame_equal(function(pl.concat(cells)), apart, rel_tol=1e-9, abs_tol=1e-9)
    gap = pl.when(pl.int_range(pl.len()) == 0).then(None).otherwise(pl.col("Voltage [V]"))
    dropped = dqdv(one.with_columns(gap.alias("Voltage [V]")))
    assert_frame_equal(dropped, dqdv(one.slice(1)), rel_tol=1e-9, abs_tol=1e-9)
    assert dqdv(one.head(21), min_points=20).height > 0  # 21 rows: 20 intervals
    with pytest.raises(DataError, match="fewer than min_points=20"):
        dqdv(one.head(20), min_points=20)


# ------------------------------------------------------------------ long series, two threads


def _cycles(count: int, every: int = 10) -> pl.DataFrame:
    """``count`` discharges through the plateaus (every ``every``-th sample), one cycle each,
    on one clock."""
    one = slow_discharge().gather_every(every)
    cycles = [
        one.with_columns(
            pl.col("Voltage [V]") - 0.01 * k,  # each cycle a little lower: not equal curves
            pl.lit(k, dtype=pl.Int64).alias("Cycle count"),
        )
        for k in range(count)
    ]
    time = pl.int_range(pl.len()).cast(pl.Float64) * every
    return pl.concat(cycles).with_columns(time.alias("Time [s]"))


def _in_two_threads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Make every series "long" (read in two threads); the number of calls each parallel run
    made, recorded."""
    from ionworks.data.analysis import _segments

    runs: list[int] = []
    run = _segments.in_parallel

    def spy(calls: list[object]) -> list[object]:
        runs.append(len(calls))
        return run(calls)  # type: ignore[arg-type]

    monkeypatch.setattr(_segments, "PARALLEL_ROWS", 1000)
    monkeypatch.setattr(_segments, "in_parallel", spy)
    return runs


def _assert_same_curves(got: pl.DataFrame, expected: pl.DataFrame) -> None:
    assert got.columns == expected.columns and got.height == expected.height
    assert got.drop("Voltage [V]", DQDV).equals(expected.drop("Voltage [V]", DQDV))
    assert got.get_column("Voltage [V]").equals(expected.get_column("Voltage [V]"))
    values, truth = (f.get_column(DQDV).to_numpy() for f in (got, expected))
    assert np.abs(values - truth).max() <= 1e-14 * np.abs(truth).max()


@pytest.mark.parametrize("kw", [{}, {"smoothing": 0.0}, {"constant_current_only": False}], ids=str)
def test_a_long_series_read_in_two_threads_gives_the_curves_of_one(
    monkeypatch: pytest.MonkeyPatch, kw: dict[str, object]
) -> None:
    """Cut at a cycle boundary near the middle, the halves read and binned in two threads on
    the whole grid's bin positions: the curves the series gives read in one piece (the
    interval across the cut, the first of a cycle, kept)."""
    series = _cycles(8)
    expected = dqdv(series, **kw)  # type: ignore[arg-type]
    runs = _in_two_threads(monkeypatch)
    got = dqdv(series, **kw)  # type: ignore[arg-type]
    assert runs == [2]
    assert expected.get_column("Cycle count").unique().to_list() == list(range(8))
    _assert_same_curves(got, expected)


def test_a_label_back_across_the_cut_is_still_one_segment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A mislabelled rest sample at the very middle is where the series would be cut; the
    discharge on both sides of it is one segment, as read in one piece, not two halves with
    one label."""
    series = slow_discharge().gather_every(10)
    middle = series.height // 2
    rest = pl.int_range(pl.len()) == middle
    series = series.with_columns(
        pl.when(rest).then(pl.lit(0.0)).otherwise(pl.col("Current [A]")).alias("Current [A]"),
        pl.when(rest).then(pl.lit(7)).otherwise(pl.col("Cycle count")).alias("Cycle count"),
    )
    expected = dqdv(series, constant_current_only=False)
    runs = _in_two_threads(monkeypatch)
    got = dqdv(series, constant_current_only=False)
    assert runs == [2]  # cut, then read again in one piece
    assert got.get_column("Cycle count").unique().to_list() == [0]
    _assert_same_curves(got, expected)


def test_a_half_without_a_segment_and_errors_across_halves(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A first half that only charges gives the second half's discharges; with no segment in
    either half, the errors are those of the series read in one piece."""
    series = _cycles(8)
    charging = pl.col("Cycle count") < 4
    series = series.with_columns(
        pl.when(charging).then(-pl.col("Current [A]")).otherwise(pl.col("Current [A]"))
    )
    expected = dqdv(series)
    runs = _in_two_threads(monkeypatch)
    _assert_same_curves(dqdv(series), expected)
    assert dqdv(series).get_column("Cycle count").unique().to_list() == [4, 5, 6, 7]
    with pytest.raises(DataError, match="fewer than min_points=100000"):
        dqdv(series, min_points=100_000)
    with pytest.raises(DataError, match="no discharge segment"):
        dqdv(series.with_columns(-pl.col("Current [A]").abs()))
    assert runs == [2, 2, 2, 2]  # every call above was read in two halves


def test_the_worker_thread_runs_a_call_or_it_is_run_here_when_busy() -> None:
    """A call offered to the worker runs there while this thread runs the last; one the worker
    has not started (busy with another dqdv, or not yet scheduled) is run here instead of
    waited for; an error in either comes back here."""
    from ionworks.data.analysis import _segments

    here = threading.current_thread().name
    started = threading.Event()

    def first() -> str:
        started.set()
        return threading.current_thread().name

    def last() -> str:
        assert started.wait(30)  # the worker has taken the first call
        return "last"

    name, _ = _segments.in_parallel([first, last])
    assert name.startswith("ionworks-analysis") and name != here
    busy = threading.Event()
    blocker = _segments._worker().submit(busy.wait, 30)
    try:
        assert _segments.in_parallel([lambda: threading.current_thread().name, lambda: "last"]) == [
            here,
            "last",
        ]
    finally:
        busy.set()
        blocker.result()

    def boom() -> str:
        raise ValueError("from the worker")

    with pytest.raises(ValueError, match="from the worker"):
        _segments.in_parallel([boom, lambda: "last"])
