"""Commands in this machine's root namespace, used only to build and destroy testbeds."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence

from harness.hosts.base import CommandResult
from harness.hosts.local_process import run_command
from harness.testbed.base import TestbedError

REQUIRED_TOOLS = {
    "ip": "iproute2",
    "nsenter": "util-linux",
    "unshare": "util-linux",
    "mount": "mount",
    "umount": "mount",
}


def run_root(argv: Sequence[str], *, timeout: float = 30.0, check: bool = True) -> CommandResult:
    result = run_command(argv, timeout=timeout)
    if check and not result.ok:
        raise TestbedError(result.describe())
    return result


def in_netns(netns: str, argv: Sequence[str]) -> list[str]:
    return ["ip", "netns", "exec", netns, *argv]


def require_local_testbed_support() -> None:
    """Fail early, with the fix, when this machine cannot host a namespace testbed."""
    if os.geteuid() != 0:
        raise TestbedError(
            "the local testbed needs root (network namespaces); run as root, e.g. sudo"
        )
    missing = [f"{tool} (Debian {pkg})" for tool, pkg in REQUIRED_TOOLS.items()
               if shutil.which(tool) is None]
    if missing:
        raise TestbedError("missing tools for the local testbed: " + ", ".join(missing))
