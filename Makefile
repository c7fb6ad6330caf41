# The two commands: `make run` (the portal with a demo network) and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck pytest deps browser bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch node_modules/.installed

static/vendor/htmx.min.js: node_modules/.installed
	mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js

deps: $(STAMP) static/vendor/htmx.min.js

# Debian's Chromium for the browser tests, installed where it is missing.
browser:
	@command -v chromium >/dev/null || { \
	  echo "Installing Debian's chromium for the browser tests…"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

run: deps
	$(PY) -m portal.run

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

# pytest in two passes: the independent tests in parallel processes (pytest-xdist, one per
# core up to 4; the browser tests stay together in one of them), then alone the few marked
# `serial`, which stop the Redis every process shares. PYTEST_ARGS narrows both passes.
PYTEST_PROCESSES ?= $(shell n=$$(nproc 2>/dev/null || echo 2); echo $$(( n > 4 ? 4 : n )))

# (Exit status 5: a narrowed pass selected no test.)
pytest: deps browser
	$(VENV)/bin/pytest -n $(PYTEST_PROCESSES) --dist loadgroup -m "not serial" $(PYTEST_ARGS) || [ $$? -eq 5 ]
	$(VENV)/bin/pytest -m serial $(PYTEST_ARGS) || [ $$? -eq 5 ]

test: deps browser lint typecheck pytest

bench: deps
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) node_modules static/vendor staticfiles .pytest_cache .mypy_cache .ruff_cache
