"""The numbers the harness accepts from its users: finite and inside documented bounds.

One place for the bounds of the command line, the plan file and a resumed run's manifest,
so all three reject the same values with the same words (docs/running.md, "Bounds").
Workload parameters have their bounds in their own models (harness/workloads).
"""

from __future__ import annotations

import math

from harness.errors import UsageError

#: Repetitions of a whole plan (``--repeat``, ``repetitions =``): a plan is expanded in
#: memory, so an unbounded count hangs the dry run.
MAX_REPETITIONS = 1000
#: Seeds of the impairment draws: tc netem and the userspace switch take an unsigned
#: 64-bit seed (host i uses seed + i, modulo 2^64).
MIN_SEED = 0
MAX_SEED = 2**64 - 1
#: Seconds to wait for an overlay to come up (``--ready-timeout``).
MAX_READY_TIMEOUT_S = 3600.0
#: Testbed hosts (``--hosts``, ``hosts =``).
MIN_HOSTS = 2
MAX_HOSTS = 200
#: Per-test policies of a plan file's ``[test.<name>]``: one attempt's timeout, back-off.
MAX_TEST_TIMEOUT_S = 86400.0
MAX_BACKOFF_S = 3600.0
#: ``[test.<name>] links``: the test is measured on the first N ring links.
MIN_TEST_LINKS = 1


def bounded_int(value: int | None, what: str, low: int, high: int) -> int | None:
    """``value`` when it is within ``low..high``; else a UsageError naming the range."""
    if value is not None and not low <= value <= high:
        raise UsageError(f"{what} must be a whole number from {low} to {high}, got {value}")
    return value


def bounded_float(value: float | None, what: str, high: float) -> float | None:
    """``value`` when it is finite, positive and at most ``high``; else a UsageError."""
    if value is not None and not (math.isfinite(value) and 0 < value <= high):
        raise UsageError(f"{what} must be a number above 0 and at most {high:g}, "
                         f"got {value:g}")
    return value


def seed(value: int | None, what: str = "--seed") -> int | None:
    return bounded_int(value, what, MIN_SEED, MAX_SEED)


def repetitions(value: int | None, what: str = "--repeat") -> int | None:
    return bounded_int(value, what, 1, MAX_REPETITIONS)


def hosts(value: int | None, what: str = "--hosts") -> int | None:
    return bounded_int(value, what, MIN_HOSTS, MAX_HOSTS)


def links_per_test(value: int | None, what: str) -> int | None:
    return bounded_int(value, what, MIN_TEST_LINKS, MAX_HOSTS)


#: Characters of an error string a progress or summary line shows (the record keeps it whole).
MAX_ERROR_CHARS = 500


def shorten(text: str | None, limit: int = MAX_ERROR_CHARS) -> str:
    """An error string as one line of output shows it: at most ``limit`` characters, and
    the full length said when cut, so a long error does not flood the terminal."""
    text = text or ""
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"
