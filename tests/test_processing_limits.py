"""Bounded resources in server-side processing: footer limits, chunked processing, two lanes.

A parquet file can be tiny on disk and enormous once decoded (100 million rows of constants
compress to about 1 MB). The server reads the row count and decoded size from the footer and
refuses such files before decoding anything; what it accepts it processes in chunks; and a small
upload never waits behind a big one. Speed is measured by ``make bench``, not asserted here.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import (
    http_client,
    new_spec_and_instance,
    parquet_bytes,
    upload_time_series,
    wait_processed,
)
from server_process import ServerProcess, start_server

from ionworks_server.demo_data import long_series
from ionworks_server.processing import process
from ionworks_server.upload_limits import (
    MAX_DECODED_BYTES_ENV,
    MAX_ROWS_ENV,
    FooterFacts,
    ProcessingLimits,
    read_footer,
)
from ionworks_server.worker import _chunk_rows, _is_big

KEY = "limits-key-0123456789"
GROUP = 1_000_000


def constant_parquet(rows: int, columns: int = 3, block: int = 0) -> bytes:
    """``rows`` rows in row groups of a million, a few KB per million rows on disk.

    Time, current and voltage (plus ``columns - 3`` extra float columns) are constant, except
    that with ``block`` the current flips sign every ``block`` rows, so the series has
    ``rows / block`` steps to summarise.
    """
    current = np.zeros(GROUP)
    if block:
        current = np.where((np.arange(GROUP) // block) % 2 == 0, 1.0, -1.0)
    data = {"Time [s]": np.zeros(GROUP), "Current [A]": current, "Voltage [V]": np.full(GROUP, 3.7)}
    for n in range(columns - 3):
        data[f"Extra {n}"] = np.ones(GROUP)
    table = pa.table(data)
    buffer = io.BytesIO()
    with pq.ParquetWriter(buffer, table.schema, compression="zstd") as writer:
        for start in range(0, rows, GROUP):
            writer.write_table(table.slice(0, min(GROUP, rows - start)))
    return buffer.getvalue()


def peak_rss(server: ServerProcess) -> int:
    """The server process's high-water mark of resident memory, in bytes."""
    for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc status")


def serve(data_dir: Path, **env: str) -> ServerProcess:
    """A server of its own, started with ``env`` added to the environment."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        return start_server(data_dir, KEY)


@pytest.fixture(scope="module")
def limited_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """Limits lowered by environment variables: 10 million rows, 512 MiB decoded."""
    server = serve(
        tmp_path_factory.mktemp("limited") / "data",
        **{MAX_ROWS_ENV: "10_000_000", MAX_DECODED_BYTES_ENV: str(512 * 1024**2)},
    )
    try:
        yield server
    finally:
        server.stop()


# -- the footer, without a server --------------------------------------------------------------


def test_the_footer_gives_rows_and_decoded_size_of_a_tiny_file(tmp_path: Path) -> None:
    path = tmp_path / "bomb.parquet"
    path.write_bytes(constant_parquet(3_000_000))
    facts = read_footer(path)
    assert path.stat().st_size < 100_000
    assert facts.rows == 3_000_000
    assert facts.columns == 3
    assert facts.row_groups == 3
    # The footer's own uncompressed sizes are tiny (run-length encoded); decoded is 8 B a value.
    assert facts.decoded_bytes >= 3_000_000 * 3 * 8


def test_limits_say_which_limit_the_file_numbers_and_how_to_fix_it(tmp_path: Path) -> None:
    path = tmp_path / "wide.parquet"
    path.write_bytes(constant_parquet(1_000_000, columns=10))
    facts = read_footer(path)
    assert ProcessingLimits().refusal(facts, "time_series.parquet") is None
    by_rows = ProcessingLimits(max_rows=999_999).refusal(facts, "time_series.parquet")
    assert by_rows is not None
    assert "time_series.parquet holds 1,000,000 rows, over the limit of 999,999 rows" in by_rows
    assert "Split the data into several measurements" in by_rows
    assert MAX_ROWS_ENV in by_rows
    by_size = ProcessingLimits(max_decoded_bytes=64 * 1024**2).refusal(facts, "steps.parquet")
    assert by_size is not None
    assert "about 76.3 MiB once decoded (1,000,000 rows x 10 columns)" in by_size
    assert "over the limit of 64.0 MiB" in by_size
    assert MAX_DECODED_BYTES_ENV in by_size


def test_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert ProcessingLimits.from_env() == ProcessingLimits()
    assert ProcessingLimits().max_rows == 25_000_000
    assert ProcessingLimits().max_decoded_bytes == 2 * 1024**3
    monkeypatch.setenv(MAX_ROWS_ENV, "1_000")
    monkeypatch.setenv(MAX_DECODED_BYTES_ENV, "4096")
    assert ProcessingLimits.from_env() == ProcessingLimits(max_rows=1000, max_decoded_bytes=4096)
    monkeypatch.setenv(MAX_ROWS_ENV, "lots")
    with pytest.raises(ValueError, match=f"{MAX_ROWS_ENV} must be a whole number, got 'lots'"):
        ProcessingLimits.from_env()


def test_wide_files_are_read_in_fewer_rows_per_chunk() -> None:
    narrow = FooterFacts(
        rows=10_000_000, decoded_bytes=10_000_000 * 12 * 8, row_groups=40, columns=12
    )
    wide = FooterFacts(
        rows=1_000_000, decoded_bytes=1_000_000 * 1000 * 8, row_groups=4, columns=1000
    )
    assert _chunk_rows(narrow) == 262_144
    assert _chunk_rows(wide) == 8_388  # 64 MiB of 8,000-byte rows


def test_large_uploads_within_the_limits_take_the_big_lane(tmp_path: Path) -> None:
    limits = ProcessingLimits(max_rows=1_000_000)
    cases = {
        "small": (constant_parquet(200_000), False),
        "many rows": (constant_parquet(200_001), True),
        "wide": (constant_parquet(100_000, columns=50), True),  # 40 MB decoded
        "refused at once": (constant_parquet(1_000_001), False),
        "unreadable": (b"PAR1 not parquet", False),
    }
    for name, (data, big) in cases.items():
        path = tmp_path / f"{name}.parquet"
        path.write_bytes(data)
        assert _is_big(path, limits) is big, name


# -- a real server -----------------------------------------------------------------------------


def test_a_parquet_bomb_is_refused_before_decoding_in_little_memory(tmp_path: Path) -> None:
    """30 million rows in a file of a few hundred KB: over the default 25 million rows."""
    server = serve(tmp_path / "data")
    try:
        with http_client(server) as http:
            _, instance = new_spec_and_instance(http, "bomb")
            confirmed = upload_time_series(http, instance, "bomb", constant_parquet(30_000_000))
            assert confirmed.status_code == 201, confirmed.text
            done = wait_processed(http, confirmed.json()["id"])
        assert done["processing_status"] == "failed"
        assert done["row_count"] is None
        error = done["processing_error"]
        assert "30,000,000 rows, over the limit of 25,000,000 rows" in error
        assert "Split the data" in error
        # Decoding it would take 720 MB for the frame alone, several times that to process.
        assert peak_rss(server) < 500 * 1024**2
    finally:
        server.stop()
    leftovers = [p for p in (server.data_dir / "storage").rglob("*") if p.is_file()]
    assert leftovers == []


def test_the_row_limit_is_a_setting(limited_server: ServerProcess) -> None:
    with http_client(limited_server) as http:
        _, instance = new_spec_and_instance(http, "rows-limit")
        over = upload_time_series(http, instance, "over", constant_parquet(10_000_001))
        done = wait_processed(http, over.json()["id"])
    assert done["processing_status"] == "failed"
    assert "10,000,001 rows, over the limit of 10,000,000 rows" in done["processing_error"]


def test_the_decoded_size_limit_is_a_setting(limited_server: ServerProcess) -> None:
    with http_client(limited_server) as http:
        _, instance = new_spec_and_instance(http, "size-limit")
        wide = upload_time_series(http, instance, "wide", constant_parquet(2_000_000, columns=40))
        done = wait_processed(http, wide.json()["id"])
    assert done["processing_status"] == "failed"
    assert "about 610.4 MiB once decoded (2,000,000 rows x 40 columns)" in done["processing_error"]
    assert "over the limit of 512.0 MiB" in done["processing_error"]


def test_an_accepted_multi_chunk_upload_reads_back_as_processed(
    limited_server: ServerProcess,
) -> None:
    """Processed in chunks, stored as row groups: the same frame and the right step indices."""
    ts = long_series(600_000, seed=4)
    with http_client(limited_server) as http:
        _, instance = new_spec_and_instance(http, "chunks")
        confirmed = upload_time_series(http, instance, "chunks", parquet_bytes(ts))
        done = wait_processed(http, confirmed.json()["id"], timeout=300)
        assert done["processing_status"] == "ready", done
        assert done["row_count"] == 600_000
        stored = limited_server.data_dir / "storage" / "measurements" / done["id"]
    series = pq.ParquetFile(stored / "time_series.parquet")
    assert series.metadata.num_row_groups > 1
    expected, steps, _ = process(ts, None, None)
    assert pl.read_parquet(stored / "time_series.parquet").equals(expected)
    stored_steps = pl.read_parquet(stored / "steps.parquet")
    assert stored_steps.select("Start index", "End index").equals(
        steps.select("Start index", "End index")
    )


def test_a_small_upload_is_not_queued_behind_a_big_one(limited_server: ServerProcess) -> None:
    """Confirmed just after a 6-million-row upload, a 1,000-row one is ready while the big one
    is still being processed (before: a single queue made it wait for the big one)."""
    big = constant_parquet(6_000_000, block=1_000)  # 6,000 steps to summarise
    small = parquet_bytes(long_series(1_000, seed=5))
    with http_client(limited_server) as http:
        _, instance = new_spec_and_instance(http, "lanes")
        big_id = upload_time_series(http, instance, "big", big).json()["id"]
        small_id = upload_time_series(http, instance, "small", small).json()["id"]
        small_done = wait_processed(http, small_id, timeout=120)
        big_then = http.get(f"/cell_measurements/{big_id}").json()["processing_status"]
        big_done = wait_processed(http, big_id, timeout=600)
    assert small_done["processing_status"] == "ready"
    assert big_then in ("pending", "running")
    assert big_done["processing_status"] == "ready", big_done
    assert big_done["row_count"] == 6_000_000


def test_a_ten_million_row_step_is_summarised_in_bounded_memory(tmp_path: Path) -> None:
    """A file without step information and a constant current is one step of every row: it is
    aggregated piece by piece, not held whole (which took gigabytes)."""
    server = serve(tmp_path / "data")
    try:
        with http_client(server) as http:
            _, instance = new_spec_and_instance(http, "one-step")
            confirmed = upload_time_series(http, instance, "rest", constant_parquet(10_000_000))
            done = wait_processed(http, confirmed.json()["id"], timeout=600)
            assert done["processing_status"] == "ready", done
            assert done["row_count"] == 10_000_000
            steps = http.get(f"/cell_measurements/{done['id']}/steps_and_cycles").json()["steps"]
        assert steps["Start index"] == [0]
        assert steps["End index"] == [9_999_999]
        assert steps["Step type"] == ["Rest"]
        assert peak_rss(server) < 600 * 1024**2
    finally:
        server.stop()
