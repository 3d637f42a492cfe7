"""Unit conversions in one place: users write percent and milliseconds (as tc does),
the userspace switch wants fractions and microseconds, the kernel nanoseconds."""

from __future__ import annotations

#: netem scales every probability to an unsigned 32-bit integer.
NETEM_PROBABILITY_SCALE = 2**32 - 1


def percent_to_fraction(percent: float) -> float:
    """2.5 (%) -> 0.025."""
    return percent / 100.0


def fraction_to_percent(fraction: float) -> float:
    """0.025 -> 2.5 (%)."""
    return fraction * 100.0


def ms_to_us(milliseconds: float) -> float:
    return milliseconds * 1000.0


def us_to_ms(microseconds: float) -> float:
    return microseconds / 1000.0


def ns_to_ms(nanoseconds: float) -> float:
    return nanoseconds / 1e6


def mbit_to_bps(mbit_per_s: float) -> int:
    """Whole bits per second, as tc and the switch take rates."""
    return round(mbit_per_s * 1e6)
