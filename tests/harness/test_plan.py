"""Run plans and command-line selections (pure, no root)."""

from __future__ import annotations

import pytest

from harness.cli.selection import parse_names
from harness.errors import UsageError
from harness.runner.plan import RunPlan, TestPolicy
from harness.runner.run import plan_from_json, plan_to_json
from harness.runner.session import cell_key, pending_cells
from harness.topology import host_names, ring_links
from harness.workloads.iperf import IperfParams
from harness.workloads.parallel_tcp import ParallelTcpParams
from harness.workloads.ping import PingParams
from harness.workloads.registry import TEST_NAMES
from harness.workloads.tcp import TcpParams
from harness.workloads.udp import UdpParams


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
                   profiles=["baseline"], tests=["tcp"],
                   parameters={"tcp": TcpParams(duration_s=10)}, repetitions=2)
    assert [s.vpn for s in plan.sessions()] == [
        "internal", "wireguard", "tinc", "internal", "tinc", "wireguard"]


def test_estimate_counts_links_and_tests() -> None:
    plan = RunPlan(hosts=["lom", "yuki", "luna"], vpns=["internal"], profiles=["baseline"],
                   tests=["tcp", "parallel_tcp", "ping"],
                   parameters={"tcp": TcpParams(duration_s=10),
                               "parallel_tcp": ParallelTcpParams(duration_s=10),
                               "ping": PingParams(count=50, interval_s=0.2)})
    # 3 links x 10 s TCP + 10 s parallel + 3 x 50 x 0.2 s ping, plus session overhead.
    assert plan.estimated_session_s(plan.sessions()[0]) == pytest.approx(30 + 10 + 30 + 8)


def test_per_vpn_and_per_profile_lists_intersect() -> None:
    plan = RunPlan(
        hosts=["lom", "yuki", "luna"], vpns=["internal", "wireguard"],
        profiles=["baseline", "high"], tests=["tcp", "udp", "ping"],
        parameters={"tcp": TcpParams(duration_s=10)},
        vpn_tests={"wireguard": ["tcp", "udp"]},
        vpn_profiles={"internal": ["baseline"]},
        profile_tests={"high": ["tcp", "ping"]},
        profile_parameters={"high": {"tcp": TcpParams(duration_s=60)}},
    )
    sessions = {(s.vpn, s.profile): s for s in plan.sessions()}
    assert set(sessions) == {("internal", "baseline"), ("wireguard", "baseline"),
                             ("wireguard", "high")}
    assert sessions[("wireguard", "baseline")].tests == ("tcp", "udp")
    assert sessions[("wireguard", "high")].tests == ("tcp",)
    assert sessions[("wireguard", "high")].parameters["tcp"] == TcpParams(duration_s=60)
    assert sessions[("wireguard", "baseline")].parameters["tcp"] == TcpParams(duration_s=10)
    # A test the plan gives no parameters runs with its model's defaults.
    assert sessions[("wireguard", "baseline")].parameters["udp"] == UdpParams()


def test_timeouts_and_retries_have_per_test_defaults() -> None:
    plan = RunPlan(hosts=["lom", "yuki"], vpns=["internal"], profiles=["baseline"],
                   tests=list(TEST_NAMES),
                   parameters={"tcp": TcpParams(duration_s=5), "udp": UdpParams(duration_s=5)},
                   policies={"ping": TestPolicy(timeout_s=7, retries=3)})
    assert plan.timeout_s("tcp", plan.params_for("tcp", "baseline")) == 5 + 60
    assert plan.timeout_s("udp", plan.params_for("udp", "baseline")) == 120  # at least 120 s
    assert plan.timeout_s("ping", plan.params_for("ping", "baseline")) == 7
    assert (plan.retries("tcp"), plan.retries("parallel_tcp"), plan.retries("ping")) == (1, 0, 3)


def test_a_link_limit_measures_a_test_on_the_first_ring_links_only() -> None:
    plan = RunPlan(hosts=["lom", "yuki", "luna"], vpns=["internal"], profiles=["baseline"],
                   tests=["tcp", "parallel_tcp", "reconnect"],
                   policies={"reconnect": TestPolicy(links=1),
                             "parallel_tcp": TestPolicy(links=2)})
    session = plan.sessions()[0]
    pending = pending_cells(session, plan.hosts, frozenset())
    assert {test: [link.label for link in links] for test, links in pending.items()} == {
        "tcp": ["lom->yuki", "yuki->luna", "luna->lom"],
        "parallel_tcp": ["lom->yuki", "yuki->luna"],  # a concurrent group of two
        "reconnect": ["lom->yuki"]}
    # Once that one link is measured, the test has nothing left in this session.
    done = frozenset({cell_key(session, "reconnect", ring_links(plan.hosts)[0])})
    assert "reconnect" not in pending_cells(session, plan.hosts, done)
    # The estimate counts the links measured: two of reconnect's three cells are gone (a
    # parallel group costs the same on two links as on three).
    unlimited = RunPlan(hosts=plan.hosts, vpns=plan.vpns, profiles=plan.profiles,
                        tests=plan.tests)
    saved = unlimited.estimated_total_s() - plan.estimated_total_s()
    assert saved == pytest.approx(2 * RunPlan.nominal_s("reconnect",
                                                        plan.params_for("reconnect")))
    assert plan_from_json(plan_to_json(plan)) == plan
    # What --dry-run names: the tests kept to fewer links than the ring has.
    assert {test: [link.label for link in links]
            for test, links in plan.limited_links().items()} == {
        "parallel_tcp": ["lom->yuki", "yuki->luna"], "reconnect": ["lom->yuki"]}


def test_a_link_limit_of_the_whole_ring_or_of_an_unused_test_limits_nothing() -> None:
    plan = RunPlan(hosts=["lom", "yuki", "luna"], vpns=["internal"], profiles=["baseline"],
                   tests=["tcp"], policies={"tcp": TestPolicy(links=5),
                                            "rist": TestPolicy(links=1)})
    assert plan.limited_links() == {}
    assert len(plan.sessions()[0].links("tcp", plan.hosts)) == 3


def test_plan_round_trips_through_the_manifest_json_with_typed_parameters() -> None:
    plan = RunPlan(hosts=["lom", "yuki", "luna"], vpns=["internal"],
                   profiles=["baseline", "high"], tests=["udp", "ping"],
                   parameters={"udp": UdpParams(duration_s=7, bitrate_mbps=250),
                               "ping": PingParams(count=9)},
                   profile_parameters={"high": {"ping": PingParams(count=99)}},
                   policies={"udp": TestPolicy(retries=0)})
    data = plan_to_json(plan)
    assert data["parameters"]["udp"]["bitrate_mbps"] == 250
    again = plan_from_json(data)
    assert again == plan
    assert isinstance(again.parameters["udp"], UdpParams)
    assert again.params_for("ping", "high") == PingParams(count=99)


def test_resumed_plan_with_an_unknown_test_is_refused() -> None:
    data = plan_to_json(RunPlan(hosts=["lom", "yuki"], vpns=["internal"],
                                profiles=["baseline"], tests=["tcp"],
                                parameters={"tcp": TcpParams()}))
    data["parameters"]["warp"] = {}
    with pytest.raises(ValueError, match="unknown test 'warp'"):
        plan_from_json(data)


@pytest.mark.parametrize(
    ("model", "values", "problem"),
    [
        (TcpParams, {"duration_s": 0}, "greater than or equal to 1"),
        (TcpParams, {"duration_s": 2.5}, "fractional part"),
        (TcpParams, {"duration_s": 3601}, "less than or equal to 3600"),
        (UdpParams, {"bitrate_mbps": float("nan")}, "finite"),
        (PingParams, {"count": 0}, "greater than or equal to 1"),
        (PingParams, {"interval_s": 0.001}, "greater than or equal to 0.002"),
        (PingParams, {"flood": True}, "Extra inputs are not permitted"),
    ],
)
def test_parameter_models_reject_out_of_range_values(model: type[IperfParams | PingParams],
                                                     values: dict[str, object],
                                                     problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        model.model_validate(values)
