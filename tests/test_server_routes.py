"""Routing and the HTTP envelope: every spec operation is served, nothing else is, and every
response (errors included) has the wire shape the official client relies on."""

from __future__ import annotations

import functools
import gzip
import importlib
import io
import json
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx
import polars as pl
import pytest
import yaml
from conftest import http_client, make_client, parquet_bytes, upload_time_series, wait_processed
from ionworks_generated.models import (
    CellInstanceCreate,
    CellInstanceUpdate,
    CellMeasurementUpdate,
    CellSpecificationCreate,
    CellSpecificationUpdate,
    ConfirmUploadRequest,
    InitiateUploadRequest,
    MeasurementTagsBulk,
    PipelineCreate,
    PropertiesMeasurementCreate,
    RunMeasurementSqlBody,
    StorageGetObjectArea,
    StorageGetObjectMethod,
    StoragePutObjectArea,
    StoragePutObjectMethod,
)
from ionworks_generated.types import File
from server_process import ServerProcess
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ionworks_server.app import OPERATIONS, create_app
from ionworks_server.config import Settings
from ionworks_server.errors import CatchAllMiddleware

SPEC_PATH = Path(__file__).resolve().parent.parent / "openapi.yaml"
HTTP_METHODS = ("get", "put", "post", "patch", "delete")


@functools.cache
def spec_operations() -> dict[str, tuple[str, str, str]]:
    """operationId -> (METHOD, path, tag) for every operation in openapi.yaml."""
    spec = yaml.safe_load(SPEC_PATH.read_text())
    out = {}
    for path, item in spec["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                op = item[method]
                out[op["operationId"]] = (method.upper(), path, op["tags"][0])
    return out


def test_the_app_routes_exactly_the_operations_of_the_spec(tmp_path: Path) -> None:
    app = create_app(Settings.from_data_dir(tmp_path / "data"))
    routed = set()
    for route in app.routes:
        assert isinstance(route, Route)
        path = route.path.replace(":path}", "}")
        routed |= {(m, path) for m in (route.methods or ()) if m != "HEAD"}
    declared = {(method, path) for method, path, _ in spec_operations().values()}
    assert routed == declared
    assert {op.operation_id for op in OPERATIONS} == set(spec_operations())


def _call(op_id: str, *args: Any, **kwargs: Any) -> Any:
    """Call one operation through the generated client, found by its operationId."""
    _, _, tag = spec_operations()[op_id]
    module = importlib.import_module(f"ionworks_generated.api.{tag}.{op_id}")
    return module.sync_detailed(*args, **kwargs)


def _storage_parts(url: str) -> tuple[str, str, str, dict[str, str]]:
    parts = urlsplit(url)
    _, _, area, object_id, filename = parts.path.split("/")
    query = dict(q.split("=", 1) for q in parts.query.split("&"))
    return area, object_id, filename, query


class _Tour:
    """Calls operations by id through the generated client, recording each one that answered."""

    def __init__(self, server: ServerProcess) -> None:
        self.client = make_client(server)
        self.called: dict[str, int] = {}

    def call(self, op_id: str, expected: int, *args: Any, **kwargs: Any) -> Any:
        response = _call(op_id, *args, client=self.client, **kwargs)
        assert response.status_code == expected, (op_id, response.status_code, response.content)
        self.called[op_id] = response.status_code
        return response


def _tour_specs_and_instances(tour: _Tour, unique: str) -> tuple[Any, Any]:
    """Health, the user, and every specification and instance operation but delete."""
    call = tour.call
    call("health_check", 200)
    call("get_current_user", 200)
    call("list_cell_specifications", 200, name="ilike.%coin%", limit=5)
    spec = call(
        "create_cell_specification",
        201,
        body=CellSpecificationCreate.from_dict(
            {"name": f"tour-{unique}", "ratings": {"capacity": {"value": 1.0, "unit": "A.h"}}}
        ),
    ).parsed
    call("get_cell_specification", 200, spec.id)
    call(
        "update_cell_specification",
        200,
        spec.id,
        body=CellSpecificationUpdate.from_dict({"manufacturer": "Tour Labs"}),
    )
    instance = call(
        "create_cell_instance", 201, spec.id, body=CellInstanceCreate.from_dict({"name": "cell-1"})
    ).parsed
    call("list_cell_instances", 200, spec.id)
    call("get_cell_instance", 200, instance.id)
    call(
        "update_cell_instance", 200, instance.id, body=CellInstanceUpdate.from_dict({"notes": "n"})
    )
    return spec, instance


def _tour_upload(tour: _Tour, instance_id: str) -> str:
    """Initiate, PUT through the storage operation, confirm; returns the measurement id."""
    call = tour.call
    initiated = call(
        "initiate_upload",
        200,
        instance_id,
        body=InitiateUploadRequest.from_dict({"measurement": {"name": "run-1"}}),
    ).parsed
    target = next(u for u in initiated.uploads if u.filename == "time_series.parquet")
    area, object_id, filename, query = _storage_parts(target.signed_url)
    frame = pl.DataFrame(
        {
            "Time [s]": [0.0, 1.0, 2.0],
            "Current [A]": [0.5, 0.5, 0.5],
            "Voltage [V]": [4.0, 3.9, 3.8],
        }
    )
    call(
        "storage_put_object",
        200,
        StoragePutObjectArea(area),
        object_id,
        filename,
        body=File(payload=io.BytesIO(parquet_bytes(frame))),
        expires=int(query["expires"]),
        method=StoragePutObjectMethod.PUT,
        signature=query["signature"],
    )
    call(
        "confirm_upload",
        201,
        initiated.measurement_id,
        body=ConfirmUploadRequest.from_dict(
            {"cell_instance_id": instance_id, "measurement": {"name": "run-1"}}
        ),
    )
    return str(initiated.measurement_id)


def _tour_measurement_reads(tour: _Tour, instance_id: str, measurement_id: str) -> None:
    """Every read and update of a processed measurement, its tables and files."""
    call = tour.call
    call("get_cell_measurement", 200, measurement_id)
    call("list_cell_measurements", 200, instance_id)
    call(
        "update_cell_measurement",
        200,
        measurement_id,
        body=CellMeasurementUpdate.from_dict({"tags": ["tour"]}),
    )
    redirect = call("download_time_series", 302, measurement_id)
    area, object_id, filename, query = _storage_parts(redirect.headers["location"])
    call(
        "storage_get_object",
        200,
        StorageGetObjectArea(area),
        object_id,
        filename,
        expires=int(query["expires"]),
        method=StorageGetObjectMethod.GET,
        signature=query["signature"],
    )
    call("download_steps", 302, measurement_id)
    call("get_cycles", 200, measurement_id)
    call("get_steps_and_cycles", 200, measurement_id)
    call("list_measurement_files", 200, measurement_id)
    call("download_measurement_file", 404, measurement_id, "no-such-file.csv")
    call("list_project_cell_measurements", 200, q="run", tags_any=["tour"], limit=5)
    body = MeasurementTagsBulk.from_dict({"measurement_ids": [measurement_id], "add": ["bulk"]})
    call("bulk_update_measurement_tags", 200, body=body)
    call("list_measurement_tags", 200, q="bulk")


def test_every_operation_answers_through_the_generated_client(
    live_server: ServerProcess, unique: str
) -> None:
    tour = _Tour(live_server)
    call = tour.call
    spec, instance = _tour_specs_and_instances(tour, unique)
    measurement_id = _tour_upload(tour, instance.id)
    wait_processed(http_client(live_server), measurement_id)
    _tour_measurement_reads(tour, instance.id, measurement_id)
    call("get_time_series_overview", 200, measurement_id, points=16)
    sql = RunMeasurementSqlBody.from_dict({"query": "select count(*) from time_series"})
    call("run_measurement_sql", 200, measurement_id, body=sql)
    call(
        "create_properties_measurement",
        201,
        instance.id,
        body=PropertiesMeasurementCreate.from_dict(
            {"name": "props", "properties": {"mass": {"value": 3.2, "unit": "g"}}}
        ),
    )
    pipeline = call(
        "create_pipeline",
        201,
        body=PipelineCreate.from_dict(
            {"elements": {"entry": {"element_type": "entry", "values": {"x": 1}}}}
        ),
    ).parsed
    call("get_pipeline", 200, pipeline.id)
    call("delete_cell_measurement", 204, measurement_id)
    call("delete_cell_instance", 204, instance.id)
    call("delete_cell_specification", 204, spec.id)
    assert set(tour.called) == set(spec_operations())


def test_an_unknown_route_is_a_json_404(live_server: ServerProcess) -> None:
    response = httpx.get(f"{live_server.url}/no/such/route")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error_code"] == "NOT_FOUND"


def test_a_trailing_slash_is_not_redirected(live_server: ServerProcess) -> None:
    response = http_client(live_server).get("/cell_specifications/")
    assert response.status_code == 404
    assert "location" not in response.headers


def test_a_wrong_method_is_a_json_405_naming_the_allowed_ones(live_server: ServerProcess) -> None:
    response = http_client(live_server).put("/cell_specifications", json={})
    assert response.status_code == 405
    body = response.json()
    assert body["error_code"] == "METHOD_NOT_ALLOWED"
    assert set(body["detail"]["allowed_methods"]) >= {"GET", "POST"}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/healthz", None),
        ("GET", "/users/me", None),
        ("GET", "/cell_specifications?limit=1", None),
        ("GET", "/cell_specifications?limit=0", None),
        ("GET", "/cell_specifications/missing", None),
        ("POST", "/cell_specifications", {"name": ""}),
        ("GET", "/nope", None),
    ],
)
def test_json_responses_carry_exactly_application_json(
    live_server: ServerProcess, method: str, path: str, body: Any
) -> None:
    response = http_client(live_server).request(method, path, json=body)
    assert response.headers["content-type"] == "application/json"
    json.loads(response.content)


def test_a_gzip_compressed_body_is_accepted(live_server: ServerProcess, unique: str) -> None:
    payload = {"name": f"gzip-{unique}", "notes": "x" * 600_000}
    response = http_client(live_server).post(
        "/cell_specifications",
        content=gzip.compress(json.dumps(payload).encode(), compresslevel=1),
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["notes"] == payload["notes"]


def test_a_corrupt_gzip_body_is_a_400_about_the_encoding(live_server: ServerProcess) -> None:
    response = http_client(live_server).post(
        "/cell_specifications",
        content=b"not gzip at all",
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert response.status_code == 400
    assert "gzip" in response.json()["message"]


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b'{"name": "x",', "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b"", "body is required"),
    ],
)
def test_a_malformed_json_body_is_a_400_that_says_what_is_wrong(
    live_server: ServerProcess, content: bytes, fragment: str
) -> None:
    response = http_client(live_server).post(
        "/cell_specifications", content=content, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error_code"] == "BAD_REQUEST"
    assert fragment in response.json()["message"]


def _raw_request(url: str, request: bytes) -> bytes:
    """Send bytes over a socket and return the whole reply (for requests httpx will not make)."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_an_oversized_body_is_a_413_before_it_is_read(live_server: ServerProcess) -> None:
    reply = _raw_request(
        live_server.url,
        b"POST /cell_specifications HTTP/1.1\r\nHost: x\r\n"
        + f"X-API-Key: {live_server.api_key}\r\n".encode()
        + b"Content-Type: application/json\r\nContent-Length: 100000000\r\nConnection: close\r\n\r\n{}",
    )
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413")
    assert b"content-type: application/json" in head.lower()
    assert json.loads(body)["error_code"] == "PAYLOAD_TOO_LARGE"


def test_an_unhandled_exception_is_a_500_without_internals() -> None:
    async def boom(request: Request) -> Response:
        raise RuntimeError("secret internal detail")

    app = Starlette(routes=[Route("/boom", boom)], middleware=[Middleware(CatchAllMiddleware)])

    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get("/boom")

    response = anyio.run(get)
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "error_code": "INTERNAL_ERROR",
        "message": "Internal server error",
        "detail": None,
    }


def test_health_reports_ok_and_a_version_without_a_key(live_server: ServerProcess) -> None:
    body = httpx.get(f"{live_server.url}/healthz").json()
    assert body["status"] == "ok"
    assert body["version"]


def test_users_me_describes_the_key_owner_and_organization(live_server: ServerProcess) -> None:
    body = http_client(live_server).get("/users/me").json()
    assert body["email"]
    assert body["authorized_organization"]["name"] == "default"
    assert body["organizations"] == [body["authorized_organization"]]


def test_upload_helper_round_trip_is_usable_by_other_tests(
    live_server: ServerProcess, unique: str
) -> None:
    http = http_client(live_server)
    instance = http.get(
        "/cell_specifications", params={"name": "eq.NCM622/Graphite Coin Cell"}
    ).json()["items"][0]
    instances = http.get(f"/cell_specifications/{instance['id']}/cell_instances").json()["items"]
    frame = pl.DataFrame(
        {"Time [s]": [0.0, 1.0], "Current [A]": [0.0, 0.0], "Voltage [V]": [3.7, 3.7]}
    )
    confirmed = upload_time_series(http, instances[0]["id"], f"helper-{unique}", frame)
    assert confirmed.status_code == 201
    assert wait_processed(http, confirmed.json()["id"])["processing_status"] == "ready"
    assert http.delete(f"/cell_measurements/{confirmed.json()['id']}").status_code == 204
