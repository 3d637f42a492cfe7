"""The "extra" VPNs through the real harness: real daemons in namespaces, TCP and ping over
the overlay, records ok. Each test skips with the adapter's own reason where its binaries are
missing (EasyTier needs only ``pip install 'vpn-bench[easytier]'``)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from harness.hosts.local import LocalMachine
from harness.records.models import Status
from harness.settings.loader import load_testbed, load_vpns
from harness.testbed.local.testbed import LocalTestbed, LocalTestbedSpec
from harness.vpns.base import VpnAdapter, VpnContext
from harness.vpns.registry import ADAPTERS, create_adapter
from harness.vpns.vpncloud import ADDRESS_LOOKUP_TARGET
from harness.workloads.registry import metrics_as
from harness.workloads.tcp import TcpMetrics
from tests.integration.helpers import run_short

pytestmark = [pytest.mark.root, pytest.mark.slow]

#: VPN -> the network its overlay addresses must come from.
OVERLAY_NETWORKS = {
    "headscale": "100.64.0.0/10",
    "vpncloud": "10.47.0.0/24",
    "easytier": "10.48.0.0/24",
    "zerotier": "10.49.0.0/24",
    "mycelium": "400::/7",
    "hyprspace": "100.64.0.0/16",
}


def adapter_or_skip(vpn: str) -> VpnAdapter:
    adapter = create_adapter(load_vpns()[vpn])
    reason = adapter.unavailable_reason(LocalMachine())
    if reason:
        pytest.skip(f"{vpn}: {reason}")
    return adapter


def test_the_extra_vpns_are_registered() -> None:
    assert set(OVERLAY_NETWORKS) <= set(ADAPTERS)


@pytest.mark.parametrize("vpn", sorted(OVERLAY_NETWORKS))
def test_extra_vpn_carries_tcp_and_ping_over_its_overlay(vpn: str, tmp_path: Path) -> None:
    adapter_or_skip(vpn)
    records, sessions, _ = run_short(tmp_path, [vpn], ["tcp", "ping"])
    session = sessions[0]
    assert session.status is Status.OK, (session.error, session.log_tails)
    assert session.ready_after_s is not None
    network = ipaddress.ip_network(OVERLAY_NETWORKS[vpn])
    addresses = session.overlay_addresses
    assert set(addresses) == {"lom", "yuki", "luna"}
    assert len(set(addresses.values())) == 3
    assert all(ipaddress.ip_address(a) in network for a in addresses.values()), addresses
    assert records and all(r.status is Status.OK for r in records), [
        (r.source, r.target, r.error) for r in records]
    assert {r.test for r in records} == {"tcp", "ping"}
    for record in records:
        assert any(addresses[record.target] in part for part in record.command)
        metrics = metrics_as(record, TcpMetrics)
        if metrics is not None:
            assert metrics.sender_bps > 1e6
    print(f"\n{vpn}: ready after {session.ready_after_s:.2f}s, version {session.vpn_version}, "
          f"details {session.details}, TCP Mbit/s "
          + ", ".join(f"{r.source}->{r.target} {m.sender_bps / 1e6:.0f}"
                      for r in records if (m := metrics_as(r, TcpMetrics)) is not None))


def test_vpncloud_lookup_route_is_loopback_only_and_removed_at_teardown() -> None:
    adapter = adapter_or_skip("vpncloud")
    settings = load_testbed()
    with LocalTestbed(LocalTestbedSpec(hosts=settings.hosts, lan=settings.lan)) as testbed:
        ctx = VpnContext(testbed, adapter.settings)
        try:
            adapter.deploy(ctx)
            for host in testbed.hosts:
                route = host.succeed(["ip", "-o", "route", "show", ADDRESS_LOOKUP_TARGET])
                assert "dev lo" in route and testbed.lan_address(host.name) in route, route
                assert not host.run(["ip", "route", "show", "default"], timeout=5).stdout
        finally:
            adapter.teardown(ctx)
        for host in testbed.hosts:
            assert not host.succeed(["ip", "route", "show", ADDRESS_LOOKUP_TARGET]).strip()
            assert not host.run(["ip", "link", "show", "vpncloud0"], timeout=5).ok
