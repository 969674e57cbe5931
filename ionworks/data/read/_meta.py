"""What every reader's ``metadata`` shares: the start time added when the file has one, and
dates written in one of a few known spellings (files from one cycler differ by PC locale)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any


def with_start(out: dict[str, Any], started: datetime | None) -> dict[str, Any]:
    """``out`` with ``start_time`` set when the file says when the test started."""
    if started is not None:
        out["start_time"] = started
    return out


def parse_datetime(value: str | None, formats: Iterable[str]) -> datetime | None:
    """``value`` parsed with the first of ``formats`` that fits, else None."""
    for fmt in formats:
        try:
            return datetime.strptime((value or "").strip(), fmt)
        except ValueError:
            continue
    return None
