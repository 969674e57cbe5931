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

from ionworks.data.columns import CYCLE_COUNT, START_INDEX, STEP_COUNT
from ionworks.data.cycles import cycle_metrics, get_cycle_metrics
from ionworks.data.errors import DataError
from ionworks.data.steps import StepSummariser
from ionworks.data.validate import UPLOADED_STEPS_REQUIRED, SeriesValidator, int_column

__all__ = ["UPLOADED_STEP_REQUIRED", "ProcessingError", "process", "process_chunks"]

ProcessingError = DataError
"""The server's name for the core's error: a file that cannot be processed."""

UPLOADED_STEP_REQUIRED = UPLOADED_STEPS_REQUIRED
"""Columns an uploaded steps table must have (its step and cycle counts come from the series)."""


def process(
    ts: pl.DataFrame,
    uploaded_steps: pl.DataFrame | None,
    rated_capacity_ah: float | None,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Validate a measurement and return (normalised time series, steps, cycles).

    An uploaded step table is used as given once its indices are checked against the series
    (``Step count`` and ``Cycle count`` are added from the series when it lacks them); an
    absent or empty one means the server derives the steps itself.
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
    needs_counts = uploaded is not None and not {STEP_COUNT, CYCLE_COUNT} <= set(uploaded.columns)
    counts: list[pl.DataFrame] = []
    for chunk in chunks:
        series = validator.chunk(chunk)
        if series.height == 0:
            continue
        write(series)
        if summary is not None:
            summary.add(series)
        elif needs_counts:
            counts.append(series.select(STEP_COUNT, CYCLE_COUNT))
    validator.finish(uploaded)  # the series and the uploaded steps table, every problem at once
    if uploaded is None:
        assert summary is not None
        steps = summary.finish()
        return validator.rows, steps, get_cycle_metrics(steps)  # ionworksdata's rules
    # An uploaded table may lack the capacities get_cycle_metrics requires: the tolerant form.
    steps = _uploaded_steps(uploaded, counts)
    return validator.rows, steps, cycle_metrics(steps)


def _uploaded_steps(steps: pl.DataFrame, counts: list[pl.DataFrame]) -> pl.DataFrame:
    """A client-supplied step table (already checked against its series) with Int64 indices.

    ``counts`` are the series' step and cycle counts (in chunks), read at each step's start for
    a count the table lacks.
    """
    present = [c for c in (*UPLOADED_STEPS_REQUIRED, STEP_COUNT, CYCLE_COUNT) if c in steps.columns]
    steps = steps.with_columns(int_column(steps, c) for c in present)
    missing = [c for c in (STEP_COUNT, CYCLE_COUNT) if c not in steps.columns]
    if missing:
        starts = steps.get_column(START_INDEX)
        steps = steps.with_columns(pl.concat(counts).select(pl.col(missing).gather(starts)))
    return steps
