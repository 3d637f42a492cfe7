# Quickstart targets: `make bench` (set up + short local bench) and `make test`.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RESULTS ?= results
# A short bench: every VPN runnable here, a few seconds per test.
BENCH_ARGS ?= --duration 5 --ping-count 25

.PHONY: setup bench test lint unit clean-testbeds

setup: $(STAMP)

$(STAMP): pyproject.toml .ci/apt-packages scripts/install-system-packages.sh
	scripts/install-system-packages.sh .ci/apt-packages
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

bench: setup
	$(BIN)/vpn-bench run --out $(RESULTS) $(BENCH_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy

unit: setup
	$(BIN)/pytest -q -m "not root"

test: lint
	$(BIN)/pytest -q

clean-testbeds: setup
	$(BIN)/vpn-bench clean
