"""What the session record stores about impairment: configured, derived, applied, measured."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from harness.netem.derived import EgressFigures, RoundTripFigures
from harness.netem.model import Impairment

EngineName = Literal["none", "tc", "userspace"]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Estimate(_Record):
    """A measured figure with its confidence interval and what the model expects."""

    measured: float
    low: float
    high: float
    expected: float | None = None
    method: str

    @property
    def expected_inside(self) -> bool:
        return self.expected is not None and self.low <= self.expected <= self.high


class LinkCheck(_Record):
    """Probe traffic source -> target through one impaired egress (the source's)."""

    source: str
    target: str
    probes_sent: int
    probes_received: int
    duplicates: int
    interval_ms: float
    duration_s: float
    confidence: float
    transit_ms: float = Field(description="Path latency without impairment (subtracted).")
    delay_mean_ms: Estimate
    delay_sd_ms: float
    delay_percentiles_ms: dict[str, float]
    delay_quantile_shares: dict[str, Estimate] = Field(
        default_factory=dict,
        description="Share of probes below the model's p-quantile (+ transit): expected p.")
    below_model_minimum: int = Field(
        description="Probes faster than the model's minimum delay (+ transit): expected 0.")
    loss_percent: Estimate
    mean_loss_burst_packets: float | None
    reorder_percent: Estimate
    engine_lateness_ms: float | None = Field(
        default=None, description="Userspace engine: mean send lateness over the check.")
    verdict: Literal["consistent", "inconsistent", "unchecked"]
    problems: list[str] = Field(default_factory=list)


class ImpairmentRecord(_Record):
    """Everything about one profile's impairment, for the session record."""

    profile: str
    engine: EngineName
    egress: Impairment | None = Field(description="Per-egress settings, on every host.")
    egress_figures: EgressFigures | None = None
    round_trip: RoundTripFigures | None = None
    seed: int | None = None
    seed_note: str = ""
    queue_limit_packets: int | None = None
    commands: list[str] = Field(default_factory=list,
                                description="Exact commands run, as `host: argv`.")
    config: dict[str, Any] | None = Field(default=None, description="vpb-linkemu config.")
    qdisc_before: dict[str, str] = Field(default_factory=dict)
    qdisc_after: dict[str, str] = Field(default_factory=dict)
    qdisc_at_removal: dict[str, str] = Field(
        default_factory=dict, description="`tc -s qdisc` counters just before removal.")
    switch_stats_before: dict[str, Any] | None = None
    switch_stats_after: dict[str, Any] | None = None
    offloads_set: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="interface -> feature -> value set while applied.")
    checks: list[LinkCheck] = Field(default_factory=list)
    applied_at: datetime | None = None
    removed_at: datetime | None = None
