"""Pure mapping from our typed result records to metric values (no I/O)."""

from __future__ import annotations

from analysis.importers.legacy_files import MBIT, retransmit_rate_pct
from harness.records.models import PingMetrics, ResultRecord, TcpMetrics, TestKind, UdpMetrics

TEST_NAMES: dict[TestKind, str] = {
    TestKind.TCP: "tcp",
    TestKind.PARALLEL_TCP: "parallel_tcp",
    TestKind.UDP: "udp",
    TestKind.PING: "ping",
}


def _mbps(bps: float | None) -> float | None:
    return None if bps is None else bps / MBIT


def _opt(value: int | float | None) -> float | None:
    return None if value is None else float(value)


def tcp_values(metrics: TcpMetrics) -> dict[str, float | None]:
    return {
        "tcp.throughput_mbps": _mbps(metrics.sender_bps),
        "tcp.throughput_receiver_mbps": _mbps(metrics.receiver_bps),
        "tcp.reverse_throughput_mbps": _mbps(metrics.reverse_sender_bps),
        "tcp.retransmits": _opt(metrics.retransmits),
        "tcp.retransmit_rate_pct": retransmit_rate_pct(
            _opt(metrics.retransmits), float(metrics.bytes_sent), _opt(metrics.mss_bytes)
        ),
        "tcp.mss_bytes": _opt(metrics.mss_bytes),
        "tcp.max_cwnd_bytes": _opt(metrics.max_snd_cwnd_bytes),
    }


def parallel_values(metrics: TcpMetrics) -> dict[str, float | None]:
    return {
        "parallel.throughput_mbps": _mbps(metrics.sender_bps),
        "parallel.retransmits": _opt(metrics.retransmits),
    }


def udp_values(metrics: UdpMetrics) -> dict[str, float | None]:
    return {
        "udp.blksize_bytes": float(metrics.blksize_bytes),
        "udp.throughput_mbps": _mbps(metrics.sender_bps),
        "udp.receiver_mbps": _mbps(metrics.receiver_bps),
        "udp.lost_pct": metrics.lost_pct,
        "udp.jitter_ms": metrics.jitter_ms,
    }


def ping_values(metrics: PingMetrics) -> dict[str, float | None]:
    return {
        "ping.rtt_avg_ms": metrics.rtt_avg_ms,
        "ping.rtt_min_ms": metrics.rtt_min_ms,
        "ping.rtt_max_ms": metrics.rtt_max_ms,
        "ping.jitter_ms": metrics.rtt_mdev_ms,
        "ping.loss_pct": metrics.loss_pct,
    }


def record_values(record: ResultRecord) -> dict[str, float | None]:
    """Metric values of one record; empty if it carries no metrics of its test's kind."""
    metrics = record.metrics
    if record.test is TestKind.PARALLEL_TCP and isinstance(metrics, TcpMetrics):
        return parallel_values(metrics)
    if record.test is TestKind.TCP and isinstance(metrics, TcpMetrics):
        return tcp_values(metrics)
    if record.test is TestKind.UDP and isinstance(metrics, UdpMetrics):
        return udp_values(metrics)
    if record.test is TestKind.PING and isinstance(metrics, PingMetrics):
        return ping_values(metrics)
    return {}


def sample_of(record: ResultRecord) -> str:
    """Which records are combined: a concurrent group for parallel TCP, else a repetition."""
    if record.test is TestKind.PARALLEL_TCP and record.group:
        return f"{record.run_id}/{record.group}"
    return f"{record.run_id}/rep{record.repetition}"
