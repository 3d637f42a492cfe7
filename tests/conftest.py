"""Shared fixtures: paths, the root/namespace gate, and a leftover check after the session."""

from __future__ import annotations

import functools
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.testbed.local.names import TestbedNames, testbed_id_of_netns
from harness.testbed.local.registry import owner_alive
from harness.vpns.registry import daemon_names

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@functools.cache
def namespaces_work() -> bool:
    """Asked once, lazily, by the first root test that runs: collecting tests (and a
    ``-m "not root"`` session) must create nothing. ``unshare --net`` leaves nothing behind."""
    if os.geteuid() != 0:
        return False
    return subprocess.run(["unshare", "--net", "--", "ip", "link", "set", "lo", "up"],
                          capture_output=True).returncode == 0


def pytest_runtest_setup(item: pytest.Item) -> None:
    if "root" in item.keywords and not namespaces_work():
        pytest.skip("needs root and network namespaces")


def our_netns() -> list[str]:
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return [line.split()[0] for line in listed.splitlines()
            if line.strip() and line.startswith("vpb-")]


def netns_owned_by(pid: int) -> list[str]:
    """Our namespaces whose testbed was built by process ``pid`` (never touch others')."""
    owned = []
    for netns in our_netns():
        testbed_id = testbed_id_of_netns(netns)
        if testbed_id is None:
            continue
        try:
            record = json.loads(TestbedNames(testbed_id).registry_file.read_text())
        except (OSError, ValueError):
            continue
        if record.get("owner_pid") == pid:
            owned.append(netns)
    return owned


def _run_by_someone_else(netns: str) -> bool:
    """A testbed whose owning harness is another live process (a concurrent session)."""
    testbed_id = testbed_id_of_netns(netns)
    if testbed_id is None:
        return False
    names = TestbedNames(testbed_id)
    try:
        owner = json.loads(names.registry_file.read_text()).get("owner_pid")
    except (OSError, ValueError):
        return False
    return owner != os.getpid() and owner_alive(names)


def leftover_netns() -> list[str]:
    """Our namespaces that no live harness other than this test process owns."""
    return [netns for netns in our_netns() if not _run_by_someone_else(netns)]


#: Programs the harness starts; none may outlive the test session.
OUR_PROGRAMS = {"iperf3", "vpb-linkemu", *daemon_names()}


def _foreign_netns_inodes() -> set[int]:
    """Namespaces that are not this session's: processes in them belong to someone else."""
    netns_dir = Path("/run/netns")
    if not netns_dir.is_dir():
        return set()
    return {path.stat().st_ino for path in netns_dir.iterdir()
            if not path.name.startswith("vpb-") or _run_by_someone_else(path.name)}


def running_programs() -> set[tuple[int, str]]:
    """(pid, name) of running processes named like OUR_PROGRAMS that are not inside
    someone else's namespace (a process of ours survives in a deleted namespace)."""
    foreign = _foreign_netns_inodes()
    found = set()
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            name = comm.read_text().strip()
            inode = (comm.parent / "ns" / "net").stat().st_ino
        except OSError:
            continue
        if name in OUR_PROGRAMS and inode not in foreign:
            found.add((int(comm.parent.name), name))
    return found


@pytest.fixture(scope="session", autouse=True)
def no_leftovers_after_session() -> Iterator[None]:
    """Fail the session if any test left a vpn-bench namespace, state or daemon behind."""
    before = running_programs()
    yield
    if namespaces_work.cache_info().currsize and namespaces_work():
        leftovers = leftover_netns()
        live_ids = {testbed_id_of_netns(n) for n in our_netns() if _run_by_someone_else(n)}
        state = [path for path in Path("/tmp/vpn-bench").glob("*") if path.name not in live_ids] \
            if Path("/tmp/vpn-bench").exists() else []
        processes = running_programs() - before
        assert not leftovers and not state and not processes, (
            f"tests left behind: namespaces {leftovers}, state {state}, processes {processes}")


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def shared_data() -> Path:
    path = SHARED / "data" / "legacy-vpn-bench" / "18.12.2025"
    if not path.is_dir():
        pytest.skip(f"shared legacy data not found at {path}")
    return path
