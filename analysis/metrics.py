"""The tidy metrics table: one row per (vpn, profile, test, metric, link)."""

from __future__ import annotations

import polars as pl

from analysis.aggregate import aggregate
from analysis.catalogue import METRIC_COLUMNS, spec_for
from analysis.dataset import Dataset
from analysis.derived import (
    ROW_COLUMNS,
    scaling_factor,
    spike_ratio,
    success_rows,
    throughput_pct_internal,
    time_rows,
)
from analysis.intervals import PRIVATE_COLUMNS, apply_t_intervals
from analysis.ordering import link_order, profile_order, vpn_order


def compute_metrics(dataset: Dataset) -> pl.DataFrame:
    """Every metric of the catalogue that the dataset supports, in a stable order."""
    return compute_metric_rows(dataset).select(METRIC_COLUMNS)


def compute_metric_rows(dataset: Dataset) -> pl.DataFrame:
    """The metrics table plus each row's standard error and degrees of freedom (``_se``,
    ``_df``), which ``vpn-bench compare`` needs to combine two runs' uncertainties."""
    measured = aggregate(dataset.observations).select(ROW_COLUMNS)
    parts = [
        measured,
        throughput_pct_internal(measured),
        spike_ratio(measured),
        scaling_factor(measured),
    ]
    if not dataset.outcomes.is_empty():
        parts.append(success_rows(dataset.outcomes))
    if not dataset.phases.is_empty():
        parts.append(time_rows(dataset.phases))
    rows = pl.concat(parts, how="vertical_relaxed")
    units = {metric: spec_for(metric).unit for metric in rows["metric"].unique().to_list()}
    rows = rows.with_columns(pl.col("metric").replace_strict(units).alias("unit"))
    return sort_metrics(apply_t_intervals(rows), dataset.hosts).select(
        *METRIC_COLUMNS, *PRIVATE_COLUMNS)


def _rank(column: str, order: list[str]) -> pl.Expr:
    return pl.col(column).replace_strict(
        {name: index for index, name in enumerate(order)}, return_dtype=pl.Int64
    )


def sort_metrics(rows: pl.DataFrame, hosts: tuple[str, ...]) -> pl.DataFrame:
    """Reference VPN first, profiles by severity, links in ring order with ``all`` last."""
    if rows.is_empty():
        return rows
    vpns = vpn_order(rows["vpn"].unique().to_list())
    profiles = profile_order(rows["profile"].unique().to_list())
    links = link_order(rows["link"].unique().to_list(), hosts)
    return (
        rows.with_columns(
            _rank("vpn", vpns).alias("_vpn"),
            _rank("profile", profiles).alias("_profile"),
            _rank("link", links).alias("_link"),
        )
        .sort(["_vpn", "_profile", "test", "metric", "_link"])
        .drop("_vpn", "_profile", "_link")
    )
