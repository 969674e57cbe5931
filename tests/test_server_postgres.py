"""What the PostgreSQL backend changed, checked on whichever database the suite runs on (SQLite in
make test, PostgreSQL in make test-postgres), so both answer alike:

* NUL characters (PostgreSQL text cannot hold them) are a 400 in a body and a 404 in a path,
  never a 500;
* writers are serialised (SQLite's ``BEGIN IMMEDIATE``, PostgreSQL's advisory lock), so racing
  creates of one name give one 201 and 409s, never an integrity error;
* ``--database-url`` is checked before anything starts, and an unreachable database is one
  clear line.
"""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from conftest import http_client
from server_process import REPO_ROOT, ServerProcess, free_port


def test_a_nul_character_in_a_body_string_is_a_400_naming_the_field(
    empty_server: ServerProcess,
) -> None:
    http = http_client(empty_server)
    response = http.post(
        "/cell_specifications",
        content=b'{"name": "a\\u0000b"}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert response.json()["detail"]["field"] == "name"
    assert "NUL" in response.json()["message"]
    nested = http.post(
        "/cell_measurements/tags/bulk",
        json={"measurement_ids": ["x\x00y"], "add": ["t"]},
    )
    assert nested.status_code == 400, nested.text
    assert nested.json()["detail"]["field"] == "measurement_ids[0]"


def test_a_nul_character_in_a_path_id_is_a_404(empty_server: ServerProcess) -> None:
    http = http_client(empty_server)
    for path in ("/cell_specifications/a%00b", "/cell_measurements/%00"):
        response = http.get(path)
        assert response.status_code == 404, response.text


def test_racing_creates_of_one_name_give_one_row_and_409s(
    empty_server: ServerProcess, unique: str
) -> None:
    def create(_: int) -> int:
        with http_client(empty_server) as http:
            return http.post("/cell_specifications", json={"name": f"race-{unique}"}).status_code

    with ThreadPoolExecutor(8) as pool:
        codes = sorted(pool.map(create, range(16)))
    assert codes == [201] + [409] * 15


def _serve(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ionworks_server", "serve", "--port", str(free_port()), *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )


def test_an_unsupported_database_url_is_refused_before_start(tmp_path: Path) -> None:
    result = _serve("--data-dir", str(tmp_path / "d"), "--database-url", "mysql://x@y/z")
    assert result.returncode == 2
    assert "'mysql' is not a supported database" in result.stderr
    assert "postgresql://" in result.stderr
    assert not (tmp_path / "d").exists()


def test_an_unreachable_database_is_one_line_without_the_password(tmp_path: Path) -> None:
    url = f"postgresql://someone:secret-pw@127.0.0.1:{free_port()}/nothing"
    result = _serve("--data-dir", str(tmp_path / "d"), "--database-url", url)
    assert result.returncode == 1, result.stderr
    assert "cannot open the database postgresql://someone:***@127.0.0.1" in result.stderr
    assert "secret-pw" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
