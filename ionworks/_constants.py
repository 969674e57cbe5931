"""Every environment variable and default the client reads, in one place."""

from __future__ import annotations

DEFAULT_API_URL = "https://api.ionworks.com"

ENV_API_KEY = "IONWORKS_API_KEY"
"""API key, sent as the ``X-API-Key`` header."""
ENV_API_TOKEN = "IONWORKS_API_TOKEN"
"""Bearer token, sent as ``Authorization: Bearer <token>``; wins over an API key from the environment."""
ENV_API_URL = "IONWORKS_API_URL"
"""Base URL of the API (default :data:`DEFAULT_API_URL`); trailing slashes are stripped."""
ENV_PROJECT_ID = "IONWORKS_PROJECT_ID"
"""Default project for calls that take one (spec creation, pipelines)."""
ENV_ORGANIZATION_ID = "IONWORKS_ORGANIZATION_ID"
"""Sent as ``X-Organization-Id`` when set."""
ENV_DATAFRAME_BACKEND = "IONWORKS_DATAFRAME_BACKEND"
"""``polars`` (default) or ``pandas``: the type of DataFrames returned."""
ENV_DISABLE_PROGRESS_BARS = "IONWORKS_DISABLE_PROGRESS_BARS"
"""Any non-empty value turns transfer progress bars off."""
ENV_OFFLINE = "IONWORKS_OFFLINE"
"""``1`` serves measurement data from the local cache only, never touching the network."""
ENV_CACHE_DIR = "IONWORKS_CACHE_DIR"
"""Default cache directory (``~/.ionworksdata_cache`` when unset)."""
ENV_LOG = "IONWORKS_LOG"
"""``info`` or ``debug``: log one line per request on the ``"ionworks"`` logger, to stderr."""
ENV_CACHE_SIZE_LIMIT = "IONWORKS_CACHE_SIZE_LIMIT"
"""Cache size limit in bytes; least recently used entries are evicted beyond it (default 10 GiB)."""

DEFAULT_TIMEOUT = 30.0
"""Seconds an API call may take in all: connecting, every byte of the answer and any retries."""
DEFAULT_TRANSFER_TIMEOUT = 300.0
"""Seconds to wait for each read of a storage transfer (parquet downloads and uploads)."""
DEFAULT_MAX_RETRIES = 5
DEFAULT_RETRY_BUDGET = 60.0
"""Seconds a call may spend retrying in total, whatever ``max_retries`` allows."""
MAX_RETRY_AFTER = 30.0
"""Longest ``Retry-After`` we are willing to wait; a longer one is raised to the caller."""
PROGRESS_THRESHOLD_BYTES = 10 * 1024 * 1024
PROCESSING_TIMEOUT = 600.0
"""Seconds ``cell_measurement.create`` waits for the server to process an upload."""
