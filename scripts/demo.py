"""Walk through "Reading data back" (the seed documentation page) with the real client.

Runs against whatever server ``IONWORKS_API_URL`` / ``IONWORKS_API_KEY`` name; ``make demo`` starts
a local one with demo data first (scripts/run_demo.py). Outputs (PNG plots, an exported config)
go to ``demo-output/`` or ``$IONWORKS_DEMO_OUTPUT``.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import matplotlib

matplotlib.use("Agg")

import polars as pl

import ionworks
from ionworks import (
    ConflictError,
    DataLoader,
    Ionworks,
    IonworksError,
    MeasurementValidationError,
    NotFoundError,
)
from ionworks.plotting import plot_capacity, plot_voltage_vs_capacity

T = TypeVar("T")
OUTPUT = Path(os.environ.get("IONWORKS_DEMO_OUTPUT", "demo-output"))
DOC_SPEC = "NCM622/Graphite Coin Cell"


def section(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 70 - len(title)))


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    result = fn()
    return result, (time.perf_counter() - start) * 1000


def main() -> int:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    # A private cache for the walkthrough, so "miss then hit" is what really happens; deleted
    # at the end, so repeated demos leave nothing behind in the temporary directory.
    with tempfile.TemporaryDirectory(prefix="ionworks-demo-cache-") as cache:
        ionworks.set_cache_directory(cache)
        return walkthrough()


def walkthrough() -> int:
    client = Ionworks()
    print(f"Server: {client.api_url}  ({client.health_check().get('status')})")

    section("Listing resources")
    specs = client.cell_spec.list()
    print(f"cell_spec.list(): {specs.count} specs on the first page, {specs.total} in all")
    for spec in specs[:5]:
        print(f"  - {spec.name} (form_factor: {spec.form_factor})")
    spec_id = client.cell_spec.list(name_exact=DOC_SPEC)[0].id
    full_spec = client.cell_spec.get(spec_id)
    print(
        f"Capacity: {full_spec.ratings['capacity']['value']} "
        f"{full_spec.ratings['capacity']['unit']}  ({full_spec.name}, "
        f"anode {full_spec.anode['name'] if full_spec.anode else '?'})"
    )
    instances = client.cell_instance.list(spec_id)
    instance = instances[0]
    measurements = client.cell_measurement.list(instance.id)
    print(
        f"{len(instances)} instances of {DOC_SPEC}; {instance.name} has {measurements.total} measurements"
    )

    section("Filtering and ordering")
    checks: list[tuple[str, Any]] = [
        ('name="graphite"', client.cell_spec.list(name="graphite")),
        (f'name_exact="{DOC_SPEC}"', client.cell_spec.list(name_exact=DOC_SPEC)),
        ('form_factor="R2032"', client.cell_spec.list(form_factor="R2032")),
        ('created_by_email="jane"', client.cell_spec.list(created_by_email="jane")),
        (
            "created 2026-01-01 .. 2026-04-01",
            client.cell_spec.list(
                created_after="2026-01-01T00:00:00Z", created_before="2026-04-01T00:00:00Z"
            ),
        ),
    ]
    for label, page in checks:
        print(f"  cell_spec.list({label}): total {page.total}")
    newest = client.cell_spec.list(order_by="created_at", order="desc", limit=3)
    print("  newest three: " + ", ".join(f"{s.name} ({s.created_at[:10]})" for s in newest))
    batch = client.cell_instance.list(
        spec_id, limit=50, offset=0, name="batch-A", order_by="updated_at", order="desc"
    )
    print(f"  cell_instance.list(spec, name='batch-A'): {[i.name for i in batch]}")
    series = client.cell_measurement.list(
        instance.id,
        measurement_type="time_series",
        created_after="2026-03-01T00:00:00Z",
        order_by="created_at",
        order="asc",
    )
    print(f"  time_series measurements created after 2026-03-01: {series.total}")
    march = client.cell_measurement.list(
        instance.id, started_after="2026-03-01T00:00:00Z", started_before="2026-03-31T23:59:59Z"
    )
    print(f"  started in March 2026: {[m.name for m in march]}")

    section("Pagination")
    page = client.cell_spec.list(limit=50, offset=0)
    print(f"Showing {page.count} of {page.total} specs")
    next_page = client.cell_spec.list(limit=50, offset=50)
    print(
        f"next page starts with {next_page[0].name!r}; pages overlap: "
        f"{bool({s.id for s in page} & {s.id for s in next_page})}"
    )
    (all_specs, ms) = timed(lambda: list(client.cell_spec.list_all(page_size=100)))
    print(
        f"list_all(page_size=100): {len(all_specs)} specs in {ms:.0f} ms "
        f"({len({s.id for s in all_specs})} distinct)"
    )

    section("Measurement detail")
    measurement_id = series[0].id
    detail, ms = timed(lambda: client.cell_measurement.detail(measurement_id))
    print(
        f"detail({detail.name!r}) in {ms:.0f} ms: type {detail.measurement_type}, "
        f"instance {detail.instance_id}, specification {detail.specification_id}"
    )
    print(f"Time series shape: {detail.time_series.shape}")
    print(
        f"Steps: {detail.steps.height} rows; step types: "
        f"{sorted(detail.steps['Step type'].unique().to_list())}"
    )
    with pl.Config(tbl_cols=6, tbl_width_chars=110):
        print(
            detail.cycles.select(
                "Cycle count",
                "Discharge capacity [A.h]",
                "Coulombic efficiency",
                "Capacity retention",
            ).head()
        )
    print("(efficiency and retention are ratios here; plot_capacity shows efficiency in %)")

    section("Local caching")
    ionworks.clear_cache()
    _, cold = timed(lambda: client.cell_measurement.time_series(measurement_id))
    _, warm = timed(lambda: client.cell_measurement.time_series(measurement_id))
    _, fresh = timed(lambda: client.cell_measurement.time_series(measurement_id, use_cache=False))
    print(f"time_series: miss {cold:.1f} ms, hit {warm:.1f} ms, use_cache=False {fresh:.1f} ms")
    _, steps_miss = timed(lambda: client.cell_measurement.steps(measurement_id))
    _, steps_hit = timed(lambda: client.cell_measurement.steps(measurement_id))
    print(f"steps: miss {steps_miss:.1f} ms, hit {steps_hit:.1f} ms (each table is its own entry)")
    info = ionworks.cache_info()
    print(
        f"cache: {info['entries']} entries, {info['size_bytes'] / 1e6:.2f} MB in {info['directory']}"
    )
    print(f"clear_cache() deleted {ionworks.clear_cache()} entries")

    section("Plotting from Python")
    loader = DataLoader.from_db(measurement_id, client=client)
    fig, _axes = loader.plot_data(title=detail.name)
    saved = [save(fig, "time_series.png")]
    fig, _ = plot_capacity(client.cell_measurement.cycles(measurement_id), title=detail.name)
    saved.append(save(fig, "capacity.png"))
    fig, _ = plot_voltage_vs_capacity(loader.data, loader.steps)
    saved.append(save(fig, "voltage_vs_capacity.png"))
    print("saved " + ", ".join(str(p) for p in saved))

    section("Exporting DataLoader configurations")
    print(f"from_db config: {loader.to_config()}")
    local_loader = loader.to_local()
    config = local_loader.to_config()
    path = OUTPUT / "local_config.json"
    path.write_text(json.dumps(config))
    data = config["data"]
    print(
        f"to_local().to_config(): time series {len(data['time_series']['Time [s]']):,} rows, "
        f"steps {len(data['steps']['Step count'])} rows -> {path} "
        f"({path.stat().st_size / 1e6:.1f} MB)"
    )

    section("Inline time series size limit")
    big = detail.time_series.head(5000)
    config_with_large_inline_df = {
        "elements": {"fit": {"element_type": "data_fit", "objectives": [{"data": big}]}}
    }
    try:
        client.pipeline.run(config_with_large_inline_df)
    except MeasurementValidationError as e:
        print(f"MeasurementValidationError: {e}")
    small = {"elements": {"ocv": {"element_type": "entry", "values": {"Capacity [A.h]": 0.0049}}}}
    done = client.pipeline.run(small, wait=True, timeout=30)
    print(f"an entry-only pipeline: {done.status}, result {done.result}")

    section("Uploading, then referencing by id")
    upload = detail.time_series.head(20_000)
    bundle, ms = timed(
        lambda: client.cell_measurement.create(
            instance.id,
            {
                "measurement": {
                    "name": f"demo-upload-{int(time.time())}",
                    "notes": "from the demo",
                },
                "time_series": upload,
            },
        )
    )
    print(
        f"uploaded {upload.height:,} rows as {bundle.measurement.id} "
        f"({bundle.measurement.processing_status}) in {ms:.0f} ms"
    )
    print(
        f"DataLoader.from_db(bundle.measurement.id).steps: "
        f"{DataLoader.from_db(bundle.measurement.id, client=client).steps.height} steps"
    )

    section("Error handling")
    try:
        client.cell_spec.get("no-such-spec")
    except NotFoundError as e:
        print(f"404: {e}")
    try:
        client.cell_spec.create({"name": DOC_SPEC, "project_id": full_spec.project_id})
    except ConflictError as e:
        print(f"409: {e} (existing_id={e.existing_id})")
    try:
        Ionworks(api_key="not-a-key", api_url=client.api_url).cell_spec.list()
    except IonworksError as e:
        print(f"API error: {e}")

    print(f"\nDone. Outputs in {OUTPUT}/")
    return 0


def save(fig: Any, name: str) -> Path:
    path = OUTPUT / name
    fig.savefig(path, dpi=110)
    return path


if __name__ == "__main__":
    sys.exit(main())
