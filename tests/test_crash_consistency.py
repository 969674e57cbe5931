"""``kill -9`` at points of upload and processing, then a restart on the same data dir: the files
on disk are exactly the files the database references, every referenced file is whole, and no
measurement is left pending or running (the longer campaign is ``scripts/kill_campaign.py``)."""

from __future__ import annotations

import pytest
from crash_campaign import Campaign, KillResult


@pytest.fixture(scope="module")
def campaign(tmp_path_factory: pytest.TempPathFactory) -> Campaign:
    return Campaign(tmp_path_factory.mktemp("crash") / "data", rows=300_000)


def _assert_consistent(result: KillResult) -> None:
    after = result.after_restart
    assert after.orphans == [], f"unreferenced files after restart ({result.point})"
    assert after.missing == [], f"referenced files missing or torn ({result.point})"
    assert after.stuck == [], f"measurements never finished ({result.point})"
    assert after.failed_without_reason == []


def test_a_kill_mid_put_leaves_no_temp_file_after_restart(campaign: Campaign) -> None:
    result = campaign.kill_at("mid-put")
    assert result.landed, "the PUT never started streaming"
    # The kill left the PUT's temp file behind: the restart must sweep it.
    assert any(o.endswith(".part") for o in result.before_restart.orphans)
    _assert_consistent(result)


def test_a_kill_right_after_confirm_is_processed_after_restart(campaign: Campaign) -> None:
    result = campaign.kill_at("after-confirm")
    assert result.landed
    _assert_consistent(result)
    assert result.after_restart.referenced > 0


def test_a_kill_during_processing_leaves_only_whole_referenced_files(campaign: Campaign) -> None:
    """The kill usually lands while the worker writes a ``.part``; when the machine is fast
    enough that processing ends first, the invariant must hold just the same."""
    result = campaign.kill_at("mid-processing")
    _assert_consistent(result)


def test_the_start_up_sweep_removes_leftovers_of_older_crashes(campaign: Campaign) -> None:
    """A stray staged dir and a temp file inside a referenced dir, planted while the server is
    down, are gone after the next start; the referenced files stay whole. The measurement it
    plants into is its own: under ``pytest -n 2`` the kills above may run on another worker."""
    mid, name = campaign.staged_upload("sweep-kept")
    assert campaign.confirm_and_settle(mid, name) == "ready"
    storage = campaign.data_dir / "storage"
    stray = storage / "processing" / "no-such-measurement"
    stray.mkdir(parents=True, exist_ok=True)
    (stray / "time_series.parquet").write_bytes(b"x")
    kept = storage / "measurements" / mid
    (kept / ".cycles.parquet.0123abcd.part").write_bytes(b"partial")
    before, after = campaign.restart()
    assert "processing/no-such-measurement" in before.orphans
    assert f"measurements/{kept.name}/.cycles.parquet.0123abcd.part" in before.orphans
    assert after.orphans == [] and after.missing == [] and after.stuck == []
    assert after.referenced == before.referenced > 0


def test_a_confirm_killed_before_its_commit_gives_the_staged_files_back(
    campaign: Campaign,
) -> None:
    """A kill between confirm's move of the staged files and its commit leaves them in
    processing/ with no row; the restart puts them back, so confirming again just works."""
    mid, name = campaign.staged_upload("confirm-killed")
    storage = campaign.data_dir / "storage"
    (storage / "uploads" / mid).rename(storage / "processing" / mid)  # the move, uncommitted
    before, after = campaign.restart()
    assert f"processing/{mid}" in before.orphans
    assert after.orphans == []
    assert (storage / "uploads" / mid / "time_series.parquet").is_file()
    assert campaign.confirm_and_settle(mid, name) == "ready"
