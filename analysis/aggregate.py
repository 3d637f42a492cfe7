"""Observations → metric rows: per-link rows plus the ``link=all`` aggregate.

Rules (see docs/analysis.md):
* per link: value = mean over that link's samples (repetitions);
* ``all`` for mean metrics: value = mean of the per-link means, spread over every sample;
* ``all`` for sum metrics (parallel TCP): value = mean over samples of the sum across
  the concurrently measured links, spread over those sums, n = link values summed;
* observations recorded directly as ``link=all`` are aggregated as they are.

Each row also states the standard error of its value and its degrees of freedom
(:mod:`analysis.intervals` turns them into the 95 % interval):
* per link and direct ``all``: the t interval of a mean of ``n`` samples;
* ``all`` for mean metrics: links are strata (the same links are measured in every run),
  so the error is the one of a mean of per-link means, each with its own repetitions
  (Welch–Satterthwaite degrees of freedom); when some link has a single repetition, the
  per-link means themselves are the replicates (df = links − 1);
* ``all`` for sum metrics: the t interval of the mean over repetitions of the sums.
"""

from __future__ import annotations

import polars as pl

from analysis.catalogue import ALL, KEY_COLUMNS, METRICS
from analysis.intervals import (
    DF,
    INTERVAL_COLUMNS,
    METHOD,
    PRIVATE_COLUMNS,
    SE,
    T_LINKS,
    T_STRATA,
    T,
    sample_mean_interval,
)

KEYS = list(KEY_COLUMNS)


def spread(column: str) -> list[pl.Expr]:
    """Mean, min, max, median, quartiles (linear interpolation) and sample stddev."""
    values = pl.col(column)
    return [
        values.mean().alias("mean"),
        values.min().alias("min"),
        values.max().alias("max"),
        values.median().alias("median"),
        values.quantile(0.25, interpolation="linear").alias("q1"),
        values.quantile(0.75, interpolation="linear").alias("q3"),
        values.std(ddof=1).alias("stddev"),
    ]


def _sum_metrics() -> list[str]:
    return [name for name, spec in METRICS.items() if spec.aggregation == "sum"]


def aggregate(observations: pl.DataFrame) -> pl.DataFrame:
    """Metric rows (without ``unit``) for every (vpn, profile, test, metric, link)."""
    # Eagerly sorted by keys and value, and every group_by keeps that order: the float
    # means/variances feeding the intervals then add in one fixed order (a lazy sort or a
    # group_by without maintain_order let the last bit vary from run to run).
    lazy = observations.sort([*KEYS, "link", "sample", "value"], nulls_last=True).lazy()
    is_sum = pl.col("metric").is_in(_sum_metrics())
    per_link_obs = lazy.filter(pl.col("link") != ALL)

    per_link = per_link_obs.group_by([*KEYS, "link"], maintain_order=True).agg(
        pl.col("value").mean().alias("value"), pl.len().alias("n"), *spread("value")
    ).with_columns(sample_mean_interval(pl.col("stddev"), pl.col("n")))
    direct_all = (
        lazy.filter(pl.col("link") == ALL)
        .group_by(KEYS, maintain_order=True)
        .agg(pl.col("value").mean().alias("value"), pl.len().alias("n"), *spread("value"))
        .with_columns(pl.lit(ALL).alias("link"),
                      *sample_mean_interval(pl.col("stddev"), pl.col("n")))
    )
    mean_all = _mean_over_links(per_link_obs.filter(~is_sum))
    sum_all = (
        per_link_obs.filter(is_sum)
        .group_by([*KEYS, "sample"], maintain_order=True)
        .agg(pl.col("value").sum().alias("total"), pl.len().alias("summed"))
        .pipe(in_order, [*KEYS, "sample"])
        .group_by(KEYS, maintain_order=True)
        .agg(
            pl.col("total").mean().alias("value"),
            pl.col("summed").sum().alias("n"),
            pl.len().alias("sums"),
            *spread("total"),
        )
        .with_columns(pl.lit(ALL).alias("link"),
                      *sample_mean_interval(pl.col("stddev"), pl.col("sums")))
    )
    columns = [*KEYS, "link", "value", "n", "mean", "min", "max", "median", "q1", "q3",
               "stddev", *PRIVATE_COLUMNS, *INTERVAL_COLUMNS]
    frames = [frame.select(columns) for frame in (per_link, direct_all, mean_all, sum_all)]
    return (
        pl.concat(frames, how="vertical_relaxed")
        .with_columns(pl.col("n").cast(pl.Int64))
        .collect()
    )


def in_order(frame: pl.LazyFrame, by: list[str]) -> pl.LazyFrame:
    """``frame`` materialised in a fixed row order, for a following group_by.

    A group_by returns its groups in a varying order, and float sums over them depend on
    it; outputs must be byte-reproducible. Neither a lazy ``sort`` right before the
    group_by nor a ``sort_by`` inside the sum held in practice (polars 1.x/2.x), hence
    eager."""
    return frame.collect().sort(by).lazy()


def _mean_over_links(mean_obs: pl.LazyFrame) -> pl.LazyFrame:
    """``link=all`` of mean metrics: mean of per-link means, its error with links as strata."""
    per_link = mean_obs.group_by([*KEYS, "link"], maintain_order=True).agg(
        pl.col("value").mean().alias("link_mean"),
        pl.col("value").var(ddof=1).alias("link_var"),
        pl.len().alias("link_n"),
    ).with_columns((pl.col("link_var") / pl.col("link_n")).alias("weight"))
    strata = in_order(per_link, [*KEYS, "link"]).group_by(KEYS, maintain_order=True).agg(
        pl.col("link_mean").mean().alias("value"),
        pl.col("link_mean").std(ddof=1).alias("links_sd"),
        pl.len().alias("links"),
        pl.col("link_n").min().alias("min_reps"),
        pl.col("link_n").sum().alias("reps"),
        pl.col("weight").sum().alias("weight_sum"),
        (pl.col("weight") ** 2 / (pl.col("link_n") - 1)).sum().alias("weight_sq"),
    )
    links = pl.col("links").cast(pl.Float64)
    stratified = pl.col("min_reps") >= 2
    by_links = pl.col("links") >= 2
    welch = pl.when(pl.col("weight_sq") > 0).then(
        pl.col("weight_sum") ** 2 / pl.col("weight_sq")
    ).otherwise((pl.col("reps") - pl.col("links")).cast(pl.Float64))
    none = pl.lit(None, dtype=pl.Float64)
    return (
        mean_obs.group_by(KEYS, maintain_order=True)
        .agg(pl.len().alias("n"), *spread("value"))
        .join(strata, on=KEYS, how="inner")
        .with_columns(
            pl.lit(ALL).alias("link"),
            pl.when(stratified).then(pl.col("weight_sum").sqrt() / links)
            .when(by_links).then(pl.col("links_sd") / links.sqrt())
            .otherwise(none).alias(SE),
            pl.when(stratified).then(welch)
            .when(by_links).then(links - 1)
            .otherwise(none).alias(DF),
            none.alias("ci_low"),
            none.alias("ci_high"),
            pl.when(stratified & (pl.col("links") == 1)).then(pl.lit(T))
            .when(stratified).then(pl.lit(T_STRATA))
            .when(by_links).then(pl.lit(T_LINKS))
            .otherwise(pl.lit(None, dtype=pl.String)).alias(METHOD),
        )
    )
