"""The storage transfer rules (``ionworks._transfer_rules``), once for both clients: the same
scripted storage faults through ``Ionworks`` and ``AsyncIonworks`` give the same outcome (a body
cut short fetched again, or the error after the last attempt; a short range asked for again; a
range the server ignored; a bad Content-Range), and the plans on their own."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest
from test_faults import ScriptedServer, send

import ionworks
from ionworks import APIConnectionError, AsyncIonworks, Ionworks, IonworksError
from ionworks import _transfer_rules as rules

pytestmark = pytest.mark.anyio
CLIENTS = ["sync", "async"]
FRAME = pl.select(  # hashed, so incompressible: some 800 KB in 8 row groups, larger than a tail
    pl.int_range(0, 50_000, dtype=pl.Int64).hash(1).alias("Voltage [V]"),
    pl.int_range(0, 50_000, dtype=pl.Int64).alias("Step count"),
)
STORAGE = "/storage/measurements/m1/time_series.parquet"


def _parquet() -> bytes:
    buffer = io.BytesIO()
    FRAME.write_parquet(buffer, row_group_size=6_250, statistics=False)
    return buffer.getvalue()


PARQUET = _parquet()
Fault = Callable[[BaseHTTPRequestHandler, int, bytes, int, int], bool]
"""(handler, storage request number, the bytes asked for, first, size) -> True when it answered."""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path) -> Iterator[None]:
    ionworks.set_cache_directory(tmp_path / "cache")
    yield
    ionworks.set_cache_directory(None)


@pytest.fixture
def storage() -> Iterator[Callable[[Fault | None], ScriptedServer]]:
    """A server redirecting the download to a storage object it serves with ranges, each
    storage answer first offered to ``fault``."""
    servers: list[ScriptedServer] = []

    def start(fault: Fault | None) -> ScriptedServer:
        storage_calls = 0

        def script(h: BaseHTTPRequestHandler, n: int) -> None:
            nonlocal storage_calls
            if h.path.endswith("/time_series/download"):
                send(h, 302, b"", Location=STORAGE + "?sig=x")
                return
            storage_calls += 1
            first, last = _asked(h.headers.get("Range"))
            part = PARQUET[first : last + 1]
            if fault is not None and fault(h, storage_calls, part, first, len(PARQUET)):
                return
            if h.headers.get("Range"):
                content_range = f"bytes {first}-{first + len(part) - 1}/{len(PARQUET)}"
                send(h, 206, part, Content_Range=content_range)
            else:
                send(h, 200, part)

        servers.append(ScriptedServer(script))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def _asked(spec: str | None) -> tuple[int, int]:
    if not spec:
        return 0, len(PARQUET) - 1
    match = re.fullmatch(r"bytes=(\d*)-(\d+)", spec)
    assert match, spec
    if not match[1]:
        return max(0, len(PARQUET) - int(match[2])), len(PARQUET) - 1
    return int(match[1]), min(int(match[2]), len(PARQUET) - 1)


def _hang_up_after(h: BaseHTTPRequestHandler, status: int, part: bytes, **headers: str) -> None:
    """Promise all of ``part``, send half, close: a body cut short."""
    h.send_response(status)
    for key, value in headers.items():
        h.send_header(key.replace("_", "-"), value)
    h.send_header("Content-Length", str(len(part)))
    h.end_headers()
    h.wfile.write(part[: len(part) // 2])
    h.wfile.flush()
    h.close_connection = True


async def _series(kind: str, url: str, **kwargs: Any) -> pl.DataFrame:
    keys: dict[str, Any] = {"api_key": "secret-key-123", "api_url": url, "max_retries": 2}
    if kind == "sync":
        frame = Ionworks(**keys).cell_measurement.time_series("m1", use_cache=False, **kwargs)
    else:
        async with AsyncIonworks(**keys) as client:
            frame = await client.cell_measurement.time_series("m1", use_cache=False, **kwargs)
    assert isinstance(frame, pl.DataFrame)
    return frame


def _storage_calls(server: ScriptedServer) -> list[str]:
    return [headers.get("Range", "") for _, path, headers in server.calls if "/storage/" in path]


@pytest.mark.parametrize("kind", CLIENTS)
async def test_a_body_cut_short_once_is_fetched_again(kind: str, storage: Any) -> None:
    def once(h: BaseHTTPRequestHandler, n: int, part: bytes, first: int, size: int) -> bool:
        if n == 1:
            _hang_up_after(h, 200, part)
        return n == 1

    server = storage(once)
    assert (await _series(kind, server.url)).equals(FRAME)
    assert len(_storage_calls(server)) == 2


@pytest.mark.parametrize("kind", CLIENTS)
async def test_a_body_cut_short_every_time_fails_after_the_last_attempt(
    kind: str, storage: Any
) -> None:
    def always(h: BaseHTTPRequestHandler, n: int, part: bytes, first: int, size: int) -> bool:
        _hang_up_after(h, 200, part)
        return True

    server = storage(always)
    with pytest.raises(APIConnectionError, match="cut the time series of m1 transfer short 3"):
        await _series(kind, server.url)
    assert len(_storage_calls(server)) == rules.ATTEMPTS


@pytest.mark.parametrize("kind", CLIENTS)
async def test_a_short_range_is_asked_for_again_and_the_window_is_right(
    kind: str, storage: Any
) -> None:
    """The second range comes with fewer bytes than its Content-Range says, once."""

    def short(h: BaseHTTPRequestHandler, n: int, part: bytes, first: int, size: int) -> bool:
        if n == 2:
            headers = {"Content-Range": f"bytes {first}-{first + len(part) - 1}/{size}"}
            send(h, 206, part[: len(part) // 2], **headers)
        return n == 2

    server = storage(short)
    window = await _series(kind, server.url, row_range=(20_000, 20_100))
    assert window.equals(FRAME.slice(20_000, 100))
    asked = _storage_calls(server)
    assert len(asked) == 3 and asked[1] == asked[2]


@pytest.mark.parametrize("kind", CLIENTS)
async def test_a_range_cut_short_every_time_names_the_transfer(kind: str, storage: Any) -> None:
    def short(h: BaseHTTPRequestHandler, n: int, part: bytes, first: int, size: int) -> bool:
        if n >= 2:
            headers = {"Content-Range": f"bytes {first}-{first + len(part) - 1}/{size}"}
            send(h, 206, part[:10], **headers)
        return n >= 2

    server = storage(short)
    with pytest.raises(IonworksError, match="cut the time series of m1 transfer short 3 times"):
        await _series(kind, server.url, row_range=(20_000, 20_100))
    assert len(_storage_calls(server)) == 1 + rules.ATTEMPTS


@pytest.mark.parametrize("kind", CLIENTS)
async def test_a_range_the_server_ignored_is_the_whole_object(kind: str, storage: Any) -> None:
    def whole(h: BaseHTTPRequestHandler, n: int, part: bytes, first: int, size: int) -> bool:
        send(h, 200, PARQUET)
        return True

    server = storage(whole)
    window = await _series(kind, server.url, row_range=(10, 20), columns=["Step count"])
    assert window.equals(FRAME.select("Step count").slice(10, 10))


@pytest.mark.parametrize("kind", CLIENTS)
async def test_a_bad_content_range_is_a_clear_error(kind: str, storage: Any) -> None:
    def bad(h: BaseHTTPRequestHandler, n: int, part: bytes, first: int, size: int) -> bool:
        send(h, 206, part, Content_Range="lines 1-2/3")
        return True

    server = storage(bad)
    with pytest.raises(IonworksError, match="bad Content-Range header 'lines 1-2/3'"):
        await _series(kind, server.url, row_range=(0, 5))


@pytest.mark.parametrize("kind", CLIENTS)
@pytest.mark.parametrize("use_cache", [True, False])
async def test_a_body_that_is_not_parquet_is_named_alike(
    kind: str, use_cache: bool, storage: Any
) -> None:
    def html(h: BaseHTTPRequestHandler, n: int, part: bytes, first: int, size: int) -> bool:
        send(h, 200, b"<html>an error page, not a table</html>")
        return True

    server = storage(html)
    keys: dict[str, Any] = {"api_key": "secret-key-123", "api_url": server.url}
    match = "time_series of measurement m1 .* is not a valid parquet file"
    with pytest.raises(IonworksError, match=match):
        if kind == "sync":
            Ionworks(**keys).cell_measurement.time_series("m1", use_cache=use_cache)
        else:
            async with AsyncIonworks(**keys) as client:
                await client.cell_measurement.time_series("m1", use_cache=use_cache)


def test_the_plans_decide_without_io() -> None:
    """A whole GET: tried again after a cut, a "cut short" error after the last attempt; a range:
    a short answer asked for again, any other error passed through at once."""
    cuts: list[str | None] = []

    def cut(request: str | None) -> bytes:
        cuts.append(request)
        raise httpx.RemoteProtocolError("cut")

    with pytest.raises(APIConnectionError, match="cut the series transfer short") as raised:
        rules.run(rules.whole_body("series"), cut)
    assert isinstance(raised.value.__cause__, httpx.RemoteProtocolError)
    assert cuts == [None] * rules.ATTEMPTS

    def slow(request: str | None) -> bytes:  # a timeout stays a timeout (the caller names it)
        raise httpx.ReadTimeout("slow")

    with pytest.raises(httpx.ReadTimeout):
        rules.run(rules.whole_body("series"), slow)

    answers = iter([b"0123", b"01234567"])

    def ranged(spec: str | None) -> httpx.Response:
        headers = {"Content-Range": "bytes 8-15/100"}
        return httpx.Response(206, content=next(answers), headers=headers)

    assert rules.run(rules.byte_range(8, 15, "x"), ranged) == (b"01234567", 8, 100)

    def refused(spec: str | None) -> httpx.Response:
        raise httpx.ConnectError("refused")

    with pytest.raises(httpx.ConnectError):
        rules.run(rules.byte_range(None, 16, "x"), refused)

    with pytest.raises(APIConnectionError, match="cut the x transfer short") as raised:
        rules.run(rules.byte_range(8, 15, "x"), cut)  # a range cut on every attempt
    assert isinstance(raised.value.__cause__, httpx.RemoteProtocolError)
