"""Attribute wall time to phases (setup, deploy, tunnel wait, benchmark, teardown...)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from harness.records.models import PhaseTiming


class PhaseClock:
    """Collects PhaseTiming entries; ``on_phase`` persists each as soon as it ends."""

    def __init__(self, on_phase: Callable[[PhaseTiming], None] | None = None) -> None:
        self.phases: list[PhaseTiming] = []
        self._on_phase = on_phase

    @contextlib.contextmanager
    def phase(self, name: str, vpn: str | None = None,
              profile: str | None = None) -> Iterator[None]:
        started_at = datetime.now(UTC)
        started = time.monotonic()
        try:
            yield
        finally:
            timing = PhaseTiming(phase=name, vpn=vpn, profile=profile, started_at=started_at,
                                 duration_s=time.monotonic() - started)
            self.phases.append(timing)
            if self._on_phase:
                self._on_phase(timing)
