"""Quality gates on openapi.yaml and the client generated from it."""

from __future__ import annotations

import importlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from openapi_spec_validator import validate

ROOT = Path(__file__).resolve().parent.parent
SPEC: dict[str, Any] = yaml.safe_load((ROOT / "openapi.yaml").read_text())
METHODS = {"get", "post", "put", "patch", "delete"}


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in SPEC["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


OPERATION_IDS = [op["operationId"] for _, _, op in operations()]


def test_openapi_document_validates() -> None:
    validate(SPEC)


def test_operation_ids_are_unique() -> None:
    assert len(OPERATION_IDS) == len(set(OPERATION_IDS))


@pytest.mark.parametrize(("path", "method", "op"), operations(), ids=OPERATION_IDS)
def test_every_operation_has_a_tag_a_summary_and_examples(
    path: str, method: str, op: dict[str, Any]
) -> None:
    assert op.get("tags"), f"{method.upper()} {path} has no tag"
    assert op.get("summary"), f"{method.upper()} {path} has no summary"
    for media, content in op.get("requestBody", {}).get("content", {}).items():
        if media == "application/json":
            assert "example" in content, f"{method.upper()} {path} request body has no example"
    for status, response in op["responses"].items():
        if "$ref" in response:
            response = SPEC["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
        json_body = response.get("content", {}).get("application/json")
        if json_body is not None:
            assert "example" in json_body, f"{method.upper()} {path} {status} has no example"


@pytest.mark.parametrize(("path", "method", "op"), operations(), ids=OPERATION_IDS)
def test_every_error_status_answers_with_the_error_schema(
    path: str, method: str, op: dict[str, Any]
) -> None:
    for status, response in op["responses"].items():
        if int(status) < 400:
            continue
        name = response["$ref"].rsplit("/", 1)[-1]
        schema = SPEC["components"]["responses"][name]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, status)


def test_ids_are_opaque_strings_never_uuid_format() -> None:
    assert '"uuid"' not in json.dumps(SPEC) and "'uuid'" not in json.dumps(SPEC)
    assert "format: uuid" not in (ROOT / "openapi.yaml").read_text()


def test_resource_schemas_allow_additional_properties() -> None:
    schemas = SPEC["components"]["schemas"]
    for name in ("CellSpecification", "CellInstance", "CellMeasurement", "Pipeline"):
        assert schemas[name].get("additionalProperties") is True, name


@pytest.mark.parametrize(("path", "method", "op"), operations(), ids=OPERATION_IDS)
def test_every_operation_has_a_generated_function(
    path: str, method: str, op: dict[str, Any]
) -> None:
    tag = op["tags"][0]
    module = importlib.import_module(f"ionworks_generated.api.{tag}.{op['operationId']}")
    assert callable(module.sync_detailed)
    assert callable(module.asyncio_detailed)


def test_generated_error_model_accepts_unknown_future_codes() -> None:
    from ionworks_generated.models.error import Error
    from ionworks_generated.models.known_error_code import KnownErrorCode

    known = Error.from_dict({"error_code": "CONFLICT", "message": "m", "detail": None})
    assert known.error_code == KnownErrorCode.CONFLICT
    future = Error.from_dict({"error_code": "QUOTA_FROZEN", "message": "m"})
    assert future.error_code == "QUOTA_FROZEN"


class _Recorder(BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, dict[str, str]]]] = []

    def do_GET(self) -> None:
        self.seen.append((self.path, dict(self.headers)))
        body = b'{"items": [], "count": 0, "total": 0}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[str]:
    _Recorder.seen = []
    server = HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_generated_list_sends_filters_exactly_as_openapi_yaml_describes_them(recorder: str) -> None:
    from ionworks_generated import Client
    from ionworks_generated.api.cell_measurements import list_cell_measurements
    from ionworks_generated.api.cell_specifications import list_cell_specifications
    from ionworks_generated.models.resource_order_by import ResourceOrderBy
    from ionworks_generated.models.sort_order import SortOrder

    client = Client(base_url=recorder, headers={"X-API-Key": "k"})
    response = list_cell_specifications.sync_detailed(
        client=client,
        limit=50,
        offset=0,
        name="ilike.%graphite%",
        form_factor="eq.R2032",
        created_at_gt="2026-01-01T00:00:00Z",
        order_by=ResourceOrderBy.CREATED_AT,
        order=SortOrder.DESC,
        full=True,
    )
    assert response.status_code == 200
    list_cell_measurements.sync_detailed(
        "inst-1", client=client, name="eq.NCM622/Graphite v1.2", tags_all=["a", "b c"]
    )
    (spec_path, headers), (meas_path, _) = _Recorder.seen
    query = parse_qs(urlsplit(spec_path).query)
    assert urlsplit(spec_path).path == "/cell_specifications"
    assert query["name"] == ["ilike.%graphite%"]
    assert query["form_factor"] == ["eq.R2032"]
    assert query["created_at_gt"] == ["2026-01-01T00:00:00Z"]
    assert query["order_by"] == ["created_at"] and query["order"] == ["desc"]
    assert query["full"] == ["true"]
    assert query["limit"] == ["50"] and query["offset"] == ["0"]
    assert headers["X-API-Key"] == "k"
    meas_query = parse_qs(urlsplit(meas_path).query)
    assert urlsplit(meas_path).path == "/cell_instances/inst-1/cell_measurements"
    assert meas_query["name"] == ["eq.NCM622/Graphite v1.2"]
    assert meas_query["tags_all"] == ["a", "b c"]


def test_the_server_validates_every_json_body_the_spec_declares() -> None:
    """Spec and server cannot drift: each JSON body is checked against the spec's own schema."""
    from ionworks_server.app import OPERATIONS
    from ionworks_server.schema import BodySchemas, find_spec

    assert find_spec().resolve() == (ROOT / "openapi.yaml").resolve()
    declared = {
        op["operationId"]
        for _, _, op in operations()
        if "application/json" in op.get("requestBody", {}).get("content", {})
    }
    assert set(BodySchemas.from_spec(SPEC).validators) == declared
    assert {op.operation_id for op in OPERATIONS if op.body} == declared


@pytest.mark.parametrize(("path", "method", "op"), operations(), ids=OPERATION_IDS)
def test_every_json_body_operation_documents_415(
    path: str, method: str, op: dict[str, Any]
) -> None:
    if "application/json" in op.get("requestBody", {}).get("content", {}):
        assert "415" in op["responses"], f"{method.upper()} {path} does not document 415"


def test_free_text_request_fields_have_a_max_length() -> None:
    schemas = SPEC["components"]["schemas"]
    for name in (
        "CellInstanceCreate",
        "CellInstanceUpdate",
        "CellMeasurementUpdate",
        "PropertiesMeasurementCreate",
        "MeasurementFields",
    ):
        assert schemas[name]["properties"]["notes"].get("maxLength") == 10000, name
    assert schemas["PipelineCreate"]["properties"]["description"].get("maxLength") == 10000
