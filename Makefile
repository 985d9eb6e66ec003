# Kith: every target creates .venv and installs into it by itself.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint docs bench bench-data bench-segments fuzz crash fmt clean tracker

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/kith serve

# three workers, a test file each at a time (module fixtures and npm installs stay in
# one process); much of the suite waits on servers it started, so 3 pays on 2 cores
test: $(STAMP)
	$(BIN)/python -m pytest -q -n 3 --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check kith tests bench
	$(BIN)/ruff format --check kith tests bench
	$(BIN)/mypy

# rebuilds kith/tracker/*.min.js from kith/tracker/src (a test fails while they are stale)
tracker: $(STAMP)
	$(BIN)/python -m kith.tracker.build

# the generated node reference of docs/flows.md (tests/workflows/test_flows_docs.py checks it)
docs: $(STAMP)
	$(BIN)/python -m kith.workflows.docs --write docs/flows.md

# the data API at size: loads 1M profiles / 10M events (~20 min, ~16 GB scratch), then times reads
bench-data: $(STAMP)
	$(BIN)/python -m bench.data_size

# segment refresh at size: loads 1M profiles (~1 min, ~2 GB scratch), then times the refresh job (~10 min)
bench-segments: $(STAMP)
	$(BIN)/python -m bench.segment_refresh

fmt: $(STAMP)
	$(BIN)/ruff format kith tests bench
	$(BIN)/ruff check --fix kith tests bench

bench: $(STAMP)
	command -v wrk >/dev/null || (apt-get install -y wrk >/dev/null 2>&1 || (apt-get update >/dev/null && apt-get install -y wrk >/dev/null))
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.conditions
	$(BIN)/python -m bench.destinations
	$(BIN)/python -m bench.soak
	$(MAKE) crash

# the long runs of two hardening tests that `make test` runs briefly (docs/security.md)
fuzz: $(STAMP)
	KITH_FUZZ_CASES=$${KITH_FUZZ_CASES:-200000} KITH_SCHEMATHESIS_EXAMPLES=$${KITH_SCHEMATHESIS_EXAMPLES:-100} \
		$(BIN)/python -m pytest -q -s -p no:cacheprovider -o timeout=3600 \
		tests/api/test_track_fuzz.py tests/api/test_schemathesis.py -k "sqlite"

crash: $(STAMP)
	KITH_CRASH_ROUNDS=$${KITH_CRASH_ROUNDS:-25} $(BIN)/python -m pytest -q -s -p no:cacheprovider \
		-o timeout=1800 tests/e2e/test_crash_loop.py

clean:
	rm -rf $(VENV) kith-data .pytest_cache .mypy_cache .ruff_cache
