"""The local server's ``X-Request-Id``: on every response, echoed when well formed, in error logs."""

from __future__ import annotations

import logging
import re
import socket

import anyio
import httpx
import pytest
from conftest import http_client
from server_process import ServerProcess
from starlette.types import Message, Receive, Scope, Send

from ionworks import Ionworks, NotFoundError
from ionworks.errors import request_id_of
from ionworks_server import request_id
from ionworks_server.errors import CatchAllMiddleware

FRESH = re.compile(r"[0-9a-f]{32}")


def test_unknown_route_404_carries_a_fresh_request_id(live_server: ServerProcess) -> None:
    with http_client(live_server) as http:
        first = http.get("/no/such/route")
        second = http.get("/no/such/route")
    assert first.status_code == second.status_code == 404
    assert FRESH.fullmatch(first.headers["x-request-id"])
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


def test_success_forbidden_and_health_responses_carry_a_request_id(
    live_server: ServerProcess,
) -> None:
    with http_client(live_server) as http:
        ok = http.get("/cell_specifications", params={"limit": 1})
        health = http.get("/healthz")
        denied = http.get("/cell_specifications", headers={"X-API-Key": "wrong-key-000000"})
    assert (ok.status_code, health.status_code, denied.status_code) == (200, 200, 403)
    for response in (ok, health, denied):
        assert FRESH.fullmatch(response.headers["x-request-id"])


def test_client_not_found_error_carries_the_servers_request_id(
    live_server: ServerProcess,
) -> None:
    client = Ionworks(api_key=live_server.api_key, api_url=live_server.url, max_retries=0)
    with pytest.raises(NotFoundError) as caught:
        client.cell_spec.get("no-such-specification")
    error = caught.value
    assert error.response is not None
    assert error.request_id == error.response.headers["x-request-id"]
    assert error.request_id is not None and FRESH.fullmatch(error.request_id)


def test_a_well_formed_incoming_request_id_is_echoed(live_server: ServerProcess) -> None:
    sent = "trace-7f3a.b:c/d+e=f_" + "x" * 100
    assert len(sent) <= request_id.MAX_LENGTH
    with http_client(live_server) as http:
        response = http.get("/no/such/route", headers={"X-Request-Id": sent})
    assert response.headers.get_list("x-request-id") == [sent]


@pytest.mark.parametrize(
    "hostile",
    [
        b"a" * (request_id.MAX_LENGTH + 1),
        "caf\u00e9-\u2603".encode(),
        b"ctl\x01char",
        b"tab\tinside",
        b"-starts-with-a-dash",
    ],
    ids=["too-long", "non-ascii", "control-char", "tab", "leading-dash"],
)
def test_a_hostile_incoming_request_id_is_replaced(
    live_server: ServerProcess, hostile: bytes
) -> None:
    with http_client(live_server) as http:
        response = http.get("/no/such/route", headers={"X-Request-Id": hostile})
    assert response.status_code == 404
    assert FRESH.fullmatch(response.headers["x-request-id"])


def test_a_carriage_return_never_reaches_a_response_header(live_server: ServerProcess) -> None:
    """httpx refuses to send CR, so a raw socket does; the server answers without echoing it."""
    host, port = live_server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=60) as sock:
        sock.sendall(
            b"GET /no/such/route HTTP/1.1\r\nHost: x\r\n"
            b"X-Request-Id: evil\rSet-Cookie: stolen=1\r\nConnection: close\r\n\r\n"
        )
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    head = raw.split(b"\r\n\r\n", 1)[0].lower()
    assert b"set-cookie" not in head and b"evil" not in head


@pytest.mark.parametrize(
    "value",
    [b"ok\r\nSet-Cookie: x=1", b"ok\nx", b"ok\rx", b"ok x", b"", b"\xff\xfe"],
    ids=["crlf", "lf", "cr", "space", "empty", "bad-bytes"],
)
def test_accept_replaces_values_that_could_forge_headers_or_log_lines(value: bytes) -> None:
    assert FRESH.fullmatch(request_id.accept(value))


def test_accept_keeps_a_uuid_and_makes_an_id_when_none_was_sent() -> None:
    uuid_text = "0b9c4a53-3d0e-4c1f-9c62-5c9a0f1d2e3b"
    assert request_id.accept(uuid_text.encode()) == uuid_text
    assert FRESH.fullmatch(request_id.accept(None))


def _http_scope(headers: list[tuple[bytes, bytes]]) -> Scope:
    return {"type": "http", "method": "GET", "path": "/boom", "headers": headers}


async def _failing_app(scope: Scope, receive: Receive, send: Send) -> None:
    raise RuntimeError("a bug in a handler")


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


def test_an_unhandled_error_is_logged_and_answered_with_the_request_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The 500 of the catch-all carries the header, and its log line names the same id."""
    app = request_id.RequestIdMiddleware(CatchAllMiddleware(_failing_app))
    sent: list[Message] = []

    async def record(message: Message) -> None:
        sent.append(message)

    async def serve_then_read_the_id() -> str | None:
        # The id lives in a context variable: read it in the task that served the request (the
        # test's own context never sees what anyio.run's task set).
        await app(_http_scope([(b"x-request-id", b"support-ticket-42")]), _no_body, record)
        return request_id.current()

    with caplog.at_level(logging.ERROR, logger="ionworks_server"):
        after = anyio.run(serve_then_read_the_id)
    start = sent[0]
    assert start["status"] == 500
    assert (b"x-request-id", b"support-ticket-42") in start["headers"]
    assert any("request_id=support-ticket-42" in r.getMessage() for r in caplog.records)
    assert after is None  # reset once the request is done


def test_a_handler_set_request_id_header_is_replaced_not_doubled() -> None:
    """A response that already names an id (a proxied one, say) leaves with exactly one."""

    async def app_with_header(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"x-request-id", b"inner"), (b"content-length", b"0")]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    sent: list[Message] = []

    async def record(message: Message) -> None:
        sent.append(message)

    middleware = request_id.RequestIdMiddleware(app_with_header)
    anyio.run(middleware, _http_scope([(b"x-request-id", b"outer")]), _no_body, record)
    ids = [value for name, value in sent[0]["headers"] if name == b"x-request-id"]
    assert ids == [b"outer"]


def test_the_client_reads_the_header_the_server_sends() -> None:
    """The name the server sends is one the client's ``request_id`` reads."""
    response = httpx.Response(404, headers={request_id.HEADER: "abc"})
    assert request_id_of(response) == "abc"
