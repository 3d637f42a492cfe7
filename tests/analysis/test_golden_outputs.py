"""Golden checks of the output contract: metrics.csv columns and metric names."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from analysis.catalogue import METRIC_COLUMNS, is_known_metric

GOLDEN_COLUMNS = [
    "vpn", "profile", "test", "metric", "link", "value", "unit", "n",
    "mean", "min", "max", "median", "q1", "q3", "stddev", "ci_low", "ci_high", "ci_method",
]

GOLDEN_LEGACY_METRICS = {  # no host.busy_pct: the legacy data never measured contention
    "nix_cache.time_s",
    "parallel.retransmits", "parallel.scaling_factor", "parallel.throughput_mbps",
    "ping.jitter_ms", "ping.loss_pct", "ping.rtt_avg_ms", "ping.rtt_max_ms", "ping.rtt_min_ms",
    "ping.spike_ratio",
    "quic.handshake_ms", "quic.throughput_mbps", "quic.ttfb_ms",
    "reconnect.bringup_s", "reconnect.reboot_s", "reconnect.restart_s",
    "rist.packets_lost", "rist.packets_recovered", "rist.quality_pct",
    "run.failures", "run.success_rate_pct",
    "tcp.max_cwnd_bytes", "tcp.mss_bytes", "tcp.retransmit_rate_pct", "tcp.retransmits",
    "tcp.reverse_throughput_mbps", "tcp.throughput_mbps", "tcp.throughput_pct_internal",
    "tcp.throughput_receiver_mbps",
    "time.benchmark_pct", "time.benchmark_s", "time.deploy_pct", "time.deploy_s",
    "time.impairment_setup_pct", "time.impairment_setup_s", "time.restart_pct",
    "time.restart_s", "time.total_s", "time.tunnel_wait_pct", "time.tunnel_wait_s",
    "udp.blksize_bytes", "udp.jitter_ms", "udp.lost_pct", "udp.receiver_mbps",
    "udp.throughput_mbps",
}


def test_contract_columns_are_the_golden_ones() -> None:
    assert list(METRIC_COLUMNS) == GOLDEN_COLUMNS


def test_metrics_csv_columns_and_metric_names(legacy_output: Path) -> None:
    csv = pl.read_csv(legacy_output / "metrics.csv")
    assert csv.columns == GOLDEN_COLUMNS
    assert set(csv["metric"]) == GOLDEN_LEGACY_METRICS
    assert all(is_known_metric(m) for m in csv["metric"])
    keys = ["vpn", "profile", "test", "metric", "link"]
    assert csv.select(keys).is_duplicated().sum() == 0
    assert set(csv["profile"]) == {"baseline", "low", "medium", "high", "all"}
    links = set(csv["link"])
    assert {"lom->yuki", "yuki->luna", "luna->lom", "all", "lom", "yuki", "luna"} == links


def test_parquet_holds_the_same_table(legacy_output: Path) -> None:
    csv = pl.read_csv(legacy_output / "metrics.csv")
    parquet = pl.read_parquet(legacy_output / "metrics.parquet")
    assert parquet.columns == GOLDEN_COLUMNS
    assert parquet.height == csv.height
    assert parquet.schema["value"] == pl.Float64 and parquet.schema["n"] == pl.Int64
    joined = csv.join(parquet, on=["vpn", "profile", "test", "metric", "link"], suffix="_pq")
    assert joined.height == csv.height
    assert (joined["value"] - joined["value_pq"]).abs().max() < 1e-9  # type: ignore[operator]


def test_every_figure_is_written_in_both_formats(legacy_output: Path) -> None:
    figures = legacy_output / "figures"
    png = {p.stem for p in figures.glob("*.png")}
    svg = {p.stem for p in figures.glob("*.svg")}
    assert png == svg
    assert {"tcp_throughput", "tcp_retransmit_rate", "tcp_max_cwnd", "tcp_retransmit_vs_cwnd",
            "latency", "latency_vs_throughput", "parallel_scaling", "udp", "quic",
            "nix_cache", "rist_quality", "reconnect_per_node", "reconnect_restart",
            "degradation", "time_breakdown", "success_rate"} <= png
    assert all(p.stat().st_size > 10_000 for p in figures.iterdir())


def test_failures_csv_lists_every_failed_attempt(legacy_output: Path) -> None:
    failures = pl.read_csv(legacy_output / "failures.csv")
    assert failures.height == 157
    assert failures["reason"].null_count() == 0
