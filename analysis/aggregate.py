"""Observations → metric rows: per-link rows plus the ``link=all`` aggregate.

Rules (see docs/analysis.md):
* per link: value = mean over that link's samples (repetitions);
* ``all`` for mean metrics: value = mean of the per-link means, spread over every sample;
* ``all`` for sum metrics (parallel TCP): value = mean over samples of the sum across
  the concurrently measured links, spread over those sums, n = link values summed;
* observations recorded directly as ``link=all`` are aggregated as they are.
"""

from __future__ import annotations

import polars as pl

from analysis.catalogue import ALL, KEY_COLUMNS, METRICS

KEYS = list(KEY_COLUMNS)


def spread(column: str) -> list[pl.Expr]:
    """Min, max, median, quartiles (linear interpolation) and sample stddev of a column."""
    values = pl.col(column)
    return [
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
    lazy = observations.lazy()
    is_sum = pl.col("metric").is_in(_sum_metrics())
    per_link_obs = lazy.filter(pl.col("link") != ALL)

    per_link = per_link_obs.group_by([*KEYS, "link"]).agg(
        pl.col("value").mean().alias("value"), pl.len().alias("n"), *spread("value")
    )
    direct_all = (
        lazy.filter(pl.col("link") == ALL)
        .group_by(KEYS)
        .agg(pl.col("value").mean().alias("value"), pl.len().alias("n"), *spread("value"))
        .with_columns(pl.lit(ALL).alias("link"))
    )
    mean_obs = per_link_obs.filter(~is_sum)
    link_means = (
        mean_obs.group_by([*KEYS, "link"])
        .agg(pl.col("value").mean().alias("link_mean"))
        .group_by(KEYS)
        .agg(pl.col("link_mean").mean().alias("value"))
    )
    mean_all = (
        mean_obs.group_by(KEYS)
        .agg(pl.len().alias("n"), *spread("value"))
        .join(link_means, on=KEYS, how="inner")
        .with_columns(pl.lit(ALL).alias("link"))
    )
    sum_all = (
        per_link_obs.filter(is_sum)
        .group_by([*KEYS, "sample"])
        .agg(pl.col("value").sum().alias("total"), pl.len().alias("summed"))
        .group_by(KEYS)
        .agg(
            pl.col("total").mean().alias("value"),
            pl.col("summed").sum().alias("n"),
            *spread("total"),
        )
        .with_columns(pl.lit(ALL).alias("link"))
    )
    columns = [*KEYS, "link", "value", "n", "min", "max", "median", "q1", "q3", "stddev"]
    frames = [frame.select(columns) for frame in (per_link, direct_all, mean_all, sum_all)]
    return (
        pl.concat(frames, how="vertical_relaxed")
        .with_columns(pl.col("n").cast(pl.Int64))
        .collect()
    )
