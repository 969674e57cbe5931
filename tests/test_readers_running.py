"""finish's numpy shortcuts (``read._running`` and its own) equal the polars rules they replace.

``_finish.split_by_direction``, ``_finish.from_step_start``, the rising-time check and the
signed current state the rules; the numpy versions must give the same doubles, bit for bit,
with steps and running sums crossing blocks.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from ionworks.data.columns import CURRENT, STEP_COUNT
from ionworks.data.read import _finish, _running
from ionworks.data.read._finish import DIRECTION


def _frame(rows: int) -> pl.DataFrame:
    rng = np.random.default_rng(11)
    rate = rng.normal(0.0, 1.0, rows)
    rate[::13] = 0.0
    rate[5::17] = -0.0
    rate[7::101] = np.nan  # neither direction: counted nowhere
    counter = np.cumsum(rng.uniform(0.0, 0.01, rows)) * np.sign(rng.normal(size=rows) + 0.5)
    lengths = rng.integers(1, 40, rows)
    steps = np.repeat(np.arange(rows), lengths)[:rows]
    return pl.DataFrame({"counter": counter, "rate": rate, STEP_COUNT: steps})


@pytest.mark.parametrize("block", [7, 64, 1 << 16])
def test_split_and_restarted_counters_equal_the_polars_rules_bit_for_bit(
    block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = _frame(3000)
    starts = _finish.step_starts(frame)
    discharge, charge = _finish.split_by_direction("counter", pl.col("rate"))
    rules = frame.with_columns(discharge.alias("d"), charge.alias("c")).select(
        _finish.from_step_start(n, starts).alias(n) for n in ("d", "c")
    )
    monkeypatch.setattr(_running, "BLOCK_ROWS", block)
    steps, firsts = frame.get_column(STEP_COUNT).to_numpy(), starts.to_numpy()
    counter, rate = frame.get_column("counter").to_numpy(), frame.get_column("rate").to_numpy()
    split = _running.split_restarted(counter, rate, steps, firsts)
    for name, got in (("d", split[0]), ("c", split[1])):
        want = rules.get_column(name).to_numpy()
        assert np.array_equal(got.view(np.int64), want.view(np.int64)), name


def test_counters_with_gaps_keep_the_polars_rules() -> None:
    # A null is not numpy's NaN (the rules fill a null change with the first value): such a
    # column is not handed to numpy, and the results are the rules' own.
    frame = _frame(200).with_columns(
        pl.when(pl.int_range(pl.len()) == 50).then(None).otherwise(pl.col("counter")).alias("c")
    )
    assert _finish._whole(frame, pl.col("c")) is None
    assert _finish._whole(frame, pl.col(STEP_COUNT)) is None  # not floats
    assert _finish._whole(frame, pl.col("counter")) is not None


@pytest.mark.parametrize(
    "times",
    [
        [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        [0.0, 1.0, 2.0, 3.0, 3.0, 5.0, 6.0],  # a repeat in the second block
        [0.0, 1.0, float("nan"), 3.0, 4.0, 5.0, 6.0],  # NaN steps: rises in polars' order
        [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 4.5],  # a fall in the last block
        [float("inf"), float("inf"), 1.0],
        [-0.0, 0.0, 1.0],
        [5.0],
        [],
    ],
)
def test_increasing_times_are_checked_as_polars_checks_them(
    times: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_running, "BLOCK_ROWS", 3)
    series = pl.Series("t", times, dtype=pl.Float64)
    assert _finish.increasing(series) == bool((series.diff().slice(1) > 0).all())


@pytest.mark.parametrize("charge_positive", [False, True])
def test_current_signed_by_direction_runs_equals_the_polars_rule(charge_positive: bool) -> None:
    # C -> -|I|, D -> |I|, anything else (R, a null, a lower-case letter) -> as the file's
    # convention says; read once per run of the direction, set in numpy.
    current = [1.0, -2.0, 0.0, -0.0, float("nan"), 3.0, -4.0, 5.0, -6.0, 7.0]
    direction = ["C", "C", "D", "D", "C", None, "R", "c", "D", "R"]
    frame = pl.DataFrame(
        {CURRENT: current, DIRECTION: direction}, schema={CURRENT: pl.Float64, DIRECTION: pl.String}
    )
    got = frame.select(_finish.signed(frame, charge_positive=charge_positive)).to_series()
    magnitude = pl.col(CURRENT).abs()
    otherwise = -pl.col(CURRENT) if charge_positive else pl.col(CURRENT)
    rule = (
        pl.when(pl.col(DIRECTION) == "C")
        .then(-magnitude)
        .when(pl.col(DIRECTION) == "D")
        .then(magnitude)
        .otherwise(otherwise)
    )
    want = frame.select(rule).to_series()
    assert _finish._signed_by_runs(frame, charge_positive=charge_positive) is not None
    assert np.array_equal(got.to_numpy().view(np.int64), want.to_numpy().view(np.int64))
