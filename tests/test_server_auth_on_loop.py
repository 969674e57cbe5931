"""Table redirects answered on the event loop (``Operation.on_loop``): only for a key this
process has verified, with its row read on every request (a revoked key is refused at once),
never hashing a key there, and never where reads cross a socket (PostgreSQL, S3)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from sqlalchemy import select

from ionworks_server import auth, measurements
from ionworks_server.app import build_context, create_app
from ionworks_server.auth import ensure_key, ensure_organization, ensure_user, revoke_key
from ionworks_server.config import Settings
from ionworks_server.context import AppContext
from ionworks_server.db import cell_measurements, read, write
from ionworks_server.demo import load_demo
from ionworks_server.storage import Storage

KEY = "on-loop-test-key-0123456789"


def _on_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


@dataclass
class Served:
    ctx: AppContext
    app: Any
    measurement_id: str
    where: list[bool]  # per handler run: was it on the event loop?
    hashed_on_loop: list[bool]  # per key verification: was it on the event loop?

    def get(self, *paths: str, key: str = KEY) -> list[httpx.Response]:
        async def run() -> list[httpx.Response]:
            transport = httpx.ASGITransport(app=self.app)
            headers = {"X-API-Key": key}
            async with httpx.AsyncClient(
                transport=transport, base_url="http://test", headers=headers
            ) as client:
                return [await client.get(path) for path in paths]

        return anyio.run(run)

    def table(self, name: str = "time_series") -> str:
        return f"/cell_measurements/{self.measurement_id}/{name}/download"


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    ctx = build_context(Settings.from_data_dir(tmp_path / "data"))
    with write(ctx.engine) as conn:
        org = ensure_organization(conn, "lab")
        ensure_key(conn, org, ensure_user(conn, org, "a@lab"), KEY)
    auth._CACHE.clear()  # ensure_key remembered it: start as a server that never saw it
    load_demo(ctx, org)
    with read(ctx.engine) as conn:
        measurement_id = conn.execute(
            select(cell_measurements.c.id).where(
                cell_measurements.c.measurement_type == "time_series",
                cell_measurements.c.processing_status == "ready",
            )
        ).scalar()
    where: list[bool] = []
    hashed: list[bool] = []
    processed, resolve = measurements._processed, auth._resolve

    def spy_processed(call: Any) -> Any:
        where.append(_on_loop())
        return processed(call)

    def spy_resolve(*args: Any) -> Any:
        hashed.append(_on_loop())
        return resolve(*args)

    monkeypatch.setattr(measurements, "_processed", spy_processed)
    monkeypatch.setattr(auth, "_resolve", spy_resolve)
    try:
        yield Served(ctx, create_app(ctx.settings, ctx), str(measurement_id), where, hashed)
    finally:
        auth._CACHE.clear()
        ctx.engine.dispose()


def test_a_verified_key_is_answered_on_the_loop_and_the_redirect_is_the_same(
    served: Served,
) -> None:
    first, second, steps = served.get(served.table(), served.table(), served.table("steps"))
    assert served.hashed_on_loop == [False]  # verified once, in a worker thread
    assert served.where == [False, True, True]
    assert first.status_code == second.status_code == steps.status_code == 302
    location = first.headers["location"].split("?")[0]
    assert location == second.headers["location"].split("?")[0]
    assert location.endswith(f"/storage/measurements/{served.measurement_id}/time_series.parquet")


def test_a_revoked_key_is_refused_at_once_on_the_loop_path(served: Served) -> None:
    verified = served.get(served.table(), served.table())
    assert [r.status_code for r in verified] == [302, 302]
    assert served.where == [False, True]  # the second was answered on the loop
    row_id = auth._CACHE.row_id(served.ctx.engine, KEY)
    assert row_id is not None
    with write(served.ctx.engine) as conn:
        assert revoke_key(conn, KEY)
    auth._CACHE.remember(served.ctx.engine, KEY, row_id)  # what another process still holds
    (refused,) = served.get(served.table())
    assert refused.status_code == 403
    assert served.where == [False, True]  # refused before any handler ran
    assert served.hashed_on_loop == [False, False]  # the refusal was decided in a thread


def test_an_unknown_key_and_a_missing_measurement_answer_as_before(served: Served) -> None:
    wrong = served.get(served.table(), served.table(), key="not-a-key")
    assert [r.status_code for r in wrong] == [403, 403]
    assert True not in served.hashed_on_loop
    served.get(served.table())  # verify the real key
    (missing,) = served.get("/cell_measurements/nope/time_series/download")
    assert missing.status_code == 404 and missing.json()["error_code"] == "NOT_FOUND"
    assert served.where[-1] is True


def test_reads_over_a_socket_always_go_to_a_thread(served: Served) -> None:
    assert served.ctx.reads_in_process()

    class RemoteStorage(Storage):
        """Stands for S3: same interface, reads over the network."""

    served.ctx.storage.__class__ = RemoteStorage
    served.get(served.table(), served.table())
    assert served.where == [False, False]
