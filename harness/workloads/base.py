"""The Workload interface and the outcome it hands to the runner."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import ClassVar

from harness.records.models import CpuUsage, Metrics, Status, TestKind
from harness.testbed.base import Testbed
from harness.topology import Link


@dataclass(frozen=True)
class WorkloadSettings:
    """Parameters of the measurements (defaults follow the reference methodology)."""

    duration_s: float = 30.0
    ping_count: int = 100
    ping_interval_s: float = 0.2
    iperf_port: int = 5201
    connect_timeout_ms: int = 5000


@dataclass
class WorkloadContext:
    testbed: Testbed
    #: Host name -> address to target (overlay address of the VPN under test).
    addresses: dict[str, str]
    settings: WorkloadSettings
    #: Seconds one attempt may take before its client is killed.
    timeout_s: float = 90.0


@dataclass
class Measurement:
    """One test on one link, as measured; the runner turns it into a ResultRecord."""

    link: Link
    status: Status
    started_at: datetime
    ended_at: datetime
    metrics: Metrics | None = None
    error: str | None = None
    command: list[str] = field(default_factory=list)
    raw_output: str = ""
    raw_extension: str = "txt"
    log_tails: dict[str, str] = field(default_factory=dict)
    group: str | None = None
    concurrent_links: int = 1
    cpu: CpuUsage | None = None
    attempts: int = 1
    attempt_errors: list[str] = field(default_factory=list)


def now() -> datetime:
    return datetime.now(UTC)


class Workload(ABC):
    kind: ClassVar[TestKind]
    #: True when the links are measured at the same time (retried and resumed as a group).
    concurrent: ClassVar[bool] = False
    #: Tools the workload runs on the hosts.
    binaries: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def run(self, ctx: WorkloadContext, links: list[Link]) -> Iterator[Measurement]:
        """Measure ``links``; yield each measurement as soon as it is complete."""

    def nominal_duration_s(self, settings: WorkloadSettings, links: int) -> float:
        """Expected wall time for planning (without setup)."""
        return settings.duration_s * links
