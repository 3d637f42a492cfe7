"""95 % confidence intervals of metric rows (see docs/analysis.md, "Confidence intervals").

Every producer of metric rows states the standard error of its ``value`` and the degrees
of freedom behind it (the private columns ``_se`` and ``_df``) and names its method; this
module turns those into Student's t intervals in one vectorised step. Closed forms, not a
bootstrap: the rows have few samples (3 links, a handful of repetitions), where a
percentile bootstrap cannot reach beyond the observed range and is too narrow; and a
closed form is byte-reproducible without seeds.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from analysis.catalogue import is_known_metric, spec_for

CONFIDENCE = 0.95
SE = "_se"
DF = "_df"
METHOD = "ci_method"
INTERVAL_COLUMNS: tuple[str, ...] = ("ci_low", "ci_high", METHOD)
PRIVATE_COLUMNS: tuple[str, ...] = (SE, DF)

#: Values of ``ci_method``.
T = "t"
T_STRATA = "t-strata"
T_LINKS = "t-links"
DELTA = "delta-t"
WILSON = "wilson"

Z_975 = 1.959963984540054
"""The standard normal's 97.5 % quantile (two-sided 95 %)."""


def t_quantile(df: np.ndarray) -> np.ndarray:
    """Student's t 97.5 % quantile for each (possibly fractional) ``df``; NaN stays NaN."""
    # scipy comes with plotnine; imported here so that loading the analysis stays light.
    from scipy.special import stdtrit

    quantiles: np.ndarray = stdtrit(df, 0.5 + CONFIDENCE / 2)
    return quantiles


def no_interval() -> list[pl.Expr]:
    """Interval inputs for a row that has none (reason documented per metric kind)."""
    return [
        pl.lit(None, dtype=pl.Float64).alias(SE),
        pl.lit(None, dtype=pl.Float64).alias(DF),
        pl.lit(None, dtype=pl.Float64).alias("ci_low"),
        pl.lit(None, dtype=pl.Float64).alias("ci_high"),
        pl.lit(None, dtype=pl.String).alias(METHOD),
    ]


def sample_mean_interval(stddev: pl.Expr, count: pl.Expr) -> list[pl.Expr]:
    """t interval inputs of a mean of ``count`` independent samples; none when count < 2."""
    enough = count >= 2
    return [
        pl.when(enough).then(stddev / count.cast(pl.Float64).sqrt()).alias(SE),
        pl.when(enough).then((count - 1).cast(pl.Float64)).alias(DF),
        pl.lit(None, dtype=pl.Float64).alias("ci_low"),
        pl.lit(None, dtype=pl.Float64).alias("ci_high"),
        pl.when(enough).then(pl.lit(T)).otherwise(pl.lit(None, dtype=pl.String)).alias(METHOD),
    ]


def ratio_interval(num: str, den: str, scale: float) -> list[pl.Expr]:
    """Delta-method inputs for ``scale × num / den`` of two independent estimates.

    Expects the columns ``num``, ``den`` and their ``<name>_se``, ``<name>_df``. The
    variance is the first-order (delta) one; the degrees of freedom the
    Welch–Satterthwaite combination of both parts. No interval when either part has none.
    """
    a, b = pl.col(num), pl.col(den)
    part_a = (scale / b * pl.col(f"{num}{SE}")) ** 2
    part_b = (scale * a / b**2 * pl.col(f"{den}{SE}")) ** 2
    total = part_a + part_b
    welch = total**2 / (part_a**2 / pl.col(f"{num}{DF}") + part_b**2 / pl.col(f"{den}{DF}"))
    df = pl.when(total > 0).then(welch).otherwise(
        pl.min_horizontal(pl.col(f"{num}{DF}"), pl.col(f"{den}{DF}"))
    )
    return [
        total.sqrt().alias(SE),
        df.alias(DF),
        pl.lit(None, dtype=pl.Float64).alias("ci_low"),
        pl.lit(None, dtype=pl.Float64).alias("ci_high"),
        pl.when(total.is_not_null()).then(pl.lit(DELTA))
        .otherwise(pl.lit(None, dtype=pl.String)).alias(METHOD),
    ]


def wilson(successes: pl.Expr, attempts: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """Wilson score interval of a proportion (as fractions 0..1); none for one attempt."""
    n = attempts.cast(pl.Float64)
    p = successes / n
    z2 = Z_975**2
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z_975 / (1 + z2 / n) * (p * (1 - p) / n + z2 / (4 * n**2)).sqrt()
    enough = attempts >= 2
    return (
        pl.when(enough).then((centre - half).clip(0.0, 1.0)),
        pl.when(enough).then((centre + half).clip(0.0, 1.0)),
    )


def apply_t_intervals(rows: pl.DataFrame) -> pl.DataFrame:
    """Fill ``ci_low``/``ci_high`` = value ∓ t(df) × se where a row states se and df."""
    df = rows[DF].cast(pl.Float64).fill_null(math.nan).to_numpy()
    quantile = pl.Series("_t", t_quantile(df), dtype=pl.Float64, nan_to_null=True)
    half = pl.col("_t") * pl.col(SE)
    stated = pl.col(SE).is_not_null() & pl.col("_t").is_not_null()
    return (
        rows.with_columns(quantile)
        .with_columns(
            pl.when(stated).then(pl.col("value") - half).otherwise(pl.col("ci_low"))
            .alias("ci_low"),
            pl.when(stated).then(pl.col("value") + half).otherwise(pl.col("ci_high"))
            .alias("ci_high"),
        )
        .drop("_t")
        .with_columns(
            pl.when(pl.col("ci_low").is_not_null()).then(pl.col(METHOD)).alias(METHOD)
        )
    )


PCT_OF_REFERENCE = "_pct_internal"
"""Name suffix of the percentages relative to Internal: not a share, may exceed 100."""


def upper_limit(metric: str) -> float | None:
    """The physical upper bound of ``metric``: 100 for a share (unit %), none otherwise.

    A percentage of Internal's value is a ratio, not a share, and can legitimately be
    above 100; unknown metrics get no bound."""
    if not is_known_metric(metric) or metric.endswith(PCT_OF_REFERENCE):
        return None
    return 100.0 if spec_for(metric).unit == "%" else None


def shown_interval(rows: pl.DataFrame) -> list[pl.Expr]:
    """``lo``/``hi`` to display: ``ci_low``/``ci_high`` clipped to the metric's physical
    range (every metric is non-negative, shares are at most 100 %).

    A t interval on few samples can reach beyond what can be measured (a throughput
    below 0, a loss above 100 %); the report's tables and figures show the clipped
    bounds, metrics.csv keeps the raw ones. Needs a ``metric`` column; null bounds
    when the frame has no interval columns."""
    if "ci_low" not in rows.columns or "ci_high" not in rows.columns:
        none = pl.lit(None, dtype=pl.Float64)
        return [none.alias("lo"), none.alias("hi")]
    limits = {m: upper_limit(m) for m in rows["metric"].unique().to_list()}
    upper = pl.col("metric").replace_strict(limits, default=None, return_dtype=pl.Float64)
    high = pl.col("ci_high")
    return [
        pl.col("ci_low").clip(lower_bound=0.0).alias("lo"),
        pl.when(upper.is_not_null() & (high > upper)).then(upper).otherwise(high).alias("hi"),
    ]
