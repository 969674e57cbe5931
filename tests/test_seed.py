"""Every snippet of "Reading data back" (../shared/seed/reading-data.md), run against the local server.

Each test runs one snippet as the page writes it (``from ionworksdata import DataLoader`` becomes
``from ionworks import DataLoader``; placeholder ids become real ones) and then checks that the
answer is right, by comparing with a full listing filtered in Python, not just that it is non-empty.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import matplotlib
import polars as pl
import pytest

import ionworks
from ionworks import Ionworks

matplotlib.use("Agg")

DOC_SPEC = "NCM622/Graphite Coin Cell"


@pytest.fixture(scope="module")
def client(live_server: Any) -> Iterator[Ionworks]:
    with Ionworks(api_key=live_server.api_key, api_url=live_server.url) as c:
        yield c


@pytest.fixture(scope="module")
def all_specs(client: Ionworks) -> list[Any]:
    return list(client.cell_spec.list_all())


@pytest.fixture(scope="module")
def spec_id(client: Ionworks) -> str:
    return client.cell_spec.list(name_exact=DOC_SPEC)[0].id


@pytest.fixture(scope="module")
def instance_id(client: Ionworks, spec_id: str) -> str:
    return client.cell_instance.list(spec_id, name="batch-A-cell-01")[0].id


@pytest.fixture(scope="module")
def measurement_id(client: Ionworks, instance_id: str) -> str:
    return client.cell_measurement.list(instance_id, measurement_type="time_series")[0].id


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path) -> Iterator[None]:
    ionworks.set_cache_directory(tmp_path / "cache")
    yield
    ionworks.set_cache_directory(None)
    ionworks.set_cache_enabled(True)
    ionworks.set_cache_ttl(3600)


def when(text: str) -> datetime:
    return datetime.fromisoformat(text)


# ------------------------------------------------------------------ Listing resources


def test_listing_resources_snippet(
    client: Ionworks, spec_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # List cell specifications (first page)
    specs = client.cell_spec.list()
    for spec in specs[:5]:
        print(f"  - {spec.name} (form_factor: {spec.form_factor})")

    # Get a specific cell spec with full nested data
    full_spec = client.cell_spec.get(spec_id)
    print(
        f"Capacity: {full_spec.ratings['capacity']['value']} "
        f"{full_spec.ratings['capacity']['unit']}"
    )

    # List instances for a spec and pick the first
    instances = client.cell_instance.list(spec_id)
    instance = instances[0]

    # List measurements for an instance
    measurements = client.cell_measurement.list(instance.id)

    out = capsys.readouterr().out
    assert out.count("  - ") == 5 and "(form_factor: " in out
    assert specs.count == min(1000, specs.total) and specs.total >= 1200
    assert "Capacity: 0.0049 A.h" in out
    assert full_spec.name == DOC_SPEC and full_spec.anode is not None  # full nested data
    assert all(i.cell_specification_id == spec_id for i in instances)
    assert all(m.cell_instance_id == instance.id for m in measurements)
    assert measurements.total == len(measurements) > 0


# ------------------------------------------------------------------ Filtering and ordering


def test_name_filter_is_a_case_insensitive_substring_match(
    client: Ionworks, all_specs: list[Any]
) -> None:
    # Search cell specs by name (case-insensitive substring match)
    specs = client.cell_spec.list(name="graphite")
    expected = {s.id for s in all_specs if "graphite" in s.name.lower()}
    assert specs.total == len(expected) > 0
    assert {s.id for s in specs} <= expected and specs.count == min(1000, len(expected))
    assert {s.id for s in client.cell_spec.list_all(name="graphite")} == expected


def test_name_exact_filter_matches_only_that_name(client: Ionworks, all_specs: list[Any]) -> None:
    # Exact name match
    specs = client.cell_spec.list(name_exact="NCM622/Graphite Coin Cell")
    assert [s.name for s in specs] == [DOC_SPEC]
    assert specs.total == sum(1 for s in all_specs if s.name == DOC_SPEC) == 1


def test_form_factor_filter(client: Ionworks, all_specs: list[Any]) -> None:
    # Filter by form factor (cell specs only)
    specs = client.cell_spec.list(form_factor="R2032")
    expected = {s.id for s in all_specs if s.form_factor == "R2032"}
    assert expected and {s.id for s in specs} == expected


def test_created_by_email_filter(client: Ionworks, all_specs: list[Any]) -> None:
    # Filter by creator
    specs = client.cell_spec.list(created_by_email="jane")
    expected = {s.id for s in all_specs if "jane" in (s.created_by_email or "").lower()}
    assert expected and {s.id for s in specs} == expected and specs.total == len(expected)


def test_date_range_filter(client: Ionworks, all_specs: list[Any]) -> None:
    # Date range filters
    specs = client.cell_spec.list(
        created_after="2026-01-01T00:00:00Z",
        created_before="2026-04-01T00:00:00Z",
    )
    low, high = when("2026-01-01T00:00:00Z"), when("2026-04-01T00:00:00Z")
    expected = {s.id for s in all_specs if low < when(s.created_at) < high}
    assert 0 < len(expected) < len(all_specs)
    assert specs.total == len(expected)
    assert {
        s.id
        for s in client.cell_spec.list_all(
            created_after="2026-01-01T00:00:00Z", created_before="2026-04-01T00:00:00Z"
        )
    } == expected


def test_sort_results(client: Ionworks) -> None:
    # Sort results
    specs = client.cell_spec.list(order_by="created_at", order="desc")
    stamps = [when(s.created_at) for s in specs]
    assert stamps == sorted(stamps, reverse=True)


def test_instance_filters_combine_with_pagination_and_ordering(
    client: Ionworks, spec_id: str
) -> None:
    instances = client.cell_instance.list(
        spec_id,
        limit=50,
        offset=0,
        name="batch-A",
        order_by="updated_at",
        order="desc",
    )
    everything = list(client.cell_instance.list_all(spec_id))
    expected = [i for i in everything if "batch-a" in i.name.lower()]
    assert expected and {i.id for i in instances} == {i.id for i in expected}
    stamps = [when(i.updated_at) for i in instances]
    assert stamps == sorted(stamps, reverse=True)


def test_measurement_filters_by_type_and_creation_date(client: Ionworks, instance_id: str) -> None:
    measurements = client.cell_measurement.list(
        instance_id,
        measurement_type="time_series",
        created_after="2026-03-01T00:00:00Z",
        order_by="created_at",
        order="asc",
    )
    everything = list(client.cell_measurement.list_all(instance_id))
    expected = [
        m
        for m in everything
        if m.measurement_type == "time_series" and when(m.created_at) > when("2026-03-01T00:00:00Z")
    ]
    assert expected and [m.id for m in measurements] == [
        m.id for m in sorted(expected, key=lambda m: (when(m.created_at), m.id))
    ]


def test_measurement_start_time_filters(client: Ionworks, instance_id: str) -> None:
    measurements = client.cell_measurement.list(
        instance_id,
        started_after="2026-03-01T00:00:00Z",
        started_before="2026-03-31T23:59:59Z",
    )
    everything = list(client.cell_measurement.list_all(instance_id))
    low, high = when("2026-03-01T00:00:00Z"), when("2026-03-31T23:59:59Z")
    expected = {m.id for m in everything if m.start_time and low < when(m.start_time) < high}
    outside = {m.id for m in everything if m.start_time} - expected
    assert expected and outside  # the demo data has tests inside and outside March
    assert {m.id for m in measurements} == expected


# ------------------------------------------------------------------ Pagination


def test_pagination_snippet(client: Ionworks, capsys: pytest.CaptureFixture[str]) -> None:
    page = client.cell_spec.list(limit=50, offset=0)
    print(f"Showing {page.count} of {page.total} specs")

    next_page = client.cell_spec.list(limit=50, offset=50)

    assert f"Showing 50 of {page.total} specs" in capsys.readouterr().out
    assert len(page.items) == 50 and len(next_page) == 50
    assert not {s.id for s in page} & {s.id for s in next_page}


def test_manual_pagination_loop_collects_every_spec_once(
    client: Ionworks, all_specs: list[Any]
) -> None:
    all_specs_loop = []
    offset = 0
    limit = 100
    while True:
        page = client.cell_spec.list(limit=limit, offset=offset)
        all_specs_loop.extend(page.items)
        if len(all_specs_loop) >= page.total:
            break
        offset += limit
    assert [s.id for s in all_specs_loop] == [s.id for s in all_specs]
    assert len({s.id for s in all_specs_loop}) == len(all_specs) == page.total


def test_auto_paging_keeps_filters_and_page_size(client: Ionworks) -> None:
    first = client.cell_spec.list(limit=7, name="graphite", order_by="name")
    walked = list(first.auto_paging_iter())
    assert len(walked) == first.total
    assert [s.name for s in walked] == sorted(s.name for s in walked)
    assert all("graphite" in s.name.lower() for s in walked)


# ------------------------------------------------------------------ Measurement detail


def test_measurement_detail_snippet(
    client: Ionworks,
    measurement_id: str,
    instance_id: str,
    spec_id: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    measurement_detail = client.cell_measurement.detail(measurement_id)
    detail = client.cell_measurement.detail(measurement_id)
    print(f"Time series shape: {detail.time_series.shape}")
    print(detail.cycles.head())

    assert measurement_detail.measurement.id == measurement_id
    assert detail.instance_id == instance_id and detail.specification_id == spec_id
    assert detail.name == detail.measurement.name  # flat access
    assert detail.time_series.height == detail.measurement.row_count > 1000
    assert {"Time [s]", "Voltage [V]", "Current [A]"} <= set(detail.time_series.columns)
    assert detail.steps["End index"].max() == detail.time_series.height - 1
    assert detail.cycles["Cycle count"].to_list() == sorted(
        detail.steps["Cycle count"].unique().to_list()
    )
    assert f"Time series shape: {detail.time_series.shape}" in capsys.readouterr().out


# ------------------------------------------------------------------ Local caching


def test_skipping_the_cache_snippet(client: Ionworks, measurement_id: str) -> None:
    steps = client.cell_measurement.steps(measurement_id, use_cache=False)
    time_series = client.cell_measurement.time_series(measurement_id, use_cache=False)
    assert steps.height > 0 and time_series.height > 0
    assert ionworks.cache_info()["entries"] == 0  # neither read nor written


def test_configuring_the_cache_snippet(
    tmp_path: Path, client: Ionworks, measurement_id: str
) -> None:
    custom = tmp_path / "custom-cache"
    ionworks.set_cache_directory(str(custom))
    ionworks.set_cache_ttl(7200)  # 2 hours
    assert ionworks.get_cache_ttl() == 7200
    ionworks.set_cache_ttl(None)  # never expire
    assert ionworks.get_cache_ttl() is None
    ionworks.set_cache_enabled(False)
    assert ionworks.get_cache_enabled() is False
    ionworks.set_cache_enabled(True)
    client.cell_measurement.steps(measurement_id)
    client.cell_measurement.cycles(measurement_id)
    deleted_count = ionworks.clear_cache()
    assert ionworks.get_cache_directory() == str(custom)
    assert deleted_count == 2


def test_a_cached_time_series_equals_the_fresh_one(client: Ionworks, measurement_id: str) -> None:
    cold = client.cell_measurement.time_series(measurement_id)
    warm = client.cell_measurement.time_series(measurement_id)
    assert warm.equals(cold)
    assert cold.equals(client.cell_measurement.time_series(measurement_id, use_cache=False))


# ------------------------------------------------------------------ Plotting


def test_plotting_snippet(live_server: Any, measurement_id: str, monkeypatch: Any) -> None:
    monkeypatch.setenv("IONWORKS_API_KEY", live_server.api_key)
    monkeypatch.setenv("IONWORKS_API_URL", live_server.url)
    from ionworks import DataLoader

    loader = DataLoader.from_db(measurement_id)
    fig, ax = loader.plot_data()

    voltage_line = ax[0].get_lines()[0]
    assert len(voltage_line.get_ydata()) > 100
    assert "Voltage" in ax[0].get_ylabel() and "Current" in ax[1].get_ylabel()
    assert len(fig.axes) == 3  # temperature subplot: the demo data has Temperature [degC]
    matplotlib.pyplot.close(fig)


# ------------------------------------------------------------------ Inline size limit


def test_inline_time_series_size_limit_snippet(
    client: Ionworks, measurement_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from ionworks import IonworksError, MeasurementValidationError

    big = client.cell_measurement.time_series(measurement_id).head(5000)
    config_with_large_inline_df = {
        "elements": {"fit": {"element_type": "data_fit", "objectives": [{"data": big}]}}
    }
    try:
        client.pipeline.run(config_with_large_inline_df)
    except MeasurementValidationError as e:
        # Specifically handle the size limit violation
        print(e)
    except IonworksError as e:
        print(e)
    out = capsys.readouterr().out
    assert out.startswith(
        "Time series has 5000 rows, which exceeds the maximum of 1000 rows for inline data."
    )


def test_upload_then_reference_by_id_snippet(
    client: Ionworks, instance_id: str, measurement_id: str, live_server: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("IONWORKS_API_KEY", live_server.api_key)
    monkeypatch.setenv("IONWORKS_API_URL", live_server.url)
    source = client.cell_measurement.time_series(measurement_id).head(3000)
    measurement_data = {
        "measurement": {"name": "seed-upload-snippet", "notes": "n", "tags": ["seed"]},
        "time_series": source,
    }
    bundle = client.cell_measurement.create(instance_id, measurement_data)

    from ionworks import DataLoader

    loader = DataLoader.from_db(bundle.measurement.id)

    try:
        assert bundle.measurement.processing_status == "ready"
        assert loader.data.select(source.columns).equals(source)
        assert loader.steps is not None and loader.steps.height > 0
    finally:
        client.cell_measurement.delete(bundle.measurement.id)


# ------------------------------------------------------------------ Export


def test_exporting_dataloader_configurations_snippet(
    live_server: Any, measurement_id: str, monkeypatch: Any
) -> None:
    monkeypatch.setenv("IONWORKS_API_KEY", live_server.api_key)
    monkeypatch.setenv("IONWORKS_API_URL", live_server.url)
    from ionworks import DataLoader

    loader = DataLoader.from_db(measurement_id)
    local_loader = loader.to_local()

    # Now to_config() returns the full data instead of a DB reference
    config = local_loader.to_config()

    assert loader.to_config() == {"data": f"db:{measurement_id}"}
    inline = config["data"]
    assert len(inline["time_series"]["Time [s]"]) == loader.data.height
    assert len(inline["steps"]["Step count"]) == loader.steps.height
    assert DataLoader.from_config(config) == local_loader


# ------------------------------------------------------------------ Error handling


def test_error_handling_snippet(live_server: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from ionworks import IonworksError

    client = Ionworks(api_key="wrong-key", api_url=live_server.url)
    try:
        client.cell_spec.list()
    except IonworksError as e:
        print(f"API error: {e}")
    assert "API error: 403 FORBIDDEN" in capsys.readouterr().out


def test_api_error_format_conflict_carries_existing_id(client: Ionworks, spec_id: str) -> None:
    spec = client.cell_spec.get(spec_id)
    with pytest.raises(ionworks.ConflictError) as caught:
        client.cell_spec.create({"name": spec.name, "project_id": spec.project_id})
    error = caught.value
    assert error.error_code == "CONFLICT" and error.status_code == 409
    assert error.existing_id == spec_id
    assert error.detail["resource_type"] == "cell_specification"
    assert (
        client.cell_spec.create_or_get({"name": spec.name, "project_id": spec.project_id}) == spec
    )


def test_not_found_is_a_typed_error(client: Ionworks) -> None:
    with pytest.raises(ionworks.NotFoundError) as caught:
        client.cell_spec.get("no-such-spec")
    assert caught.value.error_code == "NOT_FOUND"


def test_pandas_backend_per_client(live_server: Any, measurement_id: str) -> None:
    pandas_client = Ionworks(
        api_key=live_server.api_key, api_url=live_server.url, dataframe_backend="pandas"
    )
    cold = pandas_client.cell_measurement.steps(measurement_id)
    warm = pandas_client.cell_measurement.steps(measurement_id)
    import pandas as pd

    assert isinstance(cold, pd.DataFrame) and isinstance(warm, pd.DataFrame)
    assert pl.from_pandas(warm).equals(pl.from_pandas(cold))
