"""Cache keys: which server, credential, measurement and artifact an entry belongs to.

Keys carry the normalised base URL and a one-way fingerprint of the credential, so two servers
or two users never share entries; the credential itself is never written anywhere. Names are
percent-encoded and never become paths.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Final, Literal, get_args
from urllib.parse import quote, urlsplit, urlunsplit

TableArtifact = Literal["steps", "cycles", "time_series", "sc_steps"]
"""``sc_steps`` are the JSON-derived steps of ``/steps_and_cycles``: a different source (and
dtypes) than the parquet ``steps`` download, so they never answer for each other."""
TABLE_ARTIFACTS: Final[tuple[str, ...]] = get_args(TableArtifact)

KEY_NAMESPACE: Final = "ionworks/v1"


def normalise_base_url(base_url: str) -> str:
    """Canonical form so ``https://API.x/`` and ``https://api.x:443`` share entries."""
    parts = urlsplit(base_url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = parts.port
    default_port = {"http": 80, "https": 443}.get(scheme)
    netloc = host if port is None or port == default_port else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path.rstrip("/"), "", ""))


@dataclass(frozen=True)
class CacheScope:
    """The server and credential an entry belongs to.

    Holds only a one-way fingerprint of the credential: entries of two users (or two servers)
    are kept apart without the key ever being written to disk.
    """

    base_url: str
    credential_fingerprint: str

    @classmethod
    def for_client(cls, base_url: str, credential: str | None) -> CacheScope:
        """Build the scope of a client from its base URL and its API key or token."""
        material = b"ionworks-cache-credential-v1\x00" + (credential or "").encode("utf-8")
        return cls(normalise_base_url(base_url), hashlib.sha256(material).hexdigest()[:32])

    @property
    def key(self) -> str:
        """The scope as it appears in cache keys (no spaces: keys are space-separated)."""
        return f"{quote(self.base_url, safe='')}#{self.credential_fingerprint}"


def measurement_prefix(scope: CacheScope, measurement_id: str) -> str:
    """The prefix every key of one measurement starts with (what invalidation scans for)."""
    return f"{KEY_NAMESPACE} {scope.key} {quote(str(measurement_id), safe='')} "


def entry_key(scope: CacheScope, measurement_id: str, kind: str, name: str) -> str:
    """The key of one artifact: ``kind`` is ``table``, ``json`` or ``file``."""
    return f"{measurement_prefix(scope, measurement_id)}{kind}:{quote(name, safe='')}"


def check_artifact(artifact: str) -> None:
    """Reject a table name this cache does not know (a bug of the caller)."""
    if artifact not in TABLE_ARTIFACTS:
        raise ValueError(f"unknown cache artifact {artifact!r}; expected one of {TABLE_ARTIFACTS}")


def describe(kind: str, name: str, measurement_id: str) -> str:
    """How warnings name an entry: ``steps of measurement m1``."""
    label = {"table": name, "file": f"file {name!r}"}.get(kind, f"{name} metadata")
    return f"{label} of measurement {measurement_id}"
