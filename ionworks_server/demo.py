"""Loading the demo data set (:func:`ionworks_server.demo_catalog.demo_catalog`) into a data dir.

Everything is computed first (time series simulated and processed on two threads, parquet files
written atomically), then inserted in **one** transaction with bulk inserts, so a failed load
leaves an empty database rather than half a catalogue. Timestamps come from the catalogue: the
API never lets a user set ``created_at``, but the loader may, so that date filters have history
to work on.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import func, insert, select, update

from .context import AppContext
from .db import (
    batches,
    cell_instances,
    cell_measurements,
    cell_specifications,
    measurement_tags,
    organizations,
    read,
    write,
)
from .demo_catalog import demo_catalog
from .demo_plans import NAMED_SPEC, DemoCatalog, InstancePlan, MeasurementPlan, SpecPlan
from .demo_series import long_series
from .demo_series import simulate_cycling as simulate
from .processing import process
from .resources import ensure_project
from .tables import write_processed
from .worker import rated_capacity_ah

__all__ = ["DemoSummary", "add_long_run", "has_data", "load_demo"]


@dataclass(frozen=True)
class DemoSummary:
    """What :func:`load_demo` created."""

    specifications: int
    instances: int
    measurements: int
    time_series_rows: int


def _ts(value: str | None) -> datetime | None:
    """A catalogue timestamp (``...Z``) as the naive UTC value the tables store."""
    if value is None:
        return None
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")


def has_data(ctx: AppContext) -> bool:
    """True when any organization already has a specification (the demo only fills empty dirs)."""
    with read(ctx.engine) as conn:
        return conn.execute(select(cell_specifications.c.id).limit(1)).first() is not None


def _store_time_series(
    ctx: AppContext, measurement_id: str, frame: pl.DataFrame, capacity_ah: float | None
) -> int:
    """Process one series and write its three tables; returns the row count."""
    series, steps, cycles = process(frame, None, capacity_ah)
    write_processed(ctx.storage, measurement_id, series, steps, cycles)
    return series.height


def _measurement_row(
    plan: MeasurementPlan, measurement_id: str, org: str, instance_id: str, spec_id: str
) -> dict[str, Any]:
    created = _ts(plan.created_at)
    return {
        "id": measurement_id,
        "organization_id": org,
        "cell_instance_id": instance_id,
        "specification_id": spec_id,
        "name": plan.name,
        "measurement_type": plan.measurement_type,
        "start_time": _ts(plan.start_time),
        "end_time": _ts(plan.end_time),
        "notes": plan.notes,
        "protocol": plan.protocol,
        "test_setup": plan.test_setup,
        "properties": plan.properties,
        "tags": sorted(plan.tags, key=str.lower),
        "filenames": list(plan.files or {}),
        "processing_status": "ready",
        "processing_error": None,
        "row_count": None,
        "extra": {},
        "created_by_email": plan.created_by_email,
        "created_at": created,
        "updated_at": created,
    }


def _spec_row(spec: SpecPlan, spec_id: str, org: str, project_id: str, name: str) -> dict[str, Any]:
    """The database row of a catalogue specification (under ``name`` in ``project_id``)."""
    return {
        "id": spec_id,
        "organization_id": org,
        "project_id": project_id,
        "name": name,
        "form_factor": spec.form_factor,
        "manufacturer": spec.manufacturer,
        "chemistry": spec.chemistry,
        "ratings": spec.ratings,
        "components": {
            "anode": spec.anode,
            "cathode": spec.cathode,
            "electrolyte": spec.electrolyte,
            "separator": spec.separator,
            "case": spec.case,
        },
        "extra": {},
        "created_by_email": spec.created_by_email,
        "created_at": _ts(spec.created_at),
        "updated_at": _ts(spec.updated_at),
    }


@dataclass
class _Rows:
    """The database rows of a catalogue and the files behind them, built before any write."""

    specs: list[dict[str, Any]] = field(default_factory=list)
    batches: list[dict[str, Any]] = field(default_factory=list)
    instances: list[dict[str, Any]] = field(default_factory=list)
    measurements: list[dict[str, Any]] = field(default_factory=list)
    # (measurement id, simulate_cycling parameters, rated capacity) of every time series
    series_jobs: list[tuple[str, dict[str, Any], float | None]] = field(default_factory=list)
    files: list[tuple[str, str, bytes]] = field(default_factory=list)  # (measurement, name, data)


def _catalog_rows(catalog: DemoCatalog, org: str) -> _Rows:
    """Every row the catalogue puts in the database, with fresh ids."""
    rows = _Rows()
    for spec in catalog.specs:
        spec_id = str(uuid.uuid4())
        rows.specs.append(_spec_row(spec, spec_id, org, spec.project_id, spec.name))
        capacity = rated_capacity_ah(spec.ratings)
        spec_batches: dict[str, str] = {}  # batch name -> id, batches being per specification
        for instance in spec.instances:
            batch_id = None
            if instance.batch_name:
                if instance.batch_name not in spec_batches:
                    spec_batches[instance.batch_name] = f"batch-{uuid.uuid4()}"
                    rows.batches.append(
                        {
                            "id": spec_batches[instance.batch_name],
                            "cell_specification_id": spec_id,
                            "name": instance.batch_name,
                            "created_at": _ts(instance.created_at),
                        }
                    )
                batch_id = spec_batches[instance.batch_name]
            _add_instance(rows, instance, org, spec_id, batch_id, capacity)
    return rows


def _add_instance(
    rows: _Rows,
    instance: InstancePlan,
    org: str,
    spec_id: str,
    batch_id: str | None,
    capacity: float | None,
) -> None:
    """Add an instance's row, its measurements' rows, and their series and files to make."""
    instance_id = str(uuid.uuid4())
    rows.instances.append(
        {
            "id": instance_id,
            "organization_id": org,
            "cell_specification_id": spec_id,
            "name": instance.name,
            "batch_id": batch_id,
            "notes": None,
            "extra": {},
            "created_by_email": instance.created_by_email,
            "created_at": _ts(instance.created_at),
            "updated_at": _ts(instance.updated_at),
        }
    )
    for plan in instance.measurements:
        measurement_id = str(uuid.uuid4())
        rows.measurements.append(_measurement_row(plan, measurement_id, org, instance_id, spec_id))
        if plan.sim_params is not None:
            rows.series_jobs.append((measurement_id, plan.sim_params, capacity))
        for filename, data in (plan.files or {}).items():
            rows.files.append((measurement_id, filename, data))


def _write_objects(ctx: AppContext, rows: _Rows) -> dict[str, int]:
    """Simulate, process and store every series (two threads), then the files; row counts."""

    def run(job: tuple[str, dict[str, Any], float | None]) -> tuple[str, int]:
        measurement_id, params, capacity = job
        return measurement_id, _store_time_series(ctx, measurement_id, simulate(**params), capacity)

    with ThreadPoolExecutor(max_workers=2) as pool:
        row_counts = dict(pool.map(run, rows.series_jobs))
    for measurement_id, filename, data in rows.files:
        path = ctx.storage.object_path("measurements", measurement_id, filename)
        ctx.storage.write_bytes(data, path)
    return row_counts


def _insert_rows(ctx: AppContext, org: str, project_id: str, rows: _Rows) -> None:
    """Insert every row in one transaction, so a failed load leaves no half catalogue."""
    with write(ctx.engine) as conn:
        ensure_project(conn, org, project_id)
        conn.execute(
            update(organizations)
            .where(organizations.c.id == org)
            .values(default_project_id=project_id)
        )
        _bulk(conn, cell_specifications, rows.specs)
        _bulk(conn, batches, rows.batches)
        _bulk(conn, cell_instances, rows.instances)
        _bulk(conn, cell_measurements, rows.measurements)
        _bulk(
            conn,
            measurement_tags,
            [
                {"measurement_id": m["id"], "tag_key": key}
                for m in rows.measurements
                for key in sorted({t.lower() for t in m["tags"]})
            ],
        )


def load_demo(ctx: AppContext, organization_id: str, seed: int = 7) -> DemoSummary:
    """Fill the organization with the demo catalogue (caller checks :func:`has_data` first)."""
    catalog = demo_catalog(seed)
    rows = _catalog_rows(catalog, organization_id)
    try:
        row_counts = _write_objects(ctx, rows)
        for row in rows.measurements:
            row["row_count"] = row_counts.get(row["id"])
        _insert_rows(ctx, organization_id, catalog.project_id, rows)
    except BaseException:
        for row in rows.measurements:
            ctx.storage.remove(row["id"])
        raise
    return DemoSummary(
        len(rows.specs), len(rows.instances), len(rows.measurements), sum(row_counts.values())
    )


def _bulk(conn: Any, table: Any, rows: Sequence[dict[str, Any]]) -> None:
    """executemany insert in chunks (one round trip per chunk, not per row)."""
    for start in range(0, len(rows), 1000):
        chunk = rows[start : start + 1000]
        if chunk:
            conn.execute(insert(table), list(chunk))


def add_long_run(ctx: AppContext, organization_id: str, n_rows: int) -> tuple[str, bool]:
    """Add a ``long-run-<N>`` time series of ``n_rows`` rows for benchmarks.

    It goes under the first batch-A instance of the "NCM622/Graphite Coin Cell" specification.
    Returns (measurement id, created); an existing measurement of that name is reused.
    """
    name = f"long-run-{n_rows}"
    S, M = cell_specifications, cell_measurements
    I = cell_instances  # noqa: E741
    with read(ctx.engine) as conn:
        spec = conn.execute(
            select(S.c.id, S.c.ratings)
            .where(S.c.organization_id == organization_id, S.c.name == NAMED_SPEC)
            .order_by(S.c.created_at)
        ).first()
        if spec is None:
            raise LookupError(
                f"--demo-rows needs the demo specification {NAMED_SPEC!r}; start with --demo"
            )
        instance_id = conn.execute(
            select(I.c.id)
            .where(I.c.cell_specification_id == spec.id, I.c.name.like("batch-A%"))
            .order_by(I.c.name, I.c.id)
        ).scalar()
        if instance_id is None:
            raise LookupError(f"{NAMED_SPEC!r} has no batch-A instance for --demo-rows")
        existing = conn.execute(
            select(M.c.id).where(M.c.cell_instance_id == instance_id, M.c.name == name)
        ).scalar()
    if existing is not None:
        return str(existing), False
    measurement_id = str(uuid.uuid4())
    try:
        rows = _store_time_series(
            ctx, measurement_id, long_series(n_rows), rated_capacity_ah(spec.ratings)
        )
        with write(ctx.engine) as conn:
            plan = MeasurementPlan(
                name=name,
                measurement_type="time_series",
                start_time="2026-03-02T08:00:00Z",
                end_time=None,
                created_at="2026-05-30T12:00:00Z",
                created_by_email="jane.doe@example.com",
                notes=f"Synthetic long cycling run of {n_rows} rows, for benchmarks.",
                protocol=None,
                test_setup=None,
                tags=["benchmark", "long-run"],
            )
            row = _measurement_row(plan, measurement_id, organization_id, instance_id, spec.id)
            row["row_count"] = rows
            conn.execute(insert(M), [row])
            _bulk(
                conn,
                measurement_tags,
                [
                    {"measurement_id": measurement_id, "tag_key": t}
                    for t in ("benchmark", "long-run")
                ],
            )
    except BaseException:
        ctx.storage.remove(measurement_id)
        raise
    return measurement_id, True


def pad_specifications(ctx: AppContext, organization_id: str, total: int) -> int:
    """Add synthetic specifications until the organization holds ``total`` (for benchmarks).

    The extra rows copy the demo catalogue's specifications cyclically under new numbered names
    (``... #001251``), so they filter and sort like real data. Returns how many were added.
    """
    with write(ctx.engine) as conn:
        present = conn.execute(
            select(func.count())
            .select_from(cell_specifications)
            .where(cell_specifications.c.organization_id == organization_id)
        ).scalar_one()
        missing = total - int(present)
        if missing <= 0:
            return 0
        templates = demo_catalog().specs
        project = conn.execute(
            select(organizations.c.default_project_id).where(organizations.c.id == organization_id)
        ).scalar_one()
        project_id = project or templates[0].project_id
        ensure_project(conn, organization_id, project_id)
        rows = []
        for n in range(int(present) + 1, total + 1):
            spec = templates[n % len(templates)]
            name = f"{spec.name.rsplit(' #', 1)[0]} #{n:06d}"
            rows.append(_spec_row(spec, str(uuid.uuid4()), organization_id, project_id, name))
        _bulk(conn, cell_specifications, rows)
    return missing
