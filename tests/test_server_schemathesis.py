"""Property-based contract test: schemathesis drives every operation of openapi.yaml.

A bounded run (15 examples per operation, derandomised) against a dedicated server with the demo
data must find no 5xx, no undeclared status code, no response that breaks its schema, no wrong
content type and no operation that ignores missing or invalid credentials. ``make fuzz`` runs the
same test longer and randomised (``IONWORKS_FUZZ_EXAMPLES``, ``IONWORKS_FUZZ_RANDOM=1``). Random ids only reach the 404 paths, so every other example has its ids (and, for
storage, a whole signed URL) replaced by real ones: the success paths are checked too.

The server is not shared with other tests: schemathesis creates, changes and deletes resources.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import schemathesis
from conftest import LIVE_API_KEY, http_client
from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.checks import CheckContext, not_a_server_error
from schemathesis.core.transport import Response
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_schema_conformance,
    status_code_conformance,
)
from server_process import ServerProcess, start_server

SPEC = Path(__file__).resolve().parent.parent / "openapi.yaml"
_auth_checked: set[str] = set()


def ignored_auth_once(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """schemathesis' ``ignored_auth`` (the same request without and with wrong credentials must
    fail), once per operation as its own runner does: every probe is three more requests."""
    if not 200 <= response.status_code < 300 or case.operation.label in _auth_checked:
        return None
    result = ignored_auth(ctx, response, case)
    _auth_checked.add(case.operation.label)
    return result


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    ignored_auth_once,
]
EXAMPLES = int(os.environ.get("IONWORKS_FUZZ_EXAMPLES", "15"))
RANDOM = os.environ.get("IONWORKS_FUZZ_RANDOM") == "1"

schema = schemathesis.openapi.from_path(SPEC)
_alternate = itertools.count()


@pytest.fixture(scope="module")
def contract_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = start_server(tmp_path_factory.mktemp("contract") / "data", LIVE_API_KEY, demo=True)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def real(contract_server: ServerProcess) -> dict[str, object]:
    """Ids of real demo resources, and a real signed storage URL."""
    http = http_client(contract_server)
    spec = http.get("/cell_specifications", params={"name": "eq.NCM622/Graphite Coin Cell"}).json()[
        "items"
    ][0]
    cell = http.get(f"/cell_specifications/{spec['id']}/cell_instances").json()["items"][0]
    measurements = http.get(f"/cell_instances/{cell['id']}/cell_measurements").json()["items"]
    series = next(m for m in measurements if m["measurement_type"] == "time_series")
    files = next(m for m in measurements if m["measurement_type"] == "file")
    pipeline = http.post(
        "/pipelines", json={"elements": {"e": {"element_type": "entry", "values": {}}}}
    ).json()
    location = urlsplit(
        http.get(f"/cell_measurements/{series['id']}/time_series/download").headers["location"]
    )
    _, _, area, object_id, filename = location.path.split("/")
    return {
        "cell_specification_id": spec["id"],
        "project_id": spec["project_id"],
        "cell_instance_id": cell["id"],
        "cell_measurement_id": series["id"],
        "file_measurement_id": files["id"],
        "filename": files["filenames"][0] if "filenames" in files else "assembly_notes.csv",
        "pipeline_id": pipeline["id"],
        "storage": {"area": area, "object_id": object_id, "filename": filename},
        "storage_query": {k: v[0] for k, v in parse_qs(location.query).items()},
    }


def use_real_ids(case: Case, real: dict[str, object]) -> None:
    """Point the case at real resources (deletes excepted, so the data survives the run)."""
    if case.path.startswith("/cell_measurements/tags/bulk") and isinstance(case.body, dict):
        case.body = {**case.body, "measurement_ids": [real["cell_measurement_id"]]}
    lists = ("/cell_measurements", "/cell_measurements/tags")
    if case.path in lists and case.query and "project_id" in case.query:
        case.query = {**case.query, "project_id": real["project_id"]}
    if case.method.upper() == "DELETE" or not case.path_parameters:
        return
    if case.path.startswith("/storage/"):
        if case.method.upper() == "GET":
            case.path_parameters = dict(real["storage"])  # type: ignore[call-overload]
            case.query = {**(case.query or {}), **real["storage_query"]}  # type: ignore[dict-item]
        return
    for name in list(case.path_parameters):
        if name in real:
            case.path_parameters[name] = real[name]
    if "/files/" in case.path:
        case.path_parameters["cell_measurement_id"] = real["file_measurement_id"]


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=not RANDOM,
    database=None,
)
def test_every_operation_conforms_to_the_contract(
    case: Case, contract_server: ServerProcess, real: dict[str, object]
) -> None:
    if next(_alternate) % 2:
        use_real_ids(case, real)
    case.call_and_validate(
        base_url=contract_server.url,
        headers={"X-API-Key": LIVE_API_KEY},
        checks=CHECKS,
        timeout=30,
    )
