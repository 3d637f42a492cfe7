"""Run plans and command-line selections (pure, no root)."""

from __future__ import annotations

import pytest

from harness.cli.selection import parse_names
from harness.errors import UsageError
from harness.records.models import TestKind
from harness.runner.plan import RunPlan
from harness.topology import host_names, ring_links
from harness.workloads.base import WorkloadSettings


def test_ring_links_wrap_around() -> None:
    assert [link.label for link in ring_links(["lom", "yuki", "luna"])] == [
        "lom->yuki", "yuki->luna", "luna->lom"]


def test_more_hosts_get_generated_names() -> None:
    assert host_names(["lom", "yuki", "luna"], 5) == ["lom", "yuki", "luna", "h4", "h5"]
    with pytest.raises(ValueError):
        host_names(["lom"], 1)


def test_selection_expands_all_and_rejects_unknown_names() -> None:
    valid = ["internal", "wireguard", "tinc"]
    assert parse_names(["wireguard,tinc"], valid, "VPN", default=[]) == ["wireguard", "tinc"]
    assert parse_names(["all"], valid, "VPN", default=[]) == valid
    assert parse_names([], valid, "VPN", default=["internal"]) == ["internal"]
    with pytest.raises(UsageError, match=r"unknown VPN 'foo'; valid: internal, wireguard"):
        parse_names(["foo"], valid, "VPN", default=[])


def test_reference_first_and_order_alternates_between_repetitions() -> None:
    plan = RunPlan(hosts=["lom", "yuki", "luna"], vpns=["wireguard", "internal", "tinc"],
                   profiles=["baseline"], tests=[TestKind.TCP],
                   workload=WorkloadSettings(duration_s=10), repetitions=2)
    assert [s.vpn for s in plan.sessions()] == [
        "internal", "wireguard", "tinc", "internal", "tinc", "wireguard"]


def test_estimate_counts_links_and_tests() -> None:
    plan = RunPlan(hosts=["lom", "yuki", "luna"], vpns=["internal"], profiles=["baseline"],
                   tests=[TestKind.TCP, TestKind.PARALLEL_TCP, TestKind.PING],
                   workload=WorkloadSettings(duration_s=10, ping_count=50, ping_interval_s=0.2))
    # 3 links x 10 s TCP + 10 s parallel + 3 x 50 x 0.2 s ping, plus session overhead.
    assert plan.estimated_session_s() == pytest.approx(30 + 10 + 30 + 8)
