"""Hostile and malformed client input is a 4xx naming the problem, never a 5xx (issue 10).

Every request goes over real HTTP to a real local server: bodies with unpaired surrogates, huge
integer literals and deep nesting; bodies that break the nested schemas of ``openapi.yaml``;
bodies in the wrong media type; query values with control characters or non-ASCII digits; and
ids holding an encoded slash.
"""

from __future__ import annotations

import gzip
import json
from typing import Any

import httpx
import pytest
from conftest import http_client, new_spec_and_instance
from server_process import ServerProcess

JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def ids(empty_server: ServerProcess) -> dict[str, str]:
    """A specification, an instance and a properties measurement to aim update routes at."""
    http = http_client(empty_server)
    spec_id, instance_id = new_spec_and_instance(http, "inputs-fixture")
    measurement = http.post(
        f"/cell_instances/{instance_id}/cell_measurements/create",
        json={"name": "props", "properties": {"capacity": {"value": 1, "unit": "A.h"}}},
    )
    assert measurement.status_code == 201, measurement.text
    return {"spec": spec_id, "instance": instance_id, "measurement": measurement.json()["id"]}


# (method, path template, a valid body whose "name"-like string the tests poison)
BODY_ROUTES: list[tuple[str, str, str]] = [
    ("POST", "/cell_specifications", '{"name": %s}'),
    ("PATCH", "/cell_specifications/{spec}", '{"name": %s}'),
    ("POST", "/cell_specifications/{spec}/cell_instances", '{"name": %s}'),
    ("PATCH", "/cell_instances/{instance}", '{"notes": %s}'),
    (
        "POST",
        "/cell_instances/{instance}/cell_measurements/create",
        '{"name": %s, "properties": {}}',
    ),
    ("PATCH", "/cell_measurements/{measurement}", '{"notes": %s}'),
    (
        "POST",
        "/cell_instances/{instance}/cell_measurements/initiate-upload",
        '{"measurement": {"name": %s}}',
    ),
    (
        "POST",
        "/cell_measurements/{measurement}/confirm-upload",
        '{"cell_instance_id": "{instance}", "measurement": {"name": %s}}',
    ),
    ("POST", "/pipelines", '{"name": %s, "elements": {"e": {"element_type": "entry"}}}'),
]
ROUTE_IDS = [f"{method} {path}" for method, path, _ in BODY_ROUTES]


def _send(
    server: ServerProcess,
    ids: dict[str, str],
    method: str,
    path: str,
    body: bytes,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return http_client(server).request(
        method, path.format(**ids), content=body, headers=headers or JSON
    )


def _template(ids: dict[str, str], template: str) -> str:
    return template.replace("{instance}", ids["instance"])


def _assert_bad_request(response: httpx.Response, *fragments: str) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/json"
    error: dict[str, Any] = response.json()
    assert error["error_code"] == "BAD_REQUEST"
    for fragment in fragments:
        assert fragment in error["message"], error["message"]
    return error


# -- item 1: bodies the JSON parser chokes on ---------------------------------------------------


@pytest.mark.parametrize(("method", "path", "template"), BODY_ROUTES, ids=ROUTE_IDS)
def test_an_unpaired_surrogate_is_a_400_on_every_body_route(
    empty_server: ServerProcess, ids: dict[str, str], method: str, path: str, template: str
) -> None:
    body = (_template(ids, template) % '"a\\ud800"').encode()
    error = _assert_bad_request(_send(empty_server, ids, method, path, body), "surrogate")
    assert error["detail"]["field"]


def test_a_surrogate_in_an_object_key_is_a_400(
    empty_server: ServerProcess, ids: dict[str, str]
) -> None:
    body = b'{"name": "ok-key", "x\\udc00": 1}'
    _assert_bad_request(_send(empty_server, ids, "POST", "/cell_specifications", body), "surrogate")


def test_a_surrogate_pair_is_one_valid_character(
    empty_server: ServerProcess, ids: dict[str, str]
) -> None:
    body = b'{"name": "emoji \\ud83d\\ude00 cell"}'
    response = _send(empty_server, ids, "POST", "/cell_specifications", body)
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "emoji \U0001f600 cell"


@pytest.mark.parametrize(("method", "path", "template"), BODY_ROUTES, ids=ROUTE_IDS)
def test_an_integer_of_5000_digits_is_a_400_on_every_body_route(
    empty_server: ServerProcess, ids: dict[str, str], method: str, path: str, template: str
) -> None:
    body = (_template(ids, template) % ("9" * 5000)).encode()
    _assert_bad_request(_send(empty_server, ids, method, path, body), "number")


@pytest.mark.parametrize("depth", [100, 970, 5000])
def test_deeply_nested_json_is_a_400_about_nesting(
    empty_server: ServerProcess, ids: dict[str, str], depth: int
) -> None:
    body = ('{"name": "deep", "ratings": ' + '{"a": ' * depth + "1" + "}" * depth + "}").encode()
    _assert_bad_request(_send(empty_server, ids, "POST", "/cell_specifications", body), "nested")


def test_an_overlong_string_anywhere_is_a_400(
    empty_server: ServerProcess, ids: dict[str, str]
) -> None:
    body = json.dumps({"name": "long-extra", "blob": "x" * 1_100_000}).encode()
    _assert_bad_request(
        _send(empty_server, ids, "POST", "/cell_specifications", body), "blob", "characters"
    )


# -- item 2: bodies are validated against openapi.yaml ------------------------------------------


def test_a_nested_field_of_the_wrong_type_is_refused_and_not_stored(
    empty_server: ServerProcess, ids: dict[str, str]
) -> None:
    http = http_client(empty_server)
    path = f"/cell_specifications/{ids['spec']}"
    response = http.patch(path, json={"separator": {"name": 264632742, "material_id": "m"}})
    error = _assert_bad_request(response, "separator.name: expected string")
    assert error["detail"]["field"] == "separator.name"
    assert http.get(path).json()["separator"] is None


@pytest.mark.parametrize(
    ("method", "path", "body", "message"),
    [
        ("POST", "/cell_specifications", {"name": 5}, "name: expected string"),
        ("POST", "/cell_specifications", {}, "name: is required"),
        ("POST", "/cell_specifications", {"name": "r", "ratings": []}, "ratings: expected object"),
        ("PATCH", "/cell_instances/{instance}", {"notes": "n" * 10_001}, "notes: is 10001"),
        ("PATCH", "/cell_instances/{instance}", {"batch_id": 3}, "batch_id: expected string"),
        ("PATCH", "/cell_measurements/{measurement}", {"tags": [1]}, "tags[0]: expected string"),
        (
            "POST",
            "/cell_instances/{instance}/cell_measurements/initiate-upload",
            {"measurement": {"name": "m"}, "measurement_type": "video"},
            "measurement_type: expected one of",
        ),
        ("POST", "/pipelines", {"elements": {}, "options": 3}, "options: expected object"),
    ],
)
def test_a_body_breaking_the_spec_is_a_400_naming_the_field_path(
    empty_server: ServerProcess,
    ids: dict[str, str],
    method: str,
    path: str,
    body: dict[str, Any],
    message: str,
) -> None:
    response = http_client(empty_server).request(method, path.format(**ids), json=body)
    _assert_bad_request(response, message)


def test_notes_of_ten_million_characters_are_refused(
    empty_server: ServerProcess, ids: dict[str, str]
) -> None:
    response = http_client(empty_server).patch(
        f"/cell_instances/{ids['instance']}", json={"notes": "n" * 10_000_000}
    )
    _assert_bad_request(response, "notes")


def test_what_the_official_client_sends_stays_accepted(
    empty_server: ServerProcess, ids: dict[str, str]
) -> None:
    """Bare-string tags, NaN tokens and unknown extra keys: what the official client's create sends
    (Python's json.dumps writes a NaN quantity as a bare NaN token; openapi.yaml allows extra keys)."""
    http = http_client(empty_server)
    body = (
        b'{"name": "official-props", "measurement_type": "properties", "properties": '
        b'{"capacity": {"value": NaN, "unit": "A.h"}}, "notes": null, "tags": "formation", '
        b'"channel_id": 7}'
    )
    response = http.post(
        f"/cell_instances/{ids['instance']}/cell_measurements/create", content=body, headers=JSON
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["tags"] == ["formation"] and created["channel_id"] == 7


# -- item 3: content types -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "encoding"),
    [
        ("text/plain", "utf-8"),
        ("application/json; charset=utf-16", "utf-16"),
        ("application/x-www-form-urlencoded", "utf-8"),
        (None, "utf-8"),
    ],
)
def test_a_body_not_sent_as_json_is_a_415(
    empty_server: ServerProcess, ids: dict[str, str], content_type: str | None, encoding: str
) -> None:
    http = http_client(empty_server)
    headers = {"Content-Type": content_type} if content_type else {}
    body = json.dumps({"name": f"ctype-{encoding}-{content_type}"}).encode(encoding)
    request = http.build_request("POST", "/cell_specifications", content=body, headers=headers)
    assert request.headers.get("Content-Type") == content_type  # httpx adds none for bytes
    response = http.send(request)
    assert response.status_code == 415, response.text
    error = response.json()
    assert error["error_code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert "application/json" in error["message"]


def test_utf16_bytes_labelled_as_json_are_a_400(
    empty_server: ServerProcess, ids: dict[str, str]
) -> None:
    body = json.dumps({"name": "utf16"}).encode("utf-16")
    response = _send(empty_server, ids, "POST", "/cell_specifications", body)
    _assert_bad_request(response, "UTF-8")


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "Application/JSON; charset=UTF-8", "application/json;charset=utf-8"],
)
def test_json_with_or_without_a_utf8_charset_is_accepted(
    empty_server: ServerProcess, content_type: str, unique: str
) -> None:
    body = json.dumps({"name": f"charset-{unique}"}).encode()
    response = http_client(empty_server).post(
        "/cell_specifications", content=body, headers={"Content-Type": content_type}
    )
    assert response.status_code == 201, response.text


def test_gzip_json_is_still_accepted(empty_server: ServerProcess, unique: str) -> None:
    body = gzip.compress(json.dumps({"name": f"gz-{unique}"}).encode())
    response = http_client(empty_server).post(
        "/cell_specifications",
        content=body,
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert response.status_code == 201, response.text


def test_a_get_with_the_official_clients_content_type_is_fine(
    empty_server: ServerProcess,
) -> None:
    """The official client sends Content-Type: application/json on GET and DELETE too."""
    response = http_client(empty_server).get("/cell_specifications", headers=JSON)
    assert response.status_code == 200


# -- item 4: query values --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"name": "ilike.%\x00%"}, "name"),
        ({"name": "eq.a\x1fb"}, "name"),
        ({"project_id": "p\x7f"}, "project_id"),
        ({"limit": "١٢"}, "limit"),
        ({"offset": "²"}, "offset"),
        ({"limit": "12\n"}, "limit"),
    ],
)
def test_control_characters_and_non_ascii_digits_in_queries_are_400s(
    empty_server: ServerProcess, ids: dict[str, str], params: dict[str, str], parameter: str
) -> None:
    response = http_client(empty_server).get("/cell_specifications", params=params)
    error = _assert_bad_request(response, repr(parameter))
    assert error["detail"]["parameter"] == parameter


def test_a_control_character_in_a_repeated_tag_filter_is_a_400(
    empty_server: ServerProcess, ids: dict[str, str]
) -> None:
    response = http_client(empty_server).get(
        f"/cell_instances/{ids['instance']}/cell_measurements",
        params={"tags_any": ["ok", "b\x00d"]},
    )
    _assert_bad_request(response, "tags_any")


# -- item 5: an encoded slash stays inside the id ---------------------------------------------------


@pytest.mark.parametrize(
    ("template", "resource"),
    [
        ("/cell_specifications/{spec}%2Fcell_instances", "cell_specification"),
        ("/cell_specifications/{spec}%2fcell_instances", "cell_specification"),
        ("/cell_instances/{instance}%2Fcell_measurements", "cell_instance"),
    ],
)
def test_an_encoded_slash_is_part_of_the_id(
    empty_server: ServerProcess, ids: dict[str, str], template: str, resource: str
) -> None:
    raw_path = template.format(**ids)
    url = httpx.URL(empty_server.url).copy_with(raw_path=raw_path.encode())
    response = http_client(empty_server).get(url)
    assert response.status_code == 404, response.text
    error = response.json()
    assert error["detail"]["resource_type"] == resource
    expected_id = raw_path.split("/")[2].replace("%2F", "/").replace("%2f", "/")
    assert error["detail"]["resource_id"] == expected_id


def test_percent_encoded_ordinary_characters_still_reach_their_route(
    empty_server: ServerProcess, ids: dict[str, str]
) -> None:
    raw_path = f"/cell_%73pecifications/{ids['spec']}/cell_instances"
    url = httpx.URL(empty_server.url).copy_with(raw_path=raw_path.encode())
    response = http_client(empty_server).get(url)
    assert response.status_code == 200, response.text
    assert response.json()["total"] == 1
