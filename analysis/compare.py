"""Run comparison: the change of every metric from a baseline run, with its 95 % interval.

Pure functions on metric-row frames (``compute_metric_rows``: the metrics table with each
row's standard error ``_se`` and degrees of freedom ``_df``). Only ``link=all`` rows are
compared: a VPN's figure for a profile and metric. See docs/analysis.md, "Comparing runs".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from analysis.catalogue import ALL
from analysis.intervals import DF, SE, WILSON, t_quantile
from analysis.ordering import profile_order, vpn_order
from harness.vpns.registry import by_name_or_alias

KEYS = ("vpn", "profile", "test", "metric")
WELCH = "welch-t"
MOVER = "mover-wilson"

INCREASE, DECREASE, NOISE, NO_INTERVAL = "increase", "decrease", "within noise", "no interval"

COMPARE_COLUMNS: tuple[str, ...] = (
    "baseline", "run", "vpn", "profile", "test", "metric", "unit",
    "baseline_value", "baseline_n", "value", "n",
    "change", "change_low", "change_high", "change_pct", "change_pct_low", "change_pct_high",
    "p_value", "signal", "beyond_noise", "verdict", "method",
)
"""The columns of ``compare.csv`` (a contract like the metrics table's)."""

LEFT_OUT_COLUMNS: tuple[str, ...] = ("baseline", "run", "kind", "name", "only_in")


@dataclass(frozen=True)
class RunRows:
    """One compared input: its label (for tables and figures) and its metric rows."""

    label: str
    rows: pl.DataFrame


@dataclass(frozen=True)
class Comparison:
    table: pl.DataFrame
    left_out: pl.DataFrame


def canonical_vpn(name: str) -> str:
    """One name per VPN across datasets: the registry's (legacy ``Wireguard`` and our
    ``wireguard`` are the same VPN), else the name lower-cased."""
    known = by_name_or_alias(name)
    return known.name if known is not None else name.lower()


def _comparable(rows: pl.DataFrame) -> pl.DataFrame:
    """``link=all`` rows of each VPN with canonical VPN names; NaN values count as missing.

    ``vpn=all`` roll-ups (time totals over every VPN) are left out: they change with the
    set of VPNs a run covered, not with any VPN's behaviour."""
    names = {vpn: canonical_vpn(vpn) for vpn in rows["vpn"].unique().to_list()}
    return (
        rows.filter(pl.col("link") == ALL, pl.col("vpn") != ALL, pl.col("value").is_not_null(),
                    pl.col("value").is_not_nan())
        .with_columns(pl.col("vpn").replace_strict(names, return_dtype=pl.String))
        .select(*KEYS, "unit", "value", "n", "ci_low", "ci_high", "ci_method", SE, DF)
    )


def _left_out(base: pl.DataFrame, other: pl.DataFrame, labels: tuple[str, str]) -> pl.DataFrame:
    """VPNs, profiles and metrics present in only one of the two runs."""
    rows: list[tuple[str, str, str, str, str]] = []
    for kind in ("vpn", "profile", "metric"):
        in_base, in_other = set(base[kind].to_list()), set(other[kind].to_list())
        for name in sorted(in_base - in_other):
            rows.append((*labels, kind, name, labels[0]))
        for name in sorted(in_other - in_base):
            rows.append((*labels, kind, name, labels[1]))
    return pl.DataFrame(rows, schema=dict.fromkeys(LEFT_OUT_COLUMNS, pl.String), orient="row")


def _welch(joined: pl.DataFrame) -> pl.DataFrame:
    """Welch's t interval of the difference, from each side's standard error and df."""
    se_a, se_b = pl.col(f"{SE}_a"), pl.col(SE)
    var = se_a**2 + se_b**2
    welch_df = var**2 / (se_a**4 / pl.col(f"{DF}_a") + se_b**4 / pl.col(DF))
    frame = joined.with_columns(
        var.sqrt().alias("_se_diff"),
        pl.when(var > 0).then(welch_df).otherwise(pl.min_horizontal(f"{DF}_a", DF))
        .alias("_df_diff"),
    )
    df = frame["_df_diff"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    quantile = pl.Series("_t", t_quantile(df), dtype=pl.Float64, nan_to_null=True)
    from scipy.special import stdtr  # with t_quantile: scipy only when comparing

    se = frame["_se_diff"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    change = frame["change"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic = np.where(se > 0, -np.abs(change) / se, np.nan)
    p_value = pl.Series("_p", 2.0 * stdtr(df, statistic), dtype=pl.Float64, nan_to_null=True)
    half = pl.col("_t") * pl.col("_se_diff")
    stated = half.is_not_null()
    return frame.with_columns(quantile, p_value).with_columns(
        pl.when(stated).then(pl.col("change") - half).alias("change_low"),
        pl.when(stated).then(pl.col("change") + half).alias("change_high"),
        pl.when(stated).then(pl.col("_p")).alias("p_value"),
        pl.when(stated).then(pl.lit(WELCH)).otherwise(pl.lit(None, dtype=pl.String))
        .alias("method"),
    )


def _mover(frame: pl.DataFrame) -> list[pl.Expr]:
    """Newcombe's difference of two Wilson intervals (MOVER): asymmetric bounds."""
    a, b = pl.col("value_a"), pl.col("value")
    low = pl.col("change") - ((b - pl.col("ci_low")) ** 2 + (pl.col("ci_high_a") - a) ** 2).sqrt()
    high = pl.col("change") + ((pl.col("ci_high") - b) ** 2 + (a - pl.col("ci_low_a")) ** 2).sqrt()
    both = (pl.col("ci_method") == WILSON) & (pl.col("ci_method_a") == WILSON)
    return [
        pl.when(both).then(low).otherwise(pl.col("change_low")).alias("change_low"),
        pl.when(both).then(high).otherwise(pl.col("change_high")).alias("change_high"),
        pl.when(both).then(pl.lit(MOVER)).otherwise(pl.col("method")).alias("method"),
    ]


def compare_pair(base: RunRows, other: RunRows) -> Comparison:
    """The change of every metric present in both runs, from ``base`` to ``other``."""
    a, b = _comparable(base.rows), _comparable(other.rows)
    joined = b.join(a.drop("unit"), on=list(KEYS), how="inner", suffix="_a").with_columns(
        (pl.col("value") - pl.col("value_a")).alias("change")
    )
    frame = _welch(joined)
    frame = frame.with_columns(_mover(frame))
    change, low, high = pl.col("change"), pl.col("change_low"), pl.col("change_high")
    scale = pl.when(pl.col("value_a") != 0).then(100.0 / pl.col("value_a").abs())
    toward_zero = pl.when(change >= 0).then(change - low).otherwise(high - change)
    beyond = (low > 0) | (high < 0)
    table = frame.with_columns(
        pl.lit(base.label).alias("baseline"),
        pl.lit(other.label).alias("run"),
        pl.col("value_a").alias("baseline_value"),
        pl.col("n_a").alias("baseline_n"),
        (change * scale).alias("change_pct"),
        (low * scale).alias("change_pct_low"),
        (high * scale).alias("change_pct_high"),
        pl.when(toward_zero > 0).then(change.abs() / toward_zero)
        .when(low.is_not_null() & (change != 0)).then(pl.lit(float("inf")))
        .when(low.is_not_null()).then(pl.lit(0.0)).alias("signal"),
        beyond.alias("beyond_noise"),
        pl.when(low.is_null()).then(pl.lit(NO_INTERVAL))
        .when(low > 0).then(pl.lit(INCREASE))
        .when(high < 0).then(pl.lit(DECREASE))
        .otherwise(pl.lit(NOISE)).alias("verdict"),
    ).select(COMPARE_COLUMNS)
    return Comparison(table, _left_out(a, b, (base.label, other.label)))


def rank(table: pl.DataFrame) -> pl.DataFrame:
    """Beyond noise first, most clearly so first; then within noise, then no interval;
    ties in a fixed order (VPN, profile, metric) so the output is reproducible."""
    if table.is_empty():
        return table
    vpns = {v: i for i, v in enumerate(vpn_order(table["vpn"].unique().to_list()))}
    profiles = {p: i for i, p in enumerate(profile_order(table["profile"].unique().to_list()))}
    group = (pl.when(pl.col("beyond_noise")).then(0)
             .when(pl.col("beyond_noise").not_()).then(1).otherwise(2))
    return (
        table.with_columns(
            group.alias("_group"),
            pl.col("vpn").replace_strict(vpns, return_dtype=pl.Int64).alias("_vpn"),
            pl.col("profile").replace_strict(profiles, return_dtype=pl.Int64).alias("_profile"),
        )
        .sort(["_group", "signal", "run", "_vpn", "_profile", "test", "metric"],
              descending=[False, True, False, False, False, False, False], nulls_last=True)
        .drop("_group", "_vpn", "_profile")
    )


def compare_runs(runs: list[RunRows]) -> Comparison:
    """Each run after the first against the first (the baseline), ranked."""
    base, others = runs[0], runs[1:]
    parts = [compare_pair(base, other) for other in others]
    table = rank(pl.concat([p.table for p in parts], how="vertical_relaxed"))
    left_out = pl.concat([p.left_out for p in parts], how="vertical_relaxed")
    return Comparison(table, left_out)


def run_labels(names: list[str], paths: list[str]) -> list[str]:
    """Directory names as labels; the full paths where two names collide."""
    if len(set(names)) == len(names):
        return names
    return paths
