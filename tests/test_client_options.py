"""Per-call options: ``timeout=`` on a call, and ``client.with_options(...)``.

Deadlines are checked on the retry transport's fake clock (no real waiting, nothing timed), against
a loopback server that records what really left the client.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
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


# --- with_options ---------------------------------------------------------------------------


class CountingServer(RecordingServer):
    """A recording server that also counts the TCP connections it accepted."""

    def __init__(self, respond: Any) -> None:
        self.connections = 0
        super().__init__(respond)

    def handle(self, conn: Any) -> None:
        self.connections += 1
        super().handle(conn)


def _pools(client: ionworks.Ionworks) -> tuple[int, int]:
    """Identities of the transports holding the API and storage connection pools."""
    api: Any = client._http._transport
    storage: Any = client._storage._transport
    return id(api.wrapped), id(storage.wrapped)


def test_with_options_shares_the_connection_pool() -> None:
    server = CountingServer(lambda n: (200, JSON, _body(PAGE)))
    try:
        client = client_for(server.url)
        copy = client.with_options(timeout=5.0, max_retries=2)
        assert _pools(copy) == _pools(client)
        client.cell_spec.list()
        copy.cell_spec.list()
        client.cell_spec.list()
        copy.close()  # closing the copy leaves the shared pool open
        client.cell_spec.list()
    finally:
        server.close()
    assert len(server.targets) == 4
    assert server.connections == 1  # one kept-alive connection served both clients


def test_with_options_applies_max_retries_to_the_copy_only() -> None:
    server = RecordingServer(lambda n: BUSY)
    try:
        client = client_for(server.url, max_retries=3)
        copy = client.with_options(max_retries=0)
        FakeTime(client), FakeTime(copy)
        with pytest.raises(ionworks.ServerError):
            copy.health_check()
        assert len(server.targets) == 1
        with pytest.raises(ionworks.ServerError):
            client.health_check()
    finally:
        server.close()
    assert len(server.targets) == 1 + 4
    assert (client.max_retries, copy.max_retries) == (3, 0)


def test_with_options_applies_the_timeout_to_every_call_of_the_copy() -> None:
    server = RecordingServer(lambda n: BUSY)
    try:
        client = client_for(server.url, timeout=600.0, max_retries=1000, retry_budget=600)
        copy = client.with_options(timeout=2.0)
        fake = FakeTime(copy)
        with pytest.raises(ionworks.ServerError):
            copy.cell_spec.list()
    finally:
        server.close()
    assert fake.now < 2.0 and len(server.targets) > 1
    assert (client.timeout, copy.timeout) == (600.0, 2.0)


def test_with_options_keeps_everything_else_of_the_client(tmp_path: Any) -> None:
    client = ionworks.Ionworks(
        api_key="k-0123456789",
        api_url="http://127.0.0.1:9",
        project_id="p-1",
        dataframe_backend="pandas",
    )
    copy = client.with_options(timeout=1.0)
    assert copy is not client and isinstance(copy, ionworks.Ionworks)
    assert (copy.api_url, copy.project_id, copy.dataframe_backend) == (
        client.api_url,
        client.project_id,
        client.dataframe_backend,
    )
    # Everything else (credentials, cache settings, ...) is the very same object.
    changed = {k for k, v in vars(client).items() if vars(copy).get(k) is not v}
    assert changed == {"timeout", "_http", "_storage", "_owns_transports"}
    assert copy.cell_spec._client is copy  # resources call through the copy, not the original
    assert copy._http.headers["X-API-Key"] == "k-0123456789"


@pytest.mark.parametrize(
    "options", [{"timeout": 0}, {"timeout": -1.0}, {"max_retries": -1}, {"max_retries": 1.5}]
)
def test_with_options_refuses_bad_values(options: dict[str, Any]) -> None:
    client = client_for("http://127.0.0.1:9")
    with pytest.raises(ionworks.InvalidParameterError):
        client.with_options(**options)


# --- logging ---------------------------------------------------------------------------------


def test_each_request_is_logged_once_with_its_status_time_and_retries_never_the_key(
    live_server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="ionworks")
    with ionworks.Ionworks(api_key=live_server.api_key, api_url=live_server.url) as client:
        specs = client.cell_spec.list(limit=2)
        with pytest.raises(ionworks.NotFoundError):
            client.cell_spec.get("3f2a9c1e-5b7d-4e8f-9a0b-000000000000")
    lines = [r.getMessage() for r in caplog.records if r.name == "ionworks"]
    assert len(specs) == 2
    assert len(lines) == 2, lines
    assert re.fullmatch(
        r"api GET /cell_specifications 200 \d+ms request_id=\S+ retries=0", lines[0]
    )
    assert re.fullmatch(
        r"api GET /cell_specifications/3f2a9c1e-5b7d-4e8f-9a0b-000000000000 404 \d+ms "
        r"request_id=\S+ retries=0",
        lines[1],
    )
    assert live_server.api_key not in caplog.text
    for header in ("X-API-Key", "x-api-key", "Authorization", "Bearer"):
        assert header not in caplog.text


def test_a_retried_request_logs_its_retries_and_the_request_id() -> None:
    def respond(n: int) -> tuple[int, dict[str, str], bytes]:
        if n <= 2:
            return 503, {**JSON, "Retry-After": "0"}, _body({"message": "busy"})
        return 200, {**JSON, "x-request-id": "req-42"}, _body(PAGE)

    server = RecordingServer(respond)
    records: list[logging.LogRecord] = []
    handler = _ListHandler(records)
    logger = logging.getLogger("ionworks")
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        client = client_for(server.url, max_retries=5)
        FakeTime(client)
        client.cell_spec.list()
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
        server.close()
    messages = [r.getMessage() for r in records]
    assert [m.split(" ", 1)[0] for m in messages] == ["api", "api", "api"]
    assert messages[0].startswith("api retrying GET /cell_specifications after 503")
    assert re.fullmatch(
        r"api GET /cell_specifications 200 \d+ms request_id=req-42 retries=2", messages[2]
    )


class _ListHandler(logging.Handler):
    def __init__(self, records: list[logging.LogRecord]) -> None:
        super().__init__(logging.DEBUG)
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_ionworks_log_prints_request_lines_on_stderr_without_the_key(live_server: Any) -> None:
    code = (
        "import ionworks, sys\n"
        "client = ionworks.Ionworks(api_key=sys.argv[1], api_url=sys.argv[2])\n"
        "client.health_check()\n"
    )
    env = {**os.environ, "IONWORKS_LOG": "info"}
    result = subprocess.run(
        [sys.executable, "-c", code, live_server.api_key, live_server.url],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert re.search(r"ionworks INFO api GET /healthz 200 \d+ms", result.stderr), result.stderr
    assert live_server.api_key not in result.stderr


def test_without_ionworks_log_nothing_is_printed(live_server: Any) -> None:
    code = (
        "import ionworks, sys\n"
        "ionworks.Ionworks(api_key=sys.argv[1], api_url=sys.argv[2]).health_check()\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "IONWORKS_LOG"}
    result = subprocess.run(
        [sys.executable, "-c", code, live_server.api_key, live_server.url],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "healthz" not in result.stderr


# --- errors ----------------------------------------------------------------------------------


def test_every_error_and_warning_is_defined_in_errors_and_exported() -> None:
    import ionworks._cache
    import ionworks._cache.readonly
    import ionworks._filters
    import ionworks.errors as errors

    defined = {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type)
        and issubclass(value, Exception | Warning)
        and value.__module__ == "ionworks.errors"
    }
    assert defined <= set(ionworks.__all__)
    for name in defined:
        assert getattr(ionworks, name) is getattr(errors, name)
    # The old import paths still work and give the very same classes.
    assert ionworks._cache.IonworksCacheWarning is errors.IonworksCacheWarning
    assert ionworks._cache.ReadOnlyCacheError is errors.ReadOnlyCacheError
    assert ionworks._cache.readonly.ReadOnlyCacheError is errors.ReadOnlyCacheError
    assert ionworks._filters.InvalidParameterError is errors.InvalidParameterError


def test_missing_credentials_is_an_ionworks_error_and_still_a_value_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("IONWORKS_API_KEY", raising=False)
    monkeypatch.delenv("IONWORKS_API_TOKEN", raising=False)
    with pytest.raises(ionworks.MissingCredentialsError, match="IONWORKS_API_KEY") as caught:
        ionworks.Ionworks(api_url="http://127.0.0.1:9")
    assert isinstance(caught.value, ionworks.IonworksError)
    assert isinstance(caught.value, ValueError)


def test_a_bad_argument_to_create_is_an_invalid_parameter_error() -> None:
    client = client_for("http://127.0.0.1:9")
    with pytest.raises(ionworks.InvalidParameterError, match="name"):
        client.cell_spec.create({"name": ""})
    with pytest.raises(ionworks.InvalidParameterError, match="batch_id"):
        client.cell_instance.create("spec-id", {"name": "x", "batch": "b"})


def test_an_api_status_error_carries_the_response_and_the_request_id() -> None:
    headers = {**JSON, "x-request-id": "req-7"}
    body = _body({"error_code": "NOT_FOUND", "message": "Not found"})
    server = RecordingServer(lambda n: (404, headers, body))
    try:
        with pytest.raises(ionworks.NotFoundError) as caught:
            client_for(server.url).cell_spec.get("3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b")
    finally:
        server.close()
    error = caught.value
    assert error.request_id == "req-7"
    assert error.response is not None and error.response.status_code == 404
    assert error.response.headers["x-request-id"] == "req-7"


def test_the_correlation_id_header_is_a_request_id_too() -> None:
    headers = {**JSON, "x-correlation-id": "corr-9"}
    server = RecordingServer(lambda n: (400, headers, _body({"message": "bad"})))
    try:
        with pytest.raises(ionworks.BadRequestError) as caught:
            client_for(server.url).health_check()
    finally:
        server.close()
    assert caught.value.request_id == "corr-9"


def test_the_real_server_error_carries_its_response(live_server: Any) -> None:
    client = ionworks.Ionworks(api_key=live_server.api_key, api_url=live_server.url)
    with pytest.raises(ionworks.NotFoundError) as caught:
        client.cell_spec.get("3f2a9c1e-5b7d-4e8f-9a0b-000000000000")
    assert caught.value.response is not None
    assert caught.value.response.status_code == 404
    # the local server names each request in X-Request-Id; the error carries that id
    assert caught.value.request_id == caught.value.response.headers["x-request-id"]
    assert caught.value.request_id


# --- lazy package import ---------------------------------------------------------------------


def _fresh(code: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    ).stdout


def test_importing_the_data_core_loads_nothing_of_the_client() -> None:
    loaded = _fresh(
        "import sys, ionworks.data.columns\nprint('\\n'.join(sorted(sys.modules)))\n"
    ).split()
    assert not [m for m in loaded if m == "httpx" or m.startswith("httpx.")]
    assert not [m for m in loaded if m.startswith("ionworks_generated")]
    ours = [m for m in loaded if m.startswith("ionworks.")]
    assert all(m.startswith("ionworks.data") or m == "ionworks._version" for m in ours), ours


def test_public_names_still_import_from_the_package() -> None:
    out = _fresh(
        "import ionworks\n"
        "from ionworks import DataLoader, set_cache_directory, IonworksCacheWarning\n"
        "missing = [n for n in ionworks.__all__ if not hasattr(ionworks, n)]\n"
        "print(ionworks.Ionworks.__name__, DataLoader.__name__, missing)\n"
        "print(set(ionworks.__all__) <= set(dir(ionworks)))\n"
    )
    assert out.split("\n")[:2] == ["Ionworks DataLoader []", "True"]


def test_an_unknown_name_is_still_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        ionworks.no_such_name  # noqa: B018
