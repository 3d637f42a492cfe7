# mypy: disable-error-code="no-untyped-call"
# (plotnine leaves aes() and theme() unannotated.)
"""Reusable plot shapes over the metrics table: bars per VPN, ranges, grids, scatters."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd  # type: ignore[import-untyped]
import plotnine as p9
import polars as pl

from analysis.catalogue import ALL
from analysis.figures.style import (
    FAILED_COLOUR,
    REFERENCE_COLOUR,
    theme,
    to_plot_frame,
    vpn_palette,
)
from analysis.ordering import REFERENCE_VPN, link_order, profile_order, vpn_order


@dataclass(frozen=True)
class FigureContext:
    """What every figure builder needs: the metrics table and the ring of hosts."""

    metrics: pl.DataFrame
    hosts: tuple[str, ...]

    @property
    def palette(self) -> dict[str, str]:
        return vpn_palette(self.vpns)

    @property
    def vpns(self) -> list[str]:
        return [v for v in vpn_order(self.metrics["vpn"].unique().to_list()) if v != ALL]

    @property
    def profiles(self) -> list[str]:
        names = self.metrics["profile"].unique().to_list()
        return [p for p in profile_order(names) if p != ALL]

    def categories(self, **extra: list[str]) -> dict[str, list[str]]:
        return {"vpn": self.vpns, "profile": self.profiles, **extra}

    def frame(self, rows: pl.DataFrame, **extra: list[str]) -> pd.DataFrame:
        """Plot data with the figure-wide VPN/profile orders (plus ``extra`` ones)."""
        return to_plot_frame(rows, self.categories(**extra))

    def rows(self, metric: str, link: str | None = ALL) -> pl.DataFrame:
        """Rows of ``metric`` per real profile (not the ``all`` roll-up)."""
        frame = self.metrics.filter(
            pl.col("metric") == metric, pl.col("profile") != ALL, pl.col("vpn") != ALL
        )
        if link is not None:
            frame = frame.filter(pl.col("link") == link)
        return frame.filter(pl.col("value").is_not_null())


def _reference_lines(ctx: FigureContext, rows: pl.DataFrame) -> list[p9.geom_hline]:
    reference = rows.filter(pl.col("vpn").str.to_lowercase() == REFERENCE_VPN)
    if reference.is_empty():
        return []
    return [
        p9.geom_hline(
            data=ctx.frame(reference.select("profile", "value")),
            mapping=p9.aes(yintercept="value"),
            linetype="dashed",
            color=REFERENCE_COLOUR,
            size=0.6,
        )
    ]


def _fill_scale(ctx: FigureContext) -> p9.scale_fill_manual:
    return p9.scale_fill_manual(values=ctx.palette)


def _colour_scale(ctx: FigureContext) -> p9.scale_color_manual:
    return p9.scale_color_manual(values=ctx.palette)


def bar_by_vpn(
    ctx: FigureContext,
    metric: str,
    title: str,
    ylabel: str,
    scale: float = 1.0,
    per_link: bool = True,
    extra: tuple[p9.geom_hline, ...] = (),
) -> p9.ggplot | None:
    """Bar = aggregate per VPN and profile; whisker = min–max spread; dots = each link."""
    rows = ctx.rows(metric)
    if rows.is_empty():
        return None
    rows = rows.with_columns(pl.col("value", "min", "max") * scale)
    plot: p9.ggplot = (
        p9.ggplot(ctx.frame(rows), p9.aes(x="vpn", y="value", fill="vpn"))
        + p9.geom_col(width=0.7)
        + p9.geom_errorbar(p9.aes(ymin="min", ymax="max"), width=0.3, na_rm=True)
        + p9.facet_wrap("profile", scales="free_y", ncol=2)
        + _fill_scale(ctx)
        + p9.labs(title=title, x="", y=ylabel)
        + theme()
    )
    links = ctx.rows(metric, link=None).filter(pl.col("link") != ALL)
    if per_link and not links.is_empty():
        links = links.with_columns(pl.col("value") * scale)
        plot = plot + p9.geom_point(
            data=ctx.frame(links),
            mapping=p9.aes(x="vpn", y="value"),
            inherit_aes=False,
            size=1.0,
            color="black",
            alpha=0.6,
        )
    for layer in (*_reference_lines(ctx, rows), *extra):
        plot = plot + layer
    return plot


def range_by_vpn(
    ctx: FigureContext, metric: str, low: str, high: str, title: str, ylabel: str
) -> p9.ggplot | None:
    """Point = ``metric``; range = the aggregates of ``low`` and ``high`` (e.g. RTT)."""
    rows = ctx.rows(metric)
    if rows.is_empty():
        return None
    keys = ["vpn", "profile"]
    bounds = ctx.rows(low).select(*keys, pl.col("value").alias("low")).join(
        ctx.rows(high).select(*keys, pl.col("value").alias("high")), on=keys, how="full",
        coalesce=True,
    )
    rows = rows.join(bounds, on=keys, how="left")
    plot: p9.ggplot = (
        p9.ggplot(ctx.frame(rows), p9.aes(x="vpn", y="value", color="vpn"))
        + p9.geom_linerange(p9.aes(ymin="low", ymax="high"), size=1.0, na_rm=True)
        + p9.geom_point(size=2.5)
        + p9.facet_wrap("profile", scales="free_y", ncol=2)
        + _colour_scale(ctx)
        + p9.labs(title=title, x="", y=ylabel)
        + theme()
    )
    for layer in _reference_lines(ctx, rows):
        plot = plot + layer
    return plot


def spread_by_vpn(ctx: FigureContext, metric: str, title: str, ylabel: str) -> p9.ggplot | None:
    """Mean (dot), median (open diamond) and min–max line on a log scale, for long tails."""
    rows = ctx.rows(metric).filter(pl.col("min") > 0)
    if rows.is_empty():
        return None
    plot: p9.ggplot = (
        p9.ggplot(ctx.frame(rows), p9.aes(x="vpn", y="value", color="vpn"))
        + p9.geom_linerange(p9.aes(ymin="min", ymax="max"), size=0.8)
        + p9.geom_point(size=2.5)
        + p9.geom_point(p9.aes(y="median"), shape="D", fill="white", size=2.5)
        + p9.scale_y_log10()
        + p9.facet_wrap("profile", ncol=2)
        + _colour_scale(ctx)
        + p9.labs(title=title, x="", y=ylabel)
        + theme()
    )
    return plot


def grid_by_metric(
    ctx: FigureContext, panels: dict[str, str], title: str, failed_test: str | None = None
) -> p9.ggplot | None:
    """Bars per VPN in a grid of metrics (rows) × profiles (columns), free y per row.

    With ``failed_test``, VPN/profile cells where every attempt of that test failed get
    a red cross at zero, so a missing bar reads as "failed", not "zero".
    """
    parts = [ctx.rows(m).with_columns(pl.lit(label).alias("panel")) for m, label in
             panels.items()]
    rows = pl.concat([p for p in parts if not p.is_empty()] or [parts[0]])
    if rows.is_empty():
        return None
    panel_order = list(panels.values())
    plot: p9.ggplot = (
        p9.ggplot(ctx.frame(rows, panel=panel_order), p9.aes(x="vpn", y="value", fill="vpn"))
        + p9.geom_col(width=0.7)
        + p9.geom_errorbar(p9.aes(ymin="min", ymax="max"), width=0.3, na_rm=True)
        + p9.facet_grid(rows="panel", cols="profile", scales="free_y")
        + _fill_scale(ctx)
        + p9.labs(title=title, x="", y="")
        + theme()
    )
    if failed_test is not None:
        failed = ctx.metrics.filter(
            pl.col("metric") == "run.success_rate_pct",
            pl.col("test") == failed_test,
            pl.col("profile") != ALL,
            pl.col("value") == 0,
        ).select("vpn", "profile")
        if not failed.is_empty():
            crosses = failed.join(
                pl.DataFrame({"panel": list(panels.values())}), how="cross"
            ).with_columns(pl.lit(0.0).alias("value"))
            plot = plot + p9.geom_point(
                data=ctx.frame(crosses, panel=panel_order),
                mapping=p9.aes(x="vpn", y="value"),
                inherit_aes=False,
                shape="x",
                size=3,
                color=FAILED_COLOUR,
            )
    return plot


def per_node(ctx: FigureContext, panels: dict[str, str], title: str) -> p9.ggplot | None:
    """Per-node values (link = node) plus their mean, in the earliest profile measured."""
    parts = []
    for metric, label in panels.items():
        rows = ctx.rows(metric, link=None)
        if rows.is_empty():
            continue
        first = rows.group_by("vpn").agg(pl.col("profile").first().alias("first_profile"))
        rows = rows.join(first, on="vpn").filter(pl.col("profile") == pl.col("first_profile"))
        parts.append(rows.with_columns(pl.lit(label).alias("panel")))
    if not parts:
        return None
    rows = pl.concat(parts).with_columns(
        pl.when(pl.col("link") == ALL).then(pl.lit("mean of nodes")).otherwise(pl.col("link"))
        .alias("node")
    )
    nodes = [n if n != ALL else "mean of nodes"
             for n in link_order(rows["link"].unique().to_list(), ctx.hosts)]
    categories = {"node": nodes, "panel": list(panels.values())}
    plot: p9.ggplot = (
        p9.ggplot(ctx.frame(rows, **categories), p9.aes(x="vpn", y="value", fill="vpn"))
        + p9.geom_col(width=0.7)
        + p9.facet_grid(rows="panel", cols="node", scales="free_y")
        + _fill_scale(ctx)
        + p9.labs(title=title, x="", y="seconds")
        + theme()
    )
    return plot


def scatter(
    ctx: FigureContext,
    x_metric: str,
    y_metric: str,
    title: str,
    xlabel: str,
    ylabel: str,
    x_scale: float = 1.0,
    quadrants: bool = False,
) -> p9.ggplot | None:
    """One point per VPN and profile; with ``quadrants``, dashed medians split each panel."""
    keys = ["vpn", "profile"]
    rows = ctx.rows(x_metric).select(*keys, (pl.col("value") * x_scale).alias("x")).join(
        ctx.rows(y_metric).select(*keys, pl.col("value").alias("y")), on=keys, how="inner"
    )
    if rows.is_empty():
        return None
    plot: p9.ggplot = (
        p9.ggplot(ctx.frame(rows), p9.aes(x="x", y="y", color="vpn"))
        + p9.geom_point(size=2.5)
        + p9.geom_text(p9.aes(label="vpn"), size=6.5, nudge_y=0, va="bottom", ha="left",
                       show_legend=False)
        + p9.facet_wrap("profile", scales="free", ncol=2)
        + _colour_scale(ctx)
        + p9.labs(title=title, x=xlabel, y=ylabel)
        + theme()
        + p9.theme(axis_text_x=p9.element_text(rotation=0, ha="center"))
        + p9.scale_x_continuous(expand=(0.05, 0, 0.2, 0))
    )
    if quadrants:
        medians = rows.group_by("profile").agg(pl.col("x").median(), pl.col("y").median())
        medians_frame = ctx.frame(medians)
        plot = plot + p9.geom_vline(data=medians_frame, mapping=p9.aes(xintercept="x"),
                              linetype="dashed", color="#999999")
        plot = plot + p9.geom_hline(data=medians_frame, mapping=p9.aes(yintercept="y"),
                              linetype="dashed", color="#999999")
    return plot
