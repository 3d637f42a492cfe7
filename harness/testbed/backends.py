"""The registry of testbed backends: the CLI picks one by name; nothing else names a backend.

A backend answers read-only questions on its control host (which binaries exist) without
building anything, checks that it can run, and opens a testbed for a list of hosts.
Adding one (SSH, NixOS test-driver VMs) is a module implementing `Backend` plus a line here.
"""

from __future__ import annotations

from harness.errors import UsageError
from harness.testbed.base import Backend
from harness.testbed.local.backend import LocalBackend

BACKENDS: dict[str, Backend] = {backend.name: backend for backend in (LocalBackend(),)}
DEFAULT_BACKEND = "local"


def get_backend(name: str) -> Backend:
    if name not in BACKENDS:
        raise UsageError(f"unknown backend {name!r}; valid: {', '.join(BACKENDS)}")
    return BACKENDS[name]
