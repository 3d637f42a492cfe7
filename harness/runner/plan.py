"""The run plan: which VPN is brought up when, under which profile, with which tests.

Pure data and functions, so ``--dry-run`` and the tests can inspect a plan without root.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from harness.impairment.profiles import BUILTIN_PROFILES
from harness.netem.model import Profile
from harness.records.models import TestKind
from harness.topology import ring_links
from harness.vpns.registry import REFERENCE
from harness.workloads.base import WorkloadSettings
from harness.workloads.registry import WORKLOADS

REFERENCE_VPN = REFERENCE.name
#: Rough cost of building a testbed, starting a VPN and tearing it down (for estimates).
SESSION_OVERHEAD_S = 8.0
#: Seconds a test may run beyond its nominal duration before it is killed.
TIMEOUT_MARGIN_S = 60.0
#: Minimum timeouts per test (UDP at unlimited rate can stall in setup under loss).
MINIMUM_TIMEOUT_S = {TestKind.UDP: 120.0}
#: Default retries: a failed link is measured again once; a parallel group is not repeated.
DEFAULT_RETRIES = {TestKind.PARALLEL_TCP: 0}


@dataclass(frozen=True)
class TestPolicy:
    """How long one attempt of a test may take and how often a failure is retried."""

    timeout_s: float | None = None
    retries: int | None = None
    backoff_s: float = 2.0


@dataclass(frozen=True)
class Session:
    """One bring-up of one VPN under one profile in one repetition, and what it measures."""

    repetition: int
    vpn: str
    profile: str
    tests: tuple[TestKind, ...]
    workload: WorkloadSettings

    @property
    def key(self) -> tuple[int, str, str]:
        return (self.repetition, self.vpn, self.profile)


@dataclass(frozen=True)
class RunPlan:
    hosts: list[str]
    vpns: list[str]
    profiles: list[str]
    tests: list[TestKind]
    workload: WorkloadSettings
    repetitions: int = 1
    #: Per-VPN test and profile lists (default: the global ones).
    vpn_tests: dict[str, list[TestKind]] = field(default_factory=dict)
    vpn_profiles: dict[str, list[str]] = field(default_factory=dict)
    #: Per-profile overrides: tests to keep and workload parameters to change.
    profile_tests: dict[str, list[TestKind]] = field(default_factory=dict)
    profile_workload: dict[str, dict[str, float | int]] = field(default_factory=dict)
    policies: dict[TestKind, TestPolicy] = field(default_factory=dict)
    #: Definition of every profile the plan names (kept so a resumed run impairs the same).
    profile_definitions: dict[str, Profile] = field(
        default_factory=lambda: dict(BUILTIN_PROFILES))
    #: Impairment engine preference (auto, tc, userspace), TCP tuning, seed of the draws.
    engine: str = "auto"
    tcp_tuning: str = "none"
    seed: int | None = None
    #: Probes sent to verify each applied profile before the VPN comes up.
    verify_probes: int = 500

    def vpn_order(self, repetition: int) -> list[str]:
        """The reference first in every round; the others alternate direction per round."""
        others = [vpn for vpn in self.vpns if vpn != REFERENCE_VPN]
        if repetition % 2:
            others.reverse()
        return ([REFERENCE_VPN] if REFERENCE_VPN in self.vpns else []) + others

    def tests_for(self, vpn: str, profile: str) -> tuple[TestKind, ...]:
        """A test runs when both the VPN's and the profile's lists include it."""
        vpn_tests = self.vpn_tests.get(vpn, self.tests)
        profile_tests = self.profile_tests.get(profile, self.tests)
        return tuple(test for test in vpn_tests if test in profile_tests)

    def workload_for(self, profile: str) -> WorkloadSettings:
        overrides = self.profile_workload.get(profile, {})
        workload = self.workload
        if "duration_s" in overrides:
            workload = replace(workload, duration_s=float(overrides["duration_s"]))
        if "ping_count" in overrides:
            workload = replace(workload, ping_count=int(overrides["ping_count"]))
        if "ping_interval_s" in overrides:
            workload = replace(workload, ping_interval_s=float(overrides["ping_interval_s"]))
        return workload

    def sessions(self) -> list[Session]:
        return [
            Session(repetition, vpn, profile, self.tests_for(vpn, profile),
                    self.workload_for(profile))
            for repetition in range(self.repetitions)
            for vpn in self.vpn_order(repetition)
            for profile in self.vpn_profiles.get(vpn, self.profiles)
            if self.tests_for(vpn, profile)
        ]

    def nominal_s(self, test: TestKind, workload: WorkloadSettings) -> float:
        """Nominal duration of one attempt of ``test`` on one link (or one group)."""
        return WORKLOADS[test]().nominal_duration_s(workload, 1)

    def timeout_s(self, test: TestKind, workload: WorkloadSettings) -> float:
        policy = self.policies.get(test, TestPolicy())
        if policy.timeout_s is not None:
            return policy.timeout_s
        return max(MINIMUM_TIMEOUT_S.get(test, 0.0),
                   self.nominal_s(test, workload) + TIMEOUT_MARGIN_S)

    def retries(self, test: TestKind) -> int:
        policy = self.policies.get(test, TestPolicy())
        return policy.retries if policy.retries is not None else DEFAULT_RETRIES.get(test, 1)

    def backoff_s(self, test: TestKind) -> float:
        return self.policies.get(test, TestPolicy()).backoff_s

    def estimated_session_s(self, session: Session) -> float:
        links = len(ring_links(self.hosts))
        tests = sum(WORKLOADS[test]().nominal_duration_s(session.workload, links)
                    for test in session.tests)
        return tests + SESSION_OVERHEAD_S

    def estimated_total_s(self) -> float:
        return sum(self.estimated_session_s(session) for session in self.sessions())
