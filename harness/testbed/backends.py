"""The registry of testbed backends: the CLI picks one by name; nothing else names a backend.

A backend answers read-only questions on its control host (which binaries exist) without
building anything, checks that it can run, and opens a testbed for a list of hosts.
Adding one is a module implementing `Backend` plus a line here. The ssh backend needs its
inventory file, so it is made when one is given; the vm backend exists only inside the NixOS
test driver (its machines are attached by the flake's bench-vm test script).
"""

from __future__ import annotations

from pathlib import Path

from harness.errors import UsageError
from harness.hosts.base import Host
from harness.hosts.local import LocalMachine
from harness.testbed.base import Backend
from harness.testbed.local.backend import LocalBackend
from harness.testbed.ssh.backend import SshBackend
from harness.testbed.ssh.inventory import load_inventory
from harness.testbed.vm import VmBackend, require_site

BACKENDS: dict[str, Backend] = {backend.name: backend
                                for backend in (LocalBackend(), VmBackend())}
DEFAULT_BACKEND = "local"
SSH_BACKEND = SshBackend.name
BACKEND_NAMES = [*BACKENDS, SSH_BACKEND]


def get_backend(name: str, inventory: Path | None = None) -> Backend:
    """The backend called ``name``; an inventory file means the ssh backend."""
    if inventory is not None:
        if name not in (DEFAULT_BACKEND, SSH_BACKEND):
            raise UsageError(f"--inventory selects the ssh backend; it cannot be combined "
                             f"with --backend {name}")
        return SshBackend(load_inventory(inventory))
    if name == SSH_BACKEND:
        raise UsageError("the ssh backend needs --inventory FILE (the hosts and how to reach "
                         "them; see docs/real-hosts.md)")
    if name not in BACKENDS:
        raise UsageError(f"unknown backend {name!r}; valid: {', '.join(BACKEND_NAMES)}")
    if name == VmBackend.name:
        require_site()  # outside the test driver: the one-line way to get the VMs
    return BACKENDS[name]


def availability_host(name: str) -> Host:
    """Where a run asks which VPNs and tools exist: the VMs themselves for the vm backend
    (the driver's own machine has none of them), this machine otherwise."""
    if name == VmBackend.name:
        return get_backend(name).control_host()
    return LocalMachine()
