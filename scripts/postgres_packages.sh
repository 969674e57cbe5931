#!/usr/bin/env bash
# PostgreSQL for `make test-postgres`: Debian's `postgresql` package (initdb, pg_ctl, pg_trgm),
# installed from the Debian registry when no PostgreSQL binaries are found (as root). No system
# service is used: scripts/with_postgres.py starts a throwaway cluster of its own.
set -uo pipefail
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || [ -n "${PG_BIN:-}" ]; then
    exit 0
fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) \
        >/dev/null 2>&1 && { echo "installed postgresql"; exit 0; }
fi
echo "error: PostgreSQL not found; install it (apt-get install postgresql) or set PG_BIN" >&2
exit 1
