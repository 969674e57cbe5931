"""Command line: ``serve`` runs the server, ``admin`` manages keys and quotas in a data dir.

The ``ionworks`` command dispatches ``ionworks serve ...`` to :func:`serve_main` and
``ionworks admin ...`` to :func:`admin_main`; ``python -m ionworks_server`` does the same.

``serve`` binds its port before it touches anything else, so a port in use is one line of error and
an untouched data dir. Both commands run with umask 0o077: the data dir and everything in it are
readable by its owner only.

``admin`` talks to the database directly (SQLite in WAL mode with a busy timeout), so it works
while a server runs on the same data dir, and ``admin create-key`` prints nothing but the key on
stdout so scripts can capture it.
"""

from __future__ import annotations

import argparse
import dataclasses
import errno
import logging
import os
import socket
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from . import serve_workers
from .auth import (
    DEFAULT_ORGANIZATION,
    DEFAULT_USER_EMAIL,
    create_key,
    ensure_key,
    ensure_organization,
    ensure_user,
)
from .config import (
    DATA_DIR_ENV,
    DATABASE_URL_ENV,
    PUBLIC_URL_ENV,
    Settings,
    check_database_url,
    check_public_url,
    resolve_data_dir,
    secure_data_dir,
    unreachable_message,
)
from .db import (
    IncompatibleDatabase,
    api_keys,
    write,
)

if TYPE_CHECKING:
    from .context import AppContext

__all__ = ["admin_main", "main", "serve_main"]


def _serve_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ionworks serve",
        description="Run the local Ionworks reference server (the whole API on SQLite + parquet).",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="interface to bind (default: loopback only)"
    )
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (default: 8000)")
    parser.add_argument(
        "--data-dir",
        help=f"where the database and stored files live (default: ${DATA_DIR_ENV} or ~/.ionworks/server)",
    )
    parser.add_argument(
        "--database-url",
        metavar="URL",
        help=f"the database: postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE for a team server "
        f"(default: ${DATABASE_URL_ENV}, else SQLite in the data dir); migrated on start",
    )
    parser.add_argument(
        "--api-key",
        action="extend",
        nargs="+",
        default=[],
        metavar="KEY",
        help="make KEY a valid key of the default organization (several keys allowed)",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="load the demo data set into an empty data dir (no-op if it already holds data)",
    )
    parser.add_argument(
        "--demo-rows",
        type=int,
        metavar="N",
        help="also add one long time-series measurement of N rows (benchmarks)",
    )
    parser.add_argument(
        "--demo-specs",
        type=int,
        metavar="N",
        help="pad the specifications to N in total with synthetic copies (benchmarks)",
    )
    parser.add_argument(
        "--public-url",
        metavar="URL",
        help=f"base of the signed upload/download links the server hands out, as clients reach it "
        f"(default: ${PUBLIC_URL_ENV}, else the address each client connected to)",
    )
    parser.add_argument(
        "--trust-proxy",
        action="store_true",
        help="behind a reverse proxy: believe its X-Forwarded-* headers (from the addresses in "
        "$FORWARDED_ALLOW_IPS, default loopback) and, without --public-url, its Host header",
    )
    parser.add_argument(
        "--header-timeout",
        type=float,
        default=Settings.header_timeout_s,
        metavar="SECONDS",
        help="close a connection whose request head is not complete within this time "
        f"(default: {Settings.header_timeout_s:g})",
    )
    parser.add_argument(
        "--max-connections",
        type=int,
        default=Settings.max_connections,
        metavar="N",
        help=f"connections open at once; more are closed at once (default: {Settings.max_connections})",
    )
    parser.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"]
    )
    serve_workers.add_arguments(parser)
    return parser


def _say(message: str) -> None:
    print(message, flush=True)


def _error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr, flush=True)


@contextmanager
def _private_files() -> Iterator[None]:
    """Run with umask 0o077 (files 0600, directories 0700), restoring the caller's afterwards."""
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


def _bind(host: str, port: int) -> socket.socket:
    """The listening socket, made before anything else (as uvicorn would: SO_REUSEADDR).

    Raises OSError with a one-line message naming the flag to change.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY on accepted connections only when the
    # listening socket says TCP; without it every small response waits ~40 ms for Nagle.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            # "address already in use" is also what tests/server_process.py retries on.
            reason = (
                f"port {port} on {host} is in use (address already in use); "
                "pass --port with a free port"
            )
        elif exc.errno == errno.EACCES:
            reason = f"no permission to listen on port {port}; pass --port 1024 or above"
        elif exc.errno == errno.EADDRNOTAVAIL or isinstance(exc, socket.gaierror):
            reason = f"{host} is not an address of this machine; pass --host (e.g. 127.0.0.1)"
        else:
            reason = f"cannot listen on {host}:{port}: {exc.strerror or exc}"
        raise OSError(exc.errno, reason) from exc
    return sock


def _check_serve_args(args: argparse.Namespace) -> str | None:
    """The first problem with the serve options, as an error message, or None."""
    if args.demo_rows is not None and args.demo_rows <= 0:
        return "--demo-rows must be a positive number of rows"
    if not args.header_timeout > 0:
        return "--header-timeout must be a positive number of seconds"
    if args.max_connections < 1:
        return "--max-connections must be at least 1"
    if not 0 <= args.port <= 65535:
        return "--port must be between 0 and 65535"
    return check_database_url(args.database_url or os.environ.get(DATABASE_URL_ENV))


def serve_main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``ionworks serve``; returns the process exit status."""
    args = _serve_parser().parse_args(argv)
    problem = _check_serve_args(args) or serve_workers.check_args(args)
    raw_url = args.public_url or os.environ.get(PUBLIC_URL_ENV)
    try:
        public_url = check_public_url(raw_url) if raw_url else None
    except ValueError as exc:
        problem = problem or f"--public-url (or ${PUBLIC_URL_ENV}): {exc}"
    if problem:
        _error(problem)
        return 2
    try:
        sock = _bind(args.host, args.port)
    except OSError as exc:
        _error(exc.strerror or str(exc))
        return 1
    try:
        with _private_files():
            return _serve(args, sock, public_url)
    finally:
        sock.close()


class _Exit(Exception):
    """Start-up cannot go on: print ``error: <message>`` and exit with ``status``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _serve(args: argparse.Namespace, sock: socket.socket, public_url: str | None) -> int:
    """Everything after the port is ours: data dir, keys, demo, then uvicorn on ``sock``."""
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    if args.log_level != "debug":  # Alembic narrates every step at INFO
        logging.getLogger("alembic").setLevel(logging.WARNING)
    started = time.perf_counter()

    import uvicorn

    from .app import create_app
    from .connections import guarded_protocol

    serve_workers.apply_env(args)
    try:
        settings = _settings(args, public_url)
        ctx = _context(settings)
        org_id, new_key = _keys(ctx, args.api_key)
        _demo_data(args, ctx, org_id)
    except _Exit as stop:
        _error(str(stop))
        return stop.status
    port = sock.getsockname()[1]
    url = f"http://[{args.host}]:{port}" if ":" in args.host else f"http://{args.host}:{port}"
    if args.workers > 1:
        serve_workers.prepare(ctx)
        _announce(args, settings, url, new_key)
        return serve_workers.run_workers(settings, sock, args)
    app = create_app(settings, ctx)
    _announce(args, settings, url, new_key)
    _say(f"Prepared in {time.perf_counter() - started:.2f} s; serving until interrupted (Ctrl+C).")
    if public_url:
        _say(f"Signed links point at {public_url}.")
    config = uvicorn.Config(
        app,
        host=args.host,
        port=port,
        http=guarded_protocol(settings.header_timeout_s, settings.max_connections),
        proxy_headers=settings.trust_proxy,
        timeout_keep_alive=serve_workers.keep_alive_s(settings),
        log_level=args.log_level,
        access_log=args.log_level == "debug",
        lifespan="on",
    )
    uvicorn.Server(config).run(sockets=[sock])
    return 0


def _settings(args: argparse.Namespace, public_url: str | None) -> Settings:
    """The data dir's settings with the command line's overrides; the dir made private."""
    try:
        base = Settings.from_data_dir(resolve_data_dir(args.data_dir))
    except ValueError as exc:  # a malformed IONWORKS_SERVER_* variable
        raise _Exit(2, str(exc)) from None
    settings = dataclasses.replace(
        base,
        database_url=args.database_url or base.database_url,
        public_url=public_url,
        trust_proxy=args.trust_proxy,
        header_timeout_s=args.header_timeout,
        max_connections=args.max_connections,
    )
    try:
        secure_data_dir(settings.data_dir)
    except OSError as exc:
        raise _Exit(
            2, f"cannot create or protect the data dir {settings.data_dir}: {exc}"
        ) from None
    return settings


def _context(settings: Settings) -> AppContext:
    """Open the data dir: schema check, signing secret, storage, worker (not started yet)."""
    from .app import build_context  # late, as in _serve: a bad port never loads the app

    try:
        return build_context(settings)
    except IncompatibleDatabase as exc:
        raise _Exit(2, str(exc)) from None
    except OperationalError as exc:
        raise _Exit(1, unreachable_message(settings.database_url, exc)) from None
    except serve_workers.StorageUnreachable as exc:
        raise _Exit(1, str(exc)) from None


def _keys(ctx: AppContext, api_keys_given: list[str]) -> tuple[str, str | None]:
    """The default organization and its keys: the ``--api-key`` ones, else one new key.

    Returns the organization id and the new key (None when it already had one).
    """
    try:
        with write(ctx.engine) as conn:
            org_id = ensure_organization(conn, DEFAULT_ORGANIZATION)
            user_id = ensure_user(conn, org_id, DEFAULT_USER_EMAIL)
            for key in api_keys_given:
                ensure_key(conn, org_id, user_id, key)
            has_key = conn.execute(
                select(api_keys.c.id).where(api_keys.c.organization_id == org_id).limit(1)
            ).first()
            new_key = create_key(conn, org_id, user_id) if has_key is None else None
    except ValueError as exc:
        raise _Exit(2, f"--api-key: {exc}") from None
    return org_id, new_key


def _demo_data(args: argparse.Namespace, ctx: AppContext, org_id: str) -> None:
    """``--demo``, ``--demo-rows`` and ``--demo-specs``, each saying what it did and how long."""
    from .demo import add_long_run, has_data, load_demo, pad_specifications

    if args.demo:
        if has_data(ctx):
            _say(
                "Demo data not loaded: the data dir already holds data (--demo only fills an empty one)."
            )
        else:
            t0 = time.perf_counter()
            summary = load_demo(ctx, org_id)
            _say(
                f"Loaded demo data in {time.perf_counter() - t0:.1f} s: {summary.specifications} "
                f"specifications, {summary.instances} instances, {summary.measurements} measurements "
                f"({summary.time_series_rows:,} time-series rows)."
            )
    if args.demo_rows:
        t0 = time.perf_counter()
        try:
            measurement_id, created = add_long_run(ctx, org_id, args.demo_rows)
        except LookupError as exc:
            raise _Exit(2, str(exc)) from None
        verb = "Added" if created else "Kept existing"
        _say(
            f"{verb} long-run-{args.demo_rows} ({args.demo_rows:,} rows) as measurement "
            f"{measurement_id} in {time.perf_counter() - t0:.1f} s."
        )
    if args.demo_specs:
        t0 = time.perf_counter()
        added = pad_specifications(ctx, org_id, args.demo_specs)
        _say(f"Added {added:,} synthetic specifications in {time.perf_counter() - t0:.1f} s.")


def _announce(args: argparse.Namespace, settings: Settings, url: str, new_key: str | None) -> None:
    """Where the server is, and the key to use (a new key is shown once: it is stored hashed)."""
    _say(f"Ionworks local server on {url} (data dir: {settings.data_dir})")
    if not settings.database_url.startswith("sqlite"):
        _say(f"Database: {make_url(settings.database_url).render_as_string(hide_password=True)}")
    if new_key is not None:
        _say(f"API key (shown once, stored hashed): {new_key}")
        _say(f"  export IONWORKS_API_URL={url} IONWORKS_API_KEY={new_key}")
    elif not args.api_key:
        _say(
            "Use an existing API key, or create one with: ionworks admin create-key "
            f"--data-dir {settings.data_dir} --organization {DEFAULT_ORGANIZATION}"
        )


def admin_main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``ionworks admin`` (:mod:`.admin_cli`); returns the process exit status."""
    from .admin_cli import run_admin

    return run_admin(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m ionworks_server serve|admin ...``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in ("serve", "admin"):
        print("usage: python -m ionworks_server {serve,admin} ...", file=sys.stderr)
        return 2
    if args[0] == "serve":
        return serve_main(args[1:])
    return admin_main(args[1:])
