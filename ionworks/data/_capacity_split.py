"""A single ``Capacity [A.h]`` counter split into discharge and charge, chunk by chunk.

ionworksdata's ``summarize`` runs ``set_capacity`` on the whole series first: the counter's
row-to-row changes go to the discharge side where the current is positive and to the charge side
where it is negative, each summed over the series, then restarted at every step as absolute
values. :class:`CapacitySplit` does the same arithmetic on consecutive chunks, carrying the
counter's last value and the two running sums, so a series summarised in chunks (the server)
gets the numbers the whole series gets, bit for bit. The restart is left to the step summary:
each step's capacity is the absolute change of the running sum over the step.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import numpy.typing as npt
import polars as pl

from .columns import CAPACITY, CHARGE_CAPACITY, CURRENT, DISCHARGE_CAPACITY

__all__ = ["CapacitySplit"]

Floats = npt.NDArray[np.float64]


def _floats(chunk: pl.DataFrame, name: str) -> Floats:
    """A column as float64 numbers, nulls as NaN (what ``set_capacity`` computes on)."""
    return chunk.get_column(name).cast(pl.Float64).to_numpy().astype(np.float64, copy=False)


class CapacitySplit:
    """``set_capacity``'s counters for a series that arrives in consecutive chunks.

    Active when the series has ``Capacity [A.h]`` and ``Current [A]`` (as ``summarize`` checks);
    a series that also has the discharge/charge pair keeps the pair, as ``set_capacity`` does,
    read as floats. :attr:`active` tells the step summary to take absolute capacities.
    """

    def __init__(self, columns: Collection[str]) -> None:
        self.active = CAPACITY in columns and CURRENT in columns
        self._pair = DISCHARGE_CAPACITY in columns and CHARGE_CAPACITY in columns
        self._previous = 0.0  # the counter's value before the chunk (0 before the series)
        self._sums: tuple[float, float] | None = None  # the running sums after the last chunk

    def __call__(self, chunk: pl.DataFrame) -> pl.DataFrame:
        """``chunk`` with the discharge and charge counters and without ``Capacity [A.h]``."""
        if not self.active:
            return chunk
        if self._pair:
            discharge = _floats(chunk, DISCHARGE_CAPACITY)
            charge = _floats(chunk, CHARGE_CAPACITY)
        else:
            discharge, charge = self._split(chunk)
        return chunk.with_columns(
            pl.Series(DISCHARGE_CAPACITY, discharge), pl.Series(CHARGE_CAPACITY, charge)
        ).drop(CAPACITY)

    def _split(self, chunk: pl.DataFrame) -> tuple[Floats, Floats]:
        counter, current = _floats(chunk, CAPACITY), _floats(chunk, CURRENT)
        delta = np.diff(counter, prepend=self._previous)
        self._previous = float(counter[-1])
        discharge = np.where(current > 0, delta, 0.0)
        charge = np.where(current < 0, np.abs(delta), 0.0)
        if self._sums is not None:  # continue the sums (np.cumsum adds in order: same bits)
            discharge = np.concatenate(([self._sums[0]], discharge))
            charge = np.concatenate(([self._sums[1]], charge))
            discharge, charge = np.cumsum(discharge)[1:], np.cumsum(charge)[1:]
        else:
            discharge, charge = np.cumsum(discharge), np.cumsum(charge)
        self._sums = (float(discharge[-1]), float(charge[-1]))
        return discharge, charge
