"""ICMP echo round trips; every RTT is kept, not only the summary."""

from __future__ import annotations

from collections.abc import Iterator

from harness.parsing.ping import PingError, parse_ping
from harness.records.models import Status, TestKind
from harness.topology import Link
from harness.workloads.base import (
    Measurement,
    Workload,
    WorkloadContext,
    WorkloadSettings,
    now,
)


def ping_command(address: str, count: int, interval_s: float) -> list[str]:
    return ["ping", "-c", str(count), "-i", f"{interval_s:g}", "-W", "1", address]


class PingWorkload(Workload):
    kind = TestKind.PING
    binaries = ("ping",)

    def run(self, ctx: WorkloadContext, links: list[Link]) -> Iterator[Measurement]:
        settings = ctx.settings
        for link in links:
            command = ping_command(ctx.addresses[link.target], settings.ping_count,
                                   settings.ping_interval_s)
            started = now()
            result = ctx.testbed.host(link.source).run(command, timeout=ctx.timeout_s)
            measurement = Measurement(link, Status.OK, started, now(), command=command,
                                      raw_output=result.stdout + result.stderr)
            try:
                measurement.metrics = parse_ping(result.stdout, settings.ping_interval_s)
                if measurement.metrics.received == 0:
                    measurement.status = Status.FAILED
                    measurement.error = "no echo replies (100% loss)"
            except PingError as error:
                measurement.status = Status.TIMEOUT if result.timed_out else Status.FAILED
                measurement.error = f"{error} {result.stderr.strip()}".strip()
            yield measurement

    def nominal_duration_s(self, settings: WorkloadSettings, links: int) -> float:
        return settings.ping_count * settings.ping_interval_s * links
