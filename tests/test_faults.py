"""Transport faults a real server cannot produce on demand, injected by a tiny loopback server.

Each test scripts the answers of a misbehaving server and checks that the client either succeeds
(after retrying what is safe to retry) or raises the right IonworksError within its time budget.
"""

from __future__ import annotations

import io
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import polars as pl
import pytest

import ionworks
from ionworks import (
    APIConnectionError,
    APITimeoutError,
    Ionworks,
    NotFoundError,
    ServerError,
    UsageLimitError,
)

Handler = Callable[[BaseHTTPRequestHandler, int], None]


class ScriptedServer:
    """Answers request number n (per path) with ``script(handler, n)``."""

    def __init__(self, script: Handler) -> None:
        self.script = script
        self.calls: list[tuple[str, str, dict[str, str]]] = []
        outer = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                outer.calls.append((self.command, self.path, dict(self.headers)))
                n = sum(1 for _, path, _ in outer.calls if path == self.path)
                outer.script(self, n)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def send(handler: BaseHTTPRequestHandler, status: int, body: Any = None, **headers: str) -> None:
    payload = (
        b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    )
    handler.send_response(status)
    if not isinstance(body, bytes):
        handler.send_header("Content-Type", "application/json")
    for key, value in headers.items():
        handler.send_header(key.replace("_", "-"), value)
    handler.send_header("Content-Length", str(len(payload)))
    handler.end_headers()
    handler.wfile.write(payload)


PAGE = {"items": [{"id": "s1", "name": "Cell"}], "count": 1, "total": 1}


@pytest.fixture
def serve() -> Iterator[Callable[[Handler], ScriptedServer]]:
    servers: list[ScriptedServer] = []

    def start(script: Handler) -> ScriptedServer:
        server = ScriptedServer(script)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture(autouse=True)
def _no_cache(tmp_path: Any) -> Iterator[None]:
    ionworks.set_cache_directory(tmp_path / "cache")
    yield
    ionworks.set_cache_directory(None)


def client_for(url: str, **kwargs: Any) -> Ionworks:
    kwargs.setdefault("max_retries", 5)
    return Ionworks(api_key="secret-key-123", api_url=url, **kwargs)


def test_connection_refused_raises_api_connection_error_within_the_budget() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = client_for(f"http://127.0.0.1:{port}", max_retries=3, retry_budget=5)
    started = time.monotonic()
    with pytest.raises(APIConnectionError) as caught:
        client.cell_spec.list()
    assert time.monotonic() - started < 6
    assert f"127.0.0.1:{port}" in str(caught.value)
    assert "secret-key-123" not in str(caught.value)


def test_a_503_burst_on_a_get_is_retried_until_it_succeeds(serve: Any) -> None:
    def script(h: BaseHTTPRequestHandler, n: int) -> None:
        if n <= 3:
            send(h, 503, {"error_code": "INTERNAL_ERROR", "message": "busy"})
        else:
            send(h, 200, PAGE)

    server = serve(script)
    page = client_for(server.url).cell_spec.list()
    assert page.total == 1 and page[0].name == "Cell"
    assert len(server.calls) == 4


def test_a_503_on_a_post_is_not_retried(serve: Any) -> None:
    server = serve(lambda h, n: send(h, 503, {"error_code": "INTERNAL_ERROR", "message": "busy"}))
    with pytest.raises(ServerError) as caught:
        client_for(server.url).cell_spec.create({"name": "x"})
    assert caught.value.status_code == 503
    assert len(server.calls) == 1


def test_persistent_500_raises_server_error_after_max_retries(serve: Any) -> None:
    server = serve(lambda h, n: send(h, 500, {"error_code": "INTERNAL_ERROR", "message": "boom"}))
    with pytest.raises(ServerError, match="boom"):
        client_for(server.url, max_retries=2).cell_spec.list()
    assert len(server.calls) == 3


def test_a_429_rate_limit_with_retry_after_is_retried_after_that_delay(serve: Any) -> None:
    def script(h: BaseHTTPRequestHandler, n: int) -> None:
        if n == 1:
            send(h, 429, {"error_code": "RATE_LIMITED", "message": "slow down"}, Retry_After="1")
        else:
            send(h, 200, PAGE)

    server = serve(script)
    started = time.monotonic()
    page = client_for(server.url).cell_spec.list()
    assert page.count == 1
    assert time.monotonic() - started >= 0.9
    assert len(server.calls) == 2


def test_a_429_usage_limit_is_raised_at_once_even_with_retry_after(serve: Any) -> None:
    body = {"error_code": "USAGE_LIMIT_REACHED", "message": "quota used", "detail": {"limit": 5}}
    server = serve(lambda h, n: send(h, 429, body, Retry_After="1"))
    with pytest.raises(UsageLimitError) as caught:
        client_for(server.url).cell_spec.list()
    assert caught.value.error_code == "USAGE_LIMIT_REACHED"
    assert caught.value.detail == {"limit": 5}
    assert len(server.calls) == 1


def test_a_read_timeout_raises_api_timeout_error(serve: Any) -> None:
    def script(h: BaseHTTPRequestHandler, n: int) -> None:
        time.sleep(1.5)
        send(h, 200, PAGE)

    server = serve(script)
    started = time.monotonic()
    with pytest.raises(APITimeoutError):
        client_for(server.url, timeout=0.3, max_retries=1).cell_spec.list()
    assert time.monotonic() - started < 3


def test_a_connection_dropped_mid_download_is_retried_and_the_data_is_intact(serve: Any) -> None:
    frame = pl.DataFrame({"Time [s]": [0.0, 1.0, 2.0], "Voltage [V]": [3.0, 3.1, 3.2]})
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    parquet = buffer.getvalue()

    def script(h: BaseHTTPRequestHandler, n: int) -> None:
        if h.path.endswith("/time_series/download"):
            send(h, 302, b"", Location="/storage/measurements/m1/time_series.parquet?sig=x")
        elif n == 1:  # first storage read: promise everything, send half, hang up
            h.send_response(200)
            h.send_header("Content-Length", str(len(parquet)))
            h.end_headers()
            h.wfile.write(parquet[: len(parquet) // 2])
            h.wfile.flush()
            h.close_connection = True
        else:
            send(h, 200, parquet)

    server = serve(script)
    result = client_for(server.url).cell_measurement.time_series("m1", use_cache=False)
    assert isinstance(result, pl.DataFrame) and result.equals(frame)
    storage_calls = [c for c in server.calls if c[1].startswith("/storage/")]
    assert len(storage_calls) == 2


def test_storage_requests_never_carry_the_api_key(serve: Any) -> None:
    frame = pl.DataFrame({"a": [1]})
    buffer = io.BytesIO()
    frame.write_parquet(buffer)

    def script(h: BaseHTTPRequestHandler, n: int) -> None:
        if h.path.endswith("/steps/download"):
            send(h, 307, b"", Location="/storage/measurements/m1/steps.parquet?sig=x")
        else:
            send(h, 200, buffer.getvalue())

    server = serve(script)
    client_for(server.url).cell_measurement.steps("m1", use_cache=False)
    api_call, storage_call = server.calls
    assert api_call[2].get("X-API-Key") == "secret-key-123"
    assert "X-API-Key" not in storage_call[2] and "Authorization" not in storage_call[2]


def test_error_bodies_map_to_typed_exceptions_with_their_fields(serve: Any) -> None:
    body = {
        "error_code": "NOT_FOUND",
        "message": "Cell specification 'nope' not found",
        "detail": {"resource_id": "nope"},
    }
    server = serve(lambda h, n: send(h, 404, body))
    with pytest.raises(NotFoundError) as caught:  # an id-shaped value: no lookup-by-name hint
        client_for(server.url).cell_spec.get("0b7f3a52-94c1-4e0e-8a57-2f1d6c9e4b13")
    error = caught.value
    assert (error.status_code, error.error_code) == (404, "NOT_FOUND")
    assert error.detail == {"resource_id": "nope"}
    assert str(error) == "404 NOT_FOUND: Cell specification 'nope' not found"


def test_a_non_json_error_body_still_gives_a_readable_error(serve: Any) -> None:
    server = serve(lambda h, n: send(h, 502, b"<html>Bad gateway</html>"))
    with pytest.raises(ServerError, match="Bad gateway"):
        client_for(server.url, max_retries=0).cell_spec.list()


def test_a_legacy_fastapi_error_body_is_understood(serve: Any) -> None:
    server = serve(lambda h, n: send(h, 400, {"detail": "name must not be empty"}))
    with pytest.raises(ionworks.BadRequestError, match="name must not be empty"):
        client_for(server.url).cell_spec.list()


def test_a_garbage_success_body_raises_ionworks_error_not_a_library_exception(serve: Any) -> None:
    server = serve(lambda h, n: send(h, 200, {"unexpected": True}))
    with pytest.raises(ionworks.IonworksError, match="could not understand"):
        client_for(server.url).cell_spec.list()


def test_a_download_cut_short_every_time_raises_api_connection_error(serve: Any) -> None:
    def script(h: BaseHTTPRequestHandler, n: int) -> None:
        if h.path.endswith("/time_series/download"):
            send(h, 302, b"", Location="/storage/measurements/m1/time_series.parquet?sig=x")
        else:
            h.send_response(200)
            h.send_header("Content-Length", "1000")
            h.end_headers()
            h.wfile.write(b"PAR1" + b"x" * 100)
            h.wfile.flush()
            h.close_connection = True

    server = serve(script)
    with pytest.raises(APIConnectionError):
        client_for(server.url).cell_measurement.time_series("m1", use_cache=False)
    assert len([c for c in server.calls if c[1].startswith("/storage/")]) == 3
