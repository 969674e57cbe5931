"""The one polling loop: ask, and if not done, wait a growing interval until a deadline.

Measurement processing and pipelines both wait on the server this way; only the backoff they
start from differs (a measurement is usually processed within a second, so it is asked early).
The clock and the sleep are parameters so the loop is tested without waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    """Wait ``first`` seconds, then ``factor`` times longer each time, never more than ``cap``."""

    first: float
    factor: float = 1.0
    cap: float = float("inf")

    def intervals(self) -> Callable[[], float]:
        """A function returning the next interval each time it is called."""
        current = [self.first]

        def next_interval() -> float:
            interval = current[0]
            current[0] = min(self.cap, interval * self.factor)
            return interval

        return next_interval


def poll(
    ask: Callable[[], T],
    done: Callable[[T], bool],
    *,
    timeout: float,
    backoff: Backoff,
    on_timeout: Callable[[T], Exception],
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call ``ask`` until ``done`` says its answer is final; return that answer.

    Never sleeps past the deadline: when the next wait would end after it, raise
    ``on_timeout(last answer)`` instead of asking once more too late.
    """
    deadline = clock() + timeout
    next_interval = backoff.intervals()
    while True:
        answer = ask()
        if done(answer):
            return answer
        interval = next_interval()
        if clock() + interval > deadline:
            raise on_timeout(answer)
        sleep(interval)


__all__ = ["Backoff", "poll"]
