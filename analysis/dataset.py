"""The common intermediate form every importer produces.

Importers only *extract* numbers; every definition that combines them (means, sums,
ratios, rates) lives in :mod:`analysis.metrics`, so legacy data and our records are
judged by one rulebook.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

OBSERVATION_SCHEMA: dict[str, pl.DataType] = {
    "vpn": pl.String(),
    "profile": pl.String(),
    "test": pl.String(),
    "metric": pl.String(),
    "link": pl.String(),
    "sample": pl.String(),
    "value": pl.Float64(),
}
"""One measured number: a metric on one link (or node, or ``all``) in one sample.

``sample`` groups numbers measured together: a repetition for ordinary tests, the
concurrent group for parallel TCP (whose links are summed within a sample).
"""

OUTCOME_SCHEMA: dict[str, pl.DataType] = {
    "vpn": pl.String(),
    "profile": pl.String(),
    "test": pl.String(),
    "link": pl.String(),
    "sample": pl.String(),
    "ok": pl.Boolean(),
    "status": pl.String(),
    "reason": pl.String(),
    "source": pl.String(),
    "busy": pl.Boolean(),
}
"""One attempt of a test on one link: the unit of the success rate. ``busy``: measured on a
host the record flags as busy (its ``contention``); null when not measured (legacy data,
records from before contention was sampled, VPN bring-ups), never taken as "not busy"."""

PHASE_SCHEMA: dict[str, pl.DataType] = {
    "vpn": pl.String(),
    "profile": pl.String(),
    "phase": pl.String(),
    "duration_s": pl.Float64(),
}
"""Wall time booked to a phase; ``vpn``/``profile`` are null when not attributable."""


@dataclass(frozen=True)
class MetadataTable:
    """A titled table of run facts for the report (hosts, impairment, versions, ...)."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str = ""


@dataclass(frozen=True)
class Dataset:
    """Everything an importer extracted from one results directory."""

    source_format: str
    source_path: str
    hosts: tuple[str, ...]
    observations: pl.DataFrame
    outcomes: pl.DataFrame
    phases: pl.DataFrame
    metadata: tuple[MetadataTable, ...] = ()
    notes: tuple[str, ...] = ()


#: Characters of a failure reason the tables and the report keep: a record's error can be
#: any size (a tool's whole output), and the report embeds each reason, so it is bounded here.
MAX_REASON_CHARS = 2000


def bounded_reason(reason: str | None) -> str | None:
    """``reason`` cut to :data:`MAX_REASON_CHARS`, saying how long it was."""
    if reason is None or len(reason) <= MAX_REASON_CHARS:
        return reason
    return f"{reason[:MAX_REASON_CHARS]}... (cut; {len(reason)} characters in the record)"


@dataclass
class DatasetBuilder:
    """Collects rows as plain tuples and turns them into typed frames once at the end."""

    observations: list[tuple[str, str, str, str, str, str, float]] = field(default_factory=list)
    outcomes: list[tuple[str, str, str, str, str, bool, str, str | None, str,
                         bool | None]] = field(
        default_factory=list
    )
    phases: list[tuple[str | None, str | None, str, float]] = field(default_factory=list)
    metadata: list[MetadataTable] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def observe(
        self,
        where: tuple[str, str, str, str, str],
        metric: str,
        value: float | int | None,
    ) -> None:
        """Record ``metric`` for ``where`` = (vpn, profile, test, link, sample); skips None."""
        if value is None:
            return
        vpn, profile, test, link, sample = where
        self.observations.append((vpn, profile, test, metric, link, sample, float(value)))

    def outcome(
        self,
        where: tuple[str, str, str, str, str],
        status: str,
        reason: str | None,
        source: str,
        busy: bool | None = None,
    ) -> None:
        vpn, profile, test, link, sample = where
        ok = status == "ok"
        self.outcomes.append((vpn, profile, test, link, sample, ok, status,
                              bounded_reason(reason), source, busy))

    def phase(self, vpn: str | None, profile: str | None, phase: str, seconds: float) -> None:
        self.phases.append((vpn, profile, phase, float(seconds)))

    def build(self, source_format: str, source_path: str, hosts: tuple[str, ...]) -> Dataset:
        return Dataset(
            source_format=source_format,
            source_path=source_path,
            hosts=hosts,
            observations=pl.DataFrame(
                self.observations, schema=OBSERVATION_SCHEMA, orient="row"
            ),
            outcomes=pl.DataFrame(self.outcomes, schema=OUTCOME_SCHEMA, orient="row"),
            phases=pl.DataFrame(self.phases, schema=PHASE_SCHEMA, orient="row"),
            metadata=tuple(self.metadata),
            notes=tuple(self.notes),
        )
