"""The local Ionworks reference server: the whole ``openapi.yaml`` on SQLite and parquet files.

Run it with ``python -m ionworks_server serve`` (or ``ionworks serve``); see :mod:`ionworks_server.cli`.
The server never imports the client package ``ionworks``: it is tested *through* HTTP, like the
hosted API, so that the client cannot accidentally lean on shared code.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
"""Version reported by ``GET /healthz``."""
