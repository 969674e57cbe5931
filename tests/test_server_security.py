"""Server operations and privacy (issue 10): where signed links point, data-dir permissions, key
hashing and its cache, a port in use, and connections that never finish their request head."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import socket
import sqlite3
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import polars as pl
import pytest
from conftest import http_client, new_spec_and_instance, upload_time_series, wait_processed
from server_process import REPO_ROOT, ServerProcess, admin, start_server
from sqlalchemy import Engine

from ionworks_server.auth import (
    authenticate,
    create_key,
    ensure_key,
    ensure_organization,
    ensure_user,
    hash_key,
    key_id,
    verify_key,
)
from ionworks_server.cli import _bind
from ionworks_server.config import Settings
from ionworks_server.db import create_db_engine, init_schema, write
from ionworks_server.errors import ApiError

KEY = "security-key-0123456789"
POLL_S = 60.0  # generous upper bound for polling on a loaded machine; never a timing assertion


def sql(data_dir: Path, statement: str, *args: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(data_dir / "ionworks.sqlite3") as conn:
        rows = conn.execute(statement, args).fetchall()
        conn.commit()
        return rows


def serve(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``python -m ionworks_server serve ARGS`` for a command that is expected to exit."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IONWORKS_SERVER_")}
    return subprocess.run(
        [sys.executable, "-m", "ionworks_server", "serve", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[list[ServerProcess]]:
    """Servers a test starts itself, all stopped at the end."""
    started: list[ServerProcess] = []
    yield started
    for server in started:
        server.stop()


def start(started: list[ServerProcess], data_dir: Path, *args: str) -> ServerProcess:
    server = start_server(data_dir, KEY, extra_args=args)
    started.append(server)
    return server


def signed_upload_url(server: ServerProcess, headers: dict[str, str]) -> str:
    """The time-series signed URL of a fresh initiate-upload sent with extra ``headers``."""
    http = http_client(server)
    _, instance_id = new_spec_and_instance(http, uuid.uuid4().hex[:10])
    response = http.post(
        f"/cell_instances/{instance_id}/cell_measurements/initiate-upload",
        json={"measurement": {"name": "m"}},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["uploads"][0]["signed_url"])


# -- signed links --------------------------------------------------------------------------


HOSTILE = {"Host": "evil.example:666", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil"}


def test_signed_links_ignore_the_host_header_and_forwarded_headers(
    empty_server: ServerProcess,
) -> None:
    url = signed_upload_url(empty_server, HOSTILE)
    assert url.startswith(f"{empty_server.url}/storage/uploads/"), url
    put = httpx.put(url, content=b"x", headers={"Content-Type": "application/octet-stream"})
    assert put.status_code == 200, put.text


def test_public_url_sets_where_signed_links_point(
    server_factory: list[ServerProcess], tmp_path: Path
) -> None:
    server = start(server_factory, tmp_path / "data", "--public-url", "https://files.example/iw/")
    url = signed_upload_url(server, HOSTILE)
    assert url.startswith("https://files.example/iw/storage/uploads/"), url
    assert "Signed links point at https://files.example/iw." in server.log()


def test_trust_proxy_follows_the_proxys_host_and_scheme(
    server_factory: list[ServerProcess], tmp_path: Path
) -> None:
    server = start(server_factory, tmp_path / "data", "--trust-proxy")
    url = signed_upload_url(server, {"Host": "proxy.example", "X-Forwarded-Proto": "https"})
    assert urlsplit(url)[:2] == ("https", "proxy.example"), url


@pytest.mark.parametrize("bad", ["ftp://x.example", "files.example", "https://x.example/?a=1"])
def test_a_bad_public_url_is_refused_before_anything_happens(tmp_path: Path, bad: str) -> None:
    result = serve("--public-url", bad, "--data-dir", str(tmp_path / "data"))
    assert result.returncode == 2
    assert result.stderr.startswith("error: --public-url"), result.stderr
    assert bad in result.stderr
    assert not (tmp_path / "data").exists()


# -- data dir permissions ------------------------------------------------------------------


def _modes(root: Path) -> dict[str, str]:
    """``{relative path: octal mode}`` of the root and everything under it."""
    modes = {".": oct(stat.S_IMODE(root.stat().st_mode))}
    for path in root.rglob("*"):
        modes[str(path.relative_to(root))] = oct(stat.S_IMODE(path.lstat().st_mode))
    return modes


def _assert_private(root: Path) -> None:
    modes = _modes(root)
    wrong = {
        name: mode
        for name, mode in modes.items()
        if mode != ("0o700" if (root / name).is_dir() else "0o600")
    }
    assert not wrong, f"not owner-only (dirs 0o700, files 0o600): {wrong}"


def test_the_data_dir_and_everything_in_it_is_owner_only(
    server_factory: list[ServerProcess], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)  # as an older release (or the user) left it
    data_dir.chmod(0o755)
    server = start(server_factory, data_dir)
    http = http_client(server)
    _, instance_id = new_spec_and_instance(http, "perm")
    frame = pl.DataFrame(
        {
            "Time [s]": [0.0, 1.0, 2.0, 3.0],
            "Voltage [V]": [3.7, 3.8, 3.9, 4.0],
            "Current [A]": [1.0, 1.0, 1.0, 1.0],
        }
    )
    confirmed = upload_time_series(http, instance_id, "perm-run", frame)
    assert confirmed.status_code == 201, confirmed.text
    body = wait_processed(http, confirmed.json()["id"])
    assert body["processing_status"] == "ready", body
    assert (data_dir / "ionworks.sqlite3-wal").exists()
    assert any(data_dir.rglob("*.parquet"))
    _assert_private(data_dir)
    server.stop()
    _assert_private(data_dir)


def test_admin_creates_an_owner_only_data_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "fresh"
    assert admin(data_dir, "create-key", "--organization", "lab").returncode == 0
    _assert_private(data_dir)


# -- API keys ------------------------------------------------------------------------------


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    settings = Settings.from_data_dir(tmp_path)
    engine = create_db_engine(settings.database_url)
    init_schema(engine)
    yield engine
    engine.dispose()


def _org_user(engine: Engine) -> tuple[str, str]:
    with write(engine) as conn:
        org = ensure_organization(conn, "lab")
        return org, ensure_user(conn, org, "a@lab")


def test_a_key_is_stored_as_salted_scrypt_with_its_parameters() -> None:
    first, second = hash_key("k1"), hash_key("k1")
    assert first != second  # a fresh salt each time
    assert hashlib.sha256(b"k1").hexdigest() not in first
    name, n, r, p, salt, digest = first.split("$")
    assert (name, n, r, p) == ("scrypt", "16384", "8", "1")
    expected = hashlib.scrypt(
        b"k1", salt=base64.b64decode(salt + "=="), n=2**14, r=8, p=1, dklen=32
    )
    assert base64.b64decode(digest + "=") == expected
    assert verify_key("k1", first) and not verify_key("k2", first)
    # The parameters travel with the hash: an older, cheaper one still verifies.
    cheap_salt = b"0123456789abcdef"
    cheap = hashlib.scrypt(b"k1", salt=cheap_salt, n=2**10, r=8, p=1, dklen=32)
    stored = "scrypt$1024$8$1$" + base64.b64encode(cheap_salt).decode().rstrip("=")
    stored += "$" + base64.b64encode(cheap).decode().rstrip("=")
    assert verify_key("k1", stored) and not verify_key("k2", stored)


def test_a_generated_key_is_found_by_its_public_id(engine: Engine) -> None:
    org, user = _org_user(engine)
    with write(engine) as conn:
        key = create_key(conn, org, user)
    with engine.connect() as conn:
        ((row_id, stored),) = conn.exec_driver_sql("SELECT id, key_hash FROM api_keys").all()
    assert row_id == key_id(key) == key[:20]
    assert stored.startswith("scrypt$") and key[20:] not in stored


def test_a_verified_key_is_cached_but_a_revoked_one_is_refused_at_once(engine: Engine) -> None:
    org, user = _org_user(engine)
    with write(engine) as conn:
        ensure_key(conn, org, user, "hand-chosen-key")
    headers = {"x-api-key": "hand-chosen-key"}
    assert authenticate(engine, headers).organization_name == "lab"
    with write(engine) as conn:
        conn.exec_driver_sql("UPDATE api_keys SET key_hash = 'scrypt$1$1$1$AA$AA'")
    # Not hashed again: the cache says which row this key is, and the row still exists.
    assert authenticate(engine, headers).email == "a@lab"
    with write(engine) as conn:
        conn.exec_driver_sql("DELETE FROM api_keys")
    with pytest.raises(ApiError) as refused:
        authenticate(engine, headers)
    assert refused.value.status == 403


def test_a_cached_key_whose_row_moved_is_still_accepted(engine: Engine) -> None:
    """Another process may upgrade a legacy row (moving it under its key id) after this one
    cached the old id: the key is looked up afresh, not refused."""
    org, user = _org_user(engine)
    with write(engine) as conn:
        key = create_key(conn, org, user)
    assert authenticate(engine, {"x-api-key": key}).email == "a@lab"
    with write(engine) as conn:
        conn.exec_driver_sql(
            "UPDATE api_keys SET id = 'key-moved', key_hash = ?",
            (hashlib.sha256(key.encode()).hexdigest(),),
        )
    assert authenticate(engine, {"x-api-key": key}).email == "a@lab"
    with engine.connect() as conn:
        ((row_id, stored),) = conn.exec_driver_sql("SELECT id, key_hash FROM api_keys").all()
    assert row_id == key_id(key) and stored.startswith("scrypt$")


def _make_legacy(data_dir: Path, keys: list[str]) -> None:
    """Rewrite the key rows as the release before scrypt stored them: sha256 hex, id key-<uuid>."""
    for key in keys:
        digest = hashlib.sha256(key.encode()).hexdigest()
        (row_id,) = [
            r[0]
            for r in sql(data_dir, "SELECT id, key_hash FROM api_keys")
            if verify_key(key, str(r[1]))
        ]
        sql(
            data_dir,
            "UPDATE api_keys SET id = ?, key_hash = ? WHERE id = ?",
            f"key-{uuid.uuid4()}",
            digest,
            row_id,
        )


def test_a_data_dir_with_sha256_keys_keeps_working_and_is_upgraded(
    server_factory: list[ServerProcess], tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    start(server_factory, data_dir).stop()
    generated = admin(data_dir, "create-key", "--organization", "lab").stdout.strip()
    _make_legacy(data_dir, [KEY, generated])
    assert {str(r[0]) for r in sql(data_dir, "SELECT key_hash FROM api_keys")} == {
        hashlib.sha256(KEY.encode()).hexdigest(),
        hashlib.sha256(generated.encode()).hexdigest(),
    }
    server = start(server_factory, data_dir)  # --api-key KEY: found and upgraded at start
    assert http_client(server, generated).get("/users/me").status_code == 200
    assert http_client(server).get("/users/me").status_code == 200
    rows = {str(r[0]): str(r[1]) for r in sql(data_dir, "SELECT id, key_hash FROM api_keys")}
    assert all(h.startswith("scrypt$") for h in rows.values()), rows
    assert key_id(generated) in rows  # moved under its public id: no scan needed any more
    server.stop()
    again = start(server_factory, data_dir)
    assert http_client(again, generated).get("/users/me").status_code == 200
    assert http_client(again, "wrong-key").get("/users/me").status_code == 403


def test_admin_revoke_key_is_refused_at_once_by_a_running_server(
    server_factory: list[ServerProcess], tmp_path: Path
) -> None:
    server = start(server_factory, tmp_path / "data")
    key = admin(server.data_dir, "create-key", "--organization", "lab").stdout.strip()
    http = http_client(server, key)
    assert http.get("/users/me").status_code == 200  # verified and cached
    revoked = admin(server.data_dir, "revoke-key", "--key", key)
    assert revoked.returncode == 0, revoked.stderr
    assert http.get("/users/me").status_code == 403
    again = admin(server.data_dir, "revoke-key", "--key", key)
    assert again.returncode == 1 and "no such key" in again.stderr
    assert http_client(server).get("/users/me").status_code == 200  # other keys unaffected


# -- a port in use -------------------------------------------------------------------------


def test_a_port_in_use_is_one_line_of_error_and_writes_nothing(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        data_dir = tmp_path / "never-created"
        result = serve("--port", str(port), "--data-dir", str(data_dir), "--demo")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        f"error: port {port} on 127.0.0.1 is in use (address already in use); "
        "pass --port with a free port"
    ]
    assert not data_dir.exists()


def test_the_listening_socket_is_tcp_so_responses_are_not_delayed_by_nagle() -> None:
    """asyncio sets TCP_NODELAY on accepted connections only when the listener's proto is TCP;
    a socket made with proto 0 made every small response wait ~40 ms (delayed ACK)."""
    sock = _bind("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
    finally:
        sock.close()


# -- stalled connections -------------------------------------------------------------------


def _open_stalled(server: ServerProcess, count: int) -> list[socket.socket]:
    """Connections that send half a request head and then nothing."""
    host, port = urlsplit(server.url).hostname, urlsplit(server.url).port
    socks = []
    for _ in range(count):
        sock = socket.create_connection((host, port), timeout=30)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        socks.append(sock)
    return socks


def _closed_by_server(sock: socket.socket) -> bool:
    """Peek without waiting: end of stream or a reset means the server closed it."""
    sock.setblocking(False)  # a socket timeout would make the peek wait, then look like a close
    try:
        return sock.recv(1, socket.MSG_PEEK) == b""
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True


def _wait_closed(socks: list[socket.socket], at_least: int) -> int:
    deadline = time.monotonic() + POLL_S
    while True:
        closed = sum(_closed_by_server(s) for s in socks)
        if closed >= at_least or time.monotonic() > deadline:
            return closed
        time.sleep(0.05)


def _read_response(sock: socket.socket) -> bytes:
    """One whole response (head and Content-Length body), so nothing is left unread."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(4096)
    head, _, body = data.partition(b"\r\n\r\n")
    match = re.search(rb"content-length: *(\d+)", head, re.IGNORECASE)
    assert match, head
    length = int(match.group(1))
    while len(body) < length:
        body += sock.recv(4096)
    return data


def test_connections_without_a_complete_head_are_closed_after_the_timeout(
    server_factory: list[ServerProcess], tmp_path: Path
) -> None:
    server = start(server_factory, tmp_path / "data", "--header-timeout", "0.5")
    socks = _open_stalled(server, 5)
    # A kept-alive connection that starts its next request head and stalls is closed too.
    keep = socket.create_connection(("127.0.0.1", urlsplit(server.url).port), timeout=30)
    keep.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert _read_response(keep).startswith(b"HTTP/1.1 200")
    keep.sendall(b"GET /healthz HTTP/1.1\r\n")
    try:
        assert _wait_closed([*socks, keep], 6) == 6
    finally:
        for sock in [*socks, keep]:
            sock.close()
    assert httpx.get(f"{server.url}/healthz").status_code == 200  # still serving


def test_connections_beyond_the_limit_are_closed_at_once(
    server_factory: list[ServerProcess], tmp_path: Path
) -> None:
    server = start(
        server_factory, tmp_path / "data", "--max-connections", "3", "--header-timeout", "600"
    )
    socks = _open_stalled(server, 6)
    try:
        # With a 600 s head timeout, only the connection cap can close these. The three beyond
        # the cap close; of the first three at most one may (if the server has not yet seen the
        # start-up health check's connection go, that one still holds a slot).
        assert _wait_closed(socks[3:], 3) == 3
        assert sum(_closed_by_server(sock) for sock in socks[:3]) <= 1
    finally:
        for sock in socks:
            sock.close()
    deadline = time.monotonic() + POLL_S
    while True:  # once the stalled ones are gone, the server takes new connections again
        try:
            if httpx.get(f"{server.url}/healthz").status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "server did not recover after the stalled clients left"
        time.sleep(0.05)


@pytest.mark.parametrize(("flag", "value"), [("--header-timeout", "0"), ("--max-connections", "0")])
def test_bad_connection_limits_are_refused(tmp_path: Path, flag: str, value: str) -> None:
    result = serve(flag, value, "--data-dir", str(tmp_path / "data"))
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {flag} must be"), result.stderr


def test_help_shows_the_new_flags() -> None:
    text = serve("--help").stdout
    for flag in ("--public-url", "--trust-proxy", "--header-timeout", "--max-connections"):
        assert re.search(rf"{flag}\b", text), flag
