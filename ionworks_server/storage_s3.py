"""S3-compatible object storage (``--storage-url s3://bucket/prefix``), through boto3.

Objects are stored under ``<prefix>/<area>/<object_id>/<filename>`` with the areas of
:mod:`.storage`. Clients talk to the store itself, as with the hosted API: initiate-upload hands
out presigned PUT URLs, downloads redirect to presigned GET URLs (the store serves byte ranges),
and the server's own ``/storage`` routes are not used by them. Credentials and region come from
the standard AWS variables (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_REGION``...),
the endpoint of a non-AWS store from ``AWS_ENDPOINT_URL`` (boto3 reads them itself).

The local storage root stays a working directory and cache: the worker downloads a staged upload
there, processes it with the same code as the local store and publishes the results (keeping its
copies, which the viewer and the steps/cycles JSON read); a server on another host fetches what it
reads into its own root on demand (:meth:`S3Storage.local_object`).

Large objects: what the server writes (processed results, demo files published on demand) goes
up through boto3's managed transfer, in parts of ``$PART_BYTES_ENV`` (8 MiB by default) once a
file is larger than that; a failed transfer aborts its multipart upload, and a failed publish
deletes what it had published, so nothing is left half-written. What clients upload is one
presigned PUT per file, which S3 caps at 5 GB; the server's limit per uploaded file
(``max_upload_bytes``, 4 GiB) is below it, and confirm enforces it (the store took the PUT).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .storage import Storage

__all__ = [
    "PART_BYTES_ENV",
    "STORAGE_URL_ENV",
    "S3Storage",
    "StorageUnreachable",
    "open_storage",
    "parse_storage_url",
    "part_bytes",
]

PUBLISHED = ("time_series.parquet", "steps.parquet", "cycles.parquet", "steps.json", "cycles.json")

MiB = 1024 * 1024
PART_BYTES_ENV = "IONWORKS_SERVER_S3_PART_BYTES"
DEFAULT_PART_BYTES = 8 * MiB
MIN_PART_BYTES = 5 * MiB
"""S3's smallest part (every part but the last)."""


def part_bytes() -> int:
    """The multipart threshold and part size: ``$PART_BYTES_ENV`` (bytes, at least 5 MiB)."""
    raw = os.environ.get(PART_BYTES_ENV, "").strip()
    if not raw:
        return DEFAULT_PART_BYTES
    if not raw.isdigit() or int(raw) < MIN_PART_BYTES:
        raise ValueError(
            f"${PART_BYTES_ENV} must be a whole number of bytes of at least {MIN_PART_BYTES} "
            f"(5 MiB, S3's smallest part), not {raw!r}"
        )
    return int(raw)


def parse_storage_url(url: str) -> tuple[str, str]:
    """(bucket, prefix) of ``s3://bucket/prefix``; ValueError with the expected form otherwise."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise ValueError(
            f"unsupported storage URL {url!r}: use s3://BUCKET/PREFIX (the endpoint of a non-AWS "
            "store goes in AWS_ENDPOINT_URL), or leave it out to store files in the data dir"
        )
    return parts.netloc, parts.path.strip("/")


class StorageUnreachable(RuntimeError):
    """The bucket cannot be reached at start-up (the message says what to check)."""


class S3Storage(Storage):
    """The storage interface of :class:`~.storage.Storage` over an S3 bucket."""

    presigned = True

    def __init__(self, root: Path, secret: bytes, url: str, client: Any = None) -> None:
        super().__init__(root, secret)
        self.bucket, self.prefix = parse_storage_url(url)
        if client is None:
            import boto3
            from botocore.config import Config

            client = boto3.client(
                "s3", config=Config(signature_version="s3v4", retries={"mode": "standard"})
            )
        self.client = client
        from boto3.s3.transfer import TransferConfig

        size = part_bytes()
        self.transfer = TransferConfig(multipart_threshold=size, multipart_chunksize=size)

    def check(self) -> None:
        """Fail at start-up, with the reason, when the bucket cannot be reached."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except Exception as exc:
            raise StorageUnreachable(
                f"cannot reach bucket {self.bucket!r} ({type(exc).__name__}: {exc}); check "
                "--storage-url, AWS_ENDPOINT_URL and the AWS credentials"
            ) from None

    # -- keys -----------------------------------------------------------------------------

    def key(self, area: str, object_id: str, filename: str) -> str:
        """The object key (names validated as for the local store)."""
        self.object_path(area, object_id, filename)
        return "/".join(p for p in (self.prefix, area, object_id, filename) if p)

    def _dir_key(self, area: str, object_id: str) -> str:
        self.object_dir(area, object_id)
        return "/".join(p for p in (self.prefix, area, object_id) if p) + "/"

    def _list(self, area: str, object_id: str) -> dict[str, int]:
        """{filename: size} of an object id's files in ``area``."""
        prefix = self._dir_key(area, object_id)
        found: dict[str, int] = {}
        for page in self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix
        ):
            for item in page.get("Contents", []):
                found[item["Key"][len(prefix) :]] = int(item["Size"])
        return found

    def _delete(self, area: str, object_id: str) -> None:
        names = list(self._list(area, object_id))
        for start in range(0, len(names), 1000):
            batch = [{"Key": self.key(area, object_id, n)} for n in names[start : start + 1000]]
            self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch})

    def _exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except self.client.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def _presign(self, operation: str, key: str, ttl_s: int) -> str:
        return str(
            self.client.generate_presigned_url(
                operation, Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=ttl_s
            )
        )

    # -- the storage interface --------------------------------------------------------------

    def upload_url(self, base_url: str, object_id: str, filename: str, ttl_s: int) -> str:
        return self._presign("put_object", self.key("uploads", object_id, filename), ttl_s)

    def download_url(self, base_url: str, object_id: str, filename: str, ttl_s: int) -> str | None:
        key = self.key("measurements", object_id, filename)
        if not self._exists(key):
            local = self.object_path("measurements", object_id, filename)
            if not local.is_file():  # written here only (the demo data): publish it now
                return None
            self.client.upload_file(str(local), self.bucket, key, Config=self.transfer)
        return self._presign("get_object", key, ttl_s)

    def staged_files(self, object_id: str) -> tuple[dict[str, int], list[str]]:
        # An S3 PUT is atomic: an object is there whole or not at all, never "in progress".
        return self._list("uploads", object_id), []

    def stage(self, object_id: str, area: str) -> None:
        for name in self._list("uploads", object_id):
            self.client.copy_object(
                Bucket=self.bucket,
                Key=self.key(area, object_id, name),
                CopySource={"Bucket": self.bucket, "Key": self.key("uploads", object_id, name)},
            )
        self._delete("uploads", object_id)

    def drop_upload(self, object_id: str) -> None:
        self._delete("uploads", object_id)

    def local_upload(self, object_id: str, filename: str) -> Path | None:
        return None

    def upload_size(self, object_id: str, filename: str) -> int | None:
        return self._list("uploads", object_id).get(filename)

    @contextlib.contextmanager
    def staged(self, object_id: str) -> Iterator[Path]:
        local = self.object_dir("processing", object_id)
        local.mkdir(parents=True, exist_ok=True)
        for name in self._list("processing", object_id):
            self._fetch(self.key("processing", object_id, name), local / name)
        yield local

    def unstage(self, object_id: str) -> None:
        self._delete("processing", object_id)
        super().unstage(object_id)

    def publish(self, object_id: str) -> None:
        """Upload the results (in parts when large); on failure none of them stays stored."""
        local = self.object_dir("measurements", object_id)
        try:
            for name in PUBLISHED:
                path = local / name
                if path.is_file():
                    key = self.key("measurements", object_id, name)
                    self.client.upload_file(str(path), self.bucket, key, Config=self.transfer)
        except BaseException:
            with contextlib.suppress(Exception):  # the upload's own error is the one to report
                self._clear_published(object_id)
            raise

    def _clear_published(self, object_id: str) -> None:
        """Delete the results and abort any multipart upload under them (a worker killed
        mid-publish leaves one: its parts are stored, and billed, until aborted)."""
        prefix = self._dir_key("measurements", object_id)
        pages = self.client.get_paginator("list_multipart_uploads").paginate(
            Bucket=self.bucket, Prefix=prefix
        )
        for page in pages:
            for upload in page.get("Uploads", []):
                self.client.abort_multipart_upload(
                    Bucket=self.bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                )
        self._delete("measurements", object_id)

    def clear_output(self, object_id: str) -> None:
        self._clear_published(object_id)
        super().clear_output(object_id)

    def remove(self, object_id: str) -> None:
        for area in ("uploads", "processing"):
            self._delete(area, object_id)
        self._clear_published(object_id)
        super().remove(object_id)

    def local_object(self, area: str, object_id: str, filename: str) -> Path:
        path = self.object_path(area, object_id, filename)
        if not path.is_file():
            with contextlib.suppress(FileNotFoundError):
                self._fetch(self.key(area, object_id, filename), path)
        return path

    def _fetch(self, key: str, path: Path) -> None:
        """Download one object atomically; FileNotFoundError when it is not stored."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.temp_path(path)
        try:
            self.client.download_file(self.bucket, key, str(tmp), Config=self.transfer)
            os.replace(tmp, path)
        except self.client.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                raise FileNotFoundError(key) from None
            raise
        finally:
            tmp.unlink(missing_ok=True)


STORAGE_URL_ENV = "IONWORKS_SERVER_STORAGE_URL"
"""Where files are stored: unset for the data dir, ``s3://bucket/prefix`` for object storage."""


def open_storage(root: Path, secret: bytes, url: str | None = None) -> Storage:
    """The data dir's storage, or object storage when ``url`` (or ``$STORAGE_URL_ENV``) is set."""
    url = url or os.environ.get(STORAGE_URL_ENV) or None
    if url is None:
        return Storage(root, secret)
    storage = S3Storage(root, secret, url)
    storage.check()
    return storage
