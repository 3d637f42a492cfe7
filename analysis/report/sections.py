"""What the report says, section by section: figures, tables and how to read them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from analysis.catalogue import ALL
from analysis.ordering import vpn_order
from analysis.report.tables import (
    Table,
    failure_reasons,
    failure_table,
    latency_table,
    profile_pivot,
    time_table,
)

TableMaker = Callable[[pl.DataFrame, pl.DataFrame], Table | None]
"""(metrics, outcomes) → table, or None when the data has nothing for it."""


@dataclass(frozen=True)
class Section:
    """One report section. ``howto`` names no VPN: ``{reference}`` is filled with the
    reference as the data spells it, and facts about particular VPNs come from the data
    through ``data_note``."""

    anchor: str
    title: str
    howto: str
    figures: tuple[str, ...]
    tables: tuple[tuple[str, TableMaker], ...] = ()
    data_note: Callable[[pl.DataFrame], str] | None = None


LARGE_MSS_BYTES = 1460.0
"""Above the MSS of a 1500-byte Ethernet path: the tunnel advertises a jumbo MSS."""


def large_mss_note(metrics: pl.DataFrame) -> str:
    """Which VPNs of *this* data advertise an MSS above Ethernet's (their retransmit rate
    reads low, since it divides by bytes / MSS)."""
    rows = metrics.filter(pl.col("metric") == "tcp.mss_bytes", pl.col("link") == ALL,
                          pl.col("vpn") != ALL, pl.col("value") > LARGE_MSS_BYTES)
    names = vpn_order(rows["vpn"].unique().to_list())
    if not names:
        return ""
    return f"In this data the MSS is above {LARGE_MSS_BYTES:.0f} bytes for: {', '.join(names)}."


def _pivot(metric: str, test: str) -> TableMaker:
    return lambda metrics, _outcomes: profile_pivot(metrics, metric, test)


SECTIONS: tuple[Section, ...] = (
    Section(
        "tcp", "TCP throughput",
        "One single-stream iperf3 test per directed link (source sends). {reference} is "
        "the most a VPN could reach on this network. "
        "Retransmit rate divides retransmitted segments by bytes/MSS, so VPNs with a huge "
        "MSS look better than they are.",
        ("tcp_throughput", "tcp_retransmit_rate", "tcp_max_cwnd", "tcp_retransmit_vs_cwnd"),
        (
            ("TCP throughput, Mbit/s (mean over links; n = links × repetitions)",
             _pivot("tcp.throughput_mbps", "tcp")),
            ("TCP throughput, % of {reference}'s", _pivot("tcp.throughput_pct_internal", "tcp")),
            ("TCP retransmit rate, %", _pivot("tcp.retransmit_rate_pct", "tcp")),
        ),
        large_mss_note,
    ),
    Section(
        "latency", "Latency",
        "Ping round-trip times over the overlay. Jitter is ping's mdev. The spike ratio is max "
        "RTT / average RTT: 1 means steady, large values mean occasional long stalls. In the "
        "scatter, the best VPNs sit top left (low latency, high throughput).",
        ("latency", "latency_vs_throughput"),
        (("Latency per profile (link=all aggregates)", lambda m, _o: latency_table(m)),),
    ),
    Section(
        "parallel", "Parallel TCP",
        "All ring links send at the same time. The total is the sum over links; the scaling "
        "factor divides it by single-stream throughput. With three links a factor near 3 "
        "means the VPN scales; near 1 means a shared bottleneck (CPU, NIC or the VPN itself). "
        "n counts the link results summed, so n < links means a pair failed.",
        ("parallel_throughput", "parallel_scaling"),
        (("Parallel TCP total, Mbit/s", _pivot("parallel.throughput_mbps", "parallel_tcp")),
         ("Scaling factor", _pivot("parallel.scaling_factor", "parallel_tcp"))),
    ),
    Section(
        "udp", "UDP",
        "UDP at unlimited offered rate: what arrives, what is lost and the payload size iperf3 "
        "chose from the tunnel MSS. High loss at full rate is expected; compare VPNs with each "
        "other, not with zero.",
        ("udp",),
        (("UDP received throughput, Mbit/s", _pivot("udp.receiver_mbps", "udp")),
         ("UDP loss, %", _pivot("udp.lost_pct", "udp"))),
    ),
    Section(
        "quic", "QUIC",
        "QUIC handshake time and time to first byte (lower is better), and QUIC throughput.",
        ("quic",),
        (("QUIC handshake, ms (median of a link's short connections)",
          _pivot("quic.handshake_ms", "quic")),
         ("QUIC time to first byte, ms", _pivot("quic.ttfb_ms", "quic")),
         ("QUIC bulk throughput, Mbit/s", _pivot("quic.throughput_mbps", "quic"))),
    ),
    Section(
        "nix_cache", "Nix binary cache",
        "Time to fetch the same Nix closure from the peer's binary cache over the VPN: a "
        "realistic many-files HTTP workload. Lower is better.",
        ("nix_cache",),
        (("Nix cache download time, s", _pivot("nix_cache.time_s", "nix_cache")),),
    ),
    Section(
        "rist", "RIST video stream",
        "A live video stream over RIST. Quality is librist's receiver figure: the share of "
        "packets that arrived without needing a retransmission (100 = none went missing).",
        ("rist_quality",),
        (("RIST quality, %", _pivot("rist.quality_pct", "rist")),),
    ),
    Section(
        "reconnect", "Reconnection",
        "How long until the overlay carries traffic again: after a reboot and after the first "
        "deployment (per node, seconds until the node reached a peer), after a VPN restart, "
        "and at bring-up. Lower is better. {reference} has no VPN, so its bars show how long "
        "the network and the check itself take.",
        ("reconnect_per_node", "reconnect_restart", "reconnect_bringup"),
        (("Reconnection after VPN restart, s", _pivot("reconnect.restart_s", "reconnect")),),
    ),
    Section(
        "degradation", "Degradation across profiles",
        "Each metric from the baseline to the harshest impairment. Lines that fall faster "
        "than {reference}'s show a VPN that copes worse with delay, jitter and loss than plain IP.",
        ("degradation",),
    ),
    Section(
        "time", "Where the time went",
        "Wall time of the run, split by phase and summed over every profile: benchmark "
        "(tests), install/deploy, impairment setup, VPN restarts and waiting for tunnels.",
        ("time_breakdown",),
        (("Time per VPN (all profiles)", lambda m, _o: time_table(m)),),
    ),
    Section(
        "run", "Success rate and failures",
        "An attempt is one test on one directed link in one repetition (for our records also "
        "one VPN bring-up). The success rate is attempts ok / attempts. Failed attempts "
        "never enter any mean; they are listed below with the reason the tool gave.",
        ("success_rate",),
        (
            ("Success rate, % (all tests)", _pivot("run.success_rate_pct", "all")),
            ("Failures by reason", lambda _m, o: failure_reasons(o)),
            ("Every failed attempt", lambda _m, o: failure_table(o)),
        ),
    ),
)
