"""Shared fixtures: real local servers started as subprocesses, and generated-client helpers.

* ``live_server``: demo data loaded, API key ``test-key-0123456789``; one per xdist worker
  (session scope), so its data must be treated as read-only, or changed only under names a
  test made unique.
* ``empty_server``: no demo data (cheap), for tests that create and delete their own data.

Both expose ``.url``, ``.api_key`` and ``.data_dir``.
"""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import polars as pl
import pytest
from home_cache_guard import HomeCacheGuard
from ionworks_generated import AuthenticatedClient
from server_process import ServerProcess, admin, start_server

LIVE_API_KEY = "test-key-0123456789"
EMPTY_API_KEY = "empty-key-0123456789"


# -- the developer's own cache stays untouched (tests/home_cache_guard.py) -------------------

_CACHE_GUARD = pytest.StashKey[HomeCacheGuard]()


def pytest_configure(config: pytest.Config) -> None:
    """A private default cache for this process and its children, before any test module loads;
    the controller (not an xdist worker) also watches the real cache directories."""
    config.stash[_CACHE_GUARD] = HomeCacheGuard.start(watch=not hasattr(config, "workerinput"))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when anything in it wrote to (or removed from) a real cache directory."""
    guard = session.config.stash.get(_CACHE_GUARD, None)
    trespasses = guard.trespasses() if guard is not None else []
    if guard is None or not trespasses:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    lines = [
        f"{len(trespasses)} change(s) under the real cache {', '.join(map(str, guard.watched))} "
        "during this run: a test, or a process it started, used the default cache directory "
        "instead of the private one in $IONWORKS_CACHE_DIR (or another program used that cache "
        "meanwhile).",
        *trespasses[:20],
    ]
    if reporter is not None:
        reporter.ensure_newline()
        reporter.write_sep("=", "the developer's cache was touched", red=True)
        for line in lines:
            reporter.write_line(line)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_unconfigure(config: pytest.Config) -> None:
    guard = config.stash.get(_CACHE_GUARD, None)
    if guard is not None:
        guard.stop()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server with the demo data set, for tests that read realistic data."""
    data_dir = tmp_path_factory.mktemp("live-server") / "data"
    server = start_server(data_dir, LIVE_API_KEY, demo=True)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def empty_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server without demo data, for tests that create their own."""
    data_dir = tmp_path_factory.mktemp("empty-server") / "data"
    server = start_server(data_dir, EMPTY_API_KEY)
    try:
        yield server
    finally:
        server.stop()


def make_client(server: ServerProcess, api_key: str | None = None) -> AuthenticatedClient:
    """A generated client that sends the server's key (or ``api_key``) as ``X-API-Key``."""
    return AuthenticatedClient(
        base_url=server.url,
        token=api_key or server.api_key,
        prefix="",
        auth_header_name="X-API-Key",
        timeout=httpx.Timeout(60.0),
    )


def new_organization_key(server: ServerProcess, name: str | None = None) -> str:
    """Create an organization (unique name unless given) on the server's data dir; its key."""
    org = name or f"org-{uuid.uuid4().hex[:8]}"
    result = admin(server.data_dir, "create-key", "--organization", org)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture
def unique() -> str:
    """A short unique suffix for names a test creates on a shared server."""
    return uuid.uuid4().hex[:10]


# -- raw-HTTP helpers for server tests -------------------------------------------------------


def http_client(server: ServerProcess, api_key: str | None = None) -> httpx.Client:
    """A plain httpx client for the server, sending ``X-API-Key`` (no redirects followed)."""
    return httpx.Client(
        base_url=server.url, headers={"X-API-Key": api_key or server.api_key}, timeout=60.0
    )


def parquet_bytes(frame: pl.DataFrame) -> bytes:
    """A frame as parquet bytes, written like the official client (zstd)."""
    buffer = io.BytesIO()
    frame.write_parquet(buffer, compression="zstd")
    return buffer.getvalue()


def upload_time_series(
    http: httpx.Client,
    instance_id: str,
    name: str,
    time_series: pl.DataFrame | bytes | None,
    *,
    steps: pl.DataFrame | None = None,
    measurement: dict[str, Any] | None = None,
) -> httpx.Response:
    """initiate → PUT → confirm, as the official client does; returns the confirm response.

    ``time_series=None`` skips the PUT (to test confirming without an upload); bytes are sent
    as they are (to test unreadable files).
    """
    initiated = http.post(
        f"/cell_instances/{instance_id}/cell_measurements/initiate-upload",
        json={"measurement": {"name": name}},
    )
    assert initiated.status_code == 200, initiated.text
    targets = {u["filename"]: u["signed_url"] for u in initiated.json()["uploads"]}
    headers = {"Content-Type": "application/octet-stream"}
    if time_series is not None:
        data = time_series if isinstance(time_series, bytes) else parquet_bytes(time_series)
        put = httpx.put(targets["time_series.parquet"], content=data, headers=headers)
        assert put.status_code == 200, put.text
    if steps is not None:
        put = httpx.put(targets["steps.parquet"], content=parquet_bytes(steps), headers=headers)
        assert put.status_code == 200, put.text
    return http.post(
        f"/cell_measurements/{initiated.json()['measurement_id']}/confirm-upload",
        json={
            "cell_instance_id": instance_id,
            "measurement": {"name": name, **(measurement or {})},
            "measurement_type": "time_series",
        },
    )


def wait_processed(
    http: httpx.Client, measurement_id: str, timeout: float = 60.0
) -> dict[str, Any]:
    """Poll the measurement like the client does until it leaves pending/running."""
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = http.get(
            f"/cell_measurements/{measurement_id}",
            params={"include_steps": "false", "include_time_series": "false"},
        ).json()
        if body["processing_status"] not in ("pending", "running"):
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"measurement {measurement_id} still {body['processing_status']}")
        time.sleep(0.05)


def new_spec_and_instance(http: httpx.Client, unique: str, **spec_fields: Any) -> tuple[str, str]:
    """A fresh specification with one instance; returns their ids."""
    spec = http.post("/cell_specifications", json={"name": f"spec-{unique}", **spec_fields})
    assert spec.status_code == 201, spec.text
    instance = http.post(
        f"/cell_specifications/{spec.json()['id']}/cell_instances", json={"name": f"cell-{unique}"}
    )
    assert instance.status_code == 201, instance.text
    return spec.json()["id"], instance.json()["id"]
