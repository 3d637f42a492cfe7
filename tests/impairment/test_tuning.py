"""Per-namespace TCP tuning for reordering links."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.errors import UsageError
from harness.impairment.tuning import REORDER_TOLERANT, apply_tcp_tuning
from harness.settings.loader import load_testbed
from harness.testbed.local.testbed import LocalTestbed, LocalTestbedSpec


@pytest.fixture
def testbed() -> Iterator[LocalTestbed]:
    settings = load_testbed()
    with LocalTestbed(LocalTestbedSpec(hosts=settings.hosts[:2], lan=settings.lan)) as built:
        yield built


@pytest.mark.root
def test_reorder_tolerant_sets_each_host_and_not_the_machine(testbed: LocalTestbed) -> None:
    machine_before = Path("/proc/sys/net/ipv4/tcp_reordering").read_text()
    applied = apply_tcp_tuning(testbed, "reorder-tolerant")
    assert applied == {host: REORDER_TOLERANT for host in testbed.host_names}
    for host in testbed.hosts:
        assert host.succeed(["sysctl", "-n", "net.ipv4.tcp_reordering"]).strip() == "10"
    assert Path("/proc/sys/net/ipv4/tcp_reordering").read_text() == machine_before
    assert apply_tcp_tuning(testbed, "none") == {}


def test_unknown_tuning_names_the_choices() -> None:
    with pytest.raises(UsageError, match="valid: none, reorder-tolerant"):
        apply_tcp_tuning(None, "fast")  # type: ignore[arg-type]
