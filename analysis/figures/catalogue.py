# mypy: disable-error-code="no-untyped-call"
# (plotnine leaves aes() and theme() unannotated.)
"""Every figure of the report: its file name, section, caption and how it is drawn."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import plotnine as p9
import polars as pl

from analysis.catalogue import ALL, METRICS, TIME_METRIC
from analysis.figures.builders import (
    FigureContext,
    bar_by_vpn,
    failed_cells,
    grid_by_metric,
    per_node,
    range_by_vpn,
    scatter,
    spread_by_vpn,
)
from analysis.figures.geoms import panel_errorbar, panel_segment, panel_text
from analysis.figures.style import REFERENCE_COLOUR, theme, to_plot_frame
from analysis.ordering import REFERENCE_VPN, profile_order
from analysis.summary import HEADLINES, headline_rows


@dataclass(frozen=True)
class FigureSpec:
    """One figure. ``inputs`` are the metric-name prefixes it reads: the builder gets only
    those rows, and their content (with the code version) is the figure's cache key."""

    name: str
    section: str
    caption: str
    build: Callable[[FigureContext], p9.ggplot | None]
    inputs: tuple[str, ...]
    width: float = 10.0
    height: float = 6.5
    legacy_caption: str = ""
    """Appended to the caption when the input is the legacy format."""

    def caption_for(self, source_format: str) -> str:
        if source_format == "legacy" and self.legacy_caption:
            return f"{self.caption} {self.legacy_caption}"
        return self.caption


SUCCESS = "run.success_rate_pct"
LEGACY_RETRY_NOTE = (
    "Legacy data: the legacy check retried once per second, so most of these values are "
    "whole 1-second retry steps of the check, not the VPN's own reconnection time."
)


DEGRADATION_PANELS: dict[str, str] = {
    "tcp.throughput_mbps": "TCP Mbit/s",
    "tcp.throughput_pct_internal": "TCP % of reference",
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


def _islands(rows: pl.DataFrame, profiles: list[str]) -> pl.DataFrame:
    """``line`` = one id per run of consecutive profiles with a value, per VPN and panel,
    so a line never bridges a profile without data (gaps-and-islands)."""
    position = {p: i for i, p in enumerate(profiles)}
    return rows.with_columns(
        pl.col("profile").replace_strict(position, return_dtype=pl.Int64).alias("_pos")
    ).sort("vpn", "panel", "_pos").with_columns(
        (pl.col("_pos") - pl.int_range(pl.len()).over("vpn", "panel")).alias("_island")
    ).with_columns(
        (pl.col("vpn") + pl.lit("/") + pl.col("_island").cast(pl.String)).alias("line")
    ).drop("_pos", "_island")


def degradation(ctx: FigureContext) -> p9.ggplot | None:
    """Each metric across profiles, one line per VPN; the reference dashed and thicker.

    Profiles without a value break the line; where every attempt of the panel's test
    failed, a red cross at zero says so. Whiskers = 95 % CI; every y-axis starts at zero.
    """
    profiles = ctx.profiles
    if len(profiles) < 2:
        return None
    parts, crosses = [], []
    for metric, label in DEGRADATION_PANELS.items():
        rows = ctx.rows(metric)
        if rows.is_empty():
            continue
        parts.append(rows.with_columns(pl.lit(label).alias("panel")))
        failed = failed_cells(ctx, METRICS[metric].test)
        if not failed.is_empty():
            crosses.append(failed.with_columns(pl.lit(label).alias("panel"),
                                               pl.lit(0.0).alias("value")))
    if not parts:
        return None
    rows = _islands(pl.concat(parts, how="vertical_relaxed"), profiles).with_columns(
        pl.when(pl.col("vpn").str.to_lowercase() == REFERENCE_VPN).then(pl.lit("reference"))
        .otherwise(pl.lit("vpn")).alias("role")
    )
    present = [label for label in DEGRADATION_PANELS.values() if label in set(rows["panel"])]
    plot: p9.ggplot = (
        p9.ggplot(ctx.frame(rows, panel=present),
                  p9.aes(x="profile", y="value", color="vpn", group="line"))
        + p9.geom_line(p9.aes(linetype="role", size="role"))
        + panel_errorbar(p9.aes(ymin="lo", ymax="hi"), width=0.12, na_rm=True)
        + p9.geom_point(size=1.5)
        + p9.scale_linetype_manual(values={"reference": "dashed", "vpn": "solid"})
        + p9.scale_size_manual(values={"reference": 1.3, "vpn": 0.6})
        + p9.facet_wrap("panel", scales="free_y", ncol=3)
        + p9.scale_color_manual(values=ctx.palette)
        + p9.scale_x_discrete(limits=profiles)
        + p9.expand_limits(y=0)
        + p9.labs(title="Degradation across impairment profiles", x="profile", y="",
                  color="VPN")
        + theme()
        + p9.theme(legend_position="right")
        + p9.guides(linetype=None, size=None)
    )
    if crosses:
        marks = pl.concat(crosses).filter(pl.col("panel").is_in(present))
        if not marks.is_empty():
            plot = plot + p9.geom_point(
                data=ctx.frame(marks, panel=present),
                mapping=p9.aes(x="profile", y="value", color="vpn"),
                inherit_aes=False, shape="x", size=3.5, stroke=1.2)
    return plot


def overview(ctx: FigureContext) -> p9.ggplot | None:
    """The summary table as one picture: per profile (row) and headline metric (column),
    each VPN's value with its 95 % CI, VPNs in the first profile's rank order."""
    rows = headline_rows(ctx.metrics)
    if rows.is_empty():
        return None
    labels = {h.metric: f"{h.label} {h.unit} ({'higher' if h.higher_is_better else 'lower'}"
                        " is better)" for h in HEADLINES}
    present = [labels[h.metric] for h in HEADLINES if h.metric in set(rows["metric"])]
    first = rows.filter(pl.col("profile") == rows["profile"][0])
    ranked = first.unique("vpn", keep="first").sort("rank")["vpn"].to_list()
    order = [*reversed([*ranked, *(v for v in ctx.vpns if v not in ranked)])]
    rows = rows.with_columns(pl.col("metric").replace_strict(labels).alias("panel"))
    reference = rows.filter(pl.col("vpn").str.to_lowercase() == REFERENCE_VPN)
    categories = {"vpn": order, "profile": ctx.profiles, "panel": present}
    plot: p9.ggplot = (
        p9.ggplot(to_plot_frame(rows, categories), p9.aes(x="value", y="vpn", color="vpn"))
        + panel_segment(p9.aes(x="lo", xend="hi", y="vpn", yend="vpn"), size=1.2,
                          na_rm=True)
        + p9.geom_point(size=2.2)
        + p9.facet_wrap(["profile", "panel"], scales="free_x", ncol=max(1, len(present)))
        + p9.scale_color_manual(values=ctx.palette)
        + p9.expand_limits(x=0)
        + p9.labs(title="Overview: every VPN on the headline metrics (line = 95 % CI)",
                  x="", y="")
        + theme()
        + p9.theme(axis_text_x=p9.element_text(rotation=0, ha="center"),
                   strip_text=p9.element_text(size=7))
    )
    if not reference.is_empty():
        plot = plot + p9.geom_vline(
            data=to_plot_frame(reference, categories), mapping=p9.aes(xintercept="value"),
            linetype="dashed", color=REFERENCE_COLOUR)
    return plot


UNACCOUNTED = "unaccounted"
"""Phase name the importers book for wall time no phase covers (span − booked phases)."""
PHASE_COLOURS = ("#4E79A7", "#F28E2B", "#59A14F", "#E15759", "#76B7B2", "#EDC948", "#B07AA1",
                 "#FF9DA7", "#9C755F")


def time_breakdown(ctx: FigureContext) -> p9.ggplot | None:
    """Stacked wall time per VPN over all profiles, one colour per phase; the time no
    phase accounts for is its own light-grey ``unaccounted`` share on top."""
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
    phases = sorted(p for p in rows["phase"].unique().to_list() if p != UNACCOUNTED)
    colours = dict(zip(phases, PHASE_COLOURS * 3, strict=False))
    if UNACCOUNTED in set(rows["phase"]):
        phases.append(UNACCOUNTED)
        colours[UNACCOUNTED] = "#D0D0D0"
    plot: p9.ggplot = (
        p9.ggplot(ctx.frame(rows, phase=list(reversed(phases))),
                  p9.aes(x="vpn", y="hours", fill="phase"))
        + p9.geom_col(width=0.7)
        + p9.scale_fill_manual(values=colours, breaks=phases)
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
        + panel_text(p9.aes(label="label"), size=7)
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


# Whiskers, n labels and the reference's styling are explained once, in the report's
# "How to read" paragraph; captions say only what is particular to their figure.

FIGURES: tuple[FigureSpec, ...] = (
    FigureSpec(
        "overview", "summary",
        "Every VPN on the headline metrics, one row of panels per profile: dot = value "
        "(link=all), line = 95 % confidence interval. "
        "VPNs are listed in the first profile's rank order (best on top).",
        overview, ("tcp.throughput_mbps", "parallel.throughput_mbps", "udp.receiver_mbps",
                   "ping.rtt_avg_ms", "ping.loss_pct"), width=13.0, height=7.5,
    ),
    FigureSpec(
        "tcp_throughput", "tcp",
        "Single-stream TCP throughput (forward sender). Bar = mean over links, dots = "
        "individual links.",
        lambda c: bar_by_vpn(c, "tcp.throughput_mbps", "TCP throughput", "Mbit/s"),
        ("tcp.throughput_mbps",),
    ),
    FigureSpec(
        "tcp_retransmit_rate", "tcp",
        "Retransmitted segments as % of the estimated segments sent (bytes / MSS).",
        lambda c: bar_by_vpn(c, "tcp.retransmit_rate_pct", "TCP retransmit rate", "%"),
        ("tcp.retransmit_rate_pct",),
    ),
    FigureSpec(
        "tcp_max_cwnd", "tcp",
        "Largest congestion window the forward sender reached, in KiB.",
        lambda c: bar_by_vpn(c, "tcp.max_cwnd_bytes", "TCP max congestion window", "KiB",
                             scale=1 / 1024),
        ("tcp.max_cwnd_bytes",),
    ),
    FigureSpec(
        "tcp_retransmit_vs_cwnd", "tcp",
        "Each point is one VPN in one profile: a small window with many retransmits "
        "means loss-limited; a large window with few means the path kept up. All profiles "
        "share the window axis and every axis starts at zero, so small differences look small.",
        lambda c: scatter(c, "tcp.max_cwnd_bytes", "tcp.retransmit_rate_pct",
                          "Retransmit rate vs max congestion window", "max cwnd (KiB)",
                          "retransmit rate (%)", x_scale=1 / 1024, shared_x=True),
        ("tcp.max_cwnd_bytes", "tcp.retransmit_rate_pct"),
    ),
    FigureSpec(
        "latency", "latency",
        "Ping round-trip time: point = average, line = min to max (each averaged over "
        "links); dashed line = the reference's average.",
        lambda c: range_by_vpn(c, "ping.rtt_avg_ms", "ping.rtt_min_ms", "ping.rtt_max_ms",
                               "Latency (ping RTT)", "ms"),
        ("ping.rtt_",),
    ),
    FigureSpec(
        "latency_vs_throughput", "latency",
        "Quadrants split at the medians of each profile: upper left = fast and responsive, "
        "lower right = slow and laggy. Axes start at zero.",
        lambda c: scatter(c, "ping.rtt_avg_ms", "tcp.throughput_mbps",
                          "Latency vs TCP throughput", "RTT avg (ms)", "TCP Mbit/s",
                          quadrants=True),
        ("ping.rtt_avg_ms", "tcp.throughput_mbps"),
    ),
    FigureSpec(
        "parallel_scaling", "parallel",
        "Sum of the concurrently measured links divided by single-stream throughput. "
        "Dotted grey = 1 (no gain), dotted blue = number of links (perfect scaling).",
        parallel_scaling, ("parallel.scaling_factor",),
    ),
    FigureSpec(
        "parallel_throughput", "parallel",
        "Total throughput of all links measured at the same time; dots = each link's share.",
        lambda c: bar_by_vpn(c, "parallel.throughput_mbps", "Parallel TCP throughput (sum)",
                             "Mbit/s"),
        ("parallel.throughput_mbps",),
    ),
    FigureSpec(
        "udp", "udp",
        "UDP received throughput, loss and payload size. A red cross means every UDP "
        "attempt of that VPN failed in that profile.",
        lambda c: grid_by_metric(c, {"udp.receiver_mbps": "received Mbit/s",
                                     "udp.lost_pct": "lost %",
                                     "udp.blksize_bytes": "payload bytes"},
                                 "UDP throughput, loss and effective payload size",
                                 failed_test="udp"),
        ("udp.", SUCCESS), height=8.0,
    ),
    FigureSpec(
        "quic", "quic",
        "QUIC connection setup (handshake), time to first byte and throughput; each panel "
        "has its own y-axis from zero. A red cross means every QUIC attempt failed.",
        lambda c: grid_by_metric(c, {"quic.handshake_ms": "handshake ms",
                                     "quic.ttfb_ms": "TTFB ms",
                                     "quic.throughput_mbps": "Mbit/s"},
                                 "QUIC handshake, TTFB and throughput", failed_test="quic"),
        ("quic.", SUCCESS), height=8.0,
    ),
    FigureSpec(
        "nix_cache", "nix_cache",
        "Time to copy the same Nix closure from the peer's binary cache (lower is better).",
        lambda c: bar_by_vpn(c, "nix_cache.time_s", "Nix binary-cache download time", "s"),
        ("nix_cache.time_s",),
    ),
    FigureSpec(
        "rist_quality", "rist",
        "librist link quality reported by the receiver (100 = no loss after recovery).",
        lambda c: bar_by_vpn(c, "rist.quality_pct", "RIST video stream quality", "%"),
        ("rist.quality_pct",),
    ),
    FigureSpec(
        "reconnect_per_node", "reconnect",
        "Seconds until each node reached a peer over the VPN, after a reboot and after "
        "the first deployment; the last column is the mean of the nodes.",
        lambda c: per_node(c, {"reconnect.reboot_s": "after reboot",
                               "reconnect.bringup_s": "after deploy"},
                           "Reconnection per node"),
        ("reconnect.reboot_s", "reconnect.bringup_s"), legacy_caption=LEGACY_RETRY_NOTE,
    ),
    FigureSpec(
        "reconnect_restart", "reconnect",
        "Seconds from a VPN restart until the overlay answered again (log scale): dot = "
        "mean of all restarts, open diamond = median, line = fastest to slowest. VPNs the "
        "harness never restarted have no entry.",
        lambda c: spread_by_vpn(c, "reconnect.restart_s", "Reconnection after VPN restart",
                                "s (log scale)"),
        ("reconnect.restart_s",),
    ),
    FigureSpec(
        "reconnect_bringup", "reconnect",
        "Seconds from starting the VPN until the overlay was reachable (bring-up).",
        lambda c: bar_by_vpn(c, "reconnect.bringup_s", "VPN bring-up time", "s",
                             per_link=False),
        ("reconnect.bringup_s",), legacy_caption=LEGACY_RETRY_NOTE,
    ),
    FigureSpec(
        "degradation", "degradation",
        "Each panel is one metric; x = impairment profile, one line per VPN, y from zero; "
        "the reference is the thick line. A line stops where a profile has no value; a red "
        "cross at zero marks a profile where every attempt of that test failed, in the "
        "VPN's colour.",
        degradation, (*DEGRADATION_PANELS, SUCCESS), width=12.0, height=10.0,
    ),
    FigureSpec(
        "time_breakdown", "time",
        "Wall time booked per phase, summed over all profiles. 'unaccounted' (light grey, "
        "on top) is wall time between the first and last phase of a VPN that no phase "
        "covers; it is absent where the input records no wall-clock span.",
        time_breakdown, ("time.",),
    ),
    FigureSpec(
        "success_rate", "run",
        "Share of attempts that succeeded, per test kind; 'all' columns/panels combine.",
        success_rate, (SUCCESS,), width=12.0, height=8.0,
    ),
)

__all__ = ["FIGURES", "REFERENCE_COLOUR", "FigureSpec"]
