"""An S3-compatible store for tests and scripts: moto's standalone server (``moto_server`` from
``moto[server]`` on PyPI, Apache-2.0) as a real HTTP process on a free loopback port.

Used by ``tests/test_server_s3.py`` and by ``scripts/with_s3.py`` (``make compat-s3``). How
faithful moto is, and what it does not check, is in docs/server.md.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from server_process import free_port

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "test-key",
    "AWS_SECRET_ACCESS_KEY": "test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}
"""What moto accepts (any key); a server pointed at it reads them from the environment."""


def moto_server_command() -> str:
    found = Path(sys.executable).with_name("moto_server")
    if found.exists():
        return str(found)
    which = shutil.which("moto_server")
    assert which, "moto_server not found: pip install 'moto[server]' (the dev extra has it)"
    return which


@contextlib.contextmanager
def moto_store(log_path: Path, attempts: int = 3) -> Iterator[str]:
    """moto's S3 server on a free loopback port until the block ends; its endpoint URL.

    The port was free a moment before moto binds it: when another process took it meanwhile,
    moto exits (or the answer is not moto's bucket listing) and another port is tried."""
    for _ in range(attempts):
        port = free_port()
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                [moto_server_command(), "-H", "127.0.0.1", "-p", str(port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        endpoint = f"http://127.0.0.1:{port}"
        try:
            if _started(process, endpoint):
                yield endpoint
                return
        finally:
            process.terminate()
            process.wait(10)
    raise AssertionError(f"moto_server did not start on {attempts} ports; see {log_path}")


def _started(process: subprocess.Popen[bytes], endpoint: str) -> bool:
    """Whether ``process`` answers at ``endpoint`` as moto's S3 (False: it exited, port taken)."""
    deadline = time.monotonic() + 60
    while process.poll() is None:
        try:
            answer = httpx.get(endpoint, timeout=2)
        except httpx.TransportError:
            assert time.monotonic() < deadline, "moto_server did not start within 60 s"
            time.sleep(0.1)
            continue
        return b"ListAllMyBucketsResult" in answer.content
    return False


def aws_env(endpoint: str) -> dict[str, str]:
    """The environment a server (boto3) needs to use the store at ``endpoint``."""
    return {"AWS_ENDPOINT_URL": endpoint, **CREDENTIALS}


def s3_client(endpoint: str) -> Any:
    """A boto3 client of the store (for checks from outside the server)."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=CREDENTIALS["AWS_DEFAULT_REGION"],
    )
