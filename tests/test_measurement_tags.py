"""``client.cell_measurement``'s project-wide reads and tag changes on the live local server:
``list_by_project``, ``list_tags``, ``add_tags`` / ``remove_tags`` (batches of 1000 ids)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import http_client
from server_process import ServerProcess

import ionworks
from ionworks import Ionworks, MeasurementTagUsage, PaginatedList
from ionworks.errors import InvalidParameterError, NotFoundError
from ionworks.resources import _measurement_tags


class Recorder(httpx.BaseTransport):
    """The real transport, recording each API request (method, path, JSON body)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, Any]] = []
        self._real = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        self.requests.append((request.method, request.url.path, body))
        return self._real.handle_request(request)


@pytest.fixture(autouse=True)
def _private_default_cache(tmp_path: Path) -> Iterator[None]:
    ionworks.set_cache_directory(tmp_path / "default")
    yield
    ionworks.set_cache_directory(None)


@pytest.fixture
def project_id(unique: str) -> str:
    return f"proj-{unique}"


@pytest.fixture
def client(empty_server: ServerProcess, project_id: str, tmp_path: Path) -> Iterator[Ionworks]:
    with Ionworks(
        api_key=empty_server.api_key,
        api_url=empty_server.url,
        project_id=project_id,
        cache_dir=tmp_path / "cache",
    ) as c:
        yield c


@pytest.fixture
def instance_id(client: Ionworks, project_id: str, unique: str) -> str:
    spec = client.cell_spec.create({"name": f"spec-{unique}", "project_id": project_id})
    return client.cell_instance.create(spec.id, {"name": "cell"}).id


def props(client: Ionworks, instance_id: str, name: str, tags: list[str] | None = None) -> str:
    created = client.cell_measurement.create_properties(
        instance_id, name, {"mass": {"value": 1.0, "unit": "g"}}, tags=tags
    )
    return created.id


def test_list_by_project_uses_the_clients_project_filters_and_pages(
    client: Ionworks, instance_id: str
) -> None:
    for index in range(4):
        props(client, instance_id, f"run-{index}", tags=["HPPC"] if index % 2 else ["cycling"])
    page = client.cell_measurement.list_by_project(limit=3, order_by="name")
    assert isinstance(page, PaginatedList) and page.total == 4 and page.count == 3
    assert [m.name for m in page.auto_paging_iter()] == [f"run-{i}" for i in range(4)]
    hppc = client.cell_measurement.list_by_project(tags_all="hppc", order_by="name")
    assert [m.name for m in hppc] == ["run-1", "run-3"]
    assert [m.name for m in client.cell_measurement.list_by_project(q="RUN-2")] == ["run-2"]
    both = client.cell_measurement.list_by_project(tags_any=["hppc", "CYCLING"])
    assert both.total == 4
    typed = client.cell_measurement.list_by_project(None, None, None, "time_series")
    assert typed.total == 0


def test_list_by_project_and_list_tags_need_a_project(empty_server: ServerProcess) -> None:
    with Ionworks(api_key=empty_server.api_key, api_url=empty_server.url) as bare:
        bare.project_id = None
        for call in (bare.cell_measurement.list_by_project, bare.cell_measurement.list_tags):
            with pytest.raises(InvalidParameterError, match="project_id=") as caught:
                call()
            assert isinstance(caught.value, ValueError)  # as the official client raises
        default = bare.whoami()["default_project_id"]
        assert bare.cell_measurement.list_by_project(default).total >= 0


def test_an_unknown_project_is_a_not_found_error(client: Ionworks) -> None:
    with pytest.raises(NotFoundError, match="no-such-project"):
        client.cell_measurement.list_by_project("no-such-project")


def test_list_tags_counts_usage_most_used_first(client: Ionworks, instance_id: str) -> None:
    props(client, instance_id, "a", tags=["HPPC", "25degC"])
    props(client, instance_id, "b", tags=["hppc"])
    tags = client.cell_measurement.list_tags()
    assert all(isinstance(t, MeasurementTagUsage) for t in tags)
    assert [(t.tag, t.usage_count) for t in tags] == [("HPPC", 2), ("25degC", 1)]
    assert [t.tag for t in client.cell_measurement.list_tags(q="degc")] == ["25degC"]
    one = client.cell_measurement.list_tags(limit=1)
    assert one.count == 1 and one.total == 2
    assert [t.tag for t in one.auto_paging_iter()] == ["HPPC", "25degC"]


def test_add_and_remove_tags_leave_other_tags_and_count_changes(
    client: Ionworks, instance_id: str
) -> None:
    a = props(client, instance_id, "a", tags=["keep"])
    b = props(client, instance_id, "b", tags=["keep", "draft"])
    assert client.cell_measurement.add_tags([a, b], ["hppc", "25degC"]) == 2
    assert client.cell_measurement.add_tags(a, "HPPC") == 0  # already there, ignoring case
    assert client.cell_measurement.get(a).tags == ["25degC", "hppc", "keep"]
    assert client.cell_measurement.remove_tags(b, "DRAFT") == 1
    assert client.cell_measurement.get(b).tags == ["25degC", "hppc", "keep"]
    assert client.cell_measurement.remove_tags([a, b], ["hppc", "absent"]) == 2
    assert client.cell_measurement.get(a).tags == ["25degC", "keep"]
    assert client.cell_measurement.add_tags([], ["x"]) == 0
    assert client.cell_measurement.add_tags(a, []) == 0


def test_an_unknown_id_changes_nothing_and_is_named(client: Ionworks, instance_id: str) -> None:
    a = props(client, instance_id, "a")
    with pytest.raises(NotFoundError, match="missing-id"):
        client.cell_measurement.add_tags([a, "missing-id"], ["x"])
    assert client.cell_measurement.get(a).tags == []


def test_wrong_argument_types_are_clear_errors_before_any_request(client: Ionworks) -> None:
    with pytest.raises(InvalidParameterError, match="tags must be strings"):
        client.cell_measurement.add_tags("m", [1])  # type: ignore[list-item]
    with pytest.raises(InvalidParameterError, match="measurement_ids must be strings"):
        client.cell_measurement.remove_tags([None], ["x"])  # type: ignore[list-item]
    with pytest.raises(InvalidParameterError, match="limit"):
        client.cell_measurement.list_by_project(limit=0)
    with pytest.raises(InvalidParameterError, match="order_by"):
        client.cell_measurement.list_by_project(order_by="size")


def test_more_than_1000_ids_go_in_batches_of_1000(
    empty_server: ServerProcess,
    client: Ionworks,
    instance_id: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert _measurement_tags.BULK_BATCH == 1000
    ids = [props(client, instance_id, f"m{i}") for i in range(3)]
    recorder = Recorder()
    with Ionworks(
        api_key=empty_server.api_key,
        api_url=empty_server.url,
        cache_dir=tmp_path / "rec",
        transport=recorder,
    ) as recorded:
        # The batching rule at a batch of 2, without creating 1001 measurements:
        monkeypatch.setattr(_measurement_tags, "BULK_BATCH", 2)
        assert recorded.cell_measurement.add_tags([*ids, ids[0]], ["batched"]) == 3
    bodies = [body for method, path, body in recorder.requests if path.endswith("/tags/bulk")]
    assert [body["measurement_ids"] for body in bodies] == [ids[:2], ids[2:]]
    assert all(body == {**body, "add": ["batched"], "remove": []} for body in bodies)
    http = http_client(empty_server)
    assert all(http.get(f"/cell_measurements/{mid}").json()["tags"] == ["batched"] for mid in ids)
