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

# Debian packages the tests drive, as command:package (ip, tc, nft: the network-namespace
# tests break a site's link for real, tests/fixtures_netns.py; setpriv: a worker without
# CAP_SYS_NICE, tests/rooms/test_worker_priority.py) (initdb: the tests start a PostgreSQL
# server of their own; Debian keeps its programs in /usr/lib/postgresql/<version>/bin). A path
# instead of a command is a file the package installs: nginx's stream module, which
# deploy/nginx/tcd-hub.conf needs and tests/test_deployment_edge.py loads, and the minutes PDF's
# font (Liberation Serif, Times New Roman's metric twin); poppler-utils reads the PDFs back in tests.
# zbarimg reads the QR code of a guest's printed card back (tests/browser/test_guest_browser.py).
SYSTEM_DEPS := redis-server:redis-server chromium:chromium turnserver:coturn initdb:postgresql \
  nginx:nginx /usr/lib/nginx/modules/ngx_stream_module.so:libnginx-mod-stream \
  ip:iproute2 tc:iproute2 nft:nftables ethtool:ethtool setpriv:util-linux \
  /usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf:fonts-liberation2 \
  pdftotext:poppler-utils pdftoppm:poppler-utils zbarimg:zbar-tools

# The Python dependency set, pinned with hashes: the runtime set (make run) and the runtime set
# plus the test extra (make test), resolved with the runtime pins as constraints so both agree.
# `make lock` refreshes both from pyproject.toml, keeping pins it need not move
# (`make lock UPGRADE=1` moves them all to the newest allowed).
LOCK := requirements.lock
TEST_LOCK := requirements-test.lock
UV_VERSION := 0.13.8
UPGRADE ?=
LOCK_FLAGS := --generate-hashes --universal --python-version 3.11 --quiet \
  --custom-compile-command 'make lock' $(if $(UPGRADE),--upgrade)

VENDOR := web/static/vendor
SIO_DIST := node_modules/socket.io-client/dist
SIO_FILES := $(VENDOR)/socket.io.esm.min.js $(VENDOR)/socket.io.esm.min.js.map
# uPlot draws the operators' link charts (canvas; its own styles from its stylesheet).
UPLOT_DIST := node_modules/uplot/dist
UPLOT_FILES := $(VENDOR)/uPlot.esm.js $(VENDOR)/uPlot.min.css
# Chart.js draws the report page's bar charts (categories, grouped and stacked bars, legends and
# tooltips, which uPlot's time-series model lacks); its UMD build is one self-contained file
# (the ESM build imports @kurkle/color by a bare name, which a browser cannot resolve unbundled).
CHARTJS_DIST := node_modules/chart.js/dist
CHARTJS_FILES := $(VENDOR)/chart.umd.min.js
VENDOR_FILES := $(SIO_FILES) $(UPLOT_FILES) $(CHARTJS_FILES)

.PHONY: help run test lint fmt lock bench-api bench-sfu screenshots clean clean-data system-deps \
  vendor fanout

# The packet forwarder's compiled fan-out (rooms/fanout.c, loaded by rooms/fanout.py with cffi;
# without it the pure-Python path forwards the same packets at about half the density).
FANOUT := rooms/_fanout.so
FANOUT_CFLAGS ?= -O2 -Wall -Wextra -Werror -fPIC -shared

help:
	@echo "make run        install, migrate, seed demo data once, serve http://$(HOST):$(PORT)"
	@echo "make test       install test needs (apt as root), then ruff, mypy and pytest"
	@echo "make lint       ruff check, ruff format --check, mypy"
	@echo "make lock       re-pin $(LOCK) and $(TEST_LOCK) from pyproject.toml (UPGRADE=1: newest)"
	@echo "make fmt        ruff --fix and ruff format"
	@echo "make bench-api  tcd-hub bench api $(BENCH_API_ARGS)"
	@echo "make bench-sfu  tcd-hub bench sfu $(BENCH_SFU_ARGS)"
	@echo "make fanout     build rooms/_fanout.so, the packet forwarder's compiled fan-out (gcc)"
	@echo "make screenshots every page at 1366x768 and 1920x1080 into docs/screenshots/"
	@echo "make clean      remove .venv, node_modules, vendored JS and caches (keeps ./var)"
	@echo "make clean-data remove ./var (database and the demo-seed marker)"

# --- installs ---------------------------------------------------------------------------------

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; tcd-hub needs Python 3.11" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

# Only what a lock names, each file checked against its hash; then the project itself. pip check
# catches a pyproject.toml that asks for more than the lock holds (run `make lock`).
define install_locked
	$(PIP) install --require-hashes -r $(1)
	$(PIP) install --no-deps -e .
	$(PIP) check || { echo "error: $(1) is out of date with pyproject.toml: run make lock" >&2; exit 1; }
endef

$(VENV)/.installed: $(LOCK) pyproject.toml | $(BIN)/python
	$(call install_locked,$(LOCK))
	touch $@

$(VENV)/.installed-test: $(TEST_LOCK) pyproject.toml | $(BIN)/python
	$(call install_locked,$(TEST_LOCK))
	touch $@ $(VENV)/.installed

lock: | $(BIN)/python
	$(PIP) install --quiet 'uv==$(UV_VERSION)'
	$(BIN)/uv pip compile pyproject.toml $(LOCK_FLAGS) -o $(LOCK)
	$(BIN)/uv pip compile pyproject.toml --extra test $(LOCK_FLAGS) -c $(LOCK) -o $(TEST_LOCK)

node_modules/.installed: package.json $(wildcard package-lock.json)
	npm install --no-audit --no-fund
	touch $@

$(SIO_FILES): node_modules/.installed
	mkdir -p $(VENDOR)
	cp $(SIO_DIST)/$(notdir $@) $@

$(UPLOT_FILES): node_modules/.installed
	mkdir -p $(VENDOR)
	cp $(UPLOT_DIST)/$(notdir $@) $@

$(CHARTJS_FILES): node_modules/.installed
	mkdir -p $(VENDOR)
	cp $(CHARTJS_DIST)/$(notdir $@) $@

vendor: $(VENDOR_FILES)

# Installs only what is missing, and only as root; otherwise says what the tests will lack.
system-deps:
	@missing=""; \
	for pair in $(SYSTEM_DEPS); do \
	  cmd=$${pair%%:*}; pkg=$${pair##*:}; \
	  command -v "$$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$$cmd" ] \
	    || { [ "$${cmd#/}" != "$$cmd" ] && [ -e "$$cmd" ]; } \
	    || compgen -G "/usr/lib/postgresql/*/bin/$$cmd" >/dev/null || missing="$$missing $$pkg"; \
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

$(FANOUT): rooms/fanout.c rooms/intake.c rooms/fanout.h
	$(CC) $(FANOUT_CFLAGS) -o $@ rooms/fanout.c rooms/intake.c

fanout: $(FANOUT)

run: $(VENV)/.installed vendor $(FANOUT)
	mkdir -p $(DATA_DIR)
	$(BIN)/tcd-hub migrate
	if [ ! -f $(DATA_DIR)/.seeded ]; then $(BIN)/tcd-hub seed-demo && touch $(DATA_DIR)/.seeded; fi
	exec $(BIN)/tcd-hub serve --host $(HOST) --port $(PORT)

test: system-deps $(VENV)/.installed-test vendor $(FANOUT)
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

bench-sfu: $(VENV)/.installed $(FANOUT)
	$(BIN)/tcd-hub bench sfu $(BENCH_SFU_ARGS)

screenshots: $(VENV)/.installed-test $(VENDOR_FILES)
	$(BIN)/python -m tests.ui.screenshots --out docs/screenshots

clean:
	rm -rf $(VENV) node_modules $(VENDOR) $(FANOUT) .pytest_cache .mypy_cache .ruff_cache test-results \
	  *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

clean-data:
	rm -rf $(DATA_DIR)
