"""Turn iperf3's ``--json`` output into typed metrics. iperf3's JSON is the source of truth.

iperf3 (3.12 at least) exits 0 even when it reports ``"error"`` in its JSON, so every parse
checks that key first.
"""

from __future__ import annotations

import json
from typing import Any

from harness.records.models import TcpInterval, TcpMetrics, UdpMetrics


class Iperf3Error(ValueError):
    """iperf3 reported an error, or its output is not a complete test result."""


def load(text: str) -> dict[str, Any]:
    """The JSON document, or Iperf3Error carrying iperf3's own error message."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        snippet = text.strip()[:200] or "<empty output>"
        raise Iperf3Error(f"iperf3 output is not JSON ({error.msg}): {snippet}") from None
    if not isinstance(document, dict):
        raise Iperf3Error("iperf3 output is not a JSON object")
    if document.get("error"):
        raise Iperf3Error(f"iperf3: {document['error']}")
    end = document.get("end")
    if not isinstance(end, dict) or ("sum_sent" not in end and "sum" not in end):
        raise Iperf3Error("iperf3 output has no end summary (test did not complete)")
    return document


def _require_protocol(document: dict[str, Any], protocol: str) -> None:
    found = document.get("start", {}).get("test_start", {}).get("protocol")
    if found is not None and found != protocol:
        raise Iperf3Error(f"expected an iperf3 {protocol} result, got {found}")


def _int_or_none(value: object) -> int | None:
    return int(value) if isinstance(value, int | float) else None


def _forward_sender_streams(end: dict[str, Any]) -> list[dict[str, Any]]:
    """Sender-side summaries of the streams this client sent (``sender: true``)."""
    return [
        stream["sender"]
        for stream in end.get("streams", [])
        if isinstance(stream.get("sender"), dict) and stream["sender"].get("sender", True)
    ]


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
                retransmits=_int_or_none(summary.get("retransmits")),
                snd_cwnd_bytes=sum(cwnds) if cwnds else None,
                rtt_us=round(sum(rtts) / len(rtts)) if rtts else None,
            )
        )
    return intervals


def parse_tcp(text: str) -> TcpMetrics:
    document = load(text)
    _require_protocol(document, "TCP")
    start, end = document.get("start", {}), document["end"]
    sent, received = end.get("sum_sent", {}), end.get("sum_received", {})
    if not sent or not received:
        raise Iperf3Error("iperf3 TCP output lacks sum_sent/sum_received")
    reverse_sent = end.get("sum_sent_bidir_reverse")
    reverse_received = end.get("sum_received_bidir_reverse")
    senders = _forward_sender_streams(end)
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
        retransmits=_int_or_none(sent.get("retransmits")),
        reverse_retransmits=_int_or_none(reverse_sent.get("retransmits")) if reverse_sent else None,
        bytes_sent=int(sent.get("bytes", 0)),
        bytes_received=int(received.get("bytes", 0)),
        mss_bytes=_int_or_none(start.get("tcp_mss_default")),
        max_snd_cwnd_bytes=max(cwnds) if cwnds else None,
        max_snd_wnd_bytes=max(wnds) if wnds else None,
        mean_rtt_us=round(sum(rtts) / len(rtts)) if rtts else None,
        congestion_control=end.get("sender_tcp_congestion"),
        streams=int(start.get("test_start", {}).get("num_streams", max(len(senders), 1))),
        intervals=_tcp_intervals(document),
    )


def parse_udp(text: str) -> UdpMetrics:
    """UDP figures; loss and jitter are the receiver's view of the forward direction."""
    document = load(text)
    _require_protocol(document, "UDP")
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
