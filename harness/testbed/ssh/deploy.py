"""`vpn-bench deploy`: build and activate every host's ``nixosConfigurations.<host>`` with
``nixos-rebuild``, hosts in parallel, every step timed.

Two phases, so that a failure leaves every host consistent: first every host's system is
*built* (``nixos-rebuild build``, nothing on any host changes); only when all builds
succeeded is each host *switched* (``nixos-rebuild switch --target-host``, which finds the
build already done). A failed build therefore changes no host at all; a failed switch is
reported with that host's output, the others are on the new generation of the same flake
revision, and running `deploy` again is safe (unchanged hosts switch to what they run).

The flags follow the nixos-rebuild(8) page of NixOS/nixpkgs
(pkgs/by-name/ni/nixos-rebuild-ng/nixos-rebuild.8.scd, read at 10ec429b): ``--flake URI#name``,
``--target-host user@host``, ``--build-host host``; ssh options reach nixos-rebuild's own
ssh (and ``nix copy``'s) through ``NIX_SSHOPTS``, which nixos-rebuild splits with
``shlex.split`` (nixos_rebuild/process.py, read at 005ab72f) and puts before its own
ControlMaster options, so the managed known_hosts file pins the keys there too. Command
lines are pure functions.
"""

from __future__ import annotations

import os
import shlex
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from harness.errors import UsageError
from harness.hosts.base import CommandResult
from harness.hosts.local_process import run_command
from harness.hosts.ssh import ssh_options
from harness.testbed.ssh.inventory import Inventory, ResolvedHost
from harness.testbed.ssh.testbed import ssh_target

Phase = Literal["build", "switch"]
#: Seconds one nixos-rebuild may take (a cold build of every VPN can take long).
DEPLOY_TIMEOUT_S = 4 * 3600.0
#: Lines of a failed step's output shown in the report.
TAIL_LINES = 30


@dataclass(frozen=True)
class DeployStep:
    """One nixos-rebuild invocation for one host."""

    host: str
    phase: Phase
    argv: tuple[str, ...]
    env: Mapping[str, str]
    #: Working directory (the build phase leaves its ``result`` link there, one per host).
    cwd: Path

    def shell_line(self) -> str:
        """How a user would type it: the environment, the command."""
        words = [f"{key}={shlex.quote(value)}" for key, value in self.env.items()]
        return " ".join([*words, shlex.join(self.argv)])


def nix_sshopts(inventory: Inventory, host: ResolvedHost) -> str:
    """NIX_SSHOPTS for ``host``: the harness's own ssh options (pinned known_hosts, strict
    checking, batch mode, port, user, identity) without its ControlPath, so nixos-rebuild's
    own multiplexing applies. Nix splits it on blanks, so no option may contain one."""
    options = ssh_options(ssh_target(inventory, host, None))
    index = options.index("ControlPath=none")
    options = options[:index - 1] + options[index + 1:]
    blank = [option for option in options if any(ch.isspace() for ch in option)]
    if blank:
        raise UsageError(f"inventory {inventory.path}: host {host.name}: {blank[0]!r} contains "
                         "a blank; NIX_SSHOPTS cannot carry it (move the file to a path "
                         "without blanks)")
    return " ".join(options)


def flake_ref(flake: str, host: str) -> str:
    return f"{flake}#{host}"


def deploy_steps(inventory: Inventory, hosts: Sequence[str], flake: str,
                 workdir: Path, build_host: str | None = None) -> list[DeployStep]:
    """Every step in order: the build of each host, then the switch of each host."""
    inventory.require_hosts(list(hosts))
    build_args = ["--build-host", build_host] if build_host else []
    steps: list[DeployStep] = []
    for phase in ("build", "switch"):
        for name in hosts:
            host = inventory.host(name)
            env = {"NIX_SSHOPTS": nix_sshopts(inventory, host)}
            argv = ["nixos-rebuild", phase, "--flake", flake_ref(flake, name)]
            if phase == "switch":
                argv += ["--target-host", f"{host.user}@{host.address}"]
            argv += build_args
            steps.append(DeployStep(name, phase, tuple(argv), env, workdir / name))
    return steps


@dataclass
class StepOutcome:
    step: DeployStep
    result: CommandResult | None
    duration_s: float

    @property
    def ok(self) -> bool:
        return self.result is not None and self.result.ok

    def tail(self, lines: int = TAIL_LINES) -> str:
        if self.result is None:
            return "(not run)"
        text = (self.result.stdout + self.result.stderr).rstrip("\n").splitlines()
        return "\n".join(text[-lines:])


@dataclass
class DeployReport:
    outcomes: list[StepOutcome] = field(default_factory=list)
    #: Switch steps left out because a build failed.
    skipped: list[DeployStep] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.skipped and all(outcome.ok for outcome in self.outcomes)

    def failed(self) -> list[StepOutcome]:
        return [outcome for outcome in self.outcomes if not outcome.ok]


#: Runs one step: (argv, env, cwd, timeout) -> result.
StepRunner = Callable[[DeployStep, float], CommandResult]


def run_phase(steps: Sequence[DeployStep], runner: StepRunner,
              on_done: Callable[[StepOutcome], None] = lambda outcome: None,
              timeout_s: float = DEPLOY_TIMEOUT_S) -> list[StepOutcome]:
    """The steps of one phase, one thread per host; each one timed."""

    def one(step: DeployStep) -> StepOutcome:
        started = time.monotonic()
        try:
            result = runner(step, timeout_s)
        except OSError as error:  # nixos-rebuild missing or not executable
            result = CommandResult(step.argv, 127, "", str(error), 0.0)
        outcome = StepOutcome(step, result, time.monotonic() - started)
        on_done(outcome)
        return outcome

    if not steps:
        return []
    with ThreadPoolExecutor(max_workers=len(steps)) as pool:
        return list(pool.map(one, steps))


def deploy(steps: Sequence[DeployStep], runner: StepRunner,
           on_done: Callable[[StepOutcome], None] = lambda outcome: None,
           timeout_s: float = DEPLOY_TIMEOUT_S) -> DeployReport:
    """Build every host; switch them only if every build succeeded."""
    builds = [step for step in steps if step.phase == "build"]
    switches = [step for step in steps if step.phase == "switch"]
    report = DeployReport(outcomes=run_phase(builds, runner, on_done, timeout_s))
    if not report.ok:
        report.skipped = list(switches)
        return report
    report.outcomes += run_phase(switches, runner, on_done, timeout_s)
    return report


def subprocess_runner(step: DeployStep, timeout_s: float) -> CommandResult:
    """Run a step on this machine (its environment plus NIX_SSHOPTS), output captured. It
    runs in its own session: on timeout the whole group (nixos-rebuild and the nix and ssh
    processes it started) is killed, not only nixos-rebuild."""
    step.cwd.mkdir(parents=True, exist_ok=True)
    return run_command(step.argv, timeout=timeout_s, env={**os.environ, **step.env},
                       cwd=step.cwd)


def describe_outcome(outcome: StepOutcome) -> str:
    state = "ok" if outcome.ok else (
        "timed out" if outcome.result is not None and outcome.result.timed_out
        else f"failed (exit {outcome.result.returncode if outcome.result else '?'})")
    return f"{outcome.step.host}: {outcome.step.phase} {state} in {outcome.duration_s:.1f} s"
