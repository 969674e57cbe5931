"""List pages read raw (:mod:`ionworks_server.raw_rows`) show exactly what the rows read through
SQLAlchemy's types show: every key, in the same order, with the same values, for specifications,
instances (joined to their lot) and measurements, on SQLite and (under ``make test-postgres``) on
PostgreSQL; and responses encoded by orjson decode to what ``json`` would have sent.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from server_process import database_url_for
from sqlalchemy import Engine, insert, text
from starlette.datastructures import QueryParams

from ionworks_server.db import (
    batches,
    cell_instances,
    cell_measurements,
    cell_specifications,
    create_db_engine,
    init_schema,
    organizations,
    projects,
    read,
)
from ionworks_server.filters import ListSpec, build_list_query
from ionworks_server.jsonio import dumps, format_ts
from ionworks_server.raw_rows import json_value, timestamp_text
from ionworks_server.records import INSTANCES, MEASUREMENTS, SPECIFICATIONS, Resource
from ionworks_server.resources import _SPEC_SUMMARY, SPEC_LIST

ORG = "org-raw"
STAMPS = [
    datetime(2026, 1, 2, 3, 4, 5),
    datetime(2026, 1, 2, 3, 4, 5, 120000),
    datetime(2026, 12, 31, 23, 59, 59, 999999),
    datetime(999, 1, 1, 0, 0, 0, 1),
]
RATINGS: list[Any] = [
    {},
    None,
    {"capacity": 5.0, "tiny": 1e-7, "big": 10**30, "nested": {"a": [1, None, "é\n"]}},
    {"negative zero": -0.0, "list": []},
]
EXTRA: list[Any] = [{}, {"custom": "x", "n": 1.5}, {"z": [], "a": {"b": None}}, {}]


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """A migrated database (SQLite here, PostgreSQL under make test-postgres) with varied rows."""
    url = database_url_for(tmp_path / "data") or f"sqlite:///{tmp_path / 'raw.sqlite3'}"
    made = create_db_engine(url)
    init_schema(made)
    with made.begin() as conn:
        conn.execute(
            insert(organizations).values(
                id=ORG, name=ORG, default_project_id="p", created_at=STAMPS[0]
            )
        )
        conn.execute(
            insert(projects).values(organization_id=ORG, id="p", name="p", created_at=STAMPS[0])
        )
        for i, (stamp, ratings, extra) in enumerate(zip(STAMPS, RATINGS, EXTRA, strict=True)):
            conn.execute(
                insert(cell_specifications).values(
                    id=f"s{i}",
                    organization_id=ORG,
                    project_id="p",
                    name=f"spec {i} ünïcode",
                    form_factor=None if i % 2 else "pouch",
                    chemistry="LFP",
                    ratings=ratings,
                    components={},
                    extra=extra,
                    created_by_email=None if i == 1 else "a@b.c",
                    created_at=stamp,
                    updated_at=STAMPS[-1 - i],
                )
            )
            conn.execute(
                insert(batches).values(
                    id=f"b{i}", cell_specification_id="s0", name=f"lot {i}", created_at=stamp
                )
            )
            conn.execute(
                insert(cell_instances).values(
                    id=f"i{i}",
                    organization_id=ORG,
                    cell_specification_id="s0",
                    name=f"cell {i}",
                    batch_id=f"b{i}" if i % 2 else None,
                    notes=None if i else "n",
                    extra=extra,
                    created_at=stamp,
                    updated_at=stamp,
                )
            )
            conn.execute(
                insert(cell_measurements).values(
                    id=f"m{i}",
                    organization_id=ORG,
                    cell_instance_id="i0",
                    specification_id="s0",
                    name=f"m {i}",
                    measurement_type="time_series",
                    start_time=None if i % 2 else stamp,
                    end_time=STAMPS[-1 - i],
                    protocol=ratings,
                    test_setup=None,
                    properties=extra,
                    tags=["a", "b"] if i else [],
                    filenames=[],
                    row_count=i,
                    extra=extra,
                    created_at=stamp,
                    updated_at=stamp,
                )
            )
    yield made
    made.dispose()


def _both(
    engine: Engine, resource: Resource, spec: ListSpec, scope: Any, shown: Any = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    query = build_list_query(QueryParams({"order_by": "created_at"}), spec)
    with read(engine) as conn:
        rows, total = resource.page(conn, query, [scope], shown)
        items, raw_total = resource.page_items(conn, query, [scope], shown)
    assert total == raw_total == len(STAMPS)
    return [resource.out(row) for row in rows], items


def _same(expected: list[dict[str, Any]], got: list[dict[str, Any]]) -> None:
    assert [list(item) for item in got] == [list(item) for item in expected]  # key order too
    assert got == expected
    assert dumps(got) == dumps(expected)


def test_specifications_read_raw_show_what_sqlalchemy_rows_show(engine: Engine) -> None:
    expected, got = _both(
        engine,
        SPECIFICATIONS,
        SPEC_LIST,
        cell_specifications.c.organization_id == ORG,
        _SPEC_SUMMARY,
    )
    _same(expected, got)
    # In created_at order: s3 (year 999), s0, s1, s2.
    assert got[0]["created_at"] == "0999-01-01T00:00:00.000001Z"
    assert got[1]["created_at"] == "2026-01-02T03:04:05Z"
    assert got[2]["created_at"] == "2026-01-02T03:04:05.120000Z"
    assert got[2]["ratings"] == {} and got[2]["created_by_email"] is None  # ratings stored null
    assert list(got[2])[:2] == ["custom", "n"]  # extra keys first, as sent
    assert got[3]["ratings"]["big"] == 10**30 and got[3]["ratings"]["tiny"] == 1e-7


def test_instances_and_measurements_read_raw_show_the_same(engine: Engine) -> None:
    from ionworks_server.measurements import MEASUREMENT_LIST
    from ionworks_server.resources import INSTANCE_LIST

    scope = cell_instances.c.cell_specification_id == "s0"
    expected, got = _both(engine, INSTANCES, INSTANCE_LIST, scope)
    _same(expected, got)
    assert {item["batch_name"] for item in got} == {None, "lot 1", "lot 3"}
    scope = cell_measurements.c.cell_instance_id == "i0"
    expected, got = _both(engine, MEASUREMENTS, MEASUREMENT_LIST, scope)
    _same(expected, got)
    assert {item["start_time"] for item in got} >= {None, "2026-01-02T03:04:05Z"}


def test_timestamps_stored_in_other_forms_are_parsed_as_sqlalchemy_parses_them(
    engine: Engine,
) -> None:
    """SQLite text not in SQLAlchemy's storage form (written by hand, older tools) still reads
    as SQLAlchemy would read it: the fast rewrite only takes the exact 26-character form."""
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL stores timestamps, not text")
    to_text = timestamp_text(engine.dialect)
    column_type = cell_specifications.c.created_at.type.dialect_impl(engine.dialect)
    parse = column_type.result_processor(engine.dialect, None)
    assert parse is not None
    for stored in [
        "2026-01-02 03:04:05.000000",
        "2026-01-02 03:04:05.500000",
        "2026-01-02 03:04:05",
        "2026-01-02 03:04:05.5",
        "2026-01-02 03:04",
        "2026-01-02",
        "2026-01-02T03:04:05.000001",
    ]:
        assert to_text(stored) == format_ts(parse(stored)), stored
    assert to_text(None) is None
    with engine.begin() as conn:
        conn.execute(text("UPDATE cell_specifications SET created_at = '2026-01-02 03:04:05.5'"))
    expected, got = _both(
        engine,
        SPECIFICATIONS,
        SPEC_LIST,
        cell_specifications.c.organization_id == ORG,
        _SPEC_SUMMARY,
    )
    _same(expected, got)
    assert got[0]["created_at"] == "2026-01-02T03:04:05.500000Z"


def test_responses_encode_to_what_json_would_have_sent() -> None:
    values: list[Any] = [
        {"items": [{"a": 1e-7, "b": 10**30, "é": "\x01\n/"}], "total": 1},  # big int: json's path
        {"n": math.nan, "i": [math.inf, -math.inf, 1.5]},
        {1: "int key"},
        {"deep": [{"x": [None, True, False, -0.0, 2**63 - 1]}]},
    ]
    for value in values:
        sent = json.loads(dumps(value))
        expected = json.loads(
            json.dumps(value, ensure_ascii=False)
            .replace("NaN", "null")
            .replace("-Infinity", "null")
            .replace("Infinity", "null")
        )
        assert sent == expected
    assert b" " not in dumps({"a": [1, 2], "b": {"c": None}})


def test_json_text_decodes_to_what_json_loads_gives() -> None:
    """The shortcuts for ``{}`` and ``[]`` included: no list column in the pages above is shown
    without a conversion that hides a ``[]`` read as ``{}`` (tags go through ``list()``)."""
    for raw in [
        "{}",
        "[]",
        "null",
        '{"a": [1, 2.5, null]}',
        "[{}]",
        '"s"',
        "123456789012345678901",
    ]:
        value = json_value(raw)
        assert value == json.loads(raw) and type(value) is type(json.loads(raw)), raw
    assert json_value(None) is None
    decoded = {"x": [1]}
    assert json_value(decoded) is decoded  # a driver that decoded it already (psycopg's json)
