"""Bad input on the real command line: message names the problem and choices, exit 2."""

from __future__ import annotations

import subprocess
import sys

import pytest


def vpn_bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True,
                          text=True, timeout=60)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--vpn", "foo"], "unknown VPN 'foo'; valid: internal"),
        (["run", "--test", "bogus"], "unknown test 'bogus'; valid: parallel_tcp, tcp, udp, ping"),
        (["run", "--profile", "extreme"], "unknown profile 'extreme'; valid: baseline"),
        (["run", "--duration", "0"], "--duration must be positive"),
        (["run", "--hosts", "1"], "--hosts must be between 2 and 200"),
        (["run", "--offloads", "maybe"], "unknown --offloads 'maybe'; valid: default, on, off"),
        (["run", "--duration", "abc"], "Invalid value for '--duration'"),
        (["run", "--backend", "ssh2"], "unknown backend 'ssh2'; valid: local"),
    ],
)
def test_bad_input_exits_2_and_names_the_problem(args: list[str], message: str) -> None:
    result = vpn_bench(*args, "--out", "/nonexistent-should-not-be-created")
    assert result.returncode == 2, result.stderr
    assert message in " ".join(result.stderr.split())


def test_impair_check_rejects_an_unknown_backend_before_building_anything() -> None:
    result = vpn_bench("impair-check", "--profile", "high", "--backend", "ssh2")
    assert result.returncode == 2
    assert "unknown backend 'ssh2'; valid: local" in result.stderr


def test_dry_run_prints_plan_without_touching_the_machine() -> None:
    result = vpn_bench("run", "--vpn", "internal", "--dry-run", "--duration", "2")
    assert result.returncode == 0, result.stderr
    assert "rep 0  internal" in result.stdout
    assert "estimated duration" in result.stdout
