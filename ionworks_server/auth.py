"""API keys and the caller they identify: organizations, users, key generation and lookup.

A key arrives as ``X-API-Key: <key>`` or ``Authorization: Bearer <key>`` (openapi.yaml's
``ApiKeyAuth`` and ``BearerAuth``) and maps to one user of one organization. A missing or unknown
key is a 403 ``FORBIDDEN``: this API never answers 401 (openapi.yaml's description says so).

Keys are stored as salted scrypt hashes (``scrypt$n$r$p$salt$hash``: the parameters travel with
the hash, so they can be raised later), never in clear, so a copied data dir does not give away
keys chosen by hand (``--api-key k1``) to a dictionary attack. A salted hash cannot be looked up,
so rows are found by a public key id instead: a generated key ``iwk_<43 chars>`` is stored under
the id ``iwk_`` + its first 16 random characters (96 bits; the other 162 stay secret). Keys chosen
by hand have no id; they are few, and found by trying each such row's hash.

scrypt costs ~50-100 ms by design, so a verified key is remembered in memory (:class:`_KeyCache`)
as "this key is row R". The row is still read on every request (one primary-key lookup, a raw
one-row read of :mod:`.hot_reads`), so a revoked key (``ionworks admin revoke-key``, or a
deleted user or organization) fails at once, in every process. Recently refused keys are
remembered for a few seconds, so a client retrying with a wrong key does not cost a hash per
request.

Data dirs written before this stored unsalted SHA-256 hex digests: such a row is found by its
digest and rewritten as scrypt (under its key id, if it has one) the first time its key is used.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Engine, bindparam, delete, select, update
from sqlalchemy.engine import Connection

from .db import api_keys, organizations, projects, read, users, utcnow, write
from .errors import forbidden
from .hot_reads import OneRow

__all__ = [
    "DEFAULT_ORGANIZATION",
    "DEFAULT_PROJECT_ID",
    "DEFAULT_USER_EMAIL",
    "Caller",
    "authenticate",
    "create_key",
    "ensure_key",
    "ensure_organization",
    "ensure_user",
    "generate_key",
    "hash_key",
    "key_id",
    "revoke_key",
    "verify_key",
]

DEFAULT_ORGANIZATION = "default"
DEFAULT_USER_EMAIL = "admin@localhost"
DEFAULT_PROJECT_ID = "proj-default"

KEY_PREFIX = "iwk_"
_KEY_ID_CHARS = 16
_GENERATED_KEY_LEN = len(KEY_PREFIX) + 43  # token_urlsafe(32)

SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
"""scrypt cost (16 MiB, ~50-100 ms per hash): the interactive-login parameters of the scrypt paper."""
_SCRYPT_MAXMEM = 256 * 1024 * 1024
_SCRYPT_SLOTS = threading.BoundedSemaphore(2)
"""At most two hashes at once: bounds the CPU and memory a flood of unknown keys can take."""


@dataclass(frozen=True)
class Caller:
    """Who is calling: resolved once per request from the API key."""

    user_id: str
    email: str
    organization_id: str
    organization_name: str
    default_project_id: str


def generate_key() -> str:
    """A new random key (256 bits), with a prefix that makes leaked keys easy to grep for."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_id(key: str) -> str | None:
    """The public id a key is stored under: ``iwk_`` + 16 characters, for generated-style keys."""
    if key.startswith(KEY_PREFIX) and len(key) >= _GENERATED_KEY_LEN:
        return key[: len(KEY_PREFIX) + _KEY_ID_CHARS]
    return None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def _scrypt(key: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    with _SCRYPT_SLOTS:
        return hashlib.scrypt(
            key.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_SCRYPT_MAXMEM, dklen=32
        )


def hash_key(key: str) -> str:
    """The stored form of a key: ``scrypt$n$r$p$salt$hash`` with a fresh random salt."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(key, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def _legacy_hash(key: str) -> str:
    """How keys were stored before scrypt: unsalted SHA-256 hex (still found, then upgraded)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def verify_key(key: str, stored: str) -> bool:
    """Whether ``key`` matches a stored hash (scrypt, or a legacy SHA-256 digest)."""
    if not stored.startswith("scrypt$"):
        return hmac.compare_digest(_legacy_hash(key).encode(), stored.encode("ascii", "replace"))
    try:
        _, n, r, p, salt, digest = stored.split("$")
        actual = _scrypt(key, _unb64(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(actual, _unb64(digest))


def _is_current(stored: str) -> bool:
    """Whether a stored hash uses today's scheme and parameters (else rehash it on use)."""
    return stored.startswith(f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}$")


_V = TypeVar("_V")


class _KeyCache:
    """Verified keys (key digest → row id) and recently refused ones, per database, bounded."""

    VERIFIED_TTL_S = 600.0
    REFUSED_TTL_S = 5.0
    MAX_ENTRIES = 10_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._verified: OrderedDict[tuple[str, bytes], tuple[str, float]] = OrderedDict()
        self._refused: OrderedDict[tuple[str, bytes], float] = OrderedDict()

    @staticmethod
    def _slot(engine: Engine, key: str) -> tuple[str, bytes]:
        return str(engine.url), hashlib.sha256(key.encode("utf-8")).digest()

    def row_id(self, engine: Engine, key: str) -> str | None:
        slot = self._slot(engine, key)
        with self._lock:
            found = self._verified.get(slot)
            if found is None or found[1] < time.monotonic():
                return None
            return found[0]

    def refused(self, engine: Engine, key: str) -> bool:
        slot = self._slot(engine, key)
        with self._lock:
            until = self._refused.get(slot)
            return until is not None and until >= time.monotonic()

    def remember(self, engine: Engine, key: str, row_id: str) -> None:
        slot = self._slot(engine, key)
        with self._lock:
            self._refused.pop(slot, None)
            self._put(self._verified, slot, (row_id, time.monotonic() + self.VERIFIED_TTL_S))

    def refuse(self, engine: Engine, key: str) -> None:
        slot = self._slot(engine, key)
        with self._lock:
            self._verified.pop(slot, None)
            self._put(self._refused, slot, time.monotonic() + self.REFUSED_TTL_S)

    def _put(
        self, entries: OrderedDict[tuple[str, bytes], _V], slot: tuple[str, bytes], value: _V
    ) -> None:
        """Store ``value`` as the newest entry; past ``MAX_ENTRIES`` the oldest go (lock held)."""
        entries[slot] = value
        entries.move_to_end(slot)
        while len(entries) > self.MAX_ENTRIES:
            entries.popitem(last=False)

    def forget(self, engine: Engine, key: str) -> None:
        slot = self._slot(engine, key)
        with self._lock:
            self._verified.pop(slot, None)
            self._refused.pop(slot, None)

    def clear(self) -> None:
        with self._lock:
            self._verified.clear()
            self._refused.clear()


_CACHE = _KeyCache()


def _presented_key(headers: Any) -> str | None:
    """The key from ``X-API-Key``, else from ``Authorization: Bearer``."""
    key = headers.get("x-api-key")
    if key:
        return str(key).strip() or None
    authorization = headers.get("authorization")
    if authorization:
        scheme, _, value = str(authorization).partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    return None


def _find_key(conn: Connection, key: str) -> tuple[str, str] | None:
    """``(row id, stored hash)`` of the row that ``key`` matches, or None (hashes as needed)."""
    legacy = conn.execute(
        select(api_keys.c.id, api_keys.c.key_hash).where(api_keys.c.key_hash == _legacy_hash(key))
    ).first()
    if legacy is not None:
        return str(legacy.id), str(legacy.key_hash)
    kid = key_id(key)
    if kid is not None:
        row = conn.execute(
            select(api_keys.c.id, api_keys.c.key_hash).where(api_keys.c.id == kid)
        ).first()
        if row is not None and verify_key(key, row.key_hash):
            return str(row.id), str(row.key_hash)
        return None
    # A key chosen by hand has no id: try each such row (there are few: one per --api-key).
    candidates = conn.execute(
        select(api_keys.c.id, api_keys.c.key_hash).where(
            ~api_keys.c.id.startswith(KEY_PREFIX), api_keys.c.key_hash.startswith("scrypt$")
        )
    ).all()
    for row in candidates:
        if verify_key(key, row.key_hash):
            return str(row.id), str(row.key_hash)
    return None


def _upgrade(conn: Connection, row_id: str, stored: str, new_hash: str, key: str) -> str:
    """Rewrite a legacy or outdated hash (and move it under its key id); the row's id after."""
    kid = key_id(key)
    new_id = kid if kid is not None and not stored.startswith("scrypt$") else row_id
    conn.execute(
        update(api_keys)
        .where(api_keys.c.id == row_id, api_keys.c.key_hash == stored)
        .values(id=new_id, key_hash=new_hash)
    )
    return new_id


def _resolve(engine: Engine, key: str) -> str | None:
    """The row id ``key`` belongs to (slow: hashes), upgrading a legacy hash on the way."""
    with read(engine) as conn:
        found = _find_key(conn, key)
    if found is None:
        return None
    row_id, stored = found
    if _is_current(stored):
        return row_id
    new_hash = hash_key(key)  # before taking the write lock: hashing is slow
    with write(engine) as conn:
        current = conn.execute(select(api_keys.c.key_hash).where(api_keys.c.id == row_id)).scalar()
        if current != stored:  # another thread or process upgraded it meanwhile
            again = _find_key(conn, key)
            return None if again is None else again[0]
        return _upgrade(conn, row_id, stored, new_hash, key)


_CALLER = OneRow(
    select(
        users.c.id,
        users.c.email,
        organizations.c.id,
        organizations.c.name,
        organizations.c.default_project_id,
    )
    .select_from(api_keys.join(users, users.c.id == api_keys.c.user_id))
    .join(organizations, organizations.c.id == api_keys.c.organization_id)
    .where(api_keys.c.id == bindparam("row_id"))
)
"""The caller of a key row, read on every request (so revoking the key, or deleting its user
or organization, is seen at once): a raw one-row read, see :mod:`.hot_reads`."""


def _load_caller(engine: Engine, row_id: str) -> Caller | None:
    row = _CALLER.first(engine, row_id=row_id)
    if row is None:
        return None
    user_id, email, org_id, org_name, default_project_id = row
    return Caller(user_id, email, org_id, org_name, default_project_id)


def authenticate(engine: Engine, headers: Any) -> Caller:
    """Resolve the request's key to a :class:`Caller`, or raise 403."""
    key = _presented_key(headers)
    if key is None:
        raise forbidden(
            "Missing API key: send it in the X-API-Key header (or as Authorization: Bearer <key>)"
        )
    invalid = "Invalid API key: it is unknown to this server"
    row_id = _CACHE.row_id(engine, key)
    if row_id is not None:
        caller = _load_caller(engine, row_id)
        if caller is not None:
            return caller
        # Revoked, its user or organization deleted, or its row moved by a legacy upgrade in
        # another process: forget it and decide afresh.
        _CACHE.forget(engine, key)
    if _CACHE.refused(engine, key):
        raise forbidden(invalid)
    row_id = _resolve(engine, key)
    caller = None if row_id is None else _load_caller(engine, row_id)
    if row_id is None or caller is None:
        _CACHE.refuse(engine, key)
        raise forbidden(invalid)
    _CACHE.remember(engine, key, row_id)
    return caller


def ensure_organization(conn: Connection, name: str, default_project_id: str | None = None) -> str:
    """Id of the organization called ``name``, created (with its default project) if needed."""
    found = conn.execute(select(organizations.c.id).where(organizations.c.name == name)).scalar()
    if found is not None:
        return str(found)
    org_id = f"org-{uuid.uuid4()}"
    # Project ids are scoped to their organization, so every organization can have this one.
    project_id = default_project_id or DEFAULT_PROJECT_ID
    now = utcnow()
    conn.execute(
        organizations.insert().values(
            id=org_id, name=name, default_project_id=project_id, created_at=now
        )
    )
    conn.execute(
        projects.insert().values(
            organization_id=org_id, id=project_id, name="Default project", created_at=now
        )
    )
    return org_id


def ensure_user(conn: Connection, organization_id: str, email: str) -> str:
    """Id of the user ``email`` in the organization, created if needed."""
    found = conn.execute(
        select(users.c.id).where(users.c.organization_id == organization_id, users.c.email == email)
    ).scalar()
    if found is not None:
        return str(found)
    user_id = f"user-{uuid.uuid4()}"
    conn.execute(
        users.insert().values(
            id=user_id, organization_id=organization_id, email=email, created_at=utcnow()
        )
    )
    return user_id


def ensure_key(conn: Connection, organization_id: str, user_id: str, key: str) -> bool:
    """Make ``key`` valid for the user; False if it already was. A key of another org is refused."""
    if not key or any(ch.isspace() for ch in key):
        raise ValueError("an API key must be a non-empty string without whitespace")
    found = _find_key(conn, key)
    if found is not None:
        row_id, stored = found
        owner = conn.execute(
            select(api_keys.c.organization_id).where(api_keys.c.id == row_id)
        ).scalar()
        if owner != organization_id:
            raise ValueError("this API key already belongs to another organization")
        if not _is_current(stored):
            row_id = _upgrade(conn, row_id, stored, hash_key(key), key)
        _CACHE.remember(conn.engine, key, row_id)
        return False
    row_id = key_id(key) or f"key-{uuid.uuid4()}"
    taken = conn.execute(select(api_keys.c.id).where(api_keys.c.id == row_id)).first()
    if taken is not None:
        raise ValueError(
            f"another key starts with {row_id!r} (the first {len(row_id)} characters are a "
            "public key id); choose another key"
        )
    conn.execute(
        api_keys.insert().values(
            id=row_id,
            key_hash=hash_key(key),
            user_id=user_id,
            organization_id=organization_id,
            created_at=utcnow(),
        )
    )
    _CACHE.remember(conn.engine, key, row_id)
    return True


def create_key(conn: Connection, organization_id: str, user_id: str) -> str:
    """A new key for the user; only its hash is stored, so this is the one chance to show it."""
    key = generate_key()
    ensure_key(conn, organization_id, user_id, key)
    return key


def revoke_key(conn: Connection, key: str) -> bool:
    """Delete the row ``key`` matches; False if none does. Every process refuses it at once."""
    found = _find_key(conn, key)
    if found is None:
        return False
    conn.execute(delete(api_keys).where(api_keys.c.id == found[0]))
    _CACHE.forget(conn.engine, key)
    return True
