"""Kernel netem engine: on this kernel (no sch_netem) `tc ... netem` really fails, which
exercises the error message and the rollback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.hosts.local import LocalMachine
from harness.impairment.errors import EngineUnavailable, ImpairmentError
from harness.impairment.profiles import BUILTIN_PROFILES
from harness.impairment.selection import select_engine
from harness.impairment.tc_engine import TcNetemEngine
from harness.impairment.userspace import UserspaceEngine
from harness.parsing.ethtool import parse_features
from harness.settings.loader import load_testbed
from harness.testbed.local.testbed import LocalTestbed, LocalTestbedSpec

pytestmark = pytest.mark.root


@pytest.fixture
def testbed() -> Iterator[LocalTestbed]:
    settings = load_testbed()
    with LocalTestbed(LocalTestbedSpec(hosts=settings.hosts, lan=settings.lan,
                                       offloads="on")) as built:
        yield built


def _state(testbed: LocalTestbed) -> dict[str, tuple[str, dict[str, bool]]]:
    state = {}
    for host in testbed.hosts:
        qdisc = host.succeed(["tc", "qdisc", "show", "dev", "lan0"])
        features = parse_features(host.succeed(["ethtool", "-k", "lan0"]))
        state[host.name] = (qdisc, features)
    return state


@pytest.mark.skipif(LocalMachine().has_netem(), reason="this kernel has sch_netem: tc succeeds")
def test_failing_tc_names_host_interface_command_and_rolls_back(testbed: LocalTestbed) -> None:
    before = _state(testbed)
    assert before["lom"][1]["generic-segmentation-offload"]  # offloads="on": will be switched
    engine = TcNetemEngine()
    with pytest.raises(ImpairmentError) as caught:
        engine.apply(testbed, BUILTIN_PROFILES["high"], seed=3)
    message = str(caught.value)
    assert message.startswith("tc failed on host lom, interface lan0: `tc qdisc replace dev "
                              "lan0 root netem limit 4250 delay 6ms 15ms loss random 2.5% "
                              "reorder 5% 50%")
    assert "rolled back: lom: ethtool -K lan0" in message
    assert not engine.applied and engine.remove() is None
    after = _state(testbed)
    assert after == before  # no qdisc left, offloads as they were
    assert all("netem" not in qdisc for qdisc, _ in after.values())


def test_engine_selection(testbed: LocalTestbed) -> None:
    if LocalMachine().has_netem():
        assert isinstance(select_engine(testbed, "auto"), TcNetemEngine)
    else:
        assert isinstance(select_engine(testbed, "auto"), UserspaceEngine)
        with pytest.raises(EngineUnavailable, match="no sch_netem"):
            select_engine(testbed, "tc")
    assert isinstance(select_engine(testbed, "userspace"), UserspaceEngine)


def test_baseline_with_tc_adds_nothing(testbed: LocalTestbed) -> None:
    before = _state(testbed)
    with TcNetemEngine() as engine:
        record = engine.apply(testbed, BUILTIN_PROFILES["baseline"])
        assert record.engine == "tc" and record.commands == []
    assert _state(testbed) == before
