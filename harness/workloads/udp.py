"""UDP at unlimited offered rate (``-b 0``), forward direction, one link at a time.

Forward only: a bidirectional unlimited UDP test mostly measures two senders fighting for
the CPUs of the same hosts, not the VPN.
"""

from __future__ import annotations

from collections.abc import Iterator

from harness.parsing.iperf3 import parse_udp
from harness.records.models import TestKind
from harness.topology import Link
from harness.workloads import iperf
from harness.workloads.base import Measurement, Workload, WorkloadContext

UDP_ARGS = ["--udp", "--bitrate", "0", "--udp-counters-64bit"]


class UdpWorkload(Workload):
    kind = TestKind.UDP
    binaries = ("iperf3",)

    def run(self, ctx: WorkloadContext, links: list[Link]) -> Iterator[Measurement]:
        for link in links:
            yield iperf.measure(ctx, link, UDP_ARGS, parse_udp,
                                server_name=f"iperf3-udp-{link.target}")
