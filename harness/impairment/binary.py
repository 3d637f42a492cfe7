"""Find the vpb-linkemu binary: explicit override, PATH, then the venv's bin directory."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from harness.impairment.errors import EngineUnavailable

BINARY = "vpb-linkemu"
#: Explicit path to the binary (e.g. a test build), checked first.
OVERRIDE_ENV = "VPN_BENCH_LINKEMU"
BUILD_HINT = (
    "build it with `make` (it installs .venv/bin/vpb-linkemu), or by hand: "
    "`cd harness/impairment/linkemu && go build -o ../../../.venv/bin/vpb-linkemu "
    "./cmd/vpb-linkemu`; with Nix use the package `vpb-linkemu` of this flake "
    "(`nix build .#vpb-linkemu`)"
)


def find_linkemu() -> Path:
    override = os.environ.get(OVERRIDE_ENV)
    if override:
        path = Path(override)
        if path.is_file() and os.access(path, os.X_OK):
            return path
        raise EngineUnavailable(f"{OVERRIDE_ENV}={override} is not an executable file")
    on_path = shutil.which(BINARY)
    if on_path:
        return Path(on_path)
    beside = Path(sys.executable).parent / BINARY
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    raise EngineUnavailable(
        f"the userspace impairment engine needs {BINARY}, found neither on PATH nor in "
        f"{beside.parent}; {BUILD_HINT}")
