"""The fake backend itself: scripted answers, recorded calls, processes the test ends, an
in-memory filesystem, and the real CPU sampler reading the fake's /proc."""

from __future__ import annotations

import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath

import pytest

from harness.hosts.base import CommandFailed, CommandResult
from harness.hosts.fake import Call, FakeHost, FakeProcess, Reply, Rules
from harness.monitoring.cpu import CpuSampler
from harness.testbed.fake import FakeTestbed, FakeTestbedFactory

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


# -- scripted commands ------------------------------------------------------------------------
def test_rules_answer_by_prefix_and_the_newest_matching_rule_wins() -> None:
    rules = (Rules()
             .on("sysctl", reply=Reply(stdout="generic\n"))
             .on("sysctl", "-n", "net.ipv4.tcp_congestion_control", reply=Reply(stdout="bbr\n")))
    host = FakeHost("lom", rules)
    assert host.succeed(["sysctl", "-n", "net.ipv4.tcp_congestion_control"]) == "bbr\n"
    assert host.succeed(["sysctl", "-n", "net.core.default_qdisc"]) == "generic\n"
    rules.on("sysctl", reply=Reply(stdout="override\n"))
    assert host.succeed(["sysctl", "-n", "net.ipv4.tcp_congestion_control"]) == "override\n"


def test_rules_limited_by_times_host_and_predicate() -> None:
    ok = (FIXTURES / "ping" / "ipv4_ok.txt").read_text()
    rules = (Rules()
             .on("ping", reply=Reply(stdout=ok))
             .on("ping", times=2, reply=Reply(returncode=2, stderr="ping: connect: unreachable"))
             .on("ping", host="luna", when=lambda call: call.argv[-1] == "10.77.0.9",
                 reply=Reply(returncode=1)))
    testbed = FakeTestbed(handler=rules)
    lom, luna = testbed.host("lom"), testbed.host("luna")
    assert [lom.run(["ping", "10.77.0.2"], timeout=5).returncode for _ in range(3)] == [2, 2, 0]
    assert luna.run(["ping", "10.77.0.9"], timeout=5).returncode == 1
    assert luna.run(["ping", "10.77.0.1"], timeout=5).stdout == ok
    assert lom.run(["ping", "10.77.0.9"], timeout=5).ok, "the luna-only rule does not apply"


def test_unscripted_command_fails_with_127_and_is_listed() -> None:
    rules = Rules()
    host = FakeHost("yuki", rules)
    result = host.run(["tc", "qdisc", "show"], timeout=5)
    assert result.returncode == 127 and not result.ok
    assert "no rule answers `tc qdisc show`" in result.stderr
    assert [call.argv for call in rules.unmatched] == [("tc", "qdisc", "show")]
    with pytest.raises(CommandFailed, match="on yuki: `tc qdisc show` exited with 127"):
        host.succeed(["tc", "qdisc", "show"])


def test_timed_out_reply_reports_the_command_timeout() -> None:
    host = FakeHost("lom", Rules().on("iperf3", reply=Reply(stdout="partial", timed_out=True)))
    result = host.run(["iperf3", "--client", "10.77.0.2"], timeout=42)
    assert result.timed_out and not result.ok
    assert result.duration_s == 42 and result.returncode == -signal.SIGKILL
    assert result.stdout == "partial"
    assert result.argv == ("iperf3", "--client", "10.77.0.2")


def test_a_plain_function_is_a_handler_and_may_return_a_command_result() -> None:
    def handler(call: Call) -> CommandResult:
        return CommandResult(call.argv, 0, f"{call.host}:{call.input_text}", "", 0.5)

    host = FakeHost("luna", handler)
    assert host.succeed(["wg", "pubkey"], input_text="private") == "luna:private"


def test_calls_are_recorded_in_order_across_the_hosts_of_a_testbed() -> None:
    testbed = FakeTestbed(handler=Rules().on("true", reply=Reply()))
    testbed.host("yuki").run(["true", "1"], timeout=3, env={"A": "b"})
    testbed.host("lom").start(["sleep", "inf"], name="sleeper")
    testbed.host("yuki").run(["true", "2"], timeout=4, input_text="in")
    calls = testbed.calls
    assert [(c.seq, c.host, c.kind, c.argv) for c in calls] == [
        (1, "yuki", "run", ("true", "1")), (2, "lom", "start", ("sleep", "inf")),
        (3, "yuki", "run", ("true", "2"))]
    assert calls[0].env == {"A": "b"} and calls[0].timeout == 3
    assert calls[2].input_text == "in" and calls[1].timeout is None
    assert testbed.commands("true") == [("true", "1"), ("true", "2")]
    assert testbed.host("yuki").commands("true", "2") == [("true", "2")]
    assert [c.argv for c in testbed.host("lom").calls] == [("sleep", "inf")]


def test_concurrent_calls_are_all_recorded_once() -> None:
    testbed = FakeTestbed(handler=Rules().on("ping", reply=Reply()))
    hosts = testbed.hosts
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda i: hosts[i % 3].run(["ping", str(i)], timeout=1),
                                range(300)))
    assert all(result.ok for result in results)
    assert sorted(call.seq for call in testbed.calls) == list(range(1, 301))
    assert sorted(int(argv[1]) for argv in testbed.commands("ping")) == list(range(300))


# -- processes --------------------------------------------------------------------------------
def test_started_process_runs_until_the_test_ends_it() -> None:
    host = FakeHost("lom")
    daemon = host.start(["wireguard-go", "-f", "wg0"], name="wg", env={"LOG_LEVEL": "debug"})
    other = host.start(["iperf3", "-s"], name="server")
    assert daemon.is_running() and daemon.returncode() is None and daemon.wait(10) is None
    assert daemon.pid != other.pid and daemon.env == {"LOG_LEVEL": "debug"}
    assert host.processes() == [daemon, other] and host.process("wg") is daemon
    daemon.write("line 1\nline 2\n")
    daemon.exit(1, output="panic: boom\n")
    daemon.exit(3)  # the first status stays
    assert not daemon.is_running() and daemon.returncode() == 1 and daemon.wait(10) == 1
    assert daemon.log_tail(2) == "line 2\npanic: boom"
    assert daemon.output() == "line 1\nline 2\npanic: boom\n"
    assert host.processes() == [other]
    assert host.started == [daemon, other]
    with pytest.raises(KeyError, match="no process 'nope'"):
        host.process("nope")


def test_stop_and_signals_end_a_process_as_a_real_signal_would() -> None:
    host = FakeHost("lom")
    stopped = host.start(["a"], name="a")
    killed = host.start(["b"], name="b")
    hung_up = host.start(["c"], name="c")
    assert stopped.stop() == -signal.SIGTERM and stopped.stopped and stopped.stop_calls == 1
    assert stopped.stop() == -signal.SIGTERM and stopped.stop_calls == 2
    killed.signal(signal.SIGKILL)
    assert killed.returncode() == -signal.SIGKILL and not killed.stopped
    hung_up.signal(signal.SIGHUP)
    assert hung_up.is_running() and hung_up.signals == [signal.SIGHUP]
    host.stop_processes()
    assert hung_up.stopped and not hung_up.is_running()


def test_process_exits_after_a_number_of_matching_commands() -> None:
    testbed = FakeTestbed(handler=Rules().on("iperf3", reply=Reply()).on("ss", reply=Reply()))
    daemon = testbed.host("yuki").start(["vpnd"], name="vpnd")
    daemon.exit_after(2, matching=("iperf3", "--client"), returncode=-9, output="OOM\n")
    testbed.host("lom").run(["iperf3", "--client", "x"], timeout=5)
    testbed.host("lom").run(["ss", "-Htln"], timeout=5)
    testbed.host("yuki").run(["iperf3", "-s"], timeout=5)
    assert daemon.is_running(), "one matching command so far"
    testbed.host("luna").run(["iperf3", "--client", "y"], timeout=5)
    assert daemon.returncode() == -9 and daemon.log_tail() == "OOM"

    only_lom = testbed.host("yuki").start(["vpnd"], name="vpnd")
    only_lom.exit_after(1, host="lom")
    testbed.host("yuki").run(["ss"], timeout=5)
    assert only_lom.is_running()
    testbed.host("lom").run(["ss"], timeout=5)
    assert only_lom.returncode() == 1


def test_on_start_sees_every_new_process() -> None:
    def crash_tincd(process: FakeProcess) -> None:
        if process.argv[0] == "tincd":
            process.exit(1, output="Cannot open config file\n")

    testbed = FakeTestbed(on_start=crash_tincd)
    tincd = testbed.host("luna").start(["tincd", "-D"], name="tinc")
    other = testbed.host("luna").start(["nebula"], name="nebula")
    assert tincd.returncode() == 1 and "config" in tincd.log_tail()
    assert other.is_running()
    assert testbed.started == [tincd, other]


# -- files ------------------------------------------------------------------------------------
def test_files_live_in_memory_only(tmp_path: Path) -> None:
    host = FakeHost("lom", state_dir=PurePosixPath(tmp_path / "state"))
    key = host.state_dir / "vpn" / "wg" / "private.key"
    host.write_file(key, "secret\n", mode=0o600)
    assert host.read_file(key) == b"secret\n" and host.read_text(key) == "secret\n"
    assert host.mode(key) == 0o600 and host.exists(key) and host.exists(key.parent)
    assert not (tmp_path / "state").exists(), "nothing reached the real filesystem"
    host.make_dir(host.state_dir / "logs", mode=0o750)
    assert host.mode(host.state_dir / "logs") == 0o750
    host.write_file(PurePosixPath("/etc/../etc/hosts"), b"\x00binary")
    assert host.read_file(PurePosixPath("/etc/hosts")) == b"\x00binary"
    assert set(host.files) == {key, PurePosixPath("/etc/hosts")}
    assert host.calls == [], "file verbs run no command"

    host.remove(host.state_dir / "vpn")
    assert not host.exists(key) and not host.exists(key.parent)
    assert host.exists(host.state_dir / "logs")
    with pytest.raises(ValueError, match="outside"):
        host.remove(PurePosixPath("/etc/hosts"))
    with pytest.raises(FileNotFoundError):
        host.read_file(key)
    with pytest.raises(ValueError, match="absolute"):
        host.write_file(PurePosixPath("relative/file"), "x")


def test_which_finds_the_programs_it_is_given() -> None:
    assert FakeHost("lom").which("iperf3") == "/usr/bin/iperf3"
    restricted = FakeHost("lom", programs={"ping"})
    assert restricted.which("ping") == "/usr/bin/ping"
    assert restricted.which("iperf3") is None
    assert restricted.calls == []


def test_proc_files_of_running_processes_feed_the_real_cpu_sampler() -> None:
    host = FakeHost("lom")
    host.write_file(PurePosixPath("/proc/stat"), "cpu  100 0 100 800 0 0 0 0 0 0\n")
    daemon = host.start(["/usr/bin/nebula", "-config", "x"], name="nebula")
    daemon.rss_bytes = 64 * 1024 * 1024
    stat = host.read_text(PurePosixPath(f"/proc/{daemon.pid}/stat"))
    assert stat.startswith(f"{daemon.pid} (nebula) S ")

    sampler = CpuSampler([host], [(host, daemon)], interval_s=60)
    with sampler:
        daemon.cpu_ticks += 300
        host.write_file(PurePosixPath("/proc/stat"), "cpu  200 0 100 900 0 0 0 0 0 0\n")
    usage = sampler.usage()
    assert usage is not None
    assert usage.hosts["lom"].user_pct == pytest.approx(50.0)
    (process,) = usage.processes
    assert process.name == "nebula" and process.cpu_pct > 0
    assert process.max_rss_bytes == 64 * 1024 * 1024

    daemon.exit(0)
    assert not host.exists(PurePosixPath(f"/proc/{daemon.pid}/stat")), "gone once it exited"


# -- the testbed ------------------------------------------------------------------------------
def test_testbed_is_built_and_destroyed_like_a_real_one() -> None:
    factory = FakeTestbedFactory(hosts=("a", "b"), lan_subnet="192.168.5.0/24")
    with factory() as testbed:
        assert testbed.entered and not testbed.exited
        assert testbed.host_names == ["a", "b"] and testbed.backend == "fake"
        assert testbed.lan_address("b") == "192.168.5.2" and testbed.lan_interface == "lan0"
        assert testbed.describe()["hosts"] == {
            "a": {"interface": "lan0", "address": "192.168.5.1", "mtu": 1500},
            "b": {"interface": "lan0", "address": "192.168.5.2", "mtu": 1500}}
        daemon = testbed.host("a").start(["vpnd"], name="vpnd")
    assert testbed.exited and daemon.stopped and not daemon.is_running()
    assert factory.built == [testbed]
    second = factory()
    assert second is not testbed and second.calls == [] and len(factory.built) == 2
    with pytest.raises(KeyError, match="no host 'c'"):
        testbed.host("c")
    with pytest.raises(ValueError, match="unique"):
        FakeTestbed(hosts=("a", "a"))
