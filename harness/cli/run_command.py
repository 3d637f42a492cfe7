"""`vpn-bench run`: validate the request, build the plan, run it on the local testbed."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from harness.cli.selection import parse_names
from harness.errors import UsageError
from harness.records.models import Status, TestKind
from harness.records.store import RunStore
from harness.runner.plan import RunPlan
from harness.runner.run import RunOptions, run_plan
from harness.settings.loader import load_testbed, load_vpns
from harness.settings.models import VpnSettings
from harness.testbed.base import Testbed
from harness.testbed.local.system import require_local_testbed_support
from harness.testbed.local.testbed import LocalTestbed, LocalTestbedSpec, Offloads
from harness.topology import host_names
from harness.vpns.registry import ADAPTERS, create_adapter
from harness.workloads.base import WorkloadSettings
from harness.workloads.registry import DEFAULT_TESTS

PROFILES = ("baseline",)
OFFLOAD_MODES = ("default", "on", "off")


@dataclass
class RunRequest:
    vpns: list[str]
    tests: list[str]
    profiles: list[str]
    duration_s: float
    ping_count: int
    ping_interval_s: float
    hosts: int
    out_dir: Path
    repetitions: int
    offloads: str
    ready_timeout_s: float | None
    live_progress: bool | None
    dry_run: bool
    strict: bool = False


def known_vpns() -> dict[str, VpnSettings]:
    """VPNs with both settings in vpn-configs and an adapter, in vpn-configs order."""
    settings = load_vpns()
    order = ["internal", *sorted(name for name in settings if name != "internal")]
    return {name: settings[name] for name in order if name in ADAPTERS}


def availability(settings: dict[str, VpnSettings]) -> dict[str, str | None]:
    """VPN name -> why it cannot run here (None when it can)."""
    return {name: create_adapter(vpn).unavailable_reason() for name, vpn in settings.items()}


def _positive(value: float, flag: str) -> None:
    if value <= 0:
        raise UsageError(f"{flag} must be positive, got {value:g}")


def build_plan(request: RunRequest) -> tuple[RunPlan, dict[str, VpnSettings], list[str]]:
    """The plan, the settings it needs, and notes on VPNs left out because they can't run."""
    vpn_settings = known_vpns()
    reasons = availability(vpn_settings)
    runnable = [name for name, reason in reasons.items() if reason is None]
    vpns = parse_names(request.vpns, list(vpn_settings), "VPN", default=runnable)
    unavailable = [f"{name}: {reasons[name]}" for name in vpns if reasons[name]]
    if request.vpns and unavailable:
        raise UsageError("cannot run here: " + "; ".join(unavailable))
    notes = [f"skipping {name}: {reasons[name]}" for name in vpn_settings
             if reasons[name] and not request.vpns]
    tests = parse_names(request.tests, [test.value for test in DEFAULT_TESTS], "test",
                        default=[test.value for test in DEFAULT_TESTS])
    profiles = parse_names(request.profiles, list(PROFILES), "profile", default=["baseline"])
    _positive(request.duration_s, "--duration")
    _positive(request.ping_interval_s, "--ping-interval")
    if request.ping_count < 1:
        raise UsageError(f"--ping-count must be at least 1, got {request.ping_count}")
    if not 2 <= request.hosts <= 200:
        raise UsageError(f"--hosts must be between 2 and 200, got {request.hosts}")
    if request.repetitions < 1:
        raise UsageError(f"--repeat must be at least 1, got {request.repetitions}")
    if request.offloads not in OFFLOAD_MODES:
        raise UsageError(f"unknown --offloads {request.offloads!r}; valid: "
                         + ", ".join(OFFLOAD_MODES))
    if request.ready_timeout_s is not None:
        _positive(request.ready_timeout_s, "--ready-timeout")
    testbed = load_testbed()
    plan = RunPlan(
        hosts=host_names(testbed.hosts, request.hosts),
        vpns=vpns,
        profiles=profiles,
        tests=[TestKind(test) for test in tests],
        workload=WorkloadSettings(duration_s=request.duration_s, ping_count=request.ping_count,
                                  ping_interval_s=request.ping_interval_s),
        repetitions=request.repetitions,
    )
    return plan, {name: vpn_settings[name] for name in vpns}, notes


def describe_plan(plan: RunPlan) -> str:
    lines = [
        f"hosts: {', '.join(plan.hosts)}",
        f"tests: {', '.join(test.value for test in plan.tests)}",
        f"sessions ({len(plan.sessions())}):",
    ]
    lines += [f"  rep {s.repetition}  {s.vpn:<10} {s.profile}" for s in plan.sessions()]
    lines.append(f"estimated duration: {plan.estimated_total_s() / 60:.1f} min")
    return "\n".join(lines)


def execute(request: RunRequest, console: Console) -> int:
    plan, settings, notes = build_plan(request)
    for note in notes:
        console.print(f"[yellow]{note}[/yellow]")
    if request.dry_run:
        console.print(describe_plan(plan))
        return 0
    require_local_testbed_support()
    testbed_settings = load_testbed()
    spec = LocalTestbedSpec(hosts=plan.hosts, lan=testbed_settings.lan,
                            offloads=_offloads(request.offloads))

    def testbed_factory() -> contextlib.AbstractContextManager[Testbed]:
        return LocalTestbed(spec)

    run_dir = run_plan(plan, settings, testbed_factory,
                       RunOptions(out_dir=request.out_dir, ready_timeout_s=request.ready_timeout_s,
                                  live_progress=request.live_progress))
    records = RunStore.open_existing(run_dir).load_records()
    ok = sum(record.status is Status.OK for record in records)
    failed = [record for record in records if record.status is not Status.OK]
    console.print(f"\n{ok}/{len(records)} measurements ok. Records: {run_dir}")
    for record in failed:
        console.print(f"  [red]{record.status.value}[/red] {record.vpn} {record.test.value} "
                      f"{record.link}: {record.error}")
    return 1 if failed and request.strict else 0


def _offloads(value: str) -> Offloads:
    if value == "on":
        return "on"
    if value == "off":
        return "off"
    return "default"
