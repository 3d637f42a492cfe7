"""tc netem command lines for an Impairment (pure)."""

from __future__ import annotations

from harness.netem.model import GilbertElliottLoss, Impairment, RandomLoss, StateLoss
from harness.netem.queue_limit import bdp_limit
from harness.netem.units import mbit_to_bps


def _time(ms: float) -> str:
    us = round(ms * 1000)
    return f"{us // 1000}ms" if us % 1000 == 0 else f"{us}us"


def _pct(value: float) -> str:
    return f"{value:g}%"


def _loss(loss: RandomLoss | StateLoss | GilbertElliottLoss) -> list[str]:
    if isinstance(loss, RandomLoss):
        tail = [_pct(loss.correlation)] if loss.correlation else []
        return ["loss", "random", _pct(loss.percent), *tail]
    if isinstance(loss, StateLoss):
        # tc reads p23 and p14 together, so all five are always given.
        return ["loss", "state", *(_pct(v) for v in (
            loss.p13, loss.p31_effective, loss.p32, loss.p23, loss.p14))]
    return ["loss", "gemodel", *(_pct(v) for v in (
        loss.p, loss.r_effective, loss.one_minus_h, loss.one_minus_k))]


def netem_arguments(impairment: Impairment, *, seed: int | None = None) -> list[str]:
    """Everything after `netem`, in tc's syntax (percent, ms/us, bit/s)."""
    args = ["limit", str(bdp_limit(impairment))]
    if impairment.has_delay:
        args += ["delay", _time(impairment.delay_ms)]
        if impairment.jitter_ms:
            args.append(_time(impairment.jitter_ms))
            if impairment.delay_correlation:
                args.append(_pct(impairment.delay_correlation))
        if impairment.distribution not in (None, "uniform"):
            args += ["distribution", str(impairment.distribution)]
    if impairment.loss is not None:
        args += _loss(impairment.loss)
    if impairment.reorder is not None and impairment.reorder.percent > 0:
        args += ["reorder", _pct(impairment.reorder.percent)]
        if impairment.reorder.correlation:
            args.append(_pct(impairment.reorder.correlation))
        if impairment.reorder.gap > 1:
            args += ["gap", str(impairment.reorder.gap)]
    for keyword, chance in (("duplicate", impairment.duplicate),
                            ("corrupt", impairment.corrupt)):
        if chance is not None:
            args += [keyword, _pct(chance.percent)]
            if chance.correlation:
                args.append(_pct(chance.correlation))
    if impairment.rate_mbit is not None:
        args += ["rate", f"{mbit_to_bps(impairment.rate_mbit)}bit"]
    if seed is not None:
        args += ["seed", str(seed)]
    return args


def apply_command(interface: str, impairment: Impairment, *,
                  seed: int | None = None) -> list[str]:
    return ["tc", "qdisc", "replace", "dev", interface, "root", "netem",
            *netem_arguments(impairment, seed=seed)]


def remove_command(interface: str) -> list[str]:
    return ["tc", "qdisc", "del", "dev", interface, "root"]


def show_command(interface: str) -> list[str]:
    return ["tc", "-s", "qdisc", "show", "dev", interface]
