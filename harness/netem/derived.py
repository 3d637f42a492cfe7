"""Figures a profile implies, per egress and for a round trip across two egresses (pure).

A one-way packet crosses the sender's egress; a round trip (ping, a TCP segment and its
ACK) crosses two independently impaired egresses, so delays add, spreads add in variance
and the chance to survive is (1-p)² — round-trip loss is 1-(1-p)², not 2p.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict

from harness.netem import delay_model, netem_math
from harness.netem.model import Impairment, RandomLoss
from harness.netem.units import fraction_to_percent, percent_to_fraction


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EgressFigures(_Frozen):
    """What one impaired egress realises according to netem's definitions."""

    delay_mean_ms: float
    delay_sd_ms: float
    delay_min_ms: float
    delay_max_ms: float
    delay_p10_ms: float
    delay_p50_ms: float
    delay_p90_ms: float
    loss_percent: float
    mean_loss_burst_packets: float | None
    reorder_rule_percent: float
    duplicate_percent: float
    corrupt_percent: float


class RoundTripFigures(_Frozen):
    """Across two egresses (request and reply), with how each figure is derived."""

    added_rtt_mean_ms: float
    added_rtt_sd_ms: float
    added_rtt_min_ms: float
    added_rtt_max_ms: float
    loss_percent: float
    reorder_rule_percent_per_egress: float
    configured_reorder_percent_per_egress: float
    notes: dict[str, str]


def _fires(percent: float, correlation: float) -> float:
    """Fraction of draws `percent >= crandom` fires with netem's smoothing."""
    return netem_math.smoothed_hit_probability(percent_to_fraction(percent),
                                               percent_to_fraction(correlation))


def reorder_rule_fraction(impairment: Impairment) -> float:
    """Share of packets the reorder rule sends ahead: a renewal of gap-1 packets delayed
    normally, then eligible packets each sent ahead with the smoothed probability q,
    so 1 / (gap - 1 + 1/q)."""
    reorder = impairment.reorder
    if reorder is None or reorder.percent == 0 or not impairment.has_delay:
        return 0.0
    q = _fires(reorder.percent, reorder.correlation)
    if q <= 0:
        return 0.0
    return 1.0 / (reorder.gap - 1 + 1.0 / q)


def egress_figures(impairment: Impairment) -> EgressFigures:
    samples = delay_model.delay_samples_ms(impairment)
    loss = impairment.loss
    loss_fraction = netem_math.loss_probability(loss) if loss is not None else 0.0
    return EgressFigures(
        delay_mean_ms=delay_model.mean_delay_ms(impairment),
        delay_sd_ms=delay_model.delay_sd_ms(impairment),
        delay_min_ms=samples[0] if impairment.distribution not in (None, "uniform") else max(
            0.0, impairment.delay_ms - impairment.jitter_ms),
        delay_max_ms=samples[-1] if impairment.distribution not in (None, "uniform") else (
            impairment.delay_ms + impairment.jitter_ms),
        delay_p10_ms=delay_model.delay_quantile(samples, 0.10),
        delay_p50_ms=delay_model.delay_quantile(samples, 0.50),
        delay_p90_ms=delay_model.delay_quantile(samples, 0.90),
        loss_percent=fraction_to_percent(loss_fraction),
        mean_loss_burst_packets=netem_math.mean_loss_burst(loss) if loss is not None else None,
        reorder_rule_percent=fraction_to_percent(reorder_rule_fraction(impairment)),
        duplicate_percent=fraction_to_percent(_fires(
            impairment.duplicate.percent, impairment.duplicate.correlation))
        if impairment.duplicate else 0.0,
        corrupt_percent=fraction_to_percent(_fires(
            impairment.corrupt.percent, impairment.corrupt.correlation))
        if impairment.corrupt else 0.0,
    )


def _delay_note(impairment: Impairment) -> str:
    distribution = impairment.distribution or "uniform"
    d, j = impairment.delay_ms, impairment.jitter_ms
    if j == 0:
        return f"2 x delay = 2 x {d:g} ms (no jitter)"
    if distribution == "uniform":
        if j <= d:
            return (f"2 x E[U({d - j:g}, {d + j:g}) ms] = 2 x {d:g} ms; sd = sqrt(2) x "
                    f"jitter/sqrt(3) (uniform jitter, netem's default without a table)")
        return (f"jitter {j:g} ms > delay {d:g} ms: netem sends negative delays at once, so "
                f"each egress adds E[max(0, U({d - j:g}, {d + j:g}))] = (d+j)^2/(4j) = "
                f"{(d + j) ** 2 / (4 * j):.4g} ms; the round trip twice that; sd = sqrt(2) x "
                "sd of the clipped uniform")
    return (f"{distribution} table (4096 standardised quantiles, int16 saturated and "
            "re-standardised, as vpb-linkemu builds it): mean and sd of max(0, delay + "
            "jitter x t) over the table, doubled (mean) resp. x sqrt(2) (sd); the kernel's "
            "shipped tables differ slightly")


def _loss_note(impairment: Impairment, per_egress: float) -> str:
    loss = impairment.loss
    if loss is None:
        return "no loss configured"
    base = f"1-(1-p)^2 with p = {per_egress:.4g} % per egress (not 2p)"
    if isinstance(loss, RandomLoss):
        if loss.correlation > 0:
            return (base + f"; p is the share netem's smoothed draw realises for loss "
                    f"{loss.percent:g} % with correlation {loss.correlation:g} % (the "
                    "correlation narrows the draw, so fewer packets are lost than configured)")
        return base
    return base + f"; p is the stationary loss of the {loss.model} Markov chain"


def round_trip(impairment: Impairment) -> RoundTripFigures:
    """Round-trip figures for one profile applied on both egresses."""
    egress = egress_figures(impairment)
    per_egress = percent_to_fraction(egress.loss_percent)
    configured_reorder = impairment.reorder.percent if impairment.reorder else 0.0
    notes = {
        "added_rtt_mean_ms": _delay_note(impairment),
        "added_rtt_sd_ms": "sqrt(2) x per-egress sd (independent draws on each egress)",
        "added_rtt_min_ms": "2 x max(0, lowest delay draw)",
        "added_rtt_max_ms": "2 x highest delay draw",
        "loss_percent": _loss_note(impairment, egress.loss_percent),
        "reorder": ("the reorder rule sends a packet ahead with the smoothed probability "
                    "(gap renewal 1/(gap-1+1/q)); with correlation this is far below the "
                    "configured percent. Jitter larger than the packet spacing reorders far "
                    "more (tfifo releases in send-time order); that share depends on the "
                    "traffic's packet spacing, so it is computed per probe stream in the check"),
    }
    if impairment.rate_mbit is not None:
        notes["rate"] = (f"rate {impairment.rate_mbit:g} Mbit/s adds serialisation "
                         "(frame bits / rate) and queueing, not included in the RTT figures")
    return RoundTripFigures(
        added_rtt_mean_ms=2 * egress.delay_mean_ms,
        added_rtt_sd_ms=math.sqrt(2) * egress.delay_sd_ms,
        added_rtt_min_ms=2 * egress.delay_min_ms,
        added_rtt_max_ms=2 * egress.delay_max_ms,
        loss_percent=fraction_to_percent(1 - (1 - per_egress) ** 2),
        reorder_rule_percent_per_egress=egress.reorder_rule_percent,
        configured_reorder_percent_per_egress=configured_reorder,
        notes=notes,
    )
