#!/usr/bin/env bash
# System packages some tests need, installed from the Debian registry when missing.
# mdbtools: `mdb-export` reads Arbin .res files (an Access database). It runs as a separate
# program (GPL), never linked into what users install. Without it those tests skip, saying why.
set -uo pipefail
command -v mdb-export >/dev/null 2>&1 && exit 0
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && apt-get install -y -qq mdbtools) >/dev/null 2>&1 \
        && { echo "installed mdbtools"; exit 0; }
fi
echo "note: mdbtools not installed (apt-get install mdbtools); Arbin .res tests will skip" >&2
exit 0
