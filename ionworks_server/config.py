"""Server settings: every knob, its default and the environment variable that sets it, in one place.

Precedence for the data directory is ``--data-dir`` > ``IONWORKS_SERVER_DATA_DIR`` >
``~/.ionworks/server``. The database URL is read from ``IONWORKS_SERVER_DATABASE_URL`` rather than a
bare ``DATABASE_URL``: a generic ``DATABASE_URL`` exported for some other application in a developer's
shell would otherwise silently point the server at that database.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from .upload_limits import ProcessingLimits

__all__ = [
    "DATABASE_SCHEMES",
    "DATABASE_URL_ENV",
    "DATA_DIR_ENV",
    "DEFAULT_DATA_DIR",
    "PUBLIC_URL_ENV",
    "Settings",
    "check_database_url",
    "check_public_url",
    "resolve_data_dir",
    "secure_data_dir",
    "unreachable_message",
]

DATA_DIR_ENV = "IONWORKS_SERVER_DATA_DIR"
DATABASE_URL_ENV = "IONWORKS_SERVER_DATABASE_URL"
PUBLIC_URL_ENV = "IONWORKS_SERVER_PUBLIC_URL"
DEFAULT_DATA_DIR = Path("~/.ionworks/server")
DATABASE_SCHEMES = ("sqlite", "postgresql", "postgres", "postgresql+psycopg")
"""URL schemes of the databases the server runs on (SQLite by default; PostgreSQL for a team)."""

MiB = 1024 * 1024


def resolve_data_dir(cli_value: str | os.PathLike[str] | None) -> Path:
    """Apply the data-dir precedence (flag, environment, default) and make the path absolute."""
    raw = cli_value if cli_value else os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR
    return Path(raw).expanduser().resolve()


def secure_data_dir(data_dir: Path) -> None:
    """Create the data dir owner-only (0700), or make an existing one so.

    Run with the process umask at 0o077 (``cli.py`` sets it), so everything created inside is
    0600/0700 too; closing the root also hides files an older release left world-readable.
    """
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    data_dir.chmod(0o700)


def check_public_url(raw: str) -> str:
    """``raw`` as a base URL for signed links (``http(s)://host[:port][/prefix]``, no slash at the end).

    Raises ValueError naming what is wrong.
    """
    text = raw.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"{raw!r} is not an http(s) URL with a host; use e.g. https://ionworks.example.com"
        )
    if parts.query or parts.fragment:
        raise ValueError(f"{raw!r} must not have a query or fragment")
    return text.rstrip("/")


def check_database_url(url: str | None) -> str | None:
    """A message when ``url`` (flag or environment) names a database this server cannot use."""
    if not url or url.split("://", 1)[0] in DATABASE_SCHEMES:
        return None
    return (
        f"--database-url (or ${DATABASE_URL_ENV}): {url.split('://', 1)[0]!r} is not a supported "
        "database; use postgresql://USER@HOST:PORT/DATABASE (or leave it unset for SQLite)"
    )


def unreachable_message(url: str, exc: OperationalError) -> str:
    """The database could not be opened: which one, and the driver's first line of why."""
    shown = make_url(url).render_as_string(hide_password=True)
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
    return f"cannot open the database {shown}: {reason}"


@dataclass(frozen=True)
class Settings:
    """Everything the app factory needs. Build it with :meth:`from_data_dir`."""

    data_dir: Path
    database_url: str
    max_json_body_bytes: int = 64 * MiB
    """Largest JSON request body, measured after gzip decompression (413 above it)."""
    max_upload_bytes: int = 4096 * MiB
    """Largest object accepted by a signed storage PUT (413 above it)."""
    get_url_ttl_s: int = 15 * 60
    """Lifetime of signed download URLs: long enough for a slow range read, short enough to leak little."""
    put_url_ttl_s: int = 60 * 60
    """Lifetime of signed upload URLs and of the reservation made by initiate-upload."""
    worker_threads: int = 1
    """Processing threads. One keeps a 2-core machine responsive while a big upload is processed."""
    public_url: str | None = None
    """Base of the absolute URLs the server hands out (signed upload/download links).

    None: the address the client's connection reached (the bound interface and port), never the
    ``Host`` header; with ``trust_proxy``, the ``Host`` and ``X-Forwarded-Proto`` a proxy sent.
    """
    trust_proxy: bool = False
    """Believe ``X-Forwarded-*`` (and ``Host`` for links) from the proxies in ``FORWARDED_ALLOW_IPS``."""
    header_timeout_s: float = 10.0
    """A connection whose request head is not complete this long after it opened (or after the
    previous response) is closed: stalled clients cannot hold connections open."""
    max_connections: int = 1000
    """Connections open at once; more are closed as soon as they are accepted."""
    processing_limits: ProcessingLimits = field(default_factory=ProcessingLimits.from_env)
    """Largest time-series upload processed, judged from the parquet footer before decoding:
    25,000,000 rows (``IONWORKS_SERVER_MAX_UPLOAD_ROWS``) and 2 GiB decoded
    (``IONWORKS_SERVER_MAX_UPLOAD_DECODED_BYTES``)."""

    @classmethod
    def from_data_dir(cls, data_dir: Path) -> Settings:
        """Settings for ``data_dir``, with the database URL from the environment or the data dir.

        Override single fields with :func:`dataclasses.replace`.
        """
        url = os.environ.get(DATABASE_URL_ENV) or f"sqlite:///{data_dir / 'ionworks.sqlite3'}"
        return cls(data_dir=data_dir, database_url=url)

    @property
    def storage_root(self) -> Path:
        """Root of every stored object; nothing is ever read or written outside it."""
        return self.data_dir / "storage"

    @property
    def secret_path(self) -> Path:
        """Per-data-dir HMAC key for signed URLs (created 0600 at first start)."""
        return self.data_dir / "signing.key"
