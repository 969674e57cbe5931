"""Object storage on the local disk, reached only through HMAC-signed URLs.

Layout: ``<data_dir>/storage/<area>/<object_id>/<filename>`` with areas ``measurements``
(processed objects, served by signed GET URLs), ``uploads`` (staged files, written by signed PUT
URLs) and ``processing`` (uploads handed to the worker at confirm time; no URL reaches it, so a
late PUT cannot change a file while it is processed).

A signature is HMAC-SHA256, keyed by a per-data-dir secret (created with mode 0600 at first
start), over ``METHOD\\n/storage/<area>/<id>/<name>\\n<expires>``. GET URLs live 15 minutes and
PUT URLs an hour (see :mod:`.config`). The storage routes take no API key: the signature is the
authorisation, and clients must not send credentials to storage (the signed URL may point at
another host, so an API key sent there could leak).

Every path segment must be a plain name (no ``/``, ``\\``, NUL, ``.`` or ``..``) and the resolved
path must stay inside the storage root; anything else is a 400 before the disk is touched.

Every write goes to a temp file ``.<name>.<hex>.part`` next to its target and is renamed into
place. A PUT holds an exclusive ``flock`` on its temp file while it streams, so any thread or
process can tell an upload in flight (locked) from the leftover of a killed one (unlocked, safe
to delete); the kernel drops the lock when the writer dies, so no marker can go stale.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote, urlencode

import polars as pl

from .errors import ApiError, bad_parameter, forbidden

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock, see _in_use
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "AREAS",
    "ByteRange",
    "PartFile",
    "ShortRead",
    "Storage",
    "check_name",
    "iter_span",
    "load_or_create_secret",
    "parse_range",
    "part_target",
    "parts_in_flight",
    "read_span",
    "sweep_parts",
]

AREAS = ("measurements", "uploads", "processing")
PART_SUFFIX = ".part"
UNLOCKED_PART_ALIVE_S = 120.0  # without flock (Windows): how long a silent PUT counts as alive
SERVED_AREAS = ("measurements", "uploads")
CHUNK = 256 * 1024
WHOLE_READ = 8 * 1024 * 1024
"""A span up to this size is read and sent whole rather than streamed (``storage_get``)..."""
WHOLE_READ_BUDGET = 64 * 1024 * 1024
"""...while the whole-read bodies not yet sent by this process hold less than this."""


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
        return self._sign(base_url, method, area, object_id, filename, ttl_s)

    def _sign(
        self, base_url: str, method: str, area: str, object_id: str, filename: str, ttl_s: int
    ) -> str:
        """:meth:`signed_url` for a path already validated by :meth:`object_path`."""
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

    # -- the storage interface (also implemented by storage_s3.S3Storage) ---------------------
    # Uploads land in ``uploads``, confirm stages them (``processing`` for time series,
    # ``measurements`` for files), the worker reads the staged files from a local directory and
    # writes its results to ``measurements`` locally, then publishes them.

    presigned = False
    """True when clients talk to the object store itself (our /storage routes are unused)."""

    def upload_url(self, base_url: str, object_id: str, filename: str, ttl_s: int) -> str:
        """Where the client PUTs one file of an upload."""
        return self.signed_url(base_url, "PUT", "uploads", object_id, filename, ttl_s)

    def download_url(self, base_url: str, object_id: str, filename: str, ttl_s: int) -> str | None:
        """Where the client GETs a stored file of a measurement; None when it is missing."""
        if not self.object_path("measurements", object_id, filename).is_file():
            return None  # the path just validated: sign without resolving it again
        return self._sign(base_url, "GET", "measurements", object_id, filename, ttl_s)

    def staged_files(self, object_id: str) -> tuple[dict[str, int], list[str]]:
        """({complete file of an upload: its size}, files a PUT is still streaming)."""
        staged = self.object_dir("uploads", object_id)
        busy = parts_in_flight(staged)
        try:
            present = {
                p.name: p.stat().st_size
                for p in staged.iterdir()
                if p.is_file() and not part_target(p)
            }
        except FileNotFoundError:
            present = {}
        return present, busy

    def stage(self, object_id: str, area: str) -> None:
        """Move a confirmed upload to ``area``, out of reach of its PUT URLs (temp files left
        by PUTs that died go first)."""
        staged = self.object_dir("uploads", object_id)
        sweep_parts(staged)
        target = self.object_dir(area, object_id)
        shutil.rmtree(target, ignore_errors=True)
        os.replace(staged, target)

    def drop_upload(self, object_id: str) -> None:
        """Delete the files of an upload that will never be confirmed."""
        shutil.rmtree(self.object_dir("uploads", object_id), ignore_errors=True)

    def local_upload(self, object_id: str, filename: str) -> Path | None:
        """The uploaded file on this disk, if uploads land here (None: ask ``upload_size``)."""
        return self.object_path("uploads", object_id, filename)

    def upload_size(self, object_id: str, filename: str) -> int | None:
        """Stored size of an uploaded file, None when missing."""
        try:
            return self.object_path("uploads", object_id, filename).stat().st_size
        except FileNotFoundError:
            return None

    @contextlib.contextmanager
    def staged(self, object_id: str) -> Iterator[Path]:
        """A local directory holding a confirmed upload's files, for the worker."""
        yield self.object_dir("processing", object_id)

    def unstage(self, object_id: str) -> None:
        """Drop a processed upload's staged files."""
        shutil.rmtree(self.object_dir("processing", object_id), ignore_errors=True)

    def publish(self, object_id: str) -> None:
        """Make the worker's local results the stored ones (here they already are)."""

    def clear_output(self, object_id: str) -> None:
        """Drop the partial results of a job whose worker died."""
        shutil.rmtree(self.object_dir("measurements", object_id), ignore_errors=True)

    def local_object(self, area: str, object_id: str, filename: str) -> Path:
        """A stored object as a local file (object storage: fetched into the local cache)."""
        return self.object_path(area, object_id, filename)

    # -- writes ------------------------------------------------------------------------------

    @staticmethod
    def temp_path(final: Path) -> Path:
        """A unique temp file next to ``final``, so the rename into place is atomic."""
        return final.with_name(f".{final.name}.{uuid.uuid4().hex}{PART_SUFFIX}")

    def open_part(self, final: Path) -> PartFile:
        """A new temp file for ``final``, created and locked before anyone can see it unlocked
        for long: the lock is what tells confirm and the sweep that a PUT is still streaming."""
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.temp_path(final)
        # Created under another name and renamed once locked (the lock follows the inode), so
        # a ``.part`` file is never seen unlocked while its PUT is alive.
        unlocked = tmp.with_name(tmp.name + ".new")
        fh = unlocked.open("xb")
        try:
            if fcntl is not None:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            os.replace(unlocked, tmp)
        except BaseException:
            fh.close()
            unlocked.unlink(missing_ok=True)
            raise
        return PartFile(tmp, final, fh)

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


@dataclass
class PartFile:
    """A locked temp file being streamed into; ``commit`` renames it into place."""

    tmp: Path
    final: Path
    file: BinaryIO

    def commit(self) -> None:
        """Atomically put the bytes in place, still under the lock (FileNotFoundError when the
        staged directory was removed or moved meanwhile)."""
        self.file.flush()
        os.replace(self.tmp, self.final)

    def close(self) -> None:
        """Drop the temp file (a no-op after commit), then release the lock."""
        self.tmp.unlink(missing_ok=True)
        self.file.close()


def part_target(path: Path) -> str | None:
    """The file a temp file ``.<name>.<hex>.part`` was going to become; None if not a temp file."""
    name = path.name
    if not (name.startswith(".") and name.endswith(PART_SUFFIX)):
        return None
    target, _, _ = name[1 : -len(PART_SUFFIX)].rpartition(".")
    return target or None


def _in_use(path: Path) -> bool:
    """True while another thread or process holds the temp file's lock (a PUT is streaming)."""
    if fcntl is None:  # pragma: no cover - no locks: a PUT writing lately counts as alive
        try:
            return time.time() - path.stat().st_mtime < UNLOCKED_PART_ALIVE_S
        except FileNotFoundError:
            return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def parts_in_flight(directory: Path) -> list[str]:
    """The files of ``directory`` a PUT is still streaming (their temp files are locked)."""
    return sweep_parts(directory, delete=False)


def sweep_parts(directory: Path, min_age_s: float = 0.0, *, delete: bool = True) -> list[str]:
    """Delete the abandoned temp files in ``directory``; return the targets still being written.

    A temp file is abandoned when no one holds its lock (its writer finished, failed or was
    killed) and it is at least ``min_age_s`` old (the worker's own atomic writes are unlocked,
    so a periodic sweep must leave recent ones alone).
    """
    cutoff = time.time() - min_age_s
    busy: set[str] = set()
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        for path in directory.iterdir():
            target = part_target(path)
            if target is None:
                continue
            if _in_use(path):
                busy.add(target)
            elif delete:
                with contextlib.suppress(FileNotFoundError):
                    if min_age_s <= 0 or path.stat().st_mtime < cutoff:
                        path.unlink()
    return sorted(busy)


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


class ShortRead(Exception):
    """The file ended before the span its response declared: cut short on disk since its
    ``fstat`` (or damaged). The response cannot be completed; the route ends it early."""

    def __init__(self, expected: int, found: int) -> None:
        super().__init__(f"expected {expected} bytes, found {found}")
        self.expected = expected
        self.found = found


def iter_span(fh: BinaryIO, first: int, length: int) -> Iterator[bytes]:
    """Stream ``length`` bytes of an open file from ``first`` in chunks; closes it at the end.
    Raises :class:`ShortRead` after the last chunk when the file ended before ``length``."""
    with fh:
        fh.seek(first)
        remaining = length
        while remaining > 0:
            chunk = fh.read(min(CHUNK, remaining))
            if not chunk:
                raise ShortRead(length, length - remaining)
            remaining -= len(chunk)
            yield chunk


def read_span(fh: BinaryIO, first: int, length: int) -> bytes:
    """``length`` bytes of an open file from ``first`` in one read (fewer if it is shorter)."""
    fh.seek(first)
    return fh.read(length)


def http_date(timestamp: float) -> str:
    """An RFC 9110 date for ``Last-Modified``."""
    return formatdate(timestamp, usegmt=True)
