"""The interface every impairment engine offers, and what they share.

Benchmarks never see which engine runs: the runner applies a profile, measures, removes.
An engine is a context manager so removal also happens on errors and Ctrl-C."""

from __future__ import annotations

import contextlib
import secrets
import time
from abc import ABC, abstractmethod
from datetime import UTC, datetime
from types import TracebackType
from typing import ClassVar, Self

from harness.impairment import offloads
from harness.impairment.errors import ImpairmentError
from harness.netem.derived import egress_figures, round_trip
from harness.netem.model import Profile
from harness.netem.queue_limit import bdp_limit
from harness.netem.record import EngineName, ImpairmentRecord, LinkCheck
from harness.testbed.base import Testbed

REACHABLE_TIMEOUT_S = 20.0


def resolve_seed(profile: Profile, seed: int | None) -> tuple[int, str]:
    """The profile's own seed wins, then the run's, else one drawn now (and recorded)."""
    if profile.egress is not None and profile.egress.seed is not None:
        return profile.egress.seed, "seed from the profile; host i uses seed + i"
    if seed is not None:
        return seed, "seed from the run; host i uses seed + i"
    return secrets.randbits(32), "no seed configured: drawn at random and recorded here"


def new_record(profile: Profile, engine: EngineName) -> ImpairmentRecord:
    egress = profile.egress
    return ImpairmentRecord(
        profile=profile.name, engine=engine, egress=egress,
        egress_figures=egress_figures(egress) if egress else None,
        round_trip=round_trip(egress) if egress else None,
        queue_limit_packets=bdp_limit(egress) if egress else None,
        applied_at=datetime.now(UTC),
    )


def wait_reachable(testbed: Testbed, timeout_s: float = REACHABLE_TIMEOUT_S) -> float:
    """Every host reaches the first over the LAN (bounded retries: one ping may be lost).
    Returns the seconds it took."""
    started = time.monotonic()
    first = testbed.hosts[0]
    target = testbed.lan_address(first.name)
    for host in testbed.hosts[1:]:
        while True:
            result = host.run(["ping", "-c", "1", "-W", "1", "-q", target], timeout=3)
            if result.ok:
                break
            if time.monotonic() - started > timeout_s:
                raise ImpairmentError(
                    f"after applying the impairment {host.name} cannot reach {first.name} "
                    f"({target}) within {timeout_s:g}s: {result.describe()}")
            time.sleep(0.05)
    return time.monotonic() - started


class ImpairmentEngine(ABC):
    """Applies one profile at a time to a testbed's LAN egresses."""

    name: ClassVar[EngineName]

    def __init__(self) -> None:
        self._record: ImpairmentRecord | None = None
        self._offloads: list[offloads.OffloadChange] = []

    def _restore_offloads(self) -> list[str]:
        """Undo the offload changes, newest first; says what was restored."""
        log: list[str] = []
        for change in reversed(self._offloads):
            with contextlib.suppress(Exception):
                offloads.restore(change, log)
        self._offloads.clear()
        return log

    @abstractmethod
    def apply(self, testbed: Testbed, profile: Profile, *,
              seed: int | None = None) -> ImpairmentRecord:
        """Impair every host's LAN egress; on failure nothing stays applied."""

    @abstractmethod
    def remove(self) -> ImpairmentRecord | None:
        """Undo what `apply` did (idempotent); returns the final record, if anything was
        applied."""

    @property
    def applied(self) -> bool:
        return self._record is not None

    @property
    def record(self) -> ImpairmentRecord | None:
        """The record of the profile applied now."""
        return self._record

    def add_check(self, check: LinkCheck) -> None:
        if self._record is not None:
            self._record.checks.append(check)

    def lateness_ms(self) -> float | None:
        """Mean time frames left after their due time, where the engine reports it."""
        return None

    def _require_idle(self) -> None:
        if self._record is not None:
            raise ImpairmentError(
                f"profile {self._record.profile!r} is still applied; remove() it first")

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.remove()
