"""The workloads by test name, in the order a run executes them."""

from __future__ import annotations

from harness.records.models import TestKind
from harness.workloads.base import Workload
from harness.workloads.parallel_tcp import ParallelTcpWorkload
from harness.workloads.ping import PingWorkload
from harness.workloads.tcp import TcpWorkload
from harness.workloads.udp import UdpWorkload

WORKLOADS: dict[TestKind, type[Workload]] = {
    TestKind.TCP: TcpWorkload,
    TestKind.PARALLEL_TCP: ParallelTcpWorkload,
    TestKind.UDP: UdpWorkload,
    TestKind.PING: PingWorkload,
}

DEFAULT_TESTS: tuple[TestKind, ...] = (
    TestKind.PARALLEL_TCP,
    TestKind.TCP,
    TestKind.UDP,
    TestKind.PING,
)
