"""UDP at unlimited offered rate (``-b 0``), forward direction, one link at a time.

Forward only: a bidirectional unlimited UDP test mostly measures two senders fighting for
the CPUs of the same hosts, not the VPN.
"""

from __future__ import annotations

from harness.parsing.iperf3 import parse_udp
from harness.records.models import TestKind, UdpMetrics
from harness.workloads.iperf import LinkByLinkIperf


class UdpWorkload(LinkByLinkIperf):
    kind = TestKind.UDP
    iperf_args = ("--udp", "--bitrate", "0", "--udp-counters-64bit")

    def parse(self, text: str) -> UdpMetrics:
        return parse_udp(text)
