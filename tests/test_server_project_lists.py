"""``GET /cell_measurements``, ``GET /cell_measurements/tags`` and ``POST
/cell_measurements/tags/bulk`` on the live server: project scope, organization scope, filters,
the tag rules, all-or-nothing bulk changes, and clear 4xx answers to bad input.

Each test works in a project of its own (``proj-<unique>``) on the shared empty server.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest
from conftest import http_client, new_organization_key
from server_process import ServerProcess


class Project:
    """One project with one specification and instance, and helpers to fill it."""

    def __init__(self, http: httpx.Client, unique: str, suffix: str = "") -> None:
        self.http = http
        self.id = f"proj-{unique}{suffix}"
        spec = http.post(
            "/cell_specifications", json={"name": f"spec-{unique}{suffix}", "project_id": self.id}
        )
        assert spec.status_code == 201, spec.text
        self.spec_id = spec.json()["id"]
        instance = http.post(
            f"/cell_specifications/{self.spec_id}/cell_instances", json={"name": "cell"}
        )
        assert instance.status_code == 201, instance.text
        self.instance_id = instance.json()["id"]

    def measurement(
        self, name: str, tags: list[str] | None = None, **fields: Any
    ) -> dict[str, Any]:
        """A properties measurement (no processing needed)."""
        body = {"name": name, "properties": {"mass": {"value": 1, "unit": "g"}}, **fields}
        if tags is not None:
            body["tags"] = tags
        created = self.http.post(
            f"/cell_instances/{self.instance_id}/cell_measurements/create", json=body
        )
        assert created.status_code == 201, created.text
        result: dict[str, Any] = created.json()
        return result

    def listed(self, **params: Any) -> dict[str, Any]:
        response = self.http.get("/cell_measurements", params={"project_id": self.id, **params})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def names(self, **params: Any) -> list[str]:
        return [item["name"] for item in self.listed(**params)["items"]]

    def tags(self, **params: Any) -> list[tuple[str, int]]:
        response = self.http.get(
            "/cell_measurements/tags", params={"project_id": self.id, **params}
        )
        assert response.status_code == 200, response.text
        return [(item["tag"], item["usage_count"]) for item in response.json()["items"]]


@pytest.fixture
def http(empty_server: ServerProcess) -> httpx.Client:
    return http_client(empty_server)


@pytest.fixture
def project(http: httpx.Client, unique: str) -> Project:
    return Project(http, unique)


def bulk(http: httpx.Client, ids: list[str], add: Any = (), remove: Any = ()) -> httpx.Response:
    body = {"measurement_ids": ids, "add": list(add), "remove": list(remove)}
    return http.post("/cell_measurements/tags/bulk", json=body)


def stamp(measurement: dict[str, Any]) -> datetime:
    """A measurement's ``updated_at`` as a time (its text drops zero microseconds)."""
    return datetime.fromisoformat(measurement["updated_at"])


def get(http: httpx.Client, measurement_id: str) -> dict[str, Any]:
    body: dict[str, Any] = http.get(f"/cell_measurements/{measurement_id}").json()
    return body


# -- the project-wide list --------------------------------------------------------------------


def test_project_list_spans_every_cell_of_the_project_and_nothing_else(
    http: httpx.Client, unique: str
) -> None:
    first = Project(http, unique)
    second_instance = http.post(
        f"/cell_specifications/{first.spec_id}/cell_instances", json={"name": "cell-2"}
    ).json()["id"]
    first.measurement("a")
    created = http.post(
        f"/cell_instances/{second_instance}/cell_measurements/create",
        json={"name": "b", "properties": {}},
    )
    assert created.status_code == 201, created.text
    other = Project(http, unique, "-other")
    other.measurement("elsewhere")
    body = first.listed(order_by="name")
    assert [item["name"] for item in body["items"]] == ["a", "b"]
    assert body["count"] == 2 and body["total"] == 2
    assert {item["specification_id"] for item in body["items"]} == {first.spec_id}


def test_project_list_pages_25_by_default_and_reports_the_total(project: Project) -> None:
    for index in range(27):
        project.measurement(f"m{index:02d}")
    page = project.listed(order_by="name")
    assert page["count"] == 25 and page["total"] == 27
    rest = project.listed(order_by="name", offset=25, limit=1000)
    assert [item["name"] for item in rest["items"]] == ["m25", "m26"]


def test_project_list_filters_by_q_type_and_tags(project: Project) -> None:
    project.measurement("HPPC 25degC", tags=["hppc", "Fresh"])
    project.measurement("cycling", tags=["Cycling"], notes="after HPPC check")
    project.measurement("rate test", tags=["rate", "fresh"])
    project.measurement("100%_done")
    assert project.names(q="hppc", order_by="name") == ["HPPC 25degC", "cycling"]
    assert project.names(q="  FRESH ", order_by="name") == ["HPPC 25degC", "rate test"]
    assert project.names(q="%") == ["100%_done"]  # no wildcards in q
    assert project.names(q="%_d") == ["100%_done"]
    assert project.names(q="0_d") == []  # "_" is no single-character wildcard
    assert project.names(tags_all=["FRESH", "hppc"]) == ["HPPC 25degC"]
    assert project.names(tags_any=["cycling", "rate"], order_by="name") == ["cycling", "rate test"]
    assert project.names(measurement_type="time_series") == []
    assert len(project.names(measurement_type="properties")) == 4
    assert project.names(order_by="name", order="desc")[0] == "rate test"


def test_project_list_defaults_to_the_callers_default_project(
    empty_server: ServerProcess, unique: str
) -> None:
    key = new_organization_key(empty_server)
    with http_client(empty_server, key) as fresh:
        spec = fresh.post("/cell_specifications", json={"name": f"s-{unique}"}).json()
        instance = fresh.post(
            f"/cell_specifications/{spec['id']}/cell_instances", json={"name": "c"}
        ).json()
        fresh.post(
            f"/cell_instances/{instance['id']}/cell_measurements/create",
            json={"name": "in-default", "properties": {}, "tags": ["x"]},
        )
        default_project = fresh.get("/users/me").json()["default_project_id"]
        listed = fresh.get("/cell_measurements").json()
        assert [m["name"] for m in listed["items"]] == ["in-default"]
        explicit = fresh.get("/cell_measurements", params={"project_id": default_project})
        assert explicit.json()["items"] == listed["items"]
        assert fresh.get("/cell_measurements/tags").json()["items"] == [
            {"tag": "x", "usage_count": 1}
        ]


def test_another_organizations_project_is_a_404_and_its_rows_never_show(
    empty_server: ServerProcess, http: httpx.Client, project: Project
) -> None:
    measurement = project.measurement("mine", tags=["secret"])
    key = new_organization_key(empty_server)
    with http_client(empty_server, key) as stranger:
        for path in ("/cell_measurements", "/cell_measurements/tags"):
            response = stranger.get(path, params={"project_id": project.id})
            assert response.status_code == 404, response.text
            assert response.json()["detail"] == {
                "resource_type": "project",
                "resource_id": project.id,
            }
        assert stranger.get("/cell_measurements").json()["total"] == 0
        assert stranger.get("/cell_measurements/tags").json()["items"] == []
        refused = bulk(stranger, [measurement["id"]], add=["stolen"])
        assert refused.status_code == 404, refused.text
    assert get(http, measurement["id"])["tags"] == ["secret"]


@pytest.mark.parametrize(
    ("params", "parameter", "words"),
    [
        ({"limit": "0"}, "limit", "between 1 and 1000"),
        ({"limit": "1001"}, "limit", "between 1 and 1000"),
        ({"offset": "-1"}, "offset", "at least 0"),
        ({"order_by": "size"}, "order_by", "name, created_at"),
        ({"order": "up"}, "order", "asc or desc"),
        ({"measurement_type": "video"}, "measurement_type", "time_series"),
        ({"project_id": " "}, "project_id", "empty"),
        ({"q": ["a", "b"]}, "q", "at most once"),
    ],
)
def test_bad_list_parameters_are_400s_naming_the_parameter(
    http: httpx.Client, project: Project, params: dict[str, Any], parameter: str, words: str
) -> None:
    for path in ("/cell_measurements", "/cell_measurements/tags"):
        if path.endswith("tags") and parameter in ("order_by", "order", "measurement_type"):
            continue
        response = http.get(path, params={"project_id": project.id, **params})
        assert response.status_code == 400, (path, response.text)
        assert response.json()["detail"]["parameter"] == parameter
        assert words in response.json()["message"]


def test_the_tags_path_is_not_taken_for_a_measurement_id(http: httpx.Client) -> None:
    assert http.get("/cell_measurements/tags").status_code == 200
    assert http.get("/cell_measurements/tags/bulk").status_code == 405
    assert http.post("/cell_measurements/tags", json={}).status_code == 405


# -- tag usage --------------------------------------------------------------------------------


def test_tag_usage_is_most_used_first_then_by_tag_in_the_projects_spelling(
    project: Project,
) -> None:
    project.measurement("a", tags=["HPPC", "zeta", "beta"])
    b = project.measurement("b", tags=["hppc", "Beta", "gamma"])
    assert b["tags"] == ["beta", "gamma", "HPPC"]  # created in the project's spelling
    patched = project.http.patch(f"/cell_measurements/{b['id']}", json={"tags": ["Gamma", "hppc"]})
    assert patched.json()["tags"] == ["Gamma", "HPPC"]  # its own old spelling does not count
    project.http.patch(f"/cell_measurements/{b['id']}", json={"tags": ["hppc", "Beta"]})
    project.measurement("c", tags=["HPPC", "alpha"])
    usage = project.tags()
    assert usage == [("HPPC", 3), ("beta", 2), ("alpha", 1), ("zeta", 1)]
    assert project.tags(q="ET") == [("beta", 2), ("zeta", 1)]
    assert project.tags(q="%") == []
    assert project.tags(limit=1, offset=1) == [("beta", 2)]
    total = project.http.get(
        "/cell_measurements/tags", params={"project_id": project.id, "limit": 1}
    ).json()
    assert total["count"] == 1 and total["total"] == 4


# -- bulk add and remove ----------------------------------------------------------------------


def test_bulk_add_and_remove_keep_other_tags_and_count_only_changes(
    http: httpx.Client, project: Project
) -> None:
    a = project.measurement("a", tags=["keep", "draft"])
    b = project.measurement("b", tags=["keep", "new"])
    c = project.measurement("c", tags=["other"])
    response = bulk(http, [a["id"], b["id"], c["id"]], add=[" new "], remove=["DRAFT"])
    assert response.status_code == 200, response.text
    assert response.json() == {"updated_count": 2}  # b already had "new" and no "draft"
    assert get(http, a["id"])["tags"] == ["keep", "new"]
    after_b = get(http, b["id"])
    assert after_b["tags"] == ["keep", "new"]
    assert after_b["updated_at"] == b["updated_at"]
    assert stamp(get(http, a["id"])) > stamp(a)  # changed, so its updated_at moved on
    assert get(http, c["id"])["tags"] == ["new", "other"]
    again = bulk(http, [a["id"], b["id"], c["id"]], add=["NEW"], remove=["draft"])
    assert again.json() == {"updated_count": 0}


def test_an_added_tag_takes_the_spelling_the_project_already_uses(
    http: httpx.Client, project: Project, unique: str
) -> None:
    project.measurement("spelled", tags=["HPPC-25degC"])
    target = project.measurement("target", tags=["Zeta"])
    other = Project(http, unique, "-b")
    elsewhere = other.measurement("elsewhere")
    response = bulk(http, [target["id"], elsewhere["id"]], add=["hppc-25DEGC", "alpha"])
    assert response.json() == {"updated_count": 2}
    assert get(http, target["id"])["tags"] == ["alpha", "HPPC-25degC", "Zeta"]
    assert get(http, elsewhere["id"])["tags"] == ["alpha", "hppc-25DEGC"]  # its own project
    assert project.names(tags_all=["hppc-25degc"], order_by="name") == ["spelled", "target"]


def test_bulk_with_an_unknown_id_changes_nothing_and_names_the_ids(
    http: httpx.Client, project: Project
) -> None:
    a = project.measurement("a", tags=["x"])
    response = bulk(http, [a["id"], "nope-1", "nope-2"], add=["y"])
    assert response.status_code == 404, response.text
    body = response.json()
    assert "'nope-1'" in body["message"] and "'nope-2'" in body["message"]
    assert body["detail"]["resource_ids"] == ["nope-1", "nope-2"]
    assert get(http, a["id"])["tags"] == ["x"]


def test_bulk_that_would_exceed_50_tags_on_one_measurement_changes_none(
    http: httpx.Client, project: Project
) -> None:
    full = project.measurement("full", tags=[f"t{i}" for i in range(49)])
    light = project.measurement("light")
    response = bulk(http, [light["id"], full["id"]], add=["extra-1", "extra-2"])
    assert response.status_code == 400, response.text
    assert full["id"] in response.json()["message"] and "51 tags" in response.json()["message"]
    assert get(http, light["id"])["tags"] == []
    assert len(get(http, full["id"])["tags"]) == 49


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"measurement_ids": [], "add": ["x"]}, "measurement_ids"),
        ({"measurement_ids": ["m"] * 1001, "add": ["x"]}, "measurement_ids"),
        ({"add": ["x"]}, "measurement_ids"),
        ({"measurement_ids": ["m"], "add": "x"}, "add"),
        ({"measurement_ids": ["m"], "add": ["x" * 51]}, "add[0]"),
        ({"measurement_ids": ["m"], "add": [f"t{i}" for i in range(51)]}, "51 distinct tags"),
        ({"measurement_ids": ["m"], "add": ["x"], "remove": ["X"]}, "both 'add' and 'remove'"),
        ({"measurement_ids": [1], "add": ["x"]}, "measurement_ids"),
    ],
)
def test_bad_bulk_bodies_are_400s_saying_what_is_wrong(
    http: httpx.Client, body: dict[str, Any], words: str
) -> None:
    response = http.post("/cell_measurements/tags/bulk", json=body)
    assert response.status_code == 400, response.text
    assert words in response.json()["message"]


def test_bulk_on_a_measurement_with_no_tags_and_nothing_to_do_is_zero(
    http: httpx.Client, project: Project
) -> None:
    a = project.measurement("a")
    response = bulk(http, [a["id"], a["id"]], remove=["missing"])
    assert response.json() == {"updated_count": 0}
    assert get(http, a["id"])["updated_at"] == a["updated_at"]
