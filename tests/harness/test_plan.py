"""Run plans and command-line selections (pure, no root)."""

from __future__ import annotations

import pytest

from harness.cli.selection import parse_names
from harness.errors import UsageError
from harness.records.models import TestKind
from harness.runner.plan import RunPlan, TestPolicy
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
    assert plan.estimated_session_s(plan.sessions()[0]) == pytest.approx(30 + 10 + 30 + 8)


def test_per_vpn_and_per_profile_lists_intersect() -> None:
    plan = RunPlan(
        hosts=["lom", "yuki", "luna"], vpns=["internal", "wireguard"],
        profiles=["baseline", "high"], tests=[TestKind.TCP, TestKind.UDP, TestKind.PING],
        workload=WorkloadSettings(duration_s=10),
        vpn_tests={"wireguard": [TestKind.TCP, TestKind.UDP]},
        vpn_profiles={"internal": ["baseline"]},
        profile_tests={"high": [TestKind.TCP, TestKind.PING]},
        profile_workload={"high": {"duration_s": 60}},
    )
    sessions = {(s.vpn, s.profile): s for s in plan.sessions()}
    assert set(sessions) == {("internal", "baseline"), ("wireguard", "baseline"),
                             ("wireguard", "high")}
    assert sessions[("wireguard", "baseline")].tests == (TestKind.TCP, TestKind.UDP)
    assert sessions[("wireguard", "high")].tests == (TestKind.TCP,)
    assert sessions[("wireguard", "high")].workload.duration_s == 60
    assert sessions[("wireguard", "baseline")].workload.duration_s == 10


def test_timeouts_and_retries_have_per_test_defaults() -> None:
    plan = RunPlan(hosts=["lom", "yuki"], vpns=["internal"], profiles=["baseline"],
                   tests=list(TestKind), workload=WorkloadSettings(duration_s=5),
                   policies={TestKind.PING: TestPolicy(timeout_s=7, retries=3)})
    workload = plan.workload
    assert plan.timeout_s(TestKind.TCP, workload) == 5 + 60
    assert plan.timeout_s(TestKind.UDP, workload) == 120  # at least 120 s
    assert plan.timeout_s(TestKind.PING, workload) == 7
    assert (plan.retries(TestKind.TCP), plan.retries(TestKind.PARALLEL_TCP),
            plan.retries(TestKind.PING)) == (1, 0, 3)
