"""The run plan: which VPN is brought up when, under which profile, with which tests.

Pure data and functions, so ``--dry-run`` and the tests can inspect a plan without root.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.records.models import TestKind
from harness.topology import ring_links
from harness.workloads.base import WorkloadSettings
from harness.workloads.registry import WORKLOADS

REFERENCE_VPN = "internal"
#: Rough cost of building a testbed, starting a VPN and tearing it down (for estimates).
SESSION_OVERHEAD_S = 8.0


@dataclass(frozen=True)
class Session:
    """One bring-up of one VPN under one profile in one repetition."""

    repetition: int
    vpn: str
    profile: str


@dataclass(frozen=True)
class RunPlan:
    hosts: list[str]
    vpns: list[str]
    profiles: list[str]
    tests: list[TestKind]
    workload: WorkloadSettings
    repetitions: int = 1

    def vpn_order(self, repetition: int) -> list[str]:
        """The reference first in every round; the others alternate direction per round."""
        others = [vpn for vpn in self.vpns if vpn != REFERENCE_VPN]
        if repetition % 2:
            others.reverse()
        return ([REFERENCE_VPN] if REFERENCE_VPN in self.vpns else []) + others

    def sessions(self) -> list[Session]:
        return [
            Session(repetition, vpn, profile)
            for repetition in range(self.repetitions)
            for vpn in self.vpn_order(repetition)
            for profile in self.profiles
        ]

    def estimated_session_s(self) -> float:
        links = len(ring_links(self.hosts))
        tests = sum(WORKLOADS[test]().nominal_duration_s(self.workload, links)
                    for test in self.tests)
        return tests + SESSION_OVERHEAD_S

    def estimated_total_s(self) -> float:
        return self.estimated_session_s() * len(self.sessions())
