"""The layout of an exported dataset, and ``scan`` to read it lazily.

An export (``client.export`` or ``ionworks export``) is a hive-partitioned parquet dataset::

    PATH/spec_id=<id>/instance_id=<id>/measurement_id=<id>/time_series.parquet
                                                          /steps.parquet
                                                          /cycles.parquet
                                                          /_manifest.json
    PATH/_metadata/specs.parquet, instances.parquet, measurements.parquet

The directory names follow the hive convention, so polars, DuckDB, Spark, Dask and pyarrow all
read the partition columns from the path. Names starting with ``_`` are skipped by Spark and
never match the ``*/*/*/<table>.parquet`` glob, which is why the metadata and the staging area
live under such names. This module reads local files only: no client, no network.
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl

PARTITION_KEYS: tuple[str, ...] = ("spec_id", "instance_id", "measurement_id")
"""The partition columns, outermost first, as they appear in paths and in scanned frames."""

TABLES: tuple[str, ...] = ("time_series", "steps", "cycles")
"""The tables a time-series measurement can have in its partition."""

METADATA_DIR = "_metadata"
METADATA_TABLES: tuple[str, ...] = ("specs", "instances", "measurements")
MANIFEST = "_manifest.json"
STAGING_DIR = "_staging"

_HIVE_SCHEMA: dict[str, pl.DataType] = {key: pl.String() for key in PARTITION_KEYS}
# Measurements of one dataset may differ in columns (energies need a power column) and in
# integer/float types; scanning casts them all to one schema instead of failing.
_CAST = pl.ScanCastOptions(integer_cast=["upcast", "allow-float"], float_cast="upcast")


def partition_dir(root: str | os.PathLike[str], spec_id: str, instance_id: str, mid: str) -> Path:
    """The directory of one measurement's partition under ``root``."""
    values = (spec_id, instance_id, mid)
    for key, value in zip(PARTITION_KEYS, values, strict=True):
        _check_segment(key, value)
    parts = (f"{key}={value}" for key, value in zip(PARTITION_KEYS, values, strict=True))
    return Path(root).joinpath(*parts)


def _check_segment(key: str, value: str) -> None:
    """Ids become path segments: one that could escape the directory is refused."""
    if not value or value in (".", "..") or any(c in value for c in "/\\=\0"):
        raise ValueError(f"{key}={value!r} cannot be a partition directory name")


def table_files(root: str | os.PathLike[str], table: str) -> list[Path]:
    """Every ``<table>.parquet`` of the dataset, in path order."""
    if table not in TABLES:
        raise ValueError(f"table={table!r}: choose one of {', '.join(TABLES)}")
    pattern = "/".join(f"{key}=*" for key in PARTITION_KEYS) + f"/{table}.parquet"
    return sorted(Path(root).glob(pattern))


def scan(path: str | os.PathLike[str], table: str = "cycles") -> pl.LazyFrame:
    """One table of every measurement in an export, lazily, with the partition columns.

    ``scan(path).group_by("spec_id", "Cycle count").agg(...)`` summarises a fleet without
    loading it: polars reads only the columns and row groups the query needs. Columns missing
    from some measurements read as null, and numbers are widened to one type.
    """
    files = table_files(path, table)
    if not files:
        raise FileNotFoundError(f"no {table}.parquet under {os.fspath(path)!r}: export first")
    empty = [pl.DataFrame(schema=pl.read_parquet_schema(f)) for f in files]
    schema = pl.concat(empty, how="diagonal_relaxed").schema
    return pl.scan_parquet(
        files,
        schema=schema,
        hive_partitioning=True,
        hive_schema=_HIVE_SCHEMA,
        missing_columns="insert",
        cast_options=_CAST,
    )


def read_metadata(path: str | os.PathLike[str], kind: str = "measurements") -> pl.DataFrame:
    """The export's metadata table ``specs``, ``instances`` or ``measurements``.

    Each row carries the partition keys it belongs to (``spec_id``, ``instance_id``,
    ``measurement_id``), so it joins with :func:`scan` on them.
    """
    if kind not in METADATA_TABLES:
        raise ValueError(f"kind={kind!r}: choose one of {', '.join(METADATA_TABLES)}")
    return pl.read_parquet(Path(path) / METADATA_DIR / f"{kind}.parquet")
