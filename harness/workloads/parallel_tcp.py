"""Every ring link at once: one bidirectional TCP stream per link, started together."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

from harness.parsing.iperf3 import parse_tcp
from harness.records.models import TestKind
from harness.topology import Link
from harness.workloads import iperf
from harness.workloads.base import Measurement, Workload, WorkloadContext, WorkloadSettings
from harness.workloads.tcp import TCP_ARGS


class ParallelTcpWorkload(Workload):
    kind = TestKind.PARALLEL_TCP
    concurrent = True
    binaries = ("iperf3",)

    def run(self, ctx: WorkloadContext, links: list[Link]) -> Iterator[Measurement]:
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

    def nominal_duration_s(self, settings: WorkloadSettings, links: int) -> float:
        return settings.duration_s
