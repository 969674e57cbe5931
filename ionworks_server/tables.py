"""Where a processed measurement's tables live: parquet for downloads, JSON for the JSON endpoints.

Processing writes ``time_series``, ``steps`` and ``cycles`` as parquet, and also renders steps and
cycles once as column-oriented JSON, so ``/cycles`` and ``/steps_and_cycles`` serve stored bytes
instead of decoding parquet and encoding JSON on every request (12.8 ms to 1 ms for the 575
cycles of a 1M-row series). Measurements stored before the JSON renderings existed fall back to
rendering from parquet.

The time series of an upload is written chunk by chunk as it is validated (:class:`SeriesWriter`),
so the server never holds a whole large series in memory.
"""

from __future__ import annotations

import os
from types import TracebackType

import polars as pl
import pyarrow.parquet as pq

from .jsonio import dumps
from .storage import Storage

JSON_TABLES = ("steps", "cycles")


def write_processed(
    storage: Storage,
    measurement_id: str,
    series: pl.DataFrame,
    steps: pl.DataFrame,
    cycles: pl.DataFrame,
) -> None:
    """Write the three tables (each atomically) and the JSON renderings of steps and cycles."""
    out = storage.object_dir("measurements", measurement_id)
    storage.write_parquet(series, out / "time_series.parquet")
    write_summaries(storage, measurement_id, steps, cycles)


def write_summaries(
    storage: Storage, measurement_id: str, steps: pl.DataFrame, cycles: pl.DataFrame
) -> None:
    """Write steps and cycles (each atomically) as parquet and as their JSON renderings."""
    out = storage.object_dir("measurements", measurement_id)
    for name, frame in (("steps", steps), ("cycles", cycles)):
        storage.write_parquet(frame, out / f"{name}.parquet")
        storage.write_bytes(dumps(frame.to_dict(as_series=False)), out / f"{name}.json")


class SeriesWriter:
    """``time_series.parquet`` of a measurement, written one chunk (one row group) at a time.

    Chunks go to a temp file next to the final one; :meth:`commit` renames it into place, and
    leaving the ``with`` block without a commit removes it, so readers only ever see a complete
    file.
    """

    def __init__(self, storage: Storage, measurement_id: str) -> None:
        self.final = storage.object_dir("measurements", measurement_id) / "time_series.parquet"
        self.temp = storage.temp_path(self.final)
        self._writer: pq.ParquetWriter | None = None

    def __enter__(self) -> SeriesWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._close()
        self.temp.unlink(missing_ok=True)

    def write(self, chunk: pl.DataFrame) -> None:
        """Append a chunk (all chunks share one schema)."""
        table = chunk.to_arrow()
        if self._writer is None:
            self.final.parent.mkdir(parents=True, exist_ok=True)
            self._writer = pq.ParquetWriter(
                self.temp,
                table.schema,
                # What polars' write_parquet does: zstd level 3, no dictionary for floats.
                compression="zstd",
                compression_level=3,
                use_dictionary=False,
                write_statistics=True,
            )
        self._writer.write_table(table, row_group_size=max(1, table.num_rows))

    def commit(self) -> None:
        """Finish the file and move it into place."""
        self._close()
        os.replace(self.temp, self.final)

    def _close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def table_json(storage: Storage, measurement_id: str, name: str) -> bytes:
    """The ``{column: [values]}`` JSON of a processed table."""
    rendered = storage.local_object("measurements", measurement_id, f"{name}.json")
    if rendered.is_file():
        return rendered.read_bytes()
    parquet = storage.local_object("measurements", measurement_id, f"{name}.parquet")
    return dumps(pl.read_parquet(parquet).to_dict(as_series=False))
