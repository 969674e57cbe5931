"""A CLI command closes the client it builds on every path (done, failed, crashed, interrupted),
and an error no command expects is one line naming the command, not a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ionworks import Ionworks, cli
from ionworks._client import Ionworks as ClientClass


@pytest.fixture(scope="module")
def measurement_id(live_server: Any) -> str:
    with Ionworks(api_key=live_server.api_key, api_url=live_server.url) as client:
        spec = client.cell_spec.list(name_exact="NCM622/Graphite Coin Cell")[0]
        instance = client.cell_instance.list(spec.id, name="batch-A-cell-01")[0]
        return client.cell_measurement.list(instance.id, measurement_type="time_series")[0].id


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("specs", "list", "--limit", "2"), 0),
        (("specs", "get", "no-such-spec"), 1),
        (("measurements", "download", "{mid}", "--what", "steps", "-o", "{out}"), 0),
    ],
)
def test_a_command_leaves_no_unclosed_socket(
    live_server: Any, measurement_id: str, tmp_path: Path, args: tuple[str, ...], code: int
) -> None:
    """Python reports a socket left open at exit as a ResourceWarning (shown with ``-X dev``)."""
    filled = [a.format(mid=measurement_id, out=tmp_path / "steps.parquet") for a in args]
    env = {
        **os.environ,
        "IONWORKS_API_URL": live_server.url,
        "IONWORKS_API_KEY": live_server.api_key,
    }
    result = subprocess.run(
        [
            sys.executable,
            "-X",
            "dev",
            "-W",
            "always::ResourceWarning",
            "-m",
            "ionworks.cli",
            *filled,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == code, result.stderr
    assert "ResourceWarning" not in result.stderr, result.stderr


@pytest.fixture
def clients(live_server: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, list[int]]:
    """The ids of the clients the CLI built and of those it closed (close itself still runs)."""
    seen: dict[str, list[int]] = {"built": [], "closed": []}
    build, close = cli._new_client, ClientClass.close

    def counted_build(args: Any) -> Any:
        client = build(args)
        seen["built"].append(id(client))
        return client

    def counted_close(self: ClientClass) -> None:
        seen["closed"].append(id(self))
        close(self)

    monkeypatch.setattr(cli, "_new_client", counted_build)
    monkeypatch.setattr(ClientClass, "close", counted_close)
    monkeypatch.setenv("IONWORKS_API_URL", live_server.url)
    monkeypatch.setenv("IONWORKS_API_KEY", live_server.api_key)
    return seen


def closed_once(seen: dict[str, list[int]]) -> bool:
    return len(seen["built"]) == 1 and seen["closed"] == seen["built"]


def test_the_client_is_closed_after_a_command_that_succeeds(
    clients: dict[str, list[int]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["specs", "list", "--limit", "1", "--json"]) == 0
    assert closed_once(clients)


def test_the_client_is_closed_after_a_command_that_fails(
    clients: dict[str, list[int]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["specs", "get", "no-such-spec"]) == 1
    assert capsys.readouterr().err.startswith("error: 404 NOT_FOUND")
    assert closed_once(clients)


def _raise(error: BaseException) -> Any:
    def fault(*_: Any, **__: Any) -> None:
        raise error

    return fault


def test_an_unexpected_error_is_one_line_naming_the_command_and_the_way_to_the_traceback(
    clients: dict[str, list[int]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cli, "_emit_page", _raise(LookupError("page 3\nwent missing")))
    assert cli.main(["specs", "list", "--limit", "1"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("error: ionworks specs list failed unexpectedly")
    assert "LookupError: page 3 went missing" in err and "--debug" in err
    assert closed_once(clients)


def test_debug_shows_the_unexpected_error_itself_and_still_closes(
    clients: dict[str, list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "_emit_page", _raise(LookupError("boom")))
    with pytest.raises(LookupError, match="boom"):
        cli.main(["specs", "list", "--limit", "1", "--debug"])
    assert closed_once(clients)


def test_ctrl_c_exits_130_with_a_short_line_and_closes(
    clients: dict[str, list[int]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cli, "_emit_page", _raise(KeyboardInterrupt()))
    assert cli.main(["specs", "list", "--limit", "1"]) == 130
    assert capsys.readouterr().err == "ionworks specs list: interrupted\n"
    assert closed_once(clients)


def test_a_usage_error_stays_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["specs", "list", "--limit", "many"])
    assert exited.value.code == 2
    assert "invalid int value" in capsys.readouterr().err
