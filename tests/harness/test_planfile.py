"""Plan files: valid ones merge with flags; bad ones name the key and the choices."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli.run_command import RunRequest, build_plan
from harness.errors import UsageError
from harness.records.models import TestKind

PLAN = """
vpns = ["internal"]
tests = ["tcp", "ping"]
repetitions = 2
duration = 12
ping_count = 10

[vpn.internal]
tests = ["ping"]

[test.ping]
timeout = 9
retries = 0
"""


def test_plan_file_values_and_flag_precedence(tmp_path: Path) -> None:
    path = tmp_path / "plan.toml"
    path.write_text(PLAN)
    plan, _, _ = build_plan(RunRequest(plan_file=path, duration_s=3))
    assert plan.repetitions == 2
    assert plan.workload.duration_s == 3  # the flag wins over the file's 12
    assert plan.workload.ping_count == 10
    assert [s.tests for s in plan.sessions()] == [(TestKind.PING,), (TestKind.PING,)]
    assert plan.timeout_s(TestKind.PING, plan.workload) == 9
    assert plan.retries(TestKind.PING) == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("durations = 3", "durations: Extra inputs are not permitted"),
        ("duration = -1", "duration: Input should be greater than 0"),
        ('tests = ["tcp", "quic"]', "unknown test 'quic'; valid: parallel_tcp, tcp, udp, ping"),
        ("[test.video]\nretries = 1", "unknown test section 'video'"),
        ('vpns = ["internal"]\n[vpn.tinc]\ntests = ["tcp"]', "[vpn.tinc] but 'tinc' is not"),
        ("repetitions = [", "plan file"),
    ],
)
def test_bad_plan_files_are_rejected(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "plan.toml"
    path.write_text(text)
    with pytest.raises(UsageError, match=None) as caught:
        build_plan(RunRequest(plan_file=path))
    assert message in str(caught.value)


def test_bad_plan_file_on_the_command_line_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "plan.toml"
    path.write_text("duration = 0\n")
    result = subprocess.run([sys.executable, "-m", "harness", "run", "--plan", str(path),
                             "--dry-run"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "duration: Input should be greater than 0" in result.stderr
    missing = subprocess.run([sys.executable, "-m", "harness", "run", "--plan",
                              str(tmp_path / "nope.toml")], capture_output=True, text=True,
                             timeout=60)
    assert missing.returncode == 2 and "does not exist" in missing.stderr


def test_custom_impairment_profile_from_the_plan_file(tmp_path: Path) -> None:
    path = tmp_path / "plan.toml"
    path.write_text(
        'profiles = ["baseline", "lossy"]\n'
        "[impairment.lossy]\ndelay_ms = 20\njitter_ms = 5\n"
        'loss = { model = "random", percent = 1.0 }\n'
    )
    plan, _, _ = build_plan(RunRequest(plan_file=path))
    assert plan.profiles == ["baseline", "lossy"]
    lossy = plan.profile_definitions["lossy"].egress
    assert lossy is not None and lossy.delay_ms == 20 and lossy.jitter_ms == 5
    assert plan.profile_definitions["baseline"].egress is None
    # --profile all means the four built-ins.
    plan, _, _ = build_plan(RunRequest(plan_file=path, profiles=["all"]))
    assert plan.profiles == ["baseline", "low", "medium", "high"]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("delay_ms = -1", "delay"),
        ("delay_ms = 5\nloss = { model = \"random\", percent = 120 }", "percent"),
        ("jitter_ms = 5", "jitter"),
        ("delay_ms = 5\njitter_ms = 1\ndistribution = \"cauchy\"", "distribution"),
    ],
)
def test_bad_custom_profiles_exit_2_naming_the_problem(tmp_path: Path, table: str,
                                                       message: str) -> None:
    path = tmp_path / "plan.toml"
    path.write_text(f'profiles = ["bad"]\n[impairment.bad]\n{table}\n')
    result = subprocess.run([sys.executable, "-m", "harness", "run", "--plan", str(path),
                             "--dry-run"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "bad" in result.stderr and message in result.stderr
