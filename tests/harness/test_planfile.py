"""Plan files: valid ones merge with flags; bad ones name the key and the choices."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli.run_command import RunRequest, build_plan
from harness.errors import UsageError
from harness.workloads.parallel_tcp import ParallelTcpParams
from harness.workloads.ping import PingParams
from harness.workloads.tcp import TcpParams
from harness.workloads.udp import UdpParams

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
links = 2
"""


def test_plan_file_values_and_flag_precedence(tmp_path: Path) -> None:
    path = tmp_path / "plan.toml"
    path.write_text(PLAN)
    plan, _, _ = build_plan(RunRequest(plan_file=path, workload_flags={"duration": "3"}))
    assert plan.repetitions == 2
    assert plan.params_for("tcp", "baseline").duration_s == 3  # type: ignore[attr-defined]
    assert plan.params_for("ping", "baseline") == PingParams(count=10)
    assert [s.tests for s in plan.sessions()] == [("ping",), ("ping",)]
    assert plan.timeout_s("ping", plan.params_for("ping", "baseline")) == 9
    assert plan.retries("ping") == 0
    assert [link.label for link in plan.sessions()[0].links("ping", plan.hosts)] == [
        "lom->yuki", "yuki->luna"]


WORKLOAD_PLAN = """
tests = ["parallel_tcp", "tcp", "udp", "ping"]
duration = 12
ping_interval = 0.05

[test.udp]
retries = 0
bitrate_mbps = 500
duration_s = 20

[profile.high]
duration = 40
"""


def test_workload_parameters_from_shared_keys_test_tables_flags_and_params(
        tmp_path: Path) -> None:
    path = tmp_path / "plan.toml"
    path.write_text(WORKLOAD_PLAN)
    plan, _, _ = build_plan(RunRequest(plan_file=path, profiles=["baseline", "high"]))
    assert plan.parameters == {
        "parallel_tcp": ParallelTcpParams(duration_s=12), "tcp": TcpParams(duration_s=12),
        "udp": UdpParams(duration_s=20, bitrate_mbps=500),
        "ping": PingParams(interval_s=0.05)}
    assert plan.retries("udp") == 0
    # [profile.high] duration applies on top, to every workload that has it.
    assert plan.profile_parameters["high"]["udp"] == UdpParams(duration_s=40, bitrate_mbps=500)
    assert "ping" not in plan.profile_parameters["high"]
    # Flags win over the file, --param wins over the flags; later --param over earlier.
    plan, _, _ = build_plan(RunRequest(
        plan_file=path, workload_flags={"duration": "5", "ping_count": "7"},
        params=["udp.duration_s=9", "udp.bitrate_mbps=1.5", "udp.bitrate_mbps=2"]))
    assert plan.parameters["tcp"] == TcpParams(duration_s=5)
    assert plan.parameters["udp"] == UdpParams(duration_s=9, bitrate_mbps=2)
    assert plan.parameters["ping"] == PingParams(count=7, interval_s=0.05)


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (RunRequest(workload_flags={"duration": "0"}),
         "--duration 0: Input should be greater than or equal to 1; valid for "
         "parallel_tcp.duration_s: a whole number from 1 to 3600"),
        (RunRequest(workload_flags={"duration": "0.5"}), "--duration 0.5: Input should be a "
         "valid integer"),
        (RunRequest(workload_flags={"ping_interval": "inf"}), "--ping-interval inf: "),
        (RunRequest(params=["udp.bitrate_mbps=-1"]), "--param udp.bitrate_mbps=-1: Input "
         "should be greater than or equal to 0; valid for udp.bitrate_mbps: a number from 0"),
        (RunRequest(params=["udp.bitrate=1"]), "udp has no parameter 'bitrate'; valid: "
         "duration_s, port, connect_timeout_ms, bitrate_mbps"),
        (RunRequest(params=["warp.duration_s=1"]), "unknown test 'warp'; valid: parallel_tcp"),
        (RunRequest(params=["udp.duration_s"]), "expected TEST.PARAMETER=VALUE"),
    ],
)
def test_bad_workload_parameters_name_the_parameter_value_and_range(
        request_: RunRequest, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        build_plan(request_)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("durations = 3", "durations: Extra inputs are not permitted"),
        ("duration = -1", "duration = -1: Input should be greater than or equal to 1"),
        ("[test.udp]\nbitrate_mbps = -3", "[test.udp] bitrate_mbps = -3: Input should be"),
        ("[test.ping]\ncont = 3", "ping has no parameter 'cont'; valid: count, interval_s"),
        ("[profile.high]\nping_count = 0", "[profile.high] ping_count = 0: Input should"),
        ('tests = ["tcp", "warp"]', "unknown test 'warp'; valid: parallel_tcp, tcp, udp, ping"),
        ("[test.video]\nretries = 1", "unknown test section 'video'"),
        ("[test.reconnect]\nlinks = 0", "test.reconnect.links: Input should be greater than or"),
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
    assert "duration = 0: Input should be greater than or equal to 1" in result.stderr
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
