"""Choose the engine: kernel netem where it exists (found by trying), else userspace."""

from __future__ import annotations

from typing import Literal, get_args

from harness.errors import UsageError
from harness.impairment.engine import ImpairmentEngine
from harness.impairment.errors import EngineUnavailable
from harness.impairment.tc_engine import TcNetemEngine
from harness.impairment.userspace import UserspaceEngine
from harness.testbed.base import Testbed

EnginePreference = Literal["auto", "tc", "userspace"]
ENGINE_PREFERENCES: tuple[str, ...] = get_args(EnginePreference)


def parse_engine_preference(value: str) -> EnginePreference:
    if value not in ENGINE_PREFERENCES:
        raise UsageError(f"unknown impairment engine {value!r}; valid: "
                         f"{', '.join(ENGINE_PREFERENCES)}")
    return value  # type: ignore[return-value]


def testbed_has_netem(testbed: Testbed) -> bool:
    """Every host can add a netem qdisc (tried on each host, in a scratch namespace)."""
    return all(host.has_netem() for host in testbed.hosts)


def select_engine(testbed: Testbed, preference: str = "auto") -> ImpairmentEngine:
    """`auto`: tc netem where every host of the testbed has it (found by trying there), else
    the userspace link where the testbed supports splicing it into its LAN."""
    choice = parse_engine_preference(preference)
    if choice == "userspace":
        if not testbed.supports_userspace_link:
            raise EngineUnavailable(
                f"--engine userspace: the {testbed.backend!r} testbed cannot splice the "
                "userspace link into its LAN; use --engine tc or auto")
        return UserspaceEngine()
    lacking = [host.name for host in testbed.hosts if not host.has_netem()]
    if not lacking:
        return TcNetemEngine()
    if choice == "auto" and testbed.supports_userspace_link:
        return UserspaceEngine()
    raise EngineUnavailable(
        f"no sch_netem on {', '.join(lacking)} (adding a netem qdisc in a scratch network "
        f"namespace there failed)"
        + ("; use --engine userspace or auto" if testbed.supports_userspace_link else
           f"; the {testbed.backend!r} testbed has no userspace alternative: load sch_netem "
           "(kernel module) on those hosts"))
