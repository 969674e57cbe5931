"""A stored object that turns out shorter than the size its response declared (cut short on
disk between the ``fstat`` that made the headers and the read of the body): one clean log line
naming the object and the bytes expected and found, the response ended early (the connection
closed, so the client sees an incomplete body, never a body that looks complete), and no
traceback in the server's log. Both paths: the body read whole, and the body streamed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_storage_read_budget import WAIT_S, _Served, _until

from ionworks import Ionworks
from ionworks._transfer import Transfer
from ionworks._transfer_rules import ATTEMPTS
from ionworks.errors import APIConnectionError
from ionworks_server import storage_routes
from ionworks_server.storage import WHOLE_READ, iter_span, read_span

SIZE = 1 << 20  # 4 chunks of the stream
CUT = 1000


@pytest.fixture
def served(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> Iterator[_Served]:
    """An in-process server whose log records reach ``caplog`` (uvicorn's included)."""
    caplog.set_level(logging.INFO)
    served = _Served(tmp_path / "data")
    served.thread.start()
    try:
        _until(lambda: served.server.started or not served.thread.is_alive(), "started")
        assert served.server.started, "the in-process server did not start"
        yield served
    finally:
        served.server.should_exit = True
        served.thread.join(WAIT_S)
        served.sock.close()


def _cut_short(fh: Any) -> None:
    with open(fh.name, "r+b") as writer:  # another process truncating the file
        writer.truncate(CUT)


def _cut_then_read(fh: Any, first: int, length: int) -> bytes:
    _cut_short(fh)
    return read_span(fh, first, length)


def _cut_then_stream(fh: Any, first: int, length: int) -> Iterator[bytes]:
    _cut_short(fh)
    return iter_span(fh, first, length)


@pytest.fixture(params=["whole", "streamed"])
def cut_short(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The object is truncated after its headers were made, on one of the two read paths."""
    if request.param == "whole":
        monkeypatch.setattr(storage_routes, "read_span", _cut_then_read)
    else:
        monkeypatch.setattr(storage_routes, "WHOLE_READ", SIZE - 1)  # streamed, not whole
        monkeypatch.setattr(storage_routes, "iter_span", _cut_then_stream)
    return str(request.param)


def _data() -> bytes:
    return bytes(range(256)) * (SIZE // 256)


def _wait_for_the_server_to_finish(caplog: pytest.LogCaptureFixture) -> None:
    """Its first error line (ours, or before the fix a traceback), and the budget given back."""
    _until(lambda: any(r.levelno >= logging.ERROR for r in caplog.records), "an error logged")
    _until(lambda: storage_routes._HELD.held == 0, "the whole-read budget given back")


def test_a_short_object_is_one_log_line_and_no_traceback(
    served: _Served, cut_short: str, caplog: pytest.LogCaptureFixture
) -> None:
    url = served.url(_data())
    with httpx.stream("GET", url, timeout=WAIT_S) as response:
        assert response.status_code == 200
        assert response.headers["content-length"] == str(SIZE)
        with pytest.raises(httpx.RemoteProtocolError):  # not a body that looks complete
            response.read()
    _wait_for_the_server_to_finish(caplog)
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert tracebacks == [], [r.getMessage() for r in tracebacks]
    ours = [r for r in caplog.records if "shorter" in r.getMessage()]
    assert len(ours) == 1 and ours[0].levelno == logging.ERROR
    line = ours[0].getMessage()
    assert "\n" not in line
    assert "measurements/budget-object/blob.bin" in line
    assert f"expected {SIZE} bytes, found {CUT}" in line


def test_the_client_asks_again_for_a_cut_body_then_names_what_it_got(
    served: _Served, cut_short: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The client's storage download treats the short body as a transfer error: it asks again
    (here each answer is cut short, the file put back after each) and then says what it got."""
    asked: list[int] = []
    data = _data()

    def put_back(fh: Any) -> None:
        with open(fh.name, "r+b") as writer:
            writer.write(data)

    def read_cut_then_put_back(fh: Any, first: int, length: int) -> bytes:
        asked.append(length)
        try:
            return _cut_then_read(fh, first, length)
        finally:
            put_back(fh)

    def stream_cut_then_put_back(fh: Any, first: int, length: int) -> Iterator[bytes]:
        asked.append(length)
        try:
            yield from _cut_then_stream(fh, first, length)
        finally:
            put_back(fh)

    if cut_short == "whole":
        monkeypatch.setattr(storage_routes, "read_span", read_cut_then_put_back)
    else:
        monkeypatch.setattr(storage_routes, "iter_span", stream_cut_then_put_back)
    url = served.url(data)
    with Ionworks(api_key="k" * 20, api_url=f"http://127.0.0.1:{served.port}") as client:
        transfer = Transfer(client._storage, client.api_url)
        with pytest.raises(APIConnectionError) as raised:
            transfer.download(url, what="time series", timeout=WAIT_S)
    assert asked == [SIZE] * ATTEMPTS
    message = str(raised.value)
    assert f"received {CUT} bytes, expected {SIZE}" in message
    # The server answered every time: the error says the transfer was cut, not "could not reach".
    assert f"cut the time series transfer short {ATTEMPTS} times" in message
    assert "Could not reach" not in message


def test_whole_reads_of_an_intact_object_still_complete(served: _Served) -> None:
    data = _data()[: WHOLE_READ // 64]
    answer = httpx.get(served.url(data), timeout=WAIT_S)
    assert answer.status_code == 200 and answer.content == data
