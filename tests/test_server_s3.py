"""The server on S3-compatible object storage: moto's standalone server (``moto_server`` from PyPI,
a real HTTP server process on loopback, started by ``s3_process.py``) as the store, the client's
seed scenarios against it.

With ``--storage-url`` the client talks to the store itself: initiate-upload hands out the store's
presigned PUT URLs, downloads redirect to its presigned GET URLs, byte ranges (row windows and
column projection) are served by the store, and the server's own ``/storage`` routes see nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import httpx
import polars as pl
import pytest
import s3_process
from conftest import http_client, new_spec_and_instance, upload_time_series, wait_processed
from s3_process import moto_store, s3_client
from server_process import REPO_ROOT, ServerProcess, free_port, start_server

from ionworks import Ionworks
from ionworks.data import columns as col
from ionworks_server.demo_data import long_series
from ionworks_server.errors import ApiError
from ionworks_server.storage_s3 import PART_BYTES_ENV, S3Storage
from ionworks_server.uploads import _check_staged as check_staged

BUCKET = "ionworks-test"
PREFIX = "team/data"
SERVE = [sys.executable, "-m", "ionworks_server", "serve", "--port", "0"]
PROCESSED = {"time_series.parquet", "steps.parquet", "cycles.parquet", "steps.json", "cycles.json"}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's S3 server on a free loopback port, with an empty bucket; its endpoint URL."""
    with moto_store(tmp_path_factory.mktemp("moto") / "moto.log") as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def aws_env(store: str) -> Iterator[dict[str, str]]:
    env = s3_process.aws_env(store)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        s3(store).create_bucket(Bucket=BUCKET)
        yield env


s3 = s3_client


@pytest.fixture(scope="module")
def s3_server(
    aws_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    server = start_server(
        tmp_path_factory.mktemp("s3-server") / "data",
        "s3-test-key",
        extra_args=["--storage-url", f"s3://{BUCKET}/{PREFIX}"],
    )
    yield server
    server.stop()


def stored(store: str, measurement_id: str) -> dict[str, set[str]]:
    """{area: file names} stored in the bucket for one measurement."""
    found: dict[str, set[str]] = {}
    listing = s3(store).list_objects_v2(Bucket=BUCKET, Prefix=f"{PREFIX}/")
    for item in listing.get("Contents", []):
        _, _, area, object_id, name = item["Key"].split("/")
        if object_id == measurement_id:
            found.setdefault(area, set()).add(name)
    return found


def test_an_upload_goes_to_the_store_and_downloads_redirect_to_it_with_ranges(
    s3_server: ServerProcess, store: str, unique: str
) -> None:
    http = http_client(s3_server)
    _, cell = new_spec_and_instance(http, unique)
    initiated = http.post(
        f"/cell_instances/{cell}/cell_measurements/initiate-upload",
        json={"measurement": {"name": "probe"}},
    )
    assert initiated.status_code == 200, initiated.text
    for target in initiated.json()["uploads"]:  # presigned by the store, not our /storage
        assert target["signed_url"].startswith(f"{store}/{BUCKET}/{PREFIX}/uploads/")
    series = long_series(20_000, seed=5)
    confirmed = upload_time_series(http, cell, f"s3-{unique}", series)
    assert confirmed.status_code == 201, confirmed.text
    mid = confirmed.json()["id"]
    done = wait_processed(http, mid)
    assert (done["processing_status"], done["row_count"]) == ("ready", 20_000), done
    assert stored(store, mid) == {"measurements": PROCESSED}  # staged copies gone

    redirect = http.get(f"/cell_measurements/{mid}/time_series/download")
    assert redirect.status_code == 302
    location = redirect.headers["location"]
    assert urlsplit(location).netloc == urlsplit(store).netloc
    whole = httpx.get(location)
    assert whole.status_code == 200
    part = httpx.get(location, headers={"Range": "bytes=4-1003"})
    assert part.status_code == 206
    assert part.content == whole.content[4:1004]
    assert part.headers["content-range"] == f"bytes 4-1003/{len(whole.content)}"
    assert "X-Amz-Signature=" in location  # (moto does not check it: see docs/server.md)

    assert http.delete(f"/cell_measurements/{mid}").status_code == 204
    assert stored(store, mid) == {}


def test_the_client_uploads_reads_windows_and_projects_columns_through_the_store(
    s3_server: ServerProcess, tmp_path: Path, unique: str
) -> None:
    client = Ionworks(
        api_key=s3_server.api_key, api_url=s3_server.url, cache_dir=tmp_path / "cache"
    )
    spec = client.cell_spec.create({"name": f"s3-client-{unique}"})
    instance = client.cell_instance.create(spec.id, {"name": "cell"})
    series = long_series(50_000, seed=7)
    bundle = client.cell_measurement.create(
        instance.id, {"measurement": {"name": "through the store"}, "time_series": series}
    )
    mid = bundle.measurement.id
    whole = client.cell_measurement.time_series(mid, use_cache=False)
    assert isinstance(whole, pl.DataFrame)
    assert whole.height == 50_000
    window = client.cell_measurement.time_series(
        mid, columns=[col.VOLTAGE], row_range=(40_000, 40_100), use_cache=False
    )
    assert isinstance(window, pl.DataFrame)
    assert window.equals(whole.select(col.VOLTAGE).slice(40_000, 100))
    detail = client.cell_measurement.detail(mid)
    assert detail.steps is not None and detail.steps.height > 0
    assert detail.cycles is not None


def test_a_file_measurement_is_stored_and_served_by_the_store(
    s3_server: ServerProcess, store: str, unique: str
) -> None:
    http = http_client(s3_server)
    _, cell = new_spec_and_instance(http, unique)
    initiated = http.post(
        f"/cell_instances/{cell}/cell_measurements/initiate-upload",
        json={"measurement": {"name": "raw"}, "measurement_type": "file", "filenames": ["a.csv"]},
    )
    assert initiated.status_code == 200, initiated.text
    mid = initiated.json()["measurement_id"]
    url = initiated.json()["uploads"][0]["signed_url"]
    assert httpx.put(url, content=b"t,v\n0,4.2\n").status_code == 200
    confirmed = http.post(
        f"/cell_measurements/{mid}/confirm-upload",
        json={"cell_instance_id": cell, "measurement": {"name": "raw"}, "measurement_type": "file"},
    )
    assert confirmed.status_code == 201, confirmed.text
    assert stored(store, mid) == {"measurements": {"a.csv"}}
    files = http.get(f"/cell_measurements/{mid}/files")
    assert files.status_code == 200, files.text
    redirect = http.get(f"/cell_measurements/{mid}/files/a.csv")
    assert redirect.status_code == 302, redirect.text
    assert httpx.get(redirect.headers["location"]).content == b"t,v\n0,4.2\n"


def test_confirm_without_the_put_names_the_missing_file(
    s3_server: ServerProcess, unique: str
) -> None:
    http = http_client(s3_server)
    _, cell = new_spec_and_instance(http, unique)
    confirmed = upload_time_series(http, cell, f"missing-{unique}", None)
    assert confirmed.status_code == 400
    assert "time_series.parquet was never uploaded" in confirmed.json()["message"]


def test_an_unreachable_bucket_is_one_line_of_error_at_start(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IONWORKS_SERVER_")}
    env.update(
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}",  # nothing listens there
        AWS_ACCESS_KEY_ID="k",
        AWS_SECRET_ACCESS_KEY="s",
        AWS_DEFAULT_REGION="us-east-1",
    )
    done = subprocess.run(
        [*SERVE, "--data-dir", str(tmp_path / "data"), "--storage-url", "s3://absent/x"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert "error: cannot reach bucket 'absent'" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_storage_url_that_is_not_s3_is_refused_before_start(tmp_path: Path) -> None:
    done = subprocess.run(
        [*SERVE, "--data-dir", str(tmp_path / "data"), "--storage-url", "gs://bucket/x"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "use s3://BUCKET/PREFIX" in done.stderr
    assert not (tmp_path / "data").exists()


# -- large objects: multipart uploads of what the server writes --------------------------------

MiB = 1024 * 1024


@pytest.fixture
def parts_of_5mib(aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Multipart above 5 MiB (S3's smallest part; moto enforces it too), not boto3's 8 MiB."""
    monkeypatch.setenv(PART_BYTES_ENV, str(5 * MiB))


def storage_on(store: str, root: Path) -> S3Storage:
    """The server's storage class in this process, on the test bucket."""
    storage = S3Storage(root, b"k" * 32, f"s3://{BUCKET}/{PREFIX}")
    storage.check()
    return storage


def multipart_uploads(store: str, measurement_id: str) -> list[str]:
    listing = s3(store).list_multipart_uploads(Bucket=BUCKET, Prefix=f"{PREFIX}/")
    return [u["Key"] for u in listing.get("Uploads", []) if f"/{measurement_id}/" in u["Key"]]


def test_large_results_are_published_in_parts_and_read_back_whole(
    parts_of_5mib: None, store: str, tmp_path: Path
) -> None:
    storage = storage_on(store, tmp_path / "a")
    mid = str(uuid.uuid4())
    body = os.urandom(11 * MiB + 17)
    local = storage.object_dir("measurements", mid)
    local.mkdir(parents=True)
    (local / "time_series.parquet").write_bytes(body)
    storage.publish(mid)
    key = storage.key("measurements", mid, "time_series.parquet")
    head = s3(store).head_object(Bucket=BUCKET, Key=key)
    assert head["ETag"].strip('"').endswith("-3"), head["ETag"]  # three parts: 5 + 5 + 1 MiB
    assert head["ContentLength"] == len(body)
    url = storage.download_url("", mid, "time_series.parquet", 60)
    assert url is not None
    across = httpx.get(url, headers={"Range": f"bytes={5 * MiB - 10}-{5 * MiB + 9}"})
    assert across.status_code == 206
    assert across.content == body[5 * MiB - 10 : 5 * MiB + 10]
    # Another host reads it into its own root (ranged GETs in parts): the same bytes.
    elsewhere = storage_on(store, tmp_path / "b")
    assert elsewhere.local_object("measurements", mid, "time_series.parquet").read_bytes() == body
    storage.remove(mid)
    assert stored(store, mid) == {}


def test_a_failed_publish_aborts_its_multipart_upload_and_keeps_nothing(
    parts_of_5mib: None, store: str, tmp_path: Path
) -> None:
    storage = storage_on(store, tmp_path)
    mid = str(uuid.uuid4())
    local = storage.object_dir("measurements", mid)
    local.mkdir(parents=True)
    (local / "time_series.parquet").write_bytes(b"published first")
    (local / "steps.parquet").write_bytes(os.urandom(12 * MiB))
    sent: list[int] = []

    def fail_the_second_part(**_: Any) -> None:
        # A fault moto cannot produce on demand: the connection dies during one part.
        sent.append(1)
        if len(sent) == 2:
            raise ConnectionAbortedError("injected: the connection died during a part")

    storage.client.meta.events.register("before-send.s3.UploadPart", fail_the_second_part)
    with pytest.raises(Exception, match="injected"):
        storage.publish(mid)
    assert len(sent) >= 2
    assert multipart_uploads(store, mid) == []  # aborted: no parts left stored
    assert stored(store, mid) == {}  # nor the file published before it


def test_clearing_output_aborts_the_multipart_upload_of_a_killed_worker(
    store: str, aws_env: dict[str, str], tmp_path: Path
) -> None:
    """A worker killed mid-publish leaves an unfinished multipart upload; the worker that takes
    the job over clears the output, parts included (as does deleting the measurement)."""
    storage = storage_on(store, tmp_path)
    for clear in (storage.clear_output, storage.remove):
        mid = str(uuid.uuid4())
        key = storage.key("measurements", mid, "time_series.parquet")
        started = s3(store).create_multipart_upload(Bucket=BUCKET, Key=key)
        s3(store).upload_part(
            Bucket=BUCKET, Key=key, UploadId=started["UploadId"], PartNumber=1, Body=b"x" * MiB
        )
        assert multipart_uploads(store, mid) == [key]
        clear(mid)
        assert multipart_uploads(store, mid) == []


def test_confirm_refuses_an_upload_the_store_took_over_the_limit(
    store: str, aws_env: dict[str, str], tmp_path: Path
) -> None:
    """The store takes a presigned PUT of any size up to its own cap (5 GB on S3), so confirm
    checks the server's limit per file (``max_upload_bytes``) that the local store's PUT checks."""
    storage = storage_on(store, tmp_path)
    mid = str(uuid.uuid4())
    key = storage.key("uploads", mid, "time_series.parquet")
    s3(store).put_object(Bucket=BUCKET, Key=key, Body=b"x" * 1000)
    reservation = SimpleNamespace(id=mid, measurement_type="time_series", filenames=[])
    check_staged(storage, reservation, 1000)  # at the limit: accepted
    with pytest.raises(ApiError) as refused:
        check_staged(storage, reservation, 999)
    assert refused.value.status == 413
    assert "time_series.parquet" in refused.value.message and "999 bytes" in refused.value.message
    storage.remove(mid)


def test_a_part_size_below_s3s_smallest_is_refused_at_start(
    aws_env: dict[str, str], tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IONWORKS_SERVER_")}
    env[PART_BYTES_ENV] = "1000000"
    done = subprocess.run(
        [*SERVE, "--data-dir", str(tmp_path / "data"), "--storage-url", f"s3://{BUCKET}/x"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert f"${PART_BYTES_ENV} must be a whole number of bytes of at least 5242880" in done.stderr
    assert "Traceback" not in done.stderr
