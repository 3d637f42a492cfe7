"""The vpb-linkemu JSON configuration for an Impairment (pure; contract in linkemu/README)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from harness.netem.model import GilbertElliottLoss, Impairment, RandomLoss, StateLoss
from harness.netem.queue_limit import bdp_limit
from harness.netem.units import mbit_to_bps, ms_to_us, percent_to_fraction


def _loss(loss: RandomLoss | StateLoss | GilbertElliottLoss) -> dict[str, Any]:
    f = percent_to_fraction
    if isinstance(loss, RandomLoss):
        return {"model": "random", "probability": f(loss.percent),
                "correlation": f(loss.correlation)}
    if isinstance(loss, StateLoss):
        return {"model": "state", "p13": f(loss.p13), "p31": f(loss.p31_effective),
                "p32": f(loss.p32), "p23": f(loss.p23), "p14": f(loss.p14)}
    return {"model": "gemodel", "p": f(loss.p), "r": f(loss.r_effective),
            "one_minus_h": f(loss.one_minus_h), "one_minus_k": f(loss.one_minus_k)}


def egress_config(impairment: Impairment) -> dict[str, Any]:
    """One port's `egress` block: fractions 0..1, times in microseconds."""
    f = percent_to_fraction
    egress: dict[str, Any] = {"limit_packets": bdp_limit(impairment)}
    if impairment.delay_ms:
        egress["delay_us"] = ms_to_us(impairment.delay_ms)
    if impairment.jitter_ms:
        egress["jitter_us"] = ms_to_us(impairment.jitter_ms)
    if impairment.delay_correlation:
        egress["delay_correlation"] = f(impairment.delay_correlation)
    if impairment.distribution is not None:
        egress["distribution"] = impairment.distribution
    if impairment.loss is not None:
        egress["loss"] = _loss(impairment.loss)
    if impairment.reorder is not None and impairment.reorder.percent > 0:
        egress["reorder"] = {"probability": f(impairment.reorder.percent),
                             "correlation": f(impairment.reorder.correlation),
                             "gap": impairment.reorder.gap}
    for key, chance in (("duplicate", impairment.duplicate), ("corrupt", impairment.corrupt)):
        if chance is not None:
            egress[key] = {"probability": f(chance.percent), "correlation": f(chance.correlation)}
    if impairment.rate_mbit is not None:
        egress["rate_bps"] = mbit_to_bps(impairment.rate_mbit)
    return egress


def switch_config(ports: Sequence[str], impairment: Impairment, *, seed: int,
                  ready_file: str, stats_file: str) -> dict[str, Any]:
    """Every port gets the same egress impairment; port i is seeded with seed + i."""
    egress = egress_config(impairment)
    return {
        "ports": [{"interface": port, "egress": egress} for port in ports],
        "seed": seed,
        "ready_file": ready_file,
        "stats_file": stats_file,
    }
