"""Faults of real hosts over real sshd (namespace hosts, as in test_ssh_backend.py).

Bad hosts (wrong user, refused key, unreachable address, missing interface) are bad input:
one line naming the host, exit 2, no run directory and nothing on any host. A host whose
SSH is lost mid-run: that cell fails with the reason, the run goes on, and the host is
cleaned up once it answers again."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.records.models import Status
from harness.records.store import RunStore
from tests.integration.test_ssh_backend import (
    REPO,
    SshHosts,
    _control_dirs,
    _ssh_hosts,
    keygen,
    vpn_bench,
)

pytestmark = [pytest.mark.root, pytest.mark.slow]


@pytest.fixture(scope="module")
def hosts() -> Iterator[SshHosts]:
    with tempfile.TemporaryDirectory(prefix="vpbtest-sshfault-") as directory:
        yield from _ssh_hosts(Path(directory))


@pytest.fixture(scope="module")
def trusted(hosts: SshHosts) -> SshHosts:
    result = vpn_bench("hosts", "trust", "--inventory", str(hosts.inventory), "--yes")
    assert result.returncode == 0, result.stderr
    return hosts


def variant(hosts: SshHosts, name: str, old: str, new: str) -> Path:
    """A copy of the inventory (same directory, so the pinned known_hosts applies) with one
    line changed."""
    text = hosts.inventory.read_text()
    assert old in text, old
    path = hosts.inventory.with_name(f"{name}.toml")
    path.write_text(text.replace(old, new, 1))
    return path


def state_entries(hosts: SshHosts) -> list[str]:
    state = hosts.workdir / "state"
    return sorted(str(path.relative_to(state)) for path in state.glob("*/*")) \
        if state.exists() else []


def refused_run(inventory: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return vpn_bench("run", "--inventory", str(inventory), "--vpn", "internal", "--test",
                     "ping", "--ping-count", "2", "--out", str(out), "--no-progress",
                     timeout=180)


@pytest.mark.parametrize(("case", "expected"), [
    ("wrong-user", "host yuki (vpbnouser@10.77.0.2:2222): SSH login refused (permission denied)"),
    ("refused-key", "SSH login refused (permission denied): check user and identity_file"),
    ("unreachable", "host luna (root@10.77.0.9:22): SSH"),
    ("no-interface", "host luna: no interface 'nosuch0' there"),
])
def test_bad_hosts_are_bad_input_naming_the_host(trusted: SshHosts, tmp_path: Path,
                                                 case: str, expected: str) -> None:
    if case == "wrong-user":
        inventory = variant(trusted, case, "[hosts.yuki]\n", '[hosts.yuki]\nuser = "vpbnouser"\n')
    elif case == "refused-key":
        keygen(tmp_path / "other_key")
        inventory = variant(trusted, case, 'identity_file = "client_key"',
                            f'identity_file = "{tmp_path / "other_key"}"')
    elif case == "unreachable":
        # pinned (a copy of lom's key), so the address itself is what fails
        pins = trusted.inventory.with_name("known_hosts")
        lom_key = next(line for line in pins.read_text().splitlines()
                       if line.startswith("10.77.0.1 "))
        pins.write_text(pins.read_text() + lom_key.replace("10.77.0.1", "10.77.0.9", 1) + "\n")
        inventory = variant(trusted, case, 'address = "10.77.0.3"\nport = 22',
                            'address = "10.77.0.9"\nport = 22')
        inventory.write_text(inventory.read_text().replace(
            'known_hosts = "known_hosts"', 'known_hosts = "known_hosts"\nconnect_timeout = 2'))
    else:
        inventory = variant(trusted, case, "[hosts.luna]\n",
                            '[hosts.luna]\ninterface = "nosuch0"\n')
    before = state_entries(trusted)
    out = tmp_path / "runs"
    result = refused_run(inventory, out)
    message = " ".join(result.stderr.split())
    assert result.returncode == 2, result.stdout + result.stderr
    assert expected in message, message
    assert "Traceback" not in result.stderr
    assert not out.exists(), "no run directory for bad input"
    assert state_entries(trusted) == before, "nothing may be created on any host"


def test_losing_ssh_mid_run_fails_that_cell_and_the_run_goes_on(trusted: SshHosts,
                                                                 tmp_path: Path) -> None:
    out = tmp_path / "runs"
    controls_before = _control_dirs()
    run = subprocess.Popen(
        [sys.executable, "-m", "harness", "run", "--inventory", str(trusted.inventory),
         "--vpn", "internal", "--test", "ping", "--ping-count", "25", "--out", str(out),
         "--no-progress"], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = wait_for(out, "ping/lom-yuki.json", run)
        # yuki's SSH goes away while its cell (yuki->luna, ping run on yuki) is under way:
        # its sshd stops and the run's master connection to yuki is closed.
        trusted.sshd["yuki"].stop()
        (control,) = [Path(tempfile.gettempdir()) / name / "yuki"
                      for name in _control_dirs() - controls_before
                      if (Path(tempfile.gettempdir()) / name / "yuki").exists()]
        subprocess.run(["ssh", "-o", f"ControlPath={control}", "-O", "exit", "x"],
                       capture_output=True, timeout=10, check=False)
        # ... and comes back once that cell's record is written (bounded by wait_for)
        wait_for(first.parent.parent, "ping/yuki-luna.json", run)
        trusted.start_sshd("yuki")
        stdout, stderr = run.communicate(timeout=300)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
        if not trusted.sshd["yuki"].is_running():
            trusted.start_sshd("yuki")
    assert run.returncode == 0, stdout + stderr
    (run_dir,) = [path for path in out.iterdir() if path.is_dir()]
    records = {r.link: r for r in RunStore.open_existing(run_dir).load_records()}
    assert records["lom->yuki"].status is Status.OK
    assert records["luna->lom"].status is Status.OK, records["luna->lom"].error
    lost = records["yuki->luna"]
    assert lost.status is Status.FAILED
    assert "host yuki (root@10.77.0.2:2222)" in (lost.error or ""), lost.error
    # cleaned up on yuki once it was back; no master connection left behind
    assert not [entry for entry in state_entries(trusted) if "testbed-" in entry]
    assert _control_dirs() == controls_before


def wait_for(root: Path, suffix: str, run: subprocess.Popen[str],
             timeout_s: float = 120) -> Path:
    """The first file below ``root`` whose path ends with ``suffix``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = [path for path in root.rglob("*.json") if str(path).endswith(suffix)] \
            if root.exists() else []
        if found:
            return found[0]
        if run.poll() is not None:
            stderr = run.stderr.read() if run.stderr else ""
            raise AssertionError(f"the run ended before {suffix}: {stderr}")
        time.sleep(0.1)
    raise AssertionError(f"no {suffix} within {timeout_s} s")


def test_list_and_doctor_ask_the_hosts_not_this_machine(trusted: SshHosts) -> None:
    """mycelium is installed here (/opt/vpn-bench/bin on this PATH) but not on the PATH an
    SSH session of the hosts gets: asked of the hosts, it is not runnable."""
    env = {**os.environ, "PATH": f"/opt/vpn-bench/bin:{os.environ['PATH']}", "COLUMNS": "400"}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True,
                              text=True, timeout=300, cwd=REPO, env=env)

    here = cli("list")
    assert here.returncode == 0, here.stderr
    assert re.search(r"mycelium\s.*\byes\b", here.stdout), here.stdout
    remote = cli("list", "--inventory", str(trusted.inventory))
    assert remote.returncode == 0, remote.stderr
    assert "runnable on the hosts" in remote.stdout
    assert "not installed on lom (binary mycelium" in remote.stdout, remote.stdout
    doctor = cli("doctor", "--inventory", str(trusted.inventory))
    lines = doctor.stdout.splitlines()
    for host in ("lom", "yuki", "luna"):
        block = lines[lines.index(host):]
        assert "  vpn mycelium: missing mycelium" in block
        assert any(line.startswith("  kernel sch_netem: ") for line in block)


def test_nixos_mode_on_hosts_without_the_specialisations_is_refused(trusted: SshHosts,
                                                                    tmp_path: Path) -> None:
    out = tmp_path / "runs"
    result = vpn_bench("run", "--inventory", str(trusted.inventory), "--nixos", "--test",
                       "ping", "--out", str(out), "--no-progress", timeout=300)
    message = " ".join(result.stderr.split())
    assert result.returncode == 2, result.stdout + result.stderr
    assert "cannot run internal: no specialisation internal on lom" in message
    assert "vpn-bench deploy --inventory FILE" in message
    assert not out.exists()


FAKE_NIXOS_REBUILD = """#!/bin/sh
# Stands in for nixos-rebuild (no NixOS here): logs how it was called, fails on request.
echo "$(basename "$PWD") $* | $NIX_SSHOPTS" >> "$VPB_TEST_LOG"
case " $* " in *" $VPB_TEST_FAIL "*) echo "building the system configuration..." >&2
  echo "error: $VPB_TEST_FAIL went wrong" >&2; exit 1;; esac
echo "done"
"""


def test_deploy_checks_the_hosts_then_builds_all_before_switching_any(
        trusted: SshHosts, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "nixos-rebuild").write_text(FAKE_NIXOS_REBUILD)
    (bin_dir / "nixos-rebuild").chmod(0o755)
    flake = tmp_path / "site"
    flake.mkdir()
    (flake / "flake.nix").write_text("{ }\n")
    log = tmp_path / "calls.log"

    def deploy(fail: str, inventory: Path = trusted.inventory,
               ) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}",
               "VPB_TEST_LOG": str(log), "VPB_TEST_FAIL": fail}
        return subprocess.run([sys.executable, "-m", "harness", "deploy", "--inventory",
                               str(inventory), "--flake", str(flake)], capture_output=True,
                              text=True, timeout=300, cwd=REPO, env=env)

    done = deploy("nothing")
    assert done.returncode == 0, done.stderr
    calls = log.read_text().splitlines()
    phases = [line.split()[1] for line in calls]
    assert phases == ["build"] * 3 + ["switch"] * 3  # every build before any switch
    known = trusted.inventory.with_name("known_hosts")
    for line in calls:
        host = line.split()[0]  # the per-host work directory
        assert f"--flake {flake}#{host}" in line
        assert f"UserKnownHostsFile={known}" in line and "StrictHostKeyChecking=yes" in line
    assert "--target-host root@10.77.0.2" in next(c for c in calls if c.startswith("yuki")
                                                  and " switch " in c)
    assert "deployed 3 hosts" in done.stdout

    log.unlink()
    broken = deploy(f"{flake}#yuki")
    assert broken.returncode == 1
    assert [line.split()[1] for line in log.read_text().splitlines()] == ["build"] * 3
    message = broken.stderr
    assert "error: host yuki: build failed: " in message
    assert f"error: {flake}#yuki went wrong" in message
    assert "no host was switched (a build failed)" in message

    log.unlink()
    unpinned = variant(trusted, "deploy-unpinned", 'address = "10.77.0.3"',
                       'address = "10.77.0.8"')
    refused = deploy("nothing", unpinned)
    assert refused.returncode == 2
    assert "host luna: no pinned host key for 10.77.0.8:22" in " ".join(refused.stderr.split())
    assert not log.exists(), "nothing runs when a host cannot be used"
