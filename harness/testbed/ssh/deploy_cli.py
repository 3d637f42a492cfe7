"""`vpn-bench deploy --inventory F [--build-host H] [--dry-run]`: the command line of
:mod:`harness.testbed.ssh.deploy`. Everything is checked before any host is touched."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from harness.errors import UsageError
from harness.testbed.ssh.backend import SshBackend
from harness.testbed.ssh.deploy import (
    DeployReport,
    DeployStep,
    StepOutcome,
    deploy,
    deploy_steps,
    describe_outcome,
    subprocess_runner,
)
from harness.testbed.ssh.inventory import Inventory, load_inventory


def resolve_build_host(inventory: Inventory, build_host: str | None) -> str | None:
    """An inventory host name means that host's ``user@address``; anything else is passed
    to nixos-rebuild as given (``user@host`` or a name from your ssh setup)."""
    if build_host is None:
        return None
    if not build_host.strip() or any(ch.isspace() for ch in build_host):
        raise UsageError(f"--build-host {build_host!r}: give a host name or user@host")
    if build_host in inventory.hosts:
        host = inventory.host(build_host)
        return f"{host.user}@{host.address}"
    return build_host


def resolve_flake(flake: Path) -> str:
    path = flake.expanduser().resolve()
    if not (path / "flake.nix").is_file():
        raise UsageError(f"--flake {flake}: no flake.nix there (give the directory of the "
                         "flake whose nixosConfigurations name the inventory's hosts)")
    return str(path)


def deploy_command(
    inventory: Annotated[Path, typer.Option(help="Inventory of real hosts (TOML).")],
    build_host: Annotated[str | None, typer.Option(
        help="Build on this host (an inventory host name or user@host) instead of here.")
    ] = None,
    flake: Annotated[Path, typer.Option(
        help="Directory of the flake with nixosConfigurations.<host>.")] = Path("."),
    dry_run: Annotated[bool, typer.Option(
        help="Print every command in order; run nothing, contact no host.")] = False,
) -> None:
    """Build every host's nixosConfigurations.<host>, then switch them all (nixos-rebuild)."""
    console = Console(soft_wrap=True, markup=False, highlight=False)
    parsed = load_inventory(inventory)
    flake_uri = resolve_flake(flake)
    builder = resolve_build_host(parsed, build_host)
    hosts = list(parsed.hosts)
    if dry_run:
        steps = deploy_steps(parsed, hosts, flake_uri, Path("$WORKDIR"), builder)
        console.print("# build every host (nothing changes on any host), in parallel, each "
                      "in its own work directory $WORKDIR/<host>")
        for step in steps:
            if step.phase == "switch" and step is steps[len(hosts)]:
                console.print("# then, only if every build succeeded, switch every host, "
                              "in parallel")
            console.print(step.shell_line())
        return
    if shutil.which("nixos-rebuild") is None:
        raise UsageError("deploy needs nixos-rebuild on this machine (NixOS, or "
                         "`nix shell nixpkgs#nixos-rebuild`)")
    SshBackend(parsed).check_hosts()
    workdir = Path(tempfile.mkdtemp(prefix="vpn-bench-deploy-"))
    try:
        report = _deploy(deploy_steps(parsed, hosts, flake_uri, workdir, builder), console)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)  # the build links; the hosts keep theirs
    _print_report(report, console)
    if not report.ok:
        raise typer.Exit(1)


def _deploy(steps: Sequence[DeployStep], console: Console) -> DeployReport:
    def done(outcome: StepOutcome) -> None:
        console.print(describe_outcome(outcome))

    return deploy(steps, subprocess_runner, done)


def _print_report(report: DeployReport, console: Console) -> None:
    errors = Console(stderr=True, soft_wrap=True, markup=False, highlight=False)
    for outcome in report.failed():
        errors.print(f"error: host {outcome.step.host}: {outcome.step.phase} failed: "
                     f"{outcome.step.shell_line()}\n--- last lines of its output ---\n"
                     f"{outcome.tail()}\n---")
    if report.skipped:
        errors.print("no host was switched (a build failed): every host still runs what it "
                     "ran before")
    elif report.failed():
        switched = [o.step.host for o in report.outcomes if o.step.phase == "switch" and o.ok]
        errors.print(f"switched: {', '.join(switched) or 'none'}; run deploy again once the "
                     "failure above is fixed (hosts already switched are left as they are)")
    else:
        total = sum(outcome.duration_s for outcome in report.outcomes)
        console.print(f"deployed {len({o.step.host for o in report.outcomes})} hosts "
                      f"({total:.1f} s of nixos-rebuild in all)")
