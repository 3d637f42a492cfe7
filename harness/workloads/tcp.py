"""Single-stream TCP, bidirectional (both directions recorded), one link at a time."""

from __future__ import annotations

from collections.abc import Iterator

from harness.parsing.iperf3 import parse_tcp
from harness.records.models import TestKind
from harness.topology import Link
from harness.workloads import iperf
from harness.workloads.base import Measurement, Workload, WorkloadContext

TCP_ARGS = ["--bidir", "--zerocopy"]


class TcpWorkload(Workload):
    kind = TestKind.TCP
    binaries = ("iperf3",)

    def run(self, ctx: WorkloadContext, links: list[Link]) -> Iterator[Measurement]:
        for link in links:
            yield iperf.measure(ctx, link, TCP_ARGS, parse_tcp,
                                server_name=f"iperf3-tcp-{link.target}")
