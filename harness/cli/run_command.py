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
from rich.markup import escape

from harness.cli.selection import parse_names
from harness.errors import UsageError
from harness.hosts.base import Host
from harness.hosts.local import LocalMachine
from harness.impairment.profiles import custom_profiles, known_profiles, resolve_profiles
from harness.impairment.selection import parse_engine_preference
from harness.impairment.tuning import parse_tcp_tuning
from harness.records.models import Status
from harness.records.store import RunStore
from harness.runner.plan import REFERENCE_VPN, RunPlan, TestPolicy
from harness.runner.planfile import PlanFile, load_plan_file
from harness.runner.run import (
    ResumeError,
    RunDiskFull,
    RunOptions,
    open_for_resume,
    run_plan,
)
from harness.settings.loader import load_testbed, load_vpns
from harness.settings.models import VpnSettings
from harness.testbed.backends import DEFAULT_BACKEND, availability_host, get_backend
from harness.testbed.base import OFFLOAD_MODES, Backend, Offloads, Testbed, TestbedRequest
from harness.testbed.ssh.backend import SshBackend
from harness.testbed.vm import VmBackend
from harness.topology import host_names
from harness.vpns.registry import VPNS, create_adapter
from harness.workloads.base import WorkloadParams
from harness.workloads.parameters import (
    ParameterSet,
    apply_assignments,
    apply_fields,
    apply_shared,
    default_parameters,
    section_label,
)
from harness.workloads.registry import TEST_NAMES


@dataclass
class RunRequest:
    vpns: list[str] = field(default_factory=list)
    tests: list[str] = field(default_factory=list)
    profiles: list[str] = field(default_factory=list)
    #: Shared workload flags given (``{"duration": "3"}``); names from the parameter models.
    workload_flags: dict[str, object] = field(default_factory=dict)
    #: ``--param TEST.PARAMETER=VALUE`` assignments, in order (later ones win).
    params: list[str] = field(default_factory=list)
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
    return {name: settings[name] for name in order if name in VPNS and name in settings}


def availability(settings: dict[str, VpnSettings],
                 machine: Host | None = None) -> dict[str, str | None]:
    """VPN name -> why it cannot run here (None when it can). Asked of ``LocalMachine``,
    whose ``which`` is in-process: no namespace is created and no process started (or of
    ``machine``: the VMs for the vm backend)."""
    machine = machine or LocalMachine()
    return {name: create_adapter(vpn).unavailable_reason(machine)
            for name, vpn in settings.items()}


def _check_positive(value: float | None, flag: str) -> None:
    if value is not None and value <= 0:
        raise UsageError(f"{flag} must be positive, got {value:g}")


T = TypeVar("T")


def _first(*values: T | None, default: T) -> T:
    for value in values:
        if value is not None:
            return value
    return default


def _tests(values: list[str], what: str = "test") -> list[str]:
    return parse_names(values, TEST_NAMES, what, TEST_NAMES)


def _validate_request(request: RunRequest) -> None:
    _check_positive(request.ready_timeout_s, "--ready-timeout")
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
    reasons = availability(vpn_settings, availability_host(request.backend))
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
    vpn_tests = {name: _tests(section.tests, f"test in [vpn.{name}]")
                 for name, section in spec.vpn.items() if section.tests}
    profile_tests = {name: _tests(section.tests, f"test in [profile.{name}]")
                     for name, section in spec.profile.items() if section.tests}
    all_tests = list(dict.fromkeys([*tests, *(t for ts in vpn_tests.values() for t in ts),
                                    *(t for ts in profile_tests.values() for t in ts)]))
    parameters, profile_parameters = _parameters(request, spec, all_tests)
    plan = RunPlan(
        hosts=host_names(testbed.hosts, _first(request.hosts, spec.hosts, default=3)),
        vpns=vpns,
        profiles=profiles,
        tests=tests,
        parameters=parameters,
        repetitions=_first(request.repetitions, spec.repetitions, default=1),
        vpn_tests=vpn_tests,
        vpn_profiles=vpn_profiles,
        profile_tests=profile_tests,
        profile_parameters=profile_parameters,
        policies={name: TestPolicy(timeout_s=section.timeout, retries=section.retries,
                                   backoff_s=_first(section.backoff, default=2.0))
                  for name, section in spec.test.items()},
        profile_definitions={name: definitions[name] for name in sorted(used)},
        engine=engine,
        tcp_tuning=tuning,
        seed=_first(request.seed, spec.seed, default=secrets.randbits(31)),
    )
    return plan, {name: vpn_settings[name] for name in vpns}, notes


def _parameters(request: RunRequest, spec: PlanFile,
                used: list[str]) -> tuple[ParameterSet, dict[str, ParameterSet]]:
    """Each used test's parameters, and per profile those a ``[profile.X]`` section changes.

    Precedence, lowest first: the models' defaults, the plan file's shared keys, its
    ``[test.<name>]`` fields, shared flags (``--duration``), ``--param`` assignments; a
    ``[profile.X]`` section's shared keys then apply to that profile.
    """
    where = f"plan file {request.plan_file}"
    params = default_parameters()
    params = apply_shared(params, spec.workload.shared, section_label(f"{where}:"))
    for test, fields in spec.workload.test_fields.items():
        params = apply_fields(params, test, fields, section_label(f"{where}: [test.{test}]"))
    params = apply_shared(params, request.workload_flags,
                          lambda key, value: f"--{key.replace('_', '-')} {value}")
    params = apply_assignments(params, request.params)
    per_profile: dict[str, ParameterSet] = {}
    for profile, values in spec.workload.profile_shared.items():
        changed = apply_shared(params, values, section_label(f"{where}: [profile.{profile}]"))
        per_profile[profile] = {test: changed[test] for test in used
                                if changed[test] != params[test]}
    return ({test: params[test] for test in used},
            {profile: changed for profile, changed in per_profile.items() if changed})


def describe_plan(plan: RunPlan) -> str:
    lines = [f"hosts: {', '.join(plan.hosts)}",
             f"impairment engine: {plan.engine}; TCP tuning: {plan.tcp_tuning}; "
             f"seed: {plan.seed}",
             "parameters:"]
    for test in dict.fromkeys([*plan.tests, *plan.parameters]):
        lines.append(f"  {test}: {_describe_params(plan.params_for(test))}")
    for profile, changed in plan.profile_parameters.items():
        for test, params in changed.items():
            lines.append(f"  {test} under {profile}: {_describe_params(params)}")
    lines.append(f"sessions ({len(plan.sessions())}):")
    for session in plan.sessions():
        tests = ", ".join(session.tests)
        lines.append(f"  rep {session.repetition}  {session.vpn:<10} {session.profile:<9} "
                     f"{tests}  (~{plan.estimated_session_s(session):.0f} s)")
    lines.append(f"estimated duration: {plan.estimated_total_s() / 60:.1f} min")
    return "\n".join(lines)


def _describe_params(params: WorkloadParams) -> str:
    return " ".join(f"{key}={value}" for key, value in params.model_dump(mode="json").items())


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

    try:
        run_dir = run_plan(plan, settings, open_testbed,
                           RunOptions(out_dir=request.out_dir, backend=backend.name,
                                      control_host=backend.control_host(),
                                      extra_metadata=_backend_metadata(backend),
                                      ready_timeout_s=request.ready_timeout_s,
                                      live_progress=request.live_progress),
                           resume=resume_store, force=request.force)
    except RunDiskFull as error:
        console.print(f"[red]disk full[/red] {escape(str(error))}")
        return 1
    store = RunStore.open_existing(run_dir)
    records = store.load_records()
    ok = sum(record.status is Status.OK for record in records)
    failed = [record for record in records if record.status is not Status.OK]
    console.print(f"\n{ok}/{len(records)} measurements ok. Records: {run_dir}")
    for record in failed:
        console.print(f"  [red]{record.status.value}[/red] {record.vpn} {record.test} "
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
    if isinstance(backend, VmBackend):
        return backend.metadata()
    return None


def _offloads(value: str) -> Offloads:
    if value == "on":
        return "on"
    if value == "off":
        return "off"
    return "default"
