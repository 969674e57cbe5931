"""Server RSS with N readers of an 8 MiB stored object that never read (storage GET's budget).

Run: ``.venv/bin/python scripts/measure_stalled_readers.py 48``. Starts a real server (as the
tests do), opens N connections with a tiny receive window, asks each for the object, waits, and
prints how much the server's RSS rose. Whole reads are bounded by storage_routes' budget; the
rest are streamed, so the rise should not grow with N past the budget.
"""

from __future__ import annotations

import socket
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from server_process import start_server

from ionworks_server.storage import Storage, load_or_create_secret

SIZE = 8 * 1024 * 1024


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS (Linux only)")


def main(readers: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp) / "data", "sk-stalled-readers")
        try:
            key = load_or_create_secret(server.data_dir / "signing.key")
            storage = Storage(server.data_dir / "storage", key)
            directory = storage.object_dir("measurements", "stalled")
            directory.mkdir(parents=True)
            (directory / "blob.bin").write_bytes(b"x" * SIZE)
            url = storage.signed_url(server.url, "GET", "measurements", "stalled", "blob.bin", 600)
            parts = urlsplit(url)
            request = f"GET {parts.path}?{parts.query} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
            before = rss_mib(server.process.pid)
            socks = []
            for _ in range(readers):
                sock = socket.socket()
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                sock.connect((parts.hostname or "127.0.0.1", parts.port or 80))
                sock.sendall(request)
                sock.recv(1)  # its response has started
                socks.append(sock)
            time.sleep(3)  # let the server hand out what it will
            rise = rss_mib(server.process.pid) - before
            print(f"{readers} stalled readers of {SIZE >> 20} MiB: server RSS +{rise:.0f} MiB")
            for sock in socks:
                sock.close()
        finally:
            server.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 48)
