"""Issue 10's client numbers: time to report a refused connection, and a slow-drip call's wall time.

    .venv/bin/python scripts/measure_client_timeouts.py [--runs 10] [--no-drip]

The refused case calls ``cell_spec.list()`` on a closed loopback port with default settings; the
drip case calls a loopback server that sends its answer one byte every 2 s, with ``timeout=3``.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import statistics
import threading
import time

import ionworks
from ionworks import Ionworks


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def refused_seconds(runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        client = Ionworks(api_key="k", api_url=f"http://127.0.0.1:{closed_port()}")
        started = time.monotonic()
        with contextlib.suppress(ionworks.APIConnectionError):
            client.cell_spec.list()
        times.append(time.monotonic() - started)
    return times


def drip_server(interval_s: float = 2.0) -> str:
    """A server that answers any request one byte every ``interval_s`` seconds."""
    listener = socket.create_server(("127.0.0.1", 0))
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b" " * 100_000

    def handle(conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            for byte in answer:
                time.sleep(interval_s)
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return

    def accept() -> None:
        while True:
            conn, _ = listener.accept()
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--no-drip", action="store_true")
    args = parser.parse_args()
    refused_seconds(1)  # warm-up: first-call imports
    times = refused_seconds(args.runs)
    print(
        f"refused connection, defaults: min {min(times):.2f} s, median "
        f"{statistics.median(times):.2f} s, max {max(times):.2f} s (n={len(times)})"
    )
    if not args.no_drip:
        client = Ionworks(api_key="k", api_url=drip_server(), timeout=3)
        started = time.monotonic()
        try:
            client.health_check()
            outcome = "returned"
        except ionworks.IonworksError as exc:
            outcome = type(exc).__name__
        print(f"slow drip (1 byte / 2 s), timeout=3: {time.monotonic() - started:.2f} s, {outcome}")


if __name__ == "__main__":
    main()
