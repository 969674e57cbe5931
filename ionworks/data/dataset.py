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
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from .errors import DataError

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
    source = ScanSource(tuple(files), _union_schema(files))
    frame = source.lazy()
    _SOURCES[id(frame)] = (weakref.ref(frame), source)
    weakref.finalize(frame, _SOURCES.pop, id(frame), None)
    return frame


@dataclass(frozen=True)
class ScanSource:
    """The files behind a :func:`scan` and the one schema they are read with.

    A function that works measurement by measurement (``capacity_fade``) reads each
    partition on its own through :meth:`lazy`, so it never holds the whole fleet: the rows it
    sees are those the fleet's frame holds for that partition, same types and all.
    """

    files: tuple[Path, ...]
    schema: pl.Schema

    def lazy(self, files: Sequence[Path] | None = None) -> pl.LazyFrame:
        """``files`` (all by default) as :func:`scan` reads them."""
        return pl.scan_parquet(
            list(self.files if files is None else files),
            schema=self.schema,
            hive_partitioning=True,
            hive_schema=_HIVE_SCHEMA,
            missing_columns="insert",
            cast_options=_CAST,
        )

    def frame_schema(self) -> pl.Schema:
        """The schema of :meth:`lazy`'s frame, as polars gives it: the files' columns, then
        the partition columns as text (in its place when a file has a column of that name).

        Without planning the query: asking polars for it mapped 0.8-1 MB of its code into
        memory (``make bench``, fleet fade); tests compare the two.
        """
        return pl.Schema({**self.schema, **_HIVE_SCHEMA})

    def read(self, files: Sequence[Path], columns: Sequence[str]) -> pl.DataFrame:
        """``columns`` (of the files, not partition columns) of ``files``: the rows and types
        :meth:`lazy` gives, read file after file.

        Each file's own columns are read plainly (no fleet schema, no hive columns) and cast
        to the fleet's types where they differ: on a 200-file fleet, scanning each file with
        the fleet's schema held 0.8 MB more of memory and mapped 0.9 MB more of polars' code
        (``make bench``, fleet fade). A file without one of the columns is read as
        :meth:`lazy` reads it, the column inserted as nulls.
        """
        parts = []
        for file in files:
            with _named(file):
                try:
                    part = pl.read_parquet(
                        file, columns=list(columns), glob=False, hive_partitioning=False
                    )
                except pl.exceptions.ColumnNotFoundError:
                    part = self.lazy([file]).select(columns).collect()
            widen: dict[Any, pl.DataType] = {
                c: self.schema[c] for c in columns if part.schema[c] != self.schema[c]
            }
            parts.append(part.cast(widen) if widen else part)
        return parts[0] if len(parts) == 1 else pl.concat(parts)

    def partitions(self, keys: Sequence[str]) -> list[tuple[tuple[str, ...], list[Path]]]:
        """The files grouped by their ``keys`` values, in the order the scanned frame gives
        them: ``[((value, ...), [file, ...]), ...]``, or ``[]`` when that cannot be done from
        the paths alone.

        Each group holds consecutive files, so each group's rows are together in the fleet's
        frame. Refused (``[]``): a key that is not a partition column, a group whose files are
        apart (one measurement under two instances), and a value polars would not read back as
        written (``%`` escapes, the hive null) so the paths could not tell its groups apart.
        """
        if not keys or any(key not in PARTITION_KEYS for key in keys):
            return []
        groups: list[tuple[tuple[str, ...], list[Path]]] = []
        for file in self.files:
            values = _partition_values(file)
            key = tuple(values[k] for k in keys)
            if any("%" in v or v == _HIVE_NULL for v in key):
                return []
            if groups and groups[-1][0] == key:
                groups[-1][1].append(file)
            else:
                groups.append((key, [file]))
        if len({key for key, _ in groups}) != len(groups):
            return []
        return groups


def scan_source(frame: pl.LazyFrame) -> ScanSource | None:
    """The files behind ``frame`` when it is :func:`scan`'s result itself, else None (a frame
    derived from it by a filter or a join is another query, read through polars as a whole)."""
    found = _SOURCES.get(id(frame))
    return found[1] if found is not None and found[0]() is frame else None


# scan()'s frames, by id (a LazyFrame is not hashable), each entry dropped with its frame.
_SOURCES: dict[int, tuple[weakref.ref[pl.LazyFrame], ScanSource]] = {}
_HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"


def _partition_values(file: Path) -> dict[str, str]:
    """``{"spec_id": ..., "instance_id": ..., "measurement_id": ...}`` from a table's path."""
    parts = file.parent.parts[-len(PARTITION_KEYS) :]
    return dict(part.split("=", 1) for part in parts)


def _union_schema(files: Sequence[Path]) -> pl.Schema:
    """One schema for every file: columns in order of first appearance, numbers widened.

    Exports mostly repeat one schema, so only the distinct ones are combined (combining 200
    copies added 10 MB to scan()'s peak, more than the columns a fleet's fade reads).
    """
    distinct: list[dict[str, pl.DataType]] = []
    for file in files:
        with _named(file):
            schema = pl.read_parquet_schema(file)
        if schema not in distinct:
            distinct.append(schema)
    empty = [pl.DataFrame(schema=schema) for schema in distinct]
    return pl.concat(empty, how="diagonal_relaxed").schema


@contextmanager
def _named(file: Path) -> Iterator[None]:
    """A table polars cannot read (truncated, damaged) named, with what to do, rather than
    polars' bare error, which does not say which of a fleet's files it was."""
    try:
        yield
    except (pl.exceptions.ComputeError, OSError) as error:
        raise DataError(
            f"{file}: not a readable parquet table ({error}). Export that measurement again "
            "(delete its directory and rerun the export) or remove it from the dataset."
        ) from error


def read_metadata(path: str | os.PathLike[str], kind: str = "measurements") -> pl.DataFrame:
    """The export's metadata table ``specs``, ``instances`` or ``measurements``.

    Each row carries the partition keys it belongs to (``spec_id``, ``instance_id``,
    ``measurement_id``), so it joins with :func:`scan` on them.
    """
    if kind not in METADATA_TABLES:
        raise ValueError(f"kind={kind!r}: choose one of {', '.join(METADATA_TABLES)}")
    return pl.read_parquet(Path(path) / METADATA_DIR / f"{kind}.parquet")
