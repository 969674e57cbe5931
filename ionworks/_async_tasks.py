"""Concurrent steps of one async call, failing with the error the sync client raises.

An ``anyio`` task group reports failing tasks as an ``ExceptionGroup``, which
``except CacheMissError`` or ``except NotFoundError`` does not catch. The async client promises
the sync client's error types, so a group of ordinary errors is raised as its first one (the
others are of the same call, usually the same cause). Cancellation, ``KeyboardInterrupt`` and
other ``BaseException`` groups pass through untouched.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from anyio.abc import TaskGroup


@asynccontextmanager
async def task_group() -> AsyncIterator[TaskGroup]:
    """``anyio.create_task_group()``, raising the first error of its tasks as itself."""
    try:
        async with anyio.create_task_group() as group:
            yield group
    except ExceptionGroup as failed:
        raise first_error(failed) from None


def first_error(group: ExceptionGroup[Exception]) -> Exception:
    """The first leaf error of a (possibly nested) exception group."""
    error: Exception = group
    while isinstance(error, ExceptionGroup):
        error = error.exceptions[0]
    return error


__all__ = ["first_error", "task_group"]
