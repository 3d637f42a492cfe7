"""Bounded polling: every wait in the harness has a deadline and a reason to stop early."""

from __future__ import annotations

import time
from collections.abc import Callable


class WaitFailed(RuntimeError):
    """A condition did not become true in time, or something it depends on died."""


def wait_until(
    condition: Callable[[], bool],
    *,
    timeout_s: float,
    what: str,
    interval_s: float = 0.1,
    abort: Callable[[], list[str]] | None = None,
) -> float:
    """Poll ``condition`` until true; raises WaitFailed after ``timeout_s``, or at once when
    ``abort`` reports problems (e.g. a daemon died). Returns the seconds waited."""
    started = time.monotonic()
    while not condition():
        problems = abort() if abort else []
        if problems:
            raise WaitFailed(f"while waiting for {what}: " + "; ".join(problems))
        if time.monotonic() - started > timeout_s:
            raise WaitFailed(f"timed out after {timeout_s:g}s waiting for {what}")
        time.sleep(interval_s)
    return time.monotonic() - started
