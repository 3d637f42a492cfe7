"""Each VPN runnable here: real daemons, traffic over the overlay, records ok."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.hosts.local import LocalMachine
from harness.records.models import Status
from harness.settings.loader import load_vpns
from harness.vpns.registry import REFERENCE, VPNS, create_adapter
from harness.workloads.registry import metrics_as
from harness.workloads.tcp import TcpMetrics
from tests.integration.helpers import run_short

pytestmark = [pytest.mark.root, pytest.mark.slow]

LOCAL_VPNS = [name for name in VPNS if name != REFERENCE.name]


@pytest.mark.parametrize("vpn", LOCAL_VPNS)
def test_vpn_carries_tcp_and_ping_over_its_overlay(vpn: str, tmp_path: Path) -> None:
    reason = create_adapter(load_vpns()[vpn]).unavailable_reason(LocalMachine())
    if reason:
        pytest.skip(f"{vpn}: {reason}")
    records, sessions, _ = run_short(tmp_path, [vpn], ["tcp", "ping"])
    session = sessions[0]
    assert session.status is Status.OK, session.error
    assert session.ready_after_s is not None
    lan = {f"10.77.0.{i}" for i in (1, 2, 3)}
    if load_vpns()[vpn].addressing.mode != "underlay":
        assert not set(session.overlay_addresses.values()) & lan, "must target overlay addresses"
    assert all(r.status is Status.OK for r in records), [(r.link, r.error) for r in records]
    for record in records:
        assert any(session.overlay_addresses[record.target] in part for part in record.command)
        metrics = metrics_as(record, TcpMetrics)
        if metrics is not None:
            assert metrics.sender_bps > 1e6
        assert record.cpu is not None
        if record.cpu.duration_s > record.cpu.interval_s:  # per-second samples while it ran
            assert record.cpu.samples
        busy = [100 - times.idle_pct for times in record.cpu.hosts.values()]
        assert busy and all(0 <= b <= 100 for b in busy)
        if record.cpu.processes:  # userspace daemons: their CPU and peak memory
            assert all(p.max_rss_bytes and p.max_rss_bytes > 1 << 20
                       for p in record.cpu.processes)
