"""Run a command against a throwaway PostgreSQL cluster: ``with_postgres.py [OPTIONS] -- CMD``.

``initdb`` in a temporary directory, ``pg_ctl`` on a free loopback port, then ``CMD`` with
``IONWORKS_TEST_DATABASE_URL`` (the cluster's ``postgres`` database; test fixtures create one
database per server from it) and, with ``--server-database``, ``IONWORKS_SERVER_DATABASE_URL``
(a database ``ionworks``, for a server CMD starts itself); ``--shared-buffers SIZE`` sets the
cluster's ``shared_buffers`` (benches; default 128MB). The cluster is stopped and deleted
afterwards, also when ``CMD`` fails or is interrupted. Exits with ``CMD``'s status. As root (CI containers), the cluster runs
as the ``postgres`` user, since PostgreSQL refuses to run as root. The binaries come from
``$PG_BIN``, else the newest ``/usr/lib/postgresql/*/bin``, else ``PATH``
(``scripts/postgres_packages.sh`` installs Debian's ``postgresql`` when none is found).
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path


def _bin(name: str) -> str:
    explicit = os.environ.get("PG_BIN")
    if explicit:
        return str(Path(explicit) / name)
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    if found:
        return str(Path(found[-1]) / name)
    path = shutil.which(name)
    if path is None:
        sys.exit(f"error: {name} not found; install PostgreSQL (apt-get install postgresql)")
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_owner(args: list[str]) -> list[str]:
    """``args`` run as the cluster's owner: ``postgres`` when we are root."""
    if os.geteuid() != 0:
        return args
    return ["runuser", "-u", "postgres", "--", *args]


def main(argv: list[str]) -> int:
    own = argv[: argv.index("--")] if "--" in argv else []
    serve_env = "--server-database" in own
    # A bench's setting (make load-search: the 1M-row table fits); tests keep the default.
    buffers = own[own.index("--shared-buffers") + 1] if "--shared-buffers" in own else None
    if "--" in argv:
        argv = argv[argv.index("--") + 1 :]
    if not argv:
        sys.exit("usage: with_postgres.py -- COMMAND [ARGS...]")
    # SIGTERM (a CI timeout) unwinds like Ctrl+C, so the cluster is stopped either way.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    root = Path(tempfile.mkdtemp(prefix="ionworks-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    port = _free_port()
    log = root / "server.log"
    init = [_bin("initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]
    subprocess.run(_as_owner([*init, "--locale=C.UTF-8"]), check=True, stdout=subprocess.DEVNULL)
    options = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300"
    ) + (f" -c shared_buffers={buffers}" if buffers else "")
    start = [_bin("pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "start"]
    try:
        subprocess.run(_as_owner(start), check=True, stdout=subprocess.DEVNULL)
        env = dict(os.environ)
        env["IONWORKS_TEST_DATABASE_URL"] = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        if serve_env:  # a server started by CMD itself (make compat) uses database "ionworks"
            create = [_bin("createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres"]
            subprocess.run([*create, "ionworks"], check=True)
            url = f"postgresql://postgres@127.0.0.1:{port}/ionworks"
            env["IONWORKS_SERVER_DATABASE_URL"] = url
        print(f"PostgreSQL cluster on port {port} ({data})", flush=True)
        return subprocess.run(argv, env=env, check=False).returncode
    except subprocess.CalledProcessError:
        print(log.read_text(errors="replace") if log.exists() else "", file=sys.stderr)
        raise
    finally:
        stop = [_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]
        subprocess.run(_as_owner(stop), check=False, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
