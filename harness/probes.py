"""Kernel feature detection by trying, in a scratch namespace that `clean` would find."""

from __future__ import annotations

import functools
import os
import shutil

from harness.testbed.local.names import PREFIX, new_testbed_id
from harness.testbed.local.system import in_netns, run_root


def _try_in_scratch_netns(*commands: list[str]) -> bool:
    """True when every command succeeds inside a fresh, empty network namespace."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        return False
    netns = f"{PREFIX}-{new_testbed_id()}-probe"
    if not run_root(["ip", "netns", "add", netns], check=False).ok:
        return False
    try:
        return all(run_root(in_netns(netns, argv), check=False).ok for argv in commands)
    finally:
        run_root(["ip", "netns", "delete", netns], check=False)


@functools.cache
def kernel_has_wireguard() -> bool:
    return _try_in_scratch_netns(["ip", "link", "add", "wgprobe0", "type", "wireguard"])


@functools.cache
def kernel_has_netem() -> bool:
    return _try_in_scratch_netns(
        ["ip", "link", "set", "lo", "up"],
        ["tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"],
    )
