# mypy: disable-error-code="no-untyped-call"
# (plotnine leaves aes() and theme() unannotated.)
"""The run-comparison figure: change from the baseline run in %, with its 95 % interval.

One panel per headline metric (rows) and profile (columns); per VPN a point at the change
and a whisker over its interval, coloured by the verdict, one marker shape per compared
run (several runs side by side, as in a multi-run plot).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib
import plotnine as p9
import polars as pl

from analysis.catalogue import ALL
from analysis.compare import DECREASE, INCREASE, NO_INTERVAL, NOISE
from analysis.figures.geoms import panel_errorbar
from analysis.figures.render import draw_and_save
from analysis.figures.style import DPI, theme, to_plot_frame
from analysis.ordering import profile_order, vpn_order

matplotlib.use("Agg")

HEADLINE_METRICS: tuple[str, ...] = (
    "tcp.throughput_mbps",
    "parallel.throughput_mbps",
    "udp.throughput_mbps",
    "ping.rtt_avg_ms",
    "ping.loss_pct",
    "quic.throughput_mbps",
    "run.success_rate_pct",
)
"""The metrics the figure shows (when present); the table has every metric."""

VERDICT_COLOURS = {INCREASE: "#1F77B4", DECREASE: "#D62728", NOISE: "#7F7F7F",
                   NO_INTERVAL: "#BBBBBB"}


def _two_lines(metric: str) -> str:
    """``tcp.throughput_mbps`` → ``tcp`` over ``throughput_mbps``: narrower row strips."""
    return metric.replace(".", "\n", 1)


def compare_plot(table: pl.DataFrame) -> p9.ggplot | None:
    """None when no headline metric has a relative change to draw."""
    rows = table.filter(pl.col("metric").is_in(HEADLINE_METRICS),
                        pl.col("change_pct").is_not_null(), pl.col("profile") != ALL,
                        # success rates exist per test kind too; the figure shows all kinds
                        ~pl.col("metric").str.starts_with("run.") | (pl.col("test") == ALL))
    if rows.is_empty():
        return None
    metrics = [m for m in HEADLINE_METRICS if m in set(rows["metric"].to_list())]
    runs = list(dict.fromkeys(rows["run"].to_list()))
    rows = rows.with_columns(
        pl.col("metric").str.replace(".", "\n", n=1, literal=True).alias("panel"))
    frame = to_plot_frame(rows, {
        "panel": [_two_lines(m) for m in metrics],
        "vpn": vpn_order(rows["vpn"].unique().to_list()),
        "profile": profile_order(rows["profile"].unique().to_list()),
        "metric": metrics,
        "verdict": list(VERDICT_COLOURS),
        "run": runs,
    })
    dodge = p9.position_dodge(width=0.6)
    baseline = rows["baseline"][0]
    plot: p9.ggplot = (
        p9.ggplot(frame, p9.aes(x="vpn", y="change_pct", colour="verdict", shape="run",
                                group="run"))
        + p9.geom_hline(yintercept=0, linetype="dashed", colour="#444444")
        + panel_errorbar(p9.aes(ymin="change_pct_low", ymax="change_pct_high"),
                           width=0.4, position=dodge, na_rm=True)
        + p9.geom_point(size=2.0, position=dodge)
        + p9.facet_grid("panel ~ profile", scales="free_y")
        + p9.scale_colour_manual(values=VERDICT_COLOURS, drop=False)
        + p9.labs(title=f"Change from {baseline} (95 % interval)", x="",
                  y="change from baseline (%)", colour="", shape="run")
        + theme()
        + p9.theme(legend_position="bottom", strip_text_y=p9.element_text(rotation=0))
    )
    return plot


def write_compare_figure(table: pl.DataFrame, stem: Path) -> list[Path]:
    """``<stem>.png`` and ``<stem>.svg``; nothing when there is nothing to draw."""
    plot = compare_plot(table)
    if plot is None:
        return []
    metrics = table.filter(pl.col("metric").is_in(HEADLINE_METRICS))["metric"].n_unique()
    profiles = table["profile"].n_unique()
    size = (max(6.0, 2.2 * profiles + 1.5), max(3.5, 2.0 * metrics + 1.2))
    sized: Any = plot + p9.theme(figure_size=size, dpi=DPI)
    png, svg = stem.with_suffix(".png"), stem.with_suffix(".svg")
    draw_and_save(sized, png, svg)  # the same reproducible settings as every figure
    return [png, svg]
