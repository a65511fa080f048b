# The two commands a newcomer needs: `make run` and `make test`. See README.md.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# axe-core from the npm registry: the browser tests inject it to check accessibility.
AXE := tests/browser/axe/node_modules/axe-core/axe.min.js

.PHONY: run install test suites lint typecheck test-sqlite test-postgres bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Vigil needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

$(AXE): tests/browser/axe/package.json tests/browser/axe/package-lock.json
	@command -v npm >/dev/null || { echo "the accessibility tests need npm (Debian: apt-get install npm)"; exit 1; }
	npm ci --prefix tests/browser/axe --no-audit --no-fund --silent
	@touch $(AXE)

## make run: set up, migrate the embedded SQLite database, serve on 127.0.0.1:8000 with a demo
## ward whose simulated monitors send HL7 over MLLP (127.0.0.1:2575); the first start ends with
## the administrator's password, shown once
run: install
	$(BIN)/vigil db upgrade
	VIGIL_SIMULATOR_MLLP=$${VIGIL_SIMULATOR_MLLP:-true} $(BIN)/vigil serve --setup --demo

## make test: on a clean Debian machine first installs what the suite needs (Chromium, npm,
## PostgreSQL) and starts a throwaway PostgreSQL server, stopped afterwards
## (tests/with_services.sh); then lint, type check, and the whole suite on SQLite and, at the
## same time, on PostgreSQL
test:
	@bash tests/with_services.sh $(MAKE) --no-print-directory suites

suites: install lint typecheck $(AXE)
	@url=$$($(BIN)/python -m tests.postgres_probe) || exit 1; \
	if [ -z "$$url" ]; then \
		echo "PostgreSQL not reachable: skipped the PostgreSQL run (set VIGIL_TEST_POSTGRES_URL)"; \
		$(BIN)/pytest; \
	else \
		mkdir -p test-artifacts; \
		echo "The suite runs on SQLite here and on PostgreSQL beside it (test-artifacts/postgres.log)"; \
		VIGIL_TEST_DATABASE=postgresql VIGIL_TEST_POSTGRES_URL="$$url" \
			$(BIN)/pytest -p no:cacheprovider > test-artifacts/postgres.log 2>&1 & pg=$$!; \
		$(BIN)/pytest; sqlite=$$?; \
		wait $$pg; postgres=$$?; \
		echo "==== PostgreSQL run ===="; \
		if [ $$postgres -eq 0 ]; then tail -n 1 test-artifacts/postgres.log; \
		else tail -n 80 test-artifacts/postgres.log; fi; \
		[ $$sqlite -eq 0 ] && [ $$postgres -eq 0 ]; \
	fi

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck:
	$(BIN)/mypy

test-sqlite: install $(AXE)
	$(BIN)/pytest

test-postgres: install $(AXE)
	@bash tests/with_services.sh sh -c \
		'VIGIL_TEST_DATABASE=postgresql $(BIN)/pytest -p no:cacheprovider'

## make bench: the ingest and streaming benchmark against a same-run baseline
bench: install
	$(BIN)/python -m benchmarks.ingest

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
