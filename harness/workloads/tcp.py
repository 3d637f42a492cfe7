"""Single-stream TCP, bidirectional (both directions recorded), one link at a time.

Parameters: :class:`TcpParams`. Metrics: :class:`TcpMetrics`, read from iperf3's JSON by
:func:`parse_tcp`. Analysis metrics: ``tcp.*`` (:meth:`TcpWorkload.analysis_values`).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from harness.parsing.iperf3 import (
    Iperf3Error,
    forward_sender_streams,
    int_or_none,
    load,
    require_protocol,
)
from harness.records.models import Strict
from harness.workloads.base import WorkloadMetrics
from harness.workloads.iperf import IperfParams, LinkByLinkIperf

TCP_ARGS = ("--bidir", "--zerocopy")
MBIT = 1e6


class TcpParams(IperfParams):
    """Parameters of the single-stream TCP test."""


class TcpInterval(Strict):
    """One iperf3 reporting interval of the forward sender stream(s)."""

    start_s: float
    end_s: float
    bits_per_second: float
    retransmits: int | None = None
    snd_cwnd_bytes: int | None = None
    rtt_us: int | None = None


class TcpMetrics(WorkloadMetrics):
    """Figures from one iperf3 TCP test (``--bidir``: forward and reverse halves)."""

    duration_s: float
    sender_bps: float
    receiver_bps: float
    reverse_sender_bps: float | None = None
    reverse_receiver_bps: float | None = None
    retransmits: int | None = None
    reverse_retransmits: int | None = None
    bytes_sent: int
    bytes_received: int
    mss_bytes: int | None = None
    max_snd_cwnd_bytes: int | None = None
    max_snd_wnd_bytes: int | None = None
    mean_rtt_us: int | None = None
    congestion_control: str | None = None
    streams: int = 1
    intervals: list[TcpInterval] = Field(default_factory=list)


def _tcp_intervals(document: dict[str, Any]) -> list[TcpInterval]:
    intervals: list[TcpInterval] = []
    for interval in document.get("intervals", []):
        summary = interval.get("sum", {})
        forward = [s for s in interval.get("streams", []) if s.get("sender", True)]
        cwnds = [s["snd_cwnd"] for s in forward if "snd_cwnd" in s]
        rtts = [s["rtt"] for s in forward if "rtt" in s]
        intervals.append(
            TcpInterval(
                start_s=float(summary.get("start", 0.0)),
                end_s=float(summary.get("end", 0.0)),
                bits_per_second=float(summary.get("bits_per_second", 0.0)),
                retransmits=int_or_none(summary.get("retransmits")),
                snd_cwnd_bytes=sum(cwnds) if cwnds else None,
                rtt_us=round(sum(rtts) / len(rtts)) if rtts else None,
            )
        )
    return intervals


def parse_tcp(text: str) -> TcpMetrics:
    """TcpMetrics from iperf3 TCP JSON; Iperf3Error when it is not a complete TCP result."""
    document = load(text)
    require_protocol(document, "TCP")
    start, end = document.get("start", {}), document["end"]
    sent, received = end.get("sum_sent", {}), end.get("sum_received", {})
    if not sent or not received:
        raise Iperf3Error("iperf3 TCP output lacks sum_sent/sum_received")
    reverse_sent = end.get("sum_sent_bidir_reverse")
    reverse_received = end.get("sum_received_bidir_reverse")
    senders = forward_sender_streams(end)
    cwnds = [s["max_snd_cwnd"] for s in senders if "max_snd_cwnd" in s]
    wnds = [s["max_snd_wnd"] for s in senders if "max_snd_wnd" in s]
    rtts = [s["mean_rtt"] for s in senders if "mean_rtt" in s]
    return TcpMetrics(
        duration_s=float(sent.get("seconds", 0.0)),
        sender_bps=float(sent["bits_per_second"]),
        receiver_bps=float(received["bits_per_second"]),
        reverse_sender_bps=float(reverse_sent["bits_per_second"]) if reverse_sent else None,
        reverse_receiver_bps=(
            float(reverse_received["bits_per_second"]) if reverse_received else None
        ),
        retransmits=int_or_none(sent.get("retransmits")),
        reverse_retransmits=int_or_none(reverse_sent.get("retransmits")) if reverse_sent else None,
        bytes_sent=int(sent.get("bytes", 0)),
        bytes_received=int(received.get("bytes", 0)),
        mss_bytes=int_or_none(start.get("tcp_mss_default")),
        max_snd_cwnd_bytes=max(cwnds) if cwnds else None,
        max_snd_wnd_bytes=max(wnds) if wnds else None,
        mean_rtt_us=round(sum(rtts) / len(rtts)) if rtts else None,
        congestion_control=end.get("sender_tcp_congestion"),
        streams=int(start.get("test_start", {}).get("num_streams", max(len(senders), 1))),
        intervals=_tcp_intervals(document),
    )


def mbps(bps: float | None) -> float | None:
    return None if bps is None else bps / MBIT


def optional(value: int | float | None) -> float | None:
    return None if value is None else float(value)


def retransmit_rate_pct(retransmits: float | None, sent_bytes: float | None,
                        mss: float | None) -> float | None:
    """100 × retransmits / estimated segments; None when any input is unusable."""
    if retransmits is None or sent_bytes is None or mss is None or mss <= 0 or sent_bytes <= 0:
        return None
    return 100.0 * retransmits / (sent_bytes / mss)


def tcp_summary(metrics: TcpMetrics) -> str:
    return f"{metrics.sender_bps / MBIT:.0f} Mbit/s"


class TcpWorkload(LinkByLinkIperf[TcpParams, TcpMetrics]):
    name = "tcp"
    params_model = TcpParams
    metrics_model = TcpMetrics

    def iperf_args(self, params: TcpParams) -> list[str]:
        return list(TCP_ARGS)

    def parse(self, text: str) -> TcpMetrics:
        return parse_tcp(text)

    def analysis_values(self, metrics: TcpMetrics) -> dict[str, float | None]:
        return {
            "tcp.throughput_mbps": mbps(metrics.sender_bps),
            "tcp.throughput_receiver_mbps": mbps(metrics.receiver_bps),
            "tcp.reverse_throughput_mbps": mbps(metrics.reverse_sender_bps),
            "tcp.retransmits": optional(metrics.retransmits),
            "tcp.retransmit_rate_pct": retransmit_rate_pct(
                optional(metrics.retransmits), float(metrics.bytes_sent),
                optional(metrics.mss_bytes)),
            "tcp.mss_bytes": optional(metrics.mss_bytes),
            "tcp.max_cwnd_bytes": optional(metrics.max_snd_cwnd_bytes),
        }

    def summary(self, metrics: TcpMetrics) -> str:
        return tcp_summary(metrics)
