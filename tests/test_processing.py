"""Specification of server-side measurement processing and of the synthetic demo data.

The hand-built series below is small enough to check every number by hand; the comments next
to the expected values show the arithmetic.
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from ionworks.data.cycles import CYCLE_METRIC_COLUMNS, cycle_metrics
from ionworks.data.errors import DataError
from ionworks.data.steps import STEP_COLUMNS, StepSummariser, derive_steps
from ionworks.data.validate import SeriesValidator, validate_time_series
from ionworks_server.demo_data import demo_catalog, long_series, simulate_cycling
from ionworks_server.processing import ProcessingError, process, process_chunks

H = 3600.0  # seconds per hour: A.s -> A.h


def hand_built_series() -> pl.DataFrame:
    """Two cycles sampled every 10 s: rest / 1 A discharge / rest / 0.5 A charge, then a
    0.5 A discharge and a 0.25 A charge. No step or capacity columns: the server derives them."""
    rows = [
        # time, current, voltage, cycle from cycler
        (0.0, 0.0, 3.60, 1),  # step 0: rest
        (10.0, 0.0, 3.60, 1),
        (20.0, 1.0, 3.50, 1),  # step 1: 1 A discharge
        (30.0, 1.0, 3.45, 1),
        (40.0, 1.0, 3.40, 1),
        (50.0, 0.0, 3.52, 1),  # step 2: rest
        (60.0, 0.0, 3.53, 1),
        (70.0, -0.5, 3.70, 1),  # step 3: 0.5 A charge
        (80.0, -0.5, 3.75, 1),
        (90.0, -0.5, 3.80, 1),
        (100.0, 0.5, 3.60, 2),  # step 4: 0.5 A discharge (second cycle)
        (110.0, 0.5, 3.55, 2),
        (120.0, 0.5, 3.50, 2),
        (130.0, -0.25, 3.60, 2),  # step 5: 0.25 A charge
        (140.0, -0.25, 3.65, 2),
        (150.0, -0.25, 3.70, 2),
    ]
    return pl.DataFrame(
        rows,
        schema=["Time [s]", "Current [A]", "Voltage [V]", "Cycle from cycler"],
        orient="row",
    )


# ------------------------------------------------------------------------------------------
# Steps and cycles on a hand-built series
# ------------------------------------------------------------------------------------------


def test_derive_steps_on_hand_built_series_matches_hand_computed_values() -> None:
    steps = derive_steps(hand_built_series())

    assert steps.columns == list(STEP_COLUMNS)
    assert steps["Step count"].to_list() == [0, 1, 2, 3, 4, 5]
    assert steps["Start index"].to_list() == [0, 2, 5, 7, 10, 13]
    assert steps["End index"].to_list() == [1, 4, 6, 9, 12, 15]
    assert steps["Cycle count"].to_list() == [0, 0, 0, 0, 1, 1]
    assert steps["Cycle from cycler"].to_list() == [1, 1, 1, 1, 2, 2]
    assert steps["Step from cycler"].to_list() == [None] * 6
    assert steps["Duration [s]"].to_list() == [10.0, 20.0, 10.0, 20.0, 20.0, 20.0]
    assert steps["Step type"].to_list() == [
        "Rest",
        "Constant current discharge",
        "Rest",
        "Constant current charge",
        "Constant current discharge",
        "Constant current charge",
    ]
    # Trapezoidal integration inside each step: 1 A x 20 s, 0.5 A x 20 s, ...
    assert steps["Discharge capacity [A.h]"].to_list() == pytest.approx(
        [0, 20 / H, 0, 0, 10 / H, 0]
    )
    assert steps["Charge capacity [A.h]"].to_list() == pytest.approx([0, 0, 0, 10 / H, 0, 5 / H])
    # 10 s x ((3.5 + 3.45) / 2 + (3.45 + 3.4) / 2) W = 69 W.s, and so on.
    assert steps["Discharge energy [W.h]"].to_list() == pytest.approx(
        [0, 69 / H, 0, 0, 35.5 / H, 0]
    )
    assert steps["Charge energy [W.h]"].to_list() == pytest.approx(
        [0, 0, 0, 37.5 / H, 0, 18.25 / H]
    )
    assert steps["Mean power [W]"][1] == pytest.approx(3.45)  # mean of 3.5, 3.45, 3.4 at 1 A
    # Three samples: the first is skipped, so the std is that of 3.45 and 3.40.
    assert steps["Std voltage [V]"][1] == pytest.approx(0.05 / 2**0.5)
    # Two samples: nothing is skipped.
    assert steps["Std voltage [V]"][2] == pytest.approx(0.01 / 2**0.5)
    assert steps["Cycle discharge capacity [A.h]"].to_list() == pytest.approx(
        [20 / H] * 4 + [10 / H] * 2
    )
    assert steps["Cycle charge energy [W.h]"].to_list() == pytest.approx(
        [37.5 / H] * 4 + [18.25 / H] * 2
    )
    # Without a Frequency column the series counts as 0 Hz (ionworksdata 0.20.2 fills the
    # column with 0.0 before aggregating; this table served nulls before issue 12).
    assert (
        steps.select(
            "Min frequency [Hz]", "Max frequency [Hz]", "Std frequency [Hz]", "Mean frequency [Hz]"
        )
        .to_series(3)
        .to_list()
        == [0.0] * 6
    )
    assert steps["Min frequency [Hz]"].to_list() == [0.0] * 6


def test_derive_steps_dtypes_follow_the_wire_contract() -> None:
    schema = derive_steps(hand_built_series()).schema
    ints = {"Start index", "End index", "Step count", "Step from cycler", "Cycle count"}
    ints |= {"Cycle from cycler"}
    for name, dtype in schema.items():
        if name in ints:
            assert dtype == pl.Int64, name
        elif name == "Step type":
            assert dtype == pl.String
        else:
            assert dtype == pl.Float64, name


def test_cycle_metrics_on_hand_built_series_matches_hand_computed_values() -> None:
    cycles = cycle_metrics(derive_steps(hand_built_series()))

    assert cycles.columns == list(CYCLE_METRIC_COLUMNS[:19]) + list(CYCLE_METRIC_COLUMNS[20:])
    assert cycles["Cycle count"].to_list() == [0, 1]
    assert cycles["Discharge capacity [A.h]"].to_list() == pytest.approx([20 / H, 10 / H])
    assert cycles["Charge capacity [A.h]"].to_list() == pytest.approx([10 / H, 5 / H])
    assert cycles["Coulombic efficiency"].to_list() == pytest.approx([2.0, 2.0])
    assert cycles["Energy efficiency"].to_list() == pytest.approx([69 / 37.5, 35.5 / 18.25])
    assert cycles["Capacity retention"].to_list() == pytest.approx([1.0, 0.5])
    assert cycles["Capacity fade"].to_list() == pytest.approx([0.0, 0.5])
    assert cycles["Energy retention"].to_list() == pytest.approx([1.0, 35.5 / 69])
    assert cycles["Capacity throughput [A.h]"].to_list() == pytest.approx([30 / H, 45 / H])
    assert cycles["Energy throughput [W.h]"].to_list() == pytest.approx(
        [(69 + 37.5) / H, (69 + 37.5 + 35.5 + 18.25) / H]
    )
    assert cycles["Cycle duration [s]"].to_list() == [60.0, 40.0]
    assert cycles["Start time [s]"].to_list() == [0.0, 100.0]
    assert cycles["Min voltage [V]"].to_list() == [3.4, 3.5]
    assert cycles["Max voltage [V]"].to_list() == [3.8, 3.7]
    assert cycles["Mean discharge current [A]"].to_list() == pytest.approx([1.0, 0.5])
    assert cycles["Discharge duration [s]"].to_list() == [20.0, 20.0]
    assert cycles["Mean charge current [A]"].to_list() == pytest.approx([-0.5, -0.25])
    assert cycles["Charge duration [s]"].to_list() == [20.0, 20.0]


def test_cycle_metrics_leaves_ratios_null_when_there_is_nothing_to_divide_by() -> None:
    steps = pl.DataFrame(
        {
            "Cycle count": [0, 1, 1],
            "Discharge capacity [A.h]": [0.0, 1.0, 0.0],
            "Charge capacity [A.h]": [0.0, 0.0, 1.1],
            "Duration [s]": [10.0, 3600.0, 3000.0],
            "Mean current [A]": [0.0, 1.0, -1.2],
            "Min voltage [V]": [3.0, 2.7, 3.2],
            "Max voltage [V]": [3.1, 4.0, 4.2],
            "Start time [s]": [0.0, 10.0, 3610.0],
        }
    )
    cycles = cycle_metrics(steps)

    # No energy columns in, no energy metrics out.
    assert "Energy efficiency" not in cycles.columns
    assert "Energy throughput [W.h]" not in cycles.columns
    assert cycles["Coulombic efficiency"].to_list() == [None, pytest.approx(1.0 / 1.1)]
    # The first cycle discharged nothing, so retention has no reference.
    assert cycles["Capacity retention"].to_list() == [None, None]
    assert cycles["Mean discharge current [A]"].to_list() == [None, 1.0]
    assert cycles["Discharge duration [s]"].to_list() == [None, 3600.0]


def test_cycle_metrics_weights_temperature_by_duration_when_steps_carry_it() -> None:
    steps = pl.DataFrame(
        {
            "Cycle count": [0, 0],
            "Discharge capacity [A.h]": [1.0, 0.0],
            "Charge capacity [A.h]": [0.0, 1.0],
            "Duration [s]": [100.0, 300.0],
            "Mean current [A]": [1.0, -1.0],
            "Mean temperature [degC]": [30.0, 26.0],
        }
    )
    cycles = cycle_metrics(steps)
    assert cycles["Mean temperature [degC]"].to_list() == [pytest.approx(27.0)]
    assert cycles.columns[-2:] == ["Mean temperature [degC]", "Capacity throughput [A.h]"]


def test_derive_steps_uses_uploaded_cumulative_columns_as_last_minus_first() -> None:
    ts = hand_built_series().with_columns(
        pl.Series("Discharge capacity [A.h]", [0.0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0, 1, 3, 0, 0, 0]),
        pl.Series("Charge capacity [A.h]", [0.0] * 16),
    )
    steps = derive_steps(ts)
    assert steps["Discharge capacity [A.h]"].to_list() == [0.0, 2.0, 0.0, 0.0, 3.0, 0.0]
    # Energies are still integrated because the series does not carry them.
    assert steps["Discharge energy [W.h]"][1] == pytest.approx(69 / H)


def test_rated_capacity_sets_the_rest_tolerance_for_small_currents() -> None:
    ts = pl.DataFrame(
        {
            "Time [s]": [0.0, 10, 20, 30],
            "Current [A]": [2e-4] * 4,
            "Voltage [V]": [3.7, 3.69, 3.68, 3.67],
        }
    )
    # 0.2 mA is below C/1000 of a 1 A.h cell: the cell is resting.
    assert derive_steps(ts, rated_capacity_ah=1.0)["Step type"].to_list() == ["Rest"]
    # Without a rating the tolerance is 1 % of the largest current, so this is a real step.
    assert derive_steps(ts)["Step type"].to_list() == ["Constant current discharge"]


def test_eis_rows_may_lack_time_and_are_classified_as_eis() -> None:
    ts = pl.DataFrame(
        {
            "Time [s]": [None, None, None, 100.0, 110.0],
            "Current [A]": [0.0, 0.0, 0.0, 1.0, 1.0],
            "Voltage [V]": [3.7, 3.7, 3.7, 3.6, 3.55],
            "Frequency [Hz]": [1000.0, 100.0, 10.0, None, None],
            "Step count": [0, 0, 0, 1, 1],
        }
    )
    steps = derive_steps(ts)
    assert steps["Step type"].to_list() == ["EIS", "Constant current discharge"]
    assert steps["Mean frequency [Hz]"][0] == pytest.approx(370.0)


# ------------------------------------------------------------------------------------------
# Validation and normalisation
# ------------------------------------------------------------------------------------------


def test_validate_casts_required_columns_to_float64_and_derives_counts() -> None:
    ts = pl.DataFrame(
        {
            "Time [s]": [0, 1, 2, 3, 4, 5],
            "Current [A]": [0, 0, 2, 2, -1, -1],
            "Voltage [V]": ["3.7", "3.7", "3.6", "3.5", "3.8", "3.9"],
        }
    )
    out = validate_time_series(ts)
    assert out.schema["Time [s]"] == pl.Float64
    assert out.schema["Current [A]"] == pl.Float64
    assert out["Voltage [V]"].to_list() == [3.7, 3.7, 3.6, 3.5, 3.8, 3.9]
    # rest -> discharge -> charge
    assert out["Step count"].to_list() == [0, 0, 1, 1, 2, 2]
    assert out["Cycle count"].to_list() == [0] * 6
    assert out.schema["Step count"] == pl.Int64


def test_validate_derives_step_count_from_cycler_steps_and_cycles() -> None:
    ts = pl.DataFrame(
        {
            "Time [s]": [0.0, 1, 2, 3, 4, 5],
            "Current [A]": [1.0, 1, 1, 1, 1, 1],
            "Voltage [V]": [3.7] * 6,
            "Step from cycler": [7, 7, 8, 8, 8, 8],
            # The cycler reuses step 8 in the next cycle: that still opens a new step.
            "Cycle from cycler": [1, 1, 1, 1, 2, 2],
        }
    )
    out = validate_time_series(ts)
    assert out["Step count"].to_list() == [0, 0, 1, 1, 2, 2]
    assert out["Cycle count"].to_list() == [0, 0, 0, 0, 1, 1]


def test_validate_rejects_a_missing_column_and_lists_what_was_found() -> None:
    ts = pl.DataFrame({"Time [s]": [0.0], "Current [A]": [1.0], "Volts": [3.7]})
    with pytest.raises(ProcessingError) as err:
        validate_time_series(ts)
    message = str(err.value)
    assert "missing required column 'Voltage [V]'" in message
    assert "found columns: 'Time [s]', 'Current [A]', 'Volts'" in message


def test_validate_rejects_decreasing_time_naming_the_row_and_values() -> None:
    ts = pl.DataFrame(
        {
            "Time [s]": [0.0, 5.0, 10.0, 9.5, 12.0],
            "Current [A]": [0.0] * 5,
            "Voltage [V]": [3.7] * 5,
        }
    )
    with pytest.raises(ProcessingError, match=re.escape("decreases at row 3 (from 10.0 to 9.5)")):
        validate_time_series(ts)


def test_validate_rejects_an_empty_series() -> None:
    ts = pl.DataFrame(
        schema={"Time [s]": pl.Float64, "Current [A]": pl.Float64, "Voltage [V]": pl.Float64}
    )
    with pytest.raises(ProcessingError, match="time series is empty"):
        validate_time_series(ts)


def test_validate_rejects_text_in_a_numeric_column() -> None:
    ts = pl.DataFrame(
        {"Time [s]": [0.0, 1.0], "Current [A]": ["1.0", "1.2 A"], "Voltage [V]": [3.7, 3.7]}
    )
    with pytest.raises(ProcessingError, match=r"'Current \[A\]' must hold numbers.*row 1"):
        validate_time_series(ts)


def test_validate_rejects_missing_time_outside_eis_rows() -> None:
    ts = pl.DataFrame(
        {"Time [s]": [0.0, None, 2.0], "Current [A]": [0.0] * 3, "Voltage [V]": [3.7] * 3}
    )
    with pytest.raises(ProcessingError, match=r"'Time \[s\]' is empty at row 1"):
        validate_time_series(ts)


def test_validate_rejects_fractional_step_counts() -> None:
    ts = pl.DataFrame(
        {
            "Time [s]": [0.0, 1.0],
            "Current [A]": [0.0, 0.0],
            "Voltage [V]": [3.7, 3.7],
            "Step count": [0.0, 0.5],
        }
    )
    with pytest.raises(ProcessingError, match=r"'Step count' must hold whole numbers.*row 1"):
        validate_time_series(ts)


def test_validate_gives_eis_rows_their_own_step_when_deriving_step_count() -> None:
    ts = pl.DataFrame(
        {
            "Time [s]": [None, None, 0.0, 10.0, 20.0],
            "Current [A]": [None, None, 1.0, 1.0, 0.0],
            "Voltage [V]": [3.7, 3.7, 3.6, 3.5, 3.55],
            "Frequency [Hz]": [100.0, 10.0, None, None, None],
        }
    )
    assert validate_time_series(ts)["Step count"].to_list() == [0, 0, 1, 1, 2]


# ------------------------------------------------------------------------------------------
# process(): uploaded vs derived steps
# ------------------------------------------------------------------------------------------


def test_process_derives_steps_when_none_were_uploaded() -> None:
    series, steps, cycles = process(hand_built_series(), None, None)
    assert series["Step count"].to_list()[-1] == 5
    assert steps.height == 6
    assert cycles.height == 2


def test_process_keeps_uploaded_steps_and_adds_their_cycle_count() -> None:
    uploaded = pl.DataFrame(
        {
            "Step count": [0, 1],
            "Start index": [0, 10],
            "End index": [9, 15],
            "Discharge capacity [A.h]": [0.5, 0.25],
            "Charge capacity [A.h]": [0.25, 0.0],
        }
    )
    _, steps, cycles = process(hand_built_series(), uploaded, None)
    assert steps["Cycle count"].to_list() == [0, 1]
    assert steps["Discharge capacity [A.h]"].to_list() == [0.5, 0.25]
    assert cycles["Capacity retention"].to_list() == [1.0, 0.5]


def test_process_rejects_uploaded_steps_without_indices() -> None:
    uploaded = pl.DataFrame({"Step count": [0], "Start": [0]})
    with pytest.raises(ProcessingError, match=r"missing required column\(s\) 'Start index'"):
        process(hand_built_series(), uploaded, None)


def test_process_rejects_uploaded_steps_pointing_past_the_series() -> None:
    uploaded = pl.DataFrame({"Step count": [0, 1], "Start index": [0, 8], "End index": [7, 99]})
    with pytest.raises(ProcessingError, match=r"row 1 spans rows 8\.\.99.*rows 0\.\.15"):
        process(hand_built_series(), uploaded, None)


# ------------------------------------------------------------------------------------------
# process_chunks(): the same results from a series read in chunks
# ------------------------------------------------------------------------------------------


def _chunked(
    ts: pl.DataFrame,
    size: int,
    steps: pl.DataFrame | None = None,
    rated: float | None = None,
) -> tuple[int, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """process_chunks() over ``ts`` cut into chunks of ``size`` rows; the series concatenated."""
    parts: list[pl.DataFrame] = []
    chunks = [ts.slice(offset, size) for offset in range(0, ts.height, size)]
    rows, out_steps, cycles = process_chunks(chunks, ts.columns, steps, rated, parts.append)
    return rows, pl.concat(parts), out_steps, cycles


def _series_variants() -> dict[str, pl.DataFrame]:
    """Series exercising every carried state: derived steps by mode (with missing currents),
    by cycler numbers, EIS rows without time, integrated capacities, counts as uploaded."""
    sim = simulate_cycling(capacity_ah=1.0, n_cycles=3, seed=1, sample_period_s=60.0)
    by_mode = sim.drop("Step count", "Cycle count", "Step from cycler", "Cycle from cycler")
    current = by_mode["Current [A]"].to_numpy().copy()
    current[:3] = np.nan  # rows without a current before any mode is known
    current[::41] = np.nan
    by_mode = by_mode.with_columns(pl.Series("Current [A]", current))
    n = by_mode.height
    frequency = np.full(n, np.nan)
    frequency[n // 2 : n // 2 + 9] = np.logspace(4, 0, 9)
    time = by_mode["Time [s]"].to_numpy().copy()
    time[n // 2 : n // 2 + 9] = np.nan
    eis = by_mode.with_columns(
        pl.Series("Frequency [Hz]", frequency).fill_nan(None),
        pl.Series("Time [s]", time).fill_nan(None),
    )
    by_cycler = sim.drop("Step count", "Cycle count")
    integrated = sim.select(c for c in sim.columns if "capacity" not in c and "energy" not in c)
    return {
        "hand built": hand_built_series(),
        "by mode": by_mode,
        "eis": eis,
        "by cycler": by_cycler,
        "integrated": integrated,
        "as uploaded": sim,
    }


@pytest.mark.parametrize("name", list(_series_variants()))
@pytest.mark.parametrize("size", [1, 3, 50, 1000])
def test_process_chunks_gives_what_process_gives_for_any_chunk_size(name: str, size: int) -> None:
    ts = _series_variants()[name]
    if size == 1 and ts.height > 200:
        ts = ts.head(200)
    series, steps, cycles = process(ts, None, 1.0)
    rows, chunked_series, chunked_steps, chunked_cycles = _chunked(ts, size, rated=1.0)
    assert rows == ts.height
    assert chunked_series.equals(series)
    # Float sums may differ in the last digit: polars' own aggregations do from run to run.
    assert_frame_equal(chunked_steps, steps, rel_tol=1e-12, abs_tol=1e-14)
    assert_frame_equal(chunked_cycles, cycles, rel_tol=1e-12, abs_tol=1e-14)


@pytest.mark.parametrize("name", list(_series_variants()))
@pytest.mark.parametrize(("long_step_rows", "size"), [(3, 5), (10, 64), (100, 7)])
def test_steps_too_long_to_hold_are_summarised_piece_by_piece(
    name: str, long_step_rows: int, size: int
) -> None:
    """Merged from pieces, a long step's sums, means and spreads match one pass to rounding."""
    ts = _series_variants()[name]
    _, steps, cycles = process(ts, None, 1.0)
    validator = SeriesValidator(ts.columns)
    summary = StepSummariser(1.0, long_step_rows=long_step_rows)
    for offset in range(0, ts.height, size):
        summary.add(validator.chunk(ts.slice(offset, size)))
    pieced = summary.finish()
    assert pieced.select("Start index", "End index").equals(
        steps.select("Start index", "End index")
    )
    assert_frame_equal(pieced, steps, rel_tol=1e-12, abs_tol=1e-14)
    assert_frame_equal(cycle_metrics(pieced), cycles, rel_tol=1e-12, abs_tol=1e-14)


def test_process_chunks_takes_uploaded_steps_cycle_counts_from_every_chunk() -> None:
    uploaded = pl.DataFrame({"Step count": [0, 1], "Start index": [0, 10], "End index": [9, 15]})
    _, expected, _ = process(hand_built_series(), uploaded, None)
    _, _, steps, _ = _chunked(hand_built_series(), 4, uploaded)
    assert steps.equals(expected)
    assert steps["Cycle count"].to_list() == [0, 1]


def test_process_chunks_names_rows_of_the_whole_series() -> None:
    ts = hand_built_series()
    backwards = ts.with_columns(
        pl.when(pl.int_range(pl.len()) == 8)
        .then(5.0)
        .otherwise(pl.col("Time [s]"))
        .alias("Time [s]")
    )
    with pytest.raises(ProcessingError, match=r"decreases at row 8 \(from 70\.0 to 5\.0\)"):
        _chunked(backwards, 4)  # row 8 opens the third chunk: compared with row 7
    text = ts.with_columns(ts["Voltage [V]"].cast(pl.String).scatter(13, "3.6 V"))
    with pytest.raises(ProcessingError, match=r"row 13 holds '3\.6 V'"):
        _chunked(text, 5)


def test_process_chunks_refuses_a_series_without_rows() -> None:
    with pytest.raises(ProcessingError, match="empty"):
        _chunked(hand_built_series().head(0), 4)


def test_every_check_of_the_data_core_fails_as_the_error_the_worker_stores() -> None:
    """The worker turns a ProcessingError into the measurement's processing_error; the checks
    now live in ionworks.data, so what they raise must be caught as one."""
    backwards = hand_built_series().with_columns(pl.col("Time [s]").reverse())
    with pytest.raises(DataError, match="decreases") as caught:
        validate_time_series(backwards)
    assert isinstance(caught.value, ProcessingError)
    with pytest.raises(ProcessingError, match="decreases"):
        derive_steps(backwards)


# ------------------------------------------------------------------------------------------
# Synthetic data
# ------------------------------------------------------------------------------------------

TS_COLUMNS = [
    "Time [s]",
    "Current [A]",
    "Voltage [V]",
    "Temperature [degC]",
    "Step count",
    "Cycle count",
    "Discharge capacity [A.h]",
    "Charge capacity [A.h]",
    "Discharge energy [W.h]",
    "Charge energy [W.h]",
    "Step from cycler",
    "Cycle from cycler",
]


@pytest.mark.parametrize("chemistry", ["NMC", "LFP", "NCA", "LCO"])
def test_simulated_cycling_yields_the_cc_cv_protocol_steps_in_order(chemistry: str) -> None:
    ts = simulate_cycling(capacity_ah=3.0, n_cycles=3, seed=1, chemistry=chemistry)
    assert ts.columns == TS_COLUMNS
    steps = derive_steps(ts)
    cycle = ["Constant current charge", "Constant voltage charge", "Rest"]
    cycle += ["Constant current discharge", "Rest"]
    assert steps["Step type"].to_list() == ["Rest", *cycle * 3]
    assert steps["Cycle count"].to_list() == [0, *[c for c in range(3) for _ in range(5)]]
    cycles = cycle_metrics(steps)
    # Side reactions keep 0.2 % of the charge (default coulombic_efficiency=0.998); at C/2 a
    # real cell delivers a little less than its rated capacity.
    assert cycles["Coulombic efficiency"].to_list() == pytest.approx([0.998] * 3, abs=1e-3)
    assert 0.85 < cycles["Discharge capacity [A.h]"][1] / 3.0 < 1.0
    assert 0.0 < cycles["Capacity fade"][2] < 0.01


def test_simulated_cycling_follows_the_series_conventions() -> None:
    ts = simulate_cycling(capacity_ah=0.0049, n_cycles=2, seed=5, with_temperature=False)
    assert "Temperature [degC]" not in ts.columns
    assert ts["Time [s]"][0] == 0.0
    assert ts["Time [s]"].diff().drop_nulls().min() >= 0  # type: ignore[operator]
    starts = ts["Step count"].diff().fill_null(1) == 1
    assert (
        ts.filter(starts)["Discharge capacity [A.h]"].to_list()
        == [0.0] * ts["Step count"].n_unique()
    )
    assert ts.filter(pl.col("Current [A]") > 0)["Voltage [V]"].min() >= 2.69  # type: ignore[operator]
    assert ts["Voltage [V]"].max() <= 4.21  # type: ignore[operator]


def test_simulated_cycling_is_deterministic() -> None:
    first = simulate_cycling(capacity_ah=5.0, n_cycles=27, seed=3)
    assert 45_000 < first.height < 55_000
    assert first.equals(simulate_cycling(capacity_ah=5.0, n_cycles=27, seed=3))
    assert not first.equals(simulate_cycling(capacity_ah=5.0, n_cycles=27, seed=4))


def test_long_series_has_exactly_the_requested_rows_and_validates() -> None:
    ts = long_series(200_000)
    assert ts.height == 200_000
    assert ts.columns == TS_COLUMNS
    validated = validate_time_series(ts)
    assert validated["Step count"].equals(ts["Step count"])
    # The cut does not leave a one-row step behind.
    assert ts["Step count"][-1] == ts["Step count"][-2]


def test_a_million_rows_are_summarised_into_steps_and_cycles() -> None:
    """Speed is measured by `make bench` (upload + processing), not asserted here."""
    ts = long_series(1_000_000, seed=2)
    steps = derive_steps(ts)
    cycles = cycle_metrics(steps)
    assert steps.height > 2_000
    assert steps["End index"][-1] == 999_999
    assert cycles.height == steps["Cycle count"].n_unique()


# ------------------------------------------------------------------------------------------
# Demo catalog
# ------------------------------------------------------------------------------------------

ISO_Z = re.compile(r"^2026-0[1-5]-\d\dT\d\d:\d\d:\d\dZ$")


def test_demo_catalog_is_deterministic() -> None:
    assert demo_catalog() == demo_catalog()
    assert demo_catalog(seed=1) != demo_catalog()


def test_demo_catalog_holds_the_documented_specs() -> None:
    catalog = demo_catalog()
    specs = catalog.specs
    assert len(specs) >= 1_200
    assert len({s.name for s in specs}) == len(specs)
    assert {s.project_id for s in specs} == {catalog.project_id}
    assert {s.form_factor for s in specs} >= {
        "R2032",
        "R2025",
        "18650",
        "21700",
        "4680",
        "pouch",
        "prismatic",
    }
    assert sum("graphite" in s.name.lower() for s in specs) >= 5
    assert any(re.fullmatch(r"NCM811/Graphite 21700 #\d{4}", s.name) for s in specs)
    assert any("jane" in s.created_by_email for s in specs)
    for spec in specs:
        assert spec.ratings["capacity"]["unit"] == "A.h"
        assert spec.ratings["capacity"]["value"] > 0
        assert "nominal_voltage" in spec.ratings
        for slot in ("anode", "cathode", "electrolyte", "separator", "case"):
            assert {"material_id", "name"} <= set(getattr(spec, slot))
        assert spec.manufacturer and spec.chemistry

    named = catalog.spec("NCM622/Graphite Coin Cell")
    assert named.form_factor == "R2032"


def test_demo_catalog_dates_spread_over_january_to_may_2026() -> None:
    catalog = demo_catalog()
    stamps = [s.created_at for s in catalog.specs] + [s.updated_at for s in catalog.specs]
    stamps += [i.created_at for _, i in catalog.instances]
    stamps += [m.created_at for *_, m in catalog.measurements]
    assert all(ISO_Z.match(stamp) for stamp in stamps)
    months = Counter(s.created_at[5:7] for s in catalog.specs)
    assert set(months) == {"01", "02", "03", "04", "05"}
    assert min(months.values()) > 150
    assert all(s.updated_at >= s.created_at for s in catalog.specs)
    # A before-April filter selects a real subset.
    assert 0 < sum(s.created_at < "2026-04-01" for s in catalog.specs) < len(catalog.specs)


def test_demo_catalog_instances_and_measurements() -> None:
    catalog = demo_catalog()
    with_instances = [s for s in catalog.specs if s.instances]
    assert 8 <= len(with_instances) <= 12
    assert all(2 <= len(s.instances) <= 5 for s in with_instances)
    names = [i.name for _, i in catalog.instances]
    assert any(n.startswith("batch-A") for n in names)
    assert any(n.startswith("batch-B") for n in names)

    kinds = Counter(m.measurement_type for *_, m in catalog.measurements)
    assert 24 <= kinds["time_series"] <= 36
    assert kinds["properties"] >= 1 and kinds["file"] >= 1
    for *_, m in catalog.measurements:
        if m.measurement_type == "time_series":
            assert m.sim_params is not None and m.start_time is not None
            assert m.created_at > m.start_time
        elif m.measurement_type == "properties":
            assert m.properties is not None and m.properties["capacity"]["unit"] == "A.h"
        else:
            assert m.files and all(isinstance(b, bytes) for b in m.files.values())

    # The documentation walks through the coin cell's batch-A cell and its March tests.
    named = catalog.spec("NCM622/Graphite Coin Cell")
    cell = next(i for i in named.instances if "batch-A" in i.name)
    series = [m for m in cell.measurements if m.measurement_type == "time_series"]
    assert len(series) >= 4
    in_march = [m for m in series if m.start_time and m.start_time.startswith("2026-03")]
    assert 0 < len(in_march) < len(series)
    assert sum(m.created_at > "2026-03-01T00:00:00Z" for m in series) >= 4
    assert {m.measurement_type for m in cell.measurements} == {"time_series", "properties", "file"}


def test_demo_catalog_measurements_simulate_to_thousands_of_rows() -> None:
    for *_, plan in demo_catalog().measurements:
        if plan.sim_params is not None:
            rows = simulate_cycling(**plan.sim_params).height
            assert 2_000 <= rows <= 32_000, plan.name
