"""iperf3 machinery shared by the tcp, parallel_tcp and udp workloads: their common
parameters, and one measurement on one link (fresh server on the target, client on the
source)."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Iterator
from typing import TypeVar

from harness.parsing.iperf3 import Iperf3Error
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
from harness.workloads.iperf_server import ServerError, iperf3_server

MAX_DURATION_S = 3600


class IperfParams(WorkloadParams):
    """Parameters every iperf3 test has."""

    duration_s: int = parameter(
        30, "Seconds per iperf3 test; whole seconds, because iperf3 --time takes an integer.",
        shared="duration", ge=1, le=MAX_DURATION_S)
    port: int = parameter(5201, "TCP/UDP port of the iperf3 server on the target.",
                          ge=1024, le=65535)
    connect_timeout_ms: int = parameter(
        5000, "Milliseconds the client waits for the control connection (--connect-timeout).",
        ge=100, le=60_000)


P = TypeVar("P", bound=IperfParams)
M = TypeVar("M", bound=WorkloadMetrics)


def client_command(address: str, params: IperfParams, extra: list[str]) -> list[str]:
    return [
        "iperf3", "--client", address,
        "--port", str(params.port),
        "--time", str(params.duration_s),
        "--connect-timeout", str(params.connect_timeout_ms),
        "--json",
        *extra,
    ]


def measure(
    ctx: WorkloadContext[P],
    link: Link,
    extra: list[str],
    parse: Callable[[str], WorkloadMetrics],
    *,
    server_name: str,
) -> Measurement:
    """Run one iperf3 test; every failure becomes a failed Measurement with its reason."""
    source = ctx.testbed.host(link.source)
    target = ctx.testbed.host(link.target)
    command = client_command(ctx.addresses[link.target], ctx.params, extra)
    started = now()
    timeout = ctx.timeout_s
    try:
        with iperf3_server(target, ctx.params.port, server_name) as server:
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


class LinkByLinkIperf(Workload[P, M]):
    """An iperf3 test run on one link after the other; subclasses choose flags and parser."""

    binaries = ("iperf3",)

    @abstractmethod
    def iperf_args(self, params: P) -> list[str]:
        """Client flags of this test beyond the common ones."""

    @abstractmethod
    def parse(self, text: str) -> M:
        """Metrics from iperf3's JSON output."""

    def run(self, ctx: WorkloadContext[P], links: list[Link]) -> Iterator[Measurement]:
        for link in links:
            yield measure(ctx, link, self.iperf_args(ctx.params), self.parse,
                          server_name=f"iperf3-{self.name}-{link.target}")

    def nominal_duration_s(self, params: P, links: int) -> float:
        return float(params.duration_s * links)
