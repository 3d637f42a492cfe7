"""UDP at a fixed offered rate (default unlimited, ``-b 0``), forward direction, one link at
a time.

Forward only: a bidirectional unlimited UDP test mostly measures two senders fighting for
the CPUs of the same hosts, not the VPN.

Parameters: :class:`UdpParams`. Metrics: :class:`UdpMetrics`, read by :func:`parse_udp`.
Analysis metrics: ``udp.*``.
"""

from __future__ import annotations

from harness.parsing.iperf3 import Iperf3Error, load, require_protocol
from harness.workloads.base import WorkloadMetrics, parameter
from harness.workloads.iperf import IperfParams, LinkByLinkIperf
from harness.workloads.tcp import MBIT, mbps


class UdpParams(IperfParams):
    """Parameters of the UDP test."""

    bitrate_mbps: float = parameter(
        0.0, "Offered rate in Mbit/s (iperf3 --bitrate); 0 = unlimited.", ge=0, le=100_000)


class UdpMetrics(WorkloadMetrics):
    """Figures from one iperf3 UDP test; loss and jitter are measured by the receiver."""

    duration_s: float
    blksize_bytes: int
    sender_bps: float
    receiver_bps: float
    jitter_ms: float
    lost_packets: int
    packets: int
    lost_pct: float
    reverse_sender_bps: float | None = None
    reverse_receiver_bps: float | None = None
    reverse_jitter_ms: float | None = None
    reverse_lost_pct: float | None = None
    host_cpu_pct: float | None = None
    remote_cpu_pct: float | None = None


def parse_udp(text: str) -> UdpMetrics:
    """UDP figures; loss and jitter are the receiver's view of the forward direction."""
    document = load(text)
    require_protocol(document, "UDP")
    start, end = document.get("start", {}), document["end"]
    sent, received = end.get("sum_sent"), end.get("sum_received")
    if not sent or not received:
        raise Iperf3Error("iperf3 UDP output lacks sum_sent/sum_received")
    reverse_sent = end.get("sum_sent_bidir_reverse")
    reverse_received = end.get("sum_received_bidir_reverse")
    cpu = end.get("cpu_utilization_percent", {})
    return UdpMetrics(
        duration_s=float(sent.get("seconds", 0.0)),
        blksize_bytes=int(start.get("test_start", {}).get("blksize", 0)),
        sender_bps=float(sent["bits_per_second"]),
        receiver_bps=float(received["bits_per_second"]),
        jitter_ms=float(received.get("jitter_ms", 0.0)),
        lost_packets=int(received.get("lost_packets", 0)),
        packets=int(received.get("packets", 0)),
        lost_pct=float(received.get("lost_percent", 0.0)),
        reverse_sender_bps=float(reverse_sent["bits_per_second"]) if reverse_sent else None,
        reverse_receiver_bps=(
            float(reverse_received["bits_per_second"]) if reverse_received else None
        ),
        reverse_jitter_ms=float(reverse_received["jitter_ms"]) if reverse_received else None,
        reverse_lost_pct=float(reverse_received["lost_percent"]) if reverse_received else None,
        host_cpu_pct=cpu.get("host_total"),
        remote_cpu_pct=cpu.get("remote_total"),
    )


class UdpWorkload(LinkByLinkIperf[UdpParams, UdpMetrics]):
    name = "udp"
    #: UDP at unlimited rate can stall in setup under loss.
    minimum_timeout_s = 120.0
    params_model = UdpParams
    metrics_model = UdpMetrics

    def iperf_args(self, params: UdpParams) -> list[str]:
        bitrate = round(params.bitrate_mbps * MBIT)
        return ["--udp", "--bitrate", str(bitrate), "--udp-counters-64bit"]

    def parse(self, text: str) -> UdpMetrics:
        return parse_udp(text)

    def analysis_values(self, metrics: UdpMetrics) -> dict[str, float | None]:
        return {
            "udp.blksize_bytes": float(metrics.blksize_bytes),
            "udp.throughput_mbps": mbps(metrics.sender_bps),
            "udp.receiver_mbps": mbps(metrics.receiver_bps),
            "udp.lost_pct": metrics.lost_pct,
            "udp.jitter_ms": metrics.jitter_ms,
        }

    def summary(self, metrics: UdpMetrics) -> str:
        return (f"{metrics.receiver_bps / MBIT:.0f} Mbit/s received, "
                f"{metrics.lost_pct:.1f}% lost")
