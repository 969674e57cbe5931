"""Server-side filtering, ordering and paging, checked against the full listing filtered in Python.

The demo data (1,250 specifications spread over 2026-01..05, several creators and form factors)
is read only; tests that need particular rows create them on the empty server under unique names.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
import pytest
from conftest import http_client, make_client
from ionworks_generated.api.cell_specifications import list_cell_specifications
from ionworks_generated.models import CellSpecificationPage, ResourceOrderBy, SortOrder
from server_process import ServerProcess

Row = dict[str, Any]


def all_pages(http: httpx.Client, path: str, **params: Any) -> tuple[list[Row], int]:
    """Every item of a listing (1,000 per page) and the reported total."""
    items: list[Row] = []
    while True:
        page = http.get(path, params={**params, "limit": 1000, "offset": len(items)})
        assert page.status_code == 200, page.text
        body = page.json()
        items += body["items"]
        if len(items) >= body["total"] or not body["items"]:
            return items, body["total"]


@pytest.fixture
def specs(live_server: ServerProcess) -> list[Row]:
    """The full specification listing (fetched per test: other tests may add and remove rows)."""
    items, total = all_pages(http_client(live_server), "/cell_specifications")
    assert total == len(items) >= 1200
    return items


def like(pattern: str) -> Callable[[str | None], bool]:
    """Python model of SQL ``ILIKE``: ``%`` any run, ``_`` one character, case-insensitive."""
    regex = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    compiled = re.compile(regex, re.IGNORECASE | re.DOTALL)
    return lambda value: value is not None and compiled.fullmatch(value) is not None


def ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def ids(rows: list[Row]) -> list[str]:
    return [r["id"] for r in rows]


def filtered(http: httpx.Client, **params: Any) -> list[Row]:
    items, total = all_pages(http, "/cell_specifications", **params)
    assert total == len(items)
    return items


@pytest.mark.parametrize(
    "pattern", ["%graphite%", "%GRAPHITE%", "%coin%", "lfp/%", "%#00_1", "%#1_5_", "%"]
)
def test_name_ilike_matches_like_sql_with_wildcards(
    live_server: ServerProcess, specs: list[Row], pattern: str
) -> None:
    got = filtered(http_client(live_server), name=f"ilike.{pattern}")
    matches = like(pattern)
    assert sorted(ids(got)) == sorted(s["id"] for s in specs if matches(s["name"]))
    assert got or pattern == "lfp/%"


def test_name_eq_is_exact_and_keeps_slashes(live_server: ServerProcess, specs: list[Row]) -> None:
    got = filtered(http_client(live_server), name="eq.NCM622/Graphite Coin Cell")
    assert [s["name"] for s in got] == ["NCM622/Graphite Coin Cell"]
    assert filtered(http_client(live_server), name="eq.ncm622/graphite coin cell") == []


def test_name_eq_splits_the_operator_at_the_first_dot(
    empty_server: ServerProcess, unique: str
) -> None:
    http = http_client(empty_server)
    name = f"NCM622/Graphite v1.2.{unique}"
    created = http.post("/cell_specifications", json={"name": name}).json()
    http.post("/cell_specifications", json={"name": f"NCM622/Graphite v1.{unique}"})
    assert ids(filtered(http, name=f"eq.{name}")) == [created["id"]]
    neq = filtered(http, name=f"neq.{name}")
    assert created["id"] not in ids(neq)
    assert any(s["name"] == f"NCM622/Graphite v1.{unique}" for s in neq)


@pytest.mark.parametrize(
    ("param", "value", "predicate"),
    [
        ("form_factor", "eq.R2032", lambda s: s["form_factor"] == "R2032"),
        ("form_factor", "neq.R2032", lambda s: s["form_factor"] != "R2032"),
        ("form_factor", "ilike.r20%", lambda s: like("r20%")(s["form_factor"])),
        ("created_by_email", "ilike.%jane%", lambda s: like("%jane%")(s["created_by_email"])),
        (
            "created_by_email",
            "eq.raj.patel@example.com",
            lambda s: s["created_by_email"] == "raj.patel@example.com",
        ),
        ("project_id", "proj-demo", lambda s: s["project_id"] == "proj-demo"),
        ("project_id", "proj-other", lambda s: False),
    ],
)
def test_each_text_filter_matches_the_listing_filtered_in_python(
    live_server: ServerProcess,
    specs: list[Row],
    param: str,
    value: str,
    predicate: Callable[[Row], bool],
) -> None:
    got = filtered(http_client(live_server), **{param: value})
    assert sorted(ids(got)) == sorted(s["id"] for s in specs if predicate(s))


@pytest.mark.parametrize("column", ["created_at", "updated_at"])
def test_date_filters_are_strict_on_both_sides(
    live_server: ServerProcess, specs: list[Row], column: str
) -> None:
    http = http_client(live_server)
    pivot = sorted(s[column] for s in specs)[len(specs) // 2]
    after = filtered(http, **{f"{column}_gt": pivot})
    before = filtered(http, **{f"{column}_lt": pivot})
    assert sorted(ids(after)) == sorted(s["id"] for s in specs if ts(s[column]) > ts(pivot))
    assert sorted(ids(before)) == sorted(s["id"] for s in specs if ts(s[column]) < ts(pivot))
    on_pivot = [s for s in specs if s[column] == pivot]
    assert len(after) + len(before) + len(on_pivot) == len(specs)


def test_the_documented_date_range_example_works(
    live_server: ServerProcess, specs: list[Row]
) -> None:
    got = filtered(
        http_client(live_server),
        created_at_gt="2026-01-01T00:00:00Z",
        created_at_lt="2026-04-01T00:00:00Z",
    )
    low, high = ts("2026-01-01T00:00:00Z"), ts("2026-04-01T00:00:00Z")
    assert sorted(ids(got)) == sorted(s["id"] for s in specs if low < ts(s["created_at"]) < high)
    assert 0 < len(got) < len(specs)


@pytest.mark.parametrize(
    "same_instant",
    [
        "2026-03-01T00:00:00Z",
        "2026-03-01T01:00:00+01:00",
        "2026-02-28T19:00:00-05:00",
        "2026-03-01",
        "2026-03-01T00:00:00",
    ],
)
def test_dates_with_offsets_or_without_time_are_normalised_to_utc(
    live_server: ServerProcess, same_instant: str
) -> None:
    http = http_client(live_server)
    reference = filtered(http, created_at_lt="2026-03-01T00:00:00Z")
    assert ids(filtered(http, created_at_lt=same_instant)) == ids(reference)


def test_combined_filters_intersect(live_server: ServerProcess, specs: list[Row]) -> None:
    got = filtered(
        http_client(live_server),
        name="ilike.%graphite%",
        created_by_email="ilike.%jane%",
        form_factor="eq.R2032",
        created_at_gt="2026-01-01T00:00:00Z",
    )
    expected = [
        s
        for s in specs
        if like("%graphite%")(s["name"])
        and like("%jane%")(s["created_by_email"])
        and s["form_factor"] == "R2032"
    ]
    assert sorted(ids(got)) == sorted(ids(expected))
    assert "NCM622/Graphite Coin Cell" in [s["name"] for s in got]


@pytest.mark.parametrize("order_by", ["name", "created_at", "updated_at"])
@pytest.mark.parametrize("order", ["asc", "desc"])
def test_ordering_follows_the_column_then_the_id(
    live_server: ServerProcess, specs: list[Row], order_by: str, order: str
) -> None:
    got = filtered(http_client(live_server), order_by=order_by, order=order)
    key = (
        (lambda s: (s[order_by], s["id"]))
        if order_by == "name"
        else (lambda s: (ts(s[order_by]), s["id"]))
    )
    assert ids(got) == ids(sorted(specs, key=key, reverse=order == "desc"))


def test_pages_neither_overlap_nor_skip_and_total_counts_all_matches(
    live_server: ServerProcess,
) -> None:
    http = http_client(live_server)
    params = {"name": "ilike.%graphite%", "order_by": "updated_at", "order": "desc"}
    everything = filtered(http, **params)
    seen: list[str] = []
    offset = 0
    while True:
        body = http.get(
            "/cell_specifications", params={**params, "limit": 50, "offset": offset}
        ).json()
        assert body["total"] == len(everything)
        assert body["count"] == len(body["items"]) <= 50
        seen += ids(body["items"])
        offset += 50
        if offset >= body["total"]:
            break
    assert seen == ids(everything)
    assert len(set(seen)) == len(seen)


def test_an_offset_past_the_end_gives_an_empty_page_with_the_total(
    live_server: ServerProcess, specs: list[Row]
) -> None:
    body = http_client(live_server).get("/cell_specifications", params={"offset": 100_000}).json()
    assert body == {"items": [], "count": 0, "total": len(specs)}


def test_the_default_page_is_1000_items(live_server: ServerProcess, specs: list[Row]) -> None:
    body = http_client(live_server).get("/cell_specifications").json()
    assert body["count"] == 1000
    assert body["total"] == len(specs)


def test_filters_through_the_generated_client(live_server: ServerProcess, specs: list[Row]) -> None:
    response = list_cell_specifications.sync_detailed(
        client=make_client(live_server),
        name="ilike.%coin%",
        order_by=ResourceOrderBy.NAME,
        order=SortOrder.DESC,
        limit=10,
    )
    assert isinstance(response.parsed, CellSpecificationPage)
    expected = sorted(
        (s for s in specs if like("%coin%")(s["name"])),
        key=lambda s: (s["name"], s["id"]),
        reverse=True,
    )
    assert [s.id for s in response.parsed.items] == ids(expected)[:10]
    assert response.parsed.total == len(expected)


def test_components_are_listed_only_with_full(live_server: ServerProcess) -> None:
    http = http_client(live_server)
    plain = http.get("/cell_specifications", params={"limit": 1}).json()["items"][0]
    full = http.get("/cell_specifications", params={"limit": 1, "full": "true"}).json()["items"][0]
    assert "anode" not in plain
    assert full["anode"]["material_id"]
    assert set(full) >= {"anode", "cathode", "electrolyte", "separator", "case"}


# -- instances and measurements -----------------------------------------------------------------


@pytest.fixture
def coin_cell(live_server: ServerProcess) -> dict[str, Any]:
    """The documented spec, its instances, and the measurements of batch-A-cell-01."""
    http = http_client(live_server)
    spec = http.get("/cell_specifications", params={"name": "eq.NCM622/Graphite Coin Cell"}).json()[
        "items"
    ][0]
    instances, _ = all_pages(http, f"/cell_specifications/{spec['id']}/cell_instances")
    cell = next(i for i in instances if i["name"] == "batch-A-cell-01")
    measurements, _ = all_pages(http, f"/cell_instances/{cell['id']}/cell_measurements")
    return {"spec": spec, "instances": instances, "cell": cell, "measurements": measurements}


def test_instances_filter_by_name_and_batch(
    live_server: ServerProcess, coin_cell: dict[str, Any]
) -> None:
    http = http_client(live_server)
    path = f"/cell_specifications/{coin_cell['spec']['id']}/cell_instances"
    batch_a, total = all_pages(http, path, name="ilike.%batch-A%")
    assert total == len(batch_a) >= 2
    assert all("batch-a" in i["name"].lower() for i in batch_a)
    batch_id = coin_cell["cell"]["batch_id"]
    in_lot, _ = all_pages(http, path, batch_id=batch_id)
    assert sorted(ids(in_lot)) == sorted(
        i["id"] for i in coin_cell["instances"] if i["batch_id"] == batch_id
    )
    assert {i["batch_name"] for i in in_lot} == {"batch-A"}


def test_the_documented_instance_listing_example(
    live_server: ServerProcess, coin_cell: dict[str, Any]
) -> None:
    body = (
        http_client(live_server)
        .get(
            f"/cell_specifications/{coin_cell['spec']['id']}/cell_instances",
            params={
                "limit": 50,
                "offset": 0,
                "name": "ilike.%batch-A%",
                "order_by": "updated_at",
                "order": "desc",
            },
        )
        .json()
    )
    updated = [ts(i["updated_at"]) for i in body["items"]]
    assert updated == sorted(updated, reverse=True)
    assert body["total"] == len(body["items"]) >= 2


@pytest.mark.parametrize(
    ("params", "predicate"),
    [
        ({"measurement_type": "time_series"}, lambda m: m["measurement_type"] == "time_series"),
        ({"measurement_type": "properties"}, lambda m: m["measurement_type"] == "properties"),
        ({"measurement_type": "file"}, lambda m: m["measurement_type"] == "file"),
        (
            {"start_time_gt": "2026-03-01T00:00:00Z", "start_time_lt": "2026-03-31T23:59:59Z"},
            lambda m: (
                m["start_time"] is not None and "2026-03-01" <= m["start_time"][:10] <= "2026-03-31"
            ),
        ),
        (
            {"measurement_type": "time_series", "created_at_gt": "2026-03-01T00:00:00Z"},
            lambda m: m["measurement_type"] == "time_series" and m["created_at"] > "2026-03-01",
        ),
        (
            {"tags_all": ["cycling", "1C"]},
            lambda m: {"cycling", "1c"} <= {t.lower() for t in m["tags"]},
        ),
        (
            {"tags_any": ["bol", "assembly"]},
            lambda m: bool({"bol", "assembly"} & {t.lower() for t in m["tags"]}),
        ),
        ({"name": "ilike.%run_1"}, lambda m: like("%run_1")(m["name"])),
    ],
)
def test_measurement_filters_match_the_listing_filtered_in_python(
    live_server: ServerProcess,
    coin_cell: dict[str, Any],
    params: dict[str, Any],
    predicate: Callable[[Row], bool],
) -> None:
    got, total = all_pages(
        http_client(live_server),
        f"/cell_instances/{coin_cell['cell']['id']}/cell_measurements",
        **params,
    )
    expected = [m for m in coin_cell["measurements"] if predicate(m)]
    assert sorted(ids(got)) == sorted(ids(expected))
    assert total == len(expected) > 0


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_measurements_order_by_start_time_with_ties_broken_by_id(
    empty_server: ServerProcess, unique: str, order: str
) -> None:
    http = http_client(empty_server)
    spec = http.post("/cell_specifications", json={"name": f"ties-{unique}"}).json()
    cell = http.post(f"/cell_specifications/{spec['id']}/cell_instances", json={"name": "c"}).json()
    for n in range(6):
        start = "2026-03-01T00:00:00Z" if n < 4 else f"2026-03-0{n}T00:00:00Z"
        created = http.post(
            f"/cell_instances/{cell['id']}/cell_measurements/create",
            json={"name": f"m{n}", "properties": {}, "start_time": start},
        )
        assert created.status_code == 201
    path = f"/cell_instances/{cell['id']}/cell_measurements"
    everything, _ = all_pages(http, path, order_by="start_time", order=order)
    key = lambda m: (m["start_time"], m["id"])  # noqa: E731
    assert ids(everything) == ids(sorted(everything, key=key, reverse=order == "desc"))
    one_by_one = [
        http.get(
            path, params={"order_by": "start_time", "order": order, "limit": 1, "offset": k}
        ).json()["items"][0]["id"]
        for k in range(6)
    ]
    assert one_by_one == ids(everything)


# -- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"name": "like.%x%"}, "name"),
        ({"name": "graphite"}, "name"),
        ({"created_by_email": "contains.jane"}, "created_by_email"),
        ({"form_factor": "R2032"}, "form_factor"),
        ({"created_at_gt": "yesterday"}, "created_at_gt"),
        ({"created_at_lt": "2026-13-01"}, "created_at_lt"),
        ({"updated_at_gt": "2026-04-01T00:00:00 00:00"}, "updated_at_gt"),
        ({"updated_at_lt": ""}, "updated_at_lt"),
        ({"limit": "-1"}, "limit"),
        ({"limit": "0"}, "limit"),
        ({"limit": "5000"}, "limit"),
        ({"limit": "abc"}, "limit"),
        ({"limit": "1.5"}, "limit"),
        ({"limit": ["1", "2"]}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"order_by": "colour"}, "order_by"),
        ({"order_by": "start_time"}, "order_by"),
        ({"order": "up"}, "order"),
        ({"full": "maybe"}, "full"),
        ({"material_id": "mat-graphite"}, "material_id"),
    ],
)
def test_bad_list_parameters_are_400s_naming_the_parameter(
    live_server: ServerProcess, params: dict[str, Any], parameter: str
) -> None:
    response = http_client(live_server).get("/cell_specifications", params=params)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error_code"] == "BAD_REQUEST"
    assert body["detail"] == {"parameter": parameter}
    assert parameter in body["message"]


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"measurement_type": "video"}, "measurement_type"),
        ({"start_time_gt": "March"}, "start_time_gt"),
        ({"order_by": "row_count"}, "order_by"),
    ],
)
def test_bad_measurement_list_parameters_are_400s_naming_the_parameter(
    live_server: ServerProcess, coin_cell: dict[str, Any], params: dict[str, Any], parameter: str
) -> None:
    response = http_client(live_server).get(
        f"/cell_instances/{coin_cell['cell']['id']}/cell_measurements", params=params
    )
    assert response.status_code == 400
    assert response.json()["detail"] == {"parameter": parameter}


def test_a_bad_date_message_shows_a_valid_example(live_server: ServerProcess) -> None:
    body = (
        http_client(live_server)
        .get("/cell_specifications", params={"created_at_gt": "yesterday"})
        .json()
    )
    assert "ISO 8601" in body["message"]
    assert "2026-03-01" in body["message"]


def test_an_unencoded_plus_in_a_date_gets_a_hint(live_server: ServerProcess) -> None:
    response = httpx.get(
        f"{live_server.url}/cell_specifications?created_at_gt=2026-04-01T00:00:00+00:00",
        headers={"X-API-Key": live_server.api_key},
    )
    assert response.status_code == 400
    assert "%2B" in response.json()["message"]
