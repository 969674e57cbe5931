"""The viewer's server side: the local overview and SQL routes, and /viewer/'s static files.

The routes run on the session's demo server and are checked against polars on the files the
server itself hands out. The SQL time limit and concurrency bound are checked in-process with a
query made slow on purpose (a real query's duration is not something a test can pin down).
"""

from __future__ import annotations

import io
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import polars as pl
import pytest
from conftest import http_client, new_organization_key
from server_process import ServerProcess
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.testclient import TestClient
from test_server_s3 import aws_env, s3_server, store  # noqa: F401  (the S3 fixtures)

from ionworks.plotting import decimate_minmax
from ionworks_server import viewer_sql
from ionworks_server.errors import ApiError
from ionworks_server.viewer import ViewerAssets

SPEC = "NCM622/Graphite Coin Cell"
SIGNALS = ("Voltage [V]", "Current [A]", "Temperature [degC]")


@pytest.fixture(scope="module")
def series(live_server: ServerProcess) -> dict[str, Any]:
    """A demo time series: its id, its overview links, and its time series as polars read it."""
    http = http_client(live_server)
    spec = http.get("/cell_specifications", params={"name": f"eq.{SPEC}"}).json()["items"][0]
    cell = http.get(f"/cell_specifications/{spec['id']}/cell_instances").json()["items"][0]
    items = http.get(
        f"/cell_instances/{cell['id']}/cell_measurements",
        params={"measurement_type": "time_series"},
    ).json()["items"]
    measurement_id = items[0]["id"]
    overview = http.get(f"/cell_measurements/{measurement_id}/time_series/overview").json()
    data = httpx.get(live_server.url + overview["files"]["time_series"]["url"]).content
    return {"id": measurement_id, "overview": overview, "frame": pl.read_parquet(io.BytesIO(data))}


def test_overview_keeps_every_extremum_within_the_point_budget(
    live_server: ServerProcess, series: dict[str, Any]
) -> None:
    http = http_client(live_server)
    body = http.get(
        f"/cell_measurements/{series['id']}/time_series/overview", params={"points": 64}
    ).json()
    frame: pl.DataFrame = series["frame"]
    assert body["rows"] == body["window_rows"] == frame.height
    assert body["columns"] == [c for c in SIGNALS if c in frame.columns]
    for column in body["columns"]:
        points = body["series"][column]
        assert 2 <= len(points["values"]) <= 64
        assert points["time"] == sorted(points["time"])
        assert min(points["values"]) == frame[column].min()
        assert max(points["values"]) == frame[column].max()
        # Row group by row group, the same points as the Python plots' rule on the whole array.
        x, y = decimate_minmax(frame["Time [s]"].to_numpy(), frame[column].to_numpy(), 64)
        assert points == {"time": x.tolist(), "values": y.tolist()}


def test_overview_of_a_window_holds_only_that_window(
    live_server: ServerProcess, series: dict[str, Any]
) -> None:
    frame: pl.DataFrame = series["frame"]
    t0, t1 = frame["Time [s]"].quantile(0.25), frame["Time [s]"].quantile(0.5)
    body = (
        http_client(live_server)
        .get(
            f"/cell_measurements/{series['id']}/time_series/overview",
            params={"start": t0, "end": t1, "points": 5000},
        )
        .json()
    )
    inside = frame.filter(pl.col("Time [s]").is_between(t0, t1))
    assert body["window_rows"] == inside.height
    assert body["time_range"] == [inside["Time [s]"].min(), inside["Time [s]"].max()]
    voltage = body["series"]["Voltage [V]"]
    assert voltage["values"] == inside["Voltage [V]"].to_list()  # under the budget: every row


def test_overview_links_are_same_origin_and_serve_ranges(
    live_server: ServerProcess, series: dict[str, Any]
) -> None:
    files = series["overview"]["files"]
    assert set(files) == {"time_series", "steps", "cycles"}
    for name, link in files.items():
        assert link["url"].startswith(f"/storage/measurements/{series['id']}/{name}.parquet?")
        tail = httpx.get(live_server.url + link["url"], headers={"Range": "bytes=-4"})
        assert tail.status_code == 206 and tail.content == b"PAR1"
        assert tail.headers["content-range"].endswith(f"/{link['size']}")


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"points": "3"}, "points"),
        ({"points": "many"}, "points"),
        ({"start": "abc"}, "start"),
        ({"end": "nan"}, "end"),
        ({"start": "inf"}, "start"),
    ],
)
def test_overview_names_a_bad_parameter(
    live_server: ServerProcess, series: dict[str, Any], params: dict[str, str], parameter: str
) -> None:
    response = http_client(live_server).get(
        f"/cell_measurements/{series['id']}/time_series/overview", params=params
    )
    assert response.status_code == 400
    assert response.json()["detail"] == {"parameter": parameter}
    assert repr(params[parameter]) in response.json()["message"]


def test_local_routes_are_organisation_scoped(
    live_server: ServerProcess, series: dict[str, Any]
) -> None:
    other = http_client(live_server, new_organization_key(live_server))
    overview = f"/cell_measurements/{series['id']}/time_series/overview"
    sql = f"/cell_measurements/{series['id']}/sql"
    assert other.get(overview).status_code == 404
    assert other.post(sql, json={"query": "select 1"}).status_code == 404
    assert httpx.get(live_server.url + overview).status_code == 403
    assert httpx.post(live_server.url + sql, json={"query": "select 1"}).status_code == 403


def test_sql_answers_what_polars_answers(
    live_server: ServerProcess, series: dict[str, Any]
) -> None:
    query = (
        'select "Step type", count(*) as n, max("Max voltage [V]") as v from steps '
        'group by "Step type" order by n desc, "Step type"'
    )
    http = http_client(live_server)
    body = http.post(f"/cell_measurements/{series['id']}/sql", json={"query": query}).json()
    steps_link = series["overview"]["files"]["steps"]["url"]
    steps = pl.read_parquet(io.BytesIO(httpx.get(live_server.url + steps_link).content))
    expected = pl.SQLContext({"steps": steps}).execute(query, eager=True)
    assert body["columns"] == expected.columns
    assert body["data"] == expected.to_dict(as_series=False)
    assert body["row_count"] == expected.height and body["truncated"] is False


def test_sql_limits_rows_and_says_so(live_server: ServerProcess, series: dict[str, Any]) -> None:
    http = http_client(live_server)
    url = f"/cell_measurements/{series['id']}/sql"
    body = http.post(url, json={"query": "select * from time_series", "limit": 5}).json()
    assert body["row_count"] == 5 and body["truncated"] is True
    assert body["data"]["Time [s]"] == series["frame"]["Time [s]"].head(5).to_list()
    cycles_link = series["overview"]["files"]["cycles"]["url"]
    cycles = pl.read_parquet(io.BytesIO(httpx.get(live_server.url + cycles_link).content))
    cte = "with c as (select * from cycles) select count(*) as n from c"
    assert http.post(url, json={"query": cte}).json()["data"] == {"n": [cycles.height]}


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("drop table cycles", "Only SELECT"),
        ("select nope from cycles", "tables available"),
        ("select * from elsewhere", "tables available"),
        ("select 1; select 2", "One statement"),
    ],
)
def test_sql_refuses_what_it_cannot_run_with_the_reason(
    live_server: ServerProcess, series: dict[str, Any], query: str, says: str
) -> None:
    response = http_client(live_server).post(
        f"/cell_measurements/{series['id']}/sql", json={"query": query}
    )
    assert response.status_code == 400, response.text
    assert says in response.json()["message"]
    assert response.json()["detail"] == {"field": "query"}


def test_sql_body_is_validated_by_the_spec(
    live_server: ServerProcess, series: dict[str, Any]
) -> None:
    url = f"/cell_measurements/{series['id']}/sql"
    http = http_client(live_server)
    assert http.post(url, json={"query": "select 1", "limit": 0}).status_code == 400
    assert http.post(url, json={"query": ""}).status_code == 400
    assert http.post(url, json={"sql": "select 1"}).status_code == 400


# -- time limit and concurrency, in-process with a query held back on purpose ----------------


def _call(query: str) -> Any:
    return SimpleNamespace(body={"query": query})


def test_a_slow_query_stops_at_the_time_limit_and_a_third_waits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    release = threading.Event()
    real_sql = viewer_sql.sql

    def held(query: str, **frames: Any) -> pl.DataFrame:
        release.wait(10)
        return real_sql(query, **frames)

    frames = {"cycles": pl.LazyFrame({"Cycle count": [0, 1]})}
    monkeypatch.setattr(viewer_sql, "sql", held)
    monkeypatch.setattr(viewer_sql, "TIME_LIMIT_S", 0.2)
    monkeypatch.setattr(viewer_sql, "_processed", lambda call: SimpleNamespace(id="m"))
    monkeypatch.setattr(viewer_sql, "_frames", lambda call, measurement_id: frames)
    try:
        for _ in range(viewer_sql.MAX_RUNNING):
            with pytest.raises(ApiError) as late:
                viewer_sql.run_sql(_call("select * from cycles"))
            assert late.value.status == 400 and "0.2 s time limit" in late.value.message
        with pytest.raises(ApiError) as busy:
            viewer_sql.run_sql(_call("select * from cycles"))
        assert busy.value.status == 429 and busy.value.error_code == "RATE_LIMITED"
    finally:
        release.set()
    monkeypatch.setattr(viewer_sql, "sql", real_sql)
    # The held queries finish in the background and give their slots back.
    taken = [viewer_sql._slots.acquire(timeout=10) for _ in range(viewer_sql.MAX_RUNNING)]
    for _ in taken:
        viewer_sql._slots.release()
    assert all(taken)
    response = viewer_sql.run_sql(_call("select * from cycles"))
    assert b'"row_count":2' in response.body


# -- static files ---------------------------------------------------------------------------


def _client(assets: Path) -> TestClient:
    async def api(request: Any) -> PlainTextResponse:
        return PlainTextResponse("api")

    app = Starlette()
    app.add_route("/{path:path}", api)
    return TestClient(ViewerAssets(app, assets))


def test_viewer_without_built_assets_says_what_to_run(tmp_path: Path) -> None:
    response = _client(tmp_path / "missing").get("/viewer/")
    assert response.status_code == 503
    assert "make setup" in response.text and "npm ci && npm run build" in response.text


def test_viewer_serves_only_its_own_files(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<!doctype html><title>v</title>")
    (tmp_path / "app.js").write_text("export {}")
    (tmp_path / ".hidden").write_text("secret")
    client = _client(tmp_path)
    index = client.get("/viewer/")
    assert index.status_code == 200 and index.text.startswith("<!doctype html>")
    assert "script-src 'self'" in index.headers["content-security-policy"]
    assert index.headers["x-content-type-options"] == "nosniff"
    assert client.get("/viewer/app.js").headers["content-type"].startswith("text/javascript")
    for path in (
        "/viewer/.hidden",
        "/viewer/%2E%2E/app.py",
        "/viewer/sub/app.js",
        "/viewer/nope.js",
    ):
        assert client.get(path).status_code == 404, path
    assert client.post("/viewer/").status_code == 405
    assert client.get("/viewer", follow_redirects=False).headers["location"] == "/viewer/"
    assert client.get("/viewerx").text == "api"  # other paths pass through


# -- on object storage ----------------------------------------------------------------------


def test_on_object_storage_the_viewer_reads_same_origin_copies(
    s3_server: ServerProcess,  # noqa: F811  (the fixture imported above)
    unique: str,
) -> None:
    """With --storage-url s3://..., the viewer's links still point at this server (the page
    may only connect to its own origin), which serves its local copy, fetched from the bucket
    when this process does not have one (as a server on another host would not)."""
    from conftest import new_spec_and_instance, upload_time_series, wait_processed

    from ionworks_server.demo_data import long_series

    http = http_client(s3_server)
    _, cell = new_spec_and_instance(http, unique)
    confirmed = upload_time_series(http, cell, f"viewer-s3-{unique}", long_series(5_000, seed=3))
    measurement_id = confirmed.json()["id"]
    assert wait_processed(http, measurement_id)["processing_status"] == "ready"
    local = s3_server.data_dir / "storage" / "measurements" / measurement_id
    for copy in local.glob("*.parquet"):
        copy.unlink()  # as on another host: only the bucket has the files

    body = http.get(
        f"/cell_measurements/{measurement_id}/time_series/overview", params={"points": 16}
    ).json()
    assert body["window_rows"] == 5_000
    link = body["files"]["time_series"]["url"]
    assert link.startswith(f"/storage/measurements/{measurement_id}/")
    tail = httpx.get(s3_server.url + link, headers={"Range": "bytes=-4"})
    assert tail.status_code == 206 and tail.content == b"PAR1"
    count = http.post(
        f"/cell_measurements/{measurement_id}/sql",
        json={"query": "select count(*) as n from time_series"},
    ).json()
    assert count["data"] == {"n": [5_000]}
