"""The Workload interface: parameters, metrics, the run, and the outcome handed to the runner.

A workload module owns everything about one test: its parameter model (defaults, units,
bounds; the CLI and plan file are derived from it), its metrics model and parser, how it
runs, and how its metrics map to the analysis's metric names.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from harness.hosts.base import Host
from harness.records.models import Contention, CpuUsage, QuietPath, Status
from harness.testbed.base import Testbed
from harness.topology import Link

#: Key in a parameter field's ``json_schema_extra`` naming the shared CLI flag / plan key
#: the field answers to (``duration`` sets ``duration_s`` of every iperf3 workload).
SHARED = "shared"


class WorkloadParams(BaseModel):
    """Base of every workload's parameter model: strict, immutable, finite numbers."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False,
                              validate_default=True)


class WorkloadMetrics(BaseModel):
    """Base of every workload's metrics model (stored dumped in ``ResultRecord.metrics``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def parameter(default: Any, description: str, *, shared: str | None = None,
              **bounds: Any) -> Any:
    """A parameter field: default, description (with its unit) and bounds; ``shared`` names
    the flag/plan key (``--duration``, ``duration = 30``) that sets it in every workload."""
    extra: dict[str, Any] = {SHARED: shared} if shared else {}
    return Field(default, description=description, json_schema_extra=extra or None, **bounds)


P = TypeVar("P", bound=WorkloadParams)
M = TypeVar("M", bound=WorkloadMetrics)


class Lifecycle(Protocol):
    """Stop, start and reboot on the session's testbed and VPN, for a workload that
    measures how the overlay recovers (reconnect); the runner binds it to the session."""

    @property
    def vpn_has_service(self) -> bool:
        """False when the VPN has no daemon to restart (internal)."""

    def stop_vpn(self, host: str) -> None:
        """Stop the VPN on ``host`` (its files stay)."""

    def start_vpn(self, host: str, *, booted: bool = False) -> None:
        """Start the VPN on ``host`` again; ``booted``: after :meth:`reboot`."""

    def reboot(self, host: str, timeout_s: float) -> None:
        """Stop the VPN on ``host``, then reboot it (the testbed's verb); the VPN stays
        down until :meth:`start_vpn`."""


@dataclass
class WorkloadContext(Generic[P]):
    testbed: Testbed
    #: Host name -> address to target (overlay address of the VPN under test).
    addresses: dict[str, str]
    #: This workload's own parameters.
    params: P
    #: Seconds one attempt may take before its client is killed.
    timeout_s: float = 90.0
    #: Restart and reboot, for the workloads that need them (None: not offered).
    lifecycle: Lifecycle | None = None


@dataclass
class Measurement:
    """One test on one link, as measured; the runner turns it into a ResultRecord."""

    link: Link
    status: Status
    started_at: datetime
    ended_at: datetime
    metrics: WorkloadMetrics | None = None
    error: str | None = None
    command: list[str] = field(default_factory=list)
    raw_output: str = ""
    raw_extension: str = "txt"
    log_tails: dict[str, str] = field(default_factory=dict)
    group: str | None = None
    concurrent_links: int = 1
    cpu: CpuUsage | None = None
    #: Set by the runner: host contention around the test, the quiet-path wait before it.
    contention: Contention | None = None
    quiet_path: QuietPath | None = None
    attempts: int = 1
    attempt_errors: list[str] = field(default_factory=list)


def now() -> datetime:
    return datetime.now(UTC)


class Workload(ABC, Generic[P, M]):
    """One test kind. Instances are stateless; the registry holds one of each."""

    #: Test name in records, on the command line and in plan files.
    name: ClassVar[str]
    #: True when the links are measured at the same time (retried and resumed as a group).
    concurrent: ClassVar[bool] = False
    #: Tools the workload runs on the hosts.
    binaries: ClassVar[tuple[str, ...]] = ()
    #: Lower bound of one attempt's timeout (some tools stall in setup under loss).
    minimum_timeout_s: ClassVar[float] = 0.0
    #: Retries of a failed attempt unless the plan file says otherwise.
    default_retries: ClassVar[int] = 1
    #: Analysis metrics of ``analysis_values`` that describe the whole mesh rather than the
    #: record's link (reconnect's bring-up: every pair answers); booked under link "all".
    mesh_metrics: ClassVar[frozenset[str]] = frozenset()

    params_model: type[P]
    metrics_model: type[M]

    @abstractmethod
    def run(self, ctx: WorkloadContext[P], links: list[Link]) -> Iterator[Measurement]:
        """Measure ``links``; yield each measurement as soon as it is complete."""

    @abstractmethod
    def nominal_duration_s(self, params: P, links: int) -> float:
        """Expected wall time of measuring ``links`` links (without setup), for planning."""

    @abstractmethod
    def analysis_values(self, metrics: M) -> dict[str, float | None]:
        """The analysis's metric values (names as in analysis/catalogue.py) of one record."""

    @abstractmethod
    def summary(self, metrics: M) -> str:
        """One short line for the progress display."""

    def unavailable_reason(self, host: Host) -> str | None:
        """Why this workload cannot run on ``host`` (None when it can): by default a tool of
        ``binaries`` missing from its PATH. The CLI shows it; the runner fails the cells."""
        missing = [binary for binary in self.binaries if host.which(binary) is None]
        return f"{', '.join(missing)} not found on {host.name}" if missing else None

    def context(self, testbed: Testbed, addresses: dict[str, str], params: WorkloadParams,
                timeout_s: float, lifecycle: Lifecycle | None = None) -> WorkloadContext[P]:
        """A context carrying this workload's own parameters (checked, so typed)."""
        if not isinstance(params, self.params_model):
            raise TypeError(f"{self.name} needs {self.params_model.__name__}, "
                            f"got {type(params).__name__}")
        return WorkloadContext(testbed, addresses, params, timeout_s, lifecycle)
