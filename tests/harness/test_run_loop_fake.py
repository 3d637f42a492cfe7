"""The run loop's failure handling (retries, timeouts, daemon death, never-ready tunnels,
resume, fail-fast, time accounting), driven through the fake backend: no root, no namespace.

The real runner, workloads and parsers run; only the hosts are scripted, answering with
output captured from real tools (tests/fixtures). Plans, settings and adapters are built by
the helpers at the top, so a change of RunPlan or the workload parameters is made there once.
"""

from __future__ import annotations

import json
import re
import statistics
from collections import Counter
from collections.abc import Callable
from pathlib import Path, PurePosixPath

import pytest

from harness.hosts.base import CommandResult
from harness.hosts.fake import Call, FakeProcess, Reply, Rules
from harness.records.models import (
    ResultRecord,
    RunManifest,
    SessionRecord,
    Status,
)
from harness.records.store import RunStore
from harness.runner.plan import RunPlan, TestPolicy
from harness.runner.run import RunOptions, open_for_resume, run_plan
from harness.settings.addressing import nth_address
from harness.settings.models import AddressingSettings, VpnSettings
from harness.testbed.fake import FakeTestbed, FakeTestbedFactory
from harness.vpns.base import BinaryRequirement, VpnAdapter, VpnContext, VpnError
from harness.vpns.internal import InternalAdapter
from harness.workloads.nix_cache import RUN_TAG as NIX_RUN_TAG
from harness.workloads.nix_cache import NixCacheMetrics
from harness.workloads.ping import PingMetrics, parse_ping
from harness.workloads.registry import TEST_NAMES, metrics_as
from harness.workloads.rist import RistMetrics
from harness.workloads.tcp import TcpMetrics
from harness.workloads.udp import UdpMetrics
from tests.integration.helpers import short_parameters

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
HOSTS = ["lom", "yuki", "luna"]
OVERLAY_SUBNET = "10.99.0.0/24"
OVERLAY_PREFIX = "10.99.0."
DAEMON = "fakevpn-daemon"

PING_OK = (FIXTURES / "ping" / "ipv4_ok.txt").read_text()
PING_ALL_LOST = (FIXTURES / "ping" / "ipv4_all_lost.txt").read_text()
TCP_OK = (FIXTURES / "iperf3" / "tcp_bidir_ok.json").read_text()
UDP_OK = (FIXTURES / "iperf3" / "udp_bidir_ok.json").read_text()
TCP_REFUSED = (FIXTURES / "iperf3" / "tcp_connection_refused.json").read_text()
NIX_RUNS_OK = (FIXTURES / "nix_cache" / "runs-ok.txt").read_text()
QUIC_OK = (FIXTURES / "quic" / "veth_ok.json").read_text()
RIST_SENDER = (FIXTURES / "rist" / "baseline-sender-progress.txt").read_text()
RIST_RECEIVER = (FIXTURES / "rist" / "baseline-ristreceiver.log").read_text()
RIST_DECODER = (FIXTURES / "rist" / "baseline-decoder.txt").read_text()
RIST_ROUTE = (FIXTURES / "rist" / "route-get-ipv4.json").read_text()
#: What iperf3 prints when its peer vanishes mid-test (the refused document, other error).
TCP_PEER_GONE = json.dumps({**json.loads(TCP_REFUSED),
                            "error": "control socket has closed unexpectedly"})
IP_LINKS = json.dumps([
    {"ifindex": 1, "ifname": "lo", "mtu": 65536, "operstate": "UNKNOWN"},
    {"ifindex": 2, "ifname": "lan0", "mtu": 1500, "operstate": "UP"},
    {"ifindex": 3, "ifname": "fakevpn0", "mtu": 1420, "operstate": "UNKNOWN"},
])


# -- helpers: plans, settings, adapters, scripted hosts --------------------------------------
def make_plan(vpns: list[str], tests: list[str], *, retries: int | None = None,
              timeout_s: float | None = None, repetitions: int = 1) -> RunPlan:
    """A baseline plan on lom/yuki/luna with no back-off between attempts."""
    policy = TestPolicy(timeout_s=timeout_s, retries=retries, backoff_s=0)
    return RunPlan(hosts=HOSTS, vpns=vpns, profiles=["baseline"], tests=tests,
                   parameters=short_parameters(duration=1, ping_count=20, ping_interval=0.2),
                   repetitions=repetitions, policies={test: policy for test in TEST_NAMES})


VPN_SETTINGS = {
    "internal": VpnSettings(name="internal", display_name="Internal",
                            addressing=AddressingSettings(mode="underlay")),
    "fakevpn": VpnSettings(name="fakevpn", display_name="Fake VPN", interface="fakevpn0",
                           addressing=AddressingSettings(mode="static", subnet=OVERLAY_SUBNET)),
}


class DaemonVpn(VpnAdapter):
    """A VPN with one daemon per host and a static overlay; the fake decides its fate."""

    name = "fakevpn"
    requirements = (BinaryRequirement("fakevpnd", nix="fakevpn", daemon=True),)
    ready_timeout_s = 5.0

    def deploy(self, ctx: VpnContext) -> None:
        for host_name in ctx.hosts:
            host = ctx.host(host_name)
            config = ctx.workdir(host) / "fakevpn.conf"
            host.write_file(config, f"address = {self.address(ctx, host_name)}\n")
            ctx.start(host, ["fakevpnd", "--config", str(config)], "daemon")

    def address(self, ctx: VpnContext, host: str) -> str:
        return nth_address(OVERLAY_SUBNET, ctx.hosts.index(host) + 1)

    def overlay_addresses(self, ctx: VpnContext) -> dict[str, str]:
        return {host: self.address(ctx, host) for host in ctx.hosts}


class RejectedConfigVpn(DaemonVpn):
    """Starts its first daemon, then fails to configure the rest."""

    def deploy(self, ctx: VpnContext) -> None:
        host = ctx.host(ctx.hosts[0])
        ctx.start(host, ["fakevpnd", "--config", "/dev/null"], "daemon")
        raise VpnError("fakevpnd rejected its config: bad key")


def adapters(fakevpn: type[VpnAdapter] = DaemonVpn) -> Callable[[VpnSettings], VpnAdapter]:
    def create(settings: VpnSettings) -> VpnAdapter:
        return InternalAdapter(settings) if settings.name == "internal" else fakevpn(settings)
    return create


def daemon_logs(process: FakeProcess) -> None:
    """on_start: every daemon says hello, so log tails have something to carry; rist's
    receiver and decoder print captured real output (the decoder has ended by itself)."""
    process.write(f"{process.name} pid {process.pid}: listening\n")
    if process.argv[:1] == ("ristreceiver",):
        process.write(RIST_RECEIVER)
    elif process.argv[:1] == ("ffmpeg",):
        process.exit(0, RIST_DECODER)


def iperf_client(call: Call) -> Reply:
    return Reply(stdout=UDP_OK if "--udp" in call.argv else TCP_OK)


def nix_cache_shell(call: Call) -> Reply:
    """nix_cache's scripts: the client prints captured real runs (20 paths, 2 timed runs, as
    short_parameters asks); the cache preparation leaves a public key behind."""
    script = call.argv[-1]
    if NIX_RUN_TAG in script:
        return Reply(stdout=NIX_RUNS_OK)
    key = re.search(r"> (\S+/public\.key)", script)
    if key:
        call.fake_host.write_file(PurePosixPath(key.group(1)), "vpb-nix-cache-1:abc=\n")
    return Reply()


def healthy() -> Rules:
    """A LAN and overlay where every probe answers and every tool prints real output."""
    return (Rules()
            .on("sh", "-c", reply=nix_cache_shell, when=lambda call: "nix" in call.argv[-1])
            .on("ping", reply=Reply(stdout=PING_OK))
            .on("iperf3", "--client", reply=iperf_client)
            .on("ss", "-Htln", reply=Reply(stdout="LISTEN 0 5 0.0.0.0:5201 0.0.0.0:*\n"))
            .on("vpb-quic", "client", reply=Reply(stdout=QUIC_OK))
            .on("ffmpeg", reply=Reply(stdout=RIST_SENDER))
            .on("ss", "-Huln", reply=Reply(stdout="UNCONN 0 0 *:4433 *:*\n"))
            .on("ip", "-j", "link", "show", reply=Reply(stdout=IP_LINKS))
            .on("ip", "-j", "route", "get", reply=Reply(stdout=RIST_ROUTE))
            .on("fakevpnd", "--version", reply=Reply(stdout="fakevpnd 1.2.3\n")))


def to_overlay(call: Call) -> bool:
    return any(arg.startswith(OVERLAY_PREFIX) for arg in call.argv)


def is_workload_ping(call: Call) -> bool:
    """The ping workload paces with -i; the readiness probe sends one echo."""
    return call.matches("ping") and "-i" in call.argv


def run(plan: RunPlan, factory: FakeTestbedFactory, out_dir: Path, *,
        fakevpn: type[VpnAdapter] = DaemonVpn, ready_timeout_s: float | None = None,
        sample_cpu: bool = False, quiet: bool = False) -> Path:
    """``quiet``: with the quiet-path wait and contention sampling (their own tests)."""
    return run_plan(plan, VPN_SETTINGS, factory,
                    RunOptions(out_dir=out_dir, live_progress=False,
                               ready_timeout_s=ready_timeout_s, sample_cpu=sample_cpu,
                               sample_contention=quiet, quiet_path=quiet),
                    adapter_factory=adapters(fakevpn))


def resume(run_dir: Path, factory: FakeTestbedFactory, *, force: bool = False) -> None:
    store, plan = open_for_resume(run_dir)
    run_plan(plan, VPN_SETTINGS, factory,
             RunOptions(out_dir=run_dir.parent, live_progress=False,
                        sample_contention=False, quiet_path=False),
             resume=store, force=force, adapter_factory=adapters())


RecordKey = tuple[str, int, str, str]


def records(run_dir: Path) -> dict[RecordKey, ResultRecord]:
    """(vpn, repetition, test, link) -> record."""
    return {(r.vpn, r.repetition, r.test, r.link): r
            for r in RunStore.open_existing(run_dir).load_records()}


def sessions(run_dir: Path) -> list[SessionRecord]:
    return [SessionRecord.model_validate_json((run_dir / rel).read_text())
            for rel in manifest(run_dir).sessions]


def manifest(run_dir: Path) -> RunManifest:
    return RunStore.open_existing(run_dir).manifest


LINKS = ["lom->yuki", "yuki->luna", "luna->lom"]


# -- retries and timeouts -------------------------------------------------------------------
def test_failed_attempt_is_retried_then_recorded_ok(tmp_path: Path) -> None:
    rules = healthy().on("iperf3", "--client", host="lom", times=1,
                         reply=Reply(returncode=1, stdout=TCP_REFUSED))
    factory = FakeTestbedFactory(rules)
    run_dir = run(make_plan(["internal"], ["tcp"]), factory, tmp_path)

    found = records(run_dir)
    retried = found[("internal", 0, "tcp", "lom->yuki")]
    assert retried.status is Status.OK
    assert retried.attempts == 2
    assert len(retried.attempt_errors) == 1
    assert retried.attempt_errors[0].startswith("attempt 1 lom->yuki: ")
    assert "Connection refused" in retried.attempt_errors[0]
    retried_metrics = metrics_as(retried, TcpMetrics)
    assert retried_metrics is not None
    assert retried_metrics.sender_bps == pytest.approx(7846547703.137812)
    for link in ("yuki->luna", "luna->lom"):
        other = found[("internal", 0, "tcp", link)]
        assert other.status is Status.OK and other.attempts == 1 and not other.attempt_errors
    assert len(factory.commands("iperf3", "--client", host="lom")) == 2
    # Each attempt had its own iperf3 server on the target, stopped afterwards.
    servers = [p for p in factory.built[0].host("yuki").started if p.argv[:2] == ("iperf3", "-s")]
    assert len(servers) == 2 and all(p.stopped for p in servers)


def test_a_failure_on_a_silent_tunnel_is_not_retried(tmp_path: Path) -> None:
    """Before lom's test the tunnel answers no echo (three quiet-path probes in a row): the
    test fails and is not retried, since a retry would repeat the failure on a dead tunnel;
    the other links, whose tunnels answer, are measured as usual."""
    rules = (healthy().on("ping", "-n", "-c", "5", host="lom", reply=Reply(stdout=PING_ALL_LOST))
             .on("iperf3", "--client", host="lom", reply=Reply(returncode=1, stdout=TCP_REFUSED)))

    def seed_proc_stat(testbed: FakeTestbed) -> None:
        for host in testbed.hosts:
            host.write_file(PurePosixPath("/proc/stat"),
                            "cpu  100 0 50 1000 0 0 10 0 0 0\nprocs_running 1\n")

    factory = FakeTestbedFactory(rules, on_start=daemon_logs, prepare=seed_proc_stat)
    run_dir = run(make_plan(["fakevpn"], ["tcp"], retries=2), factory, tmp_path, quiet=True)

    found = records(run_dir)
    failed = found[("fakevpn", 0, "tcp", "lom->yuki")]
    assert failed.status is Status.FAILED and failed.attempts == 1
    assert "not retried: the tunnel answered no echo" in (failed.error or "")
    assert failed.quiet_path is not None
    assert (failed.quiet_path.probes, failed.quiet_path.converged,
            failed.quiet_path.last_rtt_ms) == (3, False, None)
    assert len(factory.commands("iperf3", "--client", host="lom")) == 1
    for link in ("yuki->luna", "luna->lom"):
        record = found[("fakevpn", 0, "tcp", link)]
        assert record.status is Status.OK and record.attempts == 1


def test_retries_exhausted_records_the_last_failure_and_every_attempt(tmp_path: Path) -> None:
    rules = healthy().on("iperf3", "--client", host="lom",
                         reply=Reply(returncode=1, stdout=TCP_REFUSED))
    factory = FakeTestbedFactory(rules)
    run_dir = run(make_plan(["internal"], ["tcp"], retries=2), factory, tmp_path)

    found = records(run_dir)
    failed = found[("internal", 0, "tcp", "lom->yuki")]
    assert failed.status is Status.FAILED
    assert failed.attempts == 3
    assert [error.split(":")[0] for error in failed.attempt_errors] == [
        "attempt 1 lom->yuki", "attempt 2 lom->yuki"]
    assert "Connection refused" in (failed.error or "")
    assert "yuki/iperf3-server" in failed.log_tails
    assert len(factory.commands("iperf3", "--client", host="lom")) == 3
    # The session went on with the other links.
    assert all(found[("internal", 0, "tcp", link)].status is Status.OK
               for link in ("yuki->luna", "luna->lom"))
    assert not manifest(run_dir).write_failures and manifest(run_dir).complete


def test_timed_out_commands_are_recorded_as_timeouts(tmp_path: Path) -> None:
    partial_ping = "".join(PING_OK.splitlines(keepends=True)[:4])
    rules = (healthy()
             .on("iperf3", "--client", host="yuki", reply=Reply(timed_out=True))
             .on("ping", host="luna", when=is_workload_ping,
                 reply=Reply(stdout=partial_ping, timed_out=True)))
    factory = FakeTestbedFactory(rules)
    plan = make_plan(["internal"], ["tcp", "ping"], retries=0, timeout_s=7)
    run_dir = run(plan, factory, tmp_path)

    found = records(run_dir)
    tcp = found[("internal", 0, "tcp", "yuki->luna")]
    assert tcp.status is Status.TIMEOUT
    assert tcp.error == "iperf3 client did not finish within 7s"
    ping = found[("internal", 0, "ping", "luna->lom")]
    assert ping.status is Status.TIMEOUT
    assert "ping printed no statistics" in (ping.error or "")
    others = [r for key, r in found.items()
              if (key[2], key[3]) not in {("tcp", "yuki->luna"), ("ping", "luna->lom")}]
    assert len(others) == 4 and all(r.status is Status.OK for r in others)
    # The plan's timeout is what the workloads gave the hosts.
    measured = [call for call in factory.calls
                if call.matches("iperf3", "--client") or is_workload_ping(call)]
    assert len(measured) == 6 and {call.timeout for call in measured} == {7.0}


# -- the VPN fails ----------------------------------------------------------------------------
def test_daemon_dying_mid_test_fails_the_rest_of_the_session(tmp_path: Path) -> None:
    def daemon_dies(call: Call) -> Reply:
        call.fake_host.process(DAEMON).exit(1, output="fakevpnd: fatal: tunnel device gone\n")
        return Reply(returncode=1, stdout=TCP_PEER_GONE)

    rules = healthy().on("iperf3", "--client", host="yuki", when=to_overlay, reply=daemon_dies)
    factory = FakeTestbedFactory(rules, on_start=daemon_logs)
    run_dir = run(make_plan(["internal", "fakevpn"], ["tcp", "ping"]),
                  factory, tmp_path)

    found = records(run_dir)
    assert len(found) == 12
    assert all(r.status is Status.OK for key, r in found.items() if key[0] == "internal")
    assert found[("fakevpn", 0, "tcp", "lom->yuki")].status is Status.OK
    victim = found[("fakevpn", 0, "tcp", "yuki->luna")]
    assert victim.status is Status.FAILED
    assert victim.attempts == 1, "no retry once a daemon is dead"
    assert "VPN daemon died: yuki/fakevpn-daemon exited with 1" in (victim.error or "")
    assert "tunnel device gone" in victim.log_tails["yuki/fakevpn-daemon"]
    rest = [found[("fakevpn", 0, "tcp", "luna->lom")],
            *(found[("fakevpn", 0, "ping", link)] for link in LINKS)]
    for record in rest:
        assert record.status is Status.FAILED
        assert (record.error or "").startswith(
            "VPN daemon died earlier in this session: yuki/fakevpn-daemon exited with 1")
        assert "tunnel device gone" in record.log_tails["yuki/fakevpn-daemon"]
    vpn_testbed = factory.built[1]
    assert len([c for c in vpn_testbed.calls if c.matches("iperf3", "--client")]) == 2
    assert not [c for c in vpn_testbed.calls if is_workload_ping(c)]
    assert [s.status for s in sessions(run_dir)] == [Status.OK, Status.OK]


def test_never_ready_tunnel_fails_every_cell_and_the_next_session_runs(tmp_path: Path) -> None:
    rules = healthy().on("ping", "-c", "1", when=to_overlay,
                         reply=Reply(returncode=1, stdout=PING_ALL_LOST))
    factory = FakeTestbedFactory(rules, on_start=daemon_logs)
    plan = make_plan(["internal", "fakevpn"], ["tcp", "ping"], repetitions=2)
    run_dir = run(plan, factory, tmp_path, ready_timeout_s=0.5)

    found = records(run_dir)
    assert len(found) == 24
    vpn = [r for key, r in found.items() if key[0] == "fakevpn"]
    assert len(vpn) == 12
    for record in vpn:
        assert record.status is Status.FAILED
        assert (record.error or "").startswith("VPN not ready: NotReady: overlay unreachable")
        assert "not ready within 0.5s" in (record.error or "")
        assert set(record.log_tails) == {f"{host}/{DAEMON}" for host in HOSTS}
    # The session after a failed one (internal, repetition 1) ran and measured.
    assert [(s.vpn, s.repetition, s.status) for s in sessions(run_dir)] == [
        ("internal", 0, Status.OK), ("fakevpn", 0, Status.FAILED),
        ("internal", 1, Status.OK), ("fakevpn", 1, Status.FAILED)]
    assert all(r.status is Status.OK for key, r in found.items() if key[0] == "internal")
    # Nothing was measured over the dead overlay, and every daemon was stopped.
    overlay = [c for c in factory.calls if to_overlay(c) and not c.matches("ping", "-c", "1")]
    assert overlay == []
    assert all(p.stopped for tb in factory.built for p in tb.started)
    assert len(factory.built) == 4 and all(tb.exited for tb in factory.built)


def test_daemon_exiting_before_ready_ends_the_wait_with_its_status(tmp_path: Path) -> None:
    def luna_fails(process: FakeProcess) -> None:
        daemon_logs(process)
        if process.host.name == "luna" and process.name == DAEMON:
            process.exit(1, output="fakevpnd: bind 0.0.0.0:7777: address in use\n")

    rules = healthy().on("ping", "-c", "1", when=to_overlay,
                         reply=Reply(returncode=1, stdout=PING_ALL_LOST))
    factory = FakeTestbedFactory(rules, on_start=luna_fails)
    run_dir = run(make_plan(["fakevpn"], ["ping"]), factory, tmp_path,
                  ready_timeout_s=30)

    (session,) = sessions(run_dir)
    assert session.status is Status.FAILED
    assert "luna/fakevpn-daemon exited with 1" in (session.error or "")
    assert "not ready within" not in (session.error or "")
    assert "address in use" in session.log_tails["luna/fakevpn-daemon"]
    assert all(r.status is Status.FAILED and "luna/fakevpn-daemon exited with 1" in (r.error or "")
               for r in records(run_dir).values())


def test_exception_in_deploy_is_a_failed_session_with_log_tails(tmp_path: Path) -> None:
    factory = FakeTestbedFactory(healthy(), on_start=daemon_logs)
    plan = make_plan(["internal", "fakevpn"], ["ping"], repetitions=2)
    run_dir = run(plan, factory, tmp_path, fakevpn=RejectedConfigVpn)

    failed = [s for s in sessions(run_dir) if s.vpn == "fakevpn"]
    assert len(failed) == 2
    for session in failed:
        assert session.status is Status.FAILED
        assert session.error == "VpnError: fakevpnd rejected its config: bad key"
        assert list(session.log_tails) == ["lom/fakevpn-daemon"]
        assert "listening" in session.log_tails["lom/fakevpn-daemon"]
    found = records(run_dir)
    vpn = [r for key, r in found.items() if key[0] == "fakevpn"]
    assert len(vpn) == 6
    assert all(r.status is Status.FAILED
               and r.error == "VPN not ready: VpnError: fakevpnd rejected its config: bad key"
               and "lom/fakevpn-daemon" in r.log_tails for r in vpn)
    assert all(r.status is Status.OK for key, r in found.items() if key[0] == "internal")
    for testbed in (factory.built[1], factory.built[3]):
        (daemon,) = testbed.started
        assert daemon.stopped
        assert not [c for c in testbed.calls if c.matches("ping")], "no wait, no measurement"
    teardowns = [p for p in manifest(run_dir).phases
                 if p.phase == "teardown" and p.vpn == "fakevpn"]
    assert len(teardowns) == 4  # per session: the adapter's, then the testbed's


def test_fail_fast_stops_measuring_after_a_daemon_death_but_tears_down(tmp_path: Path) -> None:
    def lom_dies_after_first_test(process: FakeProcess) -> None:
        daemon_logs(process)
        if process.host.name == "lom" and process.name == DAEMON:
            process.exit_after(1, matching=("iperf3", "--client"), returncode=-9,
                               output="Out of memory: Killed process fakevpnd\n")

    factory = FakeTestbedFactory(healthy(), on_start=lom_dies_after_first_test)
    plan = make_plan(["fakevpn"], ["tcp", "udp", "ping"])
    run_dir = run(plan, factory, tmp_path)

    found = records(run_dir)
    assert len(found) == 9
    assert found[("fakevpn", 0, "tcp", "lom->yuki")].status is Status.OK
    rest = [r for key, r in found.items() if key != ("fakevpn", 0, "tcp", "lom->yuki")]
    assert len(rest) == 8
    assert all(r.status is Status.FAILED and (r.error or "").startswith(
        "VPN daemon died earlier in this session: lom/fakevpn-daemon exited with -9")
        for r in rest)
    (testbed,) = factory.built
    assert len(testbed.commands("iperf3", "--client")) == 1
    assert not [c for c in testbed.calls if is_workload_ping(c)]
    daemons = [p for p in testbed.started if p.name == DAEMON]
    assert len(daemons) == 3 and len(testbed.started) == 4  # plus one iperf3 server
    assert all(p.stopped for p in testbed.started)
    assert testbed.exited
    phases = Counter(p.phase for p in manifest(run_dir).phases)
    assert phases["teardown"] == 2 and phases["benchmark"] == 1


# -- resume -----------------------------------------------------------------------------------
def _run_with_failures(out_dir: Path) -> Path:
    """internal: ping yuki->luna and the parallel group's luna->lom link fail."""
    rules = (healthy()
             .on("ping", host="yuki", when=is_workload_ping, reply=Reply(stdout=PING_ALL_LOST,
                                                                          returncode=1))
             .on("iperf3", "--client", host="luna", reply=Reply(returncode=1,
                                                                stdout=TCP_REFUSED)))
    plan = make_plan(["internal"], ["parallel_tcp", "ping"], retries=0)
    run_dir = run(plan, FakeTestbedFactory(rules), out_dir)
    failed = {key for key, r in records(run_dir).items() if r.status is not Status.OK}
    assert failed == {("internal", 0, "ping", "yuki->luna"),
                      ("internal", 0, "parallel_tcp", "luna->lom")}
    return run_dir


def test_resume_measures_only_the_missing_cells(tmp_path: Path) -> None:
    run_dir = _run_with_failures(tmp_path)
    factory = FakeTestbedFactory(healthy())
    resume(run_dir, factory)

    pings = [c for c in factory.calls if is_workload_ping(c)]
    assert [(c.host, c.argv[-1]) for c in pings] == [("yuki", "10.77.0.3")]
    # A concurrent group is measured whole or not at all.
    assert sorted(c.host for c in factory.calls if c.matches("iperf3", "--client")) == sorted(
        HOSTS)
    found = records(run_dir)
    assert len(found) == 6 and all(r.status is Status.OK for r in found.values())
    saved = manifest(run_dir)
    assert len(saved.records) == len(set(saved.records)) == 6
    assert saved.complete and len(saved.resumed_at) == 1

    nothing_left = FakeTestbedFactory(healthy())
    resume(run_dir, nothing_left)
    assert nothing_left.built == [], "a complete run builds no testbed on resume"


def test_resume_with_force_measures_every_cell(tmp_path: Path) -> None:
    run_dir = _run_with_failures(tmp_path)
    factory = FakeTestbedFactory(healthy())
    resume(run_dir, factory, force=True)

    assert sorted(c.host for c in factory.calls if is_workload_ping(c)) == sorted(HOSTS)
    assert len(factory.commands("iperf3", "--client")) == 3
    found = records(run_dir)
    assert len(found) == 6 and all(r.status is Status.OK for r in found.values())
    assert len(manifest(run_dir).records) == 6


# -- time accounting --------------------------------------------------------------------------
def _assert_phases_add_up(saved: RunManifest) -> None:
    """The phases of the last invocation add up to its wall time ("other" books the rest),
    and each VPN's session shows every phase of its life."""
    assert saved.ended_at is not None
    others = [index for index, phase in enumerate(saved.phases) if phase.phase == "other"]
    invocation = saved.phases[others[-2] + 1:] if len(others) > 1 else saved.phases
    other = invocation[-1]
    assert other.phase == "other"
    assert [p.phase for p in invocation].count("other") == 1
    assert {"setup", "impairment", "deploy", "tunnel_wait", "benchmark", "teardown"} <= {
        phase.phase for phase in invocation}
    for vpn in ("internal", "fakevpn"):
        assert {"setup", "deploy", "tunnel_wait", "benchmark", "teardown"} <= {
            phase.phase for phase in invocation if phase.vpn == vpn}
    assert all(phase.duration_s >= 0 for phase in invocation)
    # An identity, not a timing: the tolerance only absorbs the drift between the wall clock
    # (ended_at) and the monotonic clock the phases are measured with.
    assert sum(p.duration_s for p in invocation) == pytest.approx(
        (saved.ended_at - other.started_at).total_seconds(), rel=1e-3, abs=1e-3)


def test_phases_add_up_to_the_wall_time_of_each_invocation(tmp_path: Path) -> None:
    factory = FakeTestbedFactory(healthy(), on_start=daemon_logs)
    run_dir = run(make_plan(["internal", "fakevpn"], ["ping"]), factory, tmp_path)
    first = manifest(run_dir)
    _assert_phases_add_up(first)

    resume(run_dir, FakeTestbedFactory(healthy()), force=True)
    second = manifest(run_dir)
    assert second.phases[:len(first.phases)] == first.phases, "earlier phases are kept"
    assert len(second.phases) > len(first.phases)
    _assert_phases_add_up(second)


# -- the happy path, with the real workloads and CPU sampling ---------------------------------
def test_every_workload_parses_real_output_and_cpu_is_sampled(tmp_path: Path) -> None:
    def seed_proc_stat(testbed: FakeTestbed) -> None:
        for host in testbed.hosts:
            host.write_file(PurePosixPath("/proc/stat"), "cpu  100 0 50 1000 0 0 10 0 0 0\n")

    def busy_client(call: Call) -> CommandResult | Reply:
        for process in call.fake_host.started:  # the VPN daemons work while iperf3 runs
            if process.name == DAEMON:
                process.cpu_ticks += 25
        return iperf_client(call)

    factory = FakeTestbedFactory(healthy().on("iperf3", "--client", reply=busy_client),
                                 on_start=daemon_logs, prepare=seed_proc_stat)
    plan = make_plan(["internal", "fakevpn"], list(TEST_NAMES))
    run_dir = run(plan, factory, tmp_path, sample_cpu=True)

    found = records(run_dir)
    assert len(found) == 2 * 3 * len(TEST_NAMES)
    assert all(r.status is Status.OK for r in found.values()), \
        [(key, r.error) for key, r in found.items() if r.status is not Status.OK]
    for vpn in ("internal", "fakevpn"):
        tcp = metrics_as(found[(vpn, 0, "tcp", "lom->yuki")], TcpMetrics)
        assert tcp is not None and tcp.retransmits == 2570
        udp = metrics_as(found[(vpn, 0, "udp", "lom->yuki")], UdpMetrics)
        assert udp is not None and udp.lost_packets == 216095
        ping = metrics_as(found[(vpn, 0, "ping", "lom->yuki")], PingMetrics)
        assert ping is not None and ping.received == 20
        nix = metrics_as(found[(vpn, 0, "nix_cache", "lom->yuki")], NixCacheMetrics)
        assert nix is not None and nix.run_times_s == [0.731971793, 0.652588935]
        rist = metrics_as(found[(vpn, 0, "rist", "lom->yuki")], RistMetrics)
        assert rist is not None and (rist.frames_sent, rist.frames_decoded) == (75, 75)
        group = [found[(vpn, 0, "parallel_tcp", link)] for link in LINKS]
        assert len({r.group for r in group}) == 1 and all(r.concurrent_links == 3 for r in group)
    # Workloads targeted the LAN for internal and the overlay for the VPN.
    assert found[("internal", 0, "ping", "lom->yuki")].command[-1] == "10.77.0.2"
    assert found[("fakevpn", 0, "ping", "lom->yuki")].command[-1] == "10.99.0.2"
    raw = run_dir / "fakevpn" / "baseline" / "rep0" / "tcp" / "lom-yuki.raw.json"
    assert json.loads(raw.read_text())["end"]["sum_sent"]
    # CPU: host figures from /proc/stat, daemon figures from the fake's /proc/<pid>.
    cpu = found[("fakevpn", 0, "tcp", "lom->yuki")].cpu
    assert cpu is not None and set(cpu.hosts) == set(HOSTS)
    daemons = {p.host: p for p in cpu.processes}
    assert set(daemons) == set(HOSTS)
    assert daemons["lom"].cpu_pct > 0 and daemons["yuki"].cpu_pct == 0
    assert daemons["lom"].max_rss_bytes == 8 * 1024 * 1024
    vpn_session = next(s for s in sessions(run_dir) if s.vpn == "fakevpn")
    assert vpn_session.vpn_version == "fakevpnd 1.2.3"
    assert vpn_session.overlay_addresses == {"lom": "10.99.0.1", "yuki": "10.99.0.2",
                                             "luna": "10.99.0.3"}
    assert vpn_session.interfaces["lom"]["fakevpn0"] == 1420
    assert vpn_session.testbed["backend"] == "fake"
    # The fake answered everything the run asked.
    assert isinstance(factory.handler, Rules) and factory.handler.unmatched == []


# -- the quiet path and host contention -------------------------------------------------------
def test_quiet_path_wait_and_contention_are_in_every_record(tmp_path: Path) -> None:
    """The first quiet-path probe from lom after bring-up still sees the tunnel loaded
    (+9 ms) twice, so lom's first test waits three probes; every other test settles at
    once. The scheduling probe reports 4 ms oversleeps: every cell is flagged busy."""
    slow = re.sub(r"time=([\d.]+)", lambda m: f"time={float(m.group(1)) + 9:.3f}", PING_OK)
    late = json.dumps({"sleep_us": 1000, "oversleep_us": [80] * 18 + [4000] * 2})

    def seed_proc_stat(testbed: FakeTestbed) -> None:
        for host in testbed.hosts:
            host.write_file(PurePosixPath("/proc/stat"),
                            "cpu  100 0 50 1000 0 0 10 0 0 0\ncpu0 100 0 50 1000 0 0 10 0 0 0\n"
                            "procs_running 1\n")

    rules = (healthy().on("ping", "-n", "-c", "5", host="lom", times=2, reply=Reply(stdout=slow))
             .on("vpb-probe", "sched", reply=Reply(stdout=late)))
    factory = FakeTestbedFactory(rules, on_start=daemon_logs, prepare=seed_proc_stat)
    run_dir = run(make_plan(["fakevpn"], ["udp", "ping"]), factory, tmp_path, quiet=True)

    found = records(run_dir)
    idle = statistics.median(s for s in parse_ping(PING_OK, 0.2).samples_ms if s is not None)
    first = found[("fakevpn", 0, "udp", "lom->yuki")].quiet_path
    assert first is not None and first.converged and first.probes == 3
    assert first.idle_rtt_ms == pytest.approx(idle) and first.last_rtt_ms == pytest.approx(idle)
    for key, record in found.items():
        assert record.status is Status.OK
        if key[2:] != ("udp", "lom->yuki"):
            assert record.quiet_path is not None and record.quiet_path.converged
            assert record.quiet_path.probes == 1
        contention = record.contention
        assert contention is not None and contention.busy, key
        assert contention.reason.startswith("lom: p95 scheduling latency 4 ms > 2 ms before")
        assert set(contention.hosts) == set(HOSTS)
    # The idle RTT was measured once per link after bring-up, ten echoes each.
    assert len([c for c in factory.calls if c.matches("ping", "-n", "-c", "10")]) == 3
