"""Client hardening (issue 10): ids in paths, honest errors, bounded calls, a cache that survives
kills and read-only directories, and a truthful parquet error.

Wire-level checks use a tiny loopback server that records the raw request line, so what is
asserted is what really left the client; user-facing messages are checked against the real local
server where it can produce the situation.
"""

from __future__ import annotations

import json
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import polars as pl
import pytest

import ionworks
from ionworks import InvalidParameterError, Ionworks, IonworksError, NotFoundError

ID = "3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b"


class LoopbackServer:
    """A raw HTTP server on a free loopback port: each connection goes to ``handle`` on a thread."""

    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self.handle, args=(conn,), daemon=True).start()

    def handle(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self._sock.close()


class RecordingServer(LoopbackServer):
    """Answers request n (from 1) with ``respond(n)``: status, extra headers and body; records
    the raw request targets."""

    def __init__(self, respond: Callable[[int], tuple[int, dict[str, str], bytes]]) -> None:
        self.respond = respond
        self.targets: list[str] = []
        super().__init__()

    def handle(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as reader:
            while True:
                line = reader.readline()
                if not line:
                    return
                self.targets.append(line.split(b" ")[1].decode("ascii"))
                length = 0
                while (header := reader.readline()) not in (b"\r\n", b""):
                    if header.lower().startswith(b"content-length:"):
                        length = int(header.split(b":")[1])
                reader.read(length)
                status, headers, body = self.respond(len(self.targets))
                head = f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\n"
                head += "".join(f"{key}: {value}\r\n" for key, value in headers.items())
                conn.sendall(head.encode() + b"\r\n" + body)


def _body(body: Any) -> bytes:
    return body if isinstance(body, bytes) else json.dumps(body).encode()


@pytest.fixture
def recording() -> Iterator[Callable[[int, Any], RecordingServer]]:
    servers: list[RecordingServer] = []

    def start(status: int, body: Any) -> RecordingServer:
        answer = (status, {"Content-Type": "application/json"}, _body(body))
        servers.append(RecordingServer(lambda n: answer))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Any) -> Iterator[None]:
    ionworks.set_cache_directory(tmp_path / "cache")
    yield
    ionworks.set_cache_directory(None)


NOT_FOUND = {"error_code": "NOT_FOUND", "message": "Not found"}


def client_for(url: str, **kwargs: Any) -> Ionworks:
    kwargs.setdefault("max_retries", 0)
    return Ionworks(api_key="k-0123456789", api_url=url, **kwargs)


# --- 1. ids in request paths ------------------------------------------------------------------


def test_a_name_passed_as_an_id_is_encoded_on_the_wire_and_the_404_says_how_to_find_it(
    recording: Any,
) -> None:
    server = recording(404, NOT_FOUND)
    client = client_for(server.url)
    with pytest.raises(NotFoundError) as caught:
        client.cell_instance.list("NCM622/Graphite Coin Cell")
    assert server.targets[0].split("?")[0] == (
        "/cell_specifications/NCM622%2FGraphite%20Coin%20Cell/cell_instances"
    )
    message = str(caught.value)
    assert "client.cell_spec.list(name_exact='NCM622/Graphite Coin Cell')" in message
    assert caught.value.status_code == 404


@pytest.mark.parametrize(
    ("call", "hint"),
    [
        (lambda c: c.cell_spec.get("Coin cell"), "client.cell_spec.list(name_exact='Coin cell')"),
        (
            lambda c: c.cell_instance.get("batch A"),
            "client.cell_instance.list(<cell_spec_id>, name_exact='batch A')",
        ),
        (
            lambda c: c.cell_measurement.steps("Formation 1"),
            "client.cell_measurement.list(<cell_instance_id>, name_exact='Formation 1')",
        ),
    ],
    ids=["spec", "instance", "measurement"],
)
def test_each_resource_names_its_own_lookup_by_name(
    recording: Any, call: Callable[[Ionworks], Any], hint: str
) -> None:
    server = recording(404, NOT_FOUND)
    with pytest.raises(NotFoundError) as caught:
        call(client_for(server.url))
    assert hint in str(caught.value)


def test_a_404_for_an_id_shaped_value_gets_no_name_hint(recording: Any) -> None:
    server = recording(404, NOT_FOUND)
    with pytest.raises(NotFoundError) as caught:
        client_for(server.url).cell_spec.get(ID)
    assert "name_exact" not in str(caught.value)


@pytest.mark.parametrize(("value", "wire"), [("..", "%2E%2E"), (".", "%2E")])
def test_dot_segment_ids_are_sent_as_ids_not_resolved_away(
    recording: Any, value: str, wire: str
) -> None:
    """httpx removes '.' and '..' path segments, so get('..') used to request '/'."""
    server = recording(404, NOT_FOUND)
    with pytest.raises(NotFoundError):
        client_for(server.url).cell_spec.get(value)
    assert server.targets == [f"/cell_specifications/{wire}"]


@pytest.mark.parametrize("value", ["", "   ", None])
def test_an_empty_id_is_refused_before_anything_is_sent(recording: Any, value: Any) -> None:
    server = recording(200, {})
    with pytest.raises(InvalidParameterError, match="cell_specification_id"):
        client_for(server.url).cell_spec.get(value)
    assert server.targets == []


def test_the_real_server_404_for_a_name_used_as_an_id_carries_the_hint(live_server: Any) -> None:
    client = Ionworks(api_key=live_server.api_key, api_url=live_server.url)
    with pytest.raises(NotFoundError) as caught:
        client.cell_instance.list("NCM622/Graphite Coin Cell")
    assert "client.cell_spec.list(name_exact='NCM622/Graphite Coin Cell')" in str(caught.value)


def test_an_id_with_a_slash_reaches_the_real_server_as_one_id(live_server: Any) -> None:
    """``specs get "<id>/cell_instances"`` once reached the instances list (KeyError: 'id')."""
    client = Ionworks(api_key=live_server.api_key, api_url=live_server.url)
    spec = client.cell_spec.list(limit=1)[0]
    with pytest.raises(NotFoundError) as caught:
        client.cell_spec.get(f"{spec.id}/cell_instances")
    assert f"client.cell_spec.list(name_exact='{spec.id}/cell_instances')" in str(caught.value)


# --- 2. only an unparseable response is blamed on the server ----------------------------------


def test_a_bug_of_ours_during_a_call_is_not_blamed_on_the_server(recording: Any) -> None:
    server = recording(200, {"id": ID, "name": "Cell"})
    client = client_for(server.url)

    def buggy_hook(response: httpx.Response) -> None:
        raise KeyError("our own bug")

    client._http.event_hooks["response"].append(buggy_hook)
    with pytest.raises(KeyError, match="our own bug"):
        client.cell_spec.get(ID)


def test_a_wrong_argument_of_ours_is_a_type_error_and_nothing_is_sent(recording: Any) -> None:
    from ionworks_generated.api.cell_specifications import get_cell_specification

    server = recording(200, {"id": ID, "name": "Cell"})
    client = client_for(server.url)
    with pytest.raises(TypeError):
        client.cell_spec._call(get_cell_specification, ID, no_such_argument=1)
    assert server.targets == []


def test_a_success_body_that_does_not_parse_is_still_blamed_on_the_server(
    recording: Any,
) -> None:
    server = recording(200, {"items": []})  # a list answer where one object was expected
    with pytest.raises(IonworksError, match="could not understand") as caught:
        client_for(server.url).cell_spec.get(ID)
    assert isinstance(caught.value.__cause__, KeyError)


# --- 5. a corrupt parquet body is described truthfully ----------------------------------------


def _parquet() -> bytes:
    from ionworks._dataframe import write_parquet_bytes

    return write_parquet_bytes(pl.DataFrame({"Time [s]": list(range(1000))}))


def test_a_parquet_body_damaged_at_the_end_says_what_it_ends_with(recording: Any) -> None:
    good = _parquet()
    damaged = good[:-8] + b"\x00" * 8  # same length, footer destroyed
    server = recording(200, damaged)
    with pytest.raises(IonworksError) as caught:
        client_for(server.url).cell_measurement.time_series(ID, use_cache=False)
    message = str(caught.value)
    assert f"({len(good)} bytes)" in message
    assert "starts with PAR1 but does not end with it" in message
    assert repr(damaged[-16:]) in message
    assert "missing the PAR1 magic bytes (starts with b'PAR1" not in message


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"<html>502 Bad Gateway</html>", "it starts with b'<html>502 Bad Ga'"),
        (b"PAR1", "too short"),
        (
            b"PAR1" + b"\x00" * 32 + b"PAR1",
            "PAR1 magic bytes at both ends but could not be decoded",
        ),
    ],
    ids=["not-parquet", "too-short", "damaged-inside"],
)
def test_each_kind_of_bad_parquet_gets_its_own_true_reason(payload: bytes, expected: str) -> None:
    from ionworks._dataframe import read_parquet

    with pytest.raises(IonworksError, match="is not a valid parquet file") as caught:
        read_parquet(payload, description="time series of m1")
    assert expected in str(caught.value)


# --- 4. retries and deadlines ----------------------------------------------------------------

PAGE = {"items": [{"id": ID, "name": "Cell"}], "count": 1, "total": 1}
JSON = {"Content-Type": "application/json"}


class FakeTime:
    """Replaces the retry transport's clock and sleep: waits are recorded, not slept."""

    def __init__(self, client: Ionworks) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        transport = client._http._transport
        transport._clock = lambda: self.now
        transport._sleep = self.sleep

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("value", ["-5", "nan", "-inf"])
def test_a_meaningless_retry_after_backs_off_instead_of_retrying_at_once(value: str) -> None:
    def respond(n: int) -> tuple[int, dict[str, str], bytes]:
        if n <= 2:
            return 503, {**JSON, "Retry-After": value}, _body({"message": "busy"})
        return 200, JSON, _body(PAGE)

    server = RecordingServer(respond)
    try:
        client = client_for(server.url, max_retries=5)
        fake = FakeTime(client)
        assert client.cell_spec.list()[0].id == ID
    finally:
        server.close()
    assert len(fake.sleeps) == 2
    assert all(seconds > 0 for seconds in fake.sleeps), fake.sleeps


def test_a_refused_connection_is_reported_after_a_short_retry_window() -> None:
    """Issue 10 asks for a refused connection to be reported within 1.5 s with the defaults."""
    state = random.getstate()
    random.seed(20261130)  # backoff draws that sum to 6.2 s without the connect window
    try:
        client = client_for(f"http://127.0.0.1:{_closed_port()}", max_retries=5)  # default budget
        fake = FakeTime(client)
        with pytest.raises(ionworks.APIConnectionError):
            client.cell_spec.list()
    finally:
        random.setstate(state)  # no seeded draws leak into other tests
    assert fake.sleeps, "the retries must wait on the fake clock, or now proves nothing"
    assert fake.now < 1.5, fake.sleeps


def test_a_503_burst_is_still_ridden_out_past_the_refused_connection_window() -> None:
    def respond(n: int) -> tuple[int, dict[str, str], bytes]:
        if n <= 3:
            return 503, {**JSON, "Retry-After": "1"}, _body({"message": "busy"})
        return 200, JSON, _body(PAGE)

    server = RecordingServer(respond)
    try:
        client = client_for(server.url, max_retries=5)
        fake = FakeTime(client)
        assert client.cell_spec.list()[0].id == ID
    finally:
        server.close()
    assert fake.sleeps == [1.0, 1.0, 1.0]
    assert fake.now > 1.5


def test_the_timeout_bounds_the_retries_of_a_call_too() -> None:
    server = RecordingServer(lambda n: (503, JSON, _body({"message": "busy"})))
    try:
        client = client_for(server.url, timeout=2.0, max_retries=1000, retry_budget=600)
        fake = FakeTime(client)
        with pytest.raises(ionworks.ServerError):
            client.cell_spec.list()
    finally:
        server.close()
    assert fake.now < 2.0
    assert len(server.targets) > 1  # it did retry, within the deadline


class DrippingServer(LoopbackServer):
    """Sends its answer one byte every ``interval`` seconds, for at most ``limit`` seconds.

    ``phase="headers"`` drips from the status line on; ``phase="body"`` sends the headers at
    once and drips the body.
    """

    def __init__(self, phase: str, interval: float, limit: float) -> None:
        self.phase, self.interval, self.limit = phase, interval, limit
        self._stop = threading.Event()
        super().__init__()

    def handle(self, conn: socket.socket) -> None:
        body = b" " * 10_000
        head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\nX-Pad: {'x' * 10_000}\r\n\r\n"
        answer = head.encode() + body
        with conn:
            conn.recv(65536)
            if self.phase == "body":
                conn.sendall(answer[: len(head)])
                answer = answer[len(head) :]
            deadline = time.monotonic() + self.limit
            for i in range(len(answer)):
                if self._stop.wait(self.interval) or time.monotonic() > deadline:
                    return
                try:
                    conn.sendall(answer[i : i + 1])
                except OSError:
                    return

    def close(self) -> None:
        self._stop.set()
        super().close()


@pytest.mark.parametrize("phase", ["headers", "body"])
def test_a_server_dripping_one_byte_at_a_time_cannot_hold_a_call_past_its_timeout(
    phase: str,
) -> None:
    timeout = 1.5
    server = DrippingServer(phase, interval=0.3, limit=20)
    try:
        client = client_for(server.url, timeout=timeout, max_retries=5, retry_budget=20)
        started = time.monotonic()
        with pytest.raises(ionworks.APITimeoutError):
            client.health_check()
        elapsed = time.monotonic() - started
    finally:
        server.close()
    # Without the deadline the drip holds the call until the server gives up (limit=20 s); the
    # bound leaves a loaded machine 8x the timeout and still fails that by a wide margin.
    assert elapsed < 8 * timeout, f"held for {elapsed:.1f} s with timeout={timeout}"


def test_the_api_transport_enforces_the_deadline_on_its_sockets() -> None:
    """Guards the one private attribute deadline_transport sets (httpx has no argument for it)."""
    from ionworks._deadline import DeadlineBackend

    client = client_for("http://127.0.0.1:9")
    assert isinstance(client._http._transport._wrapped._pool._network_backend, DeadlineBackend)
