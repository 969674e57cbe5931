"""Columns parsed in slices on threads (``read._pieces``) give what one call over the column gives."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from ionworks.data.read import _pieces, _units


def _stamps(rows: int, bad: list[int]) -> pl.DataFrame:
    seconds = 1709197200 + np.arange(rows) * 7
    text = pl.Series("Date", seconds * 1_000_000).cast(pl.Datetime("us"))
    values = text.dt.strftime("%Y-%m-%d %H:%M:%S").to_list()
    for row in bad:
        values[row] = "2024-02-30 09:00:00"  # no such day: null, wherever it is
    return pl.DataFrame({"Date": values})


@pytest.mark.parametrize("bad", [[], [0], [499], [250, 999]])
def test_timestamps_parsed_in_slices_equal_one_parse(
    bad: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = _stamps(1000, bad)
    monkeypatch.setattr(pl, "thread_pool_size", lambda: 4)  # slices on any machine
    monkeypatch.setattr(_pieces, "MIN_ROWS", 10**9)
    whole = _units.timestamp_series(frame, "Date")
    monkeypatch.setattr(_pieces, "MIN_ROWS", 7)  # slices of ~1000 / threads rows
    sliced = _units.timestamp_series(frame, "Date")
    assert sliced.to_list() == whole.to_list()
    assert sliced.null_count() == len(bad)


def test_slices_are_joined_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_pieces, "MIN_ROWS", 3)
    monkeypatch.setattr(pl, "thread_pool_size", lambda: 4)
    series = pl.Series("n", range(50))
    seen: list[int] = []

    def double(part: pl.Series) -> pl.Series:
        seen.append(part.len())
        return part * 2

    assert _pieces.by_slices(series, double).to_list() == [2 * n for n in range(50)]
    assert len(seen) == 4 and sum(seen) == 50
    assert _pieces.run(lambda n: n * n, list(range(20))) == [n * n for n in range(20)]


def test_epoch_seconds_equal_polars_division_to_the_bit(monkeypatch: pytest.MonkeyPatch) -> None:
    # Written into one array from each slice's microseconds: the same doubles as polars'
    # cast and division (a product with the inverse there, not numpy's true division).
    micro = 1709197200_000000 + np.random.default_rng(3).integers(0, 10**12, 5000)
    text = pl.Series("t", micro).cast(pl.Datetime("us")).dt.strftime("%Y-%m-%d %H:%M:%S%.6f")
    fmt, dtype = "%Y-%m-%d %H:%M:%S%.f", pl.Datetime("us")
    monkeypatch.setattr(pl, "thread_pool_size", lambda: 4)
    monkeypatch.setattr(_pieces, "MIN_ROWS", 7)
    got = _units.epoch_seconds(text, dtype, fmt)
    want = text.str.strptime(dtype, fmt).dt.epoch("us").cast(pl.Float64) / 1e6
    assert got is not None and got.name == "t"
    assert np.array_equal(got.to_numpy().view(np.int64), want.to_numpy().view(np.int64))
    late = text.scatter(4321, "2024-02-30 09:00:00.000000")  # no such day, in the last slice
    assert _units.epoch_seconds(late, dtype, fmt) is None
