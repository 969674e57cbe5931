"""``client.cell_measurement.create(instance_id, "run-42.txt")``: a path is read, checked, uploaded.

On the real local server: a cycler file becomes a measurement named after it with the rows the
reader gives; a file that does not read raises the reader's error and creates nothing.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from conftest import http_client, new_spec_and_instance

from ionworks import Ionworks
from ionworks.data import read
from ionworks.data.columns import TIME
from ionworks.data.read import ReaderError
from ionworks.errors import MeasurementValidationError

CYCLERS = Path(__file__).parent / "data" / "cyclers"


@pytest.fixture()
def instance(empty_server: Any, unique: str, tmp_path: Path) -> tuple[Ionworks, str]:
    """A client (with a private cache, not the user's) and a fresh, empty cell instance."""
    with http_client(empty_server) as http:
        _, instance_id = new_spec_and_instance(http, unique)
    client = Ionworks(
        api_key=empty_server.api_key, api_url=empty_server.url, cache_dir=tmp_path / "cache"
    )
    return client, instance_id


def measurements(client: Ionworks, instance_id: str) -> int:
    """How many measurements the instance has on the server."""
    return client.cell_measurement.list(instance_id).total


def test_a_cycler_file_path_is_read_and_uploaded(instance: tuple[Ionworks, str]) -> None:
    client, instance_id = instance
    path = CYCLERS / "maccor_small.txt"
    bundle = client.cell_measurement.create(instance_id, str(path))
    assert bundle.measurement.name == "maccor_small"
    assert bundle.measurement.processing_status == "ready"
    assert str(bundle.measurement.start_time).startswith("2024-02-29")
    uploaded = pl.DataFrame(client.cell_measurement.time_series(bundle.measurement.id))
    expected = read.time_series(path)
    assert uploaded.height == expected.height
    assert uploaded[TIME].to_list() == pytest.approx(expected[TIME].to_list())
    assert measurements(client, instance_id) == 1


def test_reader_forces_the_format_of_a_pathlike(
    instance: tuple[Ionworks, str], tmp_path: Path
) -> None:
    client, instance_id = instance
    path = tmp_path / "run-42.dat"  # a suffix no reader claims: detection alone would not do
    shutil.copy(CYCLERS / "neware_small.csv", path)
    bundle = client.cell_measurement.create(instance_id, path, reader="neware")
    assert bundle.measurement.name == "run-42"
    assert measurements(client, instance_id) == 1


def test_a_corrupt_file_raises_the_reader_error_and_uploads_nothing(
    instance: tuple[Ionworks, str], tmp_path: Path
) -> None:
    client, instance_id = instance
    text = (CYCLERS / "maccor_small.txt").read_text().splitlines(keepends=True)
    text[6] = text[6].replace("0d 00:", "zz 00:", 1)  # a test time that is not a duration
    path = tmp_path / "run-42.txt"
    path.write_text("".join(text))
    with pytest.raises(ReaderError, match=r"run-42\.txt: line 7"):
        client.cell_measurement.create(instance_id, path)
    garbage = tmp_path / "run-43.mpr"
    garbage.write_bytes(b"\x00\x01not a cycler file\xff" * 10)
    with pytest.raises(ReaderError, match=r"run-43\.mpr"):
        client.cell_measurement.create(instance_id, garbage)
    assert measurements(client, instance_id) == 0


def test_a_path_that_is_not_a_file_is_a_validation_error(
    instance: tuple[Ionworks, str], tmp_path: Path
) -> None:
    client, instance_id = instance
    with pytest.raises(MeasurementValidationError, match="not an existing file"):
        client.cell_measurement.create(instance_id, str(tmp_path / "missing.mpr"))
    with pytest.raises(TypeError, match="reader= applies only"):
        client.cell_measurement.create(
            instance_id, {"measurement": {"name": "x"}, "time_series": {}}, reader="maccor"
        )
    assert measurements(client, instance_id) == 0
