"""The metric contract: column names, metric names, units and how each is aggregated.

Other tools read ``metrics.csv`` by these names, so changing one is a breaking change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

METRIC_COLUMNS: tuple[str, ...] = (
    "vpn",
    "profile",
    "test",
    "metric",
    "link",
    "value",
    "unit",
    "n",
    "mean",
    "min",
    "max",
    "median",
    "q1",
    "q3",
    "stddev",
    "ci_low",
    "ci_high",
    "ci_method",
)
KEY_COLUMNS: tuple[str, ...] = ("vpn", "profile", "test", "metric")
SPREAD_COLUMNS: tuple[str, ...] = ("mean", "min", "max", "median", "q1", "q3", "stddev")

ALL = "all"
"""Value of ``link``, ``profile``, ``vpn`` or ``test`` for a row that covers every member."""

Aggregation = Literal["mean", "sum", "derived"]


@dataclass(frozen=True)
class MetricSpec:
    """How one metric is named, measured and combined across links."""

    name: str
    test: str
    unit: str
    aggregation: Aggregation
    description: str


def _spec(name: str, test: str, unit: str, aggregation: Aggregation, text: str) -> MetricSpec:
    return MetricSpec(name, test, unit, aggregation, text)


_SPECS: tuple[MetricSpec, ...] = (
    _spec("tcp.throughput_mbps", "tcp", "Mbit/s", "mean",
          "iperf3 forward sender throughput (end.sum_sent.bits_per_second / 1e6)"),
    _spec("tcp.throughput_receiver_mbps", "tcp", "Mbit/s", "mean",
          "iperf3 forward receiver throughput (end.sum_received)"),
    _spec("tcp.reverse_throughput_mbps", "tcp", "Mbit/s", "mean",
          "sender throughput of the reverse half of the bidirectional test"),
    _spec("tcp.throughput_pct_internal", "tcp", "%", "derived",
          "100 × tcp.throughput_mbps / Internal's, same profile and link"),
    _spec("tcp.retransmits", "tcp", "count", "mean", "end.sum_sent.retransmits"),
    _spec("tcp.retransmit_rate_pct", "tcp", "%", "mean",
          "100 × retransmits / (bytes sent / MSS), per link, then mean"),
    _spec("tcp.mss_bytes", "tcp", "bytes", "mean", "start.tcp_mss_default"),
    _spec("tcp.max_cwnd_bytes", "tcp", "bytes", "mean",
          "max max_snd_cwnd over the forward sender streams, per link, then mean"),
    _spec("ping.rtt_avg_ms", "ping", "ms", "mean", "ping average round-trip time"),
    _spec("ping.rtt_min_ms", "ping", "ms", "mean", "ping minimum round-trip time"),
    _spec("ping.rtt_max_ms", "ping", "ms", "mean", "ping maximum round-trip time"),
    _spec("ping.jitter_ms", "ping", "ms", "mean", "ping mdev of the round-trip times"),
    _spec("ping.loss_pct", "ping", "%", "mean", "ping packet loss"),
    _spec("ping.spike_ratio", "ping", "ratio", "derived",
          "ping.rtt_max_ms / ping.rtt_avg_ms (for link=all the ratio of the aggregates)"),
    _spec("parallel.throughput_mbps", "parallel_tcp", "Mbit/s", "sum",
          "sum over the concurrently measured links of forward sender throughput"),
    _spec("parallel.retransmits", "parallel_tcp", "count", "sum",
          "sum over the concurrently measured links of sender retransmits"),
    _spec("parallel.scaling_factor", "parallel_tcp", "ratio", "derived",
          "parallel.throughput_mbps / single-stream tcp.throughput_mbps (both link=all)"),
    _spec("udp.blksize_bytes", "udp", "bytes", "mean", "UDP payload size (test_start.blksize)"),
    _spec("udp.throughput_mbps", "udp", "Mbit/s", "mean", "UDP forward sender throughput"),
    _spec("udp.receiver_mbps", "udp", "Mbit/s", "mean", "UDP forward receiver throughput"),
    _spec("udp.lost_pct", "udp", "%", "mean", "UDP datagrams lost, seen by the receiver"),
    _spec("udp.jitter_ms", "udp", "ms", "mean", "UDP receiver inter-arrival jitter"),
    _spec("quic.handshake_ms", "quic", "ms", "mean", "QUIC connection establishment time"),
    _spec("quic.ttfb_ms", "quic", "ms", "mean", "QUIC time to first byte"),
    _spec("quic.throughput_mbps", "quic", "Mbit/s", "mean", "QUIC bulk throughput"),
    _spec("quic.handshake_max_ms", "quic", "ms", "mean",
          "slowest QUIC handshake of a link's short connections (vpb-quic)"),
    _spec("quic.ttfb_max_ms", "quic", "ms", "mean",
          "slowest QUIC time to first byte of a link's short connections (vpb-quic)"),
    _spec("nix_cache.time_s", "nix_cache", "s", "mean",
          "time to copy the closure from the peer's binary cache (mean of timed runs)"),
    _spec("nix_cache.throughput_mbps", "nix_cache", "Mbit/s", "mean",
          "closure NAR bytes over the mean copy time (Nix client, peer's binary cache)"),
    _spec("rist.quality_pct", "rist", "%", "mean",
          "librist receiver quality, 100 × received / (received + missing) per interval "
          "(arrived without retransmission), mean over the intervals that carried data"),
    _spec("rist.packets_lost", "rist", "packets/s", "mean",
          "RIST packets lost per second at the receiver"),
    _spec("rist.packets_recovered", "rist", "packets/s", "mean",
          "RIST packets recovered by retransmission per second"),
    _spec("rist.frames_decoded_pct", "rist", "%", "mean",
          "share of sent video frames decoded by the receiver"),
    _spec("rist.frames_clean_pct", "rist", "%", "mean",
          "share of sent video frames decoded by the receiver without concealed errors"),
    _spec("rist.packets_lost_total", "rist", "count", "mean",
          "RIST packets lost after retransmission over the stream, per link"),
    _spec("rist.packets_recovered_total", "rist", "count", "mean",
          "RIST packets recovered by retransmission over the stream, per link"),
    _spec("rist.retransmit_requests", "rist", "count", "mean",
          "retransmissions the RIST receiver requested over the stream, per link"),
    _spec("rist.bitrate_mbps", "rist", "Mbit/s", "mean",
          "RIST receiver bitrate (librist's per-interval figure, mean over the stream)"),
    _spec("rist.encoder_speed", "rist", "ratio", "mean",
          "sender's encoding speed relative to real time (below 0.95: fell behind)"),
    _spec("reconnect.reboot_s", "reconnect", "s", "mean",
          "seconds from boot until the node reaches a peer over the VPN; link = node "
          "(legacy) or peer->rebooted node (reconnect test)"),
    _spec("reconnect.restart_s", "reconnect", "s", "mean",
          "seconds from a VPN restart until the overlay is reachable again"),
    _spec("reconnect.bringup_s", "reconnect", "s", "mean",
          "seconds from starting the VPN until the overlay is reachable (link all: the "
          "session's readiness wait and each reconnect cell's bring-up of every host)"),
    _spec("reconnect.restart_all_s", "reconnect", "s", "mean",
          "seconds from a VPN restart on the link's target until every peer reaches it"),
    _spec("reconnect.reboot_all_s", "reconnect", "s", "mean",
          "seconds from starting the VPN on the rebooted target until every peer reaches it"),
    _spec("reconnect.reboot_host_s", "reconnect", "s", "mean",
          "seconds the reboot itself took until the host was back on the LAN"),
    _spec("run.success_rate_pct", ALL, "%", "derived",
          "100 × attempts ok / attempts (attempt = one test on one link in one repetition)"),
    _spec("run.failures", ALL, "count", "derived", "attempts that did not succeed"),
    _spec("host.busy_pct", ALL, "%", "derived",
          "100 × the VPN/profile's test cells (test × link × repetition) measured on a host "
          "flagged busy (record contention.busy) / its cells where contention was measured; "
          "no row when none was"),
)

METRICS: dict[str, MetricSpec] = {spec.name: spec for spec in _SPECS}

TIME_METRIC = re.compile(r"^time\.(?P<phase>[a-z0-9_]+)_(?P<kind>s|pct)$")
"""``time.<phase>_s`` and ``time.<phase>_pct``: phase names come from the input."""


def time_metric(phase: str, kind: Literal["s", "pct"]) -> str:
    return f"time.{phase}_{kind}"


def phase_name(raw: str) -> str:
    """Normalise a phase label into the ``[a-z0-9_]`` alphabet used in metric names."""
    cleaned = re.sub(r"[^a-z0-9]+", "_", raw.strip().lower()).strip("_")
    return cleaned or "unnamed"


def spec_for(metric: str) -> MetricSpec:
    """The spec of ``metric``, including the dynamic ``time.*`` family."""
    if metric in METRICS:
        return METRICS[metric]
    match = TIME_METRIC.match(metric)
    if match is not None:
        unit = "s" if match["kind"] == "s" else "%"
        return MetricSpec(metric, ALL, unit, "derived", f"time in phase {match['phase']}")
    raise KeyError(f"unknown metric {metric!r}")


def is_known_metric(metric: str) -> bool:
    return metric in METRICS or TIME_METRIC.match(metric) is not None
