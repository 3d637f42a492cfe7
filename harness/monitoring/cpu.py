"""CPU use during a test: system-wide (user/system/softirq...) and per VPN daemon, plus each
daemon's peak resident memory (a VPN that queues without bound shows up here first).

A kernel data plane is invisible in per-process figures, so the system-wide split
(softirq in particular) is sampled too. Reads go through the Host interface, so the same
sampler serves every backend.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from types import TracebackType

from harness.hosts.base import Host, Process
from harness.records.models import CpuSample, CpuTimes, CpuUsage, ProcessCpu

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")


def parse_proc_stat(text: str) -> dict[str, int]:
    """Aggregate CPU jiffies from /proc/stat's first line."""
    for line in text.splitlines():
        parts = line.split()
        if parts and parts[0] == "cpu":
            return {name: int(value) for name, value in zip(_FIELDS, parts[1:], strict=False)}
    raise ValueError("no aggregate 'cpu' line in /proc/stat")


def parse_process_ticks(text: str) -> int:
    """utime + stime (all threads) from /proc/<pid>/stat."""
    fields = text.rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def parse_rss_bytes(status: str) -> int | None:
    """Resident set size from /proc/<pid>/status (``VmRSS: N kB``)."""
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return None


def cpu_share(before: dict[str, int], after: dict[str, int]) -> CpuTimes:
    """Percent of all CPUs' time spent in each state between two snapshots."""
    delta = {name: after.get(name, 0) - before.get(name, 0) for name in _FIELDS}
    total = sum(delta.values()) or 1

    def pct(*names: str) -> float:
        return 100.0 * sum(delta[name] for name in names) / total

    return CpuTimes(user_pct=pct("user", "nice"), system_pct=pct("system"),
                    softirq_pct=pct("softirq"), irq_pct=pct("irq"),
                    iowait_pct=pct("iowait"), idle_pct=pct("idle"))


@dataclass
class _Watched:
    host: Host
    process: Process


class CpuSampler:
    """Background sampling (default every second) while a ``with`` block runs."""

    def __init__(self, hosts: Sequence[Host], processes: Sequence[tuple[Host, Process]],
                 interval_s: float = 1.0) -> None:
        self._hosts = list(hosts)
        self._watched = [_Watched(host, process) for host, process in processes]
        self._interval = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._samples: list[CpuSample] = []
        self._max_rss: dict[int, int] = {}
        self._first: tuple[float, dict[str, dict[str, int]], dict[int, int]] | None = None
        self._last: tuple[float, dict[str, dict[str, int]], dict[int, int]] | None = None

    def _snapshot(self) -> tuple[float, dict[str, dict[str, int]], dict[int, int]]:
        system = {}
        for host in self._hosts:
            try:
                system[host.name] = parse_proc_stat(
                    host.read_file(PurePosixPath("/proc/stat")).decode())
            except (OSError, ValueError):
                continue
        ticks = {}
        for watched in self._watched:
            pid = watched.process.pid
            try:
                ticks[pid] = parse_process_ticks(watched.host.read_file(
                    PurePosixPath(f"/proc/{pid}/stat")).decode())
                rss = parse_rss_bytes(watched.host.read_file(
                    PurePosixPath(f"/proc/{pid}/status")).decode())
            except (OSError, ValueError, IndexError):
                continue
            if rss is not None:
                self._max_rss[pid] = max(rss, self._max_rss.get(pid, 0))
        return time.monotonic(), system, ticks

    def _sample(self, previous: tuple[float, dict[str, dict[str, int]], dict[int, int]],
                current: tuple[float, dict[str, dict[str, int]], dict[int, int]],
                started: float) -> CpuSample:
        seconds = max(current[0] - previous[0], 1e-6)
        return CpuSample(
            t_s=round(current[0] - started, 3),
            busy_pct={host: round(100.0 - cpu_share(previous[1][host], snap).idle_pct, 2)
                      for host, snap in current[1].items() if host in previous[1]},
            process_pct={f"{w.host.name}/{w.process.name}": round(
                100.0 * (current[2][w.process.pid] - previous[2][w.process.pid])
                / (seconds * CLOCK_TICKS), 2)
                for w in self._watched
                if w.process.pid in current[2] and w.process.pid in previous[2]},
        )

    def _loop(self) -> None:
        assert self._first is not None
        previous = self._first
        while not self._stop.wait(self._interval):
            current = self._snapshot()
            self._samples.append(self._sample(previous, current, self._first[0]))
            previous = current

    def __enter__(self) -> CpuSampler:
        self._first = self._snapshot()
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._last = self._snapshot()

    def usage(self) -> CpuUsage | None:
        """Means over the whole block, plus the per-interval samples."""
        if self._first is None or self._last is None:
            return None
        first, last = self._first, self._last
        seconds = max(last[0] - first[0], 1e-6)
        processes = []
        for watched in self._watched:
            pid = watched.process.pid
            if pid in first[2] and pid in last[2]:
                processes.append(ProcessCpu(
                    host=watched.host.name, name=watched.process.name,
                    cpu_pct=round(100.0 * (last[2][pid] - first[2][pid])
                                  / (seconds * CLOCK_TICKS), 2),
                    max_rss_bytes=self._max_rss.get(pid)))
        return CpuUsage(
            interval_s=self._interval,
            duration_s=round(seconds, 3),
            cores=os.cpu_count() or 1,
            hosts={host: cpu_share(first[1][host], snap)
                   for host, snap in last[1].items() if host in first[1]},
            processes=processes,
            samples=self._samples,
        )
