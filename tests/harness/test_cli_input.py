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
        (["run", "--duration", "0"], "--duration 0: Input should be greater than or equal to "
         "1; valid for parallel_tcp.duration_s: a whole number from 1 to 3600"),
        (["run", "--ping-count", "0"], "--ping-count 0: Input should be greater than or equal"),
        (["run", "--ping-interval", "0"], "valid for ping.interval_s: a number from 0.002 to 60"),
        (["run", "--param", "udp.bitrate_mbps=x"], "--param udp.bitrate_mbps=x: Input should "
         "be a valid number"),
        (["run", "--hosts", "1"], "--hosts must be a whole number from 2 to 200"),
        (["run", "--offloads", "maybe"], "unknown --offloads 'maybe'; valid: default, on, off"),
        (["run", "--duration", "abc"], "--duration abc: Input should be a valid integer"),
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


def test_help_shows_every_workload_option_with_its_model_default() -> None:
    result = vpn_bench("run", "--help")
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.replace("│", " ").split())
    assert "--duration" in text and "[default: 30]" in text
    assert "--ping-count" in text and "[default: 100]" in text
    assert "--ping-interval" in text and "[default: 0.2]" in text
    assert "--param" in text and "[default: baseline]" in text


def test_dry_run_shows_the_parameters_each_test_runs_with() -> None:
    result = vpn_bench("run", "--vpn", "internal", "--test", "udp,ping", "--dry-run",
                       "--duration", "4", "--ping-count", "15", "--param",
                       "udp.bitrate_mbps=100")
    assert result.returncode == 0, result.stderr
    assert "udp: duration_s=4 port=5201 connect_timeout_ms=5000 bitrate_mbps=100.0" in (
        result.stdout)
    assert "ping: count=15 interval_s=0.2" in result.stdout
