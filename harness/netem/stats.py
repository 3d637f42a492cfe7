"""Confidence intervals for the link check (pure, standard library only)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist


def z_value(confidence: float) -> float:
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def t_value(confidence: float, dof: int) -> float:
    """Student-t quantile by the Cornish-Fisher expansion (error < 1e-3 for dof >= 5)."""
    z = z_value(confidence)
    if dof <= 0:
        return math.inf
    v = float(dof)
    return (z + (z**3 + z) / (4 * v) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * v**2)
            + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * v**3))


def wilson_interval(successes: int, trials: int, confidence: float) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (good near 0 and 1)."""
    if trials <= 0:
        return 0.0, 1.0
    z = z_value(confidence)
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def batch_means_interval(batch_values: Sequence[float],
                         confidence: float) -> tuple[float, float, float]:
    """Mean and interval from the means of contiguous batches: neighbouring probes share
    scheduling hiccups and loss bursts, batches much longer than those are ~independent."""
    values = [v for v in batch_values if not math.isnan(v)]
    if not values:
        return math.nan, math.nan, math.nan
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, -math.inf, math.inf
    variance = sum((v - mean) ** 2 for v in values) / (len(values) - 1)
    half = t_value(confidence, len(values) - 1) * math.sqrt(variance / len(values))
    return mean, mean - half, mean + half


def quantile(sorted_values: Sequence[float], q: float) -> float:
    """Linear-interpolated quantile of already sorted values."""
    if not sorted_values:
        return math.nan
    position = q * (len(sorted_values) - 1)
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)
