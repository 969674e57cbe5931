"""Object storage on the local disk, reached only through HMAC-signed URLs.

Layout: ``<data_dir>/storage/<area>/<object_id>/<filename>`` with areas ``measurements``
(processed objects, served by signed GET URLs), ``uploads`` (staged files, written by signed PUT
URLs) and ``processing`` (uploads handed to the worker at confirm time; no URL reaches it, so a
late PUT cannot change a file while it is processed).

A signature is HMAC-SHA256, keyed by a per-data-dir secret (created with mode 0600 at first
start), over ``METHOD\\n/storage/<area>/<id>/<name>\\n<expires>``. GET URLs live 15 minutes and
PUT URLs an hour (see :mod:`.config`). The storage routes take no API key: the signature is the
authorisation, and the official client never sends credentials here on purpose (§8.3).

Every path segment must be a plain name (no ``/``, ``\\``, NUL, ``.`` or ``..``) and the resolved
path must stay inside the storage root; anything else is a 400 before the disk is touched.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from email.utils import formatdate
from pathlib import Path
from urllib.parse import quote, urlencode

import polars as pl

from .errors import ApiError, bad_parameter, forbidden

__all__ = [
    "AREAS",
    "ByteRange",
    "Storage",
    "check_name",
    "load_or_create_secret",
    "parse_range",
]

AREAS = ("measurements", "uploads", "processing")
SERVED_AREAS = ("measurements", "uploads")
CHUNK = 256 * 1024


def load_or_create_secret(path: Path) -> bytes:
    """The signing key of this data dir, created (0600, exclusively) on first use."""
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process (admin CLI) created it first
        return bytes.fromhex(path.read_text().strip())
    with os.fdopen(fd, "w") as fh:
        fh.write(os.urandom(32).hex())
    return bytes.fromhex(path.read_text().strip())


def check_name(kind: str, value: str) -> None:
    """Refuse anything that is not a plain file or directory name."""
    bad = (
        not value
        or value in (".", "..")
        or len(value) > 255
        or any(ch in value for ch in ("/", "\\", "\x00"))
        or any(ord(ch) < 32 for ch in value)
    )
    if bad:
        raise bad_parameter(
            kind, f"Invalid {kind} {value!r}: it must be a plain name without path separators"
        )


class Storage:
    """Paths, signatures and atomic writes under one storage root."""

    def __init__(self, root: Path, secret: bytes) -> None:
        self.root = root.resolve()
        self._secret = secret
        for area in AREAS:
            (self.root / area).mkdir(parents=True, exist_ok=True)

    # -- paths ---------------------------------------------------------------------------

    def object_dir(self, area: str, object_id: str) -> Path:
        """Directory of one object id in an area (validated, inside the root)."""
        if area not in AREAS:
            raise bad_parameter(
                "area", f"Invalid area {area!r}; use one of {', '.join(SERVED_AREAS)}"
            )
        check_name("object_id", object_id)
        path = (self.root / area / object_id).resolve()
        if path.parent != self.root / area:
            raise bad_parameter(
                "object_id", "Invalid object id: it resolves outside the storage root"
            )
        return path

    def object_path(self, area: str, object_id: str, filename: str) -> Path:
        """Path of one object (validated, inside the root)."""
        check_name("filename", filename)
        directory = self.object_dir(area, object_id)
        path = (directory / filename).resolve()
        if path.parent != directory:
            raise bad_parameter(
                "filename", "Invalid filename: it resolves outside the storage root"
            )
        return path

    def remove(self, object_id: str) -> None:
        """Delete everything stored for an id, in every area (used by deletes and clean-up)."""
        for area in AREAS:
            shutil.rmtree(self.object_dir(area, object_id), ignore_errors=True)

    # -- signatures ------------------------------------------------------------------------

    def _signature(self, method: str, path: str, expires: int) -> str:
        message = f"{method}\n{path}\n{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def signed_url(
        self, base_url: str, method: str, area: str, object_id: str, filename: str, ttl_s: int
    ) -> str:
        """Absolute signed URL for ``method`` on one object, valid for ``ttl_s`` seconds."""
        self.object_path(area, object_id, filename)  # validate before signing anything
        path = f"/storage/{area}/{object_id}/{filename}"
        expires = int(time.time()) + ttl_s
        query = urlencode(
            {
                "expires": expires,
                "method": method,
                "signature": self._signature(method, path, expires),
            }
        )
        quoted = "/".join(quote(part, safe="") for part in ("storage", area, object_id, filename))
        return f"{base_url.rstrip('/')}/{quoted}?{query}"

    def verify(self, method: str, path: str, query: dict[str, str]) -> None:
        """403 unless the query carries a valid, unexpired signature for ``method`` on ``path``."""
        signed_method = query.get("method", "")
        signature = query.get("signature", "")
        expires_raw = query.get("expires", "")
        if not signature or not expires_raw:
            raise forbidden("Missing signature: storage URLs must be obtained from the API")
        if not expires_raw.isdigit() or len(expires_raw) > 12:
            raise forbidden("Invalid signed URL: 'expires' is not a Unix time")
        if signed_method != method:
            raise forbidden(
                f"This signed URL does not allow {method}; request a new URL from the API"
            )
        expected = self._signature(method, path, int(expires_raw))
        if not hmac.compare_digest(expected.encode(), signature.lower().encode("utf-8", "replace")):
            raise forbidden(
                "Invalid signature: the signed URL was altered; request a new one from the API"
            )
        if int(expires_raw) < time.time():
            raise forbidden("This signed URL has expired; request a new one from the API")

    # -- writes ------------------------------------------------------------------------------

    @staticmethod
    def temp_path(final: Path) -> Path:
        """A unique temp file next to ``final``, so the rename into place is atomic."""
        return final.with_name(f".{final.name}.{uuid.uuid4().hex}.part")

    def write_parquet(self, frame: pl.DataFrame, final: Path) -> None:
        """Write a frame atomically (temp file + rename), zstd like the official client."""
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.temp_path(final)
        try:
            frame.write_parquet(tmp, compression="zstd", statistics=True)
            os.replace(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)

    def write_bytes(self, data: bytes, final: Path) -> None:
        """Write bytes atomically."""
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.temp_path(final)
        try:
            tmp.write_bytes(data)
            os.replace(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)


class ByteRange:
    """An inclusive byte range ``first..last`` of an object of ``size`` bytes."""

    def __init__(self, first: int, last: int, size: int) -> None:
        self.first, self.last, self.size = first, last, size

    @property
    def length(self) -> int:
        return self.last - self.first + 1

    def content_range(self) -> str:
        return f"bytes {self.first}-{self.last}/{self.size}"


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The single range a ``Range`` header asks for, ``None`` to send the whole object.

    Malformed or multi-range headers are ignored (RFC 9110 allows serving the whole object);
    a well-formed range that lies outside the object is a 416.
    """
    if not header:
        return None
    unit, _, spec = header.strip().partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first_raw, dash, last_raw = spec.strip().partition("-")
    first_raw, last_raw = first_raw.strip(), last_raw.strip()
    if not dash or not (first_raw.isdigit() or last_raw.isdigit()):
        return None
    if (first_raw and not first_raw.isdigit()) or (last_raw and not last_raw.isdigit()):
        return None
    if not first_raw:  # suffix range: the last n bytes
        n = int(last_raw)
        if n == 0 or size == 0:
            raise _unsatisfiable(header, size)
        return ByteRange(max(size - n, 0), size - 1, size)
    first = int(first_raw)
    last = int(last_raw) if last_raw else size - 1
    if last_raw and last < first:  # syntactically invalid: ignore the header
        return None
    if first >= size:
        raise _unsatisfiable(header, size)
    return ByteRange(first, min(last, size - 1), size)


def _unsatisfiable(header: str, size: int) -> ApiError:
    return ApiError(
        416,
        "RANGE_NOT_SATISFIABLE",
        f"Range {header} is outside the object (size {size})",
        {"size": size},
        headers={"Content-Range": f"bytes */{size}"},
    )


def iter_file(path: Path, first: int, length: int) -> Iterator[bytes]:
    """Stream ``length`` bytes from ``first`` without reading the whole file into memory."""
    with path.open("rb") as fh:
        fh.seek(first)
        remaining = length
        while remaining > 0:
            chunk = fh.read(min(CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk


def http_date(timestamp: float) -> str:
    """An RFC 9110 date for ``Last-Modified``."""
    return formatdate(timestamp, usegmt=True)
