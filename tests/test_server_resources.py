"""Specifications, instances and measurement metadata: create, read, update, conflicts, and the
measurement quota (cascading deletes: test_server_deletes.py)."""

from __future__ import annotations

from typing import Any

import httpx
import polars as pl
import pytest
from conftest import (
    http_client,
    new_organization_key,
    new_spec_and_instance,
    parquet_bytes,
)
from server_process import ServerProcess, admin

SERIES = pl.DataFrame(
    {
        "Time [s]": [0.0, 1.0, 2.0, 3.0],
        "Current [A]": [0.1, 0.1, -0.1, -0.1],
        "Voltage [V]": [3.9, 3.8, 3.9, 4.0],
    }
)


# -- specifications --------------------------------------------------------------------------------


def test_a_created_specification_reads_back_with_every_field(
    empty_server: ServerProcess, unique: str
) -> None:
    http = http_client(empty_server)
    body = {
        "name": f"NMC cell {unique}",
        "form_factor": "pouch",
        "manufacturer": "Lab",
        "chemistry": "NMC/Graphite",
        "ratings": {"capacity": {"value": 5.0, "unit": "A.h"}},
        "anode": {"material_id": "mat-graphite", "name": "Graphite"},
        "lab_notebook": {"page": 12},
        "id": "client-chosen",
        "created_at": "1999-01-01T00:00:00Z",
    }
    created = http.post("/cell_specifications", json=body)
    assert created.status_code == 201
    spec = created.json()
    assert spec["id"] != "client-chosen"
    assert spec["created_at"].startswith("20") and spec["created_at"].endswith("Z")
    assert spec["created_at"] != body["created_at"]
    assert spec["project_id"] == "proj-default"
    assert spec["lab_notebook"] == {"page": 12}
    assert spec["cathode"] is None
    fetched = http.get(f"/cell_specifications/{spec['id']}").json()
    assert fetched == spec
    assert fetched["created_by_email"] == "admin@localhost"


def test_patching_a_specification_merges_ratings_and_components(
    empty_server: ServerProcess, unique: str
) -> None:
    http = http_client(empty_server)
    spec = http.post(
        "/cell_specifications",
        json={
            "name": f"merge-{unique}",
            "ratings": {
                "capacity": {"value": 1, "unit": "A.h"},
                "nominal_voltage": {"value": 3.7, "unit": "V"},
            },
            "anode": {"material_id": "a", "name": "old", "thickness": 1},
            "case": {"material_id": "c"},
        },
    ).json()
    patched = http.patch(
        f"/cell_specifications/{spec['id']}",
        json={
            "ratings": {"capacity": {"value": 2, "unit": "A.h"}},
            "anode": {"name": "new"},
            "case": None,
        },
    )
    assert patched.status_code == 200
    out = patched.json()
    assert out["ratings"] == {
        "capacity": {"value": 2, "unit": "A.h"},
        "nominal_voltage": {"value": 3.7, "unit": "V"},
    }
    assert out["anode"] == {"material_id": "a", "name": "new", "thickness": 1}
    assert out["case"] is None
    assert out["created_at"] == spec["created_at"]
    assert out["updated_at"] > spec["updated_at"]


def test_a_duplicate_specification_name_is_a_409_with_the_existing_id(
    empty_server: ServerProcess, unique: str
) -> None:
    http = http_client(empty_server)
    first = http.post("/cell_specifications", json={"name": f"dup-{unique}"}).json()
    again = http.post("/cell_specifications", json={"name": f"dup-{unique}"})
    assert again.status_code == 409
    assert again.json()["error_code"] == "CONFLICT"
    assert again.json()["detail"] == {
        "resource_type": "cell_specification",
        "resource_name": f"dup-{unique}",
        "existing_id": first["id"],
    }
    other_project = http.post(
        "/cell_specifications", json={"name": f"dup-{unique}", "project_id": f"p-{unique}"}
    )
    assert other_project.status_code == 201
    assert other_project.json()["project_id"] == f"p-{unique}"


def test_renaming_onto_an_existing_name_is_a_409(empty_server: ServerProcess, unique: str) -> None:
    http = http_client(empty_server)
    a = http.post("/cell_specifications", json={"name": f"a-{unique}"}).json()
    b = http.post("/cell_specifications", json={"name": f"b-{unique}"}).json()
    response = http.patch(f"/cell_specifications/{b['id']}", json={"name": a["name"]})
    assert response.status_code == 409
    assert response.json()["detail"]["existing_id"] == a["id"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": 5}, "name"),
        ({"name": "x" * 256}, "name"),
        ({"name": "ok", "ratings": [1]}, "ratings"),
        ({"name": "ok", "anode": "graphite"}, "anode"),
        ({"name": "ok", "form_factor": 2032}, "form_factor"),
        ({"name": "ok", "project_id": 7}, "project_id"),
    ],
)
def test_an_invalid_specification_body_is_a_400_naming_the_field(
    empty_server: ServerProcess, body: dict[str, Any], field: str
) -> None:
    response = http_client(empty_server).post("/cell_specifications", json=body)
    assert response.status_code == 400
    assert response.json()["detail"]["field"] == field
    assert field in response.json()["message"]


def test_a_missing_specification_is_a_404_naming_it(empty_server: ServerProcess) -> None:
    response = http_client(empty_server).get("/cell_specifications/abc-123")
    assert response.status_code == 404
    assert response.json() == {
        "error_code": "NOT_FOUND",
        "message": "Cell specification 'abc-123' not found",
        "detail": {"resource_type": "cell_specification", "resource_id": "abc-123"},
    }


# -- instances ---------------------------------------------------------------------------------------


def test_instances_are_unique_per_specification(empty_server: ServerProcess, unique: str) -> None:
    http = http_client(empty_server)
    spec_a, cell = new_spec_and_instance(http, f"a{unique}")
    spec_b, _ = new_spec_and_instance(http, f"b{unique}")
    again = http.post(
        f"/cell_specifications/{spec_a}/cell_instances", json={"name": f"cell-a{unique}"}
    )
    assert again.status_code == 409
    assert again.json()["detail"] == {
        "resource_type": "cell_instance",
        "resource_name": f"cell-a{unique}",
        "existing_id": cell,
    }
    elsewhere = http.post(
        f"/cell_specifications/{spec_b}/cell_instances", json={"name": f"cell-a{unique}"}
    )
    assert elsewhere.status_code == 201


def test_instances_join_lots_by_batch_and_leave_them_with_null(
    empty_server: ServerProcess, unique: str
) -> None:
    http = http_client(empty_server)
    spec, _ = new_spec_and_instance(http, unique)
    first = http.post(
        f"/cell_specifications/{spec}/cell_instances", json={"name": "a", "batch_name": "batch-A"}
    ).json()
    second = http.post(
        f"/cell_specifications/{spec}/cell_instances",
        json={"name": "b", "batch_id": first["batch_id"]},
    ).json()
    assert second["batch_id"] == first["batch_id"]
    assert second["batch_name"] == "batch-A"
    left = http.patch(f"/cell_instances/{second['id']}", json={"batch_id": None}).json()
    assert left["batch_id"] is None and left["batch_name"] is None
    other_spec, _ = new_spec_and_instance(http, f"o{unique}")
    wrong = http.post(
        f"/cell_specifications/{other_spec}/cell_instances",
        json={"name": "c", "batch_id": first["batch_id"]},
    )
    assert wrong.status_code == 400
    assert wrong.json()["detail"]["field"] == "batch_id"


def test_an_instance_of_a_missing_specification_is_a_404(empty_server: ServerProcess) -> None:
    response = http_client(empty_server).post(
        "/cell_specifications/nope/cell_instances", json={"name": "x"}
    )
    assert response.status_code == 404


# -- measurement metadata ---------------------------------------------------------------------------


def test_a_properties_measurement_is_ready_at_once_with_normalised_tags(
    empty_server: ServerProcess, unique: str
) -> None:
    http = http_client(empty_server)
    spec, cell = new_spec_and_instance(http, unique)
    response = http.post(
        f"/cell_instances/{cell}/cell_measurements/create",
        json={
            "name": "formation-properties",
            "measurement_type": "properties",
            "properties": {"capacity": {"value": 0.0049, "unit": "A.h"}},
            "tags": [" b ", "A", "a", ""],
            "start_time": "2026-03-01T10:00:00+02:00",
            "channel_id": "ch-7",
        },
    )
    assert response.status_code == 201
    m = response.json()
    assert m["processing_status"] == "ready"
    assert m["measurement_type"] == "properties"
    assert m["specification_id"] == spec
    assert m["tags"] == ["A", "b"]
    assert m["start_time"] == "2026-03-01T08:00:00Z"
    assert m["channel_id"] == "ch-7"
    assert http.get(f"/cell_measurements/{m['id']}").json() == m


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x"}, "properties"),
        ({"name": "x", "properties": {}, "measurement_type": "time_series"}, "measurement_type"),
        ({"name": "x", "properties": {}, "start_time": "soon"}, "start_time"),
        (
            {"name": "x", "properties": {}, "start_time": "2026-03-02", "end_time": "2026-03-01"},
            "end_time",
        ),
        ({"name": "x", "properties": {}, "tags": "ok"}, None),
        ({"name": "x", "properties": {}, "tags": [1]}, "tags[0]"),
        ({"name": "x", "properties": {}, "tags": ["t" * 51]}, "tags[0]"),
        ({"name": "x", "properties": {}, "tags": [f"t{n}" for n in range(51)]}, "tags"),
    ],
)
def test_invalid_measurement_fields_are_400s_naming_the_field(
    empty_server: ServerProcess, unique: str, body: dict[str, Any], field: str | None
) -> None:
    http = http_client(empty_server)
    _, cell = new_spec_and_instance(http, unique)
    response = http.post(f"/cell_instances/{cell}/cell_measurements/create", json=body)
    if field is None:
        assert response.status_code == 201
        assert response.json()["tags"] == ["ok"]
        return
    assert response.status_code == 400, response.text
    assert response.json()["detail"]["field"] == field


def test_updating_a_measurement_replaces_its_tags_and_checks_its_name(
    empty_server: ServerProcess, unique: str
) -> None:
    http = http_client(empty_server)
    _, cell = new_spec_and_instance(http, unique)
    path = f"/cell_instances/{cell}/cell_measurements/create"
    one = http.post(path, json={"name": "one", "properties": {}, "tags": ["x"]}).json()
    two = http.post(path, json={"name": "two", "properties": {}}).json()
    updated = http.patch(
        f"/cell_measurements/{one['id']}", json={"tags": ["checked", "formation"], "notes": "n"}
    )
    assert updated.json()["tags"] == ["checked", "formation"]
    assert updated.json()["notes"] == "n"
    listed = http.get(f"/cell_instances/{cell}/cell_measurements", params={"tags_any": "x"}).json()
    assert listed["total"] == 0
    clash = http.patch(f"/cell_measurements/{two['id']}", json={"name": "one"})
    assert clash.status_code == 409
    assert clash.json()["detail"]["existing_id"] == one["id"]
    retype = http.patch(f"/cell_measurements/{two['id']}", json={"measurement_type": "file"})
    assert retype.status_code == 400


def test_a_duplicate_measurement_name_is_refused_on_every_creation_route(
    empty_server: ServerProcess, unique: str
) -> None:
    http = http_client(empty_server)
    _, cell = new_spec_and_instance(http, unique)
    first = http.post(
        f"/cell_instances/{cell}/cell_measurements/create", json={"name": "m", "properties": {}}
    ).json()
    again = http.post(
        f"/cell_instances/{cell}/cell_measurements/create", json={"name": "m", "properties": {}}
    )
    initiated = http.post(
        f"/cell_instances/{cell}/cell_measurements/initiate-upload",
        json={"measurement": {"name": "m"}},
    )
    for response in (again, initiated):
        assert response.status_code == 409
        assert response.json()["detail"]["existing_id"] == first["id"]
    # Two uploads initiated under the same free name: the second confirm loses.
    uploads = [
        http.post(
            f"/cell_instances/{cell}/cell_measurements/initiate-upload",
            json={"measurement": {"name": "same"}},
        ).json()
        for _ in range(2)
    ]
    confirms = []
    for upload in uploads:
        httpx.put(upload["uploads"][0]["signed_url"], content=parquet_bytes(SERIES))
        confirms.append(
            http.post(
                f"/cell_measurements/{upload['measurement_id']}/confirm-upload",
                json={"cell_instance_id": cell, "measurement": {"name": "same"}},
            )
        )
    assert confirms[0].status_code == 201
    assert confirms[1].status_code == 409
    assert confirms[1].json()["detail"]["existing_id"] == confirms[0].json()["id"]


# -- quota -------------------------------------------------------------------------------------------


def test_the_measurement_quota_answers_429_on_every_creation_route(
    empty_server: ServerProcess, unique: str
) -> None:
    org = f"quota-{unique}"
    http = http_client(empty_server, new_organization_key(empty_server, org))
    _, cell = new_spec_and_instance(http, unique)
    assert (
        admin(
            empty_server.data_dir, "set-quota", "--organization", org, "--max-measurements", "2"
        ).returncode
        == 0
    )
    create = f"/cell_instances/{cell}/cell_measurements/create"
    assert http.post(create, json={"name": "m1", "properties": {}}).status_code == 201
    initiated = http.post(
        f"/cell_instances/{cell}/cell_measurements/initiate-upload",
        json={"measurement": {"name": "late"}},
    )
    assert initiated.status_code == 200
    assert http.post(create, json={"name": "m2", "properties": {}}).status_code == 201
    refusals = [
        http.post(create, json={"name": "m3", "properties": {}}),
        http.post(
            f"/cell_instances/{cell}/cell_measurements/initiate-upload",
            json={"measurement": {"name": "m4"}},
        ),
        http.post(
            f"/cell_measurements/{initiated.json()['measurement_id']}/confirm-upload",
            json={"cell_instance_id": cell, "measurement": {"name": "late"}},
        ),
    ]
    for response in refusals:
        assert response.status_code == 429, response.text
        assert response.json()["error_code"] == "USAGE_LIMIT_REACHED"
        assert response.json()["detail"] == {"limit": 2, "used": 2, "resource": "measurements"}
    assert (
        admin(
            empty_server.data_dir, "set-quota", "--organization", org, "--max-measurements", "none"
        ).returncode
        == 0
    )
    assert http.post(create, json={"name": "m3", "properties": {}}).status_code == 201


def test_set_quota_names_the_known_organizations_when_one_is_missing(
    empty_server: ServerProcess,
) -> None:
    result = admin(
        empty_server.data_dir, "set-quota", "--organization", "nobody", "--max-measurements", "3"
    )
    assert result.returncode == 1
    assert "default" in result.stderr
