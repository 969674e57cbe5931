"""API keys and the caller they identify: organizations, users, key generation and lookup.

A key arrives as ``X-API-Key: <key>`` or ``Authorization: Bearer <key>`` (wire facts §2.1) and
maps to one user of one organization. Keys are stored as SHA-256 hex digests only, so a copied
database file does not leak usable keys. A missing or unknown key is a 403 ``FORBIDDEN``: this API
never answers 401 (wire facts §4.3).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.engine import Connection

from .db import api_keys, organizations, projects, read, users, utcnow
from .errors import forbidden

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
]

DEFAULT_ORGANIZATION = "default"
DEFAULT_USER_EMAIL = "admin@localhost"
DEFAULT_PROJECT_ID = "proj-default"


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
    return "iwk_" + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


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


def authenticate(engine: Engine, headers: Any) -> Caller:
    """Resolve the request's key to a :class:`Caller`, or raise 403."""
    key = _presented_key(headers)
    if key is None:
        raise forbidden(
            "Missing API key: send it in the X-API-Key header (or as Authorization: Bearer <key>)"
        )
    query = (
        select(
            users.c.id,
            users.c.email,
            organizations.c.id.label("org_id"),
            organizations.c.name.label("org_name"),
            organizations.c.default_project_id,
        )
        .select_from(api_keys.join(users, users.c.id == api_keys.c.user_id))
        .join(organizations, organizations.c.id == api_keys.c.organization_id)
        .where(api_keys.c.key_hash == hash_key(key))
    )
    with read(engine) as conn:
        row = conn.execute(query).first()
    if row is None:
        raise forbidden("Invalid API key: it is unknown to this server")
    return Caller(row.id, row.email, row.org_id, row.org_name, row.default_project_id)


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
    digest = hash_key(key)
    owner = conn.execute(
        select(api_keys.c.organization_id).where(api_keys.c.key_hash == digest)
    ).scalar()
    if owner is not None:
        if owner != organization_id:
            raise ValueError("this API key already belongs to another organization")
        return False
    conn.execute(
        api_keys.insert().values(
            id=f"key-{uuid.uuid4()}",
            key_hash=digest,
            user_id=user_id,
            organization_id=organization_id,
            created_at=utcnow(),
        )
    )
    return True


def create_key(conn: Connection, organization_id: str, user_id: str) -> str:
    """A new key for the user; only its hash is stored, so this is the one chance to show it."""
    key = generate_key()
    ensure_key(conn, organization_id, user_id, key)
    return key
