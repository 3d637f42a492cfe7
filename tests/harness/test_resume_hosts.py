"""Resuming over ssh asks the hosts again: every VPN with cells left to measure must still
be on every host, else one error line naming the VPN and the host (exit 2 at the CLI)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli.run_command import (
    RunRequest,
    build_plan,
    check_resume_request,
    check_resumed_hosts,
    known_vpns,
    unchecked,
    waiting_vpns,
)
from harness.errors import UsageError
from harness.hosts.fake import CallLog, FakeHost
from harness.runner.plan import RunPlan, TestPolicy
from harness.runner.session import CellKey, cell_key
from harness.topology import ring_links


def test_only_vpns_with_pending_cells_are_waiting() -> None:
    plan, _, _ = build_plan(RunRequest(vpns=["internal", "wireguard"], tests=["ping"]),
                            unchecked)
    assert waiting_vpns(plan, frozenset()) == ["internal", "wireguard"]
    done: set[CellKey] = {cell_key(session, test, link)
                          for session in plan.sessions() if session.vpn == "wireguard"
                          for test in session.tests for link in ring_links(plan.hosts)}
    assert waiting_vpns(plan, frozenset(done)) == ["internal"]


def test_a_vpn_is_done_once_the_links_its_tests_are_kept_to_are_measured() -> None:
    plan = RunPlan(hosts=["lom", "yuki", "luna"], vpns=["internal", "wireguard"],
                   profiles=["baseline"], tests=["ping"], policies={"ping": TestPolicy(links=1)})
    done = {cell_key(session, "ping", ring_links(plan.hosts)[0])
            for session in plan.sessions() if session.vpn == "wireguard"}
    assert waiting_vpns(plan, frozenset(done)) == ["internal"]


def test_a_host_without_a_pending_vpn_is_named() -> None:
    log = CallLog()
    hosts = [FakeHost("lom", log=log), FakeHost("yuki", programs=set(), log=log)]
    settings = known_vpns()
    with pytest.raises(UsageError) as caught:
        check_resumed_hosts(settings, hosts, ["wireguard"], nixos=False)
    message = str(caught.value)
    assert message.startswith("cannot resume on these hosts: wireguard: not installed on yuki")
    assert "lom" not in message
    assert "\n" not in message


def test_vpns_without_pending_cells_are_not_asked() -> None:
    hosts = [FakeHost("lom", programs=set()), FakeHost("yuki", programs=set())]
    check_resumed_hosts(known_vpns(), hosts, [], nixos=False)
    assert [call for host in hosts for call in host.calls] == []


def test_nixos_and_secrets_are_valid_with_resume() -> None:
    check_resume_request(RunRequest(nixos=True, secrets=Path("/keys")))
    with pytest.raises(UsageError, match="--nixos, --secrets"):
        check_resume_request(RunRequest(vpns=["wireguard"]))
