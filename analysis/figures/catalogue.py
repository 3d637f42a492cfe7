# mypy: disable-error-code="no-untyped-call"
# (plotnine leaves aes() and theme() unannotated.)
"""Every figure of the report: its file name, section, caption and how it is drawn."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import plotnine as p9
import polars as pl

from analysis.catalogue import ALL, TIME_METRIC
from analysis.figures.builders import (
    FigureContext,
    bar_by_vpn,
    grid_by_metric,
    per_node,
    range_by_vpn,
    scatter,
    spread_by_vpn,
)
from analysis.figures.style import REFERENCE_COLOUR, theme, to_plot_frame
from analysis.ordering import is_reference, profile_order


@dataclass(frozen=True)
class FigureSpec:
    name: str
    section: str
    caption: str
    build: Callable[[FigureContext], p9.ggplot | None]
    width: float = 10.0
    height: float = 6.5


DEGRADATION_PANELS: dict[str, str] = {
    "tcp.throughput_mbps": "TCP Mbit/s",
    "tcp.throughput_pct_internal": "TCP % of Internal",
    "tcp.retransmit_rate_pct": "TCP retransmit %",
    "parallel.throughput_mbps": "parallel TCP Mbit/s",
    "ping.rtt_avg_ms": "RTT avg ms",
    "ping.jitter_ms": "ping jitter ms",
    "ping.loss_pct": "ping loss %",
    "udp.receiver_mbps": "UDP received Mbit/s",
    "quic.throughput_mbps": "QUIC Mbit/s",
    "nix_cache.time_s": "Nix cache s",
    "rist.quality_pct": "RIST quality %",
}


def degradation(ctx: FigureContext) -> p9.ggplot | None:
    """Each metric across profiles, one line per VPN; the reference dashed and thicker."""
    parts = [ctx.rows(m).with_columns(pl.lit(label).alias("panel"))
             for m, label in DEGRADATION_PANELS.items()]
    rows = pl.concat([p for p in parts if not p.is_empty()] or [parts[0]])
    if rows.is_empty() or rows["profile"].n_unique() < 2:
        return None
    rows = rows.with_columns(
        pl.col("vpn").map_elements(lambda v: "reference" if is_reference(v) else "vpn",
                                   return_dtype=pl.String).alias("role")
    )
    present = [label for label in DEGRADATION_PANELS.values() if label in set(rows["panel"])]
    plot: p9.ggplot = (
        p9.ggplot(ctx.frame(rows, panel=present),
                  p9.aes(x="profile", y="value", color="vpn", group="vpn"))
        + p9.geom_line(p9.aes(linetype="role", size="role"))
        + p9.geom_point(size=1.5)
        + p9.scale_linetype_manual(values={"reference": "dashed", "vpn": "solid"})
        + p9.scale_size_manual(values={"reference": 1.3, "vpn": 0.6})
        + p9.facet_wrap("panel", scales="free_y", ncol=3)
        + p9.scale_color_manual(values=ctx.palette)
        + p9.labs(title="Degradation across impairment profiles", x="profile", y="",
                  color="VPN")
        + theme()
        + p9.theme(legend_position="right")
        + p9.guides(linetype=None, size=None)
    )
    return plot


def time_breakdown(ctx: FigureContext) -> p9.ggplot | None:
    """Stacked wall time per VPN over all profiles, one colour per phase."""
    rows = ctx.metrics.filter(
        pl.col("metric").str.contains(TIME_METRIC.pattern),
        pl.col("metric").str.ends_with("_s"),
        pl.col("metric") != "time.total_s",
        pl.col("profile") == ALL,
        pl.col("vpn") != ALL,
    )
    if rows.is_empty():
        return None
    rows = rows.with_columns(
        pl.col("metric").str.strip_prefix("time.").str.strip_suffix("_s").alias("phase"),
        (pl.col("value") / 3600.0).alias("hours"),
    )
    plot: p9.ggplot = (
        p9.ggplot(ctx.frame(rows), p9.aes(x="vpn", y="hours", fill="phase"))
        + p9.geom_col(width=0.7)
        + p9.labs(title="Where the time went, per VPN (all profiles)", x="", y="hours",
                  fill="phase")
        + theme()
        + p9.theme(legend_position="right")
    )
    return plot


def success_rate(ctx: FigureContext) -> p9.ggplot | None:
    """Heat map of success rate per VPN and test kind, per profile and overall."""
    rows = ctx.metrics.filter(
        pl.col("metric") == "run.success_rate_pct", pl.col("vpn") != ALL
    ).with_columns(pl.col("value").round(0).cast(pl.Int64).cast(pl.String).alias("label"))
    if rows.is_empty():
        return None
    tests = [*sorted(t for t in rows["test"].unique().to_list() if t != ALL), ALL]
    categories = {
        "vpn": list(reversed(ctx.vpns)),
        "profile": profile_order(rows["profile"].unique().to_list()),
        "test": tests,
    }
    plot: p9.ggplot = (
        p9.ggplot(to_plot_frame(rows, categories), p9.aes(x="test", y="vpn", fill="value"))
        + p9.geom_tile(color="white")
        + p9.geom_text(p9.aes(label="label"), size=7)
        + p9.scale_fill_gradient(low="#d73027", high="#1a9850", limits=(0, 100))
        + p9.facet_wrap("profile", ncol=3)
        + p9.labs(title="Success rate (% of attempts ok)", x="test", y="", fill="%")
        + theme()
        + p9.theme(legend_position="right")
    )
    return plot


def parallel_scaling(ctx: FigureContext) -> p9.ggplot | None:
    links = max(1, len(ctx.hosts))
    extra = (
        p9.geom_hline(yintercept=1.0, linetype="dotted", color="#999999"),
        p9.geom_hline(yintercept=float(links), linetype="dotted", color="#2c7fb8"),
    )
    return bar_by_vpn(ctx, "parallel.scaling_factor",
                      "Parallel scaling: concurrent links total / single stream",
                      "ratio", per_link=False, extra=extra)


FIGURES: tuple[FigureSpec, ...] = (
    FigureSpec(
        "tcp_throughput", "tcp",
        "Single-stream TCP throughput (forward sender). Bar = mean over links, whisker = "
        "min–max across links, dots = individual links; dashed line = Internal.",
        lambda c: bar_by_vpn(c, "tcp.throughput_mbps", "TCP throughput", "Mbit/s"),
    ),
    FigureSpec(
        "tcp_retransmit_rate", "tcp",
        "Retransmitted segments as % of the estimated segments sent (bytes / MSS).",
        lambda c: bar_by_vpn(c, "tcp.retransmit_rate_pct", "TCP retransmit rate", "%"),
    ),
    FigureSpec(
        "tcp_max_cwnd", "tcp",
        "Largest congestion window the forward sender reached, in KiB.",
        lambda c: bar_by_vpn(c, "tcp.max_cwnd_bytes", "TCP max congestion window", "KiB",
                             scale=1 / 1024),
    ),
    FigureSpec(
        "tcp_retransmit_vs_cwnd", "tcp",
        "Each point is one VPN in one profile: a small window with many retransmits "
        "means loss-limited; a large window with few means the path kept up.",
        lambda c: scatter(c, "tcp.max_cwnd_bytes", "tcp.retransmit_rate_pct",
                          "Retransmit rate vs max congestion window", "max cwnd (KiB)",
                          "retransmit rate (%)", x_scale=1 / 1024),
    ),
    FigureSpec(
        "latency", "latency",
        "Ping round-trip time: point = average, line = min to max (each averaged over "
        "links); dashed line = Internal's average.",
        lambda c: range_by_vpn(c, "ping.rtt_avg_ms", "ping.rtt_min_ms", "ping.rtt_max_ms",
                               "Latency (ping RTT)", "ms"),
    ),
    FigureSpec(
        "latency_vs_throughput", "latency",
        "Quadrants split at the medians of each profile: upper left = fast and responsive, "
        "lower right = slow and laggy.",
        lambda c: scatter(c, "ping.rtt_avg_ms", "tcp.throughput_mbps",
                          "Latency vs TCP throughput", "RTT avg (ms)", "TCP Mbit/s",
                          quadrants=True),
    ),
    FigureSpec(
        "parallel_scaling", "parallel",
        "Sum of the concurrently measured links divided by single-stream throughput. "
        "Dotted grey = 1 (no gain), dotted blue = number of links (perfect scaling).",
        parallel_scaling,
    ),
    FigureSpec(
        "parallel_throughput", "parallel",
        "Total throughput of all links measured at the same time; dots = each link's share.",
        lambda c: bar_by_vpn(c, "parallel.throughput_mbps", "Parallel TCP throughput (sum)",
                             "Mbit/s"),
    ),
    FigureSpec(
        "udp", "udp",
        "UDP at unlimited offered rate: received throughput, loss and payload size. A red "
        "cross means every UDP attempt of that VPN failed in that profile.",
        lambda c: grid_by_metric(c, {"udp.receiver_mbps": "received Mbit/s",
                                     "udp.lost_pct": "lost %",
                                     "udp.blksize_bytes": "payload bytes"},
                                 "UDP throughput, loss and effective payload size",
                                 failed_test="udp"),
        height=8.0,
    ),
    FigureSpec(
        "quic", "quic",
        "QUIC connection setup (handshake) and time to first byte. A red cross means every "
        "QUIC attempt failed.",
        lambda c: grid_by_metric(c, {"quic.handshake_ms": "handshake ms",
                                     "quic.ttfb_ms": "TTFB ms",
                                     "quic.throughput_mbps": "Mbit/s"},
                                 "QUIC handshake, TTFB and throughput", failed_test="quic"),
        height=8.0,
    ),
    FigureSpec(
        "nix_cache", "nix_cache",
        "Time to copy the same Nix closure from the peer's binary cache (lower is better).",
        lambda c: bar_by_vpn(c, "nix_cache.time_s", "Nix binary-cache download time", "s"),
    ),
    FigureSpec(
        "rist_quality", "rist",
        "librist link quality reported by the receiver (100 = no loss after recovery).",
        lambda c: bar_by_vpn(c, "rist.quality_pct", "RIST video stream quality", "%"),
    ),
    FigureSpec(
        "reconnect_per_node", "reconnect",
        "Seconds until each node reached a peer over the VPN, after a reboot and after "
        "the first deployment; the last column is the mean of the nodes.",
        lambda c: per_node(c, {"reconnect.reboot_s": "after reboot",
                               "reconnect.bringup_s": "after deploy"},
                           "Reconnection per node"),
    ),
    FigureSpec(
        "reconnect_restart", "reconnect",
        "Seconds from a VPN restart until the overlay answered again (log scale): dot = "
        "mean of all restarts, open diamond = median, line = fastest to slowest. VPNs the "
        "harness never restarted have no entry.",
        lambda c: spread_by_vpn(c, "reconnect.restart_s", "Reconnection after VPN restart",
                                "s (log scale)"),
    ),
    FigureSpec(
        "reconnect_bringup", "reconnect",
        "Seconds from starting the VPN until the overlay was reachable (bring-up).",
        lambda c: bar_by_vpn(c, "reconnect.bringup_s", "VPN bring-up time", "s",
                             per_link=False),
    ),
    FigureSpec(
        "degradation", "degradation",
        "Each panel is one metric; x = impairment profile, one line per VPN. Internal is "
        "the thick dashed grey line.",
        degradation, width=12.0, height=10.0,
    ),
    FigureSpec(
        "time_breakdown", "time",
        "Wall time booked per phase, summed over all profiles.",
        time_breakdown,
    ),
    FigureSpec(
        "success_rate", "run",
        "Share of attempts that succeeded, per test kind; 'all' columns/panels combine.",
        success_rate, width=12.0, height=8.0,
    ),
)

__all__ = ["FIGURES", "REFERENCE_COLOUR", "FigureSpec"]
