"""`vpn-bench run`: validate the request, build the plan, run it on the local testbed.

Precedence: command-line flags, then the plan file (``--plan``), then built-in defaults.
"""

from __future__ import annotations

import contextlib
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from rich.console import Console

from harness.cli.selection import parse_names
from harness.errors import UsageError
from harness.impairment.profiles import custom_profiles, known_profiles, resolve_profiles
from harness.impairment.selection import parse_engine_preference
from harness.impairment.tuning import parse_tcp_tuning
from harness.records.models import Status, TestKind
from harness.records.store import RunStore
from harness.runner.plan import REFERENCE_VPN, RunPlan, TestPolicy
from harness.runner.planfile import PlanFile, load_plan_file
from harness.runner.run import ResumeError, RunOptions, open_for_resume, run_plan
from harness.settings.loader import load_testbed, load_vpns
from harness.settings.models import VpnSettings
from harness.testbed.backends import DEFAULT_BACKEND, get_backend
from harness.testbed.base import OFFLOAD_MODES, Backend, Offloads, Testbed, TestbedRequest
from harness.testbed.ssh.backend import SshBackend
from harness.topology import host_names
from harness.vpns.registry import ADAPTERS, create_adapter
from harness.workloads.base import WorkloadSettings
from harness.workloads.registry import DEFAULT_TESTS

TEST_NAMES = [test.value for test in DEFAULT_TESTS]


@dataclass
class RunRequest:
    vpns: list[str] = field(default_factory=list)
    tests: list[str] = field(default_factory=list)
    profiles: list[str] = field(default_factory=list)
    duration_s: float | None = None
    ping_count: int | None = None
    ping_interval_s: float | None = None
    hosts: int | None = None
    out_dir: Path = Path("results")
    repetitions: int | None = None
    offloads: str = "default"
    ready_timeout_s: float | None = None
    live_progress: bool | None = None
    dry_run: bool = False
    strict: bool = False
    plan_file: Path | None = None
    resume: Path | None = None
    force: bool = False
    engine: str | None = None
    tcp_tuning: str | None = None
    seed: int | None = None
    backend: str = DEFAULT_BACKEND
    #: Inventory of real hosts: the ssh backend.
    inventory: Path | None = None


def known_vpns() -> dict[str, VpnSettings]:
    """VPNs with both settings in vpn-configs and an adapter; internal first."""
    settings = load_vpns()
    order = [REFERENCE_VPN, *sorted(name for name in settings if name != REFERENCE_VPN)]
    return {name: settings[name] for name in order if name in ADAPTERS and name in settings}


def availability(settings: dict[str, VpnSettings]) -> dict[str, str | None]:
    """VPN name -> why it cannot run here (None when it can)."""
    return {name: create_adapter(vpn).unavailable_reason() for name, vpn in settings.items()}


def _check_positive(value: float | None, flag: str) -> None:
    if value is not None and value <= 0:
        raise UsageError(f"{flag} must be positive, got {value:g}")


T = TypeVar("T")


def _first(*values: T | None, default: T) -> T:
    for value in values:
        if value is not None:
            return value
    return default


def _tests(values: list[str], what: str = "test") -> list[TestKind]:
    return [TestKind(name) for name in parse_names(values, TEST_NAMES, what, TEST_NAMES)]


def _validate_request(request: RunRequest) -> None:
    _check_positive(request.duration_s, "--duration")
    _check_positive(request.ping_interval_s, "--ping-interval")
    _check_positive(request.ready_timeout_s, "--ready-timeout")
    if request.ping_count is not None and request.ping_count < 1:
        raise UsageError(f"--ping-count must be at least 1, got {request.ping_count}")
    if request.hosts is not None and not 2 <= request.hosts <= 200:
        raise UsageError(f"--hosts must be between 2 and 200, got {request.hosts}")
    if request.repetitions is not None and request.repetitions < 1:
        raise UsageError(f"--repeat must be at least 1, got {request.repetitions}")
    if request.offloads not in OFFLOAD_MODES:
        raise UsageError(f"unknown --offloads {request.offloads!r}; valid: "
                         + ", ".join(OFFLOAD_MODES))


def build_plan(request: RunRequest) -> tuple[RunPlan, dict[str, VpnSettings], list[str]]:
    """The plan, the settings it needs, and notes on VPNs left out because they can't run."""
    _validate_request(request)
    spec = load_plan_file(request.plan_file) if request.plan_file else PlanFile()
    vpn_settings = known_vpns()
    reasons = availability(vpn_settings)
    runnable = [name for name, reason in reasons.items() if reason is None]
    requested = request.vpns or spec.vpns or []
    vpns = parse_names(requested, list(vpn_settings), "VPN", default=runnable)
    if REFERENCE_VPN not in vpns:
        vpns.insert(0, REFERENCE_VPN)
    unavailable = [f"{name}: {reasons[name]}" for name in vpns if reasons[name]]
    if requested and unavailable:
        raise UsageError("cannot run here: " + "; ".join(unavailable))
    notes = [f"skipping {name}: {reasons[name]}" for name in vpn_settings
             if reasons[name] and not requested]

    tests = _tests(request.tests or spec.tests or [])
    custom = custom_profiles(spec.impairment)
    definitions = known_profiles(custom)
    profiles = [profile.name for profile in
                resolve_profiles(request.profiles or spec.profiles or ["baseline"], custom)]
    vpn_profiles: dict[str, list[str]] = {}
    for name, section in spec.vpn.items():
        if name not in vpns:
            raise UsageError(f"plan file has [vpn.{name}] but {name!r} is not in the plan's "
                             f"VPNs ({', '.join(vpns)})")
        if section.profiles:
            vpn_profiles[name] = [p.name for p in resolve_profiles(section.profiles, custom)]
    for name in spec.profile:
        parse_names([name], list(definitions), "profile section", [])
    for name in spec.test:
        parse_names([name], TEST_NAMES, "test section", [])
    engine = parse_engine_preference(_first(request.engine, spec.engine, default="auto"))
    tuning = parse_tcp_tuning(_first(request.tcp_tuning, spec.tcp_tuning, default="none"))
    used = set(profiles) | {p for names in vpn_profiles.values() for p in names}

    testbed = load_testbed()
    workload = WorkloadSettings(
        duration_s=_first(request.duration_s, spec.duration, default=30.0),
        ping_count=_first(request.ping_count, spec.ping_count, default=100),
        ping_interval_s=_first(request.ping_interval_s, spec.ping_interval, default=0.2),
    )
    plan = RunPlan(
        hosts=host_names(testbed.hosts, _first(request.hosts, spec.hosts, default=3)),
        vpns=vpns,
        profiles=profiles,
        tests=tests,
        workload=workload,
        repetitions=_first(request.repetitions, spec.repetitions, default=1),
        vpn_tests={name: _tests(section.tests, f"test in [vpn.{name}]")
                   for name, section in spec.vpn.items() if section.tests},
        vpn_profiles=vpn_profiles,
        profile_tests={name: _tests(section.tests, f"test in [profile.{name}]")
                       for name, section in spec.profile.items() if section.tests},
        profile_workload={
            name: {key: value for key, value in (
                ("duration_s", section.duration), ("ping_count", section.ping_count),
                ("ping_interval_s", section.ping_interval)) if value is not None}
            for name, section in spec.profile.items()
        },
        policies={TestKind(name): TestPolicy(timeout_s=section.timeout, retries=section.retries,
                                             backoff_s=_first(section.backoff, default=2.0))
                  for name, section in spec.test.items()},
        profile_definitions={name: definitions[name] for name in sorted(used)},
        engine=engine,
        tcp_tuning=tuning,
        seed=_first(request.seed, spec.seed, default=secrets.randbits(31)),
    )
    return plan, {name: vpn_settings[name] for name in vpns}, notes


def describe_plan(plan: RunPlan) -> str:
    lines = [f"hosts: {', '.join(plan.hosts)}",
             f"impairment engine: {plan.engine}; TCP tuning: {plan.tcp_tuning}; "
             f"seed: {plan.seed}",
             f"sessions ({len(plan.sessions())}):"]
    for session in plan.sessions():
        tests = ", ".join(test.value for test in session.tests)
        lines.append(f"  rep {session.repetition}  {session.vpn:<10} {session.profile:<9} "
                     f"{tests}  (~{plan.estimated_session_s(session):.0f} s)")
    lines.append(f"estimated duration: {plan.estimated_total_s() / 60:.1f} min")
    return "\n".join(lines)


def execute(request: RunRequest, console: Console) -> int:
    backend = get_backend(request.backend, request.inventory)
    resume_store: RunStore | None = None
    if request.resume is not None:
        try:
            resume_store, plan = open_for_resume(request.resume)
        except ResumeError as error:
            raise UsageError(str(error)) from None
        settings = {name: vpn for name, vpn in known_vpns().items() if name in plan.vpns}
        missing = sorted(set(plan.vpns) - set(settings))
        if missing:
            raise UsageError(f"the run to resume uses VPNs this harness does not know: {missing}")
    else:
        plan, settings, notes = build_plan(request)
        for note in notes:
            console.print(f"[yellow]{note}[/yellow]")
    if isinstance(backend, SshBackend):
        backend.inventory.require_hosts(plan.hosts)
        if request.offloads != "default":
            raise UsageError("--offloads on|off: the ssh backend leaves real NICs' offloads "
                             "as they are; valid there: default")
    if resume_store is not None and resume_store.manifest.backend != backend.name:
        raise UsageError(f"the run to resume used the {resume_store.manifest.backend} "
                         f"backend, not {backend.name}"
                         + (" (pass its --inventory FILE)"
                            if resume_store.manifest.backend == "ssh" else ""))
    if request.dry_run:
        console.print(describe_plan(plan))
        return 0
    backend.check_support()
    if isinstance(backend, SshBackend) and any(
            profile.egress is not None for profile in plan.profile_definitions.values()):
        if plan.engine == "userspace":
            raise UsageError("--engine userspace needs the local testbed's bridge; real "
                             "hosts are impaired with tc netem (--engine tc or auto)")
        backend.require_netem(plan.hosts)
    testbed_request = TestbedRequest(hosts=plan.hosts, lan=load_testbed().lan,
                                     offloads=_offloads(request.offloads))

    def open_testbed() -> contextlib.AbstractContextManager[Testbed]:
        return backend.open(testbed_request)

    run_dir = run_plan(plan, settings, open_testbed,
                       RunOptions(out_dir=request.out_dir, backend=backend.name,
                                  control_host=backend.control_host(),
                                  extra_metadata=_backend_metadata(backend),
                                  ready_timeout_s=request.ready_timeout_s,
                                  live_progress=request.live_progress),
                       resume=resume_store, force=request.force)
    store = RunStore.open_existing(run_dir)
    records = store.load_records()
    ok = sum(record.status is Status.OK for record in records)
    failed = [record for record in records if record.status is not Status.OK]
    console.print(f"\n{ok}/{len(records)} measurements ok. Records: {run_dir}")
    for record in failed:
        console.print(f"  [red]{record.status.value}[/red] {record.vpn} {record.test.value} "
                      f"{record.link}: {record.error}")
    for note in store.manifest.write_failures:
        console.print(f"  [red]not written[/red] {note} (re-run with --resume {run_dir})")
    if store.manifest.write_failures:
        return 1
    return 1 if failed and request.strict else 0


def _backend_metadata(backend: Backend) -> dict[str, object] | None:
    """What the manifest records about how hosts were reached (no secrets)."""
    if isinstance(backend, SshBackend):
        return {"inventory": backend.inventory.summary()}
    return None


def _offloads(value: str) -> Offloads:
    if value == "on":
        return "on"
    if value == "off":
        return "off"
    return "default"
