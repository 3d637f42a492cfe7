"""A harness killed with SIGKILL while the userspace link runs: `clean` removes it all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from harness.testbed.local.names import netns_path

pytestmark = pytest.mark.root

REPO = Path(__file__).resolve().parents[2]

HARNESS_SIDE = textwrap.dedent("""
    import time
    from harness.impairment.profiles import BUILTIN_PROFILES
    from harness.impairment.userspace import UserspaceEngine
    from harness.settings.loader import load_testbed
    from harness.testbed.local.testbed import LocalTestbed, LocalTestbedSpec

    settings = load_testbed()
    testbed = LocalTestbed(LocalTestbedSpec(hosts=settings.hosts[:2], lan=settings.lan))
    testbed.__enter__()
    engine = UserspaceEngine()
    engine.apply(testbed, BUILTIN_PROFILES["high"], seed=1)
    switch = testbed.lan_host.processes()[0].pid
    print(testbed.names.testbed_id, testbed.lan_netns, switch, flush=True)
    time.sleep(120)
""")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    return state != "Z"


def test_clean_removes_a_killed_runs_switch(linkemu_binary: Path) -> None:
    harness_side = subprocess.Popen(
        [sys.executable, "-c", HARNESS_SIDE], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert harness_side.stdout is not None
        testbed_id, lan_netns, switch = harness_side.stdout.readline().split()
        assert _alive(int(switch)) and netns_path(lan_netns).exists()
    finally:
        harness_side.send_signal(signal.SIGKILL)
        harness_side.wait(timeout=10)
    assert _alive(int(switch))  # the switch outlives its harness ...
    cleaned = subprocess.run([sys.executable, "-m", "harness", "clean"], cwd=REPO,
                             capture_output=True, text=True, timeout=120, check=False)
    assert cleaned.returncode == 0, cleaned.stderr
    assert f"namespace {lan_netns}" in cleaned.stdout
    assert not _alive(int(switch))  # ... until clean kills what runs in our namespaces
    assert not netns_path(lan_netns).exists()
    assert not Path(f"/tmp/vpn-bench/{testbed_id}").exists()
