"""Metrics computed from other metrics or from outcomes and phase timings.

All functions take and return frames with the aggregated row shape
(vpn, profile, test, metric, link, value, n, spread, interval inputs), see ROW_COLUMNS.
"""

from __future__ import annotations

import polars as pl

from analysis.aggregate import in_order, spread
from analysis.catalogue import ALL, SPREAD_COLUMNS, time_metric
from analysis.intervals import (
    DF,
    INTERVAL_COLUMNS,
    METHOD,
    PRIVATE_COLUMNS,
    SE,
    WILSON,
    no_interval,
    ratio_interval,
    wilson,
)
from analysis.ordering import REFERENCE_VPN

ROW_COLUMNS = ["vpn", "profile", "test", "metric", "link", "value", "n", *SPREAD_COLUMNS,
               *PRIVATE_COLUMNS, *INTERVAL_COLUMNS]
_NO_SPREAD = [pl.lit(None, dtype=pl.Float64).alias(c) for c in SPREAD_COLUMNS]


def _metric(rows: pl.DataFrame, name: str) -> pl.DataFrame:
    return rows.filter(pl.col("metric") == name)


def _scaled_spread(factor: pl.Expr) -> list[pl.Expr]:
    """A constant positive factor scales every spread statistic the same way."""
    return [(pl.col(c) * factor).alias(c) for c in SPREAD_COLUMNS]


def _estimate(name: str) -> list[pl.Expr]:
    """A row's value with its interval inputs, renamed for :func:`ratio_interval`."""
    return [pl.col("value").alias(name), pl.col(SE).alias(f"{name}{SE}"),
            pl.col(DF).alias(f"{name}{DF}")]


def throughput_pct_internal(rows: pl.DataFrame) -> pl.DataFrame:
    """100 × TCP throughput / the reference's on the same profile and link.

    Interval: delta method over both (independent) measurements; none for the reference
    itself, whose ratio is 100 by definition."""
    throughput = _metric(rows, "tcp.throughput_mbps")
    is_reference = pl.col("vpn").str.to_lowercase() == REFERENCE_VPN
    reference = throughput.filter(is_reference).select(
        "profile", "link", *_estimate("reference")
    )
    factor = 100.0 / pl.col("reference")
    pct = (
        throughput.join(reference, on=["profile", "link"], how="inner")
        .filter(pl.col("reference") > 0)
        .with_columns(*_estimate("throughput"))
        .with_columns(
            (pl.col("value") * factor).alias("value"),
            *_scaled_spread(factor),
            pl.lit("tcp.throughput_pct_internal").alias("metric"),
            *ratio_interval("throughput", "reference", 100.0),
        )
    )
    return pl.concat([pct.filter(~is_reference).select(ROW_COLUMNS),
                      pct.filter(is_reference).with_columns(no_interval()).select(ROW_COLUMNS)])


def spike_ratio(rows: pl.DataFrame) -> pl.DataFrame:
    """Max / average RTT per link; for ``all`` the ratio of the two aggregates.

    No interval: both come from the same pings, and their covariance is not kept."""
    keys = ["vpn", "profile", "test", "link"]
    maximum = _metric(rows, "ping.rtt_max_ms").select(*keys, pl.col("value").alias("rtt_max"))
    return (
        _metric(rows, "ping.rtt_avg_ms")
        .join(maximum, on=keys, how="inner")
        .filter(pl.col("value") > 0)
        .with_columns(
            (pl.col("rtt_max") / pl.col("value")).alias("value"),
            pl.lit("ping.spike_ratio").alias("metric"),
            *_NO_SPREAD,
            *no_interval(),
        )
        .select(ROW_COLUMNS)
    )


def scaling_factor(rows: pl.DataFrame) -> pl.DataFrame:
    """Concurrent-links total over single-stream throughput (both ``link=all``).

    Interval: delta method over the two (independent) tests."""
    single = (
        _metric(rows, "tcp.throughput_mbps")
        .filter(pl.col("link") == ALL)
        .select("vpn", "profile", *_estimate("single"))
    )
    factor = 1.0 / pl.col("single")
    return (
        _metric(rows, "parallel.throughput_mbps")
        .filter(pl.col("link") == ALL)
        .join(single, on=["vpn", "profile"], how="inner")
        .filter(pl.col("single") > 0)
        .with_columns(*_estimate("total"))
        .with_columns(
            (pl.col("value") * factor).alias("value"),
            *_scaled_spread(factor),
            pl.lit("parallel.scaling_factor").alias("metric"),
            *ratio_interval("total", "single", 1.0),
        )
        .select(ROW_COLUMNS)
    )


def _rate_rows(outcomes: pl.LazyFrame, keys: list[str]) -> pl.LazyFrame:
    """Success rate and failures with the Wilson interval of the success proportion."""
    grouped = outcomes.group_by(keys).agg(
        pl.col("ok").sum().cast(pl.Float64).alias("ok_count"),
        pl.len().cast(pl.Int64).alias("n"),
    )
    low, high = wilson(pl.col("ok_count"), pl.col("n"))
    attempts = pl.col("n").cast(pl.Float64)
    method = pl.when(low.is_not_null()).then(pl.lit(WILSON)).otherwise(
        pl.lit(None, dtype=pl.String))
    private = [pl.lit(None, dtype=pl.Float64).alias(c) for c in PRIVATE_COLUMNS]
    rate = grouped.with_columns(
        pl.lit("run.success_rate_pct").alias("metric"),
        (100.0 * pl.col("ok_count") / attempts).alias("value"),
        (100.0 * low).alias("ci_low"), (100.0 * high).alias("ci_high"), method.alias(METHOD),
        *private,
    )
    failures = grouped.with_columns(
        pl.lit("run.failures").alias("metric"),
        (attempts - pl.col("ok_count")).alias("value"),
        (attempts * (1.0 - high)).alias("ci_low"), (attempts * (1.0 - low)).alias("ci_high"),
        method.alias(METHOD),
        *private,
    )
    return pl.concat([rate, failures], how="vertical_relaxed")


def success_rows(outcomes: pl.DataFrame) -> pl.DataFrame:
    """Success rate and failure count per VPN, per profile and overall, per test kind and
    over all kinds. The unit is one attempt: a test on one link in one repetition (and,
    for our records, one VPN bring-up)."""
    lazy = outcomes.lazy()
    scopes = []
    for profile_scoped in (True, False):
        for test_scoped in (True, False):
            keys = ["vpn", *(["profile"] if profile_scoped else []),
                    *(["test"] if test_scoped else [])]
            frame = _rate_rows(lazy, keys)
            if not profile_scoped:
                frame = frame.with_columns(pl.lit(ALL).alias("profile"))
            if not test_scoped:
                frame = frame.with_columns(pl.lit(ALL).alias("test"))
            scopes.append(frame.with_columns(pl.lit(ALL).alias("link"), *_NO_SPREAD))
    return pl.concat([s.select(ROW_COLUMNS) for s in scopes], how="vertical_relaxed").collect()


def time_rows(phases: pl.DataFrame) -> pl.DataFrame:
    """``time.<phase>_s`` (sum) and ``time.<phase>_pct`` (share of the scope's total).

    Scopes: (vpn, profile), (vpn, all profiles), (all VPNs, profile), (all, all).
    Phases not booked to a profile (installation) only count in the ``all``-profile
    scopes; phases not booked to a VPN only in the ``all``-VPN scopes.
    """
    lazy = phases.lazy()
    scoped = []
    for by_vpn in (True, False):
        for by_profile in (True, False):
            frame = lazy
            if by_vpn:
                frame = frame.filter(pl.col("vpn").is_not_null())
            else:
                frame = frame.with_columns(pl.lit(ALL).alias("vpn"))
            if by_profile:
                frame = frame.filter(pl.col("profile").is_not_null())
            else:
                frame = frame.with_columns(pl.lit(ALL).alias("profile"))
            scoped.append(frame)
    keys = ["vpn", "profile"]
    per_phase = (
        pl.concat(scoped, how="vertical_relaxed")
        .pipe(in_order, [*keys, "phase", "duration_s"])  # float sums in a fixed order
        .group_by([*keys, "phase"])
        .agg(
            pl.col("duration_s").sum().alias("seconds"),
            pl.len().cast(pl.Int64).alias("n"),
            *spread("duration_s"),
        )
        .pipe(in_order, [*keys, "phase"])
        .with_columns(pl.col("seconds").sum().over(keys).alias("scope_total"))
    )
    seconds = per_phase.with_columns(
        pl.col("seconds").alias("value"),
        (pl.lit("time.") + pl.col("phase") + pl.lit("_s")).alias("metric"),
        *no_interval(),
    )
    percent = per_phase.with_columns(
        pl.when(pl.col("scope_total") > 0)
        .then(100.0 * pl.col("seconds") / pl.col("scope_total"))
        .otherwise(None)
        .alias("value"),
        (pl.lit("time.") + pl.col("phase") + pl.lit("_pct")).alias("metric"),
        *_NO_SPREAD,
        *no_interval(),
    )
    totals = (
        per_phase.group_by(keys)
        .agg(pl.col("seconds").sum().alias("value"), pl.col("n").sum().alias("n"))
        .with_columns(pl.lit(time_metric("total", "s")).alias("metric"), *_NO_SPREAD,
                      *no_interval())
    )
    common = [pl.lit(ALL).alias("test"), pl.lit(ALL).alias("link")]
    return pl.concat(
        [f.with_columns(*common).select(ROW_COLUMNS) for f in (seconds, percent, totals)],
        how="vertical_relaxed",
    ).collect()



def busy_rows(outcomes: pl.DataFrame) -> pl.DataFrame:
    """``host.busy_pct`` per (VPN, profile): the share of its test cells (VPN bring-ups
    excluded) measured on a host flagged busy; n is the number of cells where contention
    was measured. Cells without a measurement (null ``busy``) are left out, and a VPN and
    profile with none measured gets no row: unmeasured is not "0 % busy"."""
    cells = outcomes.lazy().filter(pl.col("test") != "bringup", pl.col("busy").is_not_null())
    low, high = wilson(pl.col("busy_count"), pl.col("n"))
    private = [pl.lit(None, dtype=pl.Float64).alias(c) for c in PRIVATE_COLUMNS]
    return (
        cells.group_by("vpn", "profile")
        .agg(
            pl.col("busy").cast(pl.Float64).sum().alias("busy_count"),
            pl.len().cast(pl.Int64).alias("n"),
        )
        .pipe(in_order, ["vpn", "profile"])
        .with_columns(
            (100.0 * pl.col("busy_count") / pl.col("n").cast(pl.Float64)).alias("value"),
            pl.lit(ALL).alias("test"),
            pl.lit("host.busy_pct").alias("metric"),
            pl.lit(ALL).alias("link"),
            *_NO_SPREAD,
            *private,
            (100.0 * low).alias("ci_low"),
            (100.0 * high).alias("ci_high"),
            pl.when(low.is_not_null()).then(pl.lit(WILSON))
            .otherwise(pl.lit(None, dtype=pl.String)).alias(METHOD),
        )
        .select(ROW_COLUMNS)
        .collect()
    )
