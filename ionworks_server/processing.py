"""Server-side processing of uploaded time-series measurements.

After an upload is confirmed the worker validates the time series, builds the steps table (or
checks the one the client uploaded) and derives per-cycle metrics, then stores the three results.
The rules themselves live in the battery-data core (:mod:`ionworks.data`: ``validate``, ``steps``,
``cycles``), so a user can compute the same tables locally; this module only orchestrates them
for the worker. A large upload is fed in chunks (:func:`process_chunks`: the validator and the
step summariser carry what spans chunks), so memory follows the chunk, not the file;
:func:`process` is the same code on a single chunk.

Errors are raised as :class:`ProcessingError` (the core's :class:`~ionworks.data.errors.DataError`),
whose message ends up in the measurement's ``processing_error`` field, so each one says what is
wrong with the user's file and how to fix it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import polars as pl

from ionworks.data.columns import CYCLE_COUNT, END_INDEX, START_INDEX, STEP_COUNT
from ionworks.data.cycles import cycle_metrics
from ionworks.data.errors import DataError
from ionworks.data.steps import StepSummariser
from ionworks.data.validate import SeriesValidator, int_column

__all__ = ["UPLOADED_STEP_REQUIRED", "ProcessingError", "process", "process_chunks"]

ProcessingError = DataError
"""The server's name for the core's error: a file that cannot be processed."""

UPLOADED_STEP_REQUIRED = (STEP_COUNT, START_INDEX, END_INDEX)
"""Columns an uploaded steps table must have to be checked against its series."""


def process(
    ts: pl.DataFrame,
    uploaded_steps: pl.DataFrame | None,
    rated_capacity_ah: float | None,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Validate a measurement and return (normalised time series, steps, cycles).

    An uploaded step table is used as given once its indices are checked against the series
    (a ``Cycle count`` column is added from the series when it lacks one); an absent or empty
    one means the server derives the steps itself.
    """
    parts: list[pl.DataFrame] = []
    _, steps, cycles = process_chunks(
        [ts], ts.columns, uploaded_steps, rated_capacity_ah, parts.append
    )
    return (parts[0] if len(parts) == 1 else pl.concat(parts)), steps, cycles


def process_chunks(
    chunks: Iterable[pl.DataFrame],
    columns: Sequence[str],
    uploaded_steps: pl.DataFrame | None,
    rated_capacity_ah: float | None,
    write: Callable[[pl.DataFrame], None],
) -> tuple[int, pl.DataFrame, pl.DataFrame]:
    """:func:`process` for a series read in consecutive chunks (all with ``columns``).

    Each normalised chunk is handed to ``write`` as soon as it is validated, and only what spans
    chunks is kept (see :class:`SeriesValidator` and :class:`StepSummariser`), so memory follows
    the chunk size, not the file. Returns (rows, steps, cycles), equal to what :func:`process`
    gives for the whole series at once.
    """
    validator = SeriesValidator(columns)
    uploaded = uploaded_steps if uploaded_steps is not None and uploaded_steps.height else None
    summary = StepSummariser(rated_capacity_ah) if uploaded is None else None
    needs_cycles = uploaded is not None and CYCLE_COUNT not in uploaded.columns
    cycle_counts: list[pl.Series] = []
    for chunk in chunks:
        series = validator.chunk(chunk)
        if series.height == 0:
            continue
        write(series)
        if summary is not None:
            summary.add(series)
        elif needs_cycles:
            cycle_counts.append(series.get_column(CYCLE_COUNT))
    validator.finish()
    if uploaded is None:
        assert summary is not None
        steps = summary.finish()
    else:
        steps = _check_uploaded_steps(uploaded, validator.rows, cycle_counts)
    return validator.rows, steps, cycle_metrics(steps)


def _check_uploaded_steps(
    steps: pl.DataFrame, rows: int, cycle_counts: list[pl.Series]
) -> pl.DataFrame:
    """Make sure a client-supplied step table fits the ``rows``-row series it came with.

    ``cycle_counts`` are the series' cycle counts (in chunks), used when the table has none.
    """
    missing = [c for c in UPLOADED_STEP_REQUIRED if c not in steps.columns]
    if missing:
        names = ", ".join(repr(c) for c in missing)
        found = ", ".join(repr(c) for c in steps.columns) or "none"
        raise ProcessingError(
            f"uploaded steps table is missing required column(s) {names}; found columns: "
            f"{found}. Add them, or upload without a steps table to let the server derive steps."
        )
    steps = steps.with_columns(int_column(steps, c) for c in UPLOADED_STEP_REQUIRED)
    start, end = pl.col(START_INDEX), pl.col(END_INDEX)
    last_row = rows - 1
    bad = (
        steps.with_row_index("_step_row")
        .filter((start < 0) | (end > last_row) | (start > end))
        .select("_step_row", START_INDEX, END_INDEX)
    )
    if bad.height:
        row, first, last = bad.row(0)
        raise ProcessingError(
            f"uploaded steps row {row} spans rows {first}..{last}, but the time series has rows "
            f"0..{last_row} and a step must start at or before its end; fix the step indices "
            "(0-based, inclusive) or upload without a steps table."
        )
    if CYCLE_COUNT not in steps.columns:
        cycles = pl.concat(cycle_counts).gather(steps.get_column(START_INDEX))
        steps = steps.with_columns(cycles.alias(CYCLE_COUNT))
    else:
        steps = steps.with_columns(int_column(steps, CYCLE_COUNT))
    return steps
