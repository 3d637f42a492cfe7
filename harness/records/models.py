"""Result records: one JSON document per (run, VPN, profile, test, link, repetition).

The models are the contract between the harness and the analysis. Every change that
alters the meaning or shape of a field bumps ``SCHEMA_VERSION``. What a test measures is its
workload's business (harness/workloads): a record holds the test's name, its metrics and
its parameters as that workload's models dumped; ``harness.workloads.registry`` reads them
back as typed models.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from harness.netem.record import ImpairmentRecord

#: 2: ``test`` is a workload name, ``metrics`` the workload's model dumped (no ``kind``),
#: ``parameters`` what the test was measured with. The analysis still reads 1.
#: Later additions within 2 are optional fields that default to "not measured" (None), so a
#: record written before them still loads (analysis and ``--resume`` alike):
#: ``ResultRecord.contention``, ``ResultRecord.quiet_path`` and
#: ``SessionRecord.impairment_contention``.
SCHEMA_VERSION: Literal[2] = 2


class Status(StrEnum):
    OK = "ok"
    FAILED = "failed"
    TIMEOUT = "timeout"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CpuTimes(Strict):
    """Share of all CPUs' time per state (sums to ~100 with idle)."""

    user_pct: float
    system_pct: float
    softirq_pct: float
    irq_pct: float
    iowait_pct: float
    idle_pct: float


class ProcessCpu(Strict):
    """Mean CPU of one daemon over the test, in percent of one core (threads included), and
    its peak resident memory at the sampling instants."""

    host: str
    name: str
    cpu_pct: float
    max_rss_bytes: int | None = None


class CpuSample(Strict):
    t_s: float
    busy_pct: dict[str, float] = Field(description="Host -> non-idle share of all CPUs.")
    process_pct: dict[str, float] = Field(description="host/process -> percent of one core.")


class CpuUsage(Strict):
    """CPU while a test ran. On the local testbed all hosts share one machine's CPUs."""

    interval_s: float
    duration_s: float
    cores: int
    hosts: dict[str, CpuTimes]
    processes: list[ProcessCpu] = Field(default_factory=list)
    samples: list[CpuSample] = Field(default_factory=list)


ContentionPhase = Literal["before", "during", "after"]


class ContentionSample(Strict):
    """One look at a host's scheduler: before, during or after the measurement."""

    phase: ContentionPhase
    t_s: float = Field(description="Seconds since the first (before) sample.")
    run_queue: int = Field(description="Runnable tasks besides the sampler itself "
                           "(/proc/stat procs_running - 1; the lower of the window's reads).")
    sched_p50_ms: float | None = Field(
        default=None, description="Median oversleep of the scheduling probe's 1 ms sleeps.")
    sched_p95_ms: float | None = None
    sched_max_ms: float | None = None


class HostContention(Strict):
    """Raw contention figures of one host over one measurement."""

    cores: int
    steal_pct: float | None = Field(
        default=None, description="CPU steal, percent of all CPUs' time, first to last sample.")
    samples: list[ContentionSample] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list,
                             description="Figures that could not be taken, and why.")


class Contention(Strict):
    """How busy the hosts were around a measurement, and the verdict of the threshold rule
    (harness.monitoring.contention.judge): a busy cell's numbers may be the host's, not the
    VPN's."""

    hosts: dict[str, HostContention] = Field(default_factory=dict)
    busy: bool
    reason: str
    rule: str = Field(description="The thresholds the verdict used.")


class QuietPath(Strict):
    """The wait before a test until a short probe over the tunnel is back at its idle RTT
    (harness.runner.quiet), so the previous test's traffic does not leak into this one."""

    idle_rtt_ms: float | None = Field(
        description="Median RTT over the tunnel measured once after bring-up (None: unknown).")
    last_rtt_ms: float | None = Field(description="Median RTT of the last probe.")
    probes: int
    wait_s: float
    converged: bool
    silent: bool = Field(
        default=False, description="The wait stopped early: several probes in a row got no "
        "echo at all (the tunnel was down, not slow); a test failing after it is not retried.")


#: A workload's metrics or parameters model, dumped (the workload registry reads it back).
Dumped = dict[str, JsonValue]
#: Test names as the workload registry spells them (validated against it at the edges).
TestName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]


class ResultRecord(Strict):
    """The outcome of one test on one directed link (source runs the client)."""

    schema_version: Literal[2] = SCHEMA_VERSION
    run_id: str
    vpn: str
    profile: str
    test: TestName
    source: str
    target: str
    repetition: int = 0
    started_at: datetime
    ended_at: datetime
    status: Status
    error: str | None = None
    attempts: int = 1
    attempt_errors: list[str] = Field(
        default_factory=list, description="Errors of earlier attempts that were retried."
    )
    metrics: Dumped | None = Field(
        default=None, description="The workload's metrics model, dumped.")
    parameters: Dumped | None = Field(
        description="The workload's parameters model the test ran with, dumped (required; "
                    "null only in records upgraded from schema 1).")
    cpu: CpuUsage | None = None
    command: list[str] = Field(default_factory=list)
    raw_output: str | None = Field(
        default=None, description="Path of the raw tool output, relative to the record file."
    )
    log_tails: dict[str, str] = Field(
        default_factory=dict, description="Last lines of daemon/server logs, on failure."
    )
    group: str | None = Field(
        default=None, description="Shared by the records of links measured concurrently."
    )
    concurrent_links: int = 1
    tool_versions: dict[str, str] = Field(default_factory=dict)
    vpn_version: str | None = None
    contention: Contention | None = Field(
        default=None, description="Host contention around the test (None: not measured).")
    quiet_path: QuietPath | None = Field(
        default=None, description="The quiet-path wait before the test (None: not made).")

    @property
    def link(self) -> str:
        return f"{self.source}->{self.target}"


class SessionRecord(Strict):
    """One VPN brought up on the testbed: overlay addresses and how long readiness took."""

    schema_version: Literal[2] = SCHEMA_VERSION
    run_id: str
    vpn: str
    profile: str
    repetition: int = 0
    started_at: datetime
    ended_at: datetime
    status: Status
    error: str | None = None
    overlay_addresses: dict[str, str] = Field(default_factory=dict)
    ready_after_s: float | None = None
    log_tails: dict[str, str] = Field(default_factory=dict)
    vpn_version: str | None = None
    details: dict[str, str] = Field(default_factory=dict)
    interfaces: dict[str, dict[str, int]] = Field(
        default_factory=dict, description="Host -> interface -> MTU once the VPN was up."
    )
    impairment: ImpairmentRecord | None = Field(
        default=None, description="What was applied to the LAN egresses and what was measured."
    )
    impairment_contention: Contention | None = Field(
        default=None, description="Host contention while the impairment was verified.")
    tcp_tuning: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="Host -> TCP sysctl -> value set for this session."
    )
    testbed: dict[str, object] = Field(
        default_factory=dict,
        description="LAN interfaces when the VPN was up: address, MTU, offloads, qdisc "
        "tree with counters, TCP sysctls per host.",
    )


class PhaseTiming(Strict):
    """Wall time attributed to one phase of the run."""

    phase: str
    vpn: str | None = None
    profile: str | None = None
    started_at: datetime
    duration_s: float


class RunManifest(BaseModel):
    """Index of a run directory: rewritten at the start and end of each invocation; what was
    added in between is in ``index.jsonl`` (see harness.records.store)."""

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[2] = SCHEMA_VERSION
    run_id: str
    started_at: datetime
    ended_at: datetime | None = None
    command_line: list[str] = Field(default_factory=list)
    backend: str = "local"
    hosts: list[str] = Field(default_factory=list)
    vpns: list[str] = Field(default_factory=list)
    profiles: list[str] = Field(default_factory=list)
    tests: list[str] = Field(default_factory=list)
    records: list[str] = Field(default_factory=list)
    sessions: list[str] = Field(default_factory=list)
    phases: list[PhaseTiming] = Field(default_factory=list)
    metadata: dict[str, object] = Field(default_factory=dict)
    plan: dict[str, object] = Field(
        default_factory=dict, description="The resolved plan, so --resume can finish it."
    )
    write_failures: list[str] = Field(
        default_factory=list, description="Records that could not be written (re-run on resume)."
    )
    resumed_at: list[datetime] = Field(default_factory=list)
    complete: bool = False
    index_seq: int = Field(
        default=0, description="Last index.jsonl entry included in the lists above.")
