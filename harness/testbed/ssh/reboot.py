"""A real reboot of a host reached over SSH: ``systemctl reboot``, then wait for it to return.

The host is back when a fresh SSH connection reads a boot id other than the one read before
the reboot (so an SSH connection that survived a slow shutdown is never taken for the new
boot), and its state directory (keys, node ids) must have survived. Written against
:class:`~harness.hosts.base.Host` and a ``reconnect`` callable so the sequence is tested
with a fake host; the ssh testbed binds it to its hosts' master connections.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import PurePosixPath

from harness.hosts.base import Host
from harness.hosts.ssh import SshError
from harness.testbed.base import TestbedError

BOOT_ID = PurePosixPath("/proc/sys/kernel/random/boot_id")
REBOOT_ARGV = ("systemctl", "reboot")


def boot_id(host: Host) -> str | None:
    """The kernel's boot id, or None while the host cannot be asked."""
    try:
        result = host.run(["cat", str(BOOT_ID)], timeout=10)
    except SshError:
        return None
    text = result.stdout.strip()
    return text if result.ok and text else None


def reboot_over_ssh(host: Host, reconnect: Callable[[], None], *, timeout_s: float,
                    poll_s: float = 2.0, clock: Callable[[], float] = time.monotonic,
                    sleep: Callable[[float], None] = time.sleep) -> float:
    """Reboot ``host`` and wait (bounded) until it is back; returns the seconds it took.

    ``reconnect`` opens a new connection to the host (raising SshError while it is down).
    """
    before = boot_id(host)
    if before is None:
        raise TestbedError(f"{host.name}: cannot read {BOOT_ID} before rebooting")
    host.stop_processes(timeout=5.0)
    started = clock()
    # The connection may drop before systemctl answers: its outcome says nothing.
    with contextlib.suppress(SshError):
        host.run(list(REBOOT_ARGV), timeout=30)
    deadline = started + timeout_s
    while clock() < deadline:
        sleep(poll_s)
        try:
            reconnect()
        except SshError:
            continue
        now = boot_id(host)
        if now is not None and now != before:
            if not host.exists(host.state_dir):
                raise TestbedError(
                    f"{host.name} came back without its state directory {host.state_dir} "
                    "(keys and node ids must survive a reboot: set the inventory's "
                    "state_dir to persistent storage, not a tmpfs)")
            return clock() - started
    raise TestbedError(f"{host.name} did not come back within {timeout_s:g}s of "
                       f"`{' '.join(REBOOT_ARGV)}` (no SSH login with a new boot id)")
