"""The whole-read budget of storage GETs (ionworks_server/storage_routes.py) on a real uvicorn.

The budget counts the bytes of bodies read whole and not yet gone to the client. uvicorn's
``send`` returns as soon as the body is handed to the transport, which keeps it until the client
reads it, so a reader that never reads must keep its bytes counted until it goes away. The
server runs in this process (on a socket bound to port 0) because the budget is process state.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn

from ionworks_server import storage_routes
from ionworks_server.app import create_app
from ionworks_server.config import Settings
from ionworks_server.connections import guarded_protocol
from ionworks_server.storage import WHOLE_READ, Storage, read_span

WAIT_S = 60.0  # a bound on waiting for the server to act, never a speed expectation


def _kernel_send_buffer_max() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/tcp_wmem").read_text().split()[2])
    except (OSError, ValueError, IndexError):
        return 0


def _until(condition: Any, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"the server never got there: {what}")
        time.sleep(0.01)


def _received(sock: socket.socket, size: int) -> bytes:
    got = b""
    while len(got) < size and (chunk := sock.recv(size - len(got))):
        got += chunk
    return got


class _Served:
    """A uvicorn server in a thread, with the protocol ``serve`` uses; whole reads counted."""

    def __init__(self, data_dir: Path) -> None:
        self.app = create_app(Settings.from_data_dir(data_dir))
        self.whole_reads: list[int] = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(  # log_config=None: the process's logging left as it was
            self.app, http=guarded_protocol(120.0, 1000), log_config=None, lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]})

    def counted(self, fh: Any, first: int, length: int) -> bytes:
        self.whole_reads.append(length)
        return read_span(fh, first, length)

    def url(self, data: bytes) -> str:
        storage: Storage = self.app.state.ctx.storage
        directory = storage.object_dir("measurements", "budget-object")
        directory.mkdir(parents=True)
        (directory / "blob.bin").write_bytes(data)
        base = f"http://127.0.0.1:{self.port}"
        return storage.signed_url(base, "GET", "measurements", "budget-object", "blob.bin", 600)


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[_Served]:
    served = _Served(tmp_path / "data")
    monkeypatch.setattr(storage_routes, "_HELD", storage_routes._Held(WHOLE_READ))  # one body
    monkeypatch.setattr(storage_routes, "read_span", served.counted)
    served.thread.start()
    try:
        _until(lambda: served.server.started or not served.thread.is_alive(), "started")
        assert served.server.started, "the in-process server did not start"
        yield served
    finally:
        served.server.should_exit = True
        served.thread.join(WAIT_S)
        served.sock.close()


@pytest.mark.skipif(
    not 0 < _kernel_send_buffer_max() <= WHOLE_READ // 2,
    reason="needs a kernel send buffer (tcp_wmem) of at most 4 MiB, so a stalled reader stalls",
)
def test_a_reader_that_never_reads_keeps_its_body_counted_until_it_goes_away(
    served: _Served,
) -> None:
    """Fails when the bytes are given back as soon as the body is handed to the transport: the
    second reader is then read whole too, while the first one's 8 MiB still sit in memory."""
    data = bytes(range(256)) * (WHOLE_READ // 256)
    url = served.url(data)
    parts = urlsplit(url)
    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    try:
        stalled.connect(("127.0.0.1", served.port))
        stalled.sendall(f"GET {parts.path}?{parts.query} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        assert _received(stalled, 12) == b"HTTP/1.1 200"  # its response started: read whole
        assert served.whole_reads == [len(data)]
        answer = httpx.get(url, timeout=WAIT_S)  # the budget is taken: this one is streamed
        assert answer.status_code == 200 and answer.content == data
        assert served.whole_reads == [len(data)]
        assert storage_routes._HELD.held == len(data)
    finally:
        stalled.close()
    _until(lambda: storage_routes._HELD.held == 0, "the stalled reader's bytes given back")
    answer = httpx.get(url, timeout=WAIT_S)  # the budget is free again: read whole
    assert answer.status_code == 200 and answer.content == data
    assert served.whole_reads == [len(data)] * 2
    assert storage_routes._HELD.held == 0


def test_a_file_cut_short_while_being_served_gives_back_what_it_took(
    served: _Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Headers come from fstat, the body from a later read: a file truncated in between reads
    fewer bytes than were counted, and exactly the counted bytes must be given back (giving
    back the body's length leaked the difference for the life of the process)."""
    data = bytes(range(256)) * 64
    url = served.url(data)

    def truncated_then_read(fh: Any, first: int, length: int) -> bytes:
        served.whole_reads.append(length)
        with open(fh.name, "r+b") as writer:  # another process cutting the file short
            writer.truncate(100)
        return read_span(fh, first, length)

    monkeypatch.setattr(storage_routes, "read_span", truncated_then_read)
    with pytest.raises(httpx.HTTPError):  # the declared length is never reached
        httpx.get(url, timeout=WAIT_S)
    assert served.whole_reads == [len(data)]
    _until(lambda: storage_routes._HELD.held == 0, "the counted bytes given back")
