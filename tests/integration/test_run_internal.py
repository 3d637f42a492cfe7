"""A real run of the reference (no VPN): every test, every link, records on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.records.models import Status
from harness.records.store import RunStore
from harness.workloads.ping import PingMetrics
from harness.workloads.registry import metrics_of
from harness.workloads.tcp import TcpMetrics
from harness.workloads.udp import UdpMetrics
from tests.integration.helpers import run_short, short_parameters

pytestmark = pytest.mark.root

#: The iperf3 and ping workloads; each further workload has its own integration test.
BASE_TESTS = ["parallel_tcp", "tcp", "udp", "ping"]


def test_internal_run_writes_ok_records_for_every_cell(tmp_path: Path) -> None:
    records, sessions, run_dir = run_short(tmp_path, ["internal"], BASE_TESTS)
    assert [s.status for s in sessions] == [Status.OK]
    assert sessions[0].overlay_addresses == {"lom": "10.77.0.1", "yuki": "10.77.0.2",
                                             "luna": "10.77.0.3"}
    cells = {(r.test, r.link) for r in records}
    links = {"lom->yuki", "yuki->luna", "luna->lom"}
    assert cells == {(test, link) for test in BASE_TESTS for link in links}
    assert all(r.status is Status.OK for r in records), [r.error for r in records]

    for record in records:
        assert record.raw_output is not None
        raw = run_dir / "internal" / "baseline" / "rep0" / record.test / record.raw_output
        assert raw.stat().st_size > 0
        metrics = metrics_of(record)
        assert record.parameters == short_parameters()[record.test].model_dump(mode="json")
        if record.test in ("tcp", "parallel_tcp"):
            assert isinstance(metrics, TcpMetrics)
            assert metrics.sender_bps > 1e6 and metrics.reverse_sender_bps
            assert metrics.mss_bytes == 1448
            assert metrics.intervals
        elif record.test == "udp":
            assert isinstance(metrics, UdpMetrics)
            assert metrics.receiver_bps > 1e6 and metrics.blksize_bytes > 0
        else:
            assert isinstance(metrics, PingMetrics)
            assert metrics.received == 5 and len(metrics.samples_ms) == 5

    parallel = [r for r in records if r.test == "parallel_tcp"]
    assert len({r.group for r in parallel}) == 1 and parallel[0].concurrent_links == 3
    overlap = max(r.started_at for r in parallel) < min(r.ended_at for r in parallel)
    assert overlap, "parallel links must run at the same time"

    manifest = RunStore.open_existing(run_dir).manifest
    assert manifest.complete and len(manifest.records) == 3 * len(BASE_TESTS)
    phases = {p.phase for p in manifest.phases}
    assert {"setup", "deploy", "tunnel_wait", "benchmark", "teardown"} <= phases
    assert manifest.metadata["kernel"]
