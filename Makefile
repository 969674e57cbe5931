# Every target runs from the repository root, whatever the caller's working directory or PATH.
ROOT := $(dir $(abspath $(lastword $(MAKEFILE_LIST))))
VENV := $(ROOT).venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
PYTHON ?= python3
STAMP := $(VENV)/.installed

.PHONY: setup viewer bench-viewer regen check-regen lint typecheck spec-check test test-fast demo bench bench-smoke bench-compare compat stress fuzz test-postgres compat-postgres compat-s3 load-search load clean

setup: $(STAMP) viewer

$(STAMP): $(ROOT)pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e "$(ROOT)[server,pandas,readers,dev]"
	@bash $(ROOT)scripts/system_packages.sh
	@touch $(STAMP)

# The browser viewer (viewer/ -> ionworks_server/viewer_static/): npm ci and the esbuild bundle,
# when Node.js and npm are present (without them /viewer/ says what to run, and its tests skip).
VIEWER_STAMP := $(ROOT)ionworks_server/viewer_static/index.html
viewer: $(VIEWER_STAMP)

$(VIEWER_STAMP): $(ROOT)viewer/package-lock.json $(ROOT)viewer/build.mjs $(wildcard $(ROOT)viewer/src/*)
	@if command -v npm >/dev/null 2>&1; then \
		cd $(ROOT)viewer && npm ci --no-audit --no-fund --loglevel=error >/dev/null && npm run --silent build; \
	else \
		echo "note: npm not found; the viewer is not built (install Node.js 20, then make setup)" >&2; \
	fi

# First paint of a 1M-row measurement and a zoom refine in headless chromium; bytes moved.
bench-viewer: $(STAMP) viewer
	cd $(ROOT) && $(PY) scripts/bench_viewer.py

# Regenerate the low-level client from openapi.yaml (pinned generator, pinned ruff from the venv).
regen: $(STAMP)
	cd $(ROOT) && PATH="$(BIN):/usr/bin:/bin" $(PY) scripts/regen.py

check-regen: regen
	cd $(ROOT) && git diff --exit-code -- generated/ ionworks/_spec_fields.py && test -z "$$(git status --porcelain -- generated/ ionworks/_spec_fields.py)"

lint: $(STAMP)
	cd $(ROOT) && $(BIN)/ruff check ionworks ionworks_server scripts tests
	cd $(ROOT) && $(BIN)/ruff format --check ionworks ionworks_server scripts tests

typecheck: $(STAMP)
	cd $(ROOT) && $(BIN)/mypy

spec-check: $(STAMP)
	cd $(ROOT) && $(BIN)/openapi-spec-validator openapi.yaml

test: $(STAMP) viewer lint typecheck spec-check check-regen
	cd $(ROOT) && $(BIN)/pytest -n 2 -q

test-fast: $(STAMP) viewer
	cd $(ROOT) && $(BIN)/pytest -n 2 -q -x

demo: $(STAMP)
	cd $(ROOT) && $(PY) scripts/run_demo.py

bench: $(STAMP)
	cd $(ROOT) && $(PY) scripts/bench.py

# The same cases through the official client (ionworks-api 0.38.0, scratch venv in /tmp), same run.
bench-compare: $(STAMP)
	cd $(ROOT) && $(PY) scripts/bench.py --compare

bench-smoke: $(STAMP)
	cd $(ROOT) && $(PY) scripts/bench.py --smoke

# Wire compatibility: the official client (installed in a scratch venv outside the repo) against our server.
compat: $(STAMP)
	cd $(ROOT) && IONWORKS_OFFICIAL_VENV=/tmp/ionworks-official $(PY) scripts/check_official_client.py

# 50 cold starts of `ionworks serve --demo` (fresh interpreter, data dir and bytecode cache each).
stress: $(STAMP)
	cd $(ROOT) && $(PY) scripts/stress_serve.py --runs 50

# The schemathesis contract run of make test, longer and randomised (800 examples per operation: 10-25 minutes on 2 cores).
fuzz: $(STAMP)
	cd $(ROOT) && IONWORKS_FUZZ_EXAMPLES=800 IONWORKS_FUZZ_RANDOM=1 $(BIN)/pytest -p no:xdist -q tests/test_server_schemathesis.py

# The server, contract (schemathesis), seed and migration tests against a throwaway PostgreSQL
# cluster the target starts and stops itself (scripts/with_postgres.py; one database per test
# server). Left out: tests that open the SQLite file directly (what they check is SQLite's).
PG_TESTS := $(filter-out tests/test_server_cli.py tests/test_server_security.py,$(wildcard tests/test_server_*.py)) tests/test_seed.py tests/test_migrations.py tests/test_crash_consistency.py
PG_DESELECT := --deselect tests/test_server_auth.py::test_keys_are_stored_hashed_never_in_clear
test-postgres: $(STAMP)
	@bash $(ROOT)scripts/postgres_packages.sh
	cd $(ROOT) && $(PY) scripts/with_postgres.py -- $(BIN)/pytest -n 2 -q $(PG_TESTS) $(PG_DESELECT)

# make compat with the server on PostgreSQL.
compat-postgres: $(STAMP)
	@bash $(ROOT)scripts/postgres_packages.sh
	cd $(ROOT) && IONWORKS_OFFICIAL_VENV=/tmp/ionworks-official $(PY) scripts/with_postgres.py --server-database -- $(PY) scripts/check_official_client.py

# make compat with the server on PostgreSQL and S3-compatible object storage (moto's server, as the tests use).
compat-s3: $(STAMP)
	@bash $(ROOT)scripts/postgres_packages.sh
	cd $(ROOT) && IONWORKS_OFFICIAL_VENV=/tmp/ionworks-official $(PY) scripts/with_postgres.py --server-database -- $(PY) scripts/with_s3.py -- $(PY) scripts/check_official_client.py

# Name search at 1,000,000 specifications on SQLite and PostgreSQL: p50/p99 per query (not in make test).
load-search: $(STAMP)
	@bash $(ROOT)scripts/postgres_packages.sh
	cd $(ROOT) && $(PY) scripts/with_postgres.py --shared-buffers 1GB -- $(PY) scripts/bench_search.py

# 64 concurrent clients, 60 s of mixed traffic against serve --workers 1 and 2 on a throwaway
# PostgreSQL cluster: 0 errors, p50/p99 per operation, every upload ready (not in make test).
load: $(STAMP)
	@bash $(ROOT)scripts/postgres_packages.sh
	cd $(ROOT) && $(PY) scripts/with_postgres.py -- $(PY) scripts/load.py

clean:
	rm -rf $(VENV) demo-output bench-results.json
