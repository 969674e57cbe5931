#!/usr/bin/env bash
# System packages some tests need, installed from the Debian registry when missing (as root).
# mdbtools: `mdb-export` reads Arbin .res files (an Access database). It runs as a separate
# program (GPL), never linked into what users install. Without it those tests skip, saying why.
# chromium: the browser the viewer's tests drive through Playwright (never a browser download).
# Without it the viewer's browser tests skip, saying why.
set -uo pipefail
missing=()
command -v mdb-export >/dev/null 2>&1 || missing+=(mdbtools)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}") \
        >/dev/null 2>&1 && { echo "installed ${missing[*]}"; exit 0; }
fi
for package in "${missing[@]}"; do
    case "$package" in
        mdbtools) echo "note: mdbtools not installed (apt-get install mdbtools); Arbin .res tests will skip" >&2 ;;
        chromium) echo "note: chromium not installed (apt-get install chromium); viewer browser tests will skip" >&2 ;;
    esac
done
exit 0
