"""Write ionworksdata 0.20.2's DataLoader outputs as fixtures for tests/test_dataloader_options.py.

Run with the scratch interpreter that has ionworksdata installed (never part of ``make test``;
the project never imports ionworksdata):

    /tmp/iwdata-venv/bin/python scripts/iwdata_fixtures_dataloader.py

Three synthetic inputs: ``cycles`` (rest, CC discharge, rest, CC charge, CV hold, three cycles),
``gitt`` (discharge pulses and long rests, for the OCP transforms) and ``ocp`` (an OCP table
without steps). Their steps tables come from ``ionworksdata.steps.summarize``. For every case in
``CASES`` the script writes ``<case>.data.parquet`` (and ``<case>.steps.parquet`` when the loader
has steps), and ``cases.json`` with each case's options, window, initial voltage and cut-offs.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from ionworksdata import DataLoader, __version__
from ionworksdata.load import first_step_from_cycle, last_step_from_cycle, window_rows

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "ionworksdata" / "dataloader"


def _with_capacity(segments: list[tuple[float, float, Any]], dt: float) -> pl.DataFrame:
    """Rows of ``(duration, current, voltage(t_in_step, charge_so_far))`` segments, with
    per-step discharge/charge capacity counted from 0 as the API serves them."""
    rows: dict[str, list[float]] = {k: [] for k in ("t", "i", "v", "s", "dq", "cq")}
    time, charge = 0.0, 0.0
    for step, (duration, current, voltage) in enumerate(segments):
        dq = cq = 0.0
        for k in range(int(duration / dt) + 1):
            current_k = current(k * dt) if callable(current) else current
            if k:
                charge += current_k * dt / 3600
                dq += max(current_k, 0) * dt / 3600
                cq += max(-current_k, 0) * dt / 3600
            for key, value in zip(
                rows, (time, current_k, voltage(k * dt, charge), step, dq, cq), strict=True
            ):
                rows[key].append(value)
            time += dt
    return pl.DataFrame(
        {
            "Time [s]": rows["t"],
            "Current [A]": rows["i"],
            "Voltage [V]": rows["v"],
            "Step count": pl.Series(rows["s"], dtype=pl.Int64),
            "Discharge capacity [A.h]": rows["dq"],
            "Charge capacity [A.h]": rows["cq"],
        }
    )


def cycles_series() -> pl.DataFrame:
    """Three CC/CV cycles, 10 s samples; cycle number in ``Cycle from cycler``."""
    segments: list[tuple[float, Any, Any]] = []
    cycle_of_step: list[int] = []
    for cycle in range(3):
        segments += [
            (60.0, 0.0, lambda t, q: 4.1 - 0.2 * q),
            (600.0, 1.0, lambda t, q: 4.05 - 0.004 * t**0.9),
            (60.0, 0.0, lambda t, q: 3.6 + 0.001 * t),
            (500.0, -1.0, lambda t, q: 3.7 + 0.0009 * t),
            (300.0, lambda t: -0.8 * np.exp(-t / 80), lambda t, q: 4.2),
        ]
        cycle_of_step += [cycle] * 5
    series = _with_capacity(segments, 10.0)
    return series.with_columns(
        pl.col("Step count")
        .map_elements(lambda s: cycle_of_step[s], return_dtype=pl.Int64)
        .alias("Cycle from cycler")
    )


def gitt_series() -> pl.DataFrame:
    """Eight 0.5 A discharge pulses of 300 s, each followed by 900 s of rest, 15 s samples."""

    def ocv(q: float) -> float:
        return 4.2 - 0.9 * q / 0.4 - 0.05 * np.tanh((q - 0.2) * 30)

    segments: list[tuple[float, Any, Any]] = [(300.0, 0.0, lambda t, q: ocv(q))]
    for _ in range(8):
        segments.append((300.0, 0.5, lambda t, q: ocv(q) - 0.05 - 0.0001 * t))
        segments.append((900.0, 0.0, lambda t, q: ocv(q) - 0.03 * np.exp(-t / 120)))
    return _with_capacity(segments, 15.0)


def ocp_table() -> pl.DataFrame:
    """An OCP table without steps: voltage named ``OCP [V]``, a duplicated point, a time axis."""
    q = np.concatenate([np.linspace(0, 1.0, 41), [1.0]])
    return pl.DataFrame(
        {
            "Time [s]": np.arange(q.size) * 60.0,
            "Capacity [A.h]": q,
            "OCP [V]": 4.2 - 1.1 * q - 0.04 * np.sin(6 * q),
        }
    )


SAVGOL = {"filter_type": "savgol", "parameters": {"window_length": 7, "polyorder": 2}}
CASES: dict[str, dict[str, Any]] = {
    "cycles_none": {"input": "cycles", "options": {}},
    "cycles_step_1_1": {"input": "cycles", "options": {"first_step": 1, "last_step": 1}},
    "cycles_sql_cycle_1": {
        "input": "cycles",
        "options": {"first_step": first_step_from_cycle(1), "last_step": last_step_from_cycle(1)},
    },
    "cycles_dict_cycle_2": {
        "input": "cycles",
        "options": {"first_step": {"cycle": 2}, "last_step": {"cycle": 2}},
    },
    "cycles_legacy_dicts": {
        "input": "cycles",
        "options": {"first_step_dict": {"step": 3}, "last_step_dict": {"step": 6}},
    },
    "cycles_time_range": {"input": "cycles", "time_range": {"start": 605.0, "end": 1500.0}},
    "cycles_steps_and_time": {
        "input": "cycles",
        "options": {"first_step": 2, "last_step": 7},
        "time_range": {"start": 900.0, "end": 1700.0},
    },
    "cycles_capacity_column": {
        "input": "cycles",
        "options": {"capacity_column": "Discharge capacity [A.h]", "last_step": 4},
    },
    "cycles_interpolate_knots": {
        "input": "cycles",
        "options": {
            "first_step": 1,
            "last_step": 3,
            "transforms": {"interpolate": [100.0, 115.5, 400.0, 1250.25]},
        },
    },
    "cycles_interpolate_spacing": {
        "input": "cycles",
        "options": {"first_step": 6, "last_step": 8, "transforms": {"interpolate": 7.5}},
    },
    "cycles_savgol": {
        "input": "cycles",
        "options": {
            "first_step": 1,
            "last_step": 2,
            "transforms": {"filters": {"Voltage [V]": SAVGOL}},
        },
    },
    "cycles_slice_2_4": {"input": "cycles", "options": {"first_step": 1}, "slice": [2, 4]},
    "cycles_slice_0_1": {"input": "cycles", "slice": [0, 1]},
    "gitt_rest_to_ocp": {"input": "gitt", "options": {"transforms": {"rest_to_ocp": True}}},
    "gitt_rest_to_ocp_first_point": {
        "input": "gitt",
        "options": {"transforms": {"rest_to_ocp": True, "keep_first_ocp_point": True}},
    },
    "gitt_ocp_pipeline": {
        "input": "gitt",
        "options": {
            "transforms": {
                "rest_to_ocp": True,
                "keep_first_ocp_point": True,
                "sort": True,
                "remove_duplicates": True,
                "remove_extremes": True,
            }
        },
        "cutoffs": True,
    },
    "gitt_top_level_transforms": {
        "input": "gitt",
        "options": {"rest_to_ocp": True, "sort": True, "first_step": 3},
    },
    "gitt_ocp_savgol": {
        "input": "gitt",
        "options": {
            "transforms": {
                "rest_to_ocp": True,
                "keep_first_ocp_point": True,
                "filters": {
                    "Voltage [V]": {
                        "filter_type": "savgol",
                        "parameters": {"window_length": 5, "polyorder": 2},
                    }
                },
            }
        },
    },
    "gitt_time_range_ocp": {
        "input": "gitt",
        "options": {"transforms": {"rest_to_ocp": True}},
        "time_range": {"start": 1000.0, "end": 7000.0},
    },
    "ocp_sorted": {
        "input": "ocp",
        "options": {"transforms": {"sort": True, "remove_duplicates": True}},
        "cutoffs": True,
    },
    "ocp_extremes_interpolated": {
        "input": "ocp",
        "options": {"transforms": {"remove_extremes": True, "interpolate": 90.0}},
    },
}


CUTOFFS: dict[str, tuple[str, str, dict[str, Any] | None]] = {
    "dUdQ_explicit": ("dUdQ", "explicit", None),
    "dUdQ_quantile": ("dUdQ", "quantile", None),
    "dUdQ_peaks": ("dUdQ", "peaks", None),
    "dQdU_explicit": ("dQdU", "explicit", {"lower_ratio": 0.2, "upper_ratio": 0.7}),
    "dQdU_quantile": ("dQdU", "quantile", {"quantile": 0.5}),
}


def _cutoffs(loader: DataLoader) -> dict[str, float | str]:
    """Each cut-off's value, or the name of the exception ionworksdata raised."""
    result: dict[str, float | str] = {}
    for key, (kind, method, options) in CUTOFFS.items():
        call = getattr(loader, f"calculate_{kind}_cutoff")
        try:
            result[key] = float(call(method=method, options=options))
        except ValueError as exc:
            result[key] = type(exc).__name__
    return result


def run_case(name: str, case: dict[str, Any], inputs: dict[str, tuple[Any, Any]]) -> dict[str, Any]:
    series, steps = inputs[case["input"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        loader = DataLoader(
            series, steps, options=case.get("options") or {}, time_range=case.get("time_range")
        )
    if "slice" in case:
        loader = loader.slice_to_steps(*case["slice"])
    loader.data.write_parquet(OUT / f"{name}.data.parquet")
    if loader.steps is not None:
        loader.steps.write_parquet(OUT / f"{name}.steps.parquet")
    record = {
        **case,
        "initial_voltage": loader.initial_voltage,
        "has_steps": loader.steps is not None,
    }
    if case.get("cutoffs"):
        record["cutoffs"] = _cutoffs(loader)
    return record


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    inputs: dict[str, tuple[Any, Any]] = {}
    for name, series in (("cycles", cycles_series()), ("gitt", gitt_series())):
        steps = pl.DataFrame(__import__("ionworksdata").steps.summarize(series))
        series.write_parquet(OUT / f"{name}.time_series.parquet")
        steps.write_parquet(OUT / f"{name}.steps.parquet")
        inputs[name] = (series, steps)
    table = ocp_table()
    table.write_parquet(OUT / "ocp.time_series.parquet")
    inputs["ocp"] = (table, None)
    records = {name: run_case(name, case, inputs) for name, case in CASES.items()}
    window = window_rows(table.to_pandas(), {"start": 300.0, "end": 1200.0})
    pl.from_pandas(window).write_parquet(OUT / "ocp_window_rows.data.parquet")
    meta = {
        "ionworksdata": __version__,
        "python": sys.version.split()[0],
        "sql": {
            "first_step_from_cycle(4)": first_step_from_cycle(4),
            "last_step_from_cycle(4)": last_step_from_cycle(4),
        },
        "cases": records,
    }
    (OUT / "cases.json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(records)} cases to {OUT}")


if __name__ == "__main__":
    main()
