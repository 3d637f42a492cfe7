"""The namespace testbed: isolation, supervision, and teardown that leaves nothing behind."""

from __future__ import annotations

import subprocess
from pathlib import Path, PurePosixPath

import pytest

from harness.testbed.local.names import netns_path
from harness.testbed.local.testbed import LocalTestbed, LocalTestbedSpec

pytestmark = pytest.mark.root


def test_hosts_reach_each_other_over_the_lan(testbed: LocalTestbed) -> None:
    assert testbed.host_names == ["lom", "yuki", "luna"]
    for source in testbed.hosts:
        for target in testbed.host_names:
            if target != source.name:
                result = source.run(["ping", "-c", "1", "-W", "1",
                                     testbed.lan_address(target)], timeout=5)
                assert result.ok, result.describe()


def test_no_host_has_a_route_outside_the_testbed(testbed: LocalTestbed) -> None:
    for host in testbed.hosts:
        routes = host.succeed(["ip", "-4", "route", "show"])
        assert "default" not in routes
        assert [line.split()[0] for line in routes.splitlines()] == ["10.77.0.0/24"]
        unreachable = host.run(["ping", "-c", "1", "-W", "1", "192.0.2.1"], timeout=5)
        assert not unreachable.ok


def test_each_host_has_its_own_run_directory(testbed: LocalTestbed) -> None:
    lom, yuki = testbed.host("lom"), testbed.host("yuki")
    lom.succeed(["sh", "-c", "mkdir -p /run/wireguard && echo lom > /run/wireguard/marker"])
    assert lom.succeed(["cat", "/run/wireguard/marker"]).strip() == "lom"
    assert not yuki.run(["test", "-e", "/run/wireguard/marker"], timeout=5).ok
    # /sys shows the host's own interfaces.
    assert sorted(lom.succeed(["ls", "/sys/class/net"]).split()) == ["lan0", "lo"]


def test_supervised_process_logs_and_stops(testbed: LocalTestbed) -> None:
    host = testbed.host("luna")
    process = host.start(["sh", "-c", "echo started; exec sleep 60"], name="sleeper")
    assert process.is_running()
    for _ in range(50):
        if "started" in process.output():
            break
        process.wait(0.05)
    assert process.log_tail() == "started"
    # Under memory pressure the kernel kills benchmark processes first, not the harness.
    assert Path(f"/proc/{process.pid}/oom_score_adj").read_text().strip() == "1000"
    assert process.stop(timeout=2) is not None
    assert not process.is_running()


def test_files_only_below_the_state_dir(testbed: LocalTestbed) -> None:
    host = testbed.host("lom")
    key = host.state_dir / "keys" / "private.key"
    host.write_file(key, "secret\n")
    assert host.read_file(key) == b"secret\n"
    assert oct(__import__("os").stat(key).st_mode & 0o777) == "0o600"
    with pytest.raises(ValueError, match="may only write below"):
        host.write_file(PurePosixPath("/etc/vpn-bench-test"), "x")
    with pytest.raises(ValueError, match="may only write below"):
        host.write_file(host.state_dir / ".." / ".." / "escape", "x")


def test_command_timeout_kills_the_process_group(testbed: LocalTestbed) -> None:
    result = testbed.host("yuki").run(["sh", "-c", "sleep 30 & sleep 30"], timeout=0.5)
    assert result.timed_out and not result.ok
    pids = subprocess.run(["ip", "netns", "pids", testbed.names.netns("yuki")],
                          capture_output=True, text=True).stdout.split()
    assert pids == []


def test_offloads_are_recorded_and_settable(testbed_spec: LocalTestbedSpec) -> None:
    spec = LocalTestbedSpec(hosts=testbed_spec.hosts, lan=testbed_spec.lan, offloads="off")
    with LocalTestbed(spec) as testbed:
        features = testbed.offloads("lom")
        assert features["tcp-segmentation-offload"] is False
        assert features["generic-segmentation-offload"] is False
        description = testbed.describe()
        hosts = description["hosts"]
        assert isinstance(hosts, dict)
        assert hosts["yuki"]["offloads"]["generic-segmentation-offload"] is False


def test_teardown_removes_everything_even_after_an_error(
    testbed_spec: LocalTestbedSpec,
) -> None:
    with pytest.raises(RuntimeError, match="boom"), LocalTestbed(testbed_spec) as testbed:
        testbed.host("lom").start(["sleep", "60"], name="orphan")
        names = [testbed.names.netns(h) for h in testbed.host_names] + [testbed.lan_netns]
        state = testbed.names.state_dir
        raise RuntimeError("boom")
    assert not any(netns_path(name).exists() for name in names)
    assert not state.exists()
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert testbed.names.testbed_id not in listed


def test_more_hosts(testbed_spec: LocalTestbedSpec) -> None:
    spec = LocalTestbedSpec(hosts=["lom", "yuki", "luna", "h4"], lan=testbed_spec.lan)
    with LocalTestbed(spec) as testbed:
        assert testbed.lan_address("h4") == "10.77.0.4"
        assert testbed.host("h4").run(["ping", "-c", "1", "-W", "1", "10.77.0.1"],
                                      timeout=5).ok
