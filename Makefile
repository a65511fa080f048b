# The two commands a newcomer needs: `make run` and `make test`. See README.md.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# axe-core from the npm registry: the browser tests inject it to check accessibility.
AXE := tests/browser/axe/node_modules/axe-core/axe.min.js

.PHONY: run install test lint typecheck test-sqlite test-postgres bench clean

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

## make run: set up, migrate the embedded SQLite database, add demo data, serve on 127.0.0.1:8000
run: install
	$(BIN)/vigil db upgrade
	$(BIN)/vigil setup --demo
	$(BIN)/vigil serve

## make test: lint, type check, then the whole suite on SQLite and, when one is reachable, at the
## same time on PostgreSQL (the suite waits on browsers and servers as much as it computes, so the
## two runs share 2 cores well)
test: install lint typecheck $(AXE)
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

test-sqlite: $(AXE)
	$(BIN)/pytest

test-postgres: $(AXE)
	@url=$$($(BIN)/python -m tests.postgres_probe) || exit 1; \
	if [ -z "$$url" ]; then \
		echo "PostgreSQL not reachable: skipped the PostgreSQL run (set VIGIL_TEST_POSTGRES_URL)"; \
	else \
		echo "Running the suite on PostgreSQL"; \
		VIGIL_TEST_DATABASE=postgresql VIGIL_TEST_POSTGRES_URL="$$url" $(BIN)/pytest; \
	fi

## make bench: the ingest and streaming benchmark against a same-run baseline
bench: install
	$(BIN)/python -m benchmarks.ingest

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
