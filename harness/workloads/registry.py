"""The workloads by test name, in the order a run executes them.

Adding a workload is one line here (plus its module and its tests). Records store the test
name and the workload's metrics and parameters dumped; the typed accessors below turn them
back into the workload's own models.
"""

from __future__ import annotations

from typing import Any, TypeVar

from harness.records.models import ResultRecord
from harness.workloads.base import Workload, WorkloadMetrics, WorkloadParams
from harness.workloads.nix_cache import NixCacheWorkload
from harness.workloads.parallel_tcp import ParallelTcpWorkload
from harness.workloads.ping import PingWorkload
from harness.workloads.quic import QuicWorkload
from harness.workloads.reconnect import ReconnectWorkload
from harness.workloads.rist import RistWorkload
from harness.workloads.tcp import TcpWorkload
from harness.workloads.udp import UdpWorkload

WORKLOADS: dict[str, Workload[Any, Any]] = {workload.name: workload for workload in (
    ParallelTcpWorkload(),
    TcpWorkload(),
    UdpWorkload(),
    PingWorkload(),
    QuicWorkload(),
    NixCacheWorkload(),
    RistWorkload(),
    ReconnectWorkload(),
)}

#: Every test, in run order (also the default selection).
TEST_NAMES: tuple[str, ...] = tuple(WORKLOADS)

M = TypeVar("M", bound=WorkloadMetrics)


class UnknownTest(KeyError):
    """A test name no registered workload answers to (e.g. a record of a newer harness)."""

    def __str__(self) -> str:
        return f"unknown test {self.args[0]!r}; known: {', '.join(TEST_NAMES)}"


def workload(test: str) -> Workload[Any, Any]:
    try:
        return WORKLOADS[test]
    except KeyError:
        raise UnknownTest(test) from None


def metrics_of(record: ResultRecord) -> WorkloadMetrics | None:
    """The record's metrics as its workload's model (None when it has none)."""
    if record.metrics is None:
        return None
    model: type[WorkloadMetrics] = workload(record.test).metrics_model
    return model.model_validate(record.metrics)


def metrics_as(record: ResultRecord, model: type[M]) -> M | None:
    """The record's metrics as ``model``; None when absent or the record is another test's."""
    if record.metrics is None or workload(record.test).metrics_model is not model:
        return None
    return model.model_validate(record.metrics)


def parameters_of(record: ResultRecord) -> WorkloadParams | None:
    """The parameters a record was measured with (None for schema-1 records)."""
    if record.parameters is None:
        return None
    model: type[WorkloadParams] = workload(record.test).params_model
    return model.model_validate(record.parameters)
