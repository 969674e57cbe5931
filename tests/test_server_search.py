"""Name search through the text indexes gives exactly what a scan gives (SQLite FTS5 trigram here,
PostgreSQL pg_trgm under make test-postgres): tricky names (unicode, case, ``%``, ``_``, a
backslash, quotes), short substrings that no trigram index can serve, and ``total``.

The scan is the same ``LIKE`` run on the server's database without the index (SQLite: no FTS
condition; PostgreSQL: index scans switched off), so any difference is the index's doing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import http_client, new_organization_key
from server_process import ServerProcess, database_url_for
from sqlalchemy import Engine, select, text

from ionworks_server.db import cell_measurements as M
from ionworks_server.db import cell_specifications as S
from ionworks_server.db import create_db_engine, organizations
from ionworks_server.search import ESCAPE, literal_runs, match_query, substring_pattern

NAMES = [
    "NMC811/Graphite 21700",
    "nmc811/graphite 18650",
    "Ünïcode Çell NMC",
    "ÜNÏCODE ÇELL nmc",
    "straße Zelle",
    "under_score 50%",
    "under-score 50 pct",
    "back\\slash cell",
    "quote \"double\" and 'single'",
    "emoji 🔋 cell",
    "ab",
    "xabx",
    "日本語のセル",
]
PATTERNS = [
    "%nmc%",
    "%NMC811%",
    "%graphite 2%",
    "%ünïcode%",
    "%ÜNÏ%",
    "%STRASSE%",
    "%straße%",
    "%50\\%%",
    "%50%%",
    "%r_s%",
    "%under_score%",
    "%\\%",
    "%slash%",
    '%"double"%',
    "%'single'%",
    "%🔋 c%",
    "%ab%",
    "%a%",
    "ab",
    "%b",
    "x%x",
    "%本語%",
    "%_%",
    "%",
    "%zzzz%",
    "NMC811%",
    "%e__%",
]


ORG_NAME = f"search-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def org(empty_server: ServerProcess) -> Iterator[httpx.Client]:
    """An organization of its own holding NAMES as specifications (one instance each)."""
    http = http_client(empty_server, new_organization_key(empty_server, ORG_NAME))
    for name in NAMES:
        spec = http.post("/cell_specifications", json={"name": name})
        assert spec.status_code == 201, spec.text
        cell = http.post(
            f"/cell_specifications/{spec.json()['id']}/cell_instances", json={"name": name}
        )
        assert cell.status_code == 201, cell.text
        made = http.post(
            f"/cell_instances/{cell.json()['id']}/cell_measurements/create",
            json={"name": f"m {name}", "notes": f"notes of {name}", "properties": {}},
        )
        assert made.status_code == 201, made.text
    yield http
    http.close()


@pytest.fixture(scope="module")
def org_id(database: Engine, org: httpx.Client) -> str:
    with database.connect() as conn:
        return str(
            conn.execute(
                select(organizations.c.id).where(organizations.c.name == ORG_NAME)
            ).scalar()
        )


@pytest.fixture(scope="module")
def database(empty_server: ServerProcess) -> Iterator[Engine]:
    url = database_url_for(empty_server.data_dir)
    engine = create_db_engine(url or f"sqlite:///{empty_server.data_dir / 'ionworks.sqlite3'}")
    yield engine
    engine.dispose()


def _scan(engine: Engine, column: object, organization_id: str, pattern: str) -> list[str]:
    """The names the engine's own LIKE matches, read without any text index."""
    table = S if column is S.c.name else M
    query = (
        select(table.c.name)
        .where(table.c.organization_id == organization_id)
        .where(table.c[column.name].ilike(pattern, escape=ESCAPE))  # type: ignore[attr-defined]
    )
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET enable_bitmapscan = off"))
            conn.execute(text("SET enable_indexscan = off"))
        return sorted(conn.execute(query).scalars())


def _listed(http: httpx.Client, path: str, **params: str) -> tuple[list[str], int]:
    response = http.get(path, params={**params, "limit": "1000"})
    assert response.status_code == 200, response.text
    body = response.json()
    return sorted(item["name"] for item in body["items"]), body["total"]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_indexed_name_search_equals_the_scan(
    org: httpx.Client, database: Engine, org_id: str, pattern: str
) -> None:
    names, total = _listed(org, "/cell_specifications", name=f"ilike.{pattern}")
    # What the filter means: the user's backslashes are literal characters.
    expected = _scan(database, S.c.name, org_id, pattern.replace("\\", "\\\\"))
    assert names == expected
    assert total == len(expected)


def test_the_search_is_case_insensitive_and_wildcards_stay_wildcards(org: httpx.Client) -> None:
    assert _listed(org, "/cell_specifications", name="ilike.%NMC811/GRAPHITE%")[1] == 2
    assert _listed(org, "/cell_specifications", name="ilike.%under_score%")[0] == [
        "under-score 50 pct",
        "under_score 50%",
    ]
    assert _listed(org, "/cell_specifications", name="ilike.%back\\slash%")[0] == [
        "back\\slash cell"
    ]


@pytest.mark.parametrize("text_", ["nmc", "UNDER_SCORE", "50%", "back\\slash", "ab", "notes of x"])
def test_project_q_through_the_index_equals_the_scan(
    org: httpx.Client, database: Engine, org_id: str, text_: str
) -> None:
    names, total = _listed(org, "/cell_measurements", q=text_)
    pattern = substring_pattern(text_)
    by_name = _scan(database, M.c.name, org_id, pattern)
    by_notes = _scan(database, M.c.notes, org_id, pattern)
    expected = sorted(set(by_name) | set(by_notes))
    assert names == expected
    assert total == len(expected)


def test_fts_queries_use_only_runs_a_trigram_index_can_serve() -> None:
    assert literal_runs("%ab_cde%f\\%gh%") == ["ab", "cde", "f%gh"]
    assert match_query("%ab%", "name") is None
    assert match_query("%a_b_c%", None) is None
    assert match_query('%say "hi"%', "name") == 'name : ("say ""hi""")'
    assert match_query("%abc%xyz_%", None) == '"abc" AND "xyz"'


def test_the_fts_table_follows_renames_and_deletes(
    org: httpx.Client, tmp_path: Path, unique: str
) -> None:
    spec = org.post("/cell_specifications", json={"name": f"before-{unique}"}).json()
    assert _listed(org, "/cell_specifications", name=f"ilike.%before-{unique}%")[1] == 1
    renamed = org.patch(f"/cell_specifications/{spec['id']}", json={"name": f"after-{unique}"})
    assert renamed.status_code == 200
    assert _listed(org, "/cell_specifications", name=f"ilike.%before-{unique}%")[1] == 0
    assert _listed(org, "/cell_specifications", name=f"ilike.%after-{unique}%")[1] == 1
    assert org.delete(f"/cell_specifications/{spec['id']}").status_code == 204
    assert _listed(org, "/cell_specifications", name=f"ilike.%after-{unique}%")[1] == 0


@pytest.mark.parametrize("pattern", ["%nmc%", "%cell%", "%graphite 2%", "%zzzz%"])
def test_small_pages_of_a_search_are_slices_of_the_whole_list(
    org: httpx.Client, pattern: str
) -> None:
    """Pages up to 100 rows are read by id after one counting pass (records._keyed_page), and a
    page that ends the list takes its total from its own length: every page, in both orders
    and past the end, is the slice of the full list with the same total."""
    for order in ("asc", "desc"):
        params = {"name": f"ilike.{pattern}", "order_by": "name", "order": order}
        whole = org.get("/cell_specifications", params={**params, "limit": "1000"}).json()
        names = [item["name"] for item in whole["items"]]
        pages = [(1, 0), (2, 1), (3, 2), (50, 0), (100, 1), (2, len(names) + 5)]
        pages += [(101, 0), (1000, 2), (1000, len(names)), (1000, len(names) + 5)]
        for limit, offset in pages:
            page = org.get(
                "/cell_specifications",
                params={**params, "limit": str(limit), "offset": str(offset)},
            ).json()
            assert [item["name"] for item in page["items"]] == names[offset : offset + limit]
            assert page["items"] == whole["items"][offset : offset + limit]
            assert page["total"] == whole["total"] == len(names)
            assert page["count"] == len(page["items"])
