"""Derived figures against values worked out by hand from netem's definitions."""

from __future__ import annotations

import math
import random

import pytest

from harness.impairment.profiles import BUILTIN_PROFILES
from harness.netem.delay_model import (
    delay_samples_ms,
    probe_reorder_probability,
    uniform_clipped_mean,
    uniform_clipped_sd,
)
from harness.netem.derived import egress_figures, reorder_rule_fraction, round_trip
from harness.netem.model import (
    GilbertElliottLoss,
    Impairment,
    RandomLoss,
    Reorder,
    StateLoss,
)
from harness.netem.netem_math import (
    loss_probability,
    mean_loss_burst,
    smoothed_hit_probability,
    stationary,
)


def _egress(name: str) -> Impairment:
    egress = BUILTIN_PROFILES[name].egress
    assert egress is not None
    return egress


def test_uniform_clipping_mean_and_sd_by_hand() -> None:
    # low: U(0, 4) is not clipped.
    assert uniform_clipped_mean(2, 2) == 2
    assert uniform_clipped_sd(2, 2) == pytest.approx(2 / math.sqrt(3))
    # medium: U(-3, 11) clipped at 0 -> (4+7)^2 / (4*7) = 121/28.
    assert uniform_clipped_mean(4, 7) == pytest.approx(121 / 28)
    # high: U(-9, 21) -> 21^2/60 = 7.35; E[X^2] = 21^3/90, sd = sqrt(9261/90 - 7.35^2).
    assert uniform_clipped_mean(6, 15) == pytest.approx(7.35)
    assert uniform_clipped_sd(6, 15) == pytest.approx(math.sqrt(9261 / 90 - 7.35**2))


def test_round_trip_of_the_builtins() -> None:
    high = round_trip(_egress("high"))
    assert high.added_rtt_mean_ms == pytest.approx(14.7)
    assert high.added_rtt_sd_ms == pytest.approx(math.sqrt(2) * uniform_clipped_sd(6, 15))
    assert (high.added_rtt_min_ms, high.added_rtt_max_ms) == (0, 42)
    assert high.loss_percent == pytest.approx(100 * (1 - 0.975**2))  # 4.9375, not 5
    assert "not 2p" in high.notes["loss_percent"]
    assert "(d+j)^2/(4j)" in high.notes["added_rtt_mean_ms"]
    assert round_trip(_egress("low")).added_rtt_mean_ms == pytest.approx(4.0)
    assert round_trip(_egress("medium")).loss_percent == pytest.approx(100 * (1 - 0.99**2))


def test_correlated_draw_realises_far_less_than_configured() -> None:
    """loss 20 % corr 50 %: the AR(1) smoother X = U/2 + X'/2 fires far less often."""
    rng = random.Random(5)
    last, hits, draws = rng.random(), 0, 200_000
    for _ in range(draws):
        last = 0.5 * rng.random() + 0.5 * last
        hits += last <= 0.2
    simulated = hits / draws
    computed = smoothed_hit_probability(0.2, 0.5)
    assert computed == pytest.approx(simulated, abs=4 * math.sqrt(simulated / draws))
    assert 0.027 < computed < 0.032
    assert smoothed_hit_probability(0.2, 0.0) == 0.2
    # The profiles' reorder rule: 0.5 % / 25 % and 2.5 % / 50 % essentially never fire.
    assert reorder_rule_fraction(_egress("low")) < 1e-6
    assert reorder_rule_fraction(_egress("high")) == pytest.approx(1.6e-5, rel=0.1)


def test_reorder_gap_renewal() -> None:
    every_fifth = Impairment(delay_ms=10, reorder=Reorder(percent=100, gap=5))
    assert reorder_rule_fraction(every_fifth) == pytest.approx(0.2)
    assert reorder_rule_fraction(Impairment(delay_ms=10, reorder=Reorder(percent=3))) == 0.03


def test_markov_loss_models_stationary_loss_and_bursts() -> None:
    # state: good -> burst loss 1 %, burst loss -> good 20 %: loss 0.01/0.21, bursts 1/0.2.
    state = StateLoss(model="state", p13=1, p31=20)
    assert loss_probability(state) == pytest.approx(1 / 21)
    assert mean_loss_burst(state) == pytest.approx(5)
    # gemodel with 1-h = 100 %, 1-k = 0: the same chain, loss = p/(p+r), bursts 1/r.
    gilbert = GilbertElliottLoss(model="gemodel", p=1, r=20)
    assert loss_probability(gilbert) == pytest.approx(1 / 21)
    assert mean_loss_burst(gilbert) == pytest.approx(5)
    # Independent loss: bursts of 1/(1-p).
    assert mean_loss_burst(RandomLoss(percent=10)) == pytest.approx(1 / 0.9, rel=1e-3)
    assert stationary([[0.5, 0.5], [0.25, 0.75]]) == pytest.approx([1 / 3, 2 / 3])


def test_egress_figures_of_high() -> None:
    figures = egress_figures(_egress("high"))
    assert figures.delay_mean_ms == pytest.approx(7.35)
    assert (figures.delay_min_ms, figures.delay_max_ms) == (0, 21)
    assert figures.loss_percent == pytest.approx(2.5)
    # 9 of the 30 ms of the uniform range are below 0: 30 % of delays are clipped to 0.
    assert figures.delay_p10_ms == 0.0
    assert figures.mean_loss_burst_packets == pytest.approx(1 / 0.975, rel=1e-3)


def test_tables_are_standardised_like_the_switch_builds_them() -> None:
    for distribution in ("normal", "pareto", "paretonormal"):
        samples = delay_samples_ms(Impairment(delay_ms=100, jitter_ms=10,
                                              distribution=distribution))
        mean = sum(samples) / len(samples)
        sd = math.sqrt(sum((s - mean) ** 2 for s in samples) / len(samples))
        assert mean == pytest.approx(100, abs=0.01)
        assert sd == pytest.approx(10, abs=0.01)


def test_probe_reorder_probability_matches_a_simulated_stream() -> None:
    """Jitter reorders: a packet is late when a later one arrives first (tfifo order)."""
    rng = random.Random(11)
    arrivals = sorted((i * 1.0 + max(0.0, 4 - 7 + 14 * rng.random()), i)
                      for i in range(100_000))
    highest, late = -1, 0
    for _, index in arrivals:
        late += index < highest
        highest = max(highest, index)
    simulated = late / len(arrivals)
    computed = probe_reorder_probability(_egress("medium"), 1.0, 0.0, 0.0)
    assert computed == pytest.approx(simulated, abs=0.005)
