"""`vpn-bench impair-check`: build a 2-host testbed, apply each profile, measure the link."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from harness import limits
from harness.errors import UsageError
from harness.impairment.check import (
    DEFAULT_CONFIDENCE,
    MAX_PROBES,
    MAX_RATE_PPS,
    measure_transit,
    verify_link,
)
from harness.impairment.profiles import resolve_profiles
from harness.impairment.selection import parse_engine_preference, select_engine
from harness.monitoring.contention import LIGHT_LOAD_THRESHOLDS, ContentionMonitor
from harness.netem.model import Profile
from harness.netem.record import ImpairmentRecord
from harness.records.models import Contention
from harness.settings.loader import load_testbed
from harness.testbed.backends import DEFAULT_BACKEND, get_backend
from harness.testbed.base import TestbedRequest


class ImpairCheckReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    engine_preference: str
    probes: int
    rate_pps: float
    transit_mean_ms: float
    records: list[ImpairmentRecord] = Field(default_factory=list)
    contention: dict[str, Contention] = Field(
        default_factory=dict, description="Profile -> host contention around its measurement "
        "(a busy host delays the probes and the engine: read its verdict with that in mind).")

    @property
    def consistent(self) -> bool:
        return all(check.verdict != "inconsistent"
                   for record in self.records for check in record.checks)


def validate_request(profiles: Iterable[str], engine: str, probes: int, rate_pps: float,
                     confidence: float,
                     custom: Mapping[str, Profile] | None = None,
                     seed: int | None = None) -> list[Profile]:
    """Every input problem as a UsageError before anything is built or applied."""
    limits.seed(seed)
    resolved = resolve_profiles(profiles, custom)
    parse_engine_preference(engine)
    if not 10 <= probes <= MAX_PROBES:
        raise UsageError(f"--probes must be from 10 to {MAX_PROBES}, got {probes}")
    if not 1 <= rate_pps <= MAX_RATE_PPS:
        raise UsageError(f"--rate must be from 1 to {MAX_RATE_PPS} probes/s, got {rate_pps:g}")
    if not 0.5 <= confidence < 1:
        raise UsageError(f"--confidence must be in [0.5, 1), got {confidence:g}")
    return resolved


#: The vm backend exists only inside the NixOS test driver, and its bench-vm script runs
#: `vpn-bench run` alone: impair-check cannot reach those VMs.
VM_REFUSED = ("impair-check --backend vm: the NixOS test-driver VMs run only `vpn-bench run` "
              "(nix run .#bench-vm); valid backends for impair-check: local, ssh")


def impair_check(profiles: Iterable[str], engine: str = "auto", probes: int = 2000,
                 rate_pps: float = 1000, seed: int | None = None,
                 confidence: float = DEFAULT_CONFIDENCE,
                 custom: Mapping[str, Profile] | None = None,
                 backend: str = DEFAULT_BACKEND,
                 inventory: Path | None = None) -> ImpairCheckReport:
    """Measure each profile on a fresh 2-host testbed (first host -> second). The plain
    path is measured first: its latency is what the model's delay adds to."""
    resolved = validate_request(profiles, engine, probes, rate_pps, confidence, custom, seed)
    if backend == "vm":
        raise UsageError(VM_REFUSED)
    chosen = get_backend(backend, inventory)
    chosen.check_support()
    settings = load_testbed()
    with chosen.open(TestbedRequest(hosts=settings.hosts[:2], lan=settings.lan)) as testbed:
        select_engine(testbed, engine)  # fails before measuring when no engine can run
        source, target = testbed.host_names
        transit = measure_transit(testbed, source, target)
        report = ImpairCheckReport(engine_preference=engine, probes=probes, rate_pps=rate_pps,
                                   transit_mean_ms=sum(transit) / len(transit))
        for profile in resolved:
            with select_engine(testbed, engine) as active:
                active.apply(testbed, profile, seed=seed)
                with ContentionMonitor(testbed.hosts, interval_s=0.5,
                                       thresholds=LIGHT_LOAD_THRESHOLDS) as monitor:
                    verify_link(testbed, active, profile, probes=probes, rate_pps=rate_pps,
                                transit_ms=transit, confidence=confidence)
                record = active.remove()
            report.contention[profile.name] = monitor.result()
            if record is not None:
                report.records.append(record)
    return report
