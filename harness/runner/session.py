"""One session: build the testbed, bring up a VPN, wait until ready, run the tests, tear down.

Every measurement is written the moment it ends. When the VPN does not come up, each of its
test cells is recorded as failed with the reason and the daemons' log tails, and the caller
moves on to the next session.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from harness.records.models import ResultRecord, SessionRecord, Status, TestKind
from harness.runner.plan import Session
from harness.runner.readiness import wait_for_overlay
from harness.runner.timing import PhaseClock
from harness.testbed.base import Testbed
from harness.topology import Link, ring_links
from harness.vpns.base import VpnAdapter, VpnContext
from harness.workloads.base import Measurement, WorkloadContext, WorkloadSettings, now
from harness.workloads.registry import WORKLOADS


class RecordSink(Protocol):
    def add_record(self, record: ResultRecord, raw: str, raw_extension: str) -> None: ...

    def add_session(self, session: SessionRecord) -> None: ...


@dataclass
class SessionSettings:
    run_id: str
    tests: list[TestKind]
    workload: WorkloadSettings
    ready_timeout_s: float | None = None
    tool_versions: dict[str, str] | None = None


def _links_for(test: TestKind, hosts: list[str]) -> list[Link]:
    return ring_links(hosts)


def _record(
    settings: SessionSettings,
    session: Session,
    test: TestKind,
    measurement: Measurement,
) -> ResultRecord:
    return ResultRecord(
        run_id=settings.run_id,
        vpn=session.vpn,
        profile=session.profile,
        test=test,
        source=measurement.link.source,
        target=measurement.link.target,
        repetition=session.repetition,
        started_at=measurement.started_at,
        ended_at=measurement.ended_at,
        status=measurement.status,
        error=measurement.error,
        metrics=measurement.metrics,
        command=measurement.command,
        log_tails=measurement.log_tails,
        group=measurement.group,
        concurrent_links=measurement.concurrent_links,
        tool_versions=settings.tool_versions or {},
    )


def run_session(
    session: Session,
    adapter: VpnAdapter,
    testbed_factory: Callable[[], contextlib.AbstractContextManager[Testbed]],
    settings: SessionSettings,
    sink: RecordSink,
    clock: PhaseClock,
    on_measurement: Callable[[TestKind, Measurement], None] = lambda test, m: None,
) -> SessionRecord:
    """Run one session; never raises for VPN or test failures (they become records)."""
    vpn, profile = session.vpn, session.profile
    stack = contextlib.ExitStack()
    started = now()
    session_record: SessionRecord
    with stack:
        testbed = stack.enter_context(_timed_testbed(testbed_factory, clock, vpn, profile))
        ctx = VpnContext(testbed, adapter.settings)
        stack.callback(lambda: _teardown(adapter, ctx, clock, vpn, profile))
        try:
            with clock.phase("deploy", vpn, profile):
                adapter.deploy(ctx)
                addresses = adapter.overlay_addresses(ctx)
            with clock.phase("tunnel_wait", vpn, profile):
                ready_after = wait_for_overlay(
                    testbed, addresses,
                    settings.ready_timeout_s or adapter.ready_timeout_s,
                    abort=lambda: adapter.dead_daemons(ctx),
                )
        except Exception as error:  # the VPN did not come up: record why, move on
            session_record = SessionRecord(
                run_id=settings.run_id, vpn=vpn, profile=profile,
                repetition=session.repetition, started_at=started, ended_at=now(),
                status=Status.FAILED, error=f"{type(error).__name__}: {error}",
                log_tails=adapter.log_tails(ctx),
                vpn_version=_version(adapter, testbed),
            )
            sink.add_session(session_record)
            for test, measurement in _unready_measurements(settings, testbed.host_names,
                                                           session_record):
                sink.add_record(_record(settings, session, test, measurement), "", "txt")
                on_measurement(test, measurement)
            return session_record
        session_record = SessionRecord(
            run_id=settings.run_id, vpn=vpn, profile=profile, repetition=session.repetition,
            started_at=started, ended_at=now(), status=Status.OK,
            overlay_addresses=addresses, ready_after_s=ready_after,
            vpn_version=_version(adapter, testbed),
            details=adapter.details(),
        )
        sink.add_session(session_record)
        workload_ctx = WorkloadContext(testbed, addresses, settings.workload)
        for test in settings.tests:
            workload = WORKLOADS[test]()
            with clock.phase("benchmark", vpn, profile):
                for measurement in _measure(workload.run(workload_ctx,
                                                         _links_for(test, testbed.host_names)),
                                            adapter, ctx):
                    record = _record(settings, session, test, measurement)
                    sink.add_record(record, measurement.raw_output, measurement.raw_extension)
                    on_measurement(test, measurement)
    return session_record


def _measure(
    measurements: Iterator[Measurement], adapter: VpnAdapter, ctx: VpnContext
) -> Iterator[Measurement]:
    """Attach daemon log tails to a failed measurement, and say so when a daemon died."""
    for measurement in measurements:
        if measurement.status is not Status.OK:
            dead = adapter.dead_daemons(ctx)
            if dead:
                measurement.error = f"{measurement.error}; VPN daemon died: {'; '.join(dead)}"
            measurement.log_tails.update(adapter.log_tails(ctx, lines=20))
        yield measurement


def _unready_measurements(
    settings: SessionSettings, hosts: list[str], session_record: SessionRecord
) -> Iterator[tuple[TestKind, Measurement]]:
    """A failed cell per test and link when the VPN never became ready."""
    for test in settings.tests:
        for link in _links_for(test, hosts):
            yield test, Measurement(
                link, Status.FAILED, session_record.started_at, session_record.ended_at,
                error=f"VPN not ready: {session_record.error}",
                log_tails=session_record.log_tails,
            )


def _teardown(adapter: VpnAdapter, ctx: VpnContext, clock: PhaseClock, vpn: str,
              profile: str) -> None:
    with clock.phase("teardown", vpn, profile):
        adapter.teardown(ctx)


def _version(adapter: VpnAdapter, testbed: Testbed) -> str | None:
    try:
        return adapter.version(testbed.hosts[0])
    except Exception as error:  # a version probe must never fail a session
        return f"unknown ({error})"


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
