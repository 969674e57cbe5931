"""Deleting cascades, as openapi.yaml documents: no rows, reservations or stored files are left
behind under a deleted specification, instance or measurement."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import httpx
from conftest import http_client, new_spec_and_instance, upload_time_series, wait_processed
from server_process import ServerProcess, database_url_for
from test_server_resources import SERIES


def db_count(server: ServerProcess, sql: str, *args: Any) -> int:
    """Count rows straight from the server's database (SQLite: its file, read-only)."""
    postgres = database_url_for(server.data_dir)
    if postgres:  # make test-postgres
        import psycopg

        with psycopg.connect(postgres) as pg:
            found = pg.execute(sql.replace("?", "%s"), args).fetchone()
            assert found is not None
            return int(found[0])
    uri = f"file:{server.data_dir / 'ionworks.sqlite3'}?mode=ro"
    with sqlite3.connect(uri, uri=True) as conn:
        return int(conn.execute(sql, args).fetchone()[0])


def stored_dirs(server: ServerProcess, object_id: str) -> list[Path]:
    root = server.data_dir / "storage"
    return [p for p in root.glob(f"*/{object_id}") if p.exists()]


def _populate(http: httpx.Client, unique: str) -> dict[str, Any]:
    """A spec with two instances, processed/properties/file measurements and an open upload."""
    spec, cell = new_spec_and_instance(http, unique)
    cell2 = http.post(
        f"/cell_specifications/{spec}/cell_instances", json={"name": "second", "batch_name": "lot"}
    ).json()["id"]
    series = upload_time_series(http, cell, "series", SERIES, measurement={"tags": ["t"]}).json()[
        "id"
    ]
    wait_processed(http, series)
    props = http.post(
        f"/cell_instances/{cell2}/cell_measurements/create",
        json={"name": "p", "properties": {}, "tags": ["q"]},
    ).json()["id"]
    initiated = http.post(
        f"/cell_instances/{cell2}/cell_measurements/initiate-upload",
        json={"measurement": {"name": "f"}, "measurement_type": "file", "filenames": ["a.csv"]},
    ).json()
    httpx.put(initiated["uploads"][0]["signed_url"], content=b"x,y\n1,2\n")
    files = http.post(
        f"/cell_measurements/{initiated['measurement_id']}/confirm-upload",
        json={"cell_instance_id": cell2, "measurement": {"name": "f"}, "measurement_type": "file"},
    ).json()["id"]
    pending = http.post(
        f"/cell_instances/{cell2}/cell_measurements/initiate-upload",
        json={"measurement": {"name": "open"}},
    ).json()
    httpx.put(pending["uploads"][0]["signed_url"], content=b"staged")
    return {
        "spec": spec,
        "instances": [cell, cell2],
        "measurements": [series, props, files],
        "reservation": pending["measurement_id"],
    }


def _assert_gone(server: ServerProcess, created: dict[str, Any], *, spec_too: bool) -> None:
    http = http_client(server)
    measurements = created["measurements"]
    for mid in measurements:
        assert http.get(f"/cell_measurements/{mid}").status_code == 404
    for iid in created["instances"]:
        assert http.get(f"/cell_instances/{iid}").status_code == 404
    marks = ",".join("?" * len(measurements))
    assert (
        db_count(
            server, f"SELECT COUNT(*) FROM cell_measurements WHERE id IN ({marks})", *measurements
        )
        == 0
    )
    assert (
        db_count(
            server,
            f"SELECT COUNT(*) FROM measurement_tags WHERE measurement_id IN ({marks})",
            *measurements,
        )
        == 0
    )
    assert (
        db_count(
            server, "SELECT COUNT(*) FROM upload_reservations WHERE id = ?", created["reservation"]
        )
        == 0
    )
    for object_id in [*measurements, created["reservation"]]:
        assert stored_dirs(server, object_id) == []
    if spec_too:
        assert (
            db_count(
                server,
                "SELECT COUNT(*) FROM batches WHERE cell_specification_id = ?",
                created["spec"],
            )
            == 0
        )
        assert (
            db_count(
                server,
                "SELECT COUNT(*) FROM cell_instances WHERE cell_specification_id = ?",
                created["spec"],
            )
            == 0
        )


def test_deleting_a_specification_cascades_and_leaves_no_rows_or_files(
    empty_server: ServerProcess, unique: str
) -> None:
    http = http_client(empty_server)
    created = _populate(http, unique)
    assert all(stored_dirs(empty_server, m) for m in created["measurements"][::2])
    response = http.delete(f"/cell_specifications/{created['spec']}")
    assert response.status_code == 204
    assert response.content == b""
    assert http.get(f"/cell_specifications/{created['spec']}").status_code == 404
    _assert_gone(empty_server, created, spec_too=True)


def test_deleting_an_instance_cascades_to_its_measurements_only(
    empty_server: ServerProcess, unique: str
) -> None:
    http = http_client(empty_server)
    created = _populate(http, unique)
    keep = created["instances"][0]
    assert http.delete(f"/cell_instances/{created['instances'][1]}").status_code == 204
    assert http.get(f"/cell_instances/{keep}").status_code == 200
    assert http.get(f"/cell_measurements/{created['measurements'][0]}").status_code == 200
    _assert_gone(
        empty_server,
        {
            **created,
            "instances": created["instances"][1:],
            "measurements": created["measurements"][1:],
        },
        spec_too=False,
    )


def test_deleting_a_measurement_removes_its_files(empty_server: ServerProcess, unique: str) -> None:
    http = http_client(empty_server)
    _, cell = new_spec_and_instance(http, unique)
    mid = upload_time_series(http, cell, "series", SERIES).json()["id"]
    wait_processed(http, mid)
    assert stored_dirs(empty_server, mid)
    assert http.delete(f"/cell_measurements/{mid}").status_code == 204
    assert stored_dirs(empty_server, mid) == []
    assert http.delete(f"/cell_measurements/{mid}").status_code == 404
