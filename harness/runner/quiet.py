"""The quiet path: before each test, wait (bounded) until the tunnel is back at its idle RTT.

The previous test's traffic can outlive it (an unlimited-rate UDP flood leaves queues in a
userspace VPN and the kernel: it added 0-0.4 ms to WireGuard's next ping, and Mycelium
under `high` failed UDP and ping right after it), so a test's numbers would depend on the
order of the tests. The tunnel's idle RTT is measured once after bring-up; before each test a
short ping burst over the tunnel is repeated until its median is back within a tolerance of
it, or the budget (probes and seconds) is spent. A tunnel that answers no echo in three
probes in a row is down, not slow: the wait stops there, and the runner does not retry a test
that failed after such a wait (the failure would only repeat, timeouts included). The wait,
whether it converged and whether the tunnel fell silent go into the record. ``ping`` picks
the address family itself, so IPv6 overlays work the same.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from harness.hosts.base import Host
from harness.records.models import QuietPath
from harness.workloads.ping import PingError, parse_ping


@dataclass(frozen=True)
class QuietSettings:
    """Probe size and budget of the wait (defaults: ~0.25 s per probe, at most ~8 s)."""

    #: Echo requests of one probe, and their spacing (seconds).
    probe_count: int = 5
    probe_interval_s: float = 0.05
    #: Echo requests of the idle measurement after bring-up.
    idle_count: int = 10
    #: Budget of one wait: probes, seconds, and the pause between probes.
    max_probes: int = 8
    max_wait_s: float = 8.0
    pause_s: float = 0.3
    #: Probes in a row without any echo after which the wait stops: the tunnel is not slow
    #: but carries nothing, and waiting out the budget would only delay the failing test.
    max_silent_probes: int = 3
    #: Settled when median <= idle median x ratio + slack + idle spread (p90 - p10).
    ratio: float = 1.5
    slack_ms: float = 0.2


DEFAULT_QUIET = QuietSettings()


@dataclass(frozen=True)
class IdleRtt:
    """The tunnel's RTT at rest: median and spread (p90 - p10) of ``idle_count`` echoes."""

    median_ms: float
    spread_ms: float


def summarise(rtts: list[float]) -> IdleRtt | None:
    """Median and p90 - p10 spread of RTTs (None when there are none)."""
    if not rtts:
        return None
    ordered = sorted(rtts)
    low = ordered[int(0.1 * (len(ordered) - 1))]
    high = ordered[round(0.9 * (len(ordered) - 1))]
    return IdleRtt(median_ms=statistics.median(ordered), spread_ms=high - low)


def settled(rtt_ms: float, idle: IdleRtt, settings: QuietSettings = DEFAULT_QUIET) -> bool:
    """Is a probe's median RTT back at the idle RTT, within the tolerance (pure)?"""
    return rtt_ms <= idle.median_ms * settings.ratio + settings.slack_ms + idle.spread_ms


def probe_rtts(host: Host, address: str, count: int, interval_s: float) -> list[float]:
    """RTTs (ms) of the echoes answered out of ``count`` sent from ``host`` to ``address``."""
    result = host.run(["ping", "-n", "-c", str(count), "-i", f"{interval_s:g}", "-W", "1",
                       address], timeout=count * interval_s + 5)
    try:
        metrics = parse_ping(result.stdout, interval_s)
    except PingError:
        return []
    return [sample for sample in metrics.samples_ms if sample is not None]


def measure_idle(host: Host, address: str,
                 settings: QuietSettings = DEFAULT_QUIET) -> IdleRtt | None:
    """The tunnel's idle RTT from ``host`` to ``address`` (None: no echo came back)."""
    return summarise(probe_rtts(host, address, settings.idle_count, settings.probe_interval_s))


def wait_quiet(host: Host, address: str, idle: IdleRtt | None,
               settings: QuietSettings = DEFAULT_QUIET, *,
               sleep: Callable[[float], None] = time.sleep,
               clock: Callable[[], float] = time.monotonic) -> QuietPath:
    """Probe until settled or the budget is spent; what happened, for the record. Without an
    idle RTT (none was measured) there is nothing to wait for: no probe, not converged."""
    started = clock()
    if idle is None:
        return QuietPath(idle_rtt_ms=None, last_rtt_ms=None, probes=0, wait_s=0.0,
                         converged=False)
    probes = silent_probes = 0
    last: float | None = None
    converged = False
    while probes < settings.max_probes and silent_probes < settings.max_silent_probes:
        if probes:
            if clock() - started + settings.pause_s > settings.max_wait_s:
                break
            sleep(settings.pause_s)
        rtts = probe_rtts(host, address, settings.probe_count, settings.probe_interval_s)
        probes += 1
        silent_probes = 0 if rtts else silent_probes + 1
        last = statistics.median(rtts) if rtts else None
        if (last is not None and 2 * len(rtts) >= settings.probe_count
                and settled(last, idle, settings)):
            converged = True
            break
    return QuietPath(idle_rtt_ms=round(idle.median_ms, 4),
                     last_rtt_ms=round(last, 4) if last is not None else None,
                     probes=probes, wait_s=round(clock() - started, 3), converged=converged,
                     silent=silent_probes >= settings.max_silent_probes)


def silent(quiet: QuietPath | None) -> bool:
    """The wait stopped because the tunnel answered no echo in probe after probe: it was
    down, not just slow."""
    return quiet is not None and quiet.silent
