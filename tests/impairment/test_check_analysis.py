"""The link check's statistics on streams generated from the model (pure)."""

from __future__ import annotations

import random

import pytest

from harness.impairment.check import ProbeSamples, analyse, mean_burst, reordered_flags
from harness.impairment.profiles import BUILTIN_PROFILES
from harness.netem.model import Impairment
from harness.netem.stats import batch_means_interval, t_value, wilson_interval


def _stream(impairment: Impairment, count: int, seed: int, extra_ms: float = 0.0,
            transit_ms: float = 0.03) -> ProbeSamples:
    """A stream as the model makes it: uniform delay clipped at 0, independent loss,
    arrival order by arrival time."""
    rng = random.Random(seed)
    loss = impairment.loss.percent / 100 if impairment.loss else 0.0  # type: ignore[union-attr]
    arrivals = []
    for sequence in range(count):
        if rng.random() < loss:
            continue
        delay = max(0.0, impairment.delay_ms - impairment.jitter_ms
                    + 2 * impairment.jitter_ms * rng.random())
        sent = sequence * 1_000_000
        arrivals.append((sent + round((delay + transit_ms + extra_ms) * 1e6), sequence, sent))
    arrivals.sort()
    return ProbeSamples(count=count, interval_ms=1.0, sequence=[a[1] for a in arrivals],
                        sent_ns=[a[2] for a in arrivals], received_ns=[a[0] for a in arrivals],
                        duplicates=0, duration_s=count / 1000)


@pytest.mark.parametrize("name", ["low", "medium", "high"])
def test_a_stream_from_the_model_is_consistent(name: str) -> None:
    impairment = BUILTIN_PROFILES[name].egress
    assert impairment is not None
    check = analyse(_stream(impairment, 5000, seed=3), impairment, source="a", target="b",
                    transit_ms=[0.03], confidence=0.999)
    assert check.verdict == "consistent", check.problems
    assert check.loss_percent.low <= impairment.loss.percent <= check.loss_percent.high  # type: ignore[union-attr]
    assert check.below_model_minimum == 0


def test_an_extra_millisecond_is_caught() -> None:
    impairment = BUILTIN_PROFILES["low"].egress
    assert impairment is not None
    check = analyse(_stream(impairment, 5000, seed=4, extra_ms=1.0), impairment, source="a",
                    target="b", transit_ms=[0.03], confidence=0.999)
    assert check.verdict == "inconsistent"
    assert any(problem.startswith("mean one-way delay") for problem in check.problems)


def test_a_faster_than_possible_probe_is_caught() -> None:
    impairment = Impairment(delay_ms=5)
    check = analyse(_stream(impairment, 200, seed=5, extra_ms=-1.0), impairment,
                    source="a", target="b", transit_ms=[0.03])
    assert check.below_model_minimum == 200
    assert "200 probes arrived faster than the minimum delay" in check.problems


def test_reorder_and_burst_definitions() -> None:
    assert reordered_flags([0, 2, 1, 3, 5, 4, 6]) == [False, False, True, False, False, True,
                                                      False]
    samples = ProbeSamples(count=10, interval_ms=1, sequence=[0, 3, 4, 8, 9],
                           sent_ns=[0] * 5, received_ns=[0] * 5, duplicates=0, duration_s=0)
    assert mean_burst(samples) == pytest.approx((2 + 3) / 2)  # runs 1-2 and 5-7


def test_intervals() -> None:
    low, high = wilson_interval(0, 1000, 0.99)
    assert low == 0 and 0.005 < high < 0.008
    low, high = wilson_interval(50, 100, 0.95)
    assert low == pytest.approx(0.404, abs=1e-3) and high == pytest.approx(0.596, abs=1e-3)
    assert t_value(0.95, 19) == pytest.approx(2.093, abs=2e-3)
    mean, low, high = batch_means_interval([1.0, 2.0, 3.0, 4.0], 0.95)
    assert mean == 2.5 and high - mean == pytest.approx(3.182 * (1.6667 / 4) ** 0.5, rel=0.02)
