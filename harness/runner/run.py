"""The run loop: every session of a plan on fresh testbeds, records written as they come.

A run directory is resumable: the resolved plan lives in its manifest, and a resumed run
measures only the cells without an ok record on disk.
"""

from __future__ import annotations

import contextlib
import secrets
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from harness.hosts.base import Host
from harness.hosts.local import LocalMachine
from harness.metadata import machine_metadata, tool_versions
from harness.records.models import (
    PhaseTiming,
    ResultRecord,
    RunManifest,
    SessionRecord,
    Status,
)
from harness.records.store import RunLocked, RunStore, StoreFull
from harness.runner.plan import RunPlan
from harness.runner.progress import ProgressReporter
from harness.runner.rundir import ResumeError, read_manifest, read_plan
from harness.runner.session import (
    CellKey,
    SessionSettings,
    pending_cells,
    run_session,
)
from harness.runner.signals import termination_raises
from harness.runner.timing import PhaseClock
from harness.settings.models import VpnSettings
from harness.testbed.base import Testbed
from harness.vpns.base import VpnAdapter
from harness.vpns.registry import create_adapter
from harness.workloads.base import Measurement

TestbedFactory = Callable[[], contextlib.AbstractContextManager[Testbed]]
_PLAN = TypeAdapter(RunPlan)


class RunDiskFull(RuntimeError):
    """The run stopped because its directory's filesystem is full; it can be resumed."""

    def __init__(self, run_dir: Path, error: OSError) -> None:
        super().__init__(f"{error.strerror or error}: the run stopped; every record written "
                         f"so far is intact. Free space, then: vpn-bench run --resume {run_dir}")
        self.run_dir = run_dir


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
    sample_cpu: bool = True
    #: Host contention around every test, and the quiet-path wait before it (see
    #: harness.monitoring.contention, harness.runner.quiet).
    sample_contention: bool = True
    quiet_path: bool = True
    #: Where machine facts and tool versions are asked (the backend's control host).
    control_host: Host | None = None


class _StoreSink:
    """Adapts RunStore to the session's RecordSink: a failed write is noted, not fatal."""

    def __init__(self, store: RunStore, reporter: ProgressReporter) -> None:
        self.store = store
        self.reporter = reporter
        self._announced: set[tuple[int, str, str]] = set()

    def add_record(self, record: ResultRecord, raw: str, raw_extension: str) -> None:
        try:
            self.store.add_record(record, raw, raw_extension)
        except StoreFull:
            raise  # nothing more can be written: the run stops, resumable
        except OSError as error:
            note = (f"{record.vpn}/{record.profile}/rep{record.repetition}/{record.test}/"
                    f"{record.link}: {error}")
            self.store.manifest.write_failures.append(note)
            self.store.save_manifest()
            self.reporter.console.print(f"[red]could not write record[/red] {note}")

    def add_session(self, session: SessionRecord) -> None:
        """Write (or update, at the end of the session) its record; announce it once."""
        self.store.add_session(session)
        key = (session.repetition, session.vpn, session.profile)
        if key not in self._announced:
            self._announced.add(key)
            self.reporter.session_ready(session)


def plan_to_json(plan: RunPlan) -> dict[str, Any]:
    data: dict[str, Any] = _PLAN.dump_python(plan, mode="json")
    return data


def plan_from_json(data: dict[str, Any]) -> RunPlan:
    return _PLAN.validate_python(data)


def completed_cells(store: RunStore) -> frozenset[CellKey]:
    """Cells whose record on disk says ok (missing or unreadable files do not count)."""
    done: set[CellKey] = set()
    for rel in store.manifest.records:
        try:
            record = ResultRecord.model_validate_json((store.run_dir / rel).read_text())
        except (OSError, ValidationError):
            continue
        if record.status is Status.OK:
            done.add((record.repetition, record.vpn, record.profile, record.test,
                      record.source, record.target))
    return frozenset(done)


def open_for_resume(run_dir: Path, *, writer: bool = True) -> tuple[RunStore, RunPlan]:
    """The run's store (locked for writing unless ``writer`` is False) and its plan.

    The directory is validated read-only first (harness.runner.rundir); only a valid run
    is locked and cleaned of a killed writer's leftovers.
    """
    manifest = read_manifest(run_dir)
    plan = read_plan(run_dir, manifest)
    if not writer:
        return RunStore(run_dir, manifest, writer=False), plan
    try:
        store = RunStore.open_for_writing(run_dir)
    except RunLocked as error:
        raise ResumeError(str(error)) from None
    except OSError as error:
        raise ResumeError(f"{run_dir} cannot be written: {error.strerror or error} "
                          "(resume as the user who started the run)") from None
    return store, plan


def run_plan(
    plan: RunPlan,
    vpn_settings: dict[str, VpnSettings],
    testbed_factory: TestbedFactory,
    options: RunOptions,
    resume: RunStore | None = None,
    force: bool = False,
    adapter_factory: Callable[[VpnSettings], VpnAdapter] = create_adapter,
) -> Path:
    """Execute ``plan`` (or finish a resumed run); returns the run directory.

    Interrupts (SIGINT, SIGTERM) propagate after every session tore down its testbed.
    """
    control_host = options.control_host or LocalMachine()
    if resume is not None:
        store = resume
        store.manifest.resumed_at.append(datetime.now(UTC))
        store.manifest.complete = False
        completed = frozenset() if force else completed_cells(store)
    else:
        run_id = options.run_id or new_run_id()
        store = RunStore(options.out_dir / run_id, RunManifest(
            run_id=run_id,
            started_at=datetime.now(UTC),
            command_line=sys.argv,
            backend=options.backend,
            hosts=plan.hosts,
            vpns=plan.vpns,
            profiles=plan.profiles,
            tests=list(plan.tests),
            metadata={**machine_metadata(control_host), **(options.extra_metadata or {})},
            plan=plan_to_json(plan),
        ))
        completed = frozenset()
    manifest = store.manifest
    manifest.write_failures.clear()
    store.save_manifest()

    def on_phase(phase: PhaseTiming) -> None:
        store.add_phase(phase)

    clock = PhaseClock(on_phase=on_phase)
    settings = SessionSettings(run_id=manifest.run_id, plan=plan,
                               ready_timeout_s=options.ready_timeout_s,
                               tool_versions=tool_versions(control_host), completed=completed,
                               sample_cpu=options.sample_cpu,
                               sample_contention=options.sample_contention,
                               quiet_path=options.quiet_path)
    todo = [(session, pending_cells(session, plan.hosts, completed))
            for session in plan.sessions()]
    todo = [(session, pending) for session, pending in todo if pending]
    total = sum(len(links) for _, pending in todo for links in pending.values())
    reporter = ProgressReporter(total, live=options.live_progress)
    sink = _StoreSink(store, reporter)

    def on_measurement(test: str, measurement: Measurement) -> None:
        reporter.measurement_done(test, measurement)

    invocation_started = datetime.now(UTC)
    phases_before = len(manifest.phases)
    try:
        with termination_raises(), reporter:
            for session, _pending in todo:
                reporter.session_started(session)
                adapter = adapter_factory(vpn_settings[session.vpn])
                run_session(session, adapter, testbed_factory, settings, sink, clock,
                            on_measurement)
        manifest.complete = not manifest.write_failures
    except StoreFull as error:
        raise RunDiskFull(store.run_dir, error) from None
    finally:
        manifest.ended_at = datetime.now(UTC)
        _attribute_remainder(manifest, invocation_started, phases_before)
        try:
            store.save_manifest()
        except StoreFull:
            pass  # the manifest of the start and the index still describe every record
        finally:
            store.close()
    return store.run_dir


def _attribute_remainder(manifest: RunManifest, started: datetime, first_phase: int) -> None:
    """Book the wall time no phase claimed (records, progress, startup) as "other", so the
    phases of an invocation add up to its wall time."""
    wall = ((manifest.ended_at or datetime.now(UTC)) - started).total_seconds()
    claimed = sum(phase.duration_s for phase in manifest.phases[first_phase:])
    manifest.phases.append(PhaseTiming(phase="other", started_at=started,
                                       duration_s=max(0.0, wall - claimed)))
