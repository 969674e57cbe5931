"""Write ionworksdata 0.20.2's steps and cycle metrics for synthetic protocols and the corpus.

Run by the scratch interpreter that has the official package installed (never by the project or
its tests):

    /tmp/iwdata-venv/bin/python scripts/iwdata_fixtures_steps.py

For each synthetic protocol it writes ``<case>.input.parquet`` (the series), ``<case>.steps.parquet``
(``steps.summarize``) and ``<case>.cycles.parquet`` (``cycle_metrics.get_cycle_metrics`` of those
steps), plus ``<case>.meta.json`` (the ``cell_spec`` passed, if any). For each corpus file whose
expected time series exists it writes ``corpus-<name>.cycles.parquet`` and checks that summarize
reproduces the expected steps. ``infer_type.json``, ``annotate.*`` and ``cycle_sums.*`` cover the
smaller functions; ``capacity_only*.{series,steps,cycle_metrics}.parquet`` a single ``Capacity [A.h]``
counter and ``empty.summarize.json`` an empty series. Outputs go to ``tests/fixtures/ionworksdata/steps/``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import ionworksdata as iwdata
import numpy as np
import polars as pl
from ionworksdata import steps as iwsteps
from ionworksdata.cycle_metrics import get_cycle_metrics

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "ionworksdata" / "steps"
CORPUS = ROOT.parent / "shared" / "corpus" / "cyclers" / "expected"

H = 3600.0


class Protocol:
    """Builds a series segment by segment: each segment is one cycler step."""

    def __init__(self, seed: int, dt: float = 10.0) -> None:
        self.rng = np.random.default_rng(seed)
        self.dt = dt
        self.rows: list[dict[str, Any]] = []
        self.t = 0.0
        self.v = 3.6
        self.step = 0

    def segment(
        self,
        kind: str,
        n: int,
        value: float,
        cycle: int,
        *,
        frequency: float | None = None,
        mode: str | None = None,
    ) -> None:
        """``kind``: rest, cc (current ``value``), cv (voltage ``value``), eis."""
        self.step += 1
        dq = dd = de = dc = 0.0
        for k in range(n):
            noise = float(self.rng.normal(0, 1e-4))
            if kind == "rest":
                i = 0.0 + noise * 0.1
                self.v += (3.6 - self.v) * 0.05
            elif kind == "cc":
                i = value + noise
                self.v -= 2e-4 * value * self.dt / 10
            elif kind == "cv":
                i = value * np.exp(-k / max(n / 3, 1)) + noise
                self.v = 4.2 + noise * 0.01
            else:  # eis: near-zero current at a frequency
                i = noise
            if k:
                dq += max(i, 0.0) * self.dt / H
                dc += max(-i, 0.0) * self.dt / H
                dd += max(i, 0.0) * self.v * self.dt / H
                de += max(-i, 0.0) * self.v * self.dt / H
            row: dict[str, Any] = {
                "Time [s]": self.t,
                "Current [A]": i,
                "Voltage [V]": self.v + noise,
                "Step count": self.step - 1,
                "Step from cycler": self.step % 7 + 1,
                "Cycle from cycler": cycle,
                "Discharge capacity [A.h]": dq,
                "Charge capacity [A.h]": dc,
                "Discharge energy [W.h]": dd,
                "Charge energy [W.h]": de,
                "Temperature [degC]": 25.0 + 0.01 * k,
            }
            if frequency is not None:
                row["Frequency [Hz]"] = frequency * 10 ** (-k / max(n, 1))
            if mode is not None:
                row["Mode"] = mode
            self.rows.append(row)
            self.t += self.dt

    def frame(self) -> pl.DataFrame:
        return pl.from_dicts(self.rows, infer_schema_length=None)


def cccv(seed: int = 1, cycles: int = 2) -> pl.DataFrame:
    p = Protocol(seed)
    p.segment("rest", 6, 0.0, 1)
    for c in range(1, cycles + 1):
        p.segment("cc", 30, -1.0, c)
        p.segment("cv", 20, -0.8, c)
        p.segment("rest", 8, 0.0, c)
        p.segment("cc", 40, 1.0, c)
        p.segment("rest", 8, 0.0, c)
    return p.frame()


def gitt(seed: int = 2) -> pl.DataFrame:
    """Short pulses and rests, with one-, two-, three- and four-row steps."""
    p = Protocol(seed, dt=1.0)
    p.segment("rest", 5, 0.0, 1)
    for k, n in enumerate([1, 2, 3, 4, 5, 12, 3, 2, 1, 30]):
        p.segment("cc", n, 0.2 + 0.01 * k, 1)
        p.segment("rest", 10 + k, 0.0, 1)
    return p.frame()


def formation(seed: int = 3) -> pl.DataFrame:
    p = Protocol(seed, dt=60.0)
    p.segment("rest", 10, 0.0, 0)
    for c in range(3):
        p.segment("cc", 60, -0.1, c)
        p.segment("cv", 30, -0.05, c)
        p.segment("rest", 10, 0.0, c)
        p.segment("cc", 60, 0.1, c)
        p.segment("rest", 10, 0.0, c)
    return p.frame()


def eis() -> pl.DataFrame:
    p = Protocol(4)
    p.segment("rest", 5, 0.0, 1)
    p.segment("eis", 9, 0.0, 1, frequency=1e4)
    p.segment("cc", 20, 0.5, 1)
    p.segment("eis", 9, 0.0, 1, frequency=1e3)
    p.segment("rest", 5, 0.0, 1)
    return p.frame()


def unsigned_with_mode() -> pl.DataFrame:
    """Unsigned current (always >= 0) and a mode column saying which way it flows."""
    p = Protocol(5)
    p.segment("rest", 5, 0.0, 1, mode="Rest")
    p.segment("cc", 20, 1.0, 1, mode="Charge")
    p.segment("rest", 5, 0.0, 1, mode="Rest")
    p.segment("cc", 20, 1.0, 1, mode="Discharge")
    return p.frame().with_columns(pl.col("Current [A]").abs())


def cases() -> dict[str, tuple[pl.DataFrame, dict[str, Any] | None]]:
    base = cccv()
    return {
        "cccv": (base, None),
        "cccv_with_frame": (base.with_columns((pl.col("Step count") // 3).alias("Frame")), None),
        "gitt": (gitt(), None),
        "gitt_cell_spec": (
            gitt(),
            {"ratings": {"capacity": {"value": 50.0, "unit": "mA.h"}}},
        ),
        "formation": (formation(), None),
        "eis": (eis(), None),
        "unsigned_with_mode": (unsigned_with_mode(), None),
        "no_cumulative": (
            base.drop(
                "Discharge capacity [A.h]",
                "Charge capacity [A.h]",
                "Discharge energy [W.h]",
                "Charge energy [W.h]",
            ),
            None,
        ),
        "capacity_without_energy": (
            base.drop("Discharge energy [W.h]", "Charge energy [W.h]"),
            None,
        ),
        "no_cycler_numbers": (
            base.drop("Step from cycler", "Cycle from cycler").with_columns(
                (pl.col("Step count") // 5).alias("Cycle count")
            ),
            None,
        ),
        "integer_time": (base.with_columns(pl.col("Time [s]").cast(pl.Int64)), None),
        "soc_without_time_or_current": (
            base.drop("Time [s]", "Current [A]").with_columns(
                (pl.int_range(pl.len()) / pl.len()).alias("SOC")
            ),
            None,
        ),
    }


def write_cases() -> None:
    for name, (ts, cell_spec) in cases().items():
        ts.write_parquet(OUT / f"{name}.input.parquet")
        steps = iwsteps.summarize(ts, cell_spec=cell_spec)
        steps.write_parquet(OUT / f"{name}.steps.parquet")
        try:
            cycles = get_cycle_metrics(steps)
            cycles.write_parquet(OUT / f"{name}.cycles.parquet")
        except Exception as error:  # recorded: the test checks we refuse it too
            (OUT / f"{name}.cycles.error.txt").write_text(f"{type(error).__name__}: {error}")
        (OUT / f"{name}.meta.json").write_text(json.dumps({"cell_spec": cell_spec}))
        print(f"{name}: {ts.height} rows -> {steps.height} steps")


def capacity_only_cases() -> dict[str, pl.DataFrame]:
    """A single both-ways ``Capacity [A.h]`` counter instead of the discharge/charge pair.

    Named ``*.series.parquet`` (not ``*.input.parquet``): summarize splits the counter on the
    whole series, the chunked summariser reads the pair only.
    """
    base = cccv()
    net = pl.col("Discharge capacity [A.h]") - pl.col("Charge capacity [A.h]")
    pair = ("Discharge capacity [A.h]", "Charge capacity [A.h]")
    return {
        # Rises on discharge (positive current), falls on charge.
        "capacity_only": base.with_columns(net.alias("Capacity [A.h]")).drop(*pair),
        # The other way round, and without energies: the split takes |change| per step.
        "capacity_only_falling": base.with_columns((-net).alias("Capacity [A.h]")).drop(
            *pair, "Discharge energy [W.h]", "Charge energy [W.h]"
        ),
    }


def write_capacity_only_and_empty() -> None:
    """summarize after its own set_capacity split; summarize of an empty series."""
    for name, ts in capacity_only_cases().items():
        ts.write_parquet(OUT / f"{name}.series.parquet")
        steps = iwsteps.summarize(ts)
        steps.write_parquet(OUT / f"{name}.steps.parquet")
        # Not "*.cycles.parquet": tests/test_data_cycles.py pairs those with "*.input.parquet".
        get_cycle_metrics(steps).write_parquet(OUT / f"{name}.cycle_metrics.parquet")
        print(f"{name}: {ts.height} rows -> {steps.height} steps")
    empty = iwsteps.summarize(cccv().head(0))
    try:
        get_cycle_metrics(empty)
        cycles_error = None
    except Exception as error:
        cycles_error = f"{type(error).__name__}: {error}"
    record = {
        "columns": empty.columns,
        "dtypes": [str(d) for d in empty.dtypes],
        "height": empty.height,
        "cycles_error": cycles_error,
    }
    (OUT / "empty.summarize.json").write_text(json.dumps(record, indent=1))


def write_corpus() -> None:
    if not CORPUS.is_dir():
        print("corpus absent: skipped")
        return
    for path in sorted(CORPUS.glob("*.time_series.parquet")):
        stem = path.name.removesuffix(".time_series.parquet")
        ts = pl.read_parquet(path)
        steps = iwsteps.summarize(ts)
        expected = pl.read_parquet(CORPUS / f"{stem}.steps.parquet")
        same = steps.equals(expected)
        print(f"corpus {stem}: summarize equals expected steps: {same}")
        get_cycle_metrics(steps).write_parquet(OUT / f"corpus-{stem}.cycles.parquet")


def write_small_functions() -> None:
    """infer_type on hand-picked step dicts; annotate; cycle sums without a Cycle count."""
    steps = [
        {
            "Mean frequency [Hz]": 10.0,
            "Mean current [A]": 1.0,
            "Std current [A]": 0.0,
            "Std voltage [V]": 0.0,
            "Std power [W]": 0.0,
        },
        {
            "Mean frequency [Hz]": 0.0,
            "Mean current [A]": 5e-4,
            "Std current [A]": 0.0,
            "Std voltage [V]": 0.0,
            "Std power [W]": 0.0,
        },
        {
            "Mean frequency [Hz]": 0.0,
            "Mean current [A]": -1.0,
            "Std current [A]": 1e-3,
            "Std voltage [V]": 0.5,
            "Std power [W]": 0.5,
        },
        {
            "Mean frequency [Hz]": 0.0,
            "Mean current [A]": 1.0,
            "Std current [A]": 0.2,
            "Std voltage [V]": -1e-3,
            "Std power [W]": 0.5,
        },
        {
            "Mean frequency [Hz]": 0.0,
            "Mean current [A]": -1.0,
            "Std current [A]": 0.2,
            "Std voltage [V]": 0.5,
            "Std power [W]": 1e-3,
        },
        {
            "Mean frequency [Hz]": 0.0,
            "Mean current [A]": 1.0,
            "Std current [A]": 0.2,
            "Std voltage [V]": 0.5,
            "Std power [W]": 0.5,
        },
        {
            "Mean frequency [Hz]": 0.0,
            "Mean current [A]": 0.0,
            "Std current [A]": 0.2,
            "Std voltage [V]": 0.5,
            "Std power [W]": 0.5,
        },
    ]
    tolerances: list[dict[str, float]] = [
        {},
        {"rest_tol": 1e-4},
        {"current_std_tol": 0.5, "eis_tol": 100.0},
        {"voltage_std_tol": 1.0, "power_std_tol": 1.0},
    ]
    results = [
        {"step": step, "tolerances": tol, "type": iwsteps.infer_type(step, **tol)}
        for step in steps
        for tol in tolerances
    ]
    (OUT / "infer_type.json").write_text(json.dumps(results, indent=1))

    ts = pl.read_parquet(OUT / "gitt.input.parquet")
    st = pl.read_parquet(OUT / "gitt.steps.parquet")
    annotated = iwsteps.annotate(ts, st, ["Step type", "Cycle count", "Mean current [A]"])
    annotated.write_parquet(OUT / "annotate.gitt.parquet")
    # Steps covering only part of the series leave the other rows null.
    partial = iwsteps.annotate(ts, st.slice(2, 3), ["Step type"])
    partial.write_parquet(OUT / "annotate.partial.parquet")
    none = iwsteps.annotate(ts, st.head(0), ["Step type"])
    none.write_parquet(OUT / "annotate.none.parquet")

    bare = st.drop(
        "Cycle count",
        "Cycle charge capacity [A.h]",
        "Cycle discharge capacity [A.h]",
        "Cycle charge energy [W.h]",
        "Cycle discharge energy [W.h]",
    )
    iwsteps.set_cycle_energy(iwsteps.set_cycle_capacity(bare)).write_parquet(
        OUT / "cycle_sums.no_cycle_count.parquet"
    )
    no_energy = st.drop(
        "Charge energy [W.h]",
        "Cycle charge capacity [A.h]",
        "Cycle discharge capacity [A.h]",
        "Cycle charge energy [W.h]",
        "Cycle discharge energy [W.h]",
    )
    iwsteps.set_cycle_energy(iwsteps.set_cycle_capacity(no_energy)).write_parquet(
        OUT / "cycle_sums.no_energy.parquet"
    )


def main() -> int:
    assert iwdata.__version__ == "0.20.2", iwdata.__version__
    OUT.mkdir(parents=True, exist_ok=True)
    write_cases()
    write_capacity_only_and_empty()
    write_corpus()
    write_small_functions()
    return 0


if __name__ == "__main__":
    sys.exit(main())
