"""The quic workload for real: vpb-quic server and client in the testbed's namespaces, over
the bare LAN and over WireGuard, with short settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.hosts.local import LocalMachine
from harness.records.models import Status
from harness.settings.loader import load_vpns
from harness.vpns.registry import create_adapter
from harness.workloads.quic import QuicMetrics, QuicWorkload
from harness.workloads.registry import metrics_as
from tests.integration.helpers import run_short

pytestmark = [pytest.mark.root, pytest.mark.slow]


@pytest.mark.parametrize("vpn", ["internal", "wireguard"])
def test_quic_measures_handshakes_and_bulk_over_the_link(vpn: str, tmp_path: Path) -> None:
    machine = LocalMachine()
    reason = (QuicWorkload().unavailable_reason(machine)
              or create_adapter(load_vpns()[vpn]).unavailable_reason(machine))
    if reason:
        pytest.skip(f"{vpn}: {reason}")
    records, sessions, _ = run_short(tmp_path, [vpn], ["quic"])
    assert sessions[0].status is Status.OK, sessions[0].error
    assert len(records) == 3
    for record in records:
        assert record.status is Status.OK, (record.link, record.error, record.log_tails)
        metrics = metrics_as(record, QuicMetrics)
        assert metrics is not None
        assert sessions[0].overlay_addresses[record.target] in record.command
        assert len(metrics.handshake_samples_ms) == 5
        assert all(h > 0 for h in metrics.handshake_samples_ms)
        assert all(t >= h for h, t in zip(metrics.handshake_samples_ms,
                                          metrics.ttfb_samples_ms, strict=True))
        assert metrics.bulk_received_bytes > 0
        assert metrics.bulk_received_bytes == metrics.bulk_sent_bytes
        assert metrics.throughput_mbps > 0
