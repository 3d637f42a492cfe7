"""The quiet-path wait on real namespaces, over IPv4 and IPv6 (ping picks the family)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.runner.quiet import IdleRtt, QuietSettings, measure_idle, wait_quiet
from harness.settings.loader import load_testbed
from harness.testbed.local.testbed import LocalTestbed, LocalTestbedSpec

pytestmark = pytest.mark.root

V6 = {"lom": "fd77:b00::1", "yuki": "fd77:b00::2"}


@pytest.fixture(scope="module")
def two_hosts() -> Iterator[LocalTestbed]:
    """lom and yuki on the LAN, with IPv6 turned on and a ULA address on lan0 each."""
    settings = load_testbed()
    with LocalTestbed(LocalTestbedSpec(hosts=settings.hosts[:2], lan=settings.lan)) as built:
        for name, address in V6.items():
            host = built.host(name)
            host.succeed(["sysctl", "-qw", "net.ipv6.conf.lan0.disable_ipv6=0"])
            host.succeed(["ip", "-6", "addr", "add", f"{address}/64", "dev", "lan0", "nodad"])
        yield built


@pytest.mark.parametrize("family", ["ipv4", "ipv6"])
def test_an_idle_path_settles_at_once(two_hosts: LocalTestbed, family: str) -> None:
    target = two_hosts.lan_address("yuki") if family == "ipv4" else V6["yuki"]
    lom = two_hosts.host("lom")
    idle = measure_idle(lom, target)
    assert idle is not None and idle.median_ms > 0
    quiet = wait_quiet(lom, target, idle)
    # A loaded machine may need a probe or two more, but an idle path always settles.
    assert quiet.converged and 1 <= quiet.probes <= QuietSettings().max_probes
    assert quiet.idle_rtt_ms == round(idle.median_ms, 4) and quiet.last_rtt_ms is not None


def test_a_path_that_never_settles_stops_at_the_budget(two_hosts: LocalTestbed) -> None:
    """An idle RTT of 0 with no tolerance is never reached by a real echo."""
    strict = QuietSettings(max_probes=3, max_wait_s=30, ratio=1.0, slack_ms=0.0)
    quiet = wait_quiet(two_hosts.host("lom"), V6["yuki"], IdleRtt(0.0, 0.0), strict)
    assert (quiet.probes, quiet.converged) == (3, False)
    assert quiet.last_rtt_ms is not None and quiet.last_rtt_ms > 0


def test_an_unreachable_address_has_no_idle_rtt_and_no_wait(two_hosts: LocalTestbed) -> None:
    lom = two_hosts.host("lom")
    assert measure_idle(lom, "fd77:b00::99", QuietSettings(idle_count=2)) is None
    assert wait_quiet(lom, "fd77:b00::99", None).probes == 0
