"""Reader names (ionworksdata's spelling) -> the module that reads that format."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl


@dataclass(frozen=True)
class Reader:
    """One format: how to read it, and what its header says (``None`` when it stores nothing)."""

    name: str
    read: Callable[..., pl.DataFrame]
    metadata: Callable[[Path], dict[str, Any]] | None = None
    start_time: Callable[[Path], datetime | None] | None = None
    extensions: tuple[str, ...] = ()
    options: tuple[str, ...] = ()
