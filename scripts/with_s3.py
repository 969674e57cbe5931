"""Run a command against a throwaway S3-compatible store: ``with_s3.py -- CMD``.

Starts moto's standalone server on a free loopback port (``tests/s3_process.py``, the one the
tests use), creates a bucket, and runs ``CMD`` with the AWS variables pointing at it and
``IONWORKS_SERVER_STORAGE_URL=s3://ionworks-compat/server``, so an ``ionworks serve`` that ``CMD``
starts stores its files there. After ``CMD`` succeeds, the bucket must hold objects under that
prefix (the server really used it), else the exit status is 1. The store is stopped afterwards,
also when ``CMD`` fails. ``make compat-s3`` runs it inside ``with_postgres.py``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from s3_process import aws_env, moto_store, s3_client

BUCKET = "ionworks-compat"
PREFIX = "server"


def main(argv: list[str]) -> int:
    if "--" in argv:
        argv = argv[argv.index("--") + 1 :]
    if not argv:
        sys.exit("usage: with_s3.py -- COMMAND [ARGS...]")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with (
        tempfile.TemporaryDirectory(prefix="ionworks-s3-") as scratch,
        moto_store(Path(scratch) / "moto.log") as endpoint,
    ):
        s3_client(endpoint).create_bucket(Bucket=BUCKET)
        env = {**os.environ, **aws_env(endpoint)}
        env["IONWORKS_SERVER_STORAGE_URL"] = f"s3://{BUCKET}/{PREFIX}"
        print(f"S3-compatible store (moto) at {endpoint}, bucket {BUCKET}", flush=True)
        status = subprocess.run(argv, env=env, check=False).returncode
        listing = s3_client(endpoint).list_objects_v2(Bucket=BUCKET, Prefix=f"{PREFIX}/")
        count = int(listing.get("KeyCount", 0))
        print(f"{count}{'+' if listing.get('IsTruncated') else ''} objects in the bucket")
        if status == 0 and count == 0:
            print("error: the command never stored a file in the bucket", file=sys.stderr)
            return 1
        return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
