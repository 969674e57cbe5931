"""Every readable corpus file, uploaded to the local server, is served with the steps and cycles
that ``ionworks.data.steps.summarize`` and ``ionworks.data.cycles.get_cycle_metrics`` give
locally: one copy of the rules, whichever side runs them."""

from __future__ import annotations

import importlib.util
import io
import math
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest
from conftest import http_client, new_spec_and_instance, upload_time_series, wait_processed
from polars.testing import assert_frame_equal
from server_process import ServerProcess

from ionworks.data import read
from ionworks.data.cycles import get_cycle_metrics
from ionworks.data.read import arbin, neware_ndax
from ionworks.data.steps import summarize

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "cyclers"
FILES = (
    sorted(p.name for p in CORPUS.glob("*") if p.is_file() and p.suffix not in (".md",))
    if CORPUS.is_dir()
    else []
)

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/corpus/cyclers is absent")


def _served_steps(http: httpx.Client, measurement_id: str) -> pl.DataFrame:
    redirect = http.get(f"/cell_measurements/{measurement_id}/steps/download")
    assert redirect.status_code == 302, redirect.text
    return pl.read_parquet(
        io.BytesIO(httpx.get(redirect.headers["location"], timeout=60.0).content)
    )


def _close(served: list[Any], local: list[Any], name: str) -> None:
    assert len(served) == len(local), name
    for s, v in zip(served, local, strict=True):
        if isinstance(v, float) and not math.isnan(v):
            assert s == pytest.approx(v, rel=1e-9, abs=1e-12), name
        elif isinstance(v, float):
            assert s is None or math.isnan(s), name
        else:
            assert s == v, name


@pytest.mark.parametrize("name", FILES)
def test_served_steps_and_cycles_equal_local_summarize(
    empty_server: ServerProcess, unique: str, name: str
) -> None:
    # Only a missing optional tool may skip; any other reader error fails the test.
    if name.endswith(".res") and not arbin.mdb_export_available():
        pytest.skip(arbin.INSTALL_HINT)
    if name.endswith(".ndax") and importlib.util.find_spec("fastnda") is None:
        pytest.skip(neware_ndax.INSTALL_HINT)
    series = read.time_series(CORPUS / name)
    http = http_client(empty_server)
    _, cell = new_spec_and_instance(http, f"{unique}-{name}")
    confirmed = upload_time_series(http, cell, name, series)
    assert confirmed.status_code == 201, confirmed.text
    done = wait_processed(http, confirmed.json()["id"])
    assert done["processing_status"] == "ready", done["processing_error"]

    local_steps = summarize(series)
    assert_frame_equal(_served_steps(http, done["id"]), local_steps, rel_tol=1e-9, abs_tol=1e-12)
    served = http.get(f"/cell_measurements/{done['id']}/cycles").json()["cycles"]
    local = get_cycle_metrics(local_steps).to_dict(as_series=False)
    assert list(served) == list(local)
    for column, values in local.items():
        _close(served[column], values, column)
