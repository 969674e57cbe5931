"""Signed storage URLs: tamper-proof, short-lived, confined to the storage root, with HTTP ranges."""

from __future__ import annotations

import io
import json
import shutil
import socket
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import polars as pl
import pytest
from conftest import http_client
from server_process import ServerProcess

from ionworks_server.storage import (
    CHUNK,
    WHOLE_READ,
    Storage,
    load_or_create_secret,
    parts_in_flight,
    sweep_parts,
)


@pytest.fixture(scope="module")
def signed(live_server: ServerProcess) -> str:
    """A signed GET URL of a demo time series (what the download redirect points to)."""
    http = http_client(live_server)
    spec = http.get("/cell_specifications", params={"name": "eq.NCM622/Graphite Coin Cell"}).json()[
        "items"
    ][0]
    cell = http.get(f"/cell_specifications/{spec['id']}/cell_instances").json()["items"][0]
    series = http.get(
        f"/cell_instances/{cell['id']}/cell_measurements",
        params={"measurement_type": "time_series"},
    ).json()["items"][0]
    redirect = http.get(f"/cell_measurements/{series['id']}/time_series/download")
    assert redirect.status_code == 302
    return str(redirect.headers["location"])


@pytest.fixture(scope="module")
def whole(signed: str) -> bytes:
    response = httpx.get(signed)
    assert response.status_code == 200
    return response.content


def storage_for(server: ServerProcess) -> Storage:
    """The server's own signer (same data dir, same secret), to mint URLs a client never gets."""
    return Storage(
        server.data_dir / "storage", load_or_create_secret(server.data_dir / "signing.key")
    )


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()} | changes
    return parts._replace(query=urlencode(query)).geturl()


def test_a_signed_url_serves_the_parquet_without_credentials(signed: str, whole: bytes) -> None:
    frame = pl.read_parquet(io.BytesIO(whole))
    assert {"Time [s]", "Current [A]", "Voltage [V]"} <= set(frame.columns)


def test_polars_reads_the_signed_url_directly(signed: str, whole: bytes) -> None:
    assert pl.read_parquet(signed).equals(pl.read_parquet(io.BytesIO(whole)))


@pytest.mark.parametrize(
    "change",
    [
        {"signature": "0" * 64},
        {"signature": "zz"},
        {"expires": "9999999999"},
        {"method": "PUT"},
        {"signature": ""},
    ],
    ids=["forged", "garbage", "extended", "other-method", "empty"],
)
def test_a_tampered_signed_url_is_a_403(signed: str, change: dict[str, str]) -> None:
    response = httpx.get(with_query(signed, **change))
    assert response.status_code == 403
    assert response.json()["error_code"] == "FORBIDDEN"


def test_a_signature_does_not_open_another_object(signed: str) -> None:
    parts = urlsplit(signed)
    other = parts._replace(path=parts.path.replace("time_series.parquet", "steps.parquet")).geturl()
    assert httpx.get(other).status_code == 403


def test_an_expired_signed_url_is_a_403_that_says_so(
    live_server: ServerProcess, signed: str
) -> None:
    _, _, area, object_id, filename = urlsplit(signed).path.split("/")
    expired = storage_for(live_server).signed_url(
        live_server.url, "GET", area, object_id, filename, -5
    )
    response = httpx.get(expired)
    assert response.status_code == 403
    assert "expired" in response.json()["message"]


def test_a_get_signature_cannot_write(
    live_server: ServerProcess, signed: str, whole: bytes
) -> None:
    assert httpx.put(signed, content=b"overwrite").status_code == 403
    assert httpx.get(signed).content == whole


def test_a_put_signature_for_processed_objects_is_refused(
    live_server: ServerProcess, signed: str, whole: bytes
) -> None:
    _, _, area, object_id, filename = urlsplit(signed).path.split("/")
    put_url = storage_for(live_server).signed_url(
        live_server.url, "PUT", area, object_id, filename, 60
    )
    assert httpx.put(put_url, content=b"overwrite").status_code == 403
    assert httpx.get(signed).content == whole


def raw_get(url: str, path: str) -> tuple[int, bytes]:
    """GET an exact, un-normalised path (httpx would resolve ``..`` segments itself)."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


@pytest.mark.parametrize(
    "path",
    [
        "/storage/measurements/../../signing.key",
        "/storage/measurements/..%2F..%2Fsigning.key/x",
        "/storage/measurements/x/..%2F..%2F..%2Fsigning.key",
        "/storage/uploads/%2e%2e/signing.key",
        "/storage/measurements/x/..",
        "/storage/measurements/x/a%5C..%5C..%5Csigning.key",
        "/storage/measurements/x/a%00b",
        "/storage/processing/x/time_series.parquet",
        "/storage/../signing.key/x/y",
    ],
)
def test_paths_outside_plain_names_never_reach_the_disk(
    live_server: ServerProcess, signed: str, path: str
) -> None:
    query = urlsplit(signed).query
    status, body = raw_get(live_server.url, f"{path}?{query}")
    assert status in (400, 404)
    secret = (live_server.data_dir / "signing.key").read_text()
    assert secret.encode() not in body
    assert json.loads(body)["error_code"] in ("BAD_REQUEST", "NOT_FOUND")


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=-100", -100, None),
        ("bytes=10-19", 10, 20),
        ("bytes=0-0", 0, 1),
        ("bytes=100-", 100, None),
    ],
)
def test_single_ranges_are_206_with_content_range(
    signed: str, whole: bytes, header: str, first: int, last: int | None
) -> None:
    response = httpx.get(signed, headers={"Range": header})
    assert response.status_code == 206
    expected = whole[first:last]
    assert response.content == expected
    start = first if first >= 0 else len(whole) + first
    assert (
        response.headers["content-range"]
        == f"bytes {start}-{start + len(expected) - 1}/{len(whole)}"
    )
    assert int(response.headers["content-length"]) == len(expected)


def test_a_suffix_longer_than_the_object_returns_all_of_it(signed: str, whole: bytes) -> None:
    response = httpx.get(signed, headers={"Range": f"bytes=-{len(whole) * 2}"})
    assert response.status_code == 206
    assert response.content == whole


def test_a_range_past_the_end_is_a_416_naming_the_size(signed: str, whole: bytes) -> None:
    response = httpx.get(signed, headers={"Range": f"bytes={len(whole)}-"})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{len(whole)}"
    assert response.json()["error_code"] == "RANGE_NOT_SATISFIABLE"
    assert response.json()["detail"] == {"size": len(whole)}


@pytest.mark.parametrize("header", ["bytes=0-1,5-6", "items=0-1", "bytes=5-2", "bytes=abc"])
def test_unusable_range_headers_are_ignored_and_the_whole_object_sent(
    signed: str, whole: bytes, header: str
) -> None:
    response = httpx.get(signed, headers={"Range": header})
    assert response.status_code == 200
    assert response.content == whole


@pytest.mark.parametrize("size", [1000, 9 * 1024 * 1024 + 17])
def test_objects_read_whole_and_streamed_serve_the_same_bytes(
    live_server: ServerProcess, size: int
) -> None:
    """Up to WHOLE_READ (8 MiB) an object is read in one piece, above it streamed in chunks:
    both paths answer whole reads and ranges (across chunk edges) byte for byte."""
    assert (size <= WHOLE_READ) == (size == 1000)
    storage = storage_for(live_server)
    object_id = f"test-span-{uuid.uuid4().hex}"
    data = bytes(range(251)) * (size // 251) + bytes(size % 251)
    directory = storage.object_dir("measurements", object_id)
    directory.mkdir(parents=True)
    try:
        (directory / "blob.bin").write_bytes(data)
        url = storage.signed_url(live_server.url, "GET", "measurements", object_id, "blob.bin", 60)
        response = httpx.get(url, timeout=60)  # 9 MiB from the shared server, 2 busy cores
        assert response.status_code == 200 and response.content == data
        first, last = min(CHUNK - 7, size // 3), min(2 * CHUNK + 5, size - 1)
        part = httpx.get(url, headers={"Range": f"bytes={first}-{last}"}, timeout=60)
        assert part.status_code == 206 and part.content == data[first : last + 1]
        assert part.headers["content-range"] == f"bytes {first}-{last}/{size}"
        tail = httpx.get(url, headers={"Range": "bytes=-10"}, timeout=60)
        assert tail.status_code == 206 and tail.content == data[-10:]
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def test_head_reports_the_size_without_a_body(signed: str, whole: bytes) -> None:
    response = httpx.head(signed)
    assert response.status_code == 200
    assert int(response.headers["content-length"]) == len(whole)
    assert response.content == b""


def test_a_put_larger_than_the_limit_is_a_413_and_stores_nothing(
    empty_server: ServerProcess, unique: str
) -> None:
    http = http_client(empty_server)
    spec = http.post("/cell_specifications", json={"name": f"s-{unique}"}).json()
    cell = http.post(f"/cell_specifications/{spec['id']}/cell_instances", json={"name": "c"}).json()
    initiated = http.post(
        f"/cell_instances/{cell['id']}/cell_measurements/initiate-upload",
        json={"measurement": {"name": "m"}},
    ).json()
    url = urlsplit(initiated["uploads"][0]["signed_url"])
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(
            f"PUT {url.path}?{url.query} HTTP/1.1\r\nHost: x\r\nContent-Length: {2**50}\r\n"
            "Connection: close\r\n\r\nabc".encode()
        )
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 413")
    staged = Path(empty_server.data_dir / "storage" / "uploads" / initiated["measurement_id"])
    assert not staged.exists() or not any(staged.iterdir())


def test_a_streaming_temp_file_is_in_flight_until_closed_and_a_dead_one_is_swept(
    tmp_path: Path,
) -> None:
    """Another thread's open PUT counts as in flight (flock, not process memory); a temp file
    nobody holds (its writer was killed) is swept, and a committed file is kept."""
    storage = Storage(tmp_path / "storage", b"k" * 32)
    final = storage.object_path("uploads", "u1", "steps.parquet")
    staged = final.parent
    with ThreadPoolExecutor(1) as pool:
        part = pool.submit(storage.open_part, final).result()
        assert parts_in_flight(staged) == ["steps.parquet"]
        dead = staged / ".time_series.parquet.0123abcd.part"
        dead.write_bytes(b"half")  # what a killed PUT leaves: unlocked
        assert sweep_parts(staged) == ["steps.parquet"]
        assert not dead.exists() and part.tmp.exists()
        part.file.write(b"whole")
        pool.submit(part.commit).result()
        pool.submit(part.close).result()
    assert parts_in_flight(staged) == []
    assert final.read_bytes() == b"whole"
    assert sorted(p.name for p in staged.iterdir()) == ["steps.parquet"]


def test_a_sweep_racing_a_new_put_never_takes_its_temp_file_for_a_dead_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sweep that runs between the temp file's creation and its lock (injected at that exact
    moment) must leave the new PUT's file alone (before: it was created as ``.part`` and locked
    after, so such a sweep saw it unlocked and deleted it under the live PUT)."""
    fcntl = pytest.importorskip("fcntl")  # the lock is flock; Windows has none
    storage = Storage(tmp_path / "storage", b"k" * 32)
    final = storage.object_path("uploads", "u1", "steps.parquet")
    real_flock = fcntl.flock
    swept: list[list[str]] = []

    def flock_after_a_sweep(fd: int, operation: int) -> None:
        if operation == fcntl.LOCK_EX and not swept:  # open_part's lock, not the sweep's probe
            swept.append(sweep_parts(final.parent))
        real_flock(fd, operation)

    monkeypatch.setattr(fcntl, "flock", flock_after_a_sweep)
    part = storage.open_part(final)
    try:
        assert swept == [[]]
        assert part.tmp.exists()
        assert parts_in_flight(final.parent) == ["steps.parquet"]
    finally:
        part.close()


@pytest.mark.parametrize("budget", [0, 1 << 20])
def test_whole_reads_stay_within_their_memory_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, budget: int
) -> None:
    """Past the budget of unsent whole-read bodies, an object is streamed instead; each body's
    bytes are given back once it has been sent."""
    from starlette.testclient import TestClient

    from ionworks_server import storage_routes
    from ionworks_server.app import create_app
    from ionworks_server.config import Settings

    held = storage_routes._Held(budget)
    monkeypatch.setattr(storage_routes, "_HELD", held)
    whole_reads: list[int] = []
    from ionworks_server.storage import read_span

    def counted(fh: Any, first: int, length: int) -> bytes:
        whole_reads.append(length)
        return read_span(fh, first, length)

    monkeypatch.setattr(storage_routes, "read_span", counted)
    app = create_app(Settings.from_data_dir(tmp_path / "data"))
    data = bytes(range(256)) * 4000
    with TestClient(app, base_url="http://127.0.0.1") as http:
        storage: Storage = app.state.ctx.storage
        directory = storage.object_dir("measurements", "budget-object")
        directory.mkdir(parents=True)
        (directory / "blob.bin").write_bytes(data)
        url = storage.signed_url(
            "http://127.0.0.1", "GET", "measurements", "budget-object", "blob.bin", 60
        )
        for _ in range(3):
            response = http.get(url)
            assert response.status_code == 200 and response.content == data
            assert held.held == 0
        part = http.get(url, headers={"Range": "bytes=10-19"})
        assert part.status_code == 206 and part.content == data[10:20]
    assert whole_reads == ([len(data)] * 3 + [10] if budget else [])  # else all streamed
    assert held.held == 0
