"""Pipelines: validated at submission, evaluated honestly (entries only), never faked."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from conftest import http_client, make_client
from ionworks_generated.api.pipelines import create_pipeline
from ionworks_generated.models import Pipeline, PipelineCreate
from server_process import ServerProcess


def inline(rows: int) -> dict[str, list[float]]:
    return {"Time [s]": [float(n) for n in range(rows)], "Voltage [V]": [3.7] * rows}


@pytest.fixture(scope="module")
def measurement_id(live_server: ServerProcess) -> str:
    http = http_client(live_server)
    spec = http.get("/cell_specifications", params={"name": "eq.NCM622/Graphite Coin Cell"}).json()[
        "items"
    ][0]
    cell = http.get(f"/cell_specifications/{spec['id']}/cell_instances").json()["items"][0]
    items = http.get(f"/cell_instances/{cell['id']}/cell_measurements").json()["items"]
    return str(items[0]["id"])


def submit(http: httpx.Client, elements: Any, **extra: Any) -> httpx.Response:
    return http.post("/pipelines", json={"elements": elements, "options": {}, **extra})


def test_an_entry_only_pipeline_completes_with_its_values(live_server: ServerProcess) -> None:
    http = http_client(live_server)
    values = {"Negative electrode capacity [A.h]": 0.0051, "Ambient temperature [K]": 298.15}
    response = submit(
        http,
        {"entry": {"element_type": "entry", "values": values}},
        name="OCV entry",
        description="d",
        project_id="proj-demo",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "completed"
    assert body["is_terminal"] is True and body["is_failed"] is False
    assert body["error"] is None
    assert body["result"] == {"entry": values}
    assert (body["name"], body["description"], body["project_id"]) == (
        "OCV entry",
        "d",
        "proj-demo",
    )
    assert http.get(f"/pipelines/{body['id']}").json() == body


def test_a_pipeline_with_a_fit_fails_honestly(
    live_server: ServerProcess, measurement_id: str
) -> None:
    response = create_pipeline.sync_detailed(
        client=make_client(live_server),
        body=PipelineCreate.from_dict(
            {
                "elements": {
                    "entry": {"element_type": "entry", "values": {"x": 1}},
                    "fit": {
                        "element_type": "data_fit",
                        "objectives": [{"data": {"data": f"db:{measurement_id}"}}],
                    },
                }
            }
        ),
    )
    assert response.status_code == 201
    pipeline = response.parsed
    assert isinstance(pipeline, Pipeline)
    assert pipeline.status == "failed"
    assert pipeline.is_terminal and pipeline.is_failed
    assert "element type 'data_fit' is not supported by the local reference server" in str(
        pipeline.error
    )
    assert pipeline.result is None


def test_inline_data_over_1000_rows_is_a_400_naming_where(live_server: ServerProcess) -> None:
    elements = {
        "fit": {"element_type": "data_fit", "objectives": [{"data": {"data": inline(1001)}}]}
    }
    response = submit(http_client(live_server), elements)
    assert response.status_code == 400
    body = response.json()
    assert body["detail"]["field"] == "elements.fit.objectives[0].data.data"
    assert body["detail"]["n_rows"] == 1001
    assert "1001 rows" in body["message"] and "db:<measurement_id>" in body["message"]


def test_inline_data_of_exactly_1000_rows_is_accepted(live_server: ServerProcess) -> None:
    elements = {
        "fit": {
            "element_type": "data_fit",
            "objectives": [
                {"data": {"data": {"time_series": inline(1000), "steps": {"Step count": [0]}}}}
            ],
        }
    }
    assert submit(http_client(live_server), elements).status_code == 201


def test_an_unknown_db_reference_is_a_400_naming_it(live_server: ServerProcess) -> None:
    elements = {
        "v": {"element_type": "validation", "objectives": {"o": {"data": "db:no-such-measurement"}}}
    }
    response = submit(http_client(live_server), elements)
    assert response.status_code == 400
    assert "no-such-measurement" in response.json()["message"]
    assert response.json()["detail"]["field"] == "elements.v.objectives.o.data"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "elements"),
        ({"elements": {}}, "elements"),
        ({"elements": []}, "elements"),
        ({"elements": {"a": 1}}, "elements.a"),
        ({"elements": {"a": {}}}, "elements.a.element_type"),
        ({"elements": {"a": {"element_type": "magic"}}}, "elements.a.element_type"),
        ({"elements": {"a": {"element_type": "entry"}}, "options": []}, "options"),
        ({"elements": {"a": {"element_type": "entry"}}, "name": 3}, "name"),
    ],
)
def test_an_invalid_pipeline_is_a_400_naming_the_field(
    live_server: ServerProcess, body: dict[str, Any], field: str
) -> None:
    response = http_client(live_server).post("/pipelines", json=body)
    assert response.status_code == 400
    assert response.json()["detail"]["field"] == field


def test_an_unknown_pipeline_is_a_404(live_server: ServerProcess) -> None:
    response = http_client(live_server).get("/pipelines/nope")
    assert response.status_code == 404
    assert response.json()["detail"]["resource_type"] == "pipeline"
