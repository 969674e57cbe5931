"""Make polars safe to first use from several threads at once.

polars imports numpy lazily through a proxy module that resolves itself on first attribute
access. Two threads resolving it at the same time crash with ``TypeError: 'module' object does
not support item assignment``: the first copies numpy's namespace into the proxy, which replaces
the proxy's own ``_globals`` dict with the submodule ``numpy._globals``, and the second then
assigns into that module. The demo loader and the processing worker both build frames from numpy
arrays on thread pools, so the proxy is resolved here, once, before any of those threads start
(importing numpy first narrows the window to almost nothing; the call closes it).
"""

from __future__ import annotations

import numpy as np
import polars as pl


def resolve_lazy_numpy() -> None:
    """Resolve polars' numpy proxy now (idempotent, cheap after the first call)."""
    pl.Series(np.zeros(1))
