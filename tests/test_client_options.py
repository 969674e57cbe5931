"""Per-call options: ``timeout=`` on a call, and ``client.with_options(...)``.

Deadlines are checked on the retry transport's fake clock (no real waiting, nothing timed), against
a loopback server that records what really left the client.
"""

from __future__ import annotations

from typing import Any

import pytest
from test_client_hardening import JSON, PAGE, FakeTime, RecordingServer, _body, client_for

import ionworks

BUSY = (503, JSON, _body({"message": "busy"}))


def test_a_per_call_timeout_bounds_that_call_and_its_retries() -> None:
    server = RecordingServer(lambda n: BUSY)
    try:
        client = client_for(server.url, timeout=600.0, max_retries=1000, retry_budget=600)
        fake = FakeTime(client)
        with pytest.raises(ionworks.ServerError):
            client.health_check(timeout=2.0)
    finally:
        server.close()
    assert fake.now < 2.0
    assert len(server.targets) > 1  # it did retry, within the call's own deadline


def test_without_a_per_call_timeout_the_client_timeout_still_applies() -> None:
    server = RecordingServer(lambda n: BUSY)
    try:
        client = client_for(server.url, timeout=3.0, max_retries=1000, retry_budget=600)
        fake = FakeTime(client)
        with pytest.raises(ionworks.ServerError):
            client.health_check()
    finally:
        server.close()
    assert fake.now < 3.0
    assert len(server.targets) > 1


def test_a_per_call_timeout_may_be_longer_than_the_client_timeout() -> None:
    """The call's own deadline replaces the client's: 3 busy answers at 1 s each fit in 10 s."""

    def respond(n: int) -> tuple[int, dict[str, str], bytes]:
        if n <= 3:
            return 503, {**JSON, "Retry-After": "1"}, _body({"message": "busy"})
        return 200, JSON, _body(PAGE)

    server = RecordingServer(respond)
    try:
        client = client_for(server.url, timeout=2.0, max_retries=5)
        fake = FakeTime(client)
        page = client.cell_spec._page(
            _list_operation(), ionworks.CellSpecification, (), {}, None, 0, timeout=10.0
        )
    finally:
        server.close()
    assert len(page) == 1
    assert fake.sleeps == [1.0, 1.0, 1.0]


def _list_operation() -> Any:
    from ionworks_generated.api.cell_specifications import list_cell_specifications

    return list_cell_specifications


@pytest.mark.parametrize("value", [0, -1, float("nan"), float("inf"), "5", True])
def test_a_timeout_that_is_not_a_positive_number_is_refused_before_sending(value: Any) -> None:
    server = RecordingServer(lambda n: BUSY)
    try:
        client = client_for(server.url)
        with pytest.raises(ionworks.InvalidParameterError, match="timeout"):
            client.health_check(timeout=value)
    finally:
        server.close()
    assert server.targets == []
