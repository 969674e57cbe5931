"""The upload flow end to end: initiate → PUT → confirm → processing → downloads, with steps and
cycle metrics checked against values computed by hand, and every way an upload can go wrong."""

from __future__ import annotations

import io
from typing import Any

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
from polars.testing import assert_frame_equal
from server_process import ServerProcess

H = 3600.0

# Four steps over two cycles: 1 A discharge, 0.5 A charge, sampled every 10 s.
SMALL = pl.DataFrame(
    {
        "Time [s]": [0.0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110],
        "Current [A]": [1.0, 1, 1, -0.5, -0.5, -0.5, 1, 1, 1, -0.5, -0.5, -0.5],
        "Voltage [V]": [4.0, 3.9, 3.8, 3.9, 4.0, 4.1, 4.0, 3.8, 3.6, 3.8, 4.0, 4.2],
        "Step count": [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3],
        "Cycle count": [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1],
    }
)

# By hand, trapezoidal rule within each step, A.h and W.h:
EXPECTED_STEPS: dict[str, list[Any]] = {
    "Start index": [0, 3, 6, 9],
    "End index": [2, 5, 8, 11],
    "Start time [s]": [0.0, 30.0, 60.0, 90.0],
    "End time [s]": [20.0, 50.0, 80.0, 110.0],
    "Discharge capacity [A.h]": [20 / H, 0.0, 20 / H, 0.0],
    "Charge capacity [A.h]": [0.0, 10 / H, 0.0, 10 / H],
    # 10 s * ((4.0 + 3.9) / 2 + (3.9 + 3.8) / 2) * 1 A, and so on
    "Discharge energy [W.h]": [78 / H, 0.0, 76 / H, 0.0],
    "Charge energy [W.h]": [0.0, 40 / H, 0.0, 40 / H],
    "Min voltage [V]": [3.8, 3.9, 3.6, 3.8],
    "Max voltage [V]": [4.0, 4.1, 4.0, 4.2],
    "Mean current [A]": [1.0, -0.5, 1.0, -0.5],
    "Duration [s]": [20.0, 20.0, 20.0, 20.0],
    "Step count": [0, 1, 2, 3],
    "Cycle count": [0, 0, 1, 1],
    "Step type": ["Constant current discharge", "Constant current charge"] * 2,
}
EXPECTED_CYCLES: dict[str, list[Any]] = {
    "Cycle count": [0, 1],
    "Discharge capacity [A.h]": [20 / H, 20 / H],
    "Charge capacity [A.h]": [10 / H, 10 / H],
    "Discharge energy [W.h]": [78 / H, 76 / H],
    "Charge energy [W.h]": [40 / H, 40 / H],
    "Min voltage [V]": [3.8, 3.6],
    "Max voltage [V]": [4.1, 4.2],
    "Cycle duration [s]": [40.0, 40.0],
    "Start time [s]": [0.0, 60.0],
    "Coulombic efficiency": [2.0, 2.0],
    "Energy efficiency": [78 / 40, 76 / 40],
    "Capacity retention": [1.0, 1.0],
    "Capacity fade": [0.0, 0.0],
    "Energy retention": [1.0, 76 / 78],
    "Energy fade": [0.0, 1 - 76 / 78],
    "Mean discharge current [A]": [1.0, 1.0],
    "Discharge duration [s]": [20.0, 20.0],
    "Mean charge current [A]": [-0.5, -0.5],
    "Charge duration [s]": [20.0, 20.0],
    "Capacity throughput [A.h]": [30 / H, 60 / H],
    "Energy throughput [W.h]": [118 / H, 234 / H],
}


def assert_columns_close(actual: dict[str, list[Any]], expected: dict[str, list[Any]]) -> None:
    for column, values in expected.items():
        got = actual[column]
        assert len(got) == len(values), column
        for g, e in zip(got, values, strict=True):
            if isinstance(e, float):
                assert g == pytest.approx(e, rel=1e-9, abs=1e-12), column
            else:
                assert g == e, column


def download(http: httpx.Client, path: str) -> pl.DataFrame:
    """Follow the API's redirect to storage without sending the API key there."""
    redirect = http.get(path)
    assert redirect.status_code == 302, redirect.text
    location = redirect.headers["location"]
    assert location.startswith("http://127.0.0.1:")
    stored = httpx.get(location)  # no credentials, like the official client's storage reads
    assert stored.status_code == 200
    assert stored.headers["accept-ranges"] == "bytes"
    return pl.read_parquet(io.BytesIO(stored.content))


@pytest.fixture
def cell(empty_server: ServerProcess, unique: str) -> str:
    _, cell = new_spec_and_instance(
        http_client(empty_server),
        unique,
        ratings={"capacity": {"value": 1.0, "unit": "A.h"}},
        project_id=f"uploads-{unique}",  # tags are spelled per project: not another test's "A"
    )
    return cell


def test_an_uploaded_series_reads_back_identical_with_hand_checked_steps_and_cycles(
    empty_server: ServerProcess, cell: str
) -> None:
    http = http_client(empty_server)
    confirmed = upload_time_series(
        http,
        cell,
        "run1",
        SMALL,
        measurement={"notes": "n", "start_time": "2026-01-01T00:00:00Z", "tags": ["a"]},
    )
    assert confirmed.status_code == 201
    bundle = confirmed.json()
    assert bundle["processing_status"] == "pending"
    assert bundle["steps_created"] == 0
    assert bundle["tags"] == ["a"] and bundle["notes"] == "n"
    done = wait_processed(http, bundle["id"])
    assert done["processing_status"] == "ready"
    assert done["processing_error"] is None
    assert done["row_count"] == SMALL.height

    base = f"/cell_measurements/{bundle['id']}"
    assert_frame_equal(download(http, f"{base}/time_series/download"), SMALL)
    steps = download(http, f"{base}/steps/download")
    assert_columns_close(steps.to_dict(as_series=False), EXPECTED_STEPS)
    cycles = http.get(f"{base}/cycles")
    assert cycles.headers["content-type"] == "application/json"
    assert_columns_close(cycles.json()["cycles"], EXPECTED_CYCLES)
    both = http.get(f"{base}/steps_and_cycles").json()
    assert_columns_close(both["steps"], EXPECTED_STEPS)
    assert both["cycles"] == cycles.json()["cycles"]
    assert list(both["steps"]) == steps.columns


def test_an_uploaded_steps_table_is_used_instead_of_derived_steps(
    empty_server: ServerProcess, cell: str
) -> None:
    http = http_client(empty_server)
    uploaded = pl.DataFrame(
        {
            "Step count": [0, 1, 2, 3],
            "Start index": [0, 3, 6, 9],
            "End index": [2, 5, 8, 11],
            "Discharge capacity [A.h]": [0.5, 0.0, 0.25, 0.0],
            "Charge capacity [A.h]": [0.0, 1.0, 0.0, 1.0],
            "Lab label": ["a", "b", "c", "d"],
        }
    )
    mid = upload_time_series(http, cell, "with-steps", SMALL, steps=uploaded).json()["id"]
    assert wait_processed(http, mid)["processing_status"] == "ready"
    steps = download(http, f"/cell_measurements/{mid}/steps/download")
    assert steps["Lab label"].to_list() == ["a", "b", "c", "d"]
    assert steps["Cycle count"].to_list() == [0, 0, 1, 1]
    cycles = http.get(f"/cell_measurements/{mid}/cycles").json()["cycles"]
    assert cycles["Coulombic efficiency"] == [0.5, 0.25]


def test_a_series_without_counts_gets_derived_step_and_cycle_counts(
    empty_server: ServerProcess, cell: str
) -> None:
    http = http_client(empty_server)
    raw = SMALL.drop("Step count", "Cycle count")
    mid = upload_time_series(http, cell, "no-counts", raw).json()["id"]
    assert wait_processed(http, mid)["processing_status"] == "ready"
    stored = download(http, f"/cell_measurements/{mid}/time_series/download")
    assert stored["Step count"].to_list() == SMALL["Step count"].to_list()
    assert_frame_equal(stored.select(raw.columns), raw)


@pytest.mark.parametrize(
    ("payload", "fragments"),
    [
        (b"PAR1 this is not parquet", ["not a readable parquet file"]),
        (parquet_bytes(SMALL.drop("Voltage [V]")), ["missing", "'Voltage [V]'"]),
        (
            parquet_bytes(
                SMALL.with_columns(
                    pl.Series("Time [s]", [0.0, 10, 20, 30, 40, 35, 60, 70, 80, 90, 100, 110])
                )
            ),
            ["decreases at row 5", "non-decreasing"],
        ),
        (parquet_bytes(SMALL.head(0)), ["empty"]),
    ],
    ids=["garbage", "missing-voltage", "time-goes-back", "no-rows"],
)
def test_a_bad_upload_fails_processing_with_a_message_for_the_user(
    empty_server: ServerProcess, cell: str, payload: bytes, fragments: list[str]
) -> None:
    http = http_client(empty_server)
    confirmed = upload_time_series(http, cell, "bad", payload)
    assert confirmed.status_code == 201
    done = wait_processed(http, confirmed.json()["id"])
    assert done["processing_status"] == "failed"
    for fragment in fragments:
        assert fragment in done["processing_error"]
    base = f"/cell_measurements/{done['id']}"
    for path in ("time_series/download", "steps/download", "cycles", "steps_and_cycles"):
        response = http.get(f"{base}/{path}")
        assert response.status_code == 409
        assert response.json()["error_code"] == "CONFLICT"
        assert done["processing_error"] in response.json()["message"]
    assert not list((empty_server.data_dir / "storage" / "measurements").glob(f"{done['id']}/*"))


def test_confirming_before_uploading_is_a_400_and_creates_nothing(
    empty_server: ServerProcess, cell: str
) -> None:
    http = http_client(empty_server)
    initiated = http.post(
        f"/cell_instances/{cell}/cell_measurements/initiate-upload",
        json={"measurement": {"name": "early"}},
    ).json()
    assert http.get(f"/cell_measurements/{initiated['measurement_id']}").status_code == 404
    confirm = {
        "cell_instance_id": cell,
        "measurement": {"name": "early"},
        "measurement_type": "time_series",
    }
    path = f"/cell_measurements/{initiated['measurement_id']}/confirm-upload"
    response = http.post(path, json=confirm)
    assert response.status_code == 400
    assert "time_series.parquet was never uploaded" in response.json()["message"]
    assert http.get(f"/cell_measurements/{initiated['measurement_id']}").status_code == 404
    assert http.get(f"/cell_instances/{cell}/cell_measurements").json()["total"] == 0
    # The reservation is still open: upload, then confirm for real.
    target = next(u for u in initiated["uploads"] if u["filename"] == "time_series.parquet")
    assert httpx.put(target["signed_url"], content=parquet_bytes(SMALL)).status_code == 200
    assert http.post(path, json=confirm).status_code == 201
    again = http.post(path, json=confirm)
    assert again.status_code == 409
    assert again.json()["detail"]["existing_id"] == initiated["measurement_id"]
    late_put = httpx.put(target["signed_url"], content=b"overwrite")
    assert late_put.status_code == 403


def test_initiate_returns_both_parquet_targets_and_creates_no_row(
    empty_server: ServerProcess, cell: str
) -> None:
    http = http_client(empty_server)
    response = http.post(
        f"/cell_instances/{cell}/cell_measurements/initiate-upload",
        json={"measurement": {"name": "x", "notes": "n"}},
    )
    assert response.status_code == 200
    body = response.json()
    assert [u["filename"] for u in body["uploads"]] == ["time_series.parquet", "steps.parquet"]
    for upload in body["uploads"]:
        assert upload["path"] == f"uploads/{body['measurement_id']}/{upload['filename']}"
        assert "signature=" in upload["signed_url"] and "method=PUT" in upload["signed_url"]
        assert "multipart" not in upload
    assert http.get(f"/cell_instances/{cell}/cell_measurements").json()["total"] == 0


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"cell_instance_id": "other", "measurement": {"name": "x"}}, 400, "cell_instance_id"),
        ({"measurement": {"name": "x"}}, 400, "cell_instance_id"),
        ({"cell_instance_id": "{cell}"}, 400, "measurement"),
        ({"cell_instance_id": "{cell}", "measurement": {}}, 400, "measurement.name"),
        (
            {
                "cell_instance_id": "{cell}",
                "measurement": {"name": "x"},
                "measurement_type": "file",
            },
            400,
            "measurement_type",
        ),
        (
            {"cell_instance_id": "{cell}", "measurement": {"name": "x", "start_time": "later"}},
            400,
            "measurement.start_time",
        ),
    ],
)
def test_an_invalid_confirm_is_a_400_naming_the_field(
    empty_server: ServerProcess, cell: str, body: dict[str, Any], status: int, field: str
) -> None:
    http = http_client(empty_server)
    initiated = http.post(
        f"/cell_instances/{cell}/cell_measurements/initiate-upload",
        json={"measurement": {"name": "x"}},
    ).json()
    httpx.put(initiated["uploads"][0]["signed_url"], content=parquet_bytes(SMALL))
    if body.get("cell_instance_id") == "{cell}":
        body = {**body, "cell_instance_id": cell}
    response = http.post(
        f"/cell_measurements/{initiated['measurement_id']}/confirm-upload", json=body
    )
    assert response.status_code == status, response.text
    assert response.json()["detail"]["field"] == field


def test_confirming_an_unknown_upload_is_a_404(empty_server: ServerProcess, cell: str) -> None:
    response = http_client(empty_server).post(
        "/cell_measurements/never-initiated/confirm-upload",
        json={"cell_instance_id": cell, "measurement": {"name": "x"}},
    )
    assert response.status_code == 404


def test_a_file_measurement_round_trips_its_files_in_order(
    empty_server: ServerProcess, cell: str
) -> None:
    http = http_client(empty_server)
    files = {
        "cycler export.csv": b"a,b\n1,2\n",
        "photo.png": b"\x89PNG fake",
        "notes.txt": b"hello",
    }
    initiated = http.post(
        f"/cell_instances/{cell}/cell_measurements/initiate-upload",
        json={
            "measurement": {"name": "files"},
            "measurement_type": "file",
            "filenames": list(files),
        },
    ).json()
    assert [u["filename"] for u in initiated["uploads"]] == list(files)
    for upload, data in zip(initiated["uploads"], files.values(), strict=True):
        assert httpx.put(upload["signed_url"], content=data).status_code == 200
    confirmed = http.post(
        f"/cell_measurements/{initiated['measurement_id']}/confirm-upload",
        json={
            "cell_instance_id": cell,
            "measurement": {"name": "files"},
            "measurement_type": "file",
            "filenames": list(files),
        },
    )
    assert confirmed.status_code == 201
    assert confirmed.json()["processing_status"] == "ready"
    mid = confirmed.json()["id"]
    assert http.get(f"/cell_measurements/{mid}/files").json() == {"filenames": list(files)}
    for name, data in files.items():
        redirect = http.get(f"/cell_measurements/{mid}/files/{name}")
        assert redirect.status_code == 302
        assert httpx.get(redirect.headers["location"]).content == data
    assert http.get(f"/cell_measurements/{mid}/files/other.txt").status_code == 404
    assert http.get(f"/cell_measurements/{mid}/time_series/download").status_code == 404


@pytest.mark.parametrize(
    ("filenames", "fragment"),
    [
        (None, "required"),
        ([], "required"),
        (["../etc/passwd"], "plain file name"),
        (["a", "a"], "twice"),
    ],
)
def test_file_uploads_need_plain_unique_names(
    empty_server: ServerProcess, cell: str, filenames: list[str] | None, fragment: str
) -> None:
    body: dict[str, Any] = {"measurement": {"name": "f"}, "measurement_type": "file"}
    if filenames is not None:
        body["filenames"] = filenames
    response = http_client(empty_server).post(
        f"/cell_instances/{cell}/cell_measurements/initiate-upload", json=body
    )
    assert response.status_code == 400
    assert fragment in response.json()["message"]


def test_a_file_measurement_confirm_needs_every_file(
    empty_server: ServerProcess, cell: str
) -> None:
    http = http_client(empty_server)
    initiated = http.post(
        f"/cell_instances/{cell}/cell_measurements/initiate-upload",
        json={
            "measurement": {"name": "f"},
            "measurement_type": "file",
            "filenames": ["a.csv", "b.csv"],
        },
    ).json()
    httpx.put(initiated["uploads"][0]["signed_url"], content=b"a")
    response = http.post(
        f"/cell_measurements/{initiated['measurement_id']}/confirm-upload",
        json={"cell_instance_id": cell, "measurement": {"name": "f"}, "measurement_type": "file"},
    )
    assert response.status_code == 400
    assert response.json()["detail"]["missing"] == ["b.csv"]
