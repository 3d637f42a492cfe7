# Quickstart targets: `make bench` (set up + short local bench) and `make test`.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
GO ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
LINKEMU_DIR := harness/impairment/linkemu
LINKEMU := $(BIN)/vpb-linkemu
LINKEMU_SOURCES := $(shell find $(LINKEMU_DIR) -name '*.go' -o -name go.mod)
QUIC_DIR := harness/workloads/quic_tool
QUIC := $(BIN)/vpb-quic
QUIC_SOURCES := $(shell find $(QUIC_DIR) -name '*.go' -o -name go.mod -o -name go.sum)
RESULTS ?= results
# A short bench: every VPN runnable here, baseline and the high impairment profile,
# a few seconds per test (the defaults of `vpn-bench run` are 30 s and 100 pings).
BENCH_ARGS ?= --profile baseline,high --duration 3 --ping-count 15
# VPNs built from registries by scripts/build-extra-vpns.sh (make extras) land here.
EXTRA_BIN ?= /opt/vpn-bench-extra/bin
BENCH_PATH := $(if $(wildcard $(EXTRA_BIN)),$(EXTRA_BIN):)$(PATH)

.PHONY: setup bench extras test lint unit clean-testbeds

setup: $(STAMP) $(LINKEMU) $(QUIC)

$(STAMP): pyproject.toml .ci/apt-packages scripts/install-system-packages.sh
	scripts/install-system-packages.sh .ci/apt-packages
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,easytier]'
	touch $(STAMP)

# The userspace impairment switch (used where the kernel has no sch_netem).
$(LINKEMU): $(LINKEMU_SOURCES) | $(STAMP)
	@test -x "$(GO)" || { echo "error: Go >= 1.22 is needed to build vpb-linkemu" \
	  "(set GO=/path/to/go; https://go.dev/dl)" >&2; exit 1; }
	cd $(LINKEMU_DIR) && $(GO) build -trimpath -o $(abspath $(LINKEMU)) ./cmd/vpb-linkemu

# The QUIC workload's tool (quic-go, versions pinned in go.mod/go.sum, from the Go proxy).
$(QUIC): $(QUIC_SOURCES) | $(STAMP)
	@test -x "$(GO)" || { echo "error: Go >= 1.26 is needed to build vpb-quic" \
	  "(set GO=/path/to/go; https://go.dev/dl)" >&2; exit 1; }
	cd $(QUIC_DIR) && GOTOOLCHAIN=local $(GO) build -trimpath -o $(abspath $(QUIC)) ./cmd/vpb-quic

bench: setup
	PATH="$(BENCH_PATH)" $(BIN)/vpn-bench run --out $(RESULTS) $(BENCH_ARGS)

# Optional: Headscale+Tailscale and VpnCloud from the Go proxy and crates.io (~9 min cold).
extras:
	scripts/build-extra-vpns.sh --prefix $(dir $(EXTRA_BIN))

lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy
	cd $(LINKEMU_DIR) && $(GO) vet ./...
	cd $(QUIC_DIR) && GOTOOLCHAIN=local $(GO) vet ./...

unit: setup
	$(BIN)/pytest -q -m "not root"

test: lint
	cd $(LINKEMU_DIR) && $(GO) test -count=1 ./...
	cd $(QUIC_DIR) && GOTOOLCHAIN=local $(GO) test -count=1 ./...
	$(BIN)/pytest -q

clean-testbeds: setup
	$(BIN)/vpn-bench clean
