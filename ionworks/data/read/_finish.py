"""The rules every reader shares once its columns carry standard names and SI units.

A format module returns a raw frame; :func:`finish` applies, in ionworksdata's order, the steps
that make two cyclers' files comparable: drop rows without a reading, time from zero with
duplicate timestamps spread apart, current signed positive on discharge, step and cycle counts,
per-step capacities and energies, and power.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import polars as pl

from .. import transform
from ..columns import (
    CHARGE_CAPACITY,
    CHARGE_ENERGY,
    CURRENT,
    CYCLE_COUNT,
    CYCLE_FROM_CYCLER,
    DISCHARGE_CAPACITY,
    DISCHARGE_ENERGY,
    FRAME,
    POWER,
    REQUIRED,
    STEP_COUNT,
    STEP_FROM_CYCLER,
    TIME,
    VOLTAGE,
)
from ..errors import DataError
from . import _pieces, _running
from ._errors import ReaderError
from ._running import Floats, Ints

MODE = "Mode from cycler"
"""The cycler's per-row state (charge, discharge, rest...), kept as the file wrote it."""

DIRECTION = "_direction"
"""Internal: "C" (charge), "D" (discharge) or null, derived from the mode by each reader."""

CAPACITY = "_capacity [A.h]"
ENERGY = "_energy [W.h]"
"""Internal: one cumulative counter for both directions, split by :func:`finish`."""

DUPLICATE_TIME_OFFSET = 1e-6
"""Seconds added per repeat of a timestamp: keeps every row (dropping some can lose a short step)."""

STEP_CURRENT_TOLERANCE = 1e-2
"""Fraction of the largest |current| under which a row counts as rest, when steps come from sign."""


def finish(
    raw: pl.DataFrame,
    *,
    file_columns: list[str] | None = None,
    charge_positive: bool = False,
    infer_sign: bool = False,
) -> pl.DataFrame:
    """Turn a reader's standard-named frame into the time series ionworksdata returns.

    ``file_columns`` (the header as the file wrote it) is named in the error when a required
    column is missing. ``charge_positive`` says the cycler writes charge current as positive (Arbin, Neware); rows
    with a known direction (the reader's ``_direction`` column) are signed from it instead.
    ``infer_sign`` (formats with no convention and no mode) signs from the voltage response.
    """
    missing = [c for c in REQUIRED if c not in raw.columns]
    if missing:
        found = ", ".join(c for c in (file_columns or raw.columns) if c)
        raise ReaderError(f"no {', '.join(missing)} column; columns found: {found}")
    data = _one_chunk(raw.drop_nulls([CURRENT, VOLTAGE]))
    if data.height == 0:
        raise ReaderError("the file has a header but no rows with both a current and a voltage")
    # transform.reset_time's subtraction, fused with the casts into one pass.
    time = pl.col(TIME).cast(pl.Float64)
    data = offset_duplicate_times(
        data.with_columns(time - time.first(), pl.col(CURRENT, VOLTAGE).cast(pl.Float64))
    )
    if infer_sign and STEP_FROM_CYCLER in data.columns and _magnitudes_only(data):
        data = data.with_columns(_sign_per_step(data).alias(CURRENT))
    elif infer_sign and positive_current_charges(data):
        charge_positive = True
    counts = [step_count(data).alias(STEP_COUNT), cycle_count(data).alias(CYCLE_COUNT)]
    if STEP_FROM_CYCLER in data.columns:  # steps do not depend on the current's sign: one pass
        data = data.with_columns(signed(data, charge_positive=charge_positive), *counts)
    else:
        data = signed_current(data, charge_positive=charge_positive)
        data = data.with_columns(step_count(data).alias(STEP_COUNT), counts[1])
    return with_cumulative(data)


def _one_chunk(data: pl.DataFrame) -> pl.DataFrame:
    """The numeric columns in one chunk each: the CSV parser hands over dozens of batches, and
    every running sum, shift and gather below is slower across chunks than on one. Text
    columns (the mode) are only carried along, so they are not copied."""
    numbers = [name for name, dtype in data.schema.items() if dtype.is_numeric()]
    return data.with_columns(data.select(numbers).rechunk().get_columns())


def offset_duplicate_times(data: pl.DataFrame) -> pl.DataFrame:
    """Spread repeated timestamps by 1 µs per repeat until every time is unique.

    ``transform.offset_duplicate_times`` (ionworksdata's semantics) does the work; cycler time
    almost always only grows, so a file with no repeat is returned after one cheap check.
    """
    if increasing(data.get_column(TIME)):
        return data
    try:
        return transform.offset_duplicate_times(data, DUPLICATE_TIME_OFFSET)
    except DataError as exc:
        raise ReaderError(f"could not make timestamps unique: {exc}") from exc


def increasing(time: pl.Series) -> bool:
    """True when every time is above the one before: ``(time.diff().slice(1) > 0).all()``.

    Without nulls, checked in numpy a block at a time (no column of differences); polars
    orders NaN above every number, so a NaN step counts as a rise there and here.
    """
    if time.null_count() or time.dtype != pl.Float64:
        return bool((time.diff().slice(1) > 0).all())
    values = time.to_numpy()
    step = np.empty(_running.BLOCK_ROWS)
    with np.errstate(invalid="ignore"):  # inf - inf: NaN, as in polars
        for first in range(0, len(values) - 1, _running.BLOCK_ROWS):
            end = min(first + _running.BLOCK_ROWS, len(values) - 1)
            rise = step[: end - first]
            np.subtract(values[first + 1 : end + 1], values[first:end], out=rise)
            if not ((rise > 0.0) | np.isnan(rise)).all():
                return False
    return True


def signed_current(data: pl.DataFrame, *, charge_positive: bool) -> pl.DataFrame:
    """Current positive on discharge (the API's convention), from the mode where the file has one."""
    return data.with_columns(signed(data, charge_positive=charge_positive))


def signed(data: pl.DataFrame, *, charge_positive: bool) -> pl.Expr:
    """The expression of :func:`signed_current`."""
    current = -pl.col(CURRENT) if charge_positive else pl.col(CURRENT)
    if DIRECTION in data.columns:
        fast = _signed_by_runs(data, charge_positive=charge_positive)
        if fast is not None:
            return pl.lit(fast).alias(CURRENT)
        magnitude = pl.col(CURRENT).abs()
        direction = pl.col(DIRECTION)
        current = (
            pl.when(direction == "C")
            .then(-magnitude)
            .when(direction == "D")
            .then(magnitude)
            .otherwise(current)
        )
    return current.alias(CURRENT)


def _signed_by_runs(data: pl.DataFrame, *, charge_positive: bool) -> pl.Series | None:
    """:func:`signed`'s current in numpy, or None for a current with nulls or not Float64.

    The direction changes only between steps, so it is read once per run of equal values
    (polars' ``rle``: one comparison per row), not compared with "C" and "D" on every row;
    each row's sign is then set in place on one copy of the current.
    """
    current = data.get_column(CURRENT)
    direction = data.get_column(DIRECTION)
    if current.null_count() or current.dtype != pl.Float64 or direction.dtype != pl.String:
        return None
    runs = direction.rle().struct.unnest()
    letters = runs.get_column("value")
    code = (letters == "D").fill_null(False).cast(pl.Int8) + 2 * (letters == "C").fill_null(
        False
    ).cast(pl.Int8)
    codes = np.repeat(code.to_numpy(), runs.get_column("len").to_numpy())
    values = current.to_numpy(writable=True)
    if charge_positive:
        np.negative(values, out=values, where=codes == 0)
    np.abs(values, out=values, where=codes != 0)
    np.negative(values, out=values, where=codes == 2)
    return pl.Series(CURRENT, values)


def _magnitudes_only(data: pl.DataFrame) -> bool:
    """True when the current never goes negative: the file writes magnitudes."""
    return bool((data.get_column(CURRENT).fill_null(0.0) >= 0).all())


def _sign_per_step(data: pl.DataFrame) -> pl.Expr:
    """Current signed step by step: a step whose voltage mostly rises under load is a charge.

    For magnitude-only files without a mode column, one sign for the whole file cannot be right;
    each cycler step is one direction, so each step votes on its own.
    """
    largest = data.get_column(CURRENT).abs().max()
    floor = STEP_CURRENT_TOLERANCE * float(largest) if isinstance(largest, (int, float)) else 0.0
    loaded = pl.col(CURRENT).abs() > floor
    run = changes(STEP_FROM_CYCLER).cum_sum()  # consecutive rows of one step, not equal numbers
    rises = (pl.col(VOLTAGE).diff().sign().filter(loaded).sum() > 0).over(run)
    return pl.when(rises).then(-pl.col(CURRENT)).otherwise(pl.col(CURRENT))


def positive_current_charges(data: pl.DataFrame) -> bool:
    """True when the voltage mostly rises while the current is positive (so positive = charge).

    Counts, over rows under load (|I| above 1 % of the largest), whether voltage moves with the
    current's sign; steps are not crossed, so a relaxation after a step does not vote.
    """
    largest = data.get_column(CURRENT).abs().max()
    if not isinstance(largest, (int, float)) or largest == 0:
        return False
    same_step = pl.lit(True)
    if STEP_FROM_CYCLER in data.columns:
        same_step = pl.col(STEP_FROM_CYCLER) == pl.col(STEP_FROM_CYCLER).shift()
    loaded = pl.col(CURRENT).abs() > STEP_CURRENT_TOLERANCE * float(largest)
    vote = pl.col(CURRENT).sign() * pl.col(VOLTAGE).diff().sign()
    score = data.select(vote.filter(loaded & same_step.fill_null(False)).sum()).item()
    return bool(score is not None and score > 0)


def changes(name: str) -> pl.Expr:
    """1 where ``name`` differs from the row before, else 0 (first row 0)."""
    col = pl.col(name)
    return (col != col.shift()).fill_null(False).cast(pl.Int64)


def run_number(data: pl.DataFrame, name: str) -> pl.Expr:
    """``changes(name).cum_sum()``: from 0, up by one where ``name`` differs from the row before.

    On whole numbers without nulls that is polars' ``rle_id``, one pass instead of four (a
    null or a float's NaN compares differently there, so those columns take the long way).
    """
    column = data.get_column(name)
    if column.dtype.is_integer() and column.null_count() == 0:
        return pl.col(name).rle_id().cast(pl.Int64)
    return changes(name).cum_sum()


def step_count(data: pl.DataFrame) -> pl.Expr:
    """Step count from 0: a new step when the cycler's step (or Maccor frame) changes.

    Without a step column, a new step starts when the current's sign (rest within 1 % of the
    largest current) changes, as ionworksdata's ``current sign`` method.
    """
    if STEP_FROM_CYCLER in data.columns:
        new = changes(STEP_FROM_CYCLER)
        frame = data.get_column(FRAME) if FRAME in data.columns else None
        if frame is not None and frame.min() != frame.max():  # else no frame ever changes
            return (new | changes(FRAME)).cast(pl.Int64).cum_sum()
        return run_number(data, STEP_FROM_CYCLER)
    largest = data.get_column(CURRENT).abs().max()
    scale = float(largest) if isinstance(largest, (int, float)) and largest > 0 else 1.0
    normalised = pl.col(CURRENT) / scale
    sign = (
        pl.when(normalised > STEP_CURRENT_TOLERANCE)
        .then(1)
        .when(normalised < -STEP_CURRENT_TOLERANCE)
    )
    sign_expr = sign.then(-1).otherwise(0)
    return (sign_expr != sign_expr.shift()).fill_null(False).cast(pl.Int64).cum_sum()


def cycle_count(data: pl.DataFrame) -> pl.Expr:
    """Cycle count from 0, up by one at every change of the cycler's cycle; 0 without one."""
    if CYCLE_FROM_CYCLER in data.columns:
        return run_number(data, CYCLE_FROM_CYCLER)
    return pl.lit(0, dtype=pl.Int64)


def step_starts(data: pl.DataFrame) -> pl.Series:
    """The row numbers where each step begins (row 0 first), one per :data:`STEP_COUNT` value.

    Steps are runs of equal counts numbered from 0, so row ``i``'s step begins at
    ``starts[count[i]]``: a gather from a few thousand rows replaces a column of row numbers.
    """
    step = pl.col(STEP_COUNT)
    return data.select((step != step.shift()).fill_null(True).arg_true()).to_series()


def from_step_start(name: str, starts: pl.Series) -> pl.Expr:
    """A cumulative counter restarted at each step, as a magnitude (counters may count down).

    The same numbers as ``first().over(step)``, without grouping rows: each step's first value
    is gathered once (``starts``, :func:`step_starts`) and spread by the step count.
    """
    first = pl.col(name).gather(starts).gather(pl.col(STEP_COUNT))
    return (pl.col(name) - first).abs()


def split_by_direction(counter: str, direction: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """Split one both-ways counter into running (discharge, charge) sums by ``direction``'s sign."""
    delta = pl.col(counter).diff().fill_null(pl.col(counter).first())
    discharge = pl.when(direction > 0).then(delta).otherwise(0.0).cum_sum()
    charge = pl.when(direction < 0).then(delta.abs()).otherwise(0.0).cum_sum()
    return discharge, charge


LOOPED_STEPS = 5000
"""Up to this many steps, per-step running sums are taken step by step in numpy (a third of the
cost of polars' ``over`` window); beyond, the per-step Python overhead would exceed it."""


def integrated(rate: pl.Expr) -> pl.Expr:
    """Per-step trapezoidal integral of ``rate`` (per second) in hours, 0 at each step's first row."""
    area = (0.5 * (rate + rate.shift()) * pl.col(TIME).diff() / 3600.0).fill_null(0.0)
    return area.cum_sum().over(STEP_COUNT)


def integrated_series(
    data: pl.DataFrame, rate: pl.Expr, names: tuple[str, str], starts: pl.Series | None = None
) -> list[pl.Series]:
    """:func:`integrated` of ``rate``'s positive part and of its negative part's magnitude
    (named ``names``), with the same numbers.

    Inside the window each step's first area is null (no row before it in the step), so the
    areas are computed once over all rows, zeroed where a step starts (``starts``, from
    :func:`step_starts` when not given), and summed step by step: ``np.cumsum`` adds in row
    order as polars' ``cum_sum`` does, so every value is identical.
    """
    parts = dict(
        zip(names, (rate.clip(lower_bound=0.0), (-rate).clip(lower_bound=0.0)), strict=True)
    )
    starts = step_starts(data) if starts is None else starts
    if starts.len() > LOOPED_STEPS:
        return data.select(integrated(r).alias(n) for n, r in parts.items()).get_columns()
    values = data.select(pl.col(TIME), rate.alias("_rate"))
    bounds = [*starts.to_list(), data.height]
    if any(values.null_count().row(0)) or values.dtypes != [pl.Float64, pl.Float64]:
        areas = data.select(_area(r).alias(n) for n, r in parts.items())
        summed = [_sum_steps(areas.get_column(n).to_numpy(writable=True), bounds) for n in names]
    else:
        time, rates = (values.get_column(n).to_numpy() for n in (TIME, "_rate"))
        # The two parts on two threads (numpy lets go of the GIL while it computes).
        summed = _pieces.run(
            lambda negate: _sum_steps(_areas(time, rates, negate), bounds), (False, True)
        )
    return [pl.Series(n, v) for n, v in zip(names, summed, strict=True)]  # numpy's, no copy


def _sum_steps(areas: Floats, bounds: list[int]) -> Floats:
    """Running sums of ``areas`` from 0 at each step's first row (``bounds``), in place."""
    for first, end in pairwise(bounds):
        areas[first] = 0.0
        np.cumsum(areas[first:end], out=areas[first:end])
    return areas


def _area(rate: pl.Expr) -> pl.Expr:
    """:func:`integrated`'s area of each row, 0 where a step starts or a value is null."""
    step = pl.col(STEP_COUNT)
    area = (0.5 * (rate + rate.shift()) * pl.col(TIME).diff() / 3600.0).fill_null(0.0)
    return pl.when((step != step.shift()).fill_null(True)).then(0.0).otherwise(area)


def _areas(time: Floats, rate: Floats, negate: bool) -> Floats:
    """:func:`_area` of ``rate``'s positive part (of its negative part's magnitude if ``negate``)
    in numpy, for values without nulls (step starts are left to :func:`_sum_steps`).

    The same operations in the same order as polars evaluates ``0.5 * (r + r.shift()) *
    t.diff() / 3600`` on ``r = rate.clip(lower_bound=0.0)`` (its clip keeps any value not below
    the bound, -0.0 and NaN included; its division by a number is a product with the inverse),
    written into one array instead of a new column per operation.
    """
    rows = len(rate)
    area = np.empty(rows)
    block_rows = _running.BLOCK_ROWS  # blocks that stay in the CPU's caches
    clipped, dt = np.empty(block_rows + 1), np.empty(block_rows)
    for low in range(1, rows, block_rows):
        high = min(low + block_rows, rows)
        width = high - low
        step, part = dt[:width], clipped[: width + 1]
        np.subtract(time[low:high], time[low - 1 : high - 1], out=step)
        if negate:
            np.negative(rate[low - 1 : high], out=part)
        else:
            part[:] = rate[low - 1 : high]
        part[part < 0.0] = 0.0
        block = area[low:high]
        np.add(part[1:], part[:-1], out=block)
        block *= 0.5
        block *= step
        block *= 1.0 / 3600.0
    return area


def with_cumulative(data: pl.DataFrame) -> pl.DataFrame:
    """Discharge/charge capacity and energy, restarted at each step, from the file or integrated;
    power (V·I) when the file has none; internal columns dropped.

    Order of preference (as ionworksdata): the file's split counters, then one both-ways counter
    split by direction (current for capacity, power for energy), then integration of I and V·I.
    Two passes over the rows: running counters, then their restarts.
    """
    power = pl.col(POWER) if POWER in data.columns else pl.col(CURRENT) * pl.col(VOLTAGE)
    plans = (
        (DISCHARGE_CAPACITY, CHARGE_CAPACITY, CAPACITY, pl.col(CURRENT)),
        (DISCHARGE_ENERGY, CHARGE_ENERGY, ENERGY, power),
    )
    starts = step_starts(data)
    splits = _split_in_numpy(
        data,
        {b: r for d, c, b, r in plans if b in data.columns and not {d, c} <= set(data.columns)},
        starts,
    )
    running: list[pl.Expr] = []
    restart: list[str] = []
    for discharge, charge, both, rate in plans:
        if discharge in data.columns and charge in data.columns:
            restart += [discharge, charge]
        elif both in data.columns:
            if both in splits:
                named = zip((discharge, charge), splits[both], strict=True)
                running += [pl.lit(pl.Series(n, v)) for n, v in named]
                continue
            d, c = split_by_direction(both, rate)
            running += [d.alias(discharge), c.alias(charge)]
            restart += [discharge, charge]
        else:
            summed = integrated_series(data, rate, (discharge, charge), starts)
            running += [pl.lit(s) for s in summed]
    data = data.with_columns(running)
    last = [] if POWER in data.columns else [(pl.col(VOLTAGE) * pl.col(CURRENT)).alias(POWER)]
    data = data.with_columns(*[from_step_start(n, starts).alias(n) for n in restart], *last)
    return data.select(c for c in data.columns if not c.startswith("_"))


def _whole(data: pl.DataFrame, *exprs: pl.Expr) -> list[Floats] | None:
    """``exprs`` evaluated as numpy arrays of floats, or None if one has a null or is not Float64
    (the rules' nulls are not numpy's NaN): the columns :mod:`._running` may take."""
    values = data.select(exprs)
    if any(values.null_count().row(0)) or any(t != pl.Float64 for t in values.dtypes):
        return None
    return [s.to_numpy() for s in values.get_columns()]


def _steps(data: pl.DataFrame, starts: pl.Series) -> tuple[Ints, Ints]:
    """Each row's step count and each step's first row, as numpy arrays."""
    return data.get_column(STEP_COUNT).to_numpy(), starts.to_numpy()


def _split_in_numpy(
    data: pl.DataFrame, rates: dict[str, pl.Expr], starts: pl.Series
) -> dict[str, tuple[Floats, Floats]]:
    """:func:`split_by_direction` then :func:`from_step_start` of each both-ways counter of
    ``rates`` (counter -> rate) that numpy may take, one counter per thread."""
    inputs = {b: _whole(data, pl.col(b), r.alias("_rate")) for b, r in rates.items()}
    ready = [(b, w) for b, w in inputs.items() if w is not None]
    steps, firsts = _steps(data, starts)
    done = _pieces.run(lambda w: _running.split_restarted(w[1][0], w[1][1], steps, firsts), ready)
    return {b: split for (b, _), split in zip(ready, done, strict=True)}
