"""Wait until every host reaches every other host over the overlay (ping), bounded."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from harness.testbed.base import Testbed
from harness.topology import Link, all_pairs


class NotReady(RuntimeError):
    def __init__(self, message: str, unreachable: list[Link]) -> None:
        super().__init__(message)
        self.unreachable = unreachable


def _wait_pair(
    testbed: Testbed,
    link: Link,
    address: str,
    deadline: float,
    abort: Callable[[], list[str]],
) -> float | None:
    """Seconds until ``link.source`` first got an echo reply from ``address``, or None."""
    started = time.monotonic()
    host = testbed.host(link.source)
    while time.monotonic() < deadline:
        if host.run(["ping", "-c", "1", "-W", "1", "-q", address], timeout=3).ok:
            return time.monotonic() - started
        if abort():
            return None
        time.sleep(0.2)
    return None


def wait_for_overlay(
    testbed: Testbed,
    addresses: dict[str, str],
    timeout_s: float,
    abort: Callable[[], list[str]] = list,
) -> float:
    """Seconds until all ordered pairs answered; raises NotReady naming the pairs that did not."""
    started = time.monotonic()
    deadline = started + timeout_s
    pairs = all_pairs(testbed.host_names)
    with ThreadPoolExecutor(max_workers=len(pairs)) as pool:
        results = list(pool.map(
            lambda link: _wait_pair(testbed, link, addresses[link.target], deadline, abort),
            pairs,
        ))
    unreachable = [link for link, took in zip(pairs, results, strict=True) if took is None]
    if unreachable:
        problems = abort()
        reason = "; ".join(problems) if problems else f"not ready within {timeout_s:g}s"
        labels = ", ".join(link.label for link in unreachable)
        raise NotReady(f"overlay unreachable for {labels}: {reason}", unreachable)
    return time.monotonic() - started
