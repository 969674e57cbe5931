"""Open many connections that never finish their request head and count what the server keeps.

Starts ``ionworks serve`` (no demo) on a free port, opens ``--connections`` sockets that each
send half a request head and then stall, waits ``--wait`` seconds, and reports the server's open
file descriptors (``/proc/<pid>/fd``, Linux only) and how many stalled sockets it closed.

    .venv/bin/python scripts/measure_slow_headers.py --connections 1500 --wait 30
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from server_process import start_server


def _closed_by_peer(sock: socket.socket) -> bool:
    """True once the server has closed (or reset) the connection."""
    try:
        return sock.recv(1, socket.MSG_DONTWAIT | socket.MSG_PEEK) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=1500)
    parser.add_argument("--wait", type=float, default=30.0)
    parser.add_argument("server_args", nargs="*", help="extra args for ionworks serve (after --)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ionworks-slow-") as tmp:
        server = start_server(Path(tmp) / "data", "slow-key-0123", extra_args=args.server_args)
        pid = server.process.pid
        try:
            fds_idle = len(os.listdir(f"/proc/{pid}/fd"))
            host, port = "127.0.0.1", int(server.url.rsplit(":", 1)[1])
            socks = []
            refused = 0
            for _ in range(args.connections):
                sock = socket.socket()
                try:
                    sock.connect((host, port))
                    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # never the blank line
                except OSError:
                    refused += 1
                socks.append(sock)
            time.sleep(1.0)
            fds_loaded = len(os.listdir(f"/proc/{pid}/fd"))
            time.sleep(max(0.0, args.wait - 1.0))
            fds_after = len(os.listdir(f"/proc/{pid}/fd"))
            closed = sum(_closed_by_peer(s) for s in socks)
            for sock in socks:
                sock.close()
            print(
                f"connections={args.connections} refused_at_connect={refused} "
                f"server_fds idle={fds_idle} after_1s={fds_loaded} after_{args.wait:.0f}s={fds_after} "
                f"closed_by_server={closed}"
            )
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
