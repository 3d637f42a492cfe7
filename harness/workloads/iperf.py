"""One iperf3 measurement on one link: fresh server on the target, client on the source."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Iterator
from typing import ClassVar

from harness.parsing.iperf3 import Iperf3Error
from harness.records.models import Metrics, Status
from harness.topology import Link
from harness.workloads.base import Measurement, Workload, WorkloadContext, now
from harness.workloads.iperf_server import ServerError, iperf3_server


def client_command(ctx: WorkloadContext, link: Link, extra: list[str]) -> list[str]:
    settings = ctx.settings
    return [
        "iperf3", "--client", ctx.addresses[link.target],
        "--port", str(settings.iperf_port),
        "--time", f"{settings.duration_s:g}",
        "--connect-timeout", str(settings.connect_timeout_ms),
        "--json",
        *extra,
    ]


def measure(
    ctx: WorkloadContext,
    link: Link,
    extra: list[str],
    parse: Callable[[str], Metrics],
    *,
    server_name: str,
) -> Measurement:
    """Run one iperf3 test; every failure becomes a failed Measurement with its reason."""
    source = ctx.testbed.host(link.source)
    target = ctx.testbed.host(link.target)
    command = client_command(ctx, link, extra)
    started = now()
    timeout = ctx.timeout_s
    try:
        with iperf3_server(target, ctx.settings.iperf_port, server_name) as server:
            result = source.run(command, timeout=timeout)
            server_log = server.log_tail(20)
    except ServerError as error:
        return Measurement(link, Status.FAILED, started, now(), error=str(error),
                           command=command)
    measurement = Measurement(link, Status.OK, started, now(), command=command,
                              raw_output=result.stdout, raw_extension="json")
    if result.timed_out:
        measurement.status = Status.TIMEOUT
        measurement.error = f"iperf3 client did not finish within {timeout:g}s"
    else:
        try:
            measurement.metrics = parse(result.stdout)
        except Iperf3Error as error:
            measurement.status = Status.FAILED
            measurement.error = str(error) + (
                f" (stderr: {result.stderr.strip()[-500:]})" if result.stderr.strip() else ""
            )
    if measurement.status is not Status.OK:
        measurement.log_tails[f"{target.name}/iperf3-server"] = server_log
    return measurement


class LinkByLinkIperf(Workload):
    """An iperf3 test run on one link after the other; subclasses choose flags and parser."""

    binaries = ("iperf3",)
    iperf_args: ClassVar[tuple[str, ...]]

    @abstractmethod
    def parse(self, text: str) -> Metrics:
        """Metrics from iperf3's JSON output."""

    def run(self, ctx: WorkloadContext, links: list[Link]) -> Iterator[Measurement]:
        for link in links:
            yield measure(ctx, link, list(self.iperf_args), self.parse,
                          server_name=f"iperf3-{self.kind.value}-{link.target}")
