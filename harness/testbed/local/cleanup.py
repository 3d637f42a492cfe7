"""Destroy a local testbed, or the leftovers of one whose harness was killed.

Only resources carrying our prefix are touched: network namespaces named
``vpb-<id>-*``, processes *inside* those namespaces (so necessarily ours), the mount
namespace files and state directories of the same testbed id.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from pathlib import Path

from harness.testbed.local.names import (
    MOUNT_DIR,
    REGISTRY_DIR,
    STATE_BASE,
    TestbedNames,
    netns_path,
    testbed_id_of_netns,
)
from harness.testbed.local.registry import owner_alive
from harness.testbed.local.system import run_root


def our_netns() -> dict[str, list[str]]:
    """Our network namespaces that exist now, grouped by testbed id."""
    result = run_root(["ip", "netns", "list"], check=False)
    grouped: dict[str, list[str]] = {}
    for line in result.stdout.splitlines():
        name = line.split()[0] if line.strip() else ""
        testbed_id = testbed_id_of_netns(name)
        if testbed_id:
            grouped.setdefault(testbed_id, []).append(name)
    return grouped


def leftover_testbed_ids() -> set[str]:
    """Ids of testbeds with any resource left: namespaces, registry, mounts or state."""
    ids = set(our_netns())
    if REGISTRY_DIR.is_dir():
        ids.update(path.stem for path in REGISTRY_DIR.glob("*.json"))
    if STATE_BASE.is_dir():
        ids.update(path.name for path in STATE_BASE.iterdir() if path.is_dir())
    if MOUNT_DIR.is_dir():
        ids.update(
            testbed_id
            for path in MOUNT_DIR.iterdir()
            if (testbed_id := testbed_id_of_netns(path.name))
        )
    return ids


def _netns_inode(netns: str) -> int | None:
    try:
        return os.stat(netns_path(netns)).st_ino
    except FileNotFoundError:
        return None


def _pid_in_netns(pid: int, inode: int) -> bool:
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino == inode
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return False


def kill_processes_in(netns: str, grace_s: float = 3.0) -> list[int]:
    """Terminate every process living in ``netns``; returns the PIDs that were signalled."""
    inode = _netns_inode(netns)
    if inode is None:
        return []
    listed = run_root(["ip", "netns", "pids", netns], check=False).stdout.split()
    pids = [int(pid) for pid in listed if pid.isdigit() and int(pid) != os.getpid()]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and any(_pid_in_netns(pid, inode) for pid in pids):
        time.sleep(0.05)
    for pid in pids:
        if _pid_in_netns(pid, inode):  # still the same process in our namespace
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    return pids


def _unmount(path: Path) -> None:
    run_root(["umount", str(path)], check=False)
    run_root(["umount", "-l", str(path)], check=False)


def _is_mount_point(path: Path) -> bool:
    text = Path("/proc/self/mountinfo").read_text()
    return any(line.split()[4] == str(path) for line in text.splitlines())


def destroy_testbed(testbed_id: str, netns_names: list[str] | None = None) -> list[str]:
    """Remove everything of testbed ``testbed_id``; idempotent. Returns what was removed."""
    names = TestbedNames(testbed_id)
    removed: list[str] = []
    namespaces = netns_names if netns_names is not None else our_netns().get(testbed_id, [])
    for netns in namespaces:
        pids = kill_processes_in(netns)
        if pids:
            removed.append(f"processes {pids} in {netns}")
    for netns in namespaces:
        if run_root(["ip", "netns", "delete", netns], check=False).ok:
            removed.append(f"namespace {netns}")
    if MOUNT_DIR.is_dir():
        for path in MOUNT_DIR.glob(f"*-{testbed_id}-*"):
            _unmount(path)
            path.unlink(missing_ok=True)
            removed.append(f"mount namespace {path}")
    if names.state_dir.exists():
        shutil.rmtree(names.state_dir, ignore_errors=True)
        removed.append(f"state {names.state_dir}")
    if names.registry_file.exists():
        names.registry_file.unlink(missing_ok=True)
        removed.append(f"registry {names.registry_file}")
    release_mount_dir()
    return removed


def release_mount_dir() -> None:
    """Drop the private bind mount holding mount-namespace files once nothing uses it."""
    if MOUNT_DIR.is_dir() and not any(MOUNT_DIR.iterdir()):
        if _is_mount_point(MOUNT_DIR):
            _unmount(MOUNT_DIR)
        with contextlib.suppress(OSError):
            MOUNT_DIR.rmdir()
    for directory in (REGISTRY_DIR, STATE_BASE):
        with contextlib.suppress(OSError):
            directory.rmdir()  # only if empty
    with contextlib.suppress(OSError):
        MOUNT_DIR.parent.rmdir()


def clean_all(include_running: bool = False) -> tuple[list[str], list[str]]:
    """`vpn-bench clean`: remove the leftovers of every testbed whose harness is gone.

    Returns (what was removed, ids of testbeds skipped because their harness still runs).
    """
    removed: list[str] = []
    skipped: list[str] = []
    for testbed_id in sorted(leftover_testbed_ids()):
        if not include_running and owner_alive(TestbedNames(testbed_id)):
            skipped.append(testbed_id)
            continue
        removed.extend(destroy_testbed(testbed_id))
    return removed, skipped
