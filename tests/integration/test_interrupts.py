"""A run killed hard leaves debris that `vpn-bench clean` removes; SIGTERM/SIGINT clean up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.testbed.local import names as testbed_names
from harness.testbed.local.names import TestbedNames
from tests.conftest import leftover_netns, netns_owned_by

pytestmark = pytest.mark.root


def _start_run(out: Path, duration: int = 30) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "harness", "run", "--vpn", "internal", "--test", "tcp",
         "--duration", str(duration), "--out", str(out), "--no-progress"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def _command_of(pid: int) -> str | None:
    """The process's command name; None once it has exited (it may, between listing and
    reading: the run's short-lived probes do)."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except (FileNotFoundError, ProcessLookupError):
        return None


def _wait_for_iperf_in_testbed(run: subprocess.Popen[str],
                               deadline_s: float = 30) -> list[int]:
    """PIDs of processes inside the run's namespaces, once an iperf3 test is running."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        pids: list[int] = []
        for netns in netns_owned_by(run.pid):
            listed = subprocess.run(["ip", "netns", "pids", netns], capture_output=True,
                                    text=True).stdout.split()
            pids.extend(int(pid) for pid in listed)
        if [_command_of(pid) for pid in pids].count("iperf3") >= 2:
            return pids
        time.sleep(0.2)
    raise AssertionError("the run never reached an iperf3 test")


def _testbeds_of(run: subprocess.Popen[str]) -> list[TestbedNames]:
    return [TestbedNames(testbed_id) for netns in netns_owned_by(run.pid)
            if (testbed_id := testbed_names.testbed_id_of_netns(netns))]


def _debris(testbeds: list[TestbedNames]) -> list[Path]:
    """What these testbeds created on the filesystem and still exists (other runs' testbeds,
    e.g. a concurrent session on this shared machine, are not ours to judge)."""
    paths = [path for names in testbeds for path in (names.state_dir, names.registry_file)]
    paths += [names.mountns_file(host) for names in testbeds
              for host in ("lom", "yuki", "luna")]
    return [path for path in paths if path.exists()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


def test_clean_removes_what_a_killed_run_left(tmp_path: Path) -> None:
    run = _start_run(tmp_path)
    try:
        pids = _wait_for_iperf_in_testbed(run)
        testbeds = _testbeds_of(run)
        run.kill()
        run.wait(timeout=10)
        assert netns_owned_by(run.pid), "a SIGKILLed harness cannot clean up; debris expected"
        assert any(_alive(pid) for pid in pids)
    finally:
        if run.poll() is None:
            run.kill()
    cleaned = subprocess.run([sys.executable, "-m", "harness", "clean"], capture_output=True,
                             text=True, timeout=60)
    assert cleaned.returncode == 0, cleaned.stderr
    assert "removed namespace" in cleaned.stdout
    assert leftover_netns() == []
    assert not any(_alive(pid) for pid in pids)
    assert testbeds and _debris(testbeds) == []
    again = subprocess.run([sys.executable, "-m", "harness", "clean"], capture_output=True,
                           text=True, timeout=60)
    assert again.returncode == 0 and "removed" not in again.stdout


@pytest.mark.parametrize(("signum", "exit_code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_mid_run_tears_everything_down(tmp_path: Path, signum: int,
                                              exit_code: int) -> None:
    run = _start_run(tmp_path)
    try:
        pids = _wait_for_iperf_in_testbed(run)
        testbeds = _testbeds_of(run)
        run.send_signal(signum)
        output, _ = run.communicate(timeout=30)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == exit_code, output
    assert leftover_netns() == []
    assert not any(_alive(pid) for pid in pids)
    assert testbeds and _debris(testbeds) == []
    manifests = list(tmp_path.glob("*/manifest.json"))
    assert len(manifests) == 1 and '"complete": false' in manifests[0].read_text()


def _cells(run_dir: Path) -> set[tuple[str, str, str]]:
    from harness.records.store import RunStore

    return {(r.vpn, r.test, r.link) for r in RunStore.open_existing(run_dir).load_records()}


def test_sigterm_then_resume_completes_without_loss_or_duplicates(tmp_path: Path) -> None:
    run = _start_run(tmp_path, duration=3)
    try:
        _wait_for_iperf_in_testbed(run)
        run.send_signal(signal.SIGTERM)
        run.communicate(timeout=30)
    finally:
        if run.poll() is None:
            run.kill()
    (run_dir,) = [path.parent for path in tmp_path.glob("*/manifest.json")]
    resumed = subprocess.run([sys.executable, "-m", "harness", "run", "--resume", str(run_dir),
                              "--no-progress"], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    from harness.records.store import RunStore

    store = RunStore.open_existing(run_dir)
    assert store.manifest.complete and len(store.manifest.resumed_at) == 1
    assert _cells(run_dir) == {("internal", "tcp", link)
                               for link in ("lom->yuki", "yuki->luna", "luna->lom")}
    assert len(store.manifest.records) == 3 == len(set(store.manifest.records))


def test_killed_at_a_random_point_and_resumed_equals_an_uninterrupted_run(
    tmp_path: Path,
) -> None:
    import random

    args = ["--vpn", "internal", "--test", "tcp,ping", "--duration", "1", "--ping-count", "3",
            "--no-progress"]
    full = subprocess.run([sys.executable, "-m", "harness", "run", "--out",
                           str(tmp_path / "full"), *args], capture_output=True, text=True,
                          timeout=300)
    assert full.returncode == 0, full.stderr
    (full_dir,) = [path.parent for path in (tmp_path / "full").glob("*/manifest.json")]

    delay = random.Random(os.getpid()).uniform(0.5, 6.0)
    run = subprocess.Popen([sys.executable, "-m", "harness", "run", "--out",
                            str(tmp_path / "killed"), *args], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        run.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        run.kill()
        run.wait(timeout=10)
    subprocess.run([sys.executable, "-m", "harness", "clean"], capture_output=True, timeout=60,
                   check=True)
    manifests = list((tmp_path / "killed").glob("*/manifest.json"))
    if not manifests:  # killed before the run directory existed: a plain rerun is the resume
        pytest.skip(f"killed after {delay:.1f}s, before the run directory was created")
    killed_dir = manifests[0].parent
    resumed = subprocess.run([sys.executable, "-m", "harness", "run", "--resume",
                              str(killed_dir), "--no-progress"], capture_output=True, text=True,
                             timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert _cells(killed_dir) == _cells(full_dir), f"killed after {delay:.1f}s"
    assert leftover_netns() == []
