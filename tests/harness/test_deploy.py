"""`vpn-bench deploy`: the exact nixos-rebuild command sequence, NIX_SSHOPTS carrying the
pinned known_hosts, build-all-then-switch with one host failing, and bad input (exit 2,
nothing run). No NixOS here: steps run through a recording runner."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from harness.errors import UsageError
from harness.hosts.base import CommandResult
from harness.testbed.ssh.deploy import (
    DeployStep,
    deploy,
    deploy_steps,
    nix_sshopts,
    subprocess_runner,
)
from harness.testbed.ssh.inventory import load_inventory
from tests.harness.test_ssh_backend import BAD_INVENTORIES

REPO = Path(__file__).resolve().parents[2]
HOSTS = ["lom", "yuki", "luna"]
INVENTORY = """\
[defaults]
user = "root"
known_hosts = "pins/known_hosts"

[hosts.lom]
address = "192.0.2.1"

[hosts.yuki]
address = "192.0.2.2"
user = "admin"

[hosts.luna]
address = "192.0.2.3"
port = 2222
"""


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    path = tmp_path / "hosts.toml"
    path.write_text(INVENTORY)
    return path


def vpn_bench(*args: str, env: dict[str, str] | None = None,
              ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True,
                          text=True, timeout=120, cwd=REPO, env=env)


def test_steps_build_every_host_then_switch_every_host(inventory: Path, tmp_path: Path) -> None:
    parsed = load_inventory(inventory)
    steps = deploy_steps(parsed, HOSTS, "/src/site", tmp_path, build_host="root@builder")
    assert [(s.host, s.phase, shlex.join(s.argv)) for s in steps] == [
        ("lom", "build", "nixos-rebuild build --flake '/src/site#lom' --build-host root@builder"),
        ("yuki", "build",
         "nixos-rebuild build --flake '/src/site#yuki' --build-host root@builder"),
        ("luna", "build",
         "nixos-rebuild build --flake '/src/site#luna' --build-host root@builder"),
        ("lom", "switch", "nixos-rebuild switch --flake '/src/site#lom' --target-host "
                          "root@192.0.2.1 --build-host root@builder"),
        ("yuki", "switch", "nixos-rebuild switch --flake '/src/site#yuki' --target-host "
                           "admin@192.0.2.2 --build-host root@builder"),
        ("luna", "switch", "nixos-rebuild switch --flake '/src/site#luna' --target-host "
                           "root@192.0.2.3 --build-host root@builder"),
    ]
    assert {step.cwd for step in steps} == {tmp_path / host for host in HOSTS}


def test_nix_sshopts_pin_the_managed_known_hosts(inventory: Path) -> None:
    parsed = load_inventory(inventory)
    options = shlex.split(nix_sshopts(parsed, parsed.host("luna")))  # as nixos-rebuild does
    known = inventory.parent / "pins" / "known_hosts"
    assert f"UserKnownHostsFile={known}" in options
    assert "StrictHostKeyChecking=yes" in options and "BatchMode=yes" in options
    assert options[options.index("-p") + 1] == "2222"
    assert options[options.index("-l") + 1] == "root"
    # nixos-rebuild multiplexes itself: our ControlPath must not override its own
    assert not any(option.startswith("ControlPath") for option in options)
    # nix splits NIX_SSHOPTS on blanks too: no option may contain one
    assert nix_sshopts(parsed, parsed.host("luna")).split() == options


def test_a_known_hosts_path_with_a_blank_cannot_go_through_nix_sshopts(tmp_path: Path) -> None:
    path = tmp_path / "hosts.toml"
    path.write_text(INVENTORY.replace("pins/known_hosts", "my pins/known_hosts"))
    parsed = load_inventory(path)
    with pytest.raises(UsageError, match=r"host lom: .* contains a blank"):
        nix_sshopts(parsed, parsed.host("lom"))


class Recorder:
    """Runs nothing; answers each step as scripted, records the order."""

    def __init__(self, failing: dict[tuple[str, str], str]) -> None:
        self.failing = failing
        self.ran: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def __call__(self, step: DeployStep, timeout_s: float) -> CommandResult:
        with self.lock:
            self.ran.append((step.host, step.phase))
        output = self.failing.get((step.host, step.phase))
        if output is None:
            return CommandResult(step.argv, 0, "done\n", "", 0.0)
        return CommandResult(step.argv, 1, "", output, 0.0)


def test_a_failed_build_switches_no_host_and_shows_that_hosts_output(inventory: Path,
                                                                    tmp_path: Path) -> None:
    steps = deploy_steps(load_inventory(inventory), HOSTS, "/src", tmp_path)
    log = "\n".join(f"line {i}" for i in range(100)) + "\nerror: attribute 'yuki' missing"
    runner = Recorder({("yuki", "build"): log})
    report = deploy(steps, runner)
    assert not report.ok
    assert sorted(runner.ran) == sorted((host, "build") for host in HOSTS)
    assert [o.step.host for o in report.failed()] == ["yuki"]
    tail = report.failed()[0].tail()
    assert tail.endswith("error: attribute 'yuki' missing")
    assert "line 69" not in tail and "line 99" in tail  # the tail, not the whole log
    assert [step.host for step in report.skipped] == HOSTS


def test_a_failed_switch_is_reported_for_that_host_only(inventory: Path,
                                                        tmp_path: Path) -> None:
    steps = deploy_steps(load_inventory(inventory), HOSTS, "/src", tmp_path)
    runner = Recorder({("luna", "switch"): "activation script failed"})
    report = deploy(steps, runner)
    assert sorted(runner.ran) == sorted((h, p) for h in HOSTS for p in ("build", "switch"))
    assert runner.ran.index(("lom", "switch")) > max(
        runner.ran.index((host, "build")) for host in HOSTS)
    assert [(o.step.host, o.step.phase) for o in report.failed()] == [("luna", "switch")]
    assert not report.skipped
    assert all(o.duration_s >= 0 for o in report.outcomes) and len(report.outcomes) == 6


def test_dry_run_prints_every_command_in_order(inventory: Path, tmp_path: Path) -> None:
    flake = tmp_path / "site"
    flake.mkdir()
    (flake / "flake.nix").write_text("{ }\n")
    result = vpn_bench("deploy", "--inventory", str(inventory), "--flake", str(flake),
                       "--build-host", "lom", "--dry-run")
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if not line.startswith("#")]
    parsed = load_inventory(inventory)
    opts = {host: shlex.quote(nix_sshopts(parsed, parsed.host(host))) for host in HOSTS}
    assert lines == [
        *(f"NIX_SSHOPTS={opts[h]} nixos-rebuild build --flake '{flake}#{h}' "
          "--build-host root@192.0.2.1" for h in HOSTS),
        f"NIX_SSHOPTS={opts['lom']} nixos-rebuild switch --flake '{flake}#lom' "
        "--target-host root@192.0.2.1 --build-host root@192.0.2.1",
        f"NIX_SSHOPTS={opts['yuki']} nixos-rebuild switch --flake '{flake}#yuki' "
        "--target-host admin@192.0.2.2 --build-host root@192.0.2.1",
        f"NIX_SSHOPTS={opts['luna']} nixos-rebuild switch --flake '{flake}#luna' "
        "--target-host root@192.0.2.3 --build-host root@192.0.2.1",
    ]
    assert not (inventory.parent / "pins").exists(), "a dry run writes nothing"


@pytest.mark.parametrize(("extra", "message"), [
    (["--flake", "/nonexistent-flake"], "--flake /nonexistent-flake: no flake.nix there"),
    (["--build-host", "a b"], "--build-host 'a b': give a host name or user@host"),
])
def test_bad_deploy_input_is_exit_2_naming_the_problem(inventory: Path, extra: list[str],
                                                       message: str) -> None:
    result = vpn_bench("deploy", "--inventory", str(inventory), "--dry-run", *extra)
    assert result.returncode == 2
    assert message in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr


def test_bad_inventories_are_refused_before_anything(tmp_path: Path) -> None:
    duplicate = tmp_path / "dup.toml"
    duplicate.write_text(INVENTORY.replace('address = "192.0.2.2"', 'address = "192.0.2.1"'))
    result = vpn_bench("deploy", "--inventory", str(duplicate), "--dry-run")
    assert result.returncode == 2
    assert "host yuki: address 192.0.2.1:22 is also host lom's" in result.stderr
    missing = vpn_bench("deploy", "--inventory", str(tmp_path / "none.toml"), "--dry-run")
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_deploy_without_nixos_rebuild_says_so_and_contacts_no_host(inventory: Path) -> None:
    env = {**os.environ, "PATH": "/usr/bin:/bin"}  # no nixos-rebuild on this Debian machine
    result = vpn_bench("deploy", "--inventory", str(inventory), "--flake", str(REPO), env=env)
    assert result.returncode == 2
    assert "deploy needs nixos-rebuild on this machine" in result.stderr
    assert not (inventory.parent / "pins").exists()


@pytest.mark.parametrize(("text", "message"), [
    case for case in BAD_INVENTORIES if "the plan needs" not in case[1]])
def test_deploy_refuses_every_bad_inventory_like_run(text: str, message: str,
                                                      tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    result = vpn_bench("deploy", "--inventory", str(path), "--flake", str(REPO), "--dry-run")
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: inventory {path}: ")
    assert message in lines[0]
    assert result.stdout == ""


def test_a_timed_out_step_kills_its_children_too(tmp_path: Path) -> None:
    """A stand-in for nixos-rebuild that starts a child (as it starts nix and ssh) and
    hangs: on timeout the child is gone as well, not left running."""
    pid_file = tmp_path / "child.pid"
    script = tmp_path / "nixos-rebuild"
    script.write_text(f"#!/bin/sh\nsleep 300 &\necho $! > {pid_file}\necho building\n"
                      "wait\n")
    script.chmod(0o755)
    step = DeployStep(host="lom", phase="build", argv=(str(script),), env={"X": "1"},
                      cwd=tmp_path / "work")
    result = subprocess_runner(step, 2.0)
    assert result.timed_out
    assert result.stdout == "building\n"
    child = int(pid_file.read_text())
    for _ in range(100):  # the killed child may linger briefly as a zombie until reaped
        stat = Path(f"/proc/{child}/stat")
        if not stat.exists() or stat.read_text().split(") ")[1].startswith("Z"):
            break
        time.sleep(0.05)
    else:
        os.kill(child, signal.SIGKILL)
        raise AssertionError(f"child {child} of the timed-out step is still running")
    assert (tmp_path / "work").is_dir()
