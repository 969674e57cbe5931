"""What an uploaded parquet file will cost to process, read from its footer before any decoding.

A parquet file can be tiny on disk and huge in memory: 100 million rows of a constant column
compress to about 1 MB. The footer says how many rows the file holds and the physical type of each
column chunk, which is enough to estimate the decoded size (rows x width, or the footer's own
uncompressed size when that is larger, e.g. for strings). Uploads over the limits are refused
before a single page is decoded, so a few-MB file cannot take the server down.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "MAX_DECODED_BYTES_ENV",
    "MAX_ROWS_ENV",
    "FooterFacts",
    "ProcessingLimits",
    "read_footer",
]

MAX_ROWS_ENV = "IONWORKS_SERVER_MAX_UPLOAD_ROWS"
MAX_DECODED_BYTES_ENV = "IONWORKS_SERVER_MAX_UPLOAD_DECODED_BYTES"
GiB = 1024**3

# Bytes per value once decoded. Strings become 16-byte views plus their bytes (the bytes are
# counted through the footer's uncompressed size).
_WIDTH = {
    "BOOLEAN": 1,
    "INT32": 4,
    "FLOAT": 4,
    "INT64": 8,
    "DOUBLE": 8,
    "INT96": 12,
    "BYTE_ARRAY": 16,
}


@dataclass(frozen=True)
class FooterFacts:
    """Row count, decoded-size estimate and layout of a parquet file, from its footer alone."""

    rows: int
    decoded_bytes: int
    row_groups: int
    columns: int


def read_footer(path: Path) -> FooterFacts:
    """Read the footer of ``path``; raises whatever pyarrow raises for a file that is not parquet."""
    import pyarrow.parquet as pq  # here: the settings import this module, the admin CLI too

    metadata = pq.ParquetFile(path).metadata
    decoded = 0
    for g in range(metadata.num_row_groups):
        group = metadata.row_group(g)
        for c in range(group.num_columns):
            chunk = group.column(c)
            if chunk.physical_type == "FIXED_LEN_BYTE_ARRAY":
                width = metadata.schema.column(c).length or 1
            else:
                width = _WIDTH.get(chunk.physical_type, 8)
            by_type = chunk.num_values * width
            extra = chunk.total_uncompressed_size if chunk.physical_type == "BYTE_ARRAY" else 0
            decoded += max(by_type + extra, chunk.total_uncompressed_size)
    return FooterFacts(
        rows=metadata.num_rows,
        decoded_bytes=decoded,
        row_groups=metadata.num_row_groups,
        columns=metadata.num_columns,
    )


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip().replace("_", "")
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got {raw!r}") from None
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {value}")
    return value


@dataclass(frozen=True)
class ProcessingLimits:
    """The largest time-series upload the server will process.

    25 million rows is about 290 days sampled every second; 2 GiB decoded is about 22 million
    rows of a 12-column series. Processing runs by chunks, so memory does not grow with the file,
    but time and disk do: these keep one upload from occupying the server for minutes.
    """

    max_rows: int = 25_000_000
    max_decoded_bytes: int = 2 * GiB

    @classmethod
    def from_env(cls) -> ProcessingLimits:
        """Defaults, overridden by ``IONWORKS_SERVER_MAX_UPLOAD_ROWS`` / ``..._DECODED_BYTES``."""
        return cls(
            max_rows=_env_int(MAX_ROWS_ENV, cls.max_rows),
            max_decoded_bytes=_env_int(MAX_DECODED_BYTES_ENV, cls.max_decoded_bytes),
        )

    def refusal(self, facts: FooterFacts, label: str) -> str | None:
        """Why ``facts`` is over a limit (a message for the user), or ``None`` when it fits."""
        if facts.rows > self.max_rows:
            what = f"{facts.rows:,} rows, over the limit of {self.max_rows:,} rows"
            setting = MAX_ROWS_ENV
        elif facts.decoded_bytes > self.max_decoded_bytes:
            what = (
                f"about {_size(facts.decoded_bytes)} once decoded ({facts.rows:,} rows x "
                f"{facts.columns} columns), over the limit of {_size(self.max_decoded_bytes)}"
            )
            setting = MAX_DECODED_BYTES_ENV
        else:
            return None
        return (
            f"{label} holds {what}, so it was not processed. Split the data into several "
            f"measurements (for example one per test phase or per month), or ask the server's "
            f"administrator to raise {setting}."
        )


def _size(n: int) -> str:
    """Bytes for people: 2.0 GiB, 512.0 MiB."""
    for unit, factor in (("GiB", GiB), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= factor:
            return f"{n / factor:.1f} {unit}"
    return f"{n} bytes"
