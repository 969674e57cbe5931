"""Property-based contract test: schemathesis drives every operation of openapi.yaml.

A bounded run (a few examples per operation) against a dedicated server with the demo data must
find no 5xx, no undeclared status code, no response that breaks its schema and no wrong content
type. The server is not shared with other tests: schemathesis creates resources with random names.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from conftest import LIVE_API_KEY
from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from server_process import ServerProcess, start_server

SPEC = Path(__file__).resolve().parent.parent / "openapi.yaml"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def contract_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = start_server(tmp_path_factory.mktemp("contract") / "data", LIVE_API_KEY, demo=True)
    try:
        yield server
    finally:
        server.stop()


schema = schemathesis.openapi.from_path(SPEC)


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_every_operation_conforms_to_the_contract(
    case: Case, contract_server: ServerProcess
) -> None:
    case.call_and_validate(
        base_url=contract_server.url,
        headers={"X-API-Key": LIVE_API_KEY},
        checks=CHECKS,
        timeout=30,
    )
