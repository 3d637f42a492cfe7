"""What every VPN adapter does: make keys, render native config, run the daemons in the
foreground under supervision, and say each host's overlay address; and the one description
of a VPN (:class:`VpnDescription`) that its module exports for :mod:`harness.vpns.registry`.

Adapters talk only to :class:`~harness.hosts.base.Host`, so they serve every backend; even
"is the binary installed" is asked of a Host (``host.which``), never of this process.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import ClassVar

from harness.hosts.base import Host, Process
from harness.settings.models import VpnSettings
from harness.testbed.base import Testbed
from harness.vpns.builds import build_failures


@dataclass(frozen=True)
class BinaryRequirement:
    """A program a VPN needs, where a user gets it, and how it tells its version."""

    binary: str
    nix: str
    debian: str | None = None
    build_hint: str | None = None
    #: Arguments after the binary that print its version (first line is recorded).
    version_args: tuple[str, ...] = ("--version",)
    #: A long-running daemon (leftover checks look for processes of this name).
    daemon: bool = False

    @property
    def version_argv(self) -> tuple[str, ...]:
        return (self.binary, *self.version_args)

    def is_on(self, host: Host) -> bool:
        return host.which(self.binary) is not None

    def how_to_install(self) -> str:
        sources = [f"Nix package {self.nix}"]
        if self.debian:
            sources.insert(0, f"Debian package {self.debian}")
        if self.build_hint:
            sources.append(self.build_hint)
        return f"binary {self.binary} ({'; '.join(sources)})"


class VpnError(RuntimeError):
    """The VPN could not be brought up; the message says where and why."""


@dataclass(frozen=True)
class Launch:
    """How a daemon was started on a host, so the same service can be started again
    (restart, after a reboot) from the files deploy left there."""

    host: str
    argv: tuple[str, ...]
    name: str
    env: dict[str, str] | None = None


@dataclass
class VpnContext:
    """One bring-up of one VPN on one testbed."""

    testbed: Testbed
    settings: VpnSettings
    processes: list[tuple[Host, Process]] = field(default_factory=list)
    #: Every daemon deploy started, in order (a restart starts the host's ones again).
    launches: list[Launch] = field(default_factory=list)

    @property
    def hosts(self) -> list[str]:
        return self.testbed.host_names

    def host(self, name: str) -> Host:
        return self.testbed.host(name)

    def workdir(self, host: Host) -> PurePosixPath:
        """Per-VPN directory on ``host`` for keys, configs and state (0700)."""
        return host.state_dir / "vpn" / self.settings.name

    def start(self, host: Host, argv: Sequence[str], name: str,
              env: dict[str, str] | None = None) -> Process:
        launch = Launch(host.name, tuple(argv), name, dict(env) if env is not None else None)
        self.launches.append(launch)
        return self.relaunch(launch)

    def relaunch(self, launch: Launch) -> Process:
        """Start a daemon deploy started before (same command), supervised as before."""
        host = self.host(launch.host)
        process = host.start(launch.argv, name=f"{self.settings.name}-{launch.name}",
                             env=launch.env)
        self.processes.append((host, process))
        return process


class VpnAdapter(ABC):
    """Base class of the adapters; subclasses set ``name`` and ``requirements``."""

    name: ClassVar[str]
    #: Programs needed on every host; the first one's version is recorded.
    requirements: ClassVar[tuple[BinaryRequirement, ...]] = ()
    #: Programs needed only in some setups (e.g. wireguard-go where the kernel lacks
    #: WireGuard); the adapter checks them itself at deploy time.
    alternatives: ClassVar[tuple[BinaryRequirement, ...]] = ()
    #: Seconds the runner waits for every host to reach every other host.
    ready_timeout_s: ClassVar[float] = 60.0
    #: The VPN runs as a service on each host that can be stopped and started again per
    #: host (the reconnect workload restarts it); internal has none.
    has_service: ClassVar[bool] = True

    def __init__(self, settings: VpnSettings) -> None:
        self.settings = settings

    # -- availability ------------------------------------------------------------------
    def missing_requirements(self, host: Host) -> list[BinaryRequirement]:
        """Requirements whose binary is not on ``host``'s PATH."""
        return [req for req in self.requirements if not req.is_on(host)]

    def unavailable_reason(self, host: Host) -> str | None:
        """Why this VPN cannot run on ``host``, or None. Read-only commands pass
        ``LocalMachine()``, so this must start no process as root and create no namespace."""
        failures = build_failures(self.name)
        if failures:  # whatever else is on PATH is not the version the benchmark means
            return "; ".join(failure.describe() for failure in failures)
        missing = self.missing_requirements(host)
        if not missing:
            return None
        return "not installed (" + "; ".join(req.how_to_install() for req in missing) + ")"

    def version(self, host: Host) -> str | None:
        if not self.requirements:
            return None
        return host.version_line(self.requirements[0].version_argv)

    # -- lifecycle ---------------------------------------------------------------------
    @abstractmethod
    def deploy(self, ctx: VpnContext) -> None:
        """Generate keys and config, start the daemons. Returns once they are started."""

    @abstractmethod
    def overlay_addresses(self, ctx: VpnContext) -> dict[str, str]:
        """Host name -> address the benchmarks target over the overlay."""

    def teardown(self, ctx: VpnContext) -> None:
        """Stop the daemons (newest first) and remove what they left on the hosts."""
        for _host, process in reversed(ctx.processes):
            process.stop(timeout=5.0)
        ctx.processes.clear()

    def stop_host(self, ctx: VpnContext, name: str) -> None:
        """Stop the VPN on one host as its service manager would (daemons newest first);
        keys, configs and state that deploy wrote stay, so :meth:`start_host` can follow."""
        host = ctx.host(name)
        for owner, process in reversed(ctx.processes):
            if owner is host:
                process.stop(timeout=5.0)
        ctx.processes[:] = [(owner, process) for owner, process in ctx.processes
                            if owner is not host]

    def start_host(self, ctx: VpnContext, name: str, *, booted: bool = False) -> None:
        """Start the VPN on one host again from what deploy left there (config, keys, node
        ids): by default its daemons' commands, in deploy order. ``booted``: the host was
        rebooted, so its runtime state (interfaces, routes, /run) is gone as well; adapters
        that set such state themselves at deploy override this to set it again."""
        for launch in ctx.launches:
            if launch.host == name:
                ctx.relaunch(launch)

    def details(self) -> dict[str, str]:
        """Facts about this bring-up worth recording (e.g. which data plane was used)."""
        return {}

    def dead_daemons(self, ctx: VpnContext) -> list[str]:
        """Names of supervised daemons that exited, with their status."""
        return [
            f"{host.name}/{process.name} exited with {process.returncode()}"
            for host, process in ctx.processes
            if not process.is_running()
        ]

    def log_tails(self, ctx: VpnContext, lines: int = 30) -> dict[str, str]:
        return {f"{host.name}/{process.name}": process.log_tail(lines)
                for host, process in ctx.processes}


def interface_exists(host: Host, interface: str) -> bool:
    return host.run(["ip", "link", "show", "dev", interface], timeout=5).ok


def require_binary(host: Host, requirement: BinaryRequirement) -> None:
    """Raise a VpnError naming the package when a binary needed now is missing on ``host``."""
    if not requirement.is_on(host):
        raise VpnError(f"not installed on {host.name}: " + requirement.how_to_install())
