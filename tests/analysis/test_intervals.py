"""95 % intervals of metric rows, checked against values worked out by hand.

t quantiles from a printed table: t(0.975; 1) = 12.7062047, t(0.975; 2) = 4.3026527.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from analysis.catalogue import METRIC_COLUMNS
from analysis.importers.detect import load_dataset
from analysis.intervals import shown_interval, t_quantile, upper_limit
from analysis.metrics import compute_metrics
from analysis.pipeline import canonical
from analysis.report.tables import profile_pivot
from analysis.summary import headline_rows
from harness.records.models import ResultRecord
from tests.analysis import record_factory as rf
from tests.analysis.test_metric_definitions import metrics_of

LOM_YUKI, YUKI_LUNA, LUNA_LOM = rf.RING
T1 = 12.706204736
T2 = 4.302652730


def row(metrics: pl.DataFrame, metric: str, vpn: str = "wg", link: str = "all",
        test: str | None = None) -> dict[str, object]:
    rows = metrics.filter(pl.col("metric") == metric, pl.col("vpn") == vpn,
                          pl.col("link") == link, pl.col("profile") == "baseline")
    if test is not None:
        rows = rows.filter(pl.col("test") == test)
    assert rows.height == 1, rows
    return rows.row(0, named=True)


def test_t_quantile_matches_the_printed_table() -> None:
    quantiles = t_quantile(np.array([1.0, 2.0, 10.0, 1e9, math.nan]))
    assert quantiles[:4] == pytest.approx([T1, T2, 2.228138852, 1.959963985], rel=1e-8)
    assert math.isnan(quantiles[4])


def test_contract_has_mean_and_interval_columns() -> None:
    assert {"n", "mean", "median", "ci_low", "ci_high", "ci_method"} <= set(METRIC_COLUMNS)


def test_one_link_with_repetitions_gets_a_t_interval(tmp_path: Path) -> None:
    records = [rf.tcp("wg", LOM_YUKI, 100, repetition=0), rf.tcp("wg", LOM_YUKI, 300,
                                                                  repetition=1)]
    got = row(metrics_of(tmp_path, records), "tcp.throughput_mbps", link="lom->yuki")
    # mean 200, s = 141.42, se = s / √2 = 100, df = 1
    assert got["mean"] == pytest.approx(200.0)
    assert got["ci_low"] == pytest.approx(200 - T1 * 100)
    assert got["ci_high"] == pytest.approx(200 + T1 * 100)
    assert got["ci_method"] == "t"


def test_a_single_sample_has_no_interval_never_a_zero_width_one(tmp_path: Path) -> None:
    got = row(metrics_of(tmp_path, [rf.tcp("wg", LOM_YUKI, 100)]), "tcp.throughput_mbps")
    assert got["n"] == 1 and got["value"] == pytest.approx(100.0)
    assert got["ci_low"] is None and got["ci_high"] is None and got["ci_method"] is None


def test_link_all_treats_links_as_strata_when_every_link_repeats(tmp_path: Path) -> None:
    records = [rf.tcp("wg", LOM_YUKI, 100, repetition=0), rf.tcp("wg", LOM_YUKI, 300,
                                                                  repetition=1),
               rf.tcp("wg", YUKI_LUNA, 400, repetition=0), rf.tcp("wg", YUKI_LUNA, 600,
                                                                   repetition=1)]
    got = row(metrics_of(tmp_path, records), "tcp.throughput_mbps")
    # value = (200 + 500) / 2 = 350; se = √(20000/2 + 20000/2) / 2 = 70.711;
    # Welch–Satterthwaite df = 20000² / (10000²/1 + 10000²/1) = 2
    assert got["value"] == pytest.approx(350.0)
    assert got["ci_method"] == "t-strata"
    assert got["ci_low"] == pytest.approx(350 - T2 * math.sqrt(20000) / 2)
    assert got["ci_high"] == pytest.approx(350 + T2 * math.sqrt(20000) / 2)
    assert got["ci_low"] == pytest.approx(45.7565078, rel=1e-7)


def test_link_all_uses_the_link_means_when_links_were_measured_once(tmp_path: Path) -> None:
    metrics = metrics_of(tmp_path, [rf.tcp("wg", LOM_YUKI, 100), rf.tcp("wg", YUKI_LUNA, 200),
                                    rf.tcp("wg", LUNA_LOM, 600)])
    got = row(metrics, "tcp.throughput_mbps")
    # three link values: mean 300, s = √70000, se = s/√3 = 152.75, df = 2
    assert got["ci_method"] == "t-links"
    assert got["ci_low"] == pytest.approx(-357.2410608, rel=1e-7)
    assert got["ci_high"] == pytest.approx(957.2410608, rel=1e-7)
    assert row(metrics, "tcp.throughput_mbps", link="lom->yuki")["ci_low"] is None


def test_sum_metric_interval_is_over_the_repeated_sums(tmp_path: Path) -> None:
    def member(link: tuple[str, str], mbps: float, rep: int) -> ResultRecord:
        return rf.tcp("wg", link, mbps, repetition=rep, test="parallel_tcp", group=f"g{rep}")

    records = [member(LOM_YUKI, 100, 0), member(YUKI_LUNA, 200, 0),
               member(LOM_YUKI, 200, 1), member(YUKI_LUNA, 300, 1)]
    metrics = metrics_of(tmp_path, records)
    got = row(metrics, "parallel.throughput_mbps")
    # sums 300 and 500: mean 400, se = 100, df = 1; n counts the 4 link measurements
    assert got["n"] == 4 and got["value"] == pytest.approx(400.0)
    assert got["ci_low"] == pytest.approx(400 - T1 * 100)
    assert got["ci_high"] == pytest.approx(400 + T1 * 100)
    per_link = row(metrics, "parallel.throughput_mbps", link="lom->yuki")
    assert per_link["ci_low"] == pytest.approx(150 - T1 * 50)


def test_one_repetition_of_a_sum_has_no_interval(tmp_path: Path) -> None:
    records = [rf.tcp("wg", link, 100, test="parallel_tcp", group="g0") for link in rf.RING]
    got = row(metrics_of(tmp_path, records), "parallel.throughput_mbps")
    assert got["n"] == 3 and got["ci_low"] is None and got["ci_method"] is None


def test_percent_of_internal_combines_both_errors(tmp_path: Path) -> None:
    records = [rf.tcp("Internal", LOM_YUKI, 100, repetition=0),
               rf.tcp("Internal", LOM_YUKI, 300, repetition=1),
               rf.tcp("wg", LOM_YUKI, 50, repetition=0), rf.tcp("wg", LOM_YUKI, 150,
                                                                repetition=1)]
    metrics = metrics_of(tmp_path, records)
    got = row(metrics, "tcp.throughput_pct_internal", link="lom->yuki")
    # R = 100·100/200 = 50; parts (100/200·50)² = 625 and (100·100/200²·100)² = 625;
    # se = √1250, df = 1250² / (625²/1 + 625²/1) = 2
    assert got["value"] == pytest.approx(50.0)
    assert got["ci_method"] == "delta-t"
    assert got["ci_low"] == pytest.approx(50 - T2 * math.sqrt(1250))
    assert got["ci_high"] == pytest.approx(50 + T2 * math.sqrt(1250))
    reference = row(metrics, "tcp.throughput_pct_internal", vpn="Internal", link="lom->yuki")
    assert reference["value"] == pytest.approx(100.0) and reference["ci_low"] is None


def test_success_rate_has_a_wilson_interval(tmp_path: Path) -> None:
    records = [rf.tcp("wg", LOM_YUKI, 100), rf.tcp("wg", YUKI_LUNA, 100),
               rf.failed("wg", LUNA_LOM, "tcp", "iperf3: connection refused")]
    metrics = metrics_of(tmp_path, records)
    rate = row(metrics, "run.success_rate_pct", test="tcp")
    # 2 of 3: Wilson centre (p + z²/2n)/(1 + z²/n), half z/(1 + z²/n)·√(p(1−p)/n + z²/4n²)
    assert rate["ci_method"] == "wilson"
    assert rate["ci_low"] == pytest.approx(20.76596008, rel=1e-7)
    assert rate["ci_high"] == pytest.approx(93.85080553, rel=1e-7)
    failures = row(metrics, "run.failures", test="tcp")
    assert failures["value"] == pytest.approx(1.0)
    assert failures["ci_low"] == pytest.approx(0.18447583, rel=1e-6)
    assert failures["ci_high"] == pytest.approx(2.37702120, rel=1e-6)


def test_ratios_of_the_same_pings_and_time_totals_have_no_interval(tmp_path: Path) -> None:
    records = [rf.ping("wg", LOM_YUKI, 1.0, 0.5, 2.0, 0.1, repetition=0),
               rf.ping("wg", LOM_YUKI, 1.2, 0.5, 2.0, 0.1, repetition=1)]
    metrics = metrics_of(tmp_path, records, phases=[rf.phase("benchmark", 10.0, "wg",
                                                             "baseline")])
    assert row(metrics, "ping.rtt_avg_ms", link="lom->yuki")["ci_method"] == "t"
    assert row(metrics, "ping.spike_ratio", link="lom->yuki")["ci_low"] is None
    timed = metrics.filter(pl.col("metric").str.starts_with("time."))
    assert timed.height > 0 and timed["ci_low"].null_count() == timed.height


def test_legacy_rows_have_intervals_where_links_vary(legacy_output: Path) -> None:
    csv = pl.read_csv(legacy_output / "metrics.csv")
    tcp_all = csv.filter(pl.col("metric") == "tcp.throughput_mbps", pl.col("link") == "all")
    assert tcp_all.height > 0
    assert (tcp_all["ci_method"] == "t-links").all()
    assert ((tcp_all["ci_low"] <= tcp_all["value"])
            & (tcp_all["value"] <= tcp_all["ci_high"])).all()
    single = csv.filter(pl.col("n") == 1)
    assert single["ci_low"].null_count() == single.height


def test_metrics_are_byte_identical_from_run_to_run(legacy_root: Path) -> None:
    """The product's promise: the written metrics (canonical, as write_tables writes them)
    are byte-identical however often the same input is computed; group_by returns groups
    in a varying order, and the float sums over them must not make the files vary."""
    dataset = load_dataset(legacy_root, "legacy")
    outputs = set()
    for _ in range(8):
        buffer = io.BytesIO()
        canonical(compute_metrics(dataset)).write_csv(buffer)
        outputs.add(buffer.getvalue())
    assert len(outputs) == 1


def test_shown_intervals_stay_in_the_physical_range() -> None:
    """Report and figures clip to what can be measured: nothing below 0, no share above
    100 %; a percentage of Internal may exceed 100; absent intervals stay absent."""
    rows = pl.DataFrame({
        "metric": ["tcp.throughput_mbps", "udp.lost_pct", "rist.quality_pct",
                   "tcp.throughput_pct_internal", "ping.rtt_avg_ms"],
        "ci_low": [-60.2, 76.6, 79.9, 120.0, None],
        "ci_high": [373.0, 119.0, 113.0, 160.0, None],
    })
    shown = rows.select(shown_interval(rows))
    assert shown["lo"].to_list() == [0.0, 76.6, 79.9, 120.0, None]
    assert shown["hi"].to_list() == [373.0, 100.0, 100.0, 160.0, None]
    assert upper_limit("time.deploy_pct") == 100.0
    assert upper_limit("tcp.throughput_mbps") is None


def test_section_tables_show_the_same_clipped_bounds_as_the_summary() -> None:
    """The per-section VPN × profile table and the summary print one interval per cell."""
    metrics = pl.DataFrame({
        "vpn": ["internal", "easytier"], "profile": ["low", "low"], "test": ["tcp", "tcp"],
        "metric": ["tcp.throughput_mbps"] * 2, "link": ["all", "all"],
        "value": [900.0, 156.0], "n": [3, 3], "ci_low": [880.0, -60.2],
        "ci_high": [920.0, 373.0],
    })
    table = profile_pivot(metrics, "tcp.throughput_mbps", "tcp")
    assert table is not None
    cell = dict((row[0], row[1]) for row in table.rows)["easytier"]
    assert cell == "156 [0–373] (n=3)"
    summary = headline_rows(metrics).filter(pl.col("vpn") == "easytier").row(0, named=True)
    assert (summary["lo"], summary["hi"]) == (0.0, 373.0)
