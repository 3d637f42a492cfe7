"""Host contention around a measurement: CPU steal, run-queue length, scheduling latency.

A busy host changes the numbers silently (a baseline ping of 0.6 ms became 9.6 ms with
spikes of 219 ms under load 10-15), so every measurement carries these figures and a
verdict. Samples are taken before the measurement, every few seconds during it (one
/proc/stat read per host: bounded, thinned out on long tests) and after it. The
scheduling-latency probe (``vpb-probe sched``: 1 ms sleeps, their oversleep) runs only
before and after, where it cannot disturb the measurement.

The verdict (:func:`judge`) looks at the before/after windows only: during a test the
test's own processes fill the run queue of a small testbed (iperf3 and a userspace VPN keep
both cores of this 2-core machine busy), which is load the measurement is about, not
contention from outside. Every read goes through the Host interface, so it works on every
backend; a figure that cannot be taken is noted, never an error.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from types import TracebackType

from harness.hosts.base import CommandFailed, Host
from harness.records.models import (
    Contention,
    ContentionPhase,
    ContentionSample,
    HostContention,
)

#: The console script that carries the scheduling-latency probe (harness/impairment/probe.py).
PROBE_BINARY = "vpb-probe"
#: Sleeps of one scheduling probe (about 60 ms of wall time, no traffic).
SCHED_COUNT = 50
BOOT_ID = PurePosixPath("/proc/sys/kernel/random/boot_id")
SCHED_SLEEP_US = 1000


@dataclass(frozen=True)
class Thresholds:
    """When a host counts as busy (see :func:`judge`). Measured on a 2-core machine: quiet,
    run queue 0 and p95 oversleep 0.13-0.18 ms; two busy loops, run queue 2 and p95 0.1-1.1
    ms (CFS lets a sleeper preempt, so the queue shows it, not the probe); other engineers'
    builds (procs_running 10), p95 about 3 ms. Steal is 0 on bare metal; a few percent on
    a shared VM already slows a data plane."""

    #: Busy when the run queue (besides the sampler) is at least this many per core.
    run_queue_per_core: float = 1.0
    #: Busy when CPU steal exceeds this share (percent of all CPUs' time).
    steal_pct: float = 5.0
    #: Busy when the scheduling probe's 95th-percentile oversleep exceeds this.
    sched_p95_ms: float = 2.0
    #: The samples judged. A test's own load is in its "during" samples, so a benchmark is
    #: judged before and after only; a light measurement (the impairment check's probes)
    #: can be judged during too, where contention hurts it most.
    phases: tuple[ContentionPhase, ...] = ("before", "after")

    def describe(self) -> str:
        return (f"busy if, {' or '.join(self.phases)} the test on any host, the run queue "
                f"besides the sampler >= {self.run_queue_per_core:g} x cores or the p95 "
                f"oversleep of {SCHED_SLEEP_US // 1000} ms sleeps > {self.sched_p95_ms:g} ms; "
                f"or CPU steal > {self.steal_pct:g} % over the test")


DEFAULT_THRESHOLDS = Thresholds()
#: The rule for a light measurement (the impairment check), judged during it as well.
LIGHT_LOAD_THRESHOLDS = Thresholds(phases=("before", "during", "after"))


# -- parsers (pure) ------------------------------------------------------------------------

@dataclass(frozen=True)
class ProcStat:
    """What contention needs of /proc/stat."""

    cores: int
    procs_running: int
    #: Aggregate jiffies: (steal, total of all states).
    steal: int
    total: int


def parse_proc_stat(text: str) -> ProcStat:
    """Cores (``cpuN`` lines), ``procs_running`` and the aggregate steal/total jiffies."""
    cores = 0
    running: int | None = None
    steal = total = -1
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "cpu":
            values = [int(value) for value in parts[1:9]]
            steal = values[7] if len(values) > 7 else 0
            total = sum(values)
        elif parts[0].startswith("cpu") and parts[0][3:].isdigit():
            cores += 1
        elif parts[0] == "procs_running" and len(parts) == 2:
            running = int(parts[1])
    if total < 0 or running is None or cores == 0:
        raise ValueError("/proc/stat lacks the aggregate cpu line, cpuN lines or "
                         "procs_running")
    return ProcStat(cores=cores, procs_running=running, steal=steal, total=total)


@dataclass(frozen=True)
class SchedLatency:
    """Oversleep of the scheduling probe's sleeps, in milliseconds."""

    count: int
    p50_ms: float
    p95_ms: float
    max_ms: float


def _quantile(ordered: Sequence[float], q: float) -> float:
    """Nearest-rank quantile of sorted values."""
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def parse_sched_output(text: str) -> SchedLatency:
    """The JSON line ``vpb-probe sched`` prints: ``{"sleep_us": U, "oversleep_us": [...]}``."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise ValueError("the scheduling probe printed nothing")
    try:
        document = json.loads(lines[-1])
        late = sorted(float(value) / 1000 for value in document["oversleep_us"])
    except (ValueError, TypeError, KeyError) as error:
        raise ValueError(f"the scheduling probe's output is not its JSON line: "
                         f"{lines[-1][:200]!r} ({error})") from None
    if not late or any(value < 0 for value in late):
        raise ValueError("the scheduling probe reported no (or negative) oversleeps")
    return SchedLatency(count=len(late), p50_ms=round(_quantile(late, 0.5), 3),
                        p95_ms=round(_quantile(late, 0.95), 3), max_ms=round(late[-1], 3))


# -- the threshold rule (pure) -------------------------------------------------------------

def judge(hosts: dict[str, HostContention],
          thresholds: Thresholds = DEFAULT_THRESHOLDS) -> tuple[bool, str]:
    """(busy, reason): busy when any host, in a sample of the judged phases (by default the
    before/after windows), had a run queue of at least ``run_queue_per_core`` per core or a
    p95 oversleep above ``sched_p95_ms``, or when its CPU steal over the test exceeded
    ``steal_pct``. Samples of other phases are figures for the reader only (by default
    "during", which holds the test's own load). No figure at all: not busy, and the reason
    says nothing was measured."""
    findings: list[str] = []
    seen: list[str] = []
    for name in sorted(hosts):
        host = hosts[name]
        edges = [sample for sample in host.samples if sample.phase in thresholds.phases]
        limit = thresholds.run_queue_per_core * host.cores
        queues = [sample.run_queue for sample in edges]
        if queues:
            seen.append(f"{name}: run queue max {max(queues)} of {host.cores} cores")
            longest = max(edges, key=lambda sample: sample.run_queue)
            if longest.run_queue >= limit:
                findings.append(f"{name}: run queue {longest.run_queue} >= {limit:g} "
                                f"({host.cores} cores) {longest.phase} the test")
        latencies = [sample for sample in edges if sample.sched_p95_ms is not None]
        if latencies:
            worst = max(latencies, key=lambda sample: sample.sched_p95_ms or 0.0)
            seen.append(f"p95 oversleep {worst.sched_p95_ms:g} ms")
            if (worst.sched_p95_ms or 0.0) > thresholds.sched_p95_ms:
                findings.append(f"{name}: p95 scheduling latency {worst.sched_p95_ms:g} ms > "
                                f"{thresholds.sched_p95_ms:g} ms {worst.phase} the test")
        if host.steal_pct is not None:
            seen.append(f"steal {host.steal_pct:g} %")
            if host.steal_pct > thresholds.steal_pct:
                findings.append(f"{name}: CPU steal {host.steal_pct:g} % > "
                                f"{thresholds.steal_pct:g} %")
    if findings:
        return True, "; ".join(findings)
    if not seen:
        return False, "no contention figure could be taken"
    return False, "quiet: " + ", ".join(seen)


# -- sampling (I/O through Host) -----------------------------------------------------------

@dataclass
class _HostState:
    host: Host
    first: ProcStat | None = None
    last: ProcStat | None = None
    samples: list[ContentionSample] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class ContentionMonitor:
    """Contention of ``hosts`` while a ``with`` block runs: a before window, bounded low-rate
    samples during it (every ``interval_s``; past ``max_samples`` every other one is dropped
    and the interval doubles), an after window. :meth:`result` gives the record."""

    def __init__(self, hosts: Sequence[Host], *, interval_s: float = 2.0,
                 max_samples: int = 30, sched_count: int = SCHED_COUNT,
                 thresholds: Thresholds = DEFAULT_THRESHOLDS) -> None:
        self._all = [_HostState(host) for host in hosts]
        #: The hosts actually sampled: one per kernel (see :meth:`_share_kernels`).
        self._states = list(self._all)
        #: host name -> the sampled host whose kernel it shares
        self._same_kernel: dict[str, str] = {}
        self._interval = interval_s
        self._max_samples = max(2, max_samples)
        self._sched_count = sched_count
        self._thresholds = thresholds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._started = 0.0

    def _read(self, state: _HostState) -> ProcStat | None:
        try:
            stat = parse_proc_stat(state.host.read_text(PurePosixPath("/proc/stat")))
        except (CommandFailed, OSError, ValueError) as error:
            _note(state, f"/proc/stat unreadable: {error}")
            return None
        if state.first is None:
            state.first = stat
        state.last = stat
        return stat

    def _sched(self, state: _HostState) -> tuple[SchedLatency | None, float]:
        """The probe's figures and how long it took (seconds)."""
        started = time.monotonic()
        try:
            result = state.host.run([PROBE_BINARY, "sched", "--count", str(self._sched_count),
                                     "--sleep-us", str(SCHED_SLEEP_US)], timeout=10)
            if not result.ok:
                raise ValueError(result.describe())
            return parse_sched_output(result.stdout), time.monotonic() - started
        except (CommandFailed, OSError, ValueError) as error:
            _note(state, f"scheduling probe failed: {str(error)[:300]}")
            return None, time.monotonic() - started

    def _window(self, state: _HostState, phase: ContentionPhase) -> None:
        """/proc/stat, the scheduling probe, /proc/stat again: one sample."""
        before = self._read(state)
        latency, _ = self._sched(state)
        after = self._read(state)
        reads = [stat.procs_running for stat in (before, after) if stat is not None]
        if not reads:
            return
        state.samples.append(ContentionSample(
            phase=phase, t_s=round(time.monotonic() - self._started, 3),
            run_queue=max(0, min(reads) - 1),
            sched_p50_ms=latency.p50_ms if latency else None,
            sched_p95_ms=latency.p95_ms if latency else None,
            sched_max_ms=latency.max_ms if latency else None))

    def _loop(self) -> None:
        interval = self._interval
        while not self._stop.wait(interval):
            for state in self._states:
                stat = self._read(state)
                if stat is not None:
                    state.samples.append(ContentionSample(
                        phase="during", t_s=round(time.monotonic() - self._started, 3),
                        run_queue=max(0, stat.procs_running - 1)))
            if any(_during(state) >= self._max_samples for state in self._states):
                for state in self._states:
                    during = [s for s in state.samples if s.phase == "during"]
                    dropped = {id(sample) for sample in during[1::2]}
                    state.samples = [s for s in state.samples if id(s) not in dropped]
                interval *= 2

    def _share_kernels(self) -> None:
        """Hosts with the same boot id run on one kernel (the local testbed's namespaces):
        its run queue and scheduling latency are one figure, so it is measured once and
        the probes do not disturb each other or cost a window per host."""
        sampled: dict[str, _HostState] = {}
        self._states = []
        for state in self._all:
            try:
                boot_id = state.host.read_text(BOOT_ID).strip()
            except (CommandFailed, OSError, ValueError):
                boot_id = ""
            first = sampled.get(boot_id) if boot_id else None
            if first is None:
                if boot_id:
                    sampled[boot_id] = state
                self._states.append(state)
            else:
                self._same_kernel[state.host.name] = first.host.name

    def __enter__(self) -> ContentionMonitor:
        self._started = time.monotonic()
        self._share_kernels()
        for state in self._states:
            self._window(state, "before")
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        for state in self._states:
            self._window(state, "after")

    def hosts(self) -> dict[str, HostContention]:
        """Raw figures per host (for a running monitor: so far); a host sharing a sampled
        host's kernel gets that host's figures with a note saying so."""
        figures: dict[str, HostContention] = {}
        for state in self._states:
            if state.first is None or state.last is None:
                figures[state.host.name] = HostContention(cores=0, notes=list(state.notes))
                continue
            span = state.last.total - state.first.total
            steal = (round(100.0 * (state.last.steal - state.first.steal) / span, 2)
                     if span > 0 else None)
            figures[state.host.name] = HostContention(
                cores=state.last.cores, steal_pct=steal, samples=list(state.samples),
                notes=list(state.notes))
        for name, sampled in self._same_kernel.items():
            shared = figures[sampled]
            figures[name] = shared.model_copy(update={
                "notes": [*shared.notes, f"same kernel as {sampled}: measured there"]})
        return {state.host.name: figures[state.host.name] for state in self._all}

    def result(self) -> Contention:
        hosts = self.hosts()
        busy, reason = judge(hosts, self._thresholds)
        return Contention(hosts=hosts, busy=busy, reason=reason,
                          rule=self._thresholds.describe())


def _during(state: _HostState) -> int:
    return sum(1 for sample in state.samples if sample.phase == "during")


def _note(state: _HostState, note: str) -> None:
    if note not in state.notes and len(state.notes) < 5:
        state.notes.append(note)
