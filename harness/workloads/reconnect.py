"""How long the overlay needs to carry traffic again: at bring-up, after a VPN restart on
one host and after a reboot of one host.

One cell is one ring link ``source -> target``; the target is the host disturbed, every
other host (the source among them) probes it. Phases, in order:

* bring-up: the VPN is stopped on every host, then started on every host; from the first
  start until every ordered pair of hosts answers (``bringup_s``; ``bringup_link_s`` for
  the link's own pair);
* restart: the target's VPN is stopped and started again (``systemctl restart``); from the
  start until each peer reaches the target again (``restart_s`` is the source's figure,
  ``restart_peers_s`` every peer's);
* reboot: the target is rebooted by the testbed (a real reboot on real hosts; on the local
  testbed its namespace and runtime state are made anew, its keys and node ids kept), then
  its VPN is started; from that start until each peer reaches it (``reboot_s``,
  ``reboot_peers_s``); ``reboot_host_s`` is how long the reboot itself took;
* recovery: every ordered pair must answer again before the cell ends, so the cells after
  it find the overlay as they expect; when it does not, the cell fails saying so.

A probe is one ICMP echo (``ping -c 1 -W <probe_wait_s>``, IPv4 and IPv6 alike), repeated
every ``probe_interval_s`` until it is answered or ``wait_s`` has passed: bounded in time and
count, with sub-second resolution. The time recorded is when the first answered probe
returned, so it may exceed the moment traffic flowed by up to one probe.

``internal`` has no VPN daemon: bring-up and restart do not apply (recorded with that
reason, as None); the reboot is measured all the same and shows what the LAN, the host's
network set-up and the probe take.

Parameters: :class:`ReconnectParams`. Metrics: :class:`ReconnectMetrics`.
Analysis metrics: ``reconnect.*``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from pydantic import Field

from harness.hosts.base import Host
from harness.records.models import Status
from harness.testbed.base import Testbed
from harness.topology import Link, all_pairs
from harness.workloads.base import (
    Lifecycle,
    Measurement,
    Workload,
    WorkloadContext,
    WorkloadMetrics,
    WorkloadParams,
    now,
    parameter,
)

NO_SERVICE = "the VPN has no daemon on the hosts (internal): bring-up and restart do not apply"


class ReconnectParams(WorkloadParams):
    """Parameters of the reconnect test."""

    wait_s: float = parameter(
        60.0, "Seconds each phase waits for the overlay to answer again before the cell "
        "fails (also the bound of the host's reboot).", ge=1, le=900)
    probe_interval_s: float = parameter(
        0.1, "Seconds from one probe's start to the next (the time resolution).",
        ge=0.02, le=5)
    probe_wait_s: float = parameter(
        0.2, "Seconds one probe waits for its echo reply (ping -W).", ge=0.05, le=5)
    reboot: bool = parameter(True, "Also reboot the target host (the reboot phase).")


class ReconnectMetrics(WorkloadMetrics):
    """Seconds until traffic flows again, per phase; None where a phase does not apply."""

    #: The host restarted and rebooted (the link's target).
    host: str
    bringup_s: float | None = None
    bringup_link_s: float | None = None
    restart_s: float | None = None
    #: Peer (probing host) -> seconds.
    restart_peers_s: dict[str, float] = Field(default_factory=dict)
    reboot_s: float | None = None
    reboot_peers_s: dict[str, float] = Field(default_factory=dict)
    reboot_host_s: float | None = None
    #: Why a phase was not measured (e.g. internal has no daemon to restart).
    not_applicable: list[str] = Field(default_factory=list)
    probe_interval_s: float


@dataclass(frozen=True)
class Probe:
    """One pair probed in a phase: ``source`` pings ``address`` (the target's)."""

    source: str
    target: str
    address: str

    @property
    def label(self) -> str:
        return f"{self.source}->{self.target}"


@dataclass(frozen=True)
class ProbeResult:
    probe: Probe
    #: Seconds from the phase's start until the first answered probe returned.
    seconds: float | None
    probes: int


def probe_command(address: str, params: ReconnectParams) -> list[str]:
    return ["ping", "-n", "-q", "-c", "1", "-W", f"{params.probe_wait_s:g}", address]


def max_probes(params: ReconnectParams) -> int:
    """The count bound of one pair's probe loop (the time bound is ``wait_s``)."""
    return math.ceil(params.wait_s / params.probe_interval_s) + 1


def wait_reachable(host: Host, probe: Probe, params: ReconnectParams, started: float,
                   clock: Callable[[], float] = time.monotonic,
                   sleep: Callable[[float], None] = time.sleep) -> ProbeResult:
    """Probe until the first answer, ``wait_s`` after ``started`` or ``max_probes``."""
    deadline = started + params.wait_s
    command = probe_command(probe.address, params)
    for count in range(1, max_probes(params) + 1):
        sent = clock()
        if host.run(command, timeout=params.probe_wait_s + 5).ok:
            return ProbeResult(probe, clock() - started, count)
        if clock() >= deadline:
            return ProbeResult(probe, None, count)
        sleep(max(0.0, sent + params.probe_interval_s - clock()))
    return ProbeResult(probe, None, max_probes(params))


def measure_phase(testbed: Testbed, probes: Sequence[Probe], params: ReconnectParams,
                  started: float) -> list[ProbeResult]:
    """Every pair of ``probes`` at once, each until it is answered (bounded)."""
    with ThreadPoolExecutor(max_workers=max(1, len(probes))) as pool:
        return list(pool.map(
            lambda probe: wait_reachable(testbed.host(probe.source), probe, params, started),
            probes))


def peer_probes(hosts: Sequence[str], target: str, addresses: dict[str, str]) -> list[Probe]:
    """Every other host probing ``target``."""
    return [Probe(peer, target, addresses[target]) for peer in hosts if peer != target]


def mesh_probes(hosts: Sequence[str], addresses: dict[str, str]) -> list[Probe]:
    """Every ordered pair of hosts."""
    return [Probe(link.source, link.target, addresses[link.target])
            for link in all_pairs(list(hosts))]


def unanswered(results: Sequence[ProbeResult]) -> list[str]:
    return [result.probe.label for result in results if result.seconds is None]


def per_peer(results: Sequence[ProbeResult]) -> dict[str, float]:
    """Source host -> seconds, of the answered probes."""
    return {result.probe.source: round(result.seconds, 4)
            for result in results if result.seconds is not None}


def slowest(results: Sequence[ProbeResult]) -> float | None:
    """Seconds until every pair answered; None when one never did."""
    if not results or any(result.seconds is None for result in results):
        return None
    return round(max(result.seconds for result in results if result.seconds is not None), 4)


def describe(phase: str, results: Sequence[ProbeResult]) -> list[str]:
    """Raw-output lines of one phase: per pair, seconds (or none) and probes sent."""
    return [f"{phase} {result.probe.label} "
            f"{'unanswered' if result.seconds is None else f'{result.seconds:.4f}s'} "
            f"after {result.probes} probes" for result in results]


class PhaseFailed(RuntimeError):
    """A phase did not end with every probed pair answering."""


class _Cell:
    """One link's phases, collecting figures and raw lines as they are measured."""

    def __init__(self, ctx: WorkloadContext[ReconnectParams], lifecycle: Lifecycle,
                 link: Link) -> None:
        self.ctx, self.lifecycle, self.link = ctx, lifecycle, link
        self.params = ctx.params
        self.hosts = ctx.testbed.host_names
        self.lines: list[str] = []
        self.values: dict[str, object] = {"host": link.target,
                                          "probe_interval_s": ctx.params.probe_interval_s}
        self.reasons: list[str] = []
        #: The phase running now, named in the error when a lifecycle step raises.
        self.current = "start"

    def not_applicable(self, phases: str, reason: str) -> None:
        self.reasons.append(reason)
        self.lines.append(f"{phases}: not applicable: {reason}")

    def phase(self, name: str, probes: Sequence[Probe], started: float) -> list[ProbeResult]:
        results = measure_phase(self.ctx.testbed, probes, self.params, started)
        self.lines.extend(describe(name, results))
        missing = unanswered(results)
        if missing:
            raise PhaseFailed(f"{name}: no answer within {self.params.wait_s:g}s for "
                              f"{', '.join(missing)}")
        return results

    def link_seconds(self, results: Sequence[ProbeResult]) -> float | None:
        return next((round(r.seconds, 4) for r in results
                     if r.probe.source == self.link.source and r.seconds is not None), None)

    def bringup(self) -> None:
        self.current = "bringup"
        for host in self.hosts:
            self.lifecycle.stop_vpn(host)
        started = time.monotonic()
        for host in self.hosts:
            self.lifecycle.start_vpn(host)
        results = self.phase("bringup", mesh_probes(self.hosts, self.ctx.addresses), started)
        self.values["bringup_s"] = slowest(results)
        self.values["bringup_link_s"] = next(
            (round(r.seconds, 4) for r in results if r.probe.label == self.link.label
             and r.seconds is not None), None)

    def restart(self) -> None:
        target = self.link.target
        self.current = f"restart of {target}"
        self.lifecycle.stop_vpn(target)
        started = time.monotonic()
        self.lifecycle.start_vpn(target)
        results = self.phase("restart", peer_probes(self.hosts, target, self.ctx.addresses),
                             started)
        self.values["restart_s"] = self.link_seconds(results)
        self.values["restart_peers_s"] = per_peer(results)

    def reboot(self) -> None:
        target = self.link.target
        self.current = f"reboot of {target}"
        down = time.monotonic()
        self.lifecycle.reboot(target, timeout_s=self.params.wait_s)
        started = time.monotonic()
        self.values["reboot_host_s"] = round(started - down, 4)
        self.lifecycle.start_vpn(target, booted=True)
        results = self.phase("reboot", peer_probes(self.hosts, target, self.ctx.addresses),
                             started)
        self.values["reboot_s"] = self.link_seconds(results)
        self.values["reboot_peers_s"] = per_peer(results)

    def recover(self) -> None:
        """Every ordered pair answers again, so the cells after this one can run."""
        self.current = "recovery"
        try:
            self.phase("recovery", mesh_probes(self.hosts, self.ctx.addresses),
                       time.monotonic())
        except PhaseFailed as error:
            raise PhaseFailed(f"the overlay did not recover after disturbing "
                              f"{self.link.target}: {error}") from None

    def metrics(self) -> ReconnectMetrics:
        return ReconnectMetrics.model_validate({**self.values, "not_applicable": self.reasons})


class ReconnectWorkload(Workload[ReconnectParams, ReconnectMetrics]):
    name = "reconnect"
    binaries = ("ping",)
    params_model = ReconnectParams
    metrics_model = ReconnectMetrics
    #: Bring-up is every pair answering: one figure for the mesh, like the session's.
    mesh_metrics = frozenset({"reconnect.bringup_s"})
    #: A failed cell leaves the overlay in an unknown state; the next attempt starts with a
    #: bring-up of every host, which also repairs it.
    default_retries = 1

    def run(self, ctx: WorkloadContext[ReconnectParams],
            links: list[Link]) -> Iterator[Measurement]:
        for link in links:
            yield self._measure(ctx, link)

    def _measure(self, ctx: WorkloadContext[ReconnectParams], link: Link) -> Measurement:
        started = now()
        lifecycle = ctx.lifecycle
        if lifecycle is None:
            return Measurement(link, Status.FAILED, started, now(),
                               error="reconnect needs the runner's lifecycle control "
                                     "(restart and reboot), which this context lacks")
        cell = _Cell(ctx, lifecycle, link)
        measurement = Measurement(link, Status.OK, started, started,
                                  command=probe_command(ctx.addresses[link.target],
                                                        ctx.params))
        try:
            if lifecycle.vpn_has_service:
                cell.bringup()
                cell.restart()
            else:
                cell.not_applicable("bringup, restart", NO_SERVICE)
            if ctx.params.reboot and ctx.testbed.supports_reboot:
                cell.reboot()
            elif ctx.params.reboot:
                cell.not_applicable("reboot", f"the {ctx.testbed.backend} testbed cannot "
                                    "reboot a host")
            cell.recover()
        except Exception as error:  # a phase, a restart or the reboot failed: say which
            measurement.status = Status.FAILED
            measurement.error = str(error) if isinstance(error, PhaseFailed) else (
                f"{cell.current}: {type(error).__name__}: {error}")
        measurement.metrics = cell.metrics()
        measurement.ended_at = now()
        measurement.raw_output = "\n".join(cell.lines) + "\n"
        return measurement

    def nominal_duration_s(self, params: ReconnectParams, links: int) -> float:
        """For planning: the mean per link of the eleven VPNs' cells in `make bench` on the
        local testbed, ~9 s (0.1 s for internal to ~36 s for WireGuard, whose peers wait out
        its timers). A real reboot over SSH takes far longer; timeouts do not use this."""
        return links * (4.0 + (5.0 if params.reboot else 0.0))

    def analysis_values(self, metrics: ReconnectMetrics) -> dict[str, float | None]:
        return {
            "reconnect.bringup_s": metrics.bringup_s,
            "reconnect.restart_s": metrics.restart_s,
            "reconnect.reboot_s": metrics.reboot_s,
            "reconnect.restart_all_s": max(metrics.restart_peers_s.values(), default=None),
            "reconnect.reboot_all_s": max(metrics.reboot_peers_s.values(), default=None),
            "reconnect.reboot_host_s": metrics.reboot_host_s,
        }

    def summary(self, metrics: ReconnectMetrics) -> str:
        def text(value: float | None) -> str:
            return "n/a" if value is None else f"{value:.2f} s"
        return (f"bring-up {text(metrics.bringup_s)}, restart {text(metrics.restart_s)}, "
                f"reboot {text(metrics.reboot_s)}")
