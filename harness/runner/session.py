"""One session: build the testbed, bring up a VPN, wait until ready, run the tests, tear down.

Every measurement is written the moment it ends. A failed attempt is retried (bounded) after
a back-off; the final attempt is recorded with the earlier attempts' errors. When the VPN
does not come up, or a daemon dies mid-session, the cells still to run are recorded as failed
with the reason and the daemons' log tails, and the caller moves on to the next session.
Cells already measured ok (``--resume``) are skipped.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from harness.impairment.check import measure_transit, verify_link
from harness.impairment.engine import ImpairmentEngine
from harness.impairment.selection import select_engine
from harness.impairment.tuning import apply_tcp_tuning
from harness.monitoring.contention import LIGHT_LOAD_THRESHOLDS, ContentionMonitor
from harness.monitoring.cpu import CpuSampler
from harness.records.models import Contention, ResultRecord, SessionRecord, Status
from harness.records.store import StoreFull
from harness.runner.plan import RunPlan, Session
from harness.runner.quiet import IdleRtt, measure_idle, silent, wait_quiet
from harness.runner.readiness import wait_for_overlay
from harness.runner.signals import Interrupted
from harness.runner.timing import PhaseClock
from harness.testbed.base import Testbed
from harness.topology import Link, ring_links
from harness.vpns.base import VpnAdapter, VpnContext
from harness.workloads.base import Measurement, Workload, WorkloadContext, now
from harness.workloads.registry import WORKLOADS

#: Seconds to wait for a host lost mid-session before cleaning up on it.
RECOVER_S = 60.0
#: (repetition, vpn, profile, test, source, target)
CellKey = tuple[int, str, str, str, str, str]


def cell_key(session: Session, test: str, link: Link) -> CellKey:
    return (session.repetition, session.vpn, session.profile, test, link.source, link.target)


class RecordSink(Protocol):
    def add_record(self, record: ResultRecord, raw: str, raw_extension: str) -> None: ...

    def add_session(self, session: SessionRecord) -> None: ...


@dataclass
class SessionSettings:
    run_id: str
    plan: RunPlan
    ready_timeout_s: float | None = None
    tool_versions: dict[str, str] = field(default_factory=dict)
    #: Cells with an ok record already on disk; they are not measured again.
    completed: frozenset[CellKey] = frozenset()
    sample_cpu: bool = True
    #: Host contention before, during and after every test (harness.monitoring.contention).
    sample_contention: bool = True
    #: Wait before every test until the tunnel is back at its idle RTT (harness.runner.quiet).
    quiet_path: bool = True


def pending_cells(session: Session, hosts: list[str],
                  completed: frozenset[CellKey]) -> dict[str, list[Link]]:
    """Per test, the links still to measure (a concurrent group runs whole or not at all)."""
    pending: dict[str, list[Link]] = {}
    for test in session.tests:
        links = session.links(test, hosts)
        missing = [link for link in links if cell_key(session, test, link) not in completed]
        if missing:
            pending[test] = links if WORKLOADS[test].concurrent else missing
    return pending


def _record(settings: SessionSettings, session: Session, test: str,
            measurement: Measurement, vpn_version: str | None) -> ResultRecord:
    return ResultRecord(
        run_id=settings.run_id, vpn=session.vpn, profile=session.profile, test=test,
        source=measurement.link.source, target=measurement.link.target,
        repetition=session.repetition, started_at=measurement.started_at,
        ended_at=measurement.ended_at, status=measurement.status, error=measurement.error,
        attempts=measurement.attempts, attempt_errors=measurement.attempt_errors,
        metrics=(measurement.metrics.model_dump(mode="json")
                 if measurement.metrics is not None else None),
        parameters=session.parameters[test].model_dump(mode="json"), cpu=measurement.cpu,
        command=measurement.command,
        log_tails=measurement.log_tails, group=measurement.group,
        concurrent_links=measurement.concurrent_links, tool_versions=settings.tool_versions,
        vpn_version=vpn_version, contention=measurement.contention,
        quiet_path=measurement.quiet_path,
    )


@dataclass
class _VpnLifecycle:
    """The session's VPN and testbed as a workload's Lifecycle (reconnect's restarts)."""

    adapter: VpnAdapter
    ctx: VpnContext

    @property
    def vpn_has_service(self) -> bool:
        return self.adapter.has_service

    def stop_vpn(self, host: str) -> None:
        self.adapter.stop_host(self.ctx, host)

    def start_vpn(self, host: str, *, booted: bool = False) -> None:
        self.adapter.start_host(self.ctx, host, booted=booted)

    def reboot(self, host: str, timeout_s: float) -> None:
        self.adapter.stop_host(self.ctx, host)
        self.ctx.testbed.reboot(host, timeout_s=timeout_s)


class _SessionRun:
    """State of one session while it runs."""

    def __init__(self, session: Session, adapter: VpnAdapter, settings: SessionSettings,
                 sink: RecordSink, clock: PhaseClock,
                 on_measurement: Callable[[str, Measurement], None]) -> None:
        self.session = session
        self.adapter = adapter
        self.settings = settings
        self.sink = sink
        self.clock = clock
        self.on_measurement = on_measurement
        self.vpn_version: str | None = None
        #: Link label -> the tunnel's idle RTT, measured once after bring-up.
        self.idle: dict[str, IdleRtt | None] = {}

    def measure_idle(self, testbed: Testbed, addresses: dict[str, str]) -> None:
        """The idle RTT of every link the tests use, before any test loaded the tunnel."""
        for link in ring_links(testbed.host_names):
            self.idle[link.label] = measure_idle(testbed.host(link.source),
                                                 addresses[link.target])

    def emit(self, test: str, measurement: Measurement) -> None:
        record = _record(self.settings, self.session, test, measurement, self.vpn_version)
        self.sink.add_record(record, measurement.raw_output, measurement.raw_extension)
        self.on_measurement(test, measurement)

    def fail_all(self, pending: dict[str, list[Link]], reason: str,
                 log_tails: dict[str, str]) -> None:
        for test, links in pending.items():
            for link in links:
                stamp = now()
                self.emit(test, Measurement(link, Status.FAILED, stamp, stamp, error=reason,
                                            log_tails=log_tails))

    def attempt(self, workload: Workload[Any, Any], ctx: WorkloadContext[Any],
                links: list[Link],
                vpn_ctx: VpnContext) -> list[Measurement]:
        """One attempt on ``links``, after the quiet-path wait, with CPU and host contention
        sampled while it runs."""
        quiet = {link.label: wait_quiet(ctx.testbed.host(link.source),
                                        ctx.addresses[link.target], self.idle.get(link.label))
                 for link in links} if self.settings.quiet_path else {}
        sampler = CpuSampler(ctx.testbed.hosts, vpn_ctx.processes)
        monitor = ContentionMonitor(ctx.testbed.hosts)
        with contextlib.ExitStack() as sampling:
            if self.settings.sample_contention:
                sampling.enter_context(monitor)
            if self.settings.sample_cpu:
                sampling.enter_context(sampler)
            measurements = list(workload.run(ctx, links))
        usage = sampler.usage() if self.settings.sample_cpu else None
        contention = monitor.result() if self.settings.sample_contention else None
        for measurement in measurements:
            measurement.cpu = usage
            measurement.contention = contention
            measurement.quiet_path = quiet.get(measurement.link.label)
            if measurement.status is not Status.OK:
                dead = self.adapter.dead_daemons(vpn_ctx)
                if dead:
                    measurement.error = f"{measurement.error}; VPN daemon died: {'; '.join(dead)}"
                measurement.log_tails.update(self.adapter.log_tails(vpn_ctx, lines=20))
        return measurements

    def measure_unit(self, test: str, unit: list[Link], ctx: WorkloadContext[Any],
                     vpn_ctx: VpnContext) -> list[Measurement]:
        """Final measurements of one unit (a link, or a concurrent group), with retries."""
        plan = self.settings.plan
        workload = WORKLOADS[test]
        errors: list[str] = []
        attempts = plan.retries(test) + 1
        for attempt in range(1, attempts + 1):
            measurements = self.attempt(workload, ctx, unit, vpn_ctx)
            failed = [m for m in measurements if m.status is not Status.OK]
            if not failed or attempt == attempts or self.adapter.dead_daemons(vpn_ctx):
                break
            if all(silent(m.quiet_path) for m in failed):
                # The tunnel answered no echo right before the attempt: it was down, and a
                # retry would only repeat the failure (and its timeouts) on a dead tunnel.
                for measurement in failed:
                    measurement.error = (f"{measurement.error} (not retried: the tunnel "
                                         "answered no echo before this attempt)")
                break
            errors.extend(f"attempt {attempt} {m.link.label}: {m.error}" for m in failed)
            time.sleep(min(plan.backoff_s(test) * 2 ** (attempt - 1), 30.0))
        for measurement in measurements:
            measurement.attempts = attempt
            measurement.attempt_errors = errors
        return measurements

    def run_tests(self, pending: dict[str, list[Link]], testbed: Testbed,
                  addresses: dict[str, str], vpn_ctx: VpnContext) -> None:
        """Every pending unit in order; after a daemon death the rest fail with the reason."""
        session, plan = self.session, self.settings.plan
        units = [(test, unit) for test, links in pending.items()
                 for unit in _units(test, links)]
        for index, (test, unit) in enumerate(units):
            params = session.parameters[test]
            ctx = WORKLOADS[test].context(testbed, addresses, params,
                                          timeout_s=plan.timeout_s(test, params),
                                          lifecycle=_VpnLifecycle(self.adapter, vpn_ctx))
            try:
                reason = _unavailable(WORKLOADS[test], testbed, unit)
                if reason:
                    self.fail_all({test: unit}, f"not runnable here: {reason}", {})
                    continue
                with self.clock.phase("benchmark", session.vpn, session.profile):
                    measurements = self.measure_unit(test, unit, ctx, vpn_ctx)
                    for measurement in measurements:
                        self.emit(test, measurement)
                dead = self.adapter.dead_daemons(vpn_ctx)
            except (StoreFull, Interrupted):
                raise
            except Exception as error:  # e.g. a host lost over SSH: this cell fails, go on
                self.fail_all({test: unit}, f"{type(error).__name__}: {error}", {})
                continue
            if dead:
                remaining: dict[str, list[Link]] = {}
                for later_test, later_unit in units[index + 1:]:
                    remaining.setdefault(later_test, []).extend(later_unit)
                self.fail_all(remaining, "VPN daemon died earlier in this session: "
                              + "; ".join(dead), self.adapter.log_tails(vpn_ctx))
                return


def _unavailable(workload: Workload[Any, Any], testbed: Testbed, unit: list[Link]) -> str | None:
    """Why the workload cannot run on a host of ``unit`` (a missing tool), if it cannot."""
    names = sorted({name for link in unit for name in (link.source, link.target)})
    reasons = [reason for name in names
               if (reason := workload.unavailable_reason(testbed.host(name)))]
    return "; ".join(reasons) or None


def _units(test: str, links: list[Link]) -> list[list[Link]]:
    """Links measured together (a concurrent group) or one by one."""
    return [links] if WORKLOADS[test].concurrent else [[link] for link in links]


def run_session(
    session: Session,
    adapter: VpnAdapter,
    testbed_factory: Callable[[], contextlib.AbstractContextManager[Testbed]],
    settings: SessionSettings,
    sink: RecordSink,
    clock: PhaseClock,
    on_measurement: Callable[[str, Measurement], None] = lambda test, m: None,
) -> SessionRecord:
    """Run one session; never raises for VPN or test failures (they become records).

    Order: testbed, TCP tuning, impairment (applied and verified on the bare LAN), VPN
    bring-up and readiness under that impairment, tests; then everything in reverse.
    """
    state = _SessionRun(session, adapter, settings, sink, clock, on_measurement)
    vpn, profile = session.vpn, session.profile
    plan = settings.plan
    started = now()
    engine: ImpairmentEngine | None = None
    verified: Contention | None = None
    tuning: dict[str, dict[str, str]] = {}
    with contextlib.ExitStack() as stack:
        testbed = stack.enter_context(_timed_testbed(testbed_factory, clock, vpn, profile))
        pending = pending_cells(session, testbed.host_names, settings.completed)
        vpn_ctx = VpnContext(testbed, adapter.settings)
        state.vpn_version = _version(adapter, testbed)
        try:
            with clock.phase("impairment", vpn, profile):
                tuning = apply_tcp_tuning(testbed, plan.tcp_tuning)
                engine, verified = _impair(stack, testbed, plan, session.profile)
            stack.callback(lambda: _teardown(adapter, vpn_ctx, clock, vpn, profile))
            with clock.phase("deploy", vpn, profile):
                adapter.deploy(vpn_ctx)
                addresses = adapter.overlay_addresses(vpn_ctx)
            with clock.phase("tunnel_wait", vpn, profile):
                ready_after = wait_for_overlay(
                    testbed, addresses,
                    settings.ready_timeout_s or adapter.ready_timeout_s,
                    abort=lambda: adapter.dead_daemons(vpn_ctx),
                )
        except Exception as error:  # the VPN did not come up: record why, move on
            testbed.wait_reachable(RECOVER_S)
            record = SessionRecord(
                run_id=settings.run_id, vpn=vpn, profile=profile,
                repetition=session.repetition, started_at=started, ended_at=now(),
                status=Status.FAILED, error=f"{type(error).__name__}: {error}",
                log_tails=adapter.log_tails(vpn_ctx), vpn_version=state.vpn_version,
                impairment=engine.remove() if engine else None, tcp_tuning=tuning,
                impairment_contention=verified,
            )
            sink.add_session(record)
            state.fail_all(pending, f"VPN not ready: {record.error}", record.log_tails)
            return record
        record = SessionRecord(
            run_id=settings.run_id, vpn=vpn, profile=profile, repetition=session.repetition,
            started_at=started, ended_at=now(), status=Status.OK,
            overlay_addresses=addresses, ready_after_s=ready_after,
            vpn_version=state.vpn_version, details=adapter.details(),
            interfaces=_interfaces(testbed), impairment=engine.record if engine else None,
            impairment_contention=verified, tcp_tuning=tuning, testbed=testbed.describe(),
        )
        sink.add_session(record)
        if settings.quiet_path:
            with clock.phase("tunnel_wait", vpn, profile):
                state.measure_idle(testbed, addresses)
        state.run_tests(pending, testbed, addresses, vpn_ctx)
        testbed.wait_reachable(RECOVER_S)  # a host lost mid-run: impairment goes when it is back
        if engine is not None:
            with clock.phase("impairment", vpn, profile):
                record = record.model_copy(update={"impairment": engine.remove(),
                                                   "ended_at": now()})
            sink.add_session(record)
    return record


def _impair(stack: contextlib.ExitStack, testbed: Testbed, plan: RunPlan,
            profile_name: str) -> tuple[ImpairmentEngine | None, Contention | None]:
    """Apply the profile's impairment and verify it by measurement, with the hosts'
    contention during the check; (None, None) at baseline (the plain kernel path). The
    engine is removed when ``stack`` closes."""
    profile = plan.profile_definitions[profile_name]
    if profile.egress is None:
        return None, None
    hosts = testbed.host_names
    transit = measure_transit(testbed, hosts[0], hosts[1], count=plan.verify_probes)
    engine = stack.enter_context(select_engine(testbed, plan.engine))
    engine.apply(testbed, profile, seed=plan.seed)
    with ContentionMonitor(testbed.hosts, interval_s=0.5,
                           thresholds=LIGHT_LOAD_THRESHOLDS) as monitor:
        verify_link(testbed, engine, profile, probes=plan.verify_probes, transit_ms=transit)
    return engine, monitor.result()


@contextlib.contextmanager
def _timed_testbed(
    factory: Callable[[], contextlib.AbstractContextManager[Testbed]],
    clock: PhaseClock,
    vpn: str,
    profile: str,
) -> Iterator[Testbed]:
    """Build the testbed as "setup" and destroy it as "teardown" time."""
    manager = factory()
    with clock.phase("setup", vpn, profile):
        testbed = manager.__enter__()
    try:
        yield testbed
    finally:
        with clock.phase("teardown", vpn, profile):
            manager.__exit__(None, None, None)


def _teardown(adapter: VpnAdapter, ctx: VpnContext, clock: PhaseClock, vpn: str,
              profile: str) -> None:
    with clock.phase("teardown", vpn, profile):
        ctx.testbed.wait_reachable(RECOVER_S)
        adapter.teardown(ctx)


def _version(adapter: VpnAdapter, testbed: Testbed) -> str | None:
    try:
        return adapter.version(testbed.hosts[0])
    except Exception as error:  # a version probe must never fail a session
        return f"unknown ({error})"


def _interfaces(testbed: Testbed) -> dict[str, dict[str, int]]:
    """Host -> interface -> MTU, once the VPN is up (its tunnel interfaces included)."""
    interfaces: dict[str, dict[str, int]] = {}
    for host in testbed.hosts:
        result = host.run(["ip", "-j", "link", "show"], timeout=10)
        if result.ok:
            interfaces[host.name] = {link["ifname"]: int(link.get("mtu", 0))
                                     for link in json.loads(result.stdout)}
    return interfaces
