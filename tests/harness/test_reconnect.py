"""The reconnect workload's logic without a machine: the bounded probe loop, the per-peer
figures, and whole cells through the real run loop on the fake backend (restarts are the
adapter's per-host stop/start, reboots the testbed's verb); the ssh reboot's command
sequence on a fake host."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path, PurePosixPath

import pytest
from pydantic import ValidationError

from harness.hosts.fake import Call, FakeHost, FakeProcess, Reply, Rules
from harness.hosts.ssh import SshError
from harness.impairment.profiles import BUILTIN_PROFILES
from harness.impairment.tc_engine import TcNetemEngine
from harness.records.models import ResultRecord, Status
from harness.records.store import RunStore
from harness.runner.plan import RunPlan, TestPolicy
from harness.runner.run import RunOptions, run_plan
from harness.settings.addressing import nth_address
from harness.settings.models import AddressingSettings, VpnSettings
from harness.testbed.base import TestbedError
from harness.testbed.fake import FakeTestbed, FakeTestbedFactory
from harness.testbed.ssh.reboot import BOOT_ID, reboot_over_ssh
from harness.topology import Link
from harness.vpns.base import BinaryRequirement, VpnAdapter, VpnContext
from harness.vpns.internal import InternalAdapter
from harness.workloads.reconnect import (
    NO_SERVICE,
    Probe,
    ReconnectMetrics,
    ReconnectParams,
    ReconnectWorkload,
    max_probes,
    probe_command,
    wait_reachable,
)
from harness.workloads.registry import metrics_as

HOSTS = ["lom", "yuki", "luna"]
SUBNET = "10.99.0.0/24"
PING_OK = "1 packets transmitted, 1 received, 0% packet loss, time 0ms\n"
PING_LOST = "1 packets transmitted, 0 received, 100% packet loss, time 0ms\n"


# -- the probe loop -------------------------------------------------------------------------
class FakeClock:
    """Time that passes only when the loop sleeps or a probe waits for its reply."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_probe_command_is_one_bounded_echo_for_ipv4_and_ipv6() -> None:
    params = ReconnectParams(probe_wait_s=0.2)
    assert probe_command("10.44.0.2", params) == ["ping", "-n", "-q", "-c", "1", "-W", "0.2",
                                                  "10.44.0.2"]
    assert probe_command("200:1::2", params)[-1] == "200:1::2"


def test_first_answer_ends_the_loop_and_its_time_is_recorded() -> None:
    clock = FakeClock()
    answers = iter([False, False, False, True])

    def reply(call: Call) -> Reply:
        clock.sleep(0.05)  # each probe takes a little time
        return Reply(stdout=PING_OK) if next(answers) else Reply(returncode=1,
                                                                   stdout=PING_LOST)

    host = FakeHost("lom", Rules().on("ping", reply=reply))
    params = ReconnectParams(probe_interval_s=0.1, wait_s=5)
    result = wait_reachable(host, Probe("lom", "yuki", "10.99.0.2"), params, clock.now,
                            clock=clock, sleep=clock.sleep)
    assert result.probes == 4
    # Three unanswered probes paced 0.1 s apart, then the fourth returns 0.05 s later.
    assert result.seconds == pytest.approx(0.35)
    assert len(host.commands("ping")) == 4


def test_an_unanswered_peer_is_bounded_in_time_and_count() -> None:
    clock = FakeClock()
    host = FakeHost("lom", Rules().on("ping", reply=Reply(returncode=1, stdout=PING_LOST)))
    params = ReconnectParams(probe_interval_s=0.5, wait_s=2)
    result = wait_reachable(host, Probe("lom", "yuki", "10.99.0.2"), params, clock.now,
                            clock=clock, sleep=clock.sleep)
    assert result.seconds is None
    assert result.probes <= max_probes(params) == 5
    assert clock.now - 100.0 <= params.wait_s + params.probe_interval_s
    # A probe that never returns quickly still ends the loop once the count is used up.
    stuck = FakeHost("lom", Rules().on("ping", reply=Reply(returncode=1)))
    frozen = FakeClock()
    result = wait_reachable(stuck, Probe("lom", "yuki", "10.99.0.2"), params, frozen.now,
                            clock=frozen, sleep=lambda seconds: None)
    assert result.seconds is None and result.probes == max_probes(params)


@pytest.mark.parametrize("field, value", [("wait_s", 0), ("probe_interval_s", 0.001),
                                          ("probe_wait_s", 10), ("wait_s", float("nan"))])
def test_parameters_out_of_range_are_refused(field: str, value: float) -> None:
    with pytest.raises(ValidationError):
        ReconnectParams.model_validate({field: value})


def test_analysis_values_and_summary() -> None:
    workload = ReconnectWorkload()
    metrics = ReconnectMetrics(host="yuki", bringup_s=2.5, bringup_link_s=1.0, restart_s=1.5,
                               restart_peers_s={"lom": 1.5, "luna": 3.0}, reboot_s=4.0,
                               reboot_peers_s={"lom": 4.0, "luna": 2.0}, reboot_host_s=0.2,
                               probe_interval_s=0.1)
    assert workload.analysis_values(metrics) == {
        "reconnect.bringup_s": 2.5, "reconnect.restart_s": 1.5, "reconnect.reboot_s": 4.0,
        "reconnect.restart_all_s": 3.0, "reconnect.reboot_all_s": 4.0,
        "reconnect.reboot_host_s": 0.2}
    assert "reconnect.bringup_s" in workload.mesh_metrics
    internal = ReconnectMetrics(host="yuki", reboot_s=0.1, reboot_peers_s={"lom": 0.1},
                                not_applicable=[NO_SERVICE], probe_interval_s=0.1)
    assert workload.analysis_values(internal)["reconnect.restart_all_s"] is None
    assert workload.summary(internal) == "bring-up n/a, restart n/a, reboot 0.10 s"


# -- whole cells through the run loop on the fake backend ------------------------------------
class ServiceVpn(VpnAdapter):
    """One daemon per host on a static overlay; its fate is the fake overlay's."""

    name = "fakevpn"
    requirements = (BinaryRequirement("fakevpnd", nix="fakevpn", daemon=True),)
    ready_timeout_s = 5.0

    def deploy(self, ctx: VpnContext) -> None:
        for name in ctx.hosts:
            host = ctx.host(name)
            config = ctx.workdir(host) / "fakevpn.conf"
            host.write_file(config, "key = kept\n")
            ctx.start(host, ["fakevpnd", "--config", str(config)], "daemon")

    def overlay_addresses(self, ctx: VpnContext) -> dict[str, str]:
        return {name: nth_address(SUBNET, index + 1) for index, name in enumerate(ctx.hosts)}


SETTINGS = {
    "internal": VpnSettings(name="internal", display_name="Internal",
                            addressing=AddressingSettings(mode="underlay")),
    "fakevpn": VpnSettings(name="fakevpn", display_name="Fake VPN", interface="fakevpn0",
                           addressing=AddressingSettings(mode="static", subnet=SUBNET)),
}


class Overlay:
    """A ping answers when the target host's daemon runs (internal: always), except for
    the first ``lost`` probes after each daemon start (the tunnel converging), and never
    once host ``lost_after_reboot`` was rebooted."""

    def __init__(self, lost: int = 2, lost_after_reboot: str | None = None) -> None:
        self.lost = lost
        self.lost_after_reboot = lost_after_reboot
        self.testbed: FakeTestbed | None = None
        self.pending: dict[str, int] = {}

    def prepare(self, testbed: FakeTestbed) -> None:
        self.testbed = testbed

    def on_start(self, process: FakeProcess) -> None:
        self.pending[process.host.name] = self.lost

    def ping(self, call: Call) -> Reply:
        assert self.testbed is not None
        address = call.argv[-1]
        target = next((name for index, name in enumerate(HOSTS)
                       if address in (nth_address(SUBNET, index + 1),
                                      self.testbed.lan_address(name))), None)
        if target is None or (target == self.lost_after_reboot
                              and target in self.testbed.reboots):
            return Reply(returncode=1, stdout=PING_LOST)
        if address.startswith("10.99."):
            host = self.testbed.host(target)
            if not any(p.name == "fakevpn-daemon" for p in host.processes()):
                return Reply(returncode=1, stdout=PING_LOST)
            if self.pending.get(target, 0) > 0:
                self.pending[target] -= 1
                return Reply(returncode=1, stdout=PING_LOST)
        return Reply(stdout=PING_OK)


def run_reconnect(tmp_path: Path, vpn: str, overlay: Overlay,
                  params: ReconnectParams) -> tuple[list[ResultRecord], FakeTestbedFactory]:
    rules = (Rules().on("ping", reply=overlay.ping)
             .on("ip", "-j", "link", "show", reply=Reply(stdout="[]"))
             .on("fakevpnd", "--version", reply=Reply(stdout="fakevpnd 1.0\n")))
    factory = FakeTestbedFactory(rules, hosts=HOSTS, prepare=overlay.prepare,
                                 on_start=overlay.on_start)
    plan = RunPlan(hosts=HOSTS, vpns=[vpn], profiles=["baseline"], tests=["reconnect"],
                   parameters={"reconnect": params},
                   policies={"reconnect": TestPolicy(retries=0, backoff_s=0)})

    def adapter(settings: VpnSettings) -> VpnAdapter:
        return InternalAdapter(settings) if settings.name == "internal" else ServiceVpn(settings)

    run_dir = run_plan(plan, SETTINGS, factory,
                       RunOptions(out_dir=tmp_path, live_progress=False, sample_cpu=False),
                       adapter_factory=adapter)
    return RunStore.open_existing(run_dir).load_records(), factory


FAST = ReconnectParams(wait_s=2, probe_interval_s=0.02, probe_wait_s=0.05)


def test_each_cell_restarts_and_reboots_its_target_and_times_every_peer(
        tmp_path: Path) -> None:
    records, factory = run_reconnect(tmp_path, "fakevpn", Overlay(lost=2), FAST)
    testbed = factory.built[0]
    assert [record.link for record in records] == ["lom->yuki", "yuki->luna", "luna->lom"]
    for record in records:
        assert record.status is Status.OK, record.error
        metrics = metrics_as(record, ReconnectMetrics)
        assert metrics is not None
        peers = sorted(set(HOSTS) - {record.target})
        assert metrics.host == record.target
        assert sorted(metrics.restart_peers_s) == sorted(metrics.reboot_peers_s) == peers
        assert metrics.restart_s == metrics.restart_peers_s[record.source]
        assert metrics.reboot_s == metrics.reboot_peers_s[record.source]
        assert metrics.bringup_s is not None and metrics.bringup_link_s is not None
        assert metrics.bringup_link_s <= metrics.bringup_s
        assert metrics.reboot_host_s is not None and not metrics.not_applicable
    # Each target was rebooted once, in ring order, by the testbed's verb.
    assert testbed.reboots == ["yuki", "luna", "lom"]
    # Daemons started again from deploy's own command (files kept): at deploy, at each
    # cell's bring-up (all hosts), restart and reboot (the target).
    daemons = [p for p in testbed.started if p.name == "fakevpn-daemon"]
    assert {p.argv for p in daemons} == {
        ("fakevpnd", "--config", str(testbed.host(h).state_dir / "vpn/fakevpn/fakevpn.conf"))
        for h in HOSTS}
    assert len(daemons) == 3 + 3 * (3 + 1 + 1)
    assert all(p.stopped for p in daemons)  # the last ones at teardown
    raw = (next(tmp_path.glob("*/fakevpn/baseline/rep0/reconnect/lom-yuki.raw.txt"))
           .read_text())
    assert raw.splitlines()[0].startswith("bringup lom->yuki ")
    assert "restart luna->yuki " in raw and "reboot lom->yuki " in raw
    assert raw.splitlines()[-1].startswith("recovery luna->yuki ")


def test_internal_measures_the_reboot_only_and_says_why(tmp_path: Path) -> None:
    records, factory = run_reconnect(tmp_path, "internal", Overlay(), FAST)
    for record in records:
        assert record.status is Status.OK, record.error
        metrics = metrics_as(record, ReconnectMetrics)
        assert metrics is not None
        assert metrics.bringup_s is None and metrics.restart_s is None
        assert metrics.not_applicable == [NO_SERVICE]
        assert metrics.reboot_s is not None and metrics.reboot_s >= 0
    assert factory.built[0].reboots == ["yuki", "luna", "lom"]


class NoRebootTestbed(FakeTestbed):
    backend = "vmtest"
    supports_reboot = False


def test_a_testbed_that_cannot_reboot_records_the_reboot_as_not_applicable() -> None:
    overlay = Overlay(lost=0)
    rules = Rules().on("ping", reply=overlay.ping)
    testbed = NoRebootTestbed(HOSTS, rules)
    overlay.prepare(testbed)
    workload = ReconnectWorkload()
    ctx = workload.context(testbed, {h: testbed.lan_address(h) for h in HOSTS}, FAST,
                           timeout_s=10, lifecycle=NoService())
    (measurement,) = workload.run(ctx, [Link("lom", "yuki")])
    assert measurement.status is Status.OK, measurement.error
    metrics = measurement.metrics
    assert isinstance(metrics, ReconnectMetrics)
    assert metrics.reboot_s is None and metrics.reboot_host_s is None
    assert metrics.not_applicable == [NO_SERVICE, "the vmtest testbed cannot reboot a host"]
    assert "reboot: not applicable: the vmtest testbed cannot reboot" in measurement.raw_output
    assert not testbed.reboots


class NoService:
    """A Lifecycle of a VPN without daemons whose reboot must never be asked for."""

    vpn_has_service = False

    def stop_vpn(self, host: str) -> None:
        raise AssertionError("no daemon to stop")

    def start_vpn(self, host: str, *, booted: bool = False) -> None:
        raise AssertionError("no daemon to start")

    def reboot(self, host: str, timeout_s: float) -> None:
        raise AssertionError("this testbed cannot reboot")


def test_a_peer_that_never_answers_fails_the_cell_naming_phase_and_pairs(
        tmp_path: Path) -> None:
    overlay = Overlay(lost=0, lost_after_reboot="yuki")
    records, _ = run_reconnect(tmp_path, "fakevpn", overlay, FAST)
    by_link = {record.link: record for record in records}
    failed = by_link["lom->yuki"]
    assert failed.status is Status.FAILED
    assert failed.error == "reboot: no answer within 2s for lom->yuki, luna->yuki"
    # What was measured before the failure stays in the record (the analysis skips it).
    metrics = metrics_as(failed, ReconnectMetrics)
    assert metrics is not None
    assert metrics.restart_s is not None and metrics.reboot_s is None
    assert "reboot lom->yuki unanswered after " in (
        next(tmp_path.glob("*/fakevpn/baseline/rep0/reconnect/lom-yuki.raw.txt")).read_text())
    # The next cell starts with a bring-up of every host, which cannot reach yuki either.
    later = by_link["yuki->luna"]
    assert later.status is Status.FAILED
    assert (later.error or "").startswith("bringup: no answer within 2s for lom->yuki")


class FailingStart(NoService):
    """A VPN whose daemon cannot be started again on one host."""

    vpn_has_service = True

    def stop_vpn(self, host: str) -> None:
        pass

    def start_vpn(self, host: str, *, booted: bool = False) -> None:
        if host == "yuki" and booted:
            raise RuntimeError("fakevpnd: bad key file")

    def reboot(self, host: str, timeout_s: float) -> None:
        pass


def test_a_failing_lifecycle_step_names_its_phase() -> None:
    rules = Rules().on("ping", reply=Reply(stdout=PING_OK))
    testbed = FakeTestbed(HOSTS, rules)
    workload = ReconnectWorkload()
    ctx = workload.context(testbed, {h: testbed.lan_address(h) for h in HOSTS}, FAST,
                           timeout_s=10, lifecycle=FailingStart())
    (measurement,) = workload.run(ctx, [Link("lom", "yuki")])
    assert measurement.status is Status.FAILED
    assert measurement.error == "reboot of yuki: RuntimeError: fakevpnd: bad key file"


def test_no_lifecycle_in_the_context_is_a_clear_failure() -> None:
    testbed = FakeTestbed(HOSTS)
    workload = ReconnectWorkload()
    ctx = workload.context(testbed, {h: testbed.lan_address(h) for h in HOSTS},
                           ReconnectParams(), timeout_s=10)
    (measurement,) = workload.run(ctx, [Link("lom", "yuki")])
    assert measurement.status is Status.FAILED
    assert "lifecycle" in (measurement.error or "")


# -- the ssh reboot's command sequence -----------------------------------------------------
def boot_ids(*ids: str) -> Callable[[Call], Reply]:
    answers = itertools.chain(ids, itertools.repeat(ids[-1]))
    return lambda call: Reply(stdout=next(answers) + "\n")


def test_ssh_reboot_issues_systemctl_reboot_and_waits_for_a_new_boot(tmp_path: Path) -> None:
    rules = (Rules().on("cat", str(BOOT_ID), reply=boot_ids("aaa", "aaa", "bbb"))
             .on("systemctl", "reboot", reply=Reply(returncode=255)))
    host = FakeHost("lom", rules)
    host.make_dir(host.state_dir)
    daemon = host.start(["fakevpnd"], name="daemon")
    clock = FakeClock()
    reconnects: list[float] = []

    def reconnect() -> None:
        reconnects.append(clock.now)
        if len(reconnects) <= 2:
            raise SshError("lom: Connection refused")

    took = reboot_over_ssh(host, reconnect, timeout_s=300, poll_s=2, clock=clock,
                           sleep=clock.sleep)
    assert [call.argv for call in host.calls if call.kind == "run"] == [
        ("cat", str(BOOT_ID)), ("systemctl", "reboot"),
        ("cat", str(BOOT_ID)),  # the old boot still answered (a slow shutdown)
        ("cat", str(BOOT_ID)),
    ]
    assert not daemon.is_running()  # stopped before the reboot
    assert len(reconnects) == 4 and took == pytest.approx(8.0)


def test_ssh_reboot_that_never_returns_is_a_testbed_error() -> None:
    host = FakeHost("lom", Rules().on("cat", str(BOOT_ID), reply=boot_ids("aaa")))
    clock = FakeClock()

    def down() -> None:
        raise SshError("lom: Connection timed out")

    with pytest.raises(TestbedError, match="did not come back within 10s"):
        reboot_over_ssh(host, down, timeout_s=10, poll_s=2, clock=clock, sleep=clock.sleep)


def test_ssh_reboot_that_lost_the_state_directory_says_so() -> None:
    host = FakeHost("lom", Rules().on("cat", str(BOOT_ID), reply=boot_ids("aaa", "bbb")))
    clock = FakeClock()
    with pytest.raises(TestbedError, match="without its state directory"):
        reboot_over_ssh(host, lambda: None, timeout_s=60, clock=clock, sleep=clock.sleep)
    assert not host.exists(PurePosixPath(host.state_dir))


# -- a reboot keeps the impairment: the tc engine sets its qdisc again ------------------------
def test_tc_engine_applies_its_qdisc_again_on_a_rebooted_host() -> None:
    rules = (Rules().on("tc", reply=Reply()).on("ethtool", reply=Reply())
             .on("ping", reply=Reply(stdout=PING_OK)))
    testbed = FakeTestbed(HOSTS, rules)
    engine = TcNetemEngine()
    engine.apply(testbed, BUILTIN_PROFILES["high"], seed=3)
    applied = testbed.commands("tc", "qdisc", "replace")
    assert len(applied) == 3

    testbed.reboot("yuki")

    again = testbed.commands("tc", "qdisc", "replace", host="yuki")
    assert again == [applied[1], applied[1]]  # yuki's own command (its own seed), once more
    assert testbed.commands("ethtool", "-K", host="yuki")[-1][-6:] == (
        "gro", "off", "gso", "off", "tso", "off")
    record = engine.remove()
    assert record is not None
    assert any(line.startswith("yuki (after its reboot): tc qdisc replace")
               for line in record.commands)
    # Removed: a later reboot sets nothing again.
    testbed.reboot("lom")
    assert len(testbed.commands("tc", "qdisc", "replace", host="lom")) == 1
