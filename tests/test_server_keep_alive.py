"""An idle kept-alive connection stays open until the header timeout, not uvicorn's 5 s.

httpx keeps an idle connection for 5 s from when it read the last response; a server closing
it 5 s after it *sent* that response closed connections clients were about to reuse, and
``make load`` counted those requests as errors ("connection reset by peer", "server
disconnected without sending a response").
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from server_process import ServerProcess, start_server

REQUEST = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"
WORKERS = [1, 2] if os.environ.get("IONWORKS_TEST_DATABASE_URL") else [1]


@pytest.fixture(params=WORKERS, ids=lambda n: f"workers-{n}")
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServerProcess]:
    # A long header timeout, so only uvicorn's own keep-alive timer could close the connection.
    args = ["--header-timeout", "120", "--workers", str(request.param)]
    server = start_server(tmp_path / "data", "keep-alive-key", extra_args=args)
    yield server
    server.stop()


def response(sock: socket.socket) -> bytes:
    """One whole /healthz response (small: the head and a short JSON body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed by the server after {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(
        next(
            line.split(b":", 1)[1]
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
    )
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "connection closed mid-body"
        body += chunk
    return head


def test_an_idle_connection_is_still_served_after_seven_seconds(server: ServerProcess) -> None:
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=60) as sock:
        sock.sendall(REQUEST)
        assert response(sock).startswith(b"HTTP/1.1 200")
        threading.Event().wait(7)  # past uvicorn's default keep-alive of 5 s
        sock.sendall(REQUEST)
        assert response(sock).startswith(b"HTTP/1.1 200")
