"""Progress bars for large transfers, only when a person is watching."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ._constants import ENV_DISABLE_PROGRESS_BARS, PROGRESS_THRESHOLD_BYTES


def progress_enabled() -> bool:
    """True in a terminal or a notebook, unless IONWORKS_DISABLE_PROGRESS_BARS is set."""
    if os.environ.get(ENV_DISABLE_PROGRESS_BARS):
        return False
    if "ipykernel" in sys.modules:
        return True
    stream = sys.stderr
    return bool(stream is not None and hasattr(stream, "isatty") and stream.isatty())


@contextmanager
def progress_bar(total: int, description: str) -> Iterator[Callable[[int], None] | None]:
    """Yield an ``advance(n)`` callback, or None when no bar should be shown."""
    if total < PROGRESS_THRESHOLD_BYTES or not progress_enabled():
        yield None
        return
    from tqdm.auto import tqdm

    # A pseudo-terminal with no size (CI runners, `script`) reports 0 rows and columns, and tqdm
    # then hides its bar entirely; shutil falls back to 80x24 there.
    size = shutil.get_terminal_size((80, 24))
    with tqdm(
        total=total,
        desc=description,
        unit="B",
        unit_scale=True,
        leave=False,
        ncols=size.columns or 80,
        nrows=size.lines or 24,
    ) as bar:

        def advance(n: int) -> None:
            bar.update(n)

        yield advance
