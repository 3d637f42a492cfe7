"""Single-stream TCP, bidirectional (both directions recorded), one link at a time."""

from __future__ import annotations

from harness.parsing.iperf3 import parse_tcp
from harness.records.models import TcpMetrics, TestKind
from harness.workloads.iperf import LinkByLinkIperf

TCP_ARGS = ("--bidir", "--zerocopy")


class TcpWorkload(LinkByLinkIperf):
    kind = TestKind.TCP
    iperf_args = TCP_ARGS

    def parse(self, text: str) -> TcpMetrics:
        return parse_tcp(text)
