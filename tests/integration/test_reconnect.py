"""The reconnect workload for real: a namespace host rebooted (its namespace and runtime state
made anew, its files kept), and whole reconnect cells over internal and real VPN daemons."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from harness.hosts.local import LocalMachine
from harness.records.models import Status
from harness.settings.loader import load_vpns
from harness.testbed.local.testbed import LocalTestbed
from harness.vpns.registry import create_adapter
from harness.workloads.reconnect import ReconnectMetrics
from harness.workloads.registry import metrics_as
from tests.integration.helpers import run_short

pytestmark = pytest.mark.root


def _netns_id(testbed: LocalTestbed, host: str) -> str:
    return testbed.host(host).succeed(["readlink", "/proc/self/ns/net"]).strip()


def test_reboot_renews_the_namespace_and_runtime_state_but_keeps_files(
        testbed: LocalTestbed) -> None:
    yuki = testbed.host("yuki")
    kept = yuki.state_dir / "vpn" / "identity.key"
    yuki.write_file(kept, "node id\n")
    yuki.succeed(["sh", "-c", "echo booted-once > /run/marker"])
    yuki.succeed(["ip", "tuntap", "add", "vpbtun0", "mode", "tun"])
    daemon = yuki.start(["sleep", "600"], name="daemon")
    before = _netns_id(testbed, "yuki")

    testbed.reboot("yuki", timeout_s=20)

    assert not daemon.is_running()
    assert _netns_id(testbed, "yuki") != before
    assert yuki.read_text(kept) == "node id\n"
    assert not yuki.run(["test", "-e", "/run/marker"], timeout=5).ok
    assert not yuki.run(["ip", "link", "show", "dev", "vpbtun0"], timeout=5).ok
    addresses = yuki.succeed(["ip", "-4", "-o", "addr", "show", "dev",
                              testbed.lan_interface])
    assert testbed.lan_address("yuki") in addresses
    for source in testbed.hosts:
        for target in testbed.host_names:
            if target != source.name:
                result = source.run(["ping", "-c", "1", "-W", "1",
                                     testbed.lan_address(target)], timeout=5)
                assert result.ok, result.describe()
    # The host is usable as before: processes start and stop in it.
    again = yuki.start(["sleep", "600"], name="daemon-again")
    assert again.is_running()
    again.stop()


def _positive(value: float | None) -> bool:
    return value is not None and math.isfinite(value) and value > 0


@pytest.mark.slow
@pytest.mark.parametrize("vpn", ["internal", "wireguard", "tinc"])
def test_reconnect_measures_every_phase_per_peer(vpn: str, tmp_path: Path) -> None:
    reason = create_adapter(load_vpns()[vpn]).unavailable_reason(LocalMachine())
    if reason:
        pytest.skip(f"{vpn}: {reason}")
    records, sessions, _ = run_short(tmp_path, [vpn], ["reconnect"])
    assert sessions[0].status is Status.OK, sessions[0].error
    hosts = list(sessions[0].overlay_addresses)
    assert [record.link for record in records] == ["lom->yuki", "yuki->luna", "luna->lom"]
    # Every cell after the first ran on a testbed the earlier cells had rebooted hosts of.
    for record in records:
        assert record.status is Status.OK, (record.link, record.error, record.log_tails)
        metrics = metrics_as(record, ReconnectMetrics)
        assert metrics is not None
        peers = sorted(host for host in hosts if host != record.target)
        assert metrics.host == record.target
        assert sorted(metrics.reboot_peers_s) == peers
        assert all(_positive(value) for value in metrics.reboot_peers_s.values())
        assert metrics.reboot_s == metrics.reboot_peers_s[record.source]
        assert _positive(metrics.reboot_host_s)
        if vpn == "internal":
            assert metrics.bringup_s is None and metrics.restart_s is None
            assert metrics.not_applicable and "internal" in metrics.not_applicable[0]
        else:
            assert not metrics.not_applicable
            assert _positive(metrics.bringup_s) and _positive(metrics.bringup_link_s)
            assert metrics.bringup_link_s is not None and metrics.bringup_s is not None
            assert metrics.bringup_link_s <= metrics.bringup_s
            assert sorted(metrics.restart_peers_s) == peers
            assert all(_positive(value) for value in metrics.restart_peers_s.values())
            assert metrics.restart_s == metrics.restart_peers_s[record.source]
        # The raw output names every phase's pairs, ending with the recovery of the mesh.
        assert f"reboot {record.source}->{record.target} " in record_raw(tmp_path, record.link)


def record_raw(out_dir: Path, link: str) -> str:
    raw = next(out_dir.glob(f"*/*/*/rep0/reconnect/{link.replace('->', '-')}.raw.txt"))
    text = raw.read_text()
    assert "recovery " in text
    return text

