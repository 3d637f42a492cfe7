"""The profile model: built-ins, custom tables, and validation messages."""

from __future__ import annotations

import pytest

from harness.errors import UsageError
from harness.impairment.profiles import (
    BUILTIN_PROFILES,
    ProfileError,
    custom_profiles,
    resolve_profiles,
)
from harness.netem.model import GilbertElliottLoss, RandomLoss, StateLoss
from harness.netem.units import fraction_to_percent, percent_to_fraction


def test_builtins_match_the_issue_table() -> None:
    table = {  # delay, jitter, loss %, reorder %, reorder correlation %
        "low": (2, 2, 0.25, 0.5, 25),
        "medium": (4, 7, 1.0, 2.5, 50),
        "high": (6, 15, 2.5, 5.0, 50),
    }
    assert BUILTIN_PROFILES["baseline"].egress is None
    for name, (delay, jitter, loss, reorder, correlation) in table.items():
        egress = BUILTIN_PROFILES[name].egress
        assert egress is not None
        assert (egress.delay_ms, egress.jitter_ms) == (delay, jitter)
        assert egress.loss == RandomLoss(percent=loss)
        assert egress.reorder is not None
        assert (egress.reorder.percent, egress.reorder.correlation, egress.reorder.gap) == (
            reorder, correlation, 1)
        assert egress.distribution is None and egress.limit_packets is None


def test_all_is_the_four_builtins_in_order_without_duplicates() -> None:
    names = [p.name for p in resolve_profiles(["high", "all", "low,baseline"])]
    assert names == ["high", "baseline", "low", "medium"]


def test_unknown_profile_names_the_valid_ones() -> None:
    with pytest.raises(ProfileError) as caught:
        resolve_profiles(["low,extreme"])
    assert isinstance(caught.value, UsageError)  # the CLI maps it to exit 2
    assert "'extreme'" in str(caught.value)
    assert "baseline, low, medium, high, all" in str(caught.value)


def test_custom_profile_from_a_toml_table() -> None:
    profiles = custom_profiles({
        "bursty": {"delay_ms": 10, "jitter_ms": 1, "distribution": "normal",
                   "loss": {"model": "state", "p13": 1, "p31": 20},
                   "reorder": {"percent": 1, "gap": 5}, "rate_mbit": 100,
                   "limit_packets": 5000, "seed": 9},
        "lossy": {"loss": 1.5},
    })
    bursty = profiles["bursty"].egress
    assert bursty is not None and isinstance(bursty.loss, StateLoss)
    assert bursty.loss.p31_effective == 20 and bursty.loss.p23 == 100  # tc's default
    assert bursty.reorder is not None and bursty.reorder.gap == 5
    lossy = profiles["lossy"].egress
    assert lossy is not None and lossy.loss == RandomLoss(percent=1.5)


def test_loss_model_defaults_follow_tc() -> None:
    assert StateLoss(model="state", p13=3).p31_effective == 97
    ge = GilbertElliottLoss(model="gemodel", p=2)
    assert (ge.r_effective, ge.one_minus_h, ge.one_minus_k) == (98, 100, 0)


@pytest.mark.parametrize(("table", "expected"), [
    ({"delay_ms": -1}, "delay_ms = -1: Input should be greater than or equal to 0"),
    ({"loss": 150}, "loss.percent = 150: Input should be less than or equal to 100"),
    ({"loss": {"model": "random", "percent": 101}}, "less than or equal to 100"),
    ({"delay_ms": 5, "jitter_ms": 1, "distribution": "gauss"},
     "'uniform', 'normal', 'pareto' or 'paretonormal'"),
    ({"jitter_ms": 2}, "jitter_ms needs delay_ms above 0"),
    ({"reorder": {"percent": 5}}, "reordering not possible without specifying some delay"),
    ({"delay_ms": 5, "distribution": "normal"}, "needs jitter_ms above 0"),
    ({"delay_ms": 5, "reorder": {"percent": 0, "gap": 5}}, "gap needs a reorder percent"),
    ({"delay_ms": 5, "gap": 5}, "gap without reorder"),
    ({"loss": {"model": "burst", "p": 1}}, "'random', 'state', 'gemodel'"),
    ({"loss": {"model": "state", "p13": 60, "p14": 50}}, "p13 + p14 = 110 exceeds 100"),
    ({"delay": 5}, "unknown field (delay_ms)"),
])
def test_bad_tables_name_the_problem_and_what_is_allowed(table: dict[str, object],
                                                         expected: str) -> None:
    with pytest.raises(ProfileError) as caught:
        custom_profiles({"mine": table})
    message = str(caught.value)
    assert message.startswith("impairment.mine")
    assert expected in message
    assert "allowed fields: delay_ms, jitter_ms" in message


def test_every_bad_table_is_reported_at_once_and_builtin_names_are_reserved() -> None:
    with pytest.raises(ProfileError) as caught:
        custom_profiles({"high": {"delay_ms": 1}, "Bad Name": {}, "ok": {"delay_ms": -2}})
    message = str(caught.value)
    assert "'high' is a built-in name" in message
    assert "profile names are lower-case" in message
    assert "impairment.ok.delay_ms = -2" in message


def test_percent_fraction_round_trip() -> None:
    assert percent_to_fraction(2.5) == 0.025
    assert fraction_to_percent(0.025) == 2.5
    assert fraction_to_percent(percent_to_fraction(0.25)) == pytest.approx(0.25)
