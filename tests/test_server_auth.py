"""Credentials and isolation: 403 without a valid key (never 401), and another organization's
resources are indistinguishable from missing ones (404)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from conftest import http_client, new_organization_key
from server_process import ServerProcess
from test_server_routes import spec_operations

PUBLIC = {"health_check", "storage_get_object", "storage_put_object"}


@pytest.fixture(scope="module")
def anonymous() -> httpx.Client:
    """One connection pool for the many credential-less requests below."""
    return httpx.Client(timeout=30)


def _fill(path: str) -> str:
    return path.replace("{", "").replace("}", "")


@pytest.mark.parametrize("op_id", sorted(op for op in spec_operations() if op not in PUBLIC))
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-API-Key": "wrong-key"},
        {"Authorization": "Bearer wrong-key"},
        {"Authorization": "Basic abc"},
    ],
    ids=["no-key", "bad-key", "bad-bearer", "basic-auth"],
)
def test_every_authenticated_operation_answers_403_without_a_valid_key(
    live_server: ServerProcess, anonymous: httpx.Client, op_id: str, headers: dict[str, str]
) -> None:
    method, path, _ = spec_operations()[op_id]
    response = anonymous.request(
        method,
        live_server.url + _fill(path),
        headers=headers,
        json={} if method in ("POST", "PATCH") else None,
    )
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["error_code"] == "FORBIDDEN"
    assert "API key" in body["message"]


def test_a_bearer_token_works_like_an_api_key(live_server: ServerProcess) -> None:
    response = httpx.get(
        f"{live_server.url}/users/me", headers={"Authorization": f"Bearer {live_server.api_key}"}
    )
    assert response.status_code == 200


def test_keys_are_stored_hashed_never_in_clear(live_server: ServerProcess) -> None:
    database = (live_server.data_dir / "ionworks.sqlite3").read_bytes()
    assert live_server.api_key.encode() not in database


@pytest.fixture(scope="module")
def other_org(live_server: ServerProcess) -> httpx.Client:
    """A client of a second organization, created by ``admin create-key`` while the server runs."""
    return http_client(live_server, new_organization_key(live_server))


@pytest.fixture(scope="module")
def demo_ids(live_server: ServerProcess) -> dict[str, str]:
    http = http_client(live_server)
    spec = http.get("/cell_specifications", params={"name": "eq.NCM622/Graphite Coin Cell"}).json()[
        "items"
    ][0]
    cell = http.get(
        f"/cell_specifications/{spec['id']}/cell_instances", params={"name": "eq.batch-A-cell-01"}
    ).json()["items"][0]
    measurements = http.get(f"/cell_instances/{cell['id']}/cell_measurements").json()["items"]
    series = next(m for m in measurements if m["measurement_type"] == "time_series")
    files = next(m for m in measurements if m["measurement_type"] == "file")
    pipeline = http.post(
        "/pipelines", json={"elements": {"e": {"element_type": "entry", "values": {}}}}
    ).json()
    return {
        "cell_specification_id": spec["id"],
        "cell_instance_id": cell["id"],
        "cell_measurement_id": series["id"],
        "file_measurement_id": files["id"],
        "filename": "assembly_notes.csv",
        "pipeline_id": pipeline["id"],
    }


SCOPED_OPERATIONS = sorted(
    op for op, (_, path, _) in spec_operations().items() if "{" in path and op not in PUBLIC
)


@pytest.mark.parametrize("op_id", SCOPED_OPERATIONS)
def test_another_organizations_resource_answers_404_like_a_missing_one(
    other_org: httpx.Client, demo_ids: dict[str, str], op_id: str
) -> None:
    method, path, _ = spec_operations()[op_id]
    ids = dict(demo_ids)
    if "files/{filename}" in path:
        ids["cell_measurement_id"] = demo_ids["file_measurement_id"]
    missing = {k: f"missing-{k}" for k in ids} | {"filename": ids["filename"]}
    body: Any = None
    if method in ("POST", "PATCH"):
        body = {
            "name": "x",
            "measurement": {"name": "x"},
            "cell_instance_id": ids["cell_instance_id"],
            "properties": {},
        }
    if path.endswith("/sql"):
        body = {"query": "SELECT 1 AS one"}
    foreign = other_org.request(method, path.format(**ids), json=body)
    absent = other_org.request(method, path.format(**missing), json=body)
    assert foreign.status_code == absent.status_code == 404, (foreign.text, absent.text)
    strip = lambda r: {k: v for k, v in r.json().items() if k not in ("message", "detail")}  # noqa: E731
    assert strip(foreign) == strip(absent)
    assert foreign.json()["detail"]["resource_type"] == absent.json()["detail"]["resource_type"]


def test_another_organization_lists_none_of_the_demo_data(
    other_org: httpx.Client, live_server: ServerProcess
) -> None:
    assert other_org.get("/cell_specifications").json()["total"] == 0
    created = other_org.post("/cell_specifications", json={"name": "NCM622/Graphite Coin Cell"})
    assert created.status_code == 201  # names are unique per organization's project only
    mine = http_client(live_server).get(
        "/cell_specifications", params={"name": "eq.NCM622/Graphite Coin Cell"}
    )
    assert created.json()["id"] not in [s["id"] for s in mine.json()["items"]]
    assert other_org.delete(f"/cell_specifications/{created.json()['id']}").status_code == 204


def test_a_pipeline_cannot_reference_another_organizations_measurement(
    other_org: httpx.Client, demo_ids: dict[str, str]
) -> None:
    reference = f"db:{demo_ids['cell_measurement_id']}"
    response = other_org.post(
        "/pipelines",
        json={
            "elements": {"fit": {"element_type": "data_fit", "objectives": [{"data": reference}]}}
        },
    )
    assert response.status_code == 400
    assert demo_ids["cell_measurement_id"] in response.json()["message"]


def test_users_me_names_the_keys_own_organization(
    other_org: httpx.Client, live_server: ServerProcess
) -> None:
    mine = http_client(live_server).get("/users/me").json()
    theirs = other_org.get("/users/me").json()
    assert mine["authorized_organization"]["id"] != theirs["authorized_organization"]["id"]
