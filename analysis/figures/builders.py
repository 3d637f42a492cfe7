# mypy: disable-error-code="no-untyped-call"
# (plotnine leaves aes() and theme() unannotated.)
"""Reusable plot shapes over the metrics table: bars per VPN, ranges, grids, scatters."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd  # type: ignore[import-untyped]
import plotnine as p9
import polars as pl

from analysis.catalogue import ALL
from analysis.figures.geoms import panel_errorbar, panel_linerange, panel_text
from analysis.figures.style import (
    FAILED_COLOUR,
    REFERENCE_COLOUR,
    theme,
    to_plot_frame,
    vpn_palette,
)
from analysis.intervals import shown_interval
from analysis.ordering import REFERENCE_VPN, link_order, profile_order, vpn_order


@dataclass(frozen=True)
class FigureContext:
    """What every figure builder needs: the metrics table, the ring of hosts, the input format.

    ``vpn_names``/``profile_names`` fix the axis categories of the whole report, so a figure
    drawn from a :meth:`restricted` context keeps the same order and colours.
    """

    metrics: pl.DataFrame
    hosts: tuple[str, ...]
    source_format: str = ""
    vpn_names: tuple[str, ...] = ()
    profile_names: tuple[str, ...] = ()

    @property
    def palette(self) -> dict[str, str]:
        return vpn_palette(self.vpns)

    @property
    def vpns(self) -> list[str]:
        if self.vpn_names:
            return list(self.vpn_names)
        return [v for v in vpn_order(self.metrics["vpn"].unique().to_list()) if v != ALL]

    @property
    def profiles(self) -> list[str]:
        if self.profile_names:
            return list(self.profile_names)
        names = self.metrics["profile"].unique().to_list()
        return [p for p in profile_order(names) if p != ALL]

    @property
    def is_legacy(self) -> bool:
        return self.source_format == "legacy"

    def restricted(self, prefixes: tuple[str, ...]) -> FigureContext:
        """Only the metric rows whose name starts with one of ``prefixes``; same axes.

        A figure builder sees nothing else, so these rows are exactly the figure's input
        data (what its cache key hashes)."""
        rows = self.metrics.filter(
            pl.any_horizontal([pl.col("metric").str.starts_with(p) for p in prefixes]))
        return FigureContext(rows, self.hosts, self.source_format, tuple(self.vpns),
                             tuple(self.profiles))

    def categories(self, **extra: list[str]) -> dict[str, list[str]]:
        return {"vpn": self.vpns, "profile": self.profiles, **extra}

    def frame(self, rows: pl.DataFrame, **extra: list[str]) -> pd.DataFrame:
        """Plot data with the figure-wide VPN/profile orders (plus ``extra`` ones)."""
        return to_plot_frame(rows, self.categories(**extra))

    def rows(self, metric: str, link: str | None = ALL) -> pl.DataFrame:
        """Rows of ``metric`` per real profile (not the ``all`` roll-up), with ``lo``/``hi``
        = the 95 % confidence interval (null where the table has none)."""
        frame = self.metrics.filter(
            pl.col("metric") == metric, pl.col("profile") != ALL, pl.col("vpn") != ALL
        )
        if link is not None:
            frame = frame.filter(pl.col("link") == link)
        return with_interval(frame.filter(pl.col("value").is_not_null()))


def with_interval(rows: pl.DataFrame) -> pl.DataFrame:
    """Add ``lo``/``hi``: the interval clipped to the metric's physical range (see
    :func:`analysis.intervals.shown_interval`), null when the columns are absent."""
    return rows.with_columns(shown_interval(rows))


def n_labels(rows: pl.DataFrame) -> pl.DataFrame:
    """``n=…`` labels; n = 1 values get ``n=1!`` so a single measurement is never mistaken
    for a settled one."""
    return rows.with_columns(
        pl.when(pl.col("n") == 1).then(pl.lit("n=1!"))
        .otherwise(pl.lit("n=") + pl.col("n").cast(pl.String)).alias("n_label"),
        (pl.col("n") == 1).alias("single"),
    )


def _n_layer(ctx: FigureContext, rows: pl.DataFrame, **extra: list[str]) -> panel_text:
    """The n of each bar, written just above it (red when n = 1)."""
    labelled = n_labels(rows).with_columns(
        pl.max_horizontal("value", "hi").alias("label_y"))
    return panel_text(
        data=ctx.frame(labelled, **extra),
        mapping=p9.aes(x="vpn", y="label_y", label="n_label", color="single"),
        inherit_aes=False, size=7, va="bottom", show_legend=False,
    )


def _whiskers(width: float = 0.3) -> panel_errorbar:
    """CI whiskers in black."""
    return panel_errorbar(p9.aes(x="vpn", ymin="lo", ymax="hi"), inherit_aes=False,
                            width=width, na_rm=True)


def _n_colours() -> p9.scale_color_manual:
    return p9.scale_color_manual(values={False: "#333333", True: FAILED_COLOUR}, guide=None)


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
    """Bar = aggregate per VPN and profile; whisker = 95 % CI; dots = each link; n at the
    foot of each bar; y from zero."""
    rows = ctx.rows(metric)
    if rows.is_empty():
        return None
    rows = rows.with_columns(pl.col("value", "lo", "hi") * scale)
    plot: p9.ggplot = (
        p9.ggplot(ctx.frame(rows), p9.aes(x="vpn", y="value", fill="vpn"))
        + p9.geom_col(width=0.7, position="identity")  # one bar per x: stacking is a no-op
        + _whiskers()
        + _n_layer(ctx, rows)
        + p9.facet_wrap("profile", scales="free_y", ncol=2)
        + _fill_scale(ctx)
        + _n_colours()
        + p9.expand_limits(y=0)
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
        + panel_linerange(p9.aes(ymin="low", ymax="high"), size=1.0, na_rm=True)
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
        + panel_linerange(p9.aes(ymin="min", ymax="max"), size=0.8)
        + p9.geom_point(size=2.5)
        + p9.geom_point(p9.aes(y="median"), shape="D", fill="white", size=2.5)
        + p9.scale_y_log10()
        + p9.facet_wrap("profile", ncol=2)
        + _colour_scale(ctx)
        + p9.labs(title=title, x="", y=ylabel)
        + theme()
    )
    return plot


def failed_cells(ctx: FigureContext, test: str) -> pl.DataFrame:
    """(vpn, profile) where every attempt of ``test`` failed (success rate 0)."""
    return ctx.metrics.filter(
        pl.col("metric") == "run.success_rate_pct",
        pl.col("test") == test,
        pl.col("profile") != ALL,
        pl.col("vpn") != ALL,
        pl.col("value") == 0,
    ).select("vpn", "profile")


def grid_by_metric(
    ctx: FigureContext, panels: dict[str, str], title: str, failed_test: str | None = None
) -> p9.ggplot | None:
    """Bars per VPN in a grid of metrics (rows) × profiles (columns); every panel has its
    own y-axis from zero, so an impaired profile's small bars stay visible.

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
        + p9.geom_col(width=0.7, position="identity")  # one bar per x: stacking is a no-op
        + _whiskers()
        + _n_layer(ctx, rows, panel=panel_order)
        + p9.facet_wrap(["panel", "profile"], scales="free_y", ncol=max(1, len(ctx.profiles)))
        + _fill_scale(ctx)
        + _n_colours()
        + p9.expand_limits(y=0)
        + p9.labs(title=title, x="", y="")
        + theme()
    )
    if failed_test is not None:
        failed = failed_cells(ctx, failed_test)
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
        + p9.geom_col(width=0.7, position="identity")  # one bar per x: stacking is a no-op
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
    shared_x: bool = False,
) -> p9.ggplot | None:
    """One point per VPN and profile; with ``quadrants``, dashed medians split each panel.

    Both axes start at zero, so a panel whose points differ by a hair is drawn as a hair,
    not stretched over the whole axis; ``shared_x`` puts every profile on one x scale."""
    keys = ["vpn", "profile"]
    rows = ctx.rows(x_metric).select(*keys, (pl.col("value") * x_scale).alias("x")).join(
        ctx.rows(y_metric).select(*keys, pl.col("value").alias("y")), on=keys, how="inner"
    )
    if rows.is_empty():
        return None
    plot: p9.ggplot = (
        p9.ggplot(ctx.frame(rows), p9.aes(x="x", y="y", color="vpn"))
        + p9.geom_point(size=2.5)
        + panel_text(p9.aes(label="vpn"), size=6.5, nudge_y=0, va="bottom", ha="left",
                       show_legend=False)
        + p9.facet_wrap("profile", scales="free_y" if shared_x else "free", ncol=2)
        + _colour_scale(ctx)
        + p9.expand_limits(x=0, y=0)
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
