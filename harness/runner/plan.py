"""The run plan: which VPN is brought up when, under which profile, with which tests.

Pure data and functions, so ``--dry-run`` and the tests can inspect a plan without root.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import PlainSerializer, PlainValidator

from harness.impairment.profiles import BUILTIN_PROFILES
from harness.netem.model import Profile
from harness.topology import Link, ring_links
from harness.vpns.registry import REFERENCE
from harness.workloads.base import WorkloadParams
from harness.workloads.registry import WORKLOADS, UnknownTest, workload

REFERENCE_VPN = REFERENCE.name
#: Rough cost of building a testbed, starting a VPN and tearing it down (for estimates).
SESSION_OVERHEAD_S = 8.0
#: Seconds a test may run beyond its nominal duration before it is killed.
TIMEOUT_MARGIN_S = 60.0


def _validate_parameters(value: object) -> dict[str, WorkloadParams]:
    """Test name -> that workload's parameter model (from models or their JSON dumps)."""
    if not isinstance(value, dict):
        raise ValueError("expected a table of test name -> parameters")
    result: dict[str, WorkloadParams] = {}
    for test, params in value.items():
        try:
            model: type[WorkloadParams] = workload(str(test)).params_model
        except UnknownTest as error:
            raise ValueError(str(error)) from None
        result[str(test)] = (params if isinstance(params, model)
                             else model.model_validate(params))
    return result


def _dump_parameters(value: dict[str, WorkloadParams]) -> dict[str, dict[str, Any]]:
    return {test: params.model_dump(mode="json") for test, params in value.items()}


#: Per-test parameter models; serialized as their dumps and read back through the registry,
#: so a plan in a run manifest round-trips (``--resume``).
Parameters = Annotated[dict[str, WorkloadParams], PlainValidator(_validate_parameters),
                       PlainSerializer(_dump_parameters)]


@dataclass(frozen=True)
class TestPolicy:
    """How long one attempt of a test may take and how often a failure is retried."""

    timeout_s: float | None = None
    retries: int | None = None
    backoff_s: float = 2.0
    #: Measure on the first ``links`` ring links only (None: every link). A short run's
    #: knob for a test whose cells are long (a reconnect cell waits out a VPN's timers).
    links: int | None = None


@dataclass(frozen=True)
class Session:
    """One bring-up of one VPN under one profile in one repetition, and what it measures."""

    repetition: int
    vpn: str
    profile: str
    tests: tuple[str, ...]
    #: Test -> the parameters it runs with in this session (every test in ``tests``).
    parameters: Parameters
    #: Test -> how many of the ring's links it is measured on (absent: every link).
    link_limits: dict[str, int] = field(default_factory=dict)

    @property
    def key(self) -> tuple[int, str, str]:
        return (self.repetition, self.vpn, self.profile)

    def links(self, test: str, hosts: list[str]) -> list[Link]:
        """The links ``test`` is measured on: the ring's, or its first ``link_limits[test]``."""
        links = ring_links(hosts)
        limit = self.link_limits.get(test)
        return links if limit is None else links[:limit]


@dataclass(frozen=True)
class RunPlan:
    hosts: list[str]
    vpns: list[str]
    profiles: list[str]
    tests: list[str]
    #: Test -> its workload's parameters (a test missing here runs with its defaults).
    parameters: Parameters = field(default_factory=dict)
    repetitions: int = 1
    #: Per-VPN test and profile lists (default: the global ones).
    vpn_tests: dict[str, list[str]] = field(default_factory=dict)
    vpn_profiles: dict[str, list[str]] = field(default_factory=dict)
    #: Per-profile overrides: tests to keep, and complete parameters replacing the global
    #: ones for the tests they name.
    profile_tests: dict[str, list[str]] = field(default_factory=dict)
    profile_parameters: dict[str, Parameters] = field(default_factory=dict)
    policies: dict[str, TestPolicy] = field(default_factory=dict)
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

    def tests_for(self, vpn: str, profile: str) -> tuple[str, ...]:
        """A test runs when both the VPN's and the profile's lists include it."""
        vpn_tests = self.vpn_tests.get(vpn, self.tests)
        profile_tests = self.profile_tests.get(profile, self.tests)
        return tuple(test for test in vpn_tests if test in profile_tests)

    def params_for(self, test: str, profile: str | None = None) -> WorkloadParams:
        """The parameters ``test`` runs with under ``profile`` (None: outside any profile
        override)."""
        profile_params = self.profile_parameters.get(profile, {}) if profile else {}
        if test in profile_params:
            return profile_params[test]
        if test in self.parameters:
            return self.parameters[test]
        params: WorkloadParams = workload(test).params_model()
        return params

    def sessions(self) -> list[Session]:
        return [
            Session(repetition, vpn, profile, tests,
                    {test: self.params_for(test, profile) for test in tests},
                    {test: policy.links for test in tests
                     if (policy := self.policies.get(test)) and policy.links is not None})
            for repetition in range(self.repetitions)
            for vpn in self.vpn_order(repetition)
            for profile in self.vpn_profiles.get(vpn, self.profiles)
            if (tests := self.tests_for(vpn, profile))
        ]

    def limited_links(self) -> dict[str, list[Link]]:
        """The tests of this plan kept to fewer links than the ring has, with their links."""
        ring = len(ring_links(self.hosts))
        used = dict.fromkeys(test for session in self.sessions() for test in session.tests)
        return {test: ring_links(self.hosts)[:policy.links] for test in used
                if (policy := self.policies.get(test)) and policy.links is not None
                and policy.links < ring}

    @staticmethod
    def nominal_s(test: str, params: WorkloadParams) -> float:
        """Nominal duration of one attempt of ``test`` on one link (or one group)."""
        return WORKLOADS[test].nominal_duration_s(params, 1)

    def timeout_s(self, test: str, params: WorkloadParams) -> float:
        policy = self.policies.get(test, TestPolicy())
        if policy.timeout_s is not None:
            return policy.timeout_s
        return max(WORKLOADS[test].minimum_timeout_s,
                   self.nominal_s(test, params) + TIMEOUT_MARGIN_S)

    def retries(self, test: str) -> int:
        policy = self.policies.get(test, TestPolicy())
        return policy.retries if policy.retries is not None else WORKLOADS[test].default_retries

    def backoff_s(self, test: str) -> float:
        return self.policies.get(test, TestPolicy()).backoff_s

    def estimated_session_s(self, session: Session) -> float:
        tests = sum(WORKLOADS[test].nominal_duration_s(session.parameters[test],
                                                      len(session.links(test, self.hosts)))
                    for test in session.tests)
        return tests + SESSION_OVERHEAD_S

    def estimated_total_s(self) -> float:
        return sum(self.estimated_session_s(session) for session in self.sessions())
