"""The cache as the client uses it, against the local server: invalidation, offline, isolation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import ionworks
from ionworks import CacheMissError, Ionworks

DOC_SPEC = "NCM622/Graphite Coin Cell"


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path) -> Iterator[None]:
    ionworks.set_cache_directory(tmp_path / "cache")
    yield
    ionworks.set_offline(False)
    ionworks.set_cache_enabled(True)
    ionworks.set_cache_directory(None)


@pytest.fixture(scope="module")
def measurement_id(live_server: Any) -> str:
    client = Ionworks(api_key=live_server.api_key, api_url=live_server.url)
    spec = client.cell_spec.list(name_exact=DOC_SPEC)[0]
    instance = client.cell_instance.list(spec.id, name="batch-A-cell-01")[0]
    return client.cell_measurement.list(instance.id, measurement_type="time_series")[0].id


def client_for(server: Any, **kwargs: Any) -> Ionworks:
    return Ionworks(api_key=server.api_key, api_url=server.url, **kwargs)


def test_detail_works_offline_once_cached_and_a_miss_says_why(
    live_server: Any, measurement_id: str
) -> None:
    client = client_for(live_server)
    online = client.cell_measurement.detail(measurement_id)
    ionworks.set_offline(True)
    offline = client.cell_measurement.detail(measurement_id)
    assert offline.time_series.equals(online.time_series)
    assert offline.steps.equals(online.steps) and offline.cycles.equals(online.cycles)
    assert offline.measurement == online.measurement
    with pytest.raises(CacheMissError, match="offline mode is on"):
        client.cell_measurement.steps_and_cycles(measurement_id)


def test_offline_mode_never_touches_the_network(measurement_id: str) -> None:
    client = Ionworks(api_key="k", api_url="http://127.0.0.1:9")  # nothing listens on port 9
    ionworks.set_offline(True)
    with pytest.raises(CacheMissError):
        client.cell_measurement.time_series(measurement_id)


def test_update_through_the_client_drops_the_cached_tables(
    live_server: Any, measurement_id: str
) -> None:
    client = client_for(live_server)
    client.cell_measurement.steps(measurement_id)
    assert ionworks.cache_info()["entries"] == 1
    original = client.cell_measurement.get(measurement_id).notes
    client.cell_measurement.update(measurement_id, {"notes": "re-checked"})
    try:
        assert ionworks.cache_info()["entries"] == 0
    finally:
        client.cell_measurement.update(measurement_id, {"notes": original})


def test_two_credentials_and_two_urls_never_share_entries(
    live_server: Any, measurement_id: str
) -> None:
    first = client_for(live_server)
    first.cell_measurement.steps(measurement_id)
    ionworks.set_offline(True)
    other_key = Ionworks(api_key="another-users-key", api_url=live_server.url)
    other_url = Ionworks(
        api_key=live_server.api_key, api_url=live_server.url.replace("127.0.0.1", "localhost")
    )
    for client in (other_key, other_url):
        with pytest.raises(CacheMissError):
            client.cell_measurement.steps(measurement_id)
    assert first.cell_measurement.steps(measurement_id).height > 0


def test_the_credential_never_reaches_the_cache_directory(
    live_server: Any, measurement_id: str, tmp_path: Path
) -> None:
    client_for(live_server).cell_measurement.detail(measurement_id)
    secret = live_server.api_key.encode()
    for path in (tmp_path / "cache").rglob("*"):
        if path.is_file():
            assert secret not in path.read_bytes(), path
            assert live_server.api_key not in path.name


def test_use_cache_false_neither_reads_nor_writes(live_server: Any, measurement_id: str) -> None:
    client = client_for(live_server)
    client.cell_measurement.detail(measurement_id, use_cache=False)
    assert ionworks.cache_info()["entries"] == 0


def test_cache_disabled_globally_stores_nothing(live_server: Any, measurement_id: str) -> None:
    ionworks.set_cache_enabled(False)
    client_for(live_server).cell_measurement.time_series(measurement_id)
    ionworks.set_cache_enabled(True)
    assert ionworks.cache_info()["entries"] == 0


def test_a_server_side_processing_failure_raises_with_the_servers_reason(
    live_server: Any, measurement_id: str
) -> None:
    import polars as pl

    from ionworks import MeasurementProcessingError

    client = client_for(live_server)
    instance_id = client.cell_measurement.get(measurement_id).cell_instance_id
    broken = pl.DataFrame(
        {
            "Time [s]": [0.0, 2.0, 1.0],
            "Current [A]": [0.0, 1.0, 1.0],
            "Voltage [V]": [3.0, 3.1, 3.2],
        }
    )
    with pytest.raises(MeasurementProcessingError) as caught:
        client.cell_measurement.create(
            instance_id,
            {"measurement": {"name": "time-goes-backwards"}, "time_series": broken},
            validate=False,  # let the server find it
        )
    (failed_id,) = caught.value.failures
    try:
        assert "decreases" in caught.value.failures[failed_id]
        assert "time-goes-backwards" in str(caught.value)
    finally:
        client.cell_measurement.delete(failed_id)


def test_client_side_validation_stops_bad_data_before_any_request(live_server: Any) -> None:
    import polars as pl

    from ionworks import MeasurementValidationError

    client = Ionworks(api_key="k", api_url="http://127.0.0.1:9")  # unreachable on purpose
    broken = pl.DataFrame({"Time [s]": [0.0, 2.0, 1.0], "Voltage [V]": [3.0, 3.1, 3.2]})
    with pytest.raises(MeasurementValidationError) as caught:
        client.cell_measurement.create("any", {"measurement": {"name": "x"}, "time_series": broken})
    codes = {error["code"] for error in caught.value.errors}
    assert {"missing_column", "time_not_monotonic"} <= codes


def test_a_row_window_reads_only_those_rows_from_storage_or_the_cache(
    live_server: Any, measurement_id: str
) -> None:
    client = client_for(live_server)
    whole = client.cell_measurement.time_series(measurement_id, use_cache=False)
    assert ionworks.cache_info()["entries"] == 0
    remote = client.cell_measurement.time_series(
        measurement_id, row_range=(100, 250), use_cache=False
    )
    assert isinstance(remote, pl.DataFrame) and isinstance(whole, pl.DataFrame)
    assert remote.equals(whole.slice(100, 150))
    client.cell_measurement.time_series(measurement_id)  # now cached
    ionworks.set_offline(True)
    cached = client.cell_measurement.time_series(measurement_id, row_range=(100, 250))
    assert isinstance(cached, pl.DataFrame) and cached.equals(whole.slice(100, 150))
    with pytest.raises(ionworks.InvalidParameterError, match="row_range"):
        client.cell_measurement.time_series(measurement_id, row_range=(5, 2))
