"""The per-egress delay netem applies, as a distribution (pure).

netem draws D = tabledist(delay, jitter): uniform on [delay - jitter, delay + jitter) without
a table, else delay + jitter·t/8192 with t from a 4096-entry table of standardised
quantiles. A negative D means "send now", so the realised delay is max(0, D); tfifo then
releases packets in order of their send time, so jitter larger than the packet spacing
reorders. The tables are rebuilt here exactly as vpb-linkemu builds them (normal, Pareto
shape 3, 0.25·Pareto + 0.75·normal; int16 saturation; re-standardised), so mean and spread
of max(0, D) are exact for the userspace engine and close for the kernel's shipped tables.
"""

from __future__ import annotations

import bisect
import functools
import math
from statistics import NormalDist

from harness.netem.model import Impairment

TABLE_SIZE = 4096
DIST_SCALE = 8192
_INT16 = (-32768, 32767)
_PARETO_SHAPE = 3.0


def uniform_clipped_mean(delay: float, jitter: float) -> float:
    """E[max(0, U)] for U uniform on [delay - jitter, delay + jitter].

    For jitter <= delay nothing is clipped and the mean is the delay. Otherwise the
    negative part [delay - jitter, 0) collapses to 0: the mean is
    ∫_0^{d+j} x dx / 2j = (delay + jitter)² / (4·jitter)."""
    if jitter <= delay:
        return delay
    return (delay + jitter) ** 2 / (4 * jitter)


def uniform_clipped_sd(delay: float, jitter: float) -> float:
    """Standard deviation of max(0, U): jitter/√3 unclipped, else from
    E[max(0,U)²] = (delay + jitter)³ / (6·jitter)."""
    if jitter <= delay:
        return jitter / math.sqrt(3)
    second = (delay + jitter) ** 3 / (6 * jitter)
    return math.sqrt(max(0.0, second - uniform_clipped_mean(delay, jitter) ** 2))


def _normal_quantile(p: float) -> float:
    return float(NormalDist().inv_cdf(p))


def _pareto_std_quantile(p: float) -> float:
    a = _PARETO_SHAPE
    mean = a / (a - 1)
    sd = math.sqrt(a / (a - 2)) / (a - 1)
    return (math.pow(1 - p, -1 / a) - mean) / sd


def _entry(x: float) -> int:
    return int(min(_INT16[1], max(_INT16[0], round(x * DIST_SCALE))))


def _standardised_table(values: list[float]) -> tuple[int, ...]:
    """int16 entries whose saturated table has mean 0 and sd 1 (as vpb-linkemu)."""
    scale, offset = 1.0, 0.0
    table = [0] * len(values)
    for _ in range(50):
        table = [_entry(scale * v + offset) for v in values]
        xs = [t / DIST_SCALE for t in table]
        mean = sum(xs) / len(xs)
        sd = math.sqrt(sum(x * x for x in xs) / len(xs) - mean * mean)
        if abs(mean) < 1e-4 and abs(sd - 1) < 1e-4:
            break
        scale, offset = scale / sd, (offset - mean) / sd
    return tuple(table)


@functools.cache
def distribution_table(name: str) -> tuple[int, ...] | None:
    """The table netem uses for ``name``; None for uniform (netem's built-in draw)."""
    centres = [(i + 0.5) / TABLE_SIZE for i in range(TABLE_SIZE)]
    if name == "uniform":
        return None
    if name == "normal":
        return _standardised_table([_normal_quantile(p) for p in centres])
    if name == "pareto":
        return _standardised_table([_pareto_std_quantile(p) for p in centres])
    if name == "paretonormal":
        grid = 512
        cells = [(i + 0.5) / grid for i in range(grid)]
        pareto = [_pareto_std_quantile(p) for p in cells]
        normal = [_normal_quantile(p) for p in cells]
        samples = sorted(0.25 * a + 0.75 * b for a in pareto for b in normal)
        per = len(samples) // TABLE_SIZE
        return _standardised_table([samples[i * per + per // 2] for i in range(TABLE_SIZE)])
    raise ValueError(f"unknown distribution {name!r}")


@functools.cache
def _delay_samples(delay: float, jitter: float, distribution: str) -> tuple[float, ...]:
    if jitter == 0:
        return (max(0.0, delay),)
    table = distribution_table(distribution)
    if table is None:
        draws = [delay - jitter + 2 * jitter * (i + 0.5) / TABLE_SIZE for i in range(TABLE_SIZE)]
    else:
        draws = [delay + jitter * t / DIST_SCALE for t in table]
    return tuple(sorted(max(0.0, d) for d in draws))


def delay_samples_ms(impairment: Impairment) -> tuple[float, ...]:
    """Equally likely realised one-way delays (ms, sorted): the law of max(0, D)."""
    return _delay_samples(impairment.delay_ms, impairment.jitter_ms,
                          impairment.distribution or "uniform")


def delay_cdf(samples: tuple[float, ...], x: float) -> float:
    """P(realised delay <= x) for the equally likely ``samples``."""
    return bisect.bisect_right(samples, x) / len(samples)


def delay_quantile(samples: tuple[float, ...], q: float) -> float:
    """Quantile of the realised delay (nearest rank)."""
    index = min(len(samples) - 1, max(0, math.ceil(q * len(samples)) - 1))
    return samples[index]


def mean_delay_ms(impairment: Impairment) -> float:
    """E[max(0, D)]: exact for uniform jitter, from the table otherwise."""
    if impairment.jitter_ms == 0:
        return impairment.delay_ms
    if (impairment.distribution or "uniform") == "uniform":
        return uniform_clipped_mean(impairment.delay_ms, impairment.jitter_ms)
    samples = delay_samples_ms(impairment)
    return sum(samples) / len(samples)


def delay_sd_ms(impairment: Impairment) -> float:
    if impairment.jitter_ms == 0:
        return 0.0
    if (impairment.distribution or "uniform") == "uniform":
        return uniform_clipped_sd(impairment.delay_ms, impairment.jitter_ms)
    samples = delay_samples_ms(impairment)
    mean = sum(samples) / len(samples)
    return math.sqrt(max(0.0, sum(s * s for s in samples) / len(samples) - mean * mean))


def probe_reorder_probability(impairment: Impairment, interval_ms: float,
                              loss_fraction: float, rule_fraction: float) -> float:
    """Share of a periodic probe stream (one packet every ``interval_ms``) that arrives after
    a later packet (RFC 4737 "reordered"), with delays drawn independently per packet.

    A packet's delay is 0 with probability ``rule_fraction`` (the reorder rule sends it
    ahead; nothing later can pass it) and max(0, D) otherwise. Packet n is reordered unless
    no later, not lost packet arrives first:
    P = (1-r)·E_d[1 - Π_k (1 - (1-loss)·G(d - k·interval))], G(x) = r + (1-r)·F(x) for
    x >= 0 the CDF of the mixed delay, F that of max(0, D)."""
    samples = delay_samples_ms(impairment)
    if interval_ms <= 0 or samples[-1] <= 0:
        return 0.0
    stride = max(1, len(samples) // 1024)
    outer = samples[::stride]
    keep = 1.0 - loss_fraction
    total = 0.0
    for d in outer:
        product = 1.0
        k = 1
        while d - k * interval_ms >= 0:
            mixed = rule_fraction + (1 - rule_fraction) * delay_cdf(samples, d - k * interval_ms)
            product *= 1.0 - keep * mixed
            k += 1
        total += 1.0 - product
    return (1.0 - rule_fraction) * total / len(outer)
