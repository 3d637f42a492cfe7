"""Run facts from our records reach the report: impairment configured vs measured, LAN."""

from __future__ import annotations

from pathlib import Path

from analysis.importers.records import load_records
from harness.impairment.engine import new_record
from harness.impairment.profiles import BUILTIN_PROFILES
from harness.netem.record import Estimate, LinkCheck
from tests.analysis import record_factory as rf


def test_impairment_and_lan_tables(tmp_path: Path) -> None:
    impairment = new_record(BUILTIN_PROFILES["high"], "userspace")
    impairment.checks.append(LinkCheck(
        source="lom", target="yuki", verdict="consistent", probes_sent=500,
        probes_received=486, duplicates=0, interval_ms=1.0, duration_s=0.5, confidence=0.99,
        transit_ms=0.05, delay_sd_ms=6.8, delay_percentiles_ms={"p50": 6.5},
        below_model_minimum=0, mean_loss_burst_packets=1.0,
        delay_mean_ms=Estimate(measured=7.3, low=6.8, high=7.9, expected=7.44, method="t"),
        loss_percent=Estimate(measured=2.8, low=1.9, high=4.0, expected=2.5, method="wilson"),
        reorder_percent=Estimate(measured=59.0, low=56.0, high=62.0, expected=60.6,
                                 method="wilson"),
    ))
    session = rf.session("wg", 1.0, profile="high").model_copy(update={
        "impairment": impairment,
        "testbed": {"hosts": {"lom": {"mtu": 1500, "offloads": {
            "tcp-segmentation-offload": False}, "sysctls": {
            "net.ipv4.tcp_congestion_control": "cubic"}}}},
    })
    rf.write_run(tmp_path / "run1", [rf.tcp("wg", rf.RING[0], 500, profile="high")],
                 sessions=[session])
    tables = {table.title: table for table in load_records(tmp_path).metadata}
    (impaired,) = [t for title, t in tables.items() if title.startswith("Impairment")]
    (row,) = impaired.rows
    assert row[:3] == ("high", "wg", "userspace")
    assert "delay_ms=6.0" in row[3] and "jitter_ms=15.0" in row[3]
    assert row[4] == "+14.70 ms RTT, 4.938 % loss"  # 2 x 7.35 ms; 1-(1-0.025)^2
    assert row[5:] == ("7.44 / 7.30", "2.50 / 2.80", "60.60 / 59.00", "consistent")
    lan = tables["LAN interfaces (per profile, first session)"]
    assert lan.rows == (("high", "lom", "1500", "tcp-segmentation-offload=off", "cubic",
                         "none"),)
