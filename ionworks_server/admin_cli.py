"""``ionworks admin``: API keys and quotas of a local server's data dir or database.

Apart from :mod:`.cli` (``serve``) so each stays one concern; :func:`.cli.admin_main` calls
:func:`run_admin`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from .auth import DEFAULT_USER_EMAIL, create_key, ensure_organization, ensure_user, revoke_key
from .cli import _error, _private_files
from .config import (
    DATABASE_URL_ENV,
    Settings,
    check_database_url,
    resolve_data_dir,
    secure_data_dir,
    unreachable_message,
)
from .db import IncompatibleDatabase, create_db_engine, init_schema, organizations, read, write

__all__ = ["run_admin"]


def _admin_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ionworks admin",
        description="Manage API keys and quotas of a local server's data dir.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    key = sub.add_parser("create-key", help="create an API key and print only the key")
    key.add_argument("--data-dir", help="the server's data dir")
    key.add_argument("--database-url", help=f"the server's database (default: ${DATABASE_URL_ENV})")
    key.add_argument("--organization", required=True, help="organization name (created if new)")
    key.add_argument("--email", default=DEFAULT_USER_EMAIL, help="user the key belongs to")

    revoke = sub.add_parser("revoke-key", help="revoke an API key (refused at once, everywhere)")
    revoke.add_argument("--data-dir", help="the server's data dir")
    revoke.add_argument(
        "--database-url", help=f"the server's database (default: ${DATABASE_URL_ENV})"
    )
    revoke.add_argument("--key", required=True, help="the key to revoke")

    quota = sub.add_parser("set-quota", help="limit how many measurements an organization may hold")
    quota.add_argument("--data-dir", help="the server's data dir")
    quota.add_argument(
        "--database-url", help=f"the server's database (default: ${DATABASE_URL_ENV})"
    )
    quota.add_argument("--organization", required=True, help="organization name")
    quota.add_argument(
        "--max-measurements",
        required=True,
        help="the limit, or 'none' to remove it",
    )
    return parser


def run_admin(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``ionworks admin``; returns the process exit status."""
    args = _admin_parser().parse_args(argv)
    with _private_files():
        return _admin(args)


def _admin(args: argparse.Namespace) -> int:
    try:
        settings = Settings.from_data_dir(resolve_data_dir(args.data_dir))
    except ValueError as exc:  # a malformed IONWORKS_SERVER_* variable
        _error(str(exc))
        return 2
    problem = check_database_url(args.database_url or os.environ.get(DATABASE_URL_ENV))
    if problem:
        _error(problem)
        return 2
    secure_data_dir(settings.data_dir)
    engine = create_db_engine(args.database_url or settings.database_url)
    try:
        init_schema(engine)
        if args.command == "create-key":
            with write(engine) as conn:
                org_id = ensure_organization(conn, args.organization)
                user_id = ensure_user(conn, org_id, args.email)
                key = create_key(conn, org_id, user_id)
            print(key, flush=True)
            return 0
        if args.command == "revoke-key":
            with write(engine) as conn:
                revoked = revoke_key(conn, args.key.strip())
            if not revoked:
                _error("no such key in this data dir (already revoked, or another data dir?)")
                return 1
            print("Key revoked; servers on this data dir refuse it from now on.", flush=True)
            return 0
        raw = str(args.max_measurements).strip().lower()
        if raw == "none":
            limit: int | None = None
        elif raw.isdigit():
            limit = int(raw)
        else:
            print("error: --max-measurements must be a whole number or 'none'", file=sys.stderr)
            return 2
        with write(engine) as conn:
            done = conn.execute(
                update(organizations)
                .where(organizations.c.name == args.organization)
                .values(max_measurements=limit)
            ).rowcount
        if not done:
            with read(engine) as conn:
                names = sorted(conn.execute(select(organizations.c.name)).scalars())
            print(
                f"error: no organization named {args.organization!r}; known: {', '.join(names) or 'none'}",
                file=sys.stderr,
            )
            return 1
        shown = "unlimited" if limit is None else str(limit)
        print(f"Organization {args.organization!r}: max_measurements = {shown}", flush=True)
        return 0
    except IncompatibleDatabase as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OperationalError as exc:
        _error(unreachable_message(str(engine.url), exc))
        return 1
    finally:
        engine.dispose()
