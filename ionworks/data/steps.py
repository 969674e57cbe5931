"""The steps table of a time series, with ionworksdata's names, parameters and numbers.

``summarize(time_series)`` gives one row per step (start/end index, time, voltage, capacities,
energies, statistics of voltage, current, power and frequency, the step type and per-cycle
sums); ``identify``, ``infer_type``, ``annotate``, ``set_cycle_capacity`` and
``set_cycle_energy`` are the pieces ionworksdata 0.20.2 exposes under the same names, so code
written for ``ionworksdata.steps`` runs on this module by changing an import. Column names and
order are those of the steps table the Ionworks API serves (``openapi.yaml``;
:data:`ionworks.data.columns.STEPS`).

The work is vectorised polars: one ``group_by`` over whole steps (:mod:`ionworks.data._step_rows`),
chunk by chunk when the series arrives that way (:class:`StepSummariser`, which the local server
uses; it gives the same table as ``summarize`` on the whole series).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from ._summariser import (
    _CAPACITY_SUMS,
    _ENERGY_SUMS,
    CURRENT_STD_TOL,
    EIS_TOL,
    LONG_STEP_ROWS,
    POWER_STD_TOL,
    REST_TOL,
    VOLTAGE_STD_TOL,
    StepSummariser,
    cycle_sums,
    step_type,
)
from .columns import (
    CAPACITY,
    CHARGE_CAPACITY,
    CHARGE_ENERGY,
    CYCLE_COUNT,
    CYCLE_FROM_CYCLER,
    DISCHARGE_CAPACITY,
    DISCHARGE_ENERGY,
    END_INDEX,
    MEAN_CURRENT,
    MEAN_FREQUENCY,
    SOC,
    START_INDEX,
    STD_CURRENT,
    STD_POWER,
    STD_VOLTAGE,
    STEP_COUNT,
    STEP_FROM_CYCLER,
    STEP_TYPE,
    STEPS,
    STOICHIOMETRY,
    TIME,
    VOLTAGE,
)
from .validate import validate_time_series

__all__ = [
    "CURRENT_STD_TOL",
    "EIS_TOL",
    "LONG_STEP_ROWS",
    "POWER_STD_TOL",
    "REST_TOL",
    "STEP_COLUMNS",
    "VOLTAGE_STD_TOL",
    "StepSummariser",
    "annotate",
    "derive_steps",
    "identify",
    "infer_type",
    "set_cycle_capacity",
    "set_cycle_energy",
    "step_type",
    "summarize",
]

STEP_COLUMNS = STEPS
"""Full column order of the steps table (``Frame`` goes before ``Duration [s]`` when present)."""

_AH_PER_UNIT = {"A.h": 1.0, "mA.h": 1e-3, "uA.h": 1e-6}
_CYCLE_SUM_COLUMNS = [target for _, target in _CAPACITY_SUMS + _ENERGY_SUMS]
_INT_COLUMNS = (
    START_INDEX,
    END_INDEX,
    STEP_COUNT,
    STEP_FROM_CYCLER,
    CYCLE_COUNT,
    CYCLE_FROM_CYCLER,
)
_EMPTY_SCHEMA: dict[str, pl.DataType] = {
    name: pl.Int64() if name in _INT_COLUMNS else pl.String() if name == STEP_TYPE else pl.Float64()
    for name in STEP_COLUMNS
}
"""The types of a steps table with rows, so an empty one concatenates with any other."""


def summarize(data: Any, *, cell_spec: Any = None) -> pl.DataFrame:
    """The steps table of a time series (polars or pandas), as ``ionworksdata.steps.summarize``.

    A step is a run of equal ``Step count`` values. A single ``Capacity [A.h]`` column (with
    ``Current [A]``) is split into discharge and charge capacity as
    :func:`ionworks.data.transform.set_capacity` splits it, as ionworksdata does. An empty series
    gives an empty table with every column and its type (ionworksdata returns a frame with only
    the four per-cycle sum columns, which ``get_cycle_metrics`` then refuses). ``Cycle count`` counts the changes of
    ``Cycle from cycler`` (0 without it). Capacities are each step's change of the series'
    cumulative columns (null without them; energies 0 then when capacities are known). A
    ``cell_spec`` with ``ratings.capacity`` sets the rest and constant-current tolerances to
    C/1000 and C/200 instead of 1 % of the largest |current|. The series is not validated:
    :func:`derive_steps` is the checked form the server uses.
    """
    ts = _prepare(_polars(data))
    capacity = _spec_capacity(cell_spec)
    if ts.height == 0:
        return pl.DataFrame(schema=_EMPTY_SCHEMA)
    # A both-ways Capacity counter is split by the current's sign as ionworksdata's
    # set_capacity splits it, inside the summariser (so chunks get it too).
    summary = StepSummariser(capacity, integrate=False, count_cycles=True, whole=True)
    summary.add(ts)
    return summary.finish()


def identify(time_series: Any, *, cell_spec: Any = None) -> list[dict[str, Any]]:
    """One dict per step: :func:`summarize`'s rows before the per-cycle sums are added."""
    steps = summarize(time_series, cell_spec=cell_spec)
    return steps.drop(_CYCLE_SUM_COLUMNS).to_dicts()


def derive_steps(ts: pl.DataFrame, rated_capacity_ah: float | None = None) -> pl.DataFrame:
    """The steps table the server serves for an upload: validated, then summarised.

    The series is validated first (:func:`~ionworks.data.validate.validate_time_series`);
    a lone ``Capacity [A.h]`` counter is split as in :func:`summarize`, capacity and energy
    columns still lacking are integrated within each step (trapezoidal rule, positive current
    = discharge) instead of left null, and an uploaded ``Cycle count`` is kept
    (``summarize`` recounts cycles from ``Cycle from cycler``, as ionworksdata does; the
    validator derives a missing count the same way). ``rated_capacity_ah`` plays the part of
    :func:`summarize`'s ``cell_spec``.
    """
    summary = StepSummariser(rated_capacity_ah)
    summary.add(validate_time_series(ts))
    return summary.finish()


def _polars(data: Any) -> pl.DataFrame:
    """A polars frame of a polars or pandas one (pandas itself is never imported here)."""
    if isinstance(data, pl.DataFrame):
        return data
    if isinstance(data, Mapping):
        return pl.DataFrame(data)
    return pl.DataFrame(pl.from_pandas(data))


def _prepare(ts: pl.DataFrame) -> pl.DataFrame:
    """Refuse what ionworksdata refuses (the same ``KeyError`` messages)."""
    if STEP_COUNT not in ts.columns:
        raise KeyError(f"Missing required step column: {STEP_COUNT}")
    if not {TIME, CAPACITY, STOICHIOMETRY, SOC} & set(ts.columns):
        raise KeyError(
            "Need at least one of 'Time [s]', 'Capacity [A.h]', 'Stoichiometry', or 'SOC'"
        )
    if VOLTAGE not in ts.columns:
        raise KeyError("Missing required column: 'Voltage [V]'")
    return ts


def _spec_capacity(cell_spec: Any) -> float | None:
    """A cell specification's rated capacity in A.h (dict or object), or None without one."""
    if cell_spec is None:
        return None

    def field(obj: Any, key: str) -> Any:
        return obj.get(key) if isinstance(obj, Mapping) else getattr(obj, key, None)

    rated = field(field(cell_spec, "ratings") or {}, "capacity") or {}
    value, unit = field(rated, "value"), field(rated, "unit")
    unit = str(unit).replace("μ", "u").replace("µ", "u").replace("*", ".").replace(" ", ".")
    if unit.endswith("Ah"):
        unit = unit[:-2] + "A.h"
    if isinstance(value, bool) or not isinstance(value, int | float) or unit not in _AH_PER_UNIT:
        raise ValueError(f"Unusable cell_spec ratings.capacity: {rated!r}")
    return float(value) * _AH_PER_UNIT[unit]


def set_cycle_capacity(steps: pl.DataFrame | Mapping[str, Any]) -> pl.DataFrame:
    """Add each cycle's summed charge and discharge capacity to its steps (null without a
    ``Cycle count``), as ionworksdata does."""
    return _set_cycle_sums(steps, _CAPACITY_SUMS, (CHARGE_CAPACITY, DISCHARGE_CAPACITY))


def set_cycle_energy(steps: pl.DataFrame | Mapping[str, Any]) -> pl.DataFrame:
    """Add each cycle's summed charge and discharge energy to its steps (null without a
    ``Cycle count`` or either energy column), as ionworksdata does."""
    return _set_cycle_sums(steps, _ENERGY_SUMS, (CHARGE_ENERGY, DISCHARGE_ENERGY))


def _set_cycle_sums(
    steps: pl.DataFrame | Mapping[str, Any],
    names: list[tuple[str, str]],
    needs: tuple[str, str],
) -> pl.DataFrame:
    frame = steps if isinstance(steps, pl.DataFrame) else pl.DataFrame(dict(steps))
    if CYCLE_COUNT not in frame.columns or not set(needs) <= set(frame.columns):
        return frame.with_columns(pl.lit(None, pl.Float64).alias(t) for _, t in names)
    return cycle_sums(frame.lazy(), names).collect()


def infer_type(
    step: Mapping[str, Any],
    current_std_tol: float | None = None,
    voltage_std_tol: float | None = None,
    power_std_tol: float | None = None,
    rest_tol: float | None = None,
    eis_tol: float | None = None,
) -> str:
    """The type of one step from its statistics (a row of the steps table as a dict).

    The same rules as :func:`summarize` classifies with; tolerances left out take the defaults
    (``CURRENT_STD_TOL``, ...), ionworksdata's settings.
    """
    row = pl.DataFrame(
        {
            name: [float(step[name])]
            for name in (MEAN_FREQUENCY, MEAN_CURRENT, STD_CURRENT, STD_VOLTAGE, STD_POWER)
        }
    )
    kind = row.select(
        step_type(
            REST_TOL if rest_tol is None else rest_tol,
            CURRENT_STD_TOL if current_std_tol is None else current_std_tol,
            VOLTAGE_STD_TOL if voltage_std_tol is None else voltage_std_tol,
            POWER_STD_TOL if power_std_tol is None else power_std_tol,
            EIS_TOL if eis_tol is None else eis_tol,
        )
    ).item()
    return str(kind)


def annotate(time_series: Any, steps: Any, column_names: Sequence[str]) -> pl.DataFrame:
    """Copy step columns onto the rows of the series each step spans.

    A step covers rows ``Start index`` to ``End index`` (inclusive, 0-based in the series given);
    rows no step covers get nulls. As in ionworksdata, a row covered by two steps appears twice.
    """
    ts, st = _polars(time_series), _polars(steps)
    names = list(column_names)
    rows = st.select(
        pl.int_ranges(pl.col(START_INDEX), pl.col(END_INDEX) + 1, dtype=pl.Int64).alias("_row"),
        *names,
    ).explode("_row")
    indexed = ts.with_row_index("_row").with_columns(pl.col("_row").cast(pl.Int64))
    return indexed.join(rows, on="_row", how="left", maintain_order="left").drop("_row")
