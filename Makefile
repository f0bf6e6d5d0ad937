# tcd-hub: the two set-up commands are `make run` and `make test` (see README.md).
# Every install step leaves a stamp file, so a second run only does what changed.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check

HOST ?= 127.0.0.1
PORT ?= 8080
DATA_DIR := var
PYTEST_ARGS ?=
BENCH_API_ARGS ?= --petitions 200000 --json
BENCH_SFU_ARGS ?= --json

# Debian packages the tests drive, as command:package.
SYSTEM_DEPS := redis-server:redis-server chromium:chromium turnserver:coturn

VENDOR := web/static/vendor
SIO_DIST := node_modules/socket.io-client/dist
VENDOR_FILES := $(VENDOR)/socket.io.esm.min.js $(VENDOR)/socket.io.esm.min.js.map

.PHONY: help run test lint fmt bench-api bench-sfu screenshots clean clean-data system-deps vendor

help:
	@echo "make run        install, migrate, seed demo data once, serve http://$(HOST):$(PORT)"
	@echo "make test       install test needs (apt as root), then ruff, mypy and pytest"
	@echo "make lint       ruff check, ruff format --check, mypy"
	@echo "make fmt        ruff --fix and ruff format"
	@echo "make bench-api  tcd-hub bench api $(BENCH_API_ARGS)"
	@echo "make bench-sfu  tcd-hub bench sfu $(BENCH_SFU_ARGS)"
	@echo "make screenshots every page at 1366x768 and 1920x1080 into docs/screenshots/"
	@echo "make clean      remove .venv, node_modules, vendored JS and caches (keeps ./var)"
	@echo "make clean-data remove ./var (database and the demo-seed marker)"

# --- installs ---------------------------------------------------------------------------------

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; tcd-hub needs Python 3.11" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) install -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(PIP) install -e '.[test]'
	touch $@ $(VENV)/.installed

node_modules/.installed: package.json $(wildcard package-lock.json)
	npm install --no-audit --no-fund
	touch $@

$(VENDOR_FILES): node_modules/.installed
	mkdir -p $(VENDOR)
	cp $(SIO_DIST)/$(notdir $@) $@

vendor: $(VENDOR_FILES)

# Installs only what is missing, and only as root; otherwise says what the tests will lack.
system-deps:
	@missing=""; \
	for pair in $(SYSTEM_DEPS); do \
	  cmd=$${pair%%:*}; pkg=$${pair##*:}; \
	  command -v "$$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$$cmd" ] || missing="$$missing $$pkg"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" -ne 0 ]; then \
	  echo "warning: not root, so not installing:$$missing (sudo apt-get install$$missing);" \
	       "tests that need them will skip or fail" >&2; \
	  exit 0; \
	fi; \
	echo "installing:$$missing"; \
	export DEBIAN_FRONTEND=noninteractive; \
	apt-get update -q; \
	apt-get install -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold $$missing

# --- the two commands ---------------------------------------------------------------------------

run: $(VENV)/.installed vendor
	mkdir -p $(DATA_DIR)
	$(BIN)/tcd-hub migrate
	if [ ! -f $(DATA_DIR)/.seeded ]; then $(BIN)/tcd-hub seed-demo && touch $(DATA_DIR)/.seeded; fi
	exec $(BIN)/tcd-hub serve --host $(HOST) --port $(PORT)

test: system-deps $(VENV)/.installed-test vendor
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# --- the rest ------------------------------------------------------------------------------------

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fmt: $(VENV)/.installed-test
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench-api: $(VENV)/.installed
	$(BIN)/tcd-hub bench api $(BENCH_API_ARGS)

bench-sfu: $(VENV)/.installed
	$(BIN)/tcd-hub bench sfu $(BENCH_SFU_ARGS)

screenshots: $(VENV)/.installed-test $(VENDOR_FILES)
	$(BIN)/python -m tests.ui.screenshots --out docs/screenshots

clean:
	rm -rf $(VENV) node_modules $(VENDOR) .pytest_cache .mypy_cache .ruff_cache test-results \
	  *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

clean-data:
	rm -rf $(DATA_DIR)
