"""`vpn-bench run`: validate the request, build the plan, run it on the local testbed.

Precedence: command-line flags, then the plan file (``--plan``), then built-in defaults.
"""

from __future__ import annotations

import contextlib
import dataclasses
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from rich.console import Console
from rich.markup import escape

from harness import limits
from harness.cli.nixos_plan import describe_nixos_commands
from harness.cli.selection import parse_names
from harness.errors import UsageError
from harness.hosts.base import Host
from harness.hosts.local import LocalMachine
from harness.impairment.profiles import custom_profiles, known_profiles, resolve_profiles
from harness.impairment.selection import parse_engine_preference
from harness.impairment.tuning import parse_tcp_tuning
from harness.outdir import check_output_dir
from harness.records.models import Status
from harness.records.store import RunStore
from harness.runner.plan import REFERENCE_VPN, RunPlan, TestPolicy
from harness.runner.planfile import PlanFile, load_plan_file
from harness.runner.run import (
    RunDiskFull,
    RunOptions,
    completed_cells,
    open_for_resume,
    run_plan,
)
from harness.runner.rundir import ResumeError
from harness.runner.session import CellKey, pending_cells
from harness.settings.loader import load_testbed, load_vpns
from harness.settings.models import VpnSettings
from harness.testbed.backends import DEFAULT_BACKEND, availability_host, get_backend
from harness.testbed.base import OFFLOAD_MODES, Backend, Offloads, Testbed, TestbedRequest
from harness.testbed.ssh.backend import SshBackend
from harness.testbed.vm import VmBackend
from harness.topology import host_names
from harness.vpns.base import VpnAdapter
from harness.vpns.nixos import UNIT_TIMEOUT_S, NixosAdapter
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

#: Manifest metadata key: how the VPNs were brought up ("daemons" or "nixos"; ssh backend).
VPN_MODE_KEY = "vpn_mode"


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
    #: VPNs are the flake's NixOS services (specialisations) on the inventory's hosts.
    nixos: bool = False
    #: Output directory of `vpn-bench keys`, copied to the hosts before each VPN (--nixos).
    secrets: Path | None = None


def known_vpns() -> dict[str, VpnSettings]:
    """VPNs with both settings in vpn-configs and an adapter; internal first."""
    settings = load_vpns()
    order = [REFERENCE_VPN, *sorted(name for name in settings if name != REFERENCE_VPN)]
    return {name: settings[name] for name in order if name in VPNS and name in settings}


Availability = Callable[[dict[str, VpnSettings]], dict[str, str | None]]


def availability(settings: dict[str, VpnSettings],
                 machine: Host | None = None) -> dict[str, str | None]:
    """VPN name -> why it cannot run here (None when it can). Asked of ``LocalMachine``,
    whose ``which`` is in-process: no namespace is created and no process started (or of
    ``machine``: the VMs for the vm backend)."""
    machine = machine or LocalMachine()
    return {name: create_adapter(vpn).unavailable_reason(machine)
            for name, vpn in settings.items()}


def unchecked(settings: dict[str, VpnSettings]) -> dict[str, str | None]:
    """Every VPN counted as runnable: real hosts are asked only when the run starts."""
    return dict.fromkeys(settings)


def host_availability(settings: dict[str, VpnSettings], hosts: Sequence[Host], *,
                      nixos: bool) -> dict[str, str | None]:
    """VPN name -> why it cannot run on the plan's hosts (None when it can on every one):
    its binaries there, or, with --nixos, its specialisation in their system profile."""
    reasons: dict[str, str | None] = {}
    for name, vpn in settings.items():
        problems: list[str] = []
        for host in hosts:
            if nixos:
                reason = NixosAdapter(vpn, address_hosts=[]).unavailable_reason(host)
            else:
                missing = create_adapter(vpn).missing_requirements(host)
                reason = (f"not installed on {host.name} ("
                          + "; ".join(req.how_to_install() for req in missing) + ")"
                          if missing else None)
            if reason:
                problems.append(reason)
        reasons[name] = "; ".join(problems) or None
    return reasons


T = TypeVar("T")


def _first(*values: T | None, default: T) -> T:
    for value in values:
        if value is not None:
            return value
    return default


def _tests(values: list[str], what: str = "test") -> list[str]:
    return parse_names(values, TEST_NAMES, what, TEST_NAMES)


def _validate_request(request: RunRequest) -> None:
    """The flags' own bounds (harness.limits), before any file is read."""
    limits.bounded_float(request.ready_timeout_s, "--ready-timeout",
                         limits.MAX_READY_TIMEOUT_S)
    limits.hosts(request.hosts)
    limits.repetitions(request.repetitions)
    limits.seed(request.seed)
    if request.offloads not in OFFLOAD_MODES:
        raise UsageError(f"unknown --offloads {request.offloads!r}; valid: "
                         + ", ".join(OFFLOAD_MODES))


#: What a resumed run takes from its manifest: the flags that would change it.
PLAN_FLAGS: dict[str, str] = {
    "vpns": "--vpn", "tests": "--test", "profiles": "--profile", "params": "--param",
    "hosts": "--hosts", "repetitions": "--repeat", "plan_file": "--plan",
    "engine": "--engine", "tcp_tuning": "--tcp-tuning", "seed": "--seed",
}


def plan_flags_given(request: RunRequest) -> list[str]:
    """The plan-changing flags of ``request`` (``--duration`` and the other workload
    flags included): a resumed run measures what its plan says, so these are refused."""
    given = [flag for name, flag in PLAN_FLAGS.items()
             if getattr(request, name) not in (None, [], {})]
    given += [f"--{name.replace('_', '-')}" for name in request.workload_flags]
    return given


def check_resume_request(request: RunRequest) -> None:
    """The rule for ``--resume`` with other flags: the plan is the manifest's, so flags
    that change it are an error (start a new run instead); how the run is carried out
    (--backend, --inventory, --nixos, --secrets, --offloads, --ready-timeout, --force,
    --dry-run, --strict, --progress) may be given."""
    given = plan_flags_given(request)
    if given:
        raise UsageError(f"--resume finishes a run with the plan in its manifest; it cannot "
                         f"be combined with {', '.join(given)} (start a new run to change the "
                         "plan); valid with --resume: --force, --dry-run, --backend, "
                         "--inventory, --nixos, --secrets, --offloads, --ready-timeout, "
                         "--strict, --progress")


def build_plan(request: RunRequest, available: Availability = availability,
               ) -> tuple[RunPlan, dict[str, VpnSettings], list[str]]:
    """The plan, the settings it needs, and notes on VPNs left out because they can't run
    (``available`` says which: this machine by default, the real hosts for ssh)."""
    _validate_request(request)
    spec = load_plan_file(request.plan_file) if request.plan_file else PlanFile()
    vpn_settings = known_vpns()
    reasons = available(vpn_settings)
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
    try:
        custom = custom_profiles(spec.impairment)
    except UsageError as error:
        raise UsageError(f"plan file {request.plan_file}: {error}") from None
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
                                   backoff_s=_first(section.backoff, default=2.0),
                                   links=section.links)
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


def describe_plan(plan: RunPlan, completed: frozenset[CellKey] | None = None) -> str:
    """The plan as ``--dry-run`` prints it; with ``completed`` (a resumed run) only the
    sessions, tests and links still to measure."""
    lines = [f"hosts: {', '.join(plan.hosts)}",
             f"impairment engine: {plan.engine}; TCP tuning: {plan.tcp_tuning}; "
             f"seed: {plan.seed}",
             "parameters:"]
    for test in dict.fromkeys([*plan.tests, *plan.parameters]):
        lines.append(f"  {test}: {_describe_params(plan.params_for(test))}")
    for profile, changed in plan.profile_parameters.items():
        for test, params in changed.items():
            lines.append(f"  {test} under {profile}: {_describe_params(params)}")
    for test, links in plan.limited_links().items():
        lines.append(f"  {test} measured on {', '.join(link.label for link in links)} "
                     f"only ([test.{test}] links = {len(links)})")
    sessions = plan.sessions()
    if completed is not None:
        todo = [(session, pending_cells(session, plan.hosts, completed))
                for session in sessions]
        todo = [(session, pending) for session, pending in todo if pending]
        cells = sum(len(links) for _, pending in todo for links in pending.values())
        lines.append(f"still to measure: {cells} cells in {len(todo)} of {len(sessions)} "
                     "sessions:")
        for session, pending in todo:
            lines.append(f"  rep {session.repetition}  {session.vpn:<10} {session.profile:<9}")
            for test, links in pending.items():
                lines.append(f"    {test:<12} {', '.join(link.label for link in links)}")
        return "\n".join(lines)
    lines.append(f"sessions ({len(sessions)}):")
    for session in sessions:
        tests = ", ".join(session.tests)
        lines.append(f"  rep {session.repetition}  {session.vpn:<10} {session.profile:<9} "
                     f"{tests}  (~{plan.estimated_session_s(session):.0f} s)")
    lines.append(f"estimated duration: {plan.estimated_total_s() / 60:.1f} min")
    return "\n".join(lines)


def _describe_params(params: WorkloadParams) -> str:
    return " ".join(f"{key}={value}" for key, value in params.model_dump(mode="json").items())


def _check_backend(request: RunRequest, backend: Backend, plan: RunPlan) -> None:
    """What the backend needs of the plan and the flags (the ssh inventory names every
    host; real NICs' offloads are left alone)."""
    if isinstance(backend, SshBackend):
        backend.inventory.require_hosts(plan.hosts)
        if request.offloads != "default":
            raise UsageError("--offloads on|off: the ssh backend leaves real NICs' offloads "
                             "as they are; valid there: default")


def _check_mode_flags(request: RunRequest, ssh: SshBackend | None) -> None:
    """--nixos and --secrets only make sense for real NixOS hosts."""
    if request.nixos and ssh is None:
        raise UsageError("--nixos needs --inventory FILE: the VPNs are the NixOS services of "
                         "real hosts deployed with `vpn-bench deploy` (docs/real-hosts.md)")
    if request.secrets is not None and not request.nixos:
        raise UsageError("--secrets only applies together with --nixos")
    if request.secrets is not None and not (request.secrets / "secrets").is_dir():
        raise UsageError(f"--secrets {request.secrets}: no secrets/ directory there (give the "
                         "--out directory of `vpn-bench keys`)")


def _open_resumed(request: RunRequest,
                  backend: Backend) -> tuple[RunStore, RunPlan, dict[str, VpnSettings]]:
    """The run to resume, validated: its directory, its plan, and that every VPN with
    cells still to measure is known and can run (here; real hosts are asked when the run
    starts). Everything is checked on a read-only view; only then (and not for a dry run)
    is the run locked for writing."""
    assert request.resume is not None
    check_resume_request(request)
    try:
        view, plan = open_for_resume(request.resume, writer=False)
    except ResumeError as error:
        raise UsageError(str(error)) from None
    if view.manifest.backend != backend.name:
        raise UsageError(f"the run to resume used the {view.manifest.backend} backend, not "
                         f"{backend.name}" + (" (pass its --inventory FILE)"
                                              if view.manifest.backend == "ssh" else ""))
    was_nixos = view.manifest.metadata.get(VPN_MODE_KEY) == "nixos"
    if was_nixos != request.nixos:
        how = ("as NixOS services (pass --nixos)" if was_nixos else
               "as daemons started by the harness (leave out --nixos)")
        raise UsageError(f"the run to resume brought its VPNs up {how}")
    known = known_vpns()
    missing = [name for name in plan.vpns if name not in known]
    if missing:
        raise UsageError(f"the run to resume uses VPNs this harness does not know: "
                         f"{', '.join(missing)}; known: {', '.join(known)}")
    settings = {name: known[name] for name in plan.vpns}
    if not isinstance(backend, SshBackend):
        waiting = waiting_vpns(plan, frozenset() if request.force else completed_cells(view))
        reasons = availability({name: settings[name] for name in plan.vpns
                                if name in waiting}, availability_host(request.backend))
        unavailable = [f"{name}: {reason}" for name, reason in reasons.items() if reason]
        if unavailable:
            raise UsageError("cannot resume here: " + "; ".join(unavailable))
    _check_backend(request, backend, plan)
    if request.dry_run:
        return view, plan, settings
    try:
        store, plan = open_for_resume(request.resume)
    except ResumeError as error:
        raise UsageError(str(error)) from None
    return store, plan, settings


def waiting_vpns(plan: RunPlan, completed: frozenset[CellKey]) -> list[str]:
    """The plan's VPNs that still have cells to measure, in plan order."""
    waiting = {session.vpn for session in plan.sessions()
               if pending_cells(session, plan.hosts, completed)}
    return [name for name in plan.vpns if name in waiting]


def check_resumed_hosts(settings: dict[str, VpnSettings], hosts: Sequence[Host],
                        waiting: Sequence[str], *, nixos: bool) -> None:
    """A resumed run's real hosts must still have every VPN with cells left to measure:
    otherwise one error line naming the VPN and the host, before anything is brought up."""
    asked = host_availability({name: settings[name] for name in waiting}, hosts,
                              nixos=nixos)
    unavailable = [f"{name}: {reason}" for name, reason in asked.items() if reason]
    if unavailable:
        raise UsageError("cannot resume on these hosts: " + "; ".join(unavailable))


def _ask_hosts(request: RunRequest, ssh: SshBackend, plan: RunPlan,
               console: Console) -> tuple[RunPlan, dict[str, VpnSettings]]:
    """The plan again, with each VPN's availability asked of the real hosts."""
    with ssh.open_hosts(plan.hosts) as hosts:
        asked = host_availability(known_vpns(), hosts, nixos=request.nixos)
    if asked.get(REFERENCE_VPN):  # the reference of every comparison must run
        raise UsageError(f"cannot run {REFERENCE_VPN}: {asked[REFERENCE_VPN]}")
    plan, settings, notes = build_plan(
        dataclasses.replace(request, seed=plan.seed), lambda _settings: asked)
    for note in notes:
        console.print(f"[yellow]{escape(note)}[/yellow]")
    return plan, settings


def execute(request: RunRequest, console: Console) -> int:
    backend = get_backend(request.backend, request.inventory)
    ssh = backend if isinstance(backend, SshBackend) else None
    _check_mode_flags(request, ssh)
    resume_store: RunStore | None = None
    if request.resume is not None:
        resume_store, plan, settings = _open_resumed(request, backend)
    else:
        # Real hosts are asked which VPNs they have only once they answered (below).
        host = availability_host(request.backend)
        plan, settings, notes = build_plan(
            request, unchecked if ssh else lambda vpns: availability(vpns, host))
        _check_backend(request, backend, plan)
        check_output_dir(request.out_dir)
        if ssh is None:
            for note in notes:
                console.print(f"[yellow]{escape(note)}[/yellow]")
    address_hosts = load_testbed().hosts
    if request.dry_run:
        completed = None
        if resume_store is not None:
            completed = frozenset() if request.force else completed_cells(resume_store)
        console.print(describe_plan(plan, completed), markup=False, highlight=False)
        if ssh is not None:
            console.print("VPN availability is asked of the hosts when the run starts.")
            if request.nixos:
                console.print("commands, in order:")
                for line in describe_nixos_commands(plan, ssh.inventory, settings,
                                                    address_hosts, request.secrets):
                    console.print(line, markup=False, highlight=False)
        return 0
    try:
        backend.check_support()
        if ssh is not None and resume_store is None:
            plan, settings = _ask_hosts(request, ssh, plan, console)
        elif ssh is not None and resume_store is not None:
            waiting = waiting_vpns(plan, frozenset() if request.force
                                   else completed_cells(resume_store))
            with ssh.open_hosts(plan.hosts) as hosts:
                check_resumed_hosts(settings, hosts, waiting, nixos=request.nixos)
        if ssh is not None and any(
                profile.egress is not None for profile in plan.profile_definitions.values()):
            if plan.engine == "userspace":
                raise UsageError("--engine userspace needs the local testbed's bridge; real "
                                 "hosts are impaired with tc netem (--engine tc or auto)")
            ssh.require_netem(plan.hosts)
    except BaseException:
        if resume_store is not None:
            resume_store.close()
        raise
    testbed_request = TestbedRequest(hosts=plan.hosts, lan=load_testbed().lan,
                                     offloads=_offloads(request.offloads))

    def open_testbed() -> contextlib.AbstractContextManager[Testbed]:
        return backend.open(testbed_request)

    try:
        run_dir = run_plan(plan, settings, open_testbed,
                           RunOptions(out_dir=request.out_dir, backend=backend.name,
                                      control_host=backend.control_host(),
                                      extra_metadata=_backend_metadata(backend, request.nixos),
                                      ready_timeout_s=request.ready_timeout_s,
                                      live_progress=request.live_progress),
                           resume=resume_store, force=request.force,
                           adapter_factory=_adapter_factory(request, address_hosts))
    except RunDiskFull as error:
        console.print(f"[red]disk full[/red] {escape(str(error))}")
        return 1
    store = RunStore.open_existing(run_dir)
    records = store.load_records()
    ok = sum(record.status is Status.OK for record in records)
    failed = [record for record in records if record.status is not Status.OK]
    console.print(f"\n{ok}/{len(records)} measurements ok. Records: {run_dir}", markup=False)
    for record in failed:
        console.print(f"  [red]{record.status.value}[/red] {escape(record.vpn)} "
                      f"{escape(record.test)} {escape(record.link)}: "
                      f"{escape(limits.shorten(record.error))}")
    for note in store.manifest.write_failures:
        console.print(f"  [red]not written[/red] {escape(note)} (re-run with --resume "
                      f"{escape(str(run_dir))})")
    if store.manifest.write_failures:
        return 1
    return 1 if failed and request.strict else 0


def _backend_metadata(backend: Backend, nixos: bool) -> dict[str, object] | None:
    """What the manifest records about how hosts were reached (no secrets) and how the
    VPNs were brought up."""
    if isinstance(backend, SshBackend):
        return {"inventory": backend.inventory.summary(),
                VPN_MODE_KEY: "nixos" if nixos else "daemons"}
    if isinstance(backend, VmBackend):
        return backend.metadata()
    return None


def _adapter_factory(request: RunRequest,
                     address_hosts: list[str]) -> Callable[[VpnSettings], VpnAdapter]:
    """The NixOS-managed adapter with --nixos, else each VPN's own adapter."""
    if not request.nixos:
        return create_adapter
    timeout = request.ready_timeout_s or UNIT_TIMEOUT_S

    def nixos_adapter(settings: VpnSettings) -> VpnAdapter:
        return NixosAdapter(settings, address_hosts=address_hosts, secrets=request.secrets,
                            unit_timeout_s=timeout)

    return nixos_adapter


def _offloads(value: str) -> Offloads:
    if value == "on":
        return "on"
    if value == "off":
        return "off"
    return "default"
