"""Uploads meeting other requests: processing never blocks the API, a confirm never races a PUT
that is still streaming, and the loser of a name race leaves nothing staged behind."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import polars as pl
import pytest
from conftest import (
    http_client,
    new_spec_and_instance,
    parquet_bytes,
    upload_time_series,
    wait_processed,
)
from server_process import ServerProcess
from test_server_uploads import SMALL, download

from ionworks_server.demo_data import long_series


@pytest.fixture
def cell(empty_server: ServerProcess, unique: str) -> str:
    _, cell = new_spec_and_instance(
        http_client(empty_server), unique, ratings={"capacity": {"value": 1.0, "unit": "A.h"}}
    )
    return cell


def test_processing_a_large_upload_does_not_block_other_requests(
    empty_server: ServerProcess, cell: str
) -> None:
    """A request made right after confirm is answered while the job still runs (409 "still
    processing"). If the machine stalled the test long enough for the job to finish first, that
    try proves nothing either way and another upload is made; a server whose processing blocked
    requests would answer only once the job was done, every time."""
    http = http_client(empty_server)
    series = long_series(300_000)
    for attempt in range(3):
        confirmed = upload_time_series(http, cell, f"large-{attempt}", series)
        assert confirmed.status_code == 201
        mid = confirmed.json()["id"]
        during = http.get(f"/cell_measurements/{mid}/time_series/download")
        for _ in range(5):
            assert http.get("/cell_specifications", params={"limit": 5}).status_code == 200
        done = wait_processed(http, mid)
        assert done["processing_status"] == "ready"
        assert done["row_count"] == 300_000
        if during.status_code == 409:
            assert "still processing" in during.json()["message"]
            return
        assert during.status_code in (200, 302), during.text
    pytest.fail("every request made right after confirm waited until processing had finished")


def _staged(server: ServerProcess, measurement_id: str) -> Path:
    return server.data_dir / "storage" / "uploads" / measurement_id


def _wait_for_part(directory: Path, timeout: float = 60.0) -> None:
    """Poll until a PUT's temp file exists (the server is mid-stream), instead of sleeping."""
    deadline = time.monotonic() + timeout
    while not (directory.is_dir() and any(p.name.endswith(".part") for p in directory.iterdir())):
        assert time.monotonic() < deadline, f"no .part file appeared in {directory}"
        time.sleep(0.01)


def test_confirm_while_a_put_is_streaming_is_a_409_and_loses_nothing(
    empty_server: ServerProcess, cell: str
) -> None:
    """The PUT of steps.parquet is held mid-body while confirm is called: confirm refuses with
    UPLOAD_IN_PROGRESS (was a 201 that moved the half-written file away, then a 500 on the PUT);
    after the PUT finishes, confirm succeeds and the uploaded steps are the ones used."""
    http = http_client(empty_server)
    initiated = http.post(
        f"/cell_instances/{cell}/cell_measurements/initiate-upload",
        json={"measurement": {"name": "slow-put"}},
    ).json()
    mid = initiated["measurement_id"]
    targets = {u["filename"]: u["signed_url"] for u in initiated["uploads"]}
    headers = {"Content-Type": "application/octet-stream"}
    put = httpx.put(targets["time_series.parquet"], content=parquet_bytes(SMALL), headers=headers)
    assert put.status_code == 200
    steps = parquet_bytes(
        pl.DataFrame(
            {
                "Step count": [0, 1, 2, 3],
                "Start index": [0, 3, 6, 9],
                "End index": [2, 5, 8, 11],
                "Lab label": ["a", "b", "c", "d"],
            }
        )
    )
    release = threading.Event()

    def slow_body() -> Iterator[bytes]:
        yield steps[:10]
        release.wait(60)
        yield steps[10:]

    result: dict[str, httpx.Response] = {}
    sender = threading.Thread(
        target=lambda: result.update(
            put=httpx.put(targets["steps.parquet"], content=slow_body(), headers=headers)
        )
    )
    sender.start()
    confirm_body = {
        "cell_instance_id": cell,
        "measurement": {"name": "slow-put"},
        "measurement_type": "time_series",
    }
    try:
        _wait_for_part(_staged(empty_server, mid))
        during = http.post(f"/cell_measurements/{mid}/confirm-upload", json=confirm_body)
    finally:
        release.set()
        sender.join(60)
    assert during.status_code == 409, during.text
    assert during.json()["error_code"] == "UPLOAD_IN_PROGRESS"
    assert "steps.parquet" in during.json()["message"]
    assert "confirm again" in during.json()["message"]
    assert result["put"].status_code == 200, result["put"].text
    assert result["put"].json()["size"] == len(steps)
    after = http.post(f"/cell_measurements/{mid}/confirm-upload", json=confirm_body)
    assert after.status_code == 201, after.text
    assert wait_processed(http, mid)["processing_status"] == "ready"
    stored = download(http, f"/cell_measurements/{mid}/steps/download")
    assert stored["Lab label"].to_list() == ["a", "b", "c", "d"]


def test_the_loser_of_a_name_race_has_its_staged_files_removed_at_once(
    empty_server: ServerProcess, cell: str
) -> None:
    """Two uploads reserve the same name; the second confirm is refused (409) and its staged
    directory and reservation are gone at once, not 70 minutes later."""
    http = http_client(empty_server)
    reserved = []
    for _ in range(2):
        initiated = http.post(
            f"/cell_instances/{cell}/cell_measurements/initiate-upload",
            json={"measurement": {"name": "raced"}},
        ).json()
        url = initiated["uploads"][0]["signed_url"]
        assert httpx.put(url, content=parquet_bytes(SMALL)).status_code == 200
        reserved.append(initiated["measurement_id"])
    body = {"cell_instance_id": cell, "measurement": {"name": "raced"}}
    winner = http.post(f"/cell_measurements/{reserved[0]}/confirm-upload", json=body)
    assert winner.status_code == 201, winner.text
    loser = http.post(f"/cell_measurements/{reserved[1]}/confirm-upload", json=body)
    assert loser.status_code == 409
    assert loser.json()["detail"]["existing_id"] == reserved[0]
    assert not _staged(empty_server, reserved[1]).exists()
    again = http.post(f"/cell_measurements/{reserved[1]}/confirm-upload", json=body)
    assert again.status_code == 404
