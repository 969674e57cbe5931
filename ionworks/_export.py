"""``client.export``: many measurements to one hive-partitioned parquet dataset engines read.

The layout is described in :mod:`ionworks.data.dataset` (``ionworks.scan`` reads it back).
Three promises, and how they are kept:

* Resumable: each partition holds a ``_manifest.json`` with the measurement's ``updated_at``
  and the tables written; a rerun skips a measurement whose ``updated_at`` has not changed.
* Atomic per measurement: the tables are written into ``PATH/_staging/<random>/`` (same file
  system, so a rename is atomic) and the directory is renamed into place only when every table
  and the manifest are written. Readers' ``*/*/*/<table>.parquet`` globs never match the
  staging area, so no half-written partition is ever visible, even after a crash.
* One failure does not stop the others: each measurement's error is caught at its own
  boundary and listed in :class:`ExportResult.failed`.

One export at a time per directory: a run clears staging leftovers of earlier, crashed runs.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from ._cache import TableArtifact
from ._dataframe import to_polars
from .data import dataset as ds
from .errors import InvalidParameterError

if TYPE_CHECKING:
    from ._client import Ionworks
    from .models import CellInstance, CellMeasurement, CellSpecification


@dataclass
class ExportResult:
    """What an export did: measurement ids exported, skipped (unchanged), failed (id -> why)."""

    path: Path
    exported: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when no measurement failed."""
        return not self.failed

    def summary(self) -> str:
        """One line for people: counts, then where."""
        return (
            f"exported {len(self.exported)}, skipped {len(self.skipped)} (unchanged), "
            f"failed {len(self.failed)} -> {self.path}"
        )


@dataclass
class _Selection:
    """The specs, instances and measurements an export covers, with each one's spec id."""

    specs: dict[str, CellSpecification] = field(default_factory=dict)
    instances: dict[str, CellInstance] = field(default_factory=dict)
    measurements: dict[str, CellMeasurement] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)

    def spec_of(self, measurement: CellMeasurement) -> str:
        return str(self.instances[measurement.cell_instance_id].cell_specification_id)


def export(
    client: Ionworks,
    path: str | os.PathLike[str],
    *,
    spec_id: str | None = None,
    instance_id: str | None = None,
    measurement_ids: Iterable[str] | None = None,
    name: str | None = None,
    tables: Sequence[str] = ds.TABLES,
    concurrency: int = 4,
    use_cache: bool = True,
) -> ExportResult:
    """Write the selected measurements to ``path``; see ``Ionworks.export`` for the parameters."""
    tables = _check_tables(tables)
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise InvalidParameterError(f"concurrency={concurrency!r} must be an integer >= 1")
    root = Path(path)
    root.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(root / ds.STAGING_DIR, ignore_errors=True)
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="ionworks-export") as pool:
        selection = _select(client, pool, spec_id, instance_id, measurement_ids, name)
        _write_metadata(root, selection)
        result = _export_all(client, pool, root, selection, tables, use_cache)
    shutil.rmtree(root / ds.STAGING_DIR, ignore_errors=True)
    return result


def _export_all(
    client: Ionworks,
    pool: ThreadPoolExecutor,
    root: Path,
    selection: _Selection,
    tables: tuple[str, ...],
    use_cache: bool,
) -> ExportResult:
    """Every time series of the selection on the pool; each outcome sorted into the result."""
    result = ExportResult(root, failed=dict(selection.failed))
    series = [m for m in selection.measurements.values() if m.measurement_type == "time_series"]

    def run(m: CellMeasurement) -> tuple[str, str]:
        try:
            done = _export_one(client, root, selection.spec_of(m), m, tables, use_cache)
            return m.id, "exported" if done else "skipped"
        except Exception as exc:  # the per-measurement boundary: report it, go on with the rest
            return m.id, f"{type(exc).__name__}: {exc}"

    for mid, outcome in pool.map(run, series):
        if outcome == "exported":
            result.exported.append(mid)
        elif outcome == "skipped":
            result.skipped.append(mid)
        else:
            result.failed[mid] = outcome
    return result


def _check_tables(tables: Sequence[str]) -> tuple[str, ...]:
    """The requested tables, known and without repeats (a string is one table, not letters)."""
    chosen = (tables,) if isinstance(tables, str) else tuple(dict.fromkeys(tables))
    unknown = [t for t in chosen if t not in ds.TABLES]
    if unknown or not chosen:
        raise InvalidParameterError(f"tables={tables!r}: choose from {', '.join(ds.TABLES)}")
    return chosen


# ---------------------------------------------------------------- which measurements


def _select(
    client: Ionworks,
    pool: ThreadPoolExecutor,
    spec_id: str | None,
    instance_id: str | None,
    measurement_ids: Iterable[str] | None,
    name: str | None,
) -> _Selection:
    """Resolve the filters to specs, instances and measurements through the list/get calls.

    One list call per spec and per instance, on the pool: a catalog of a thousand specs would
    otherwise spend seconds in round trips before exporting anything.
    """
    sel = _Selection()
    if measurement_ids is not None:
        for mid in dict.fromkeys(measurement_ids):
            _add_measurement(client, sel, mid, spec_id, instance_id)
        return sel
    if instance_id is not None:
        instance = client.cell_instance.get(instance_id)
        if spec_id is not None and instance.cell_specification_id != spec_id:
            return sel
        spec = client.cell_spec.get(instance.cell_specification_id)
        sel.specs[spec.id] = spec
        _add_instances(client, pool, sel, [instance])
        return sel
    specs = [client.cell_spec.get(spec_id)] if spec_id else client.cell_spec.list_all(name=name)
    sel.specs.update((spec.id, spec) for spec in specs)
    if spec_id is None and name is None and all(s.project_id for s in sel.specs.values()):
        _add_everything(client, pool, sel)
        return sel

    def instances_of(sid: str) -> list[CellInstance]:
        return list(client.cell_instance.list_all(sid))

    found = [i for group in pool.map(instances_of, list(sel.specs)) for i in group]
    _add_instances(client, pool, sel, found)
    return sel


def _add_everything(client: Ionworks, pool: ThreadPoolExecutor, sel: _Selection) -> None:
    """Every measurement of every spec in ``sel``, in few calls: each project's measurements
    a thousand a page, then only the instances holding them (one get each, on the pool), or
    each spec's instance list when that is fewer calls (then the metadata lists only instances
    that hold measurements). Listing instances and measurements per spec and per instance took
    2,500+ calls for the demo's 1,250 specs."""
    projects = {spec.project_id for spec in sel.specs.values()}

    def measurements_of(project: str | None) -> list[CellMeasurement]:
        pages = client.cell_measurement.list_by_project(project, limit=1000)
        return list(pages.auto_paging_iter())

    found = [m for group in pool.map(measurements_of, projects) for m in group]
    holders = list(dict.fromkeys(m.cell_instance_id for m in found))
    if len(holders) <= len(sel.specs):
        instances = list(pool.map(client.cell_instance.get, holders))
    else:
        lists = pool.map(lambda sid: list(client.cell_instance.list_all(sid)), list(sel.specs))
        instances = [i for group in lists for i in group]
    kept = {i.id: i for i in instances if str(i.cell_specification_id) in sel.specs}
    sel.instances.update(kept)
    sel.measurements.update((m.id, m) for m in found if m.cell_instance_id in kept)


def _add_instances(
    client: Ionworks, pool: ThreadPoolExecutor, sel: _Selection, instances: list[CellInstance]
) -> None:
    """Instances and every one of their measurements."""

    def measurements_of(iid: str) -> list[CellMeasurement]:
        return list(client.cell_measurement.list_all(iid))

    sel.instances.update((i.id, i) for i in instances)
    for group in pool.map(measurements_of, [i.id for i in instances]):
        sel.measurements.update((m.id, m) for m in group)


def _add_measurement(
    client: Ionworks, sel: _Selection, mid: str, spec_id: str | None, instance_id: str | None
) -> None:
    """One measurement by id with its instance and spec; an error is that id's failure."""
    try:
        measurement = client.cell_measurement.get(mid)
        iid = measurement.cell_instance_id
        if iid not in sel.instances:
            sel.instances[iid] = client.cell_instance.get(iid)
        sid = str(sel.instances[iid].cell_specification_id)
        if sid not in sel.specs:
            sel.specs[sid] = client.cell_spec.get(sid)
    except Exception as exc:  # reported per id, like a failed download
        sel.failed[mid] = f"{type(exc).__name__}: {exc}"
        return
    if (spec_id is None or sid == spec_id) and (instance_id is None or iid == instance_id):
        sel.measurements[mid] = measurement


# ---------------------------------------------------------------- one measurement's partition


def _export_one(
    client: Ionworks,
    root: Path,
    spec_id: str,
    measurement: CellMeasurement,
    tables: tuple[str, ...],
    use_cache: bool,
) -> bool:
    """Write one partition unless it is current; True when written, False when skipped."""
    partition = ds.partition_dir(root, spec_id, measurement.cell_instance_id, measurement.id)
    if _is_current(partition, measurement.updated_at, tables):
        return False
    if measurement.processing_status not in (None, "ready"):
        raise RuntimeError(f"measurement is {measurement.processing_status}, not ready")
    staging = root / ds.STAGING_DIR / uuid.uuid4().hex
    staging.mkdir(parents=True)
    try:
        rows: dict[str, int] = {}
        for table in tables:
            frame, sent = _table(client, measurement.id, table, use_cache)
            if frame.width:  # a table with no columns (no cycles yet) has nothing to write
                target = staging / f"{table}.parquet"
                if sent is None:
                    frame.write_parquet(target)
                else:
                    target.write_bytes(sent)
            rows[table] = frame.height
        manifest = {"measurement_id": measurement.id, "updated_at": measurement.updated_at}
        (staging / ds.MANIFEST).write_text(json.dumps({**manifest, "tables": rows}, indent=1))
        _publish(staging, partition, root)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return True


def _table(
    client: Ionworks, mid: str, table: str, use_cache: bool
) -> tuple[pl.DataFrame, bytes | None]:
    """One table through the cache, and the parquet bytes storage sent when it was fetched.

    Those bytes are written as they came: decoding is needed anyway (it checks them), but
    encoding a 100,000-row series again took 0.1-0.2 s, most of an export's time. A cache hit,
    and the cycles (JSON), are written from the frame.
    """
    measurements = client.cell_measurement
    if table == "cycles":
        return to_polars(measurements.cycles(mid, use_cache=use_cache)), None
    from ionworks_generated.api.cell_measurements import download_steps, download_time_series

    artifact: TableArtifact = "time_series" if table == "time_series" else "steps"
    operation = download_time_series if artifact == "time_series" else download_steps
    download = measurements._downloader(operation, mid, table.replace("_", " "), None)
    sent: list[bytes] = []

    def fetch() -> bytes:
        sent.append(download())
        return sent[-1]

    frame = measurements._data.artifacts.table(mid, artifact, fetch, use_cache=use_cache)
    return frame, sent[-1] if sent else None


def _is_current(partition: Path, updated_at: str | None, tables: tuple[str, ...]) -> bool:
    """The partition holds these tables of this version of the measurement."""
    try:
        manifest = json.loads((partition / ds.MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    written = manifest.get("tables") or {}
    return (
        bool(updated_at)
        and manifest.get("updated_at") == updated_at
        and set(tables) <= set(written)
    )


def _publish(staging: Path, partition: Path, root: Path) -> None:
    """Rename the finished staging directory into place, replacing an older partition.

    Two renames, as a directory cannot replace a non-empty one in one step: a reader between
    them sees the measurement missing for a moment, never half of it.
    """
    partition.parent.mkdir(parents=True, exist_ok=True)
    old = root / ds.STAGING_DIR / f"{uuid.uuid4().hex}.old"
    replaced = partition.exists()
    if replaced:
        partition.rename(old)
    staging.rename(partition)
    if replaced:
        shutil.rmtree(old, ignore_errors=True)


# ---------------------------------------------------------------- metadata


def _write_metadata(root: Path, sel: _Selection) -> None:
    """Merge this run's specs, instances and measurements into ``_metadata/*.parquet``."""
    instance_spec = {i.id: str(i.cell_specification_id) for i in sel.instances.values()}
    rows: dict[str, list[dict[str, Any]]] = {
        "specs": [{"spec_id": s.id, **s.to_dict()} for s in sel.specs.values()],
        "instances": [
            {"spec_id": instance_spec[i.id], "instance_id": i.id, **i.to_dict()}
            for i in sel.instances.values()
        ],
        "measurements": [
            {
                "spec_id": sel.spec_of(m),
                "instance_id": m.cell_instance_id,
                "measurement_id": m.id,
                **m.to_dict(),
            }
            for m in sel.measurements.values()
        ],
    }
    folder = root / ds.METADATA_DIR
    folder.mkdir(exist_ok=True)
    for kind, records in rows.items():
        _merge_table(folder / f"{kind}.parquet", _records_frame(records))


def _records_frame(records: list[dict[str, Any]]) -> pl.DataFrame:
    """Records as a frame: scalars stay typed, nested values (ratings, tags) become JSON text."""
    names = list(dict.fromkeys(k for r in records for k in r))
    columns: dict[str, pl.Series] = {}
    for name in names:
        values = [r.get(name) for r in records]
        if any(isinstance(v, Mapping | list | tuple) for v in values):
            values = [None if v is None else json.dumps(v, default=str) for v in values]
        try:
            columns[name] = pl.Series(name, values, strict=True)
        except (TypeError, pl.exceptions.PolarsError):
            columns[name] = pl.Series(name, [None if v is None else str(v) for v in values])
    return pl.DataFrame(columns)


def _merge_table(target: Path, new: pl.DataFrame) -> None:
    """Keep earlier exports' rows this run did not cover; write by atomic replace."""
    if new.is_empty() and target.exists():
        return
    frame = new
    if target.exists() and "id" in new.columns:
        try:
            old = pl.read_parquet(target)
            kept = old.filter(~pl.col("id").is_in(new["id"].implode()))
            frame = pl.concat([kept, new], how="diagonal_relaxed")
        except pl.exceptions.PolarsError:
            frame = new  # an earlier table that cannot be merged is replaced by this run's
    temp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.incomplete")
    try:
        frame.write_parquet(temp)
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)
