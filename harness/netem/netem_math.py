"""What netem's random processes realise, worked out from their definitions (pure).

* `get_crandom()` with correlation c is X_n = (1-c)·U_n + c·X_{n-1}: an AR(1) smoother whose
  stationary law is Σ_k (1-c)c^k·U_k. It keeps the mean but narrows the spread, so a draw
  "X <= p" (how loss, reorder, duplicate and corrupt decide) fires with a probability other
  than p. We evaluate that law numerically on a grid (the sum of scaled uniforms).
* The loss chains (`loss_4state()`, `loss_gilb_ell()`) are finite Markov chains; their
  stationary distribution gives the long-run loss and the mean length of a loss burst.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from harness.netem.model import GilbertElliottLoss, RandomLoss, StateLoss
from harness.netem.units import percent_to_fraction

_GRID_POINTS = 2000


def _smoothed_cdf_grid(p: float, c: float) -> list[float]:
    """CDF of the stationary smoothed draw at x_j = j·p/M, j = 0..M."""
    m = _GRID_POINTS
    step = p / m
    weights: list[float] = []
    weight = 1.0 - c
    # Terms far below the grid step act as a shift by their mean; the rest are convolved.
    while weight > step / 20 and len(weights) < 100_000:
        weights.append(weight)
        weight *= c
    shift = weight / (1.0 - c) / 2 if c < 1 else 0.0  # mean of the neglected tail
    cdf = [1.0 if j * step >= shift else 0.0 for j in range(m + 1)]
    for w in reversed(weights):
        integral = [0.0] * (m + 1)  # ∫_0^{x_j} cdf
        for j in range(1, m + 1):
            integral[j] = integral[j - 1] + (cdf[j - 1] + cdf[j]) * step / 2
        new = [0.0] * (m + 1)
        for j in range(m + 1):
            x = j * step
            lower = x - w
            if lower <= 0:
                below = 0.0
            else:
                position = lower / step
                index = int(position)
                fraction = position - index
                below = integral[index] + (
                    (integral[index + 1] - integral[index]) * fraction if index < m else 0.0)
            new[j] = min(1.0, (integral[j] - below) / w)
        cdf = new
    return cdf


@functools.cache
def smoothed_hit_probability(p: float, c: float) -> float:
    """P(X <= p) for netem's correlated draw X (p, c fractions): how often `prob >= crandom`
    fires. With c = 0 it is p."""
    if p <= 0:
        return 0.0
    if p >= 1 or c <= 0:
        return min(p, 1.0)
    return _smoothed_cdf_grid(p, c)[-1]


@functools.cache
def smoothed_pair_probability(p: float, c: float) -> float:
    """P(X_{n-1} <= p and X_n <= p): two consecutive draws both fire."""
    if p <= 0:
        return 0.0
    if p >= 1:
        return 1.0
    if c <= 0:
        return p * p
    cdf = _smoothed_cdf_grid(p, c)
    step = p / _GRID_POINTS
    total = 0.0
    for j in range(_GRID_POINTS):
        mass = cdf[j + 1] - cdf[j]
        x = (j + 0.5) * step
        total += mass * min(1.0, max(0.0, (p - c * x) / (1.0 - c)))
    return total


def stationary(matrix: Sequence[Sequence[float]]) -> list[float]:
    """Stationary distribution of a row-stochastic matrix (Gaussian elimination)."""
    n = len(matrix)
    # Solve π(P - I) = 0 with Σπ = 1: transpose, replace the last equation by the sum.
    rows = [[matrix[j][i] - (1.0 if i == j else 0.0) for j in range(n)] + [0.0]
            for i in range(n)]
    rows[-1] = [1.0] * n + [1.0]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(rows[r][col]))
        rows[col], rows[pivot] = rows[pivot], rows[col]
        if abs(rows[col][col]) < 1e-15:
            raise ValueError("the chain has no unique stationary distribution")
        for r in range(n):
            if r != col:
                factor = rows[r][col] / rows[col][col]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[col], strict=True)]
    return [rows[i][n] / rows[i][i] for i in range(n)]


def _four_state_matrix(loss: StateLoss) -> list[list[float]]:
    """States: 0 received (gap), 1 received in burst, 2 lost in burst, 3 isolated loss."""
    p13, p31, p32 = (percent_to_fraction(v) for v in (loss.p13, loss.p31_effective, loss.p32))
    p23, p14 = percent_to_fraction(loss.p23), percent_to_fraction(loss.p14)
    return [
        [1 - p13 - p14, 0.0, p13, p14],
        [0.0, 1 - p23, p23, 0.0],
        [p31, p32, 1 - p31 - p32, 0.0],
        [1.0, 0.0, 0.0, 0.0],
    ]


def loss_probability(loss: RandomLoss | StateLoss | GilbertElliottLoss) -> float:
    """Long-run fraction of packets lost on one egress."""
    if isinstance(loss, RandomLoss):
        return smoothed_hit_probability(percent_to_fraction(loss.percent),
                                        percent_to_fraction(loss.correlation))
    if isinstance(loss, StateLoss):
        pi = stationary(_four_state_matrix(loss))
        return pi[2] + pi[3]
    good, bad = _gilbert_elliott(loss)
    return good * percent_to_fraction(loss.one_minus_k) + bad * percent_to_fraction(
        loss.one_minus_h)


def _gilbert_elliott(loss: GilbertElliottLoss) -> tuple[float, float]:
    p, r = percent_to_fraction(loss.p), percent_to_fraction(loss.r_effective)
    if p + r == 0:
        return 1.0, 0.0  # never leaves the good state it starts in
    return r / (p + r), p / (p + r)


def mean_loss_burst(loss: RandomLoss | StateLoss | GilbertElliottLoss) -> float | None:
    """Mean number of consecutive packets lost once a loss starts: P(L) / P(no L, then L).
    None when nothing is lost."""
    total = loss_probability(loss)
    if total <= 0:
        return None
    if isinstance(loss, RandomLoss):
        p, c = percent_to_fraction(loss.percent), percent_to_fraction(loss.correlation)
        starts = total - smoothed_pair_probability(p, c)
    elif isinstance(loss, StateLoss):
        matrix = _four_state_matrix(loss)
        pi = stationary(matrix)
        # The state entered decides the fate; a burst starts on entering 2 or 3 from 0 or 1.
        starts = sum(pi[s] * (matrix[s][2] + matrix[s][3]) for s in (0, 1))
    else:
        # The state a packet starts in decides its fate; then the state moves on.
        p, r = percent_to_fraction(loss.p), percent_to_fraction(loss.r_effective)
        lost = (percent_to_fraction(loss.one_minus_k), percent_to_fraction(loss.one_minus_h))
        move = ((1 - p, p), (r, 1 - r))
        good, bad = _gilbert_elliott(loss)
        pi = [good, bad]
        starts = sum(pi[s] * (1 - lost[s]) * sum(move[s][t] * lost[t] for t in (0, 1))
                     for s in (0, 1))
    return total / starts if starts > 0 else float("inf")
