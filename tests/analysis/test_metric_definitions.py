"""Metric definitions checked on hand-made records whose answers are worked out by hand."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import polars as pl
import pytest

from analysis.pipeline import analyse
from harness.records.models import PhaseTiming, ResultRecord, Status
from tests.analysis import record_factory as rf

LOM_YUKI, YUKI_LUNA, LUNA_LOM = rf.RING


def value(metrics: pl.DataFrame, metric: str, vpn: str = "wg", link: str = "all",
          profile: str = "baseline", column: str = "value", test: str | None = None) -> float:
    rows = metrics.filter(pl.col("metric") == metric, pl.col("vpn") == vpn,
                          pl.col("link") == link, pl.col("profile") == profile)
    if test is not None:
        rows = rows.filter(pl.col("test") == test)
    assert rows.height == 1, f"expected one row for {metric}/{vpn}/{link}, got {rows}"
    result = rows[column][0]
    assert result is not None
    return float(result)


def metrics_of(tmp_path: Path, records: list[ResultRecord],
               phases: Sequence[PhaseTiming] = ()) -> pl.DataFrame:
    rf.write_run(tmp_path / "run1", records, phases=phases)
    return analyse(tmp_path).metrics


def test_tcp_throughput_is_mean_over_links_with_spread_across_links(tmp_path: Path) -> None:
    metrics = metrics_of(tmp_path, [rf.tcp("wg", LOM_YUKI, 100), rf.tcp("wg", YUKI_LUNA, 200),
                                    rf.tcp("wg", LUNA_LOM, 600)])
    assert value(metrics, "tcp.throughput_mbps") == pytest.approx(300.0)
    assert value(metrics, "tcp.throughput_mbps", link="yuki->luna") == pytest.approx(200.0)
    assert value(metrics, "tcp.throughput_mbps", column="n") == 3
    assert value(metrics, "tcp.throughput_mbps", column="min") == pytest.approx(100.0)
    assert value(metrics, "tcp.throughput_mbps", column="max") == pytest.approx(600.0)
    assert value(metrics, "tcp.throughput_mbps", column="median") == pytest.approx(200.0)
    assert value(metrics, "tcp.throughput_mbps", column="q1") == pytest.approx(150.0)
    assert value(metrics, "tcp.throughput_mbps", column="q3") == pytest.approx(400.0)
    # sample stddev of 100, 200, 600: sqrt(((-200)² + (-100)² + 300²) / 2)
    assert value(metrics, "tcp.throughput_mbps", column="stddev") == pytest.approx(
        math.sqrt(70_000))


def test_repetitions_average_per_link_first(tmp_path: Path) -> None:
    records = [rf.tcp("wg", LOM_YUKI, 100, repetition=0), rf.tcp("wg", LOM_YUKI, 300,
                                                                  repetition=1),
               rf.tcp("wg", YUKI_LUNA, 400, repetition=0)]
    metrics = metrics_of(tmp_path, records)
    assert value(metrics, "tcp.throughput_mbps", link="lom->yuki") == pytest.approx(200.0)
    assert value(metrics, "tcp.throughput_mbps", link="lom->yuki", column="n") == 2
    # link=all: mean of the per-link means (200, 400), not of the three samples
    assert value(metrics, "tcp.throughput_mbps") == pytest.approx(300.0)
    assert value(metrics, "tcp.throughput_mbps", column="n") == 3


def test_tcp_detail_metrics(tmp_path: Path) -> None:
    records = [rf.tcp("wg", LOM_YUKI, 100, retransmits=10, bytes_sent=1448 * 1000, mss=1448,
                      cwnd=64 * 1024, receiver_mbps=99, reverse_mbps=50),
               rf.tcp("wg", YUKI_LUNA, 100, retransmits=0, bytes_sent=1448 * 1000, mss=1448,
                      cwnd=32 * 1024, receiver_mbps=97, reverse_mbps=70)]
    metrics = metrics_of(tmp_path, records)
    # 10 retransmits of 1000 estimated segments = 1 %; the other link 0 % → mean 0.5 %
    assert value(metrics, "tcp.retransmit_rate_pct", link="lom->yuki") == pytest.approx(1.0)
    assert value(metrics, "tcp.retransmit_rate_pct") == pytest.approx(0.5)
    assert value(metrics, "tcp.retransmits") == pytest.approx(5.0)
    assert value(metrics, "tcp.max_cwnd_bytes") == pytest.approx(48 * 1024)
    assert value(metrics, "tcp.mss_bytes") == pytest.approx(1448)
    assert value(metrics, "tcp.throughput_receiver_mbps") == pytest.approx(98.0)
    assert value(metrics, "tcp.reverse_throughput_mbps") == pytest.approx(60.0)


def test_failed_tests_never_enter_means_but_count_in_success_rate(tmp_path: Path) -> None:
    records = [rf.tcp("wg", LOM_YUKI, 100), rf.tcp("wg", YUKI_LUNA, 300),
               rf.failed("wg", LUNA_LOM, "tcp", "iperf3: connection refused")]
    analysis_dir = tmp_path
    rf.write_run(analysis_dir / "run1", records)
    result = analyse(analysis_dir)
    metrics = result.metrics
    assert value(metrics, "tcp.throughput_mbps") == pytest.approx(200.0)
    assert value(metrics, "tcp.throughput_mbps", column="n") == 2
    rate = value(metrics, "run.success_rate_pct", test="tcp")
    assert rate == pytest.approx(100 * 2 / 3)
    assert value(metrics, "run.success_rate_pct", test="tcp", column="n") == 3
    assert value(metrics, "run.failures", test="all") == 1
    failures = result.dataset.outcomes.filter(~pl.col("ok"))
    assert failures["reason"].to_list() == ["iperf3: connection refused"]
    assert failures["link"].to_list() == ["luna->lom"]


def test_success_rate_per_profile_and_overall(tmp_path: Path) -> None:
    records = [rf.tcp("wg", LOM_YUKI, 100), rf.tcp("wg", LOM_YUKI, 10, profile="high"),
               rf.failed("wg", YUKI_LUNA, "tcp", "timeout", profile="high",
                         status=Status.TIMEOUT),
               rf.failed("wg", LUNA_LOM, "tcp", "timeout", profile="high",
                         status=Status.TIMEOUT)]
    metrics = metrics_of(tmp_path, records)
    assert value(metrics, "run.success_rate_pct", test="all") == 100.0
    assert value(metrics, "run.success_rate_pct", profile="high", test="all") == pytest.approx(
        100 / 3)
    assert value(metrics, "run.success_rate_pct", profile="all", test="all") == 50.0
    assert value(metrics, "run.failures", profile="all", test="tcp") == 2


def test_parallel_sums_group_and_scales_against_single_stream(tmp_path: Path) -> None:
    group = "parallel-1"
    records = [
        rf.tcp("wg", LOM_YUKI, 300, test="parallel_tcp", group=group, retransmits=4),
        rf.tcp("wg", YUKI_LUNA, 250, test="parallel_tcp", group=group, retransmits=6),
        rf.failed("wg", LUNA_LOM, "parallel_tcp", "no route", group=group),
        rf.tcp("wg", LOM_YUKI, 500), rf.tcp("wg", YUKI_LUNA, 500), rf.tcp("wg", LUNA_LOM, 500),
    ]
    metrics = metrics_of(tmp_path, records)
    assert value(metrics, "parallel.throughput_mbps") == pytest.approx(550.0)
    assert value(metrics, "parallel.throughput_mbps", column="n") == 2  # links summed
    assert value(metrics, "parallel.throughput_mbps", link="yuki->luna") == pytest.approx(250)
    assert value(metrics, "parallel.retransmits") == 10
    assert value(metrics, "parallel.scaling_factor") == pytest.approx(550 / 500)


def test_parallel_repetitions_average_the_group_sums(tmp_path: Path) -> None:
    records = [
        rf.tcp("wg", LOM_YUKI, 100, test="parallel_tcp", group="g0", repetition=0),
        rf.tcp("wg", YUKI_LUNA, 100, test="parallel_tcp", group="g0", repetition=0),
        rf.tcp("wg", LOM_YUKI, 200, test="parallel_tcp", group="g1", repetition=1),
        rf.tcp("wg", YUKI_LUNA, 200, test="parallel_tcp", group="g1", repetition=1),
    ]
    metrics = metrics_of(tmp_path, records)
    assert value(metrics, "parallel.throughput_mbps") == pytest.approx(300.0)  # (200+400)/2
    assert value(metrics, "parallel.throughput_mbps", column="min") == pytest.approx(200.0)
    assert value(metrics, "parallel.throughput_mbps", column="max") == pytest.approx(400.0)


def test_throughput_relative_to_internal(tmp_path: Path) -> None:
    records = [rf.tcp("internal", LOM_YUKI, 1000), rf.tcp("internal", YUKI_LUNA, 500),
               rf.tcp("wg", LOM_YUKI, 800), rf.tcp("wg", YUKI_LUNA, 500)]
    metrics = metrics_of(tmp_path, records)
    assert value(metrics, "tcp.throughput_pct_internal", link="lom->yuki") == pytest.approx(80)
    assert value(metrics, "tcp.throughput_pct_internal", link="yuki->luna") == pytest.approx(
        100)
    # link=all: ratio of the aggregates, 650 / 750
    assert value(metrics, "tcp.throughput_pct_internal") == pytest.approx(100 * 650 / 750)
    assert value(metrics, "tcp.throughput_pct_internal", vpn="internal") == pytest.approx(100)


def test_ping_metrics_and_spike_ratio(tmp_path: Path) -> None:
    records = [rf.ping("wg", LOM_YUKI, avg=2.0, low=1.0, high=10.0, mdev=0.5, loss_pct=0.0),
               rf.ping("wg", YUKI_LUNA, avg=4.0, low=3.0, high=6.0, mdev=1.5, loss_pct=2.0)]
    metrics = metrics_of(tmp_path, records)
    assert value(metrics, "ping.rtt_avg_ms") == pytest.approx(3.0)
    assert value(metrics, "ping.rtt_min_ms") == pytest.approx(2.0)
    assert value(metrics, "ping.rtt_max_ms") == pytest.approx(8.0)
    assert value(metrics, "ping.jitter_ms") == pytest.approx(1.0)
    assert value(metrics, "ping.loss_pct") == pytest.approx(1.0)
    assert value(metrics, "ping.spike_ratio", link="lom->yuki") == pytest.approx(5.0)
    assert value(metrics, "ping.spike_ratio") == pytest.approx(8.0 / 3.0)


def test_udp_metrics(tmp_path: Path) -> None:
    records = [rf.udp("wg", LOM_YUKI, 900, 600, lost_pct=33.0, jitter_ms=0.2, blksize=1368),
               rf.udp("wg", YUKI_LUNA, 700, 700, lost_pct=1.0, jitter_ms=0.4, blksize=1368)]
    metrics = metrics_of(tmp_path, records)
    assert value(metrics, "udp.throughput_mbps") == pytest.approx(800)
    assert value(metrics, "udp.receiver_mbps") == pytest.approx(650)
    assert value(metrics, "udp.lost_pct") == pytest.approx(17.0)
    assert value(metrics, "udp.jitter_ms") == pytest.approx(0.3)
    assert value(metrics, "udp.blksize_bytes") == 1368


def test_bringup_from_sessions_and_failed_bringup_listed(tmp_path: Path) -> None:
    sessions = [rf.session("wg", 2.0), rf.session("wg", 4.0, repetition=1),
                rf.session("wg", None, repetition=2, status=Status.FAILED,
                           error="handshake never completed")]
    rf.write_run(tmp_path / "run1", [rf.tcp("wg", LOM_YUKI, 100)], sessions=sessions)
    result = analyse(tmp_path)
    assert value(result.metrics, "reconnect.bringup_s") == pytest.approx(3.0)
    assert value(result.metrics, "reconnect.bringup_s", column="n") == 2
    reasons = result.dataset.outcomes.filter(~pl.col("ok"))["reason"].to_list()
    assert reasons == ["handshake never completed"]


def test_time_phases_sum_and_share(tmp_path: Path) -> None:
    phases = [rf.phase("deploy", 30, "wg", "baseline"), rf.phase("benchmark", 60, "wg",
                                                                 "baseline"),
              rf.phase("benchmark", 30, "wg", "baseline"), rf.phase("tunnel_wait", 5, "wg",
                                                                    "high"),
              rf.phase("setup", 10, None, None)]
    metrics = metrics_of(tmp_path, [rf.tcp("wg", LOM_YUKI, 100)], phases=phases)
    assert value(metrics, "time.benchmark_s") == 90
    assert value(metrics, "time.benchmark_s", column="n") == 2
    assert value(metrics, "time.benchmark_pct") == pytest.approx(75.0)  # 90 of 120
    assert value(metrics, "time.deploy_pct", profile="all") == pytest.approx(100 * 30 / 125)
    assert value(metrics, "time.total_s", profile="all") == 125
    # the unattributed setup phase only counts in the all-VPN scope
    assert value(metrics, "time.setup_s", vpn="all", profile="all") == 10
    assert value(metrics, "time.total_s", vpn="all", profile="all") == 135


def test_several_run_dirs_are_combined(tmp_path: Path) -> None:
    rf.write_run(tmp_path / "a", [rf.tcp("wg", LOM_YUKI, 100, run_id="a")], run_id="a")
    rf.write_run(tmp_path / "b", [rf.tcp("wg", LOM_YUKI, 300, run_id="b")], run_id="b")
    metrics = analyse(tmp_path).metrics
    assert value(metrics, "tcp.throughput_mbps") == pytest.approx(200.0)
    assert value(metrics, "tcp.throughput_mbps", column="n") == 2
    assert value(analyse(tmp_path / "a").metrics, "tcp.throughput_mbps") == pytest.approx(100)


def test_busy_cells_are_flagged_and_counted_per_vpn_and_profile(tmp_path: Path) -> None:
    """One of wg's three baseline cells was busy (a failed one counts too); the high
    profile's cell was not; internal's records predate contention sampling."""
    records = [rf.flagged(rf.tcp("wg", LOM_YUKI, 100), busy=True),
               rf.flagged(rf.tcp("wg", YUKI_LUNA, 100), busy=False),
               rf.flagged(rf.failed("wg", LUNA_LOM, "ping", "no replies"), busy=True),
               rf.flagged(rf.tcp("wg", LOM_YUKI, 10, profile="high"), busy=False),
               rf.tcp("internal", LOM_YUKI, 900)]
    rf.write_run(tmp_path / "run1", records, sessions=[rf.session("wg", 1.0)])
    result = analyse(tmp_path)
    outcomes = result.dataset.outcomes
    busy = outcomes.filter(pl.col("busy")).select("vpn", "test", "link").rows()
    assert sorted(busy) == [("wg", "ping", "luna->lom"), ("wg", "tcp", "lom->yuki")]
    metrics = result.metrics
    assert value(metrics, "host.busy_pct", test="all") == pytest.approx(200 / 3)
    assert value(metrics, "host.busy_pct", test="all", column="n") == 3  # bring-up not a cell
    assert value(metrics, "host.busy_pct", profile="high", test="all") == 0.0
    assert set(metrics.filter(pl.col("metric") == "host.busy_pct")["unit"]) == {"%"}


def test_unmeasured_contention_is_null_not_quiet(tmp_path: Path) -> None:
    """Records without ``contention`` (written before it was sampled) are neither busy nor
    quiet: ``busy`` is null, they do not count in host.busy_pct's n, and a VPN/profile
    with no measured cell gets no host.busy_pct row at all (not "0 %")."""
    records = [rf.flagged(rf.tcp("wg", LOM_YUKI, 100), busy=True),
               rf.flagged(rf.tcp("wg", YUKI_LUNA, 100), busy=False),
               rf.tcp("wg", LUNA_LOM, 100),
               rf.tcp("internal", LOM_YUKI, 900)]
    rf.write_run(tmp_path / "run1", records)
    result = analyse(tmp_path)
    outcomes = result.dataset.outcomes
    unmeasured = outcomes.filter(pl.col("busy").is_null()).select("vpn", "link").rows()
    assert sorted(unmeasured) == [("internal", "lom->yuki"), ("wg", "luna->lom")]
    metrics = result.metrics
    assert value(metrics, "host.busy_pct", test="all") == pytest.approx(50.0)
    assert value(metrics, "host.busy_pct", test="all", column="n") == 2
    busy_pct = metrics.filter(pl.col("metric") == "host.busy_pct")
    assert set(busy_pct["vpn"]) == {"wg"}


def test_legacy_data_has_no_busy_share(legacy_output: Path) -> None:
    """The legacy format never measured contention: no host.busy_pct row, and the report
    marks no cell busy."""
    metrics = pl.read_csv(legacy_output / "metrics.csv")
    assert metrics.filter(pl.col("metric") == "host.busy_pct").is_empty()
    assert "(busy host)" not in (legacy_output / "report.html").read_text()
