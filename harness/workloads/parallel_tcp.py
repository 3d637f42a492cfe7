"""Every ring link at once: one bidirectional TCP stream per link, started together.

Parameters: :class:`ParallelTcpParams`. Metrics: the TCP test's :class:`TcpMetrics` per link.
Analysis metrics: ``parallel.*``, summed over a group (one sample per group).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

from harness.topology import Link
from harness.workloads import iperf
from harness.workloads.base import Measurement, Workload, WorkloadContext
from harness.workloads.iperf import IperfParams
from harness.workloads.tcp import TCP_ARGS, TcpMetrics, mbps, optional, parse_tcp, tcp_summary


class ParallelTcpParams(IperfParams):
    """Parameters of the all-links-at-once TCP test."""


class ParallelTcpWorkload(Workload[ParallelTcpParams, TcpMetrics]):
    name = "parallel_tcp"
    concurrent = True
    binaries = ("iperf3",)
    #: A group is not repeated: a retry would measure a different moment of every link.
    default_retries = 0
    params_model = ParallelTcpParams
    metrics_model = TcpMetrics

    def run(self, ctx: WorkloadContext[ParallelTcpParams],
            links: list[Link]) -> Iterator[Measurement]:
        group = f"parallel-{uuid.uuid4().hex[:8]}"
        with ThreadPoolExecutor(max_workers=len(links)) as pool:
            futures = [
                pool.submit(iperf.measure, ctx, link, list(TCP_ARGS), parse_tcp,
                            server_name=f"iperf3-parallel-{link.target}")
                for link in links
            ]
            measurements = [future.result() for future in futures]
        for measurement in measurements:
            measurement.group = group
            measurement.concurrent_links = len(links)
            yield measurement

    def nominal_duration_s(self, params: ParallelTcpParams, links: int) -> float:
        return float(params.duration_s)

    def analysis_values(self, metrics: TcpMetrics) -> dict[str, float | None]:
        return {
            "parallel.throughput_mbps": mbps(metrics.sender_bps),
            "parallel.retransmits": optional(metrics.retransmits),
        }

    def summary(self, metrics: TcpMetrics) -> str:
        return tcp_summary(metrics)
