"""Write ionworksdata 0.20.2's transform outputs as fixtures for tests/test_data_transform.py.

Run with the scratch interpreter that has the official package (never the project's venv):

    /tmp/iwdata-venv/bin/python scripts/iwdata_fixtures_transform.py

Inputs are synthetic protocols designed here (CC/CV cycles, rests, GITT pulses, duplicate and
reset timestamps, unsigned current with and without a mode column, swapped charge/discharge
columns, outliers, EIS rows). Each input is saved as parquet; each call (function, arguments)
is saved with ionworksdata's output (parquet) or its error, listed in ``cases.json``. Not part
of ``make test``: the fixtures are committed.
"""

from __future__ import annotations

import json
import shutil
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from ionworksdata import transform as iwt

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "ionworksdata" / "transform"

Q_CELL = 0.01  # A.h: a coin cell, so 1C is 10 mA
R0 = 0.05  # Ohm


def ocv(soc: np.ndarray) -> np.ndarray:
    """A monotone open-circuit voltage (V) of state of charge."""
    return 3.0 + 1.1 * soc + 0.1 * soc**2


Segment = tuple[str, float, float, str]
"""(kind, duration s, value, status label): kind 'cc' (value = current A, + discharge),
'cv' (value = voltage), 'rest'."""


def simulate(segments: list[Segment], dt: float, soc0: float) -> pl.DataFrame:
    """A time series of segments, one cycler step each, current positive on discharge."""
    t_all, i_all, v_all, step_all, status_all = [], [], [], [], []
    t, soc = 0.0, soc0
    for step, (kind, duration, value, status) in enumerate(segments, start=1):
        n = round(duration / dt)
        for k in range(n):
            if kind == "cc":
                current = value
            elif kind == "cv":
                current = -0.01 * np.exp(-k * dt / 200.0)  # a decaying CV current
            else:
                current = 0.0
            voltage = ocv(np.array([soc]))[0] - current * R0 if kind != "cv" else value
            t_all.append(t)
            i_all.append(current)
            v_all.append(voltage)
            step_all.append(step)
            status_all.append(status)
            soc -= current * dt / 3600.0 / Q_CELL
            t += dt
    return pl.DataFrame(
        {
            "Time [s]": t_all,
            "Current [A]": i_all,
            "Voltage [V]": v_all,
            "Step from cycler": pl.Series(step_all, dtype=pl.Int64),
            "Status": status_all,
        }
    )


def cccv_cycles() -> pl.DataFrame:
    """Two cycles of CC charge, CV hold, rest, CC discharge, rest (signed, positive discharge)."""
    cycle: list[Segment] = [
        ("cc", 2400.0, -0.01, "CC Chg"),
        ("cv", 600.0, 4.15, "CV Chg"),
        ("rest", 600.0, 0.0, "Rest"),
        ("cc", 2400.0, 0.01, "CC DChg"),
        ("rest", 600.0, 0.0, "Rest"),
    ]
    frames = simulate(cycle + cycle, dt=60.0, soc0=0.2)
    cycle_no = (pl.col("Step from cycler") - 1) // 5 + 1
    return frames.with_columns(cycle_no.cast(pl.Int64).alias("Cycle from cycler"))


def gitt() -> pl.DataFrame:
    """GITT: ten discharge pulses of 300 s, each followed by a 900 s rest."""
    pulses: list[Segment] = []
    for _ in range(10):
        pulses += [("cc", 300.0, 0.005, "D"), ("rest", 900.0, 0.0, "R")]
    return simulate(pulses, dt=30.0, soc0=0.9)


def with_steps(data: pl.DataFrame) -> pl.DataFrame:
    """Add ionworksdata's Step count / Cycle count (as its readers do)."""
    out = iwt.set_step_count(data)
    return iwt.set_cycle_count(out)


def duplicate_times() -> pl.DataFrame:
    """Adjacent repeats, a reset of time to zero mid-file, and a repeat that lands on a value."""
    t = [0.0, 0.0, 1e-6, 1.0, 1.0, 1.0, 2.0, 3.0, 0.0, 1.0, 2.0, 2.0, 5.0]
    n = len(t)
    return pl.DataFrame(
        {
            "Time [s]": t,
            "Current [A]": np.linspace(-0.01, 0.01, n),
            "Voltage [V]": np.linspace(3.5, 3.9, n),
        }
    )


def unsigned(data: pl.DataFrame) -> pl.DataFrame:
    return data.with_columns(pl.col("Current [A]").abs())


def outliers() -> pl.DataFrame:
    """Voltage with spikes in two steps and a NaN, grouped by a Step number column."""
    rng = np.random.default_rng(12)
    n = 90
    v = 3.7 + 0.001 * rng.standard_normal(n)
    v[5] = 4.5
    v[40] = 2.0
    v[41] = np.nan
    v[88] = 3.9
    steps = np.repeat([0, 1, 2], 30)
    return pl.DataFrame(
        {
            "Time [s]": np.arange(n, dtype=float),
            "Current [A]": np.where(steps == 1, 0.01, -0.01),
            "Voltage [V]": v,
            "Step number": steps,
        }
    )


def eis_and_frames() -> pl.DataFrame:
    """Sign-changing current with an EIS sweep (frequency > 0) inside and a Frame change."""
    n = 40
    current = np.where(np.arange(n) % 2 == 0, 0.01, -0.01)
    freq = np.zeros(n)
    freq[10:20] = np.logspace(4, 0, 10)
    frame = np.repeat([0, 1], n // 2)
    frame[30:] = 2
    return pl.DataFrame(
        {
            "Time [s]": np.arange(n, dtype=float),
            "Current [A]": current,
            "Voltage [V]": 3.7 + 0.01 * current,
            "Frequency [Hz]": freq,
            "Frame": frame,
            "Status": ["A" if k < 25 else "B" for k in range(n)],
        }
    )


def build_inputs() -> dict[str, pl.DataFrame]:
    cccv = with_steps(cccv_cycles())
    cccv_cap = iwt.set_energy(iwt.set_capacity(cccv))
    swapped = cccv_cap.rename(
        {
            "Discharge capacity [A.h]": "Charge capacity [A.h]",
            "Charge capacity [A.h]": "Discharge capacity [A.h]",
            "Discharge energy [W.h]": "Charge energy [W.h]",
            "Charge energy [W.h]": "Discharge energy [W.h]",
        }
    )
    g = with_steps(gitt())
    # One counter for both directions, counting up (as Maccor/BioLogic write it).
    both = cccv.with_columns(
        (pl.col("Current [A]").abs() * 60.0 / 3600.0).cum_sum().alias("Capacity [A.h]"),
        (pl.col("Current [A]").abs() * pl.col("Voltage [V]") * 60.0 / 3600.0)
        .cum_sum()
        .alias("Energy [W.h]"),
    )
    # Counters that run on across steps (no reset), for the per-step reset path.
    running = cccv.with_columns(
        (pl.col("Current [A]").clip(lower_bound=0) * 60.0 / 3600.0)
        .cum_sum()
        .alias("Discharge capacity [A.h]"),
        (-pl.col("Current [A]"))
        .clip(lower_bound=0)
        .mul(60.0 / 3600.0)
        .cum_sum()
        .alias("Charge capacity [A.h]"),
    )
    density = cccv.select(
        "Time [s]",
        (pl.col("Current [A]") * 1000.0 / 1.5).alias("Current [mA.cm-2]"),
        "Voltage [V]",
        "Step count",
    )
    return {
        "cccv": cccv,
        "cccv_nosteps": cccv_cycles().drop("Step from cycler"),
        "cccv_cap": cccv_cap,
        "swapped": swapped,
        "running": running,
        "both": both,
        "density": density,
        "gitt": g,
        "inverted": cccv.with_columns(-pl.col("Current [A]")),
        "inverted_cap": swapped.with_columns(-pl.col("Current [A]")),
        "unsigned_mode": unsigned(cccv),
        "unsigned_nomode": unsigned(cccv).drop("Status"),
        "unsigned_gitt": unsigned(g).drop("Status"),
        "unsigned_one_label": unsigned(cccv).with_columns(
            pl.when(pl.col("Status") == "CC DChg")
            .then(pl.lit("Rest"))
            .otherwise(pl.col("Status"))
            .alias("Status")
        ),
        "all_rest": cccv.with_columns(pl.lit(0.0).alias("Current [A]")),
        "dup_times": duplicate_times(),
        "outliers": outliers(),
        "eis": eis_and_frames(),
        "single_row": cccv.head(1),
    }


Call = tuple[str, str, str, dict[str, Any]]
"""(case name, input name, function, keyword arguments as JSON)."""


def calls() -> list[Call]:
    out: list[Call] = []
    for name in ("cccv", "eis", "dup_times"):
        for method in ("status", "current sign", "step column"):
            opts: dict[str, Any] = {"method": method}
            if method == "step column":
                opts["step column"] = "Frame" if name == "eis" else "Step from cycler"
            if name == "dup_times" and method != "current sign":
                continue
            tag = method.replace(" ", "_")
            out.append(
                (f"step_number_{name}_{tag}", name, "set_cumulative_step_number", {"options": opts})
            )
    out += [
        (
            "step_number_eis_ungrouped",
            "eis",
            "set_cumulative_step_number",
            {"options": {"method": "current sign", "group EIS steps": False}},
        ),
        (
            "step_number_cccv_tol",
            "cccv",
            "set_cumulative_step_number",
            {"options": {"method": "current sign", "zero current tol": 0.6}},
        ),
        (
            "get_step_number_gitt",
            "gitt",
            "get_cumulative_step_number",
            {"options": {"method": "current sign"}},
        ),
        (
            "step_number_density",
            "density",
            "set_cumulative_step_number",
            {"options": {"method": "current sign", "current units": "density"}},
        ),
        (
            "step_number_bad_method",
            "cccv",
            "set_cumulative_step_number",
            {"options": {"method": "voltage"}},
        ),
        ("step_count_cccv", "cccv", "set_step_count", {}),
        ("step_count_eis_frame", "eis", "set_step_count", {"options": {"step column": "Frame"}}),
        (
            "cycle_number_cccv",
            "cccv",
            "set_cumulative_cycle_number",
            {"options": {"cycle column": "Cycle from cycler"}},
        ),
        (
            "get_cycle_number_cccv",
            "cccv",
            "get_cumulative_cycle_number",
            {"options": {"cycle column": "Cycle from cycler"}},
        ),
        ("cycle_count_cccv", "cccv", "set_cycle_count", {}),
        ("cycle_count_gitt", "gitt", "set_cycle_count", {}),
        ("reset_time_dup", "dup_times", "reset_time", {}),
        ("reset_time_cccv", "cccv", "reset_time", {}),
        ("offset_dup", "dup_times", "offset_duplicate_times", {}),
        ("offset_dup_large", "dup_times", "offset_duplicate_times", {"offset": 0.5}),
        ("offset_cccv", "cccv", "offset_duplicate_times", {}),
        ("offset_single", "single_row", "offset_duplicate_times", {}),
        ("outliers_default", "outliers", "remove_outliers", {"column": "Voltage [V]"}),
        ("outliers_z2", "outliers", "remove_outliers", {"column": "Voltage [V]", "z_threshold": 2}),
        (
            "outliers_head",
            "outliers",
            "remove_outliers",
            {"column": "Voltage [V]", "data_range": [0, 10]},
        ),
        (
            "outliers_tail",
            "outliers",
            "remove_outliers",
            {"column": "Voltage [V]", "z_threshold": 2.5, "data_range": [-5, None]},
        ),
        ("outliers_current", "outliers", "remove_outliers", {"column": "Current [A]"}),
        ("power_cccv", "cccv", "set_power", {}),
        ("power_kept", "both", "set_power", {}),
    ]
    for name in ("cccv", "cccv_nosteps", "cccv_cap", "running", "both", "gitt", "single_row"):
        out.append((f"capacity_{name}", name, "set_capacity", {}))
        out.append((f"energy_{name}", name, "set_energy", {}))
        out.append((f"net_capacity_{name}", name, "set_net_capacity", {}))
        out.append(
            (
                f"soc_{name}",
                name,
                "set_nominal_soc",
                {"cell_metadata": {"Nominal cell capacity [A.h]": Q_CELL}},
            )
        )
    out += [
        ("capacity_density", "density", "set_capacity", {"options": {"current units": "density"}}),
        ("net_capacity_exists", "both", "set_net_capacity", {}),
        (
            "soc_density",
            "density",
            "set_nominal_soc",
            {
                "cell_metadata": {"Nominal cell capacity [mA.h.cm-2]": 6.0},
                "options": {"current units": "density"},
            },
        ),
    ]
    for name in (
        "cccv",
        "inverted",
        "unsigned_mode",
        "unsigned_nomode",
        "unsigned_gitt",
        "unsigned_one_label",
        "all_rest",
        "gitt",
        "eis",
        "cccv_nosteps",
    ):
        out.append((f"sign_{name}", name, "set_positive_current_for_discharge", {}))
    out += [
        ("swap_swapped", "swapped", "fix_swapped_charge_discharge_columns", {}),
        ("swap_correct", "cccv_cap", "fix_swapped_charge_discharge_columns", {}),
        ("swap_tight", "swapped", "fix_swapped_charge_discharge_columns", {"tolerance": 1e-9}),
        ("swap_inverted_sign", "inverted_cap", "fix_swapped_charge_discharge_columns", {}),
        ("swap_no_steps", "cccv_nosteps", "fix_swapped_charge_discharge_columns", {}),
    ]
    return out


def python_args(kwargs: dict[str, Any]) -> dict[str, Any]:
    out = dict(kwargs)
    if "data_range" in out:
        out["data_range"] = slice(*out["data_range"])
    return out


def run(fn: Callable[..., Any], data: pl.DataFrame, kwargs: dict[str, Any]) -> dict[str, Any]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = fn(data.clone(), **python_args(kwargs))
        except Exception as exc:  # recorded as the expected outcome
            return {"error": type(exc).__name__, "message": str(exc)}
    record: dict[str, Any] = {"warnings": [str(w.message) for w in caught]}
    if isinstance(result, pl.Series):
        result = result.to_frame("result")
    record["result"] = result
    return record


CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "cyclers" / "expected"
"""ionworksdata's time series of three real cycler files (noisy, thousands of rows)."""

CORPUS_COLUMNS = [
    "Time [s]",
    "Current [A]",
    "Voltage [V]",
    "Step from cycler",
    "Cycle from cycler",
    "Step count",
    "Discharge capacity [A.h]",
    "Charge capacity [A.h]",
    "Discharge energy [W.h]",
    "Charge energy [W.h]",
]
PAIRS = {
    "Discharge capacity [A.h]": "Charge capacity [A.h]",
    "Charge capacity [A.h]": "Discharge capacity [A.h]",
    "Discharge energy [W.h]": "Charge energy [W.h]",
    "Charge energy [W.h]": "Discharge energy [W.h]",
}


def corpus_variant(data: pl.DataFrame, variant: str) -> pl.DataFrame:
    """The same variants as tests/test_data_transform.py builds from a corpus series."""
    data = data.select(CORPUS_COLUMNS)
    if variant == "inverted":
        return data.with_columns(-pl.col("Current [A]"))
    if variant == "unsigned":
        return data.with_columns(pl.col("Current [A]").abs())
    if variant == "unsigned_nosteps":
        return data.with_columns(pl.col("Current [A]").abs()).drop("Step count")
    if variant == "swapped":
        return data.rename(PAIRS)
    if variant == "nocap":
        return data.drop(list(PAIRS))
    if variant == "shuffled_time":
        return data.with_columns((pl.col("Time [s]") / 10.0).floor() * 10.0)
    return data


CORPUS_CALLS = [
    ("sign", "as_is", "set_positive_current_for_discharge", {}, ["Current [A]"]),
    ("sign", "inverted", "set_positive_current_for_discharge", {}, ["Current [A]"]),
    ("sign", "unsigned", "set_positive_current_for_discharge", {}, ["Current [A]"]),
    ("sign", "unsigned_nosteps", "set_positive_current_for_discharge", {}, ["Current [A]"]),
    # A swap only renames: the names in the stored schema are the result.
    ("swap", "swapped", "fix_swapped_charge_discharge_columns", {}, []),
    ("swap", "as_is", "fix_swapped_charge_discharge_columns", {}, []),
    ("capacity", "nocap", "set_capacity", {}, list(PAIRS)[:2]),
    ("capacity", "as_is", "set_capacity", {}, list(PAIRS)[:2]),
    ("energy", "nocap", "set_energy", {}, list(PAIRS)[2:]),
    ("step_count", "as_is", "set_step_count", {}, ["Step count"]),
    ("cycle_count", "as_is", "set_cycle_count", {}, ["Cycle count"]),
    ("offset", "shuffled_time", "offset_duplicate_times", {}, ["Time [s]"]),
    (
        "step_number",
        "as_is",
        "set_cumulative_step_number",
        {"options": {"method": "current sign"}},
        ["Step number"],
    ),
    (
        "soc",
        "as_is",
        "set_nominal_soc",
        {"cell_metadata": {"Nominal cell capacity [A.h]": 1.0}},
        ["Nominal SOC"],
    ),
]
"""(name, input variant, function, arguments, columns stored)."""


def corpus_cases() -> list[dict[str, Any]]:
    """Cases over the corpus series: only the written columns are stored (the inputs stay in
    ../shared), with every output column's name and dtype."""
    (OUT / "corpus").mkdir()
    manifest = []
    for path in sorted(CORPUS.glob("*.time_series.parquet")):
        source = path.name.removesuffix(".time_series.parquet")
        series = pl.read_parquet(path)
        for name, variant, function, kwargs, columns in CORPUS_CALLS:
            record = run(getattr(iwt, function), corpus_variant(series, variant), kwargs)
            case = f"{source}-{name}-{variant}"
            result = record["result"]
            if columns:
                result.select(columns).write_parquet(OUT / "corpus" / f"{case}.parquet")
            schema = {c: str(t) for c, t in result.schema.items()}
            manifest.append(
                {
                    "case": case,
                    "source": path.name,
                    "variant": variant,
                    "function": function,
                    "kwargs": kwargs,
                    "stored": columns,
                    "height": result.height,
                    "schema": schema,
                    "warnings": record["warnings"],
                }
            )
    return manifest


def main() -> None:
    if OUT.exists():
        shutil.rmtree(OUT)
    (OUT / "inputs").mkdir(parents=True)
    (OUT / "expected").mkdir()
    inputs = build_inputs()
    for name, frame in inputs.items():
        frame.write_parquet(OUT / "inputs" / f"{name}.parquet")
    manifest = []
    for case, input_name, function, kwargs in calls():
        record = run(getattr(iwt, function), inputs[input_name], kwargs)
        entry: dict[str, Any] = {
            "case": case,
            "input": input_name,
            "function": function,
            "kwargs": kwargs,
        }
        if "result" in record:
            record.pop("result").write_parquet(OUT / "expected" / f"{case}.parquet")
            entry["warnings"] = record["warnings"]
        else:
            entry.update(record)
        manifest.append(entry)
    (OUT / "cases.json").write_text(json.dumps(manifest, indent=1) + "\n")
    corpus = corpus_cases()
    (OUT / "corpus_cases.json").write_text(json.dumps(corpus, indent=1) + "\n")
    print(f"{len(manifest)} cases, {len(inputs)} inputs -> {OUT}")


if __name__ == "__main__":
    main()
