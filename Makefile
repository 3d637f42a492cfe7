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
# A short bench: every VPN runnable here, baseline and the high impairment profile, every
# workload with short settings; the plan file says which and why (docs/notes/bench-timing.md).
BENCH_ARGS ?= --plan plans/bench.toml
# VPN daemons at the versions of vpn-configs/versions.toml, built by scripts/build-vpns.sh
# into a versioned cache outside the tree; its bin/ (symlinks) comes first on PATH for the
# bench and the tests. VPN_GROUP: the builds `make setup` runs: all (default: every VPN, so
# `make bench` measures all ten; ~27 min cold on an idle 2-core machine, seconds when warm,
# docs/notes/vpn-builds.md) or setup (without ZeroTier, Mycelium, Hyprspace).
# VPN_VENDOR: upstream sources no registry serves.
VPN_PREFIX ?= /opt/vpn-bench
VPN_GROUP ?= all
VPN_VENDOR ?= $(abspath $(CURDIR)/../shared/vendor)
VPN_BIN := $(VPN_PREFIX)/bin
BENCH_PATH := $(VPN_BIN):$(PATH)
# The harness reads failed-build records from here (harness/vpns/builds.py).
export VPN_BENCH_PREFIX := $(VPN_PREFIX)
BUILD_VPNS := PATH="$(dir $(GO)):$$PATH" scripts/build-vpns.sh --prefix $(VPN_PREFIX) --vendor $(VPN_VENDOR)

.PHONY: setup vpn-daemons bench vpns extras test test-under-load lint unit clean-testbeds

setup: $(STAMP) $(LINKEMU) $(QUIC) vpn-daemons

# Skips what is built already (seconds when warm). A failed build does not stop the setup:
# the script names it, and the harness lists that VPN as not runnable with the reason.
vpn-daemons: $(STAMP)
	@$(BUILD_VPNS) --group $(VPN_GROUP) || echo "warning: some VPN daemons were not built" \
	  "(see above); the harness lists those VPNs as not runnable" >&2

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

# Every daemon of vpn-configs/versions.toml; fails when one does not build.
vpns: $(STAMP)
	$(BUILD_VPNS) --group all

extras: vpns

lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy
	cd $(LINKEMU_DIR) && $(GO) vet ./...
	cd $(QUIC_DIR) && GOTOOLCHAIN=local $(GO) vet ./...

unit: setup
	PATH="$(BENCH_PATH)" $(BIN)/pytest -q -m "not root"

test: lint
	cd $(LINKEMU_DIR) && $(GO) test -count=1 ./...
	cd $(QUIC_DIR) && GOTOOLCHAIN=local $(GO) test -count=1 ./...
	PATH="$(BENCH_PATH)" $(BIN)/pytest -q

# The whole suite while every core is kept busy (scripts/under-load.py: one bounded busy loop
# per core, ended by PID): what a shared, loaded machine does to the timing-sensitive tests.
test-under-load: setup
	scripts/under-load.py -- $(MAKE) test

clean-testbeds: setup
	PATH="$(BENCH_PATH)" $(BIN)/vpn-bench clean
