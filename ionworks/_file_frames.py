"""A local file read into what an upload sends: the library's
``cell_measurement.create(instance, path)`` and the CLI's ``measurements upload FILE`` both
read through here, so a file reads the same either way. No command-line wording here: the CLI
translates the library's errors into its options (``_cli_files.in_cli_terms``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ._progress import progress_bar
from .data.columns import REQUIRED


def check_file(path: Path) -> None:
    """A clear error for a path that is not a readable file."""
    if path.is_dir():
        raise ValueError(f"{path}: a directory; give the cycler file inside it")
    if not path.is_file():
        raise ValueError(f"{path}: no such file")


def time_series_with_progress(file: Any, options: dict[str, Any] | None = None) -> Any:
    """The opened file's time series, with a bar for large files.

    Reading is one parse, so the bar moves once, when the file is read; it tells a person
    watching a multi-gigabyte export that work is under way and what is being read.
    """
    size = file.path.stat().st_size
    with progress_bar(size, f"reading {file.path.name} ({file.reader})") as advance:
        frame = file.time_series(**(options or {}))
        if advance is not None:
            advance(size)
    return frame


def upload_frame(
    path: Path, reader: str | None, options: dict[str, Any] | None = None
) -> tuple[Any, str | None]:
    """What ``measurements upload FILE`` sends: the frame, and the test's start time if known.

    A parquet file, or a CSV already in the standard columns, is sent as it is; anything else
    is read as a cycler file (detected, or ``reader`` with its ``options``, as from
    :func:`mapping_options`; the series and the start time from one parse), so nothing is
    uploaded from a file that does not read.
    """
    import polars as pl

    from .data import read

    check_file(path)
    suffix = path.suffix.lower()
    if reader is None and suffix == ".parquet":
        from ._dataframe import read_parquet

        return read_parquet(str(path)), None
    if reader is None and suffix == ".csv" and _standard_csv(path):
        return pl.read_csv(path), None
    with read.opened(path, reader) as file:
        frame = time_series_with_progress(file, options)
        started = file.start_time()
    return frame, started.isoformat() if started is not None else None


def _standard_csv(path: Path) -> bool:
    """True when the CSV's first line names the standard time, current and voltage columns."""
    with path.open(encoding="utf-8", errors="replace") as handle:
        header = [f.strip().strip('"') for f in handle.readline().split(",")]
    return all(c in header for c in REQUIRED)
