"""ICMP echo round trips with iputils ping; every RTT is kept, not only the summary.

Parameters: :class:`PingParams`. Metrics: :class:`PingMetrics`, read by :func:`parse_ping`.
Analysis metrics: ``ping.*``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from pydantic import Field

from harness.records.models import Status
from harness.topology import Link
from harness.workloads.base import (
    Measurement,
    Workload,
    WorkloadContext,
    WorkloadMetrics,
    WorkloadParams,
    now,
    parameter,
)


class PingParams(WorkloadParams):
    """Parameters of the ping test."""

    count: int = parameter(100, "Echo requests per ping test (ping -c).",
                           shared="ping_count", ge=1, le=100_000)
    interval_s: float = parameter(
        0.2, "Seconds between echo requests (ping -i; iputils refuses less than 0.002).",
        shared="ping_interval", ge=0.002, le=60)


class PingMetrics(WorkloadMetrics):
    """iputils ping summary plus every reply's RTT (``None`` for a lost sequence number)."""

    transmitted: int
    received: int
    loss_pct: float
    rtt_min_ms: float | None = None
    rtt_avg_ms: float | None = None
    rtt_max_ms: float | None = None
    rtt_mdev_ms: float | None = None
    interval_s: float
    samples_ms: list[float | None] = Field(default_factory=list)


_REPLY = re.compile(r"icmp_seq=(\d+)\b.*?\btime=([\d.]+) ms")
_SUMMARY = re.compile(
    r"(\d+) packets transmitted, (\d+) (?:packets )?received"
    r"(?:, \+\d+ duplicates)?(?:, \+\d+ errors)?, ([\d.]+)% packet loss"
)
_RTT = re.compile(r"rtt min/avg/max/mdev = ([\d.]+)/([\d.]+)/([\d.]+)/([\d.]+) ms")


class PingError(ValueError):
    """ping produced no statistics (e.g. the network is unreachable)."""


def parse_ping(text: str, interval_s: float) -> PingMetrics:
    """Summary plus ``samples_ms[i]`` = RTT of sequence number i+1 (None when lost)."""
    summary = _SUMMARY.search(text)
    if summary is None:
        detail = text.strip().splitlines()[-1] if text.strip() else "<no output>"
        raise PingError(f"ping printed no statistics: {detail}")
    transmitted, received = int(summary.group(1)), int(summary.group(2))
    replies: dict[int, float] = {}
    for match in _REPLY.finditer(text):
        replies.setdefault(int(match.group(1)), float(match.group(2)))
    samples: list[float | None] = [replies.get(seq) for seq in range(1, transmitted + 1)]
    rtt = _RTT.search(text)
    return PingMetrics(
        transmitted=transmitted,
        received=received,
        loss_pct=float(summary.group(3)),
        rtt_min_ms=float(rtt.group(1)) if rtt else None,
        rtt_avg_ms=float(rtt.group(2)) if rtt else None,
        rtt_max_ms=float(rtt.group(3)) if rtt else None,
        rtt_mdev_ms=float(rtt.group(4)) if rtt else None,
        interval_s=interval_s,
        samples_ms=samples,
    )


def ping_command(address: str, params: PingParams) -> list[str]:
    return ["ping", "-c", str(params.count), "-i", f"{params.interval_s:g}", "-W", "1", address]


class PingWorkload(Workload[PingParams, PingMetrics]):
    name = "ping"
    binaries = ("ping",)
    params_model = PingParams
    metrics_model = PingMetrics

    def run(self, ctx: WorkloadContext[PingParams], links: list[Link]) -> Iterator[Measurement]:
        params = ctx.params
        for link in links:
            command = ping_command(ctx.addresses[link.target], params)
            started = now()
            result = ctx.testbed.host(link.source).run(command, timeout=ctx.timeout_s)
            measurement = Measurement(link, Status.OK, started, now(), command=command,
                                      raw_output=result.stdout + result.stderr)
            try:
                metrics = parse_ping(result.stdout, params.interval_s)
                measurement.metrics = metrics
                if metrics.received == 0:
                    measurement.status = Status.FAILED
                    measurement.error = "no echo replies (100% loss)"
            except PingError as error:
                measurement.status = Status.TIMEOUT if result.timed_out else Status.FAILED
                measurement.error = f"{error} {result.stderr.strip()}".strip()
            yield measurement

    def nominal_duration_s(self, params: PingParams, links: int) -> float:
        return params.count * params.interval_s * links

    def analysis_values(self, metrics: PingMetrics) -> dict[str, float | None]:
        return {
            "ping.rtt_avg_ms": metrics.rtt_avg_ms,
            "ping.rtt_min_ms": metrics.rtt_min_ms,
            "ping.rtt_max_ms": metrics.rtt_max_ms,
            "ping.jitter_ms": metrics.rtt_mdev_ms,
            "ping.loss_pct": metrics.loss_pct,
        }

    def summary(self, metrics: PingMetrics) -> str:
        return f"rtt avg {metrics.rtt_avg_ms} ms, {metrics.loss_pct:g}% lost"
