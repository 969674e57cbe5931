"""``serial_decoding`` (what a fleet pull's threads decode under) reads the same frame as the
default parallel decode, holds only in its own thread, and is undone on exit, errors included."""

from __future__ import annotations

import threading
from unittest import mock

import polars as pl
import pytest

from ionworks._dataframe import read_parquet, serial_decoding, write_parquet_bytes


def _parallel_of_each_read(run: object) -> list[str]:
    seen: list[str] = []
    real = pl.read_parquet

    def spy(*args: object, **kwargs: object) -> pl.DataFrame:
        seen.append(str(kwargs.get("parallel")))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    with mock.patch.object(pl, "read_parquet", spy):
        run()  # type: ignore[operator]
    return seen


def test_a_serial_decode_reads_the_same_frame_and_only_in_its_thread() -> None:
    frame = pl.DataFrame({"a": range(50_000), "b": [float(i) / 3 for i in range(50_000)]})
    data = write_parquet_bytes(frame)
    results: dict[str, pl.DataFrame] = {}

    def run() -> None:
        results["default"] = read_parquet(data)
        with serial_decoding():
            results["serial"] = read_parquet(data)
            other = threading.Thread(target=lambda: results.update(other=read_parquet(data)))
            other.start()
            other.join()
        results["after"] = read_parquet(data)

    assert _parallel_of_each_read(run) == ["auto", "none", "auto", "auto"]
    assert all(result.equals(frame) for result in results.values())


def test_serial_decoding_is_undone_when_the_block_raises() -> None:
    with pytest.raises(RuntimeError), serial_decoding():
        raise RuntimeError("boom")
    assert _parallel_of_each_read(
        lambda: read_parquet(write_parquet_bytes(pl.DataFrame({"a": [1]})))
    ) == ["auto"]
