"""Choose the engine: kernel netem where it exists (found by trying), else userspace."""

from __future__ import annotations

from typing import Literal, get_args

from harness.errors import UsageError
from harness.impairment.engine import ImpairmentEngine
from harness.impairment.errors import EngineUnavailable
from harness.impairment.tc_engine import TcNetemEngine
from harness.impairment.userspace import UserspaceEngine
from harness.probes import kernel_has_netem
from harness.testbed.base import Testbed
from harness.testbed.local.testbed import LocalTestbed

EnginePreference = Literal["auto", "tc", "userspace"]
ENGINE_PREFERENCES: tuple[str, ...] = get_args(EnginePreference)


def parse_engine_preference(value: str) -> EnginePreference:
    if value not in ENGINE_PREFERENCES:
        raise UsageError(f"unknown impairment engine {value!r}; valid: "
                         f"{', '.join(ENGINE_PREFERENCES)}")
    return value  # type: ignore[return-value]


def select_engine(testbed: Testbed, preference: str = "auto") -> ImpairmentEngine:
    """`auto`: tc when adding a netem qdisc in a scratch namespace works, else userspace
    (which needs the local namespace testbed)."""
    choice = parse_engine_preference(preference)
    if choice == "userspace" or (choice == "auto" and isinstance(testbed, LocalTestbed)
                                 and not kernel_has_netem()):
        return UserspaceEngine()
    has_netem = kernel_has_netem()
    if choice == "tc" and not has_netem:
        raise EngineUnavailable(
            "--engine tc: this kernel has no sch_netem (adding a netem qdisc in a scratch "
            "namespace failed); use --engine userspace or auto")
    if not has_netem:
        raise EngineUnavailable(
            f"no impairment engine for the {testbed.backend!r} testbed: its kernel has no "
            "sch_netem and the userspace link needs the local namespace testbed")
    return TcNetemEngine()
