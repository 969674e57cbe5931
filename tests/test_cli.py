"""The ``ionworks`` command line against the local server."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from ionworks import Ionworks

DOC_SPEC = "NCM622/Graphite Coin Cell"


def run(
    server: Any,
    *args: str,
    tmp_path: Path,
    check: bool = True,
    credentials_in_env: bool = True,
    umask: int = -1,
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "IONWORKS_API_URL": server.url,
        "IONWORKS_API_KEY": server.api_key,
        "IONWORKS_CACHE_DIR": str(tmp_path / "cache"),
        "MPLBACKEND": "Agg",
    }
    if not credentials_in_env:
        for name in ("IONWORKS_API_URL", "IONWORKS_API_KEY", "IONWORKS_API_TOKEN"):
            env.pop(name, None)
    result = subprocess.run(
        [sys.executable, "-m", "ionworks.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        umask=umask,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def ids(live_server: Any) -> dict[str, str]:
    client = Ionworks(api_key=live_server.api_key, api_url=live_server.url)
    spec = client.cell_spec.list(name_exact=DOC_SPEC)[0]
    instance = client.cell_instance.list(spec.id, name="batch-A-cell-01")[0]
    measurement = client.cell_measurement.list(instance.id, measurement_type="time_series")[0]
    return {"spec": spec.id, "instance": instance.id, "measurement": measurement.id}


def download_cycles(
    server: Any, ids: dict[str, str], output: str, tmp_path: Path, umask: int = -1
) -> None:
    """``ionworks measurements download <measurement> --what cycles -o output``."""
    run(
        server,
        *("measurements", "download", ids["measurement"], "--what", "cycles", "-o", output),
        tmp_path=tmp_path,
        umask=umask,
    )


def test_specs_list_json_matches_the_client(live_server: Any, tmp_path: Path) -> None:
    out = run(
        live_server,
        "specs",
        "list",
        "--name",
        "graphite",
        "--limit",
        "5",
        "--json",
        tmp_path=tmp_path,
    )
    body = json.loads(out.stdout)
    client = Ionworks(api_key=live_server.api_key, api_url=live_server.url)
    assert body["total"] == client.cell_spec.list(name="graphite").total
    assert len(body["items"]) == 5 and all("graphite" in i["name"].lower() for i in body["items"])


def test_specs_list_all_prints_a_table_of_every_match(live_server: Any, tmp_path: Path) -> None:
    out = run(
        live_server,
        "specs",
        "list",
        "--form-factor",
        "R2032",
        "--all",
        "--limit",
        "20",
        tmp_path=tmp_path,
    )
    client = Ionworks(api_key=live_server.api_key, api_url=live_server.url)
    total = client.cell_spec.list(form_factor="R2032").total
    assert len(out.stdout.strip().splitlines()) == total + 1  # header + rows
    assert f"{total} of {total}" in out.stderr


def test_measurements_download_writes_the_same_table_as_the_client(
    live_server: Any, ids: dict[str, str], tmp_path: Path
) -> None:
    target = tmp_path / "ts.parquet"
    out = run(
        live_server,
        "measurements",
        "download",
        ids["measurement"],
        "-o",
        str(target),
        tmp_path=tmp_path,
    )
    assert "wrote" in out.stdout
    client = Ionworks(api_key=live_server.api_key, api_url=live_server.url)
    expected = client.cell_measurement.time_series(ids["measurement"], use_cache=False)
    assert pl.read_parquet(target).equals(expected)
    assert "%" not in out.stderr  # no progress bar when not on a terminal


def test_measurements_download_csv_of_steps(
    live_server: Any, ids: dict[str, str], tmp_path: Path
) -> None:
    target = tmp_path / "steps.csv"
    run(
        live_server,
        "measurements",
        "download",
        ids["measurement"],
        "--what",
        "steps",
        "-o",
        str(target),
        tmp_path=tmp_path,
    )
    client = Ionworks(api_key=live_server.api_key, api_url=live_server.url)
    assert pl.read_csv(target).height == client.cell_measurement.steps(ids["measurement"]).height


def test_measurements_upload_then_list(
    live_server: Any, ids: dict[str, str], tmp_path: Path
) -> None:
    client = Ionworks(api_key=live_server.api_key, api_url=live_server.url)
    source = client.cell_measurement.time_series(ids["measurement"]).head(2000)
    path = tmp_path / "upload.csv"
    source.write_csv(path)
    out = run(
        live_server,
        "measurements",
        "upload",
        ids["instance"],
        str(path),
        "--name",
        "cli-upload",
        "--json",
        tmp_path=tmp_path,
    )
    created = json.loads(out.stdout)
    try:
        assert created["processing_status"] == "ready" and created["row_count"] == 2000
        listed = run(
            live_server,
            "measurements",
            "list",
            ids["instance"],
            "--name",
            "cli-upload",
            "--json",
            tmp_path=tmp_path,
        )
        assert [m["id"] for m in json.loads(listed.stdout)["items"]] == [created["id"]]
    finally:
        client.cell_measurement.delete(created["id"])


def test_measurements_plot_writes_a_png(
    live_server: Any, ids: dict[str, str], tmp_path: Path
) -> None:
    target = tmp_path / "plot.png"
    run(
        live_server,
        "measurements",
        "plot",
        ids["measurement"],
        "-o",
        str(target),
        "--kind",
        "capacity",
        tmp_path=tmp_path,
    )
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_errors_print_one_line_and_exit_non_zero(live_server: Any, tmp_path: Path) -> None:
    result = run(live_server, "specs", "get", "no-such-spec", tmp_path=tmp_path, check=False)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith("error: 404 NOT_FOUND")
    assert "Traceback" not in result.stderr


def test_cache_info_and_clear(live_server: Any, ids: dict[str, str], tmp_path: Path) -> None:
    download_cycles(live_server, ids, str(tmp_path / "c.parquet"), tmp_path)
    info = json.loads(run(live_server, "cache", "info", "--json", tmp_path=tmp_path).stdout)
    assert info["entries"] == 1 and info["directory"] == str(tmp_path / "cache")
    cleared = json.loads(run(live_server, "cache", "clear", "--json", tmp_path=tmp_path).stdout)
    assert cleared == {"deleted": 1}


def test_every_command_has_help(tmp_path: Path) -> None:
    for args in (
        ["--help"],
        ["specs", "list", "--help"],
        ["measurements", "download", "--help"],
        ["cache", "info", "--help"],
        ["measurements", "upload", "--help"],
    ):
        result = subprocess.run(
            [sys.executable, "-m", "ionworks.cli", *args], capture_output=True, text=True
        )
        assert result.returncode == 0 and "usage:" in result.stdout


# ------------------------------------------------------------------ common options, anywhere


def test_options_before_the_command_are_used(live_server: Any, tmp_path: Path) -> None:
    out = run(
        live_server,
        "--api-key",
        live_server.api_key,
        "--api-url",
        live_server.url,
        "--json",
        "specs",
        "list",
        "--limit",
        "2",
        tmp_path=tmp_path,
        credentials_in_env=False,
    )
    assert len(json.loads(out.stdout)["items"]) == 2


def test_options_between_command_and_action_are_used(live_server: Any, tmp_path: Path) -> None:
    out = run(live_server, "specs", "--json", "list", "--limit", "1", tmp_path=tmp_path)
    assert len(json.loads(out.stdout)["items"]) == 1


def test_an_option_after_the_action_wins_over_one_before(live_server: Any, tmp_path: Path) -> None:
    out = run(
        live_server,
        "--api-key",
        "wrong-key",
        "--api-url",
        live_server.url,
        "specs",
        "list",
        "--limit",
        "1",
        "--api-key",
        live_server.api_key,
        "--json",
        tmp_path=tmp_path,
        credentials_in_env=False,
    )
    assert len(json.loads(out.stdout)["items"]) == 1


def test_missing_credentials_name_the_cli_option_and_the_variable(
    live_server: Any, tmp_path: Path
) -> None:
    result = run(
        live_server, "specs", "list", tmp_path=tmp_path, check=False, credentials_in_env=False
    )
    assert result.returncode == 1
    assert "--api-key" in result.stderr and "IONWORKS_API_KEY" in result.stderr
    assert "Ionworks(" not in result.stderr


def test_a_bad_api_url_names_the_cli_option(live_server: Any, tmp_path: Path) -> None:
    result = run(
        live_server, "--api-url", "localhost:8000", "specs", "list", tmp_path=tmp_path, check=False
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: --api-url 'localhost:8000' must start with http://")


# ------------------------------------------------------------------ plot, files, cache info


def test_measurements_plot_json_prints_json_and_titles_with_the_name(
    live_server: Any, ids: dict[str, str], tmp_path: Path
) -> None:
    target = tmp_path / "ts.png"
    out = run(
        live_server,
        "measurements",
        "plot",
        ids["measurement"],
        "-o",
        str(target),
        "--json",
        tmp_path=tmp_path,
    )
    client = Ionworks(api_key=live_server.api_key, api_url=live_server.url)
    name = client.cell_measurement.get(ids["measurement"]).name
    assert json.loads(out.stdout) == {
        "path": str(target),
        "measurement_id": ids["measurement"],
        "kind": "time_series",
        "title": name,
    }
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_plotted_figure_has_the_name_units_and_sign_convention(
    live_server: Any, ids: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In-process, with a spy on savefig, so the figure object itself can be inspected."""
    from matplotlib.figure import Figure

    from ionworks import cli

    saved: list[Figure] = []
    original = Figure.savefig

    def spy(self: Figure, *args: Any, **kwargs: Any) -> None:
        saved.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", spy)
    monkeypatch.setenv("IONWORKS_CACHE_DIR", str(tmp_path / "cache"))
    options = ["--api-key", live_server.api_key, "--api-url", live_server.url]
    plot = [*options, "measurements", "plot", ids["measurement"]]
    assert cli.main([*plot, "-o", str(tmp_path / "p.png")]) == 0
    client = Ionworks(api_key=live_server.api_key, api_url=live_server.url)
    name = client.cell_measurement.get(ids["measurement"]).name
    voltage, current, temperature = saved[0].axes
    assert voltage.get_title() == name
    assert current.get_ylabel() == "Current [mA]\n(+ discharge, - charge)"  # a coin cell
    assert temperature.get_ylabel() == "Temperature [degC]"

    assert cli.main([*plot, "--kind", "capacity", "-o", str(tmp_path / "c.png")]) == 0
    capacity, efficiency = saved[1].axes
    assert capacity.get_title() == name and capacity.get_ylabel() == "Capacity [mA.h]"
    assert efficiency.get_ylabel() == "Coulombic efficiency [%]"


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_written_files_get_the_permissions_of_any_new_file(
    live_server: Any, ids: dict[str, str], tmp_path: Path, umask: int
) -> None:
    download, plot = tmp_path / "c.parquet", tmp_path / "c.png"
    download_cycles(live_server, ids, str(download), tmp_path, umask=umask)
    run(
        live_server,
        "measurements",
        "plot",
        ids["measurement"],
        "--kind",
        "capacity",
        "-o",
        str(plot),
        tmp_path=tmp_path,
        umask=umask,
    )
    for path in (download, plot):
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask, path
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_rewriting_a_file_keeps_its_permissions(
    live_server: Any, ids: dict[str, str], tmp_path: Path
) -> None:
    target = tmp_path / "c.csv"
    target.write_text("old")
    target.chmod(0o640)
    download_cycles(live_server, ids, str(target), tmp_path)
    assert stat.S_IMODE(target.stat().st_mode) == 0o640 and target.read_text() != "old"


def test_cache_info_text_has_units_and_json_has_raw_numbers(
    live_server: Any, ids: dict[str, str], tmp_path: Path
) -> None:
    download_cycles(live_server, ids, str(tmp_path / "c.parquet"), tmp_path)
    info = json.loads(run(live_server, "cache", "info", "--json", tmp_path=tmp_path).stdout)
    assert isinstance(info["size_bytes"], int) and info["size_bytes"] > 0
    assert info["ttl"] == 3600
    text = run(live_server, "cache", "info", tmp_path=tmp_path).stdout
    fields = dict(line.strip().split(": ", 1) for line in text.splitlines())
    assert re.fullmatch(r"\d+(\.\d)? (B|KiB|MiB)", fields["size"]), fields
    assert fields["ttl"] == "1 hour"
    assert fields["size limit"] == "10 GiB"


def test_human_units() -> None:
    from ionworks.cli import human_bytes, human_duration

    assert [human_bytes(n) for n in (0, 1023, 1024, 1536, 1288490188, 10 * 1024**3)] == [
        "0 B",
        "1023 B",
        "1 KiB",
        "1.5 KiB",
        "1.2 GiB",
        "10 GiB",
    ]
    assert [human_duration(s) for s in (45, 60, 5400, 7200, 86400, 604800)] == [
        "45 seconds",
        "1 minute",
        "1.5 hours",
        "2 hours",
        "1 day",
        "7 days",
    ]


def test_a_name_passed_as_an_id_gets_the_command_that_finds_it(
    live_server: Any, tmp_path: Path
) -> None:
    result = run(live_server, "instances", "list", DOC_SPEC, tmp_path=tmp_path, check=False)
    assert result.returncode == 1
    hint = f"ionworks specs list --name-exact '{DOC_SPEC}'"
    assert hint in result.stderr, result.stderr
    assert "client." not in result.stderr  # the Python spelling is for Python callers
    found = run(live_server, "--json", "specs", "list", "--name-exact", DOC_SPEC, tmp_path=tmp_path)
    assert [spec["name"] for spec in json.loads(found.stdout)["items"]] == [DOC_SPEC]


# ---------------------------------------------------------------- cycler files

CYCLERS = Path(__file__).parent / "data" / "cyclers"


def test_read_converts_a_cycler_file_to_the_standard_parquet(
    live_server: Any, tmp_path: Path
) -> None:
    from ionworks.data import read

    target = tmp_path / "maccor.parquet"
    out = run(
        live_server,
        *("read", str(CYCLERS / "maccor_small.txt"), "-o", str(target), "--json"),
        tmp_path=tmp_path,
    )
    summary = json.loads(out.stdout)
    assert summary["reader"] == "maccor" and summary["rows"] == 8
    assert pl.read_parquet(target).equals(read.time_series(CYCLERS / "maccor_small.txt"))


def test_read_with_a_forced_reader_writes_csv_and_a_plot(live_server: Any, tmp_path: Path) -> None:
    table, plot = tmp_path / "b.csv", tmp_path / "b.png"
    out = run(
        live_server,
        *("read", str(CYCLERS / "biologic_small.mpt"), "-r", "biologic mpt"),
        *("-o", str(table), "--plot", str(plot)),
        tmp_path=tmp_path,
    )
    assert "read 6 rows from biologic_small.mpt (biologic mpt)" in out.stdout
    assert pl.read_csv(table)["Current [A]"].to_list() == [0.0, 0.0, -0.5, -0.5, 1.0, 1.0]
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_read_of_an_unknown_file_lists_the_readers_and_writes_nothing(
    live_server: Any, tmp_path: Path
) -> None:
    source, target = tmp_path / "notes.txt", tmp_path / "out.parquet"
    source.write_text("not a cycler file\n")
    out = run(live_server, "read", str(source), "-o", str(target), tmp_path=tmp_path, check=False)
    assert out.returncode == 1
    assert "not a format we recognise" in out.stderr and "maccor" in out.stderr
    assert not target.exists()


def test_upload_of_a_cycler_file_detects_it_and_keeps_its_start_time(
    live_server: Any, ids: dict[str, str], tmp_path: Path
) -> None:
    client = Ionworks(api_key=live_server.api_key, api_url=live_server.url)
    out = run(
        live_server,
        *("measurements", "upload", str(CYCLERS / "novonix_small.csv")),
        *("--instance", ids["instance"], "--name", "cli-novonix", "--json"),
        tmp_path=tmp_path,
    )
    created = json.loads(out.stdout)
    try:
        assert created["processing_status"] == "ready" and created["row_count"] == 6
        assert created["start_time"].startswith("2024-03-01T09:00:00")
        series = client.cell_measurement.time_series(created["id"])
        assert series["Current [A]"].to_list() == [0.0, 0.0, -0.05, -0.05, 0.1, 0.1]
    finally:
        client.cell_measurement.delete(created["id"])


def test_upload_of_a_file_that_does_not_read_uploads_nothing(
    live_server: Any, ids: dict[str, str], tmp_path: Path
) -> None:
    client = Ionworks(api_key=live_server.api_key, api_url=live_server.url)
    lines = (CYCLERS / "gamry_small.DTA").read_bytes().split(b"\r\n")
    broken = tmp_path / "cut.DTA"
    broken.write_bytes(b"\r\n".join(lines[:10]) + b"\r\n")
    out = run(
        live_server,
        *("measurements", "upload", str(broken), "--instance", ids["instance"]),
        *("--name", "cli-broken"),
        tmp_path=tmp_path,
        check=False,
    )
    assert out.returncode == 1 and "declares 3 rows but has 1" in out.stderr
    assert client.cell_measurement.list(ids["instance"], name="cli-broken").total == 0


def test_upload_needs_exactly_one_instance(
    live_server: Any, ids: dict[str, str], tmp_path: Path
) -> None:
    out = run(
        live_server,
        *("measurements", "upload", ids["instance"], str(CYCLERS / "arbin_small.csv")),
        *("--instance", ids["instance"]),
        tmp_path=tmp_path,
        check=False,
    )
    assert out.returncode == 1 and "FILE --instance ID" in out.stderr
