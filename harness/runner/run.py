"""The run loop: every session of a plan on fresh testbeds, records written as they come."""

from __future__ import annotations

import contextlib
import secrets
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from harness.metadata import machine_metadata, tool_versions
from harness.records.models import ResultRecord, RunManifest, SessionRecord, TestKind
from harness.records.store import RunStore
from harness.runner.plan import RunPlan
from harness.runner.progress import ProgressReporter
from harness.runner.session import SessionSettings, run_session
from harness.runner.signals import termination_raises
from harness.runner.timing import PhaseClock
from harness.settings.models import VpnSettings
from harness.testbed.base import Testbed
from harness.topology import ring_links
from harness.vpns.registry import create_adapter
from harness.workloads.base import Measurement

TestbedFactory = Callable[[], contextlib.AbstractContextManager[Testbed]]


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)


@dataclass
class RunOptions:
    out_dir: Path
    backend: str = "local"
    ready_timeout_s: float | None = None
    live_progress: bool | None = None
    run_id: str | None = None
    extra_metadata: dict[str, object] | None = None


class _StoreSink:
    """Adapts RunStore to the session's RecordSink and the progress display."""

    def __init__(self, store: RunStore, reporter: ProgressReporter) -> None:
        self.store = store
        self.reporter = reporter

    def add_record(self, record: ResultRecord, raw: str, raw_extension: str) -> None:
        self.store.add_record(record, raw, raw_extension)

    def add_session(self, session: SessionRecord) -> None:
        self.store.add_session(session)
        self.reporter.session_ready(session)


def _measurements_per_session(plan: RunPlan) -> int:
    return len(plan.tests) * len(ring_links(plan.hosts))


def run_plan(
    plan: RunPlan,
    vpn_settings: dict[str, VpnSettings],
    testbed_factory: TestbedFactory,
    options: RunOptions,
) -> Path:
    """Execute ``plan``; returns the run directory. Interrupts propagate after cleanup."""
    run_id = options.run_id or new_run_id()
    run_dir = options.out_dir / run_id
    manifest = RunManifest(
        run_id=run_id,
        started_at=datetime.now(UTC),
        command_line=sys.argv,
        backend=options.backend,
        hosts=plan.hosts,
        vpns=plan.vpns,
        profiles=plan.profiles,
        tests=[test.value for test in plan.tests],
        metadata={**machine_metadata(), **(options.extra_metadata or {}),
                  "workload": vars(plan.workload), "repetitions": plan.repetitions},
    )
    store = RunStore(run_dir, manifest)
    store.save_manifest()
    clock = PhaseClock(on_phase=store.add_phase)
    settings = SessionSettings(run_id=run_id, tests=plan.tests, workload=plan.workload,
                               ready_timeout_s=options.ready_timeout_s,
                               tool_versions=tool_versions())
    sessions = plan.sessions()
    reporter = ProgressReporter(len(sessions) * _measurements_per_session(plan),
                                live=options.live_progress)
    sink = _StoreSink(store, reporter)

    def on_measurement(test: TestKind, measurement: Measurement) -> None:
        reporter.measurement_done(test, measurement)

    try:
        with termination_raises(), reporter:
            for session in sessions:
                reporter.session_started(session)
                adapter = create_adapter(vpn_settings[session.vpn])
                run_session(session, adapter, testbed_factory, settings, sink, clock,
                            on_measurement)
        manifest.complete = True
    finally:
        manifest.ended_at = datetime.now(UTC)
        store.save_manifest()
    return run_dir
