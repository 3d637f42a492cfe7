"""The legacy importer on the real shared data (skipped when ../shared is absent).

Expected figures come from the reference's own published aggregates (methodology §4/§7):
where both define a metric the same way, the numbers must agree.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from analysis.importers.legacy import load_legacy
from analysis.metrics import compute_metrics
from analysis.pipeline import analyse


@pytest.fixture(scope="module")
def legacy(legacy_root: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    dataset = load_legacy(legacy_root)
    return compute_metrics(dataset), dataset.outcomes


def get(metrics: pl.DataFrame, vpn: str, profile: str, metric: str, link: str = "all",
        test: str | None = None) -> float:
    rows = metrics.filter(pl.col("vpn") == vpn, pl.col("profile") == profile,
                          pl.col("metric") == metric, pl.col("link") == link)
    if test is not None:
        rows = rows.filter(pl.col("test") == test)
    assert rows.height == 1, rows
    return float(rows["value"][0])


def test_the_dataset_is_the_one_described(legacy_root: Path) -> None:
    assert sum(1 for _ in legacy_root.rglob("*.json")) == 1057


def test_outcome_counts_match_the_recorded_envelopes(legacy: tuple[pl.DataFrame,
                                                                   pl.DataFrame]) -> None:
    _, outcomes = legacy
    counts = {(t, ok): n for t, ok, n in
              outcomes.group_by("test", "ok").len().iter_rows()}
    assert counts[("tcp", True)] == 132
    assert counts[("udp", False)] == 85 and counts[("udp", True)] == 47
    assert counts[("quic", False)] == 24
    assert counts[("nix_cache", False)] == 37
    assert counts[("rist", False)] == 1  # VpnCloud/high_impairment/2_luna has no file
    missing = outcomes.filter(pl.col("test") == "rist", ~pl.col("ok"))
    assert missing["reason"].to_list() == ["missing result file rist_stream.json"]
    assert missing["vpn"].to_list() == ["VpnCloud"] and missing["profile"].to_list() == ["high"]


def test_failure_reasons_are_informative_and_carry_no_secrets(
        legacy: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    _, outcomes = legacy
    reasons = outcomes.filter(~pl.col("ok"))["reason"].to_list()
    assert all(reasons)
    assert not any("PASSWORD" in r or "ssh " in r for r in reasons)
    qperf = outcomes.filter(pl.col("test") == "quic", ~pl.col("ok"))
    assert set(qperf["reason"]) == {"ClanError: list index out of range"}
    assert set(qperf["vpn"]) == {"Headscale", "Nebula"}


def test_aggregates_agree_with_the_reference(legacy: tuple[pl.DataFrame,
                                                           pl.DataFrame]) -> None:
    metrics, _ = legacy
    # methodology §4: Wireguard baseline sender 863.7 (min 823.6, max 883.7), parallel 1281.0
    assert get(metrics, "Wireguard", "baseline", "tcp.throughput_mbps") == pytest.approx(
        863.7, abs=0.05)
    assert get(metrics, "Wireguard", "baseline", "tcp.throughput_mbps",
               "lom->yuki") == pytest.approx(823.6, abs=0.05)
    assert get(metrics, "Wireguard", "baseline", "parallel.throughput_mbps") == pytest.approx(
        1281.0, abs=0.05)
    assert get(metrics, "Wireguard", "baseline", "udp.receiver_mbps") == pytest.approx(
        897.7, abs=0.05)
    assert get(metrics, "Wireguard", "baseline", "ping.rtt_avg_ms") == pytest.approx(
        1.204, abs=0.001)
    assert get(metrics, "Wireguard", "baseline", "quic.throughput_mbps") == pytest.approx(
        844.3, abs=0.05)
    assert get(metrics, "Wireguard", "baseline", "nix_cache.time_s") == pytest.approx(
        9.45, abs=0.01)
    # cross-profile figures: Internal RTT, Nebula nix-cache, Easytier RIST quality
    internal_rtt = [get(metrics, "Internal", p, "ping.rtt_avg_ms")
                    for p in ("baseline", "low", "medium", "high")]
    assert internal_rtt == pytest.approx([0.60, 4.82, 9.38, 15.49], abs=0.005)
    nebula_nix = [get(metrics, "Nebula", p, "nix_cache.time_s")
                  for p in ("baseline", "low", "medium", "high")]
    assert nebula_nix == pytest.approx([9.1, 30.8, 179.7, 546.5], abs=0.05)
    easytier_quality = [get(metrics, "Easytier", p, "rist.quality_pct")
                        for p in ("baseline", "low", "medium", "high")]
    assert easytier_quality == pytest.approx([100, 100, 96.2, 85.5], abs=0.05)


def test_partial_parallel_failure_is_summed_over_the_ok_pairs(
        legacy: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    metrics, outcomes = legacy
    rows = metrics.filter(pl.col("vpn") == "Nebula", pl.col("metric") ==
                          "parallel.throughput_mbps", pl.col("link") == "all")
    assert rows["n"].to_list() == [2, 2, 2, 2]  # yuki->luna failed in every profile
    failed = outcomes.filter(pl.col("vpn") == "Nebula", pl.col("test") == "parallel_tcp",
                             ~pl.col("ok"))
    assert set(failed["link"]) == {"yuki->luna"}


def test_reboot_reconnection_per_node(legacy: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    metrics, _ = legacy
    # methodology §4 example: Wireguard reboot 0_lom 9.068577, 1_yuki 13.079958, 2_luna 8.073028
    nodes = [get(metrics, "Wireguard", "baseline", "reconnect.reboot_s", node)
             for node in ("lom", "yuki", "luna")]
    assert nodes == pytest.approx([9.068577, 13.079958, 8.073028])
    assert get(metrics, "Wireguard", "baseline", "reconnect.reboot_s") == pytest.approx(
        sum(nodes) / 3)


def test_time_accounting_books_each_installation_once(
        legacy: tuple[pl.DataFrame, pl.DataFrame]) -> None:
    metrics, _ = legacy
    assert get(metrics, "Wireguard", "all", "time.deploy_s") == pytest.approx(149.3, abs=0.05)
    # Internal was installed twice (a baseline run and a low→high run were merged)
    assert get(metrics, "Internal", "all", "time.deploy_s") == pytest.approx(
        243.7 + 271.5, abs=0.1)
    assert get(metrics, "Wireguard", "baseline", "time.impairment_setup_s") == pytest.approx(
        30.05, abs=0.01)


def test_broken_and_missing_files_become_failure_rows(legacy_root: Path,
                                                      tmp_path: Path) -> None:
    copy = tmp_path / "legacy"
    shutil.copytree(legacy_root / "Wireguard", copy / "Wireguard")
    host = copy / "Wireguard" / "baseline" / "0_lom"
    (host / "tcp_iperf3.json").write_text("{ truncated")
    (host / "ping.json").unlink()
    (host / "qperf.json").write_text(json.dumps({"status": "error", "error_type": "CmdOut",
                                                 "error": {"returncode": 3}, "meta": {}}))
    result = analyse(copy, "legacy")
    failed = result.dataset.outcomes.filter(~pl.col("ok"), pl.col("profile") == "baseline",
                                            pl.col("link") == "lom->yuki")
    reasons = dict(zip(failed["test"], failed["reason"], strict=True))
    assert reasons["tcp"].startswith("unreadable result file tcp_iperf3.json")
    assert reasons["ping"] == "missing result file ping.json"
    assert reasons["quic"] == "CmdOut: exit code 3"
    tcp = result.metrics.filter(pl.col("metric") == "tcp.throughput_mbps",
                                pl.col("profile") == "baseline", pl.col("link") == "all")
    assert tcp["n"].to_list() == [2]
