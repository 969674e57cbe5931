"""``ionworks serve --workers N`` and ``--storage-url``: several server processes on one socket.

The command binds the socket and prepares the data dir once (keys, demo data, the start-up sweep,
queueing interrupted jobs), then uvicorn's supervisor starts N processes that share the socket
and restarts any that dies. Nothing they share lives in one process's memory: records, quotas
and the processing queue are in the database (:mod:`.state`: a dead process's job is taken over
once its lease expires), files in the storage, the signing key in the data dir, and API keys are
read per request (:mod:`.auth`), so a revocation is seen by every process at once.

SQLite allows one writer at a time for the whole database, so on SQLite ``--workers`` above 1 is
refused: one process (with its processing threads) is the supported set-up; PostgreSQL is the
database for several.
"""

from __future__ import annotations

import argparse
import base64
import math
import os
import pickle
import socket
from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess

from .config import DATABASE_URL_ENV, Settings
from .connections import guarded_protocol
from .state import WORKER_PROCESS_ENV, queue_missing_jobs, release_all_leases
from .storage_s3 import STORAGE_URL_ENV, StorageUnreachable, parse_storage_url, part_bytes

__all__ = [
    "StorageUnreachable",
    "add_arguments",
    "app_factory",
    "check_args",
    "keep_alive_s",
    "prepare",
    "run_workers",
]

SETTINGS_ENV = "IONWORKS_SERVER_WORKER_SETTINGS"
"""The supervisor's settings, pickled, for the worker processes (they are spawned, not forked)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The storage and worker options of ``ionworks serve``."""
    parser.add_argument(
        "--storage-url",
        metavar="URL",
        help=f"store files in S3-compatible object storage, s3://BUCKET/PREFIX (default: "
        f"${STORAGE_URL_ENV}, else the data dir); credentials from the AWS_* variables, the "
        "endpoint of a non-AWS store from AWS_ENDPOINT_URL",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes sharing the port (default: 1; above 1 needs PostgreSQL)",
    )


def check_args(args: argparse.Namespace) -> str | None:
    """The first problem with ``--workers``/``--storage-url``, as an error message, or None."""
    database_url = getattr(args, "database_url", None) or os.environ.get(DATABASE_URL_ENV)
    if args.workers < 1:
        return "--workers must be at least 1"
    url = args.storage_url or os.environ.get(STORAGE_URL_ENV)
    if url:
        try:
            parse_storage_url(url)
        except ValueError as exc:
            return f"--storage-url (or ${STORAGE_URL_ENV}): {exc}"
        try:
            part_bytes()
        except ValueError as exc:
            return str(exc)
    if args.workers > 1 and not (database_url or "").startswith("postgres"):
        return (
            f"--workers {args.workers} needs PostgreSQL (--database-url postgresql://...): "
            "SQLite lets one process write at a time, so on SQLite run one server process "
            "(it processes uploads in threads of its own)"
        )
    return None


def apply_env(args: argparse.Namespace) -> None:
    """Make ``--storage-url`` the process's (and its workers') storage."""
    if args.storage_url:
        os.environ[STORAGE_URL_ENV] = args.storage_url


def prepare(ctx: Any) -> None:
    """The supervisor's start-up work, done once before the workers start: the sweep (no one
    writes yet) and a job for every interrupted measurement that has none."""
    ctx.worker.sweep()
    release_all_leases(ctx.engine)
    queue_missing_jobs(ctx.engine)
    ctx.engine.dispose()


def app_factory() -> Any:
    """The app of one worker process (``uvicorn ...:app_factory --factory``)."""
    from .app import create_app

    return create_app(_settings())


def keep_alive_s(settings: Settings) -> int:
    """How long an idle kept-alive connection stays open: the header timeout, which closes it
    anyway (``connections.py``), not uvicorn's 5 s. Clients keep idle connections for up to 5 s
    (httpx's default), measured from when *they* read the response: with the server also at
    5 s from when it *sent* it, a request sent on a connection the server was closing failed
    ("connection reset", "server disconnected") under ``make load``."""
    return max(5, math.ceil(settings.header_timeout_s))


class WorkerConfig(uvicorn.Config):
    """uvicorn's config with our HTTP protocol class built in each worker (a class made at run
    time cannot be sent to a spawned process)."""

    def load(self) -> None:
        super().load()
        settings = _settings()
        self.http_protocol_class = guarded_protocol(
            settings.header_timeout_s, settings.max_connections
        )


def _settings() -> Settings:
    settings: Settings = pickle.loads(base64.b64decode(os.environ[SETTINGS_ENV]))
    return settings


def run_workers(settings: Settings, sock: socket.socket, args: argparse.Namespace) -> int:
    """Serve on ``sock`` from ``args.workers`` processes until interrupted."""
    os.environ[SETTINGS_ENV] = base64.b64encode(pickle.dumps(settings)).decode()
    os.environ[WORKER_PROCESS_ENV] = "1"
    config = WorkerConfig(
        f"{__name__}:app_factory",
        factory=True,
        workers=args.workers,
        lifespan="on",
        proxy_headers=settings.trust_proxy,
        timeout_keep_alive=keep_alive_s(settings),
        log_level=args.log_level,
        access_log=args.log_level == "debug",
    )
    Multiprocess(config, sockets=[sock]).run()
    return 0
