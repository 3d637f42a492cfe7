"""The impairment model: what one host's LAN egress does to its packets, in tc netem's terms.

Every probability is a percentage (0-100) and every time a millisecond value, as on the tc
command line; `units` converts them for the engines. The rules tc enforces (jitter, reorder
and a distribution need a delay; a distribution needs jitter) are enforced here, so a bad
profile fails before anything is applied.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: netem's jitter distributions; "uniform" is netem's built-in draw (no table).
DISTRIBUTIONS = ("uniform", "normal", "pareto", "paretonormal")
Distribution = Literal["uniform", "normal", "pareto", "paretonormal"]
LOSS_MODELS = ("random", "state", "gemodel")

Percent = Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RandomLoss(_Frozen):
    """`loss random PERCENT [CORRELATION]`: Bernoulli with netem's smoothed correlation."""

    model: Literal["random"] = "random"
    percent: Percent
    correlation: Percent = 0.0


class StateLoss(_Frozen):
    """`loss state p13 p31 p32 p23 p14`: netem's 4-state Markov chain (percent).

    Defaults are tc's: p31 = 100 - p13, p32 = 0, p23 = 100, p14 = 0."""

    model: Literal["state"]
    p13: Percent
    p31: Percent | None = None
    p32: Percent = 0.0
    p23: Percent = 100.0
    p14: Percent = 0.0

    @property
    def p31_effective(self) -> float:
        return 100.0 - self.p13 if self.p31 is None else self.p31

    @model_validator(mode="after")
    def _transitions_fit(self) -> StateLoss:
        if self.p13 + self.p14 > 100.0 + 1e-9:
            raise ValueError(f"p13 + p14 = {self.p13 + self.p14:g} exceeds 100 "
                             "(both leave the good state)")
        if self.p31_effective + self.p32 > 100.0 + 1e-9:
            raise ValueError(f"p31 + p32 = {self.p31_effective + self.p32:g} exceeds 100 "
                             "(both leave the burst-loss state)")
        return self


class GilbertElliottLoss(_Frozen):
    """`loss gemodel p r 1-h 1-k` (percent). Defaults are tc's: r = 100 - p,
    1-h = 100 (every packet in the bad state is lost), 1-k = 0."""

    model: Literal["gemodel"]
    p: Percent
    r: Percent | None = None
    one_minus_h: Percent = 100.0
    one_minus_k: Percent = 0.0

    @property
    def r_effective(self) -> float:
        return 100.0 - self.p if self.r is None else self.r


Loss = Annotated[RandomLoss | StateLoss | GilbertElliottLoss, Field(discriminator="model")]


class Reorder(_Frozen):
    """`reorder PERCENT [CORRELATION] gap N`: with probability PERCENT a packet (after the
    first gap-1 since the last one) skips the delay and goes to the head of the queue."""

    percent: Percent
    correlation: Percent = 0.0
    gap: int = Field(default=1, ge=1, le=2**32 - 1)

    @model_validator(mode="after")
    def _gap_needs_probability(self) -> Reorder:
        if self.gap > 1 and self.percent == 0:
            raise ValueError("gap needs a reorder percent above 0 "
                             "(tc: \"gap specified without reorder probability\")")
        return self


class Chance(_Frozen):
    """Duplicate or corrupt: a percentage with netem's smoothed correlation."""

    percent: Percent
    correlation: Percent = 0.0


class Impairment(_Frozen):
    """What one host's LAN egress does, like one `tc qdisc ... netem` line."""

    delay_ms: float = Field(default=0.0, ge=0, le=3_600_000, allow_inf_nan=False)
    jitter_ms: float = Field(default=0.0, ge=0, le=2_147, allow_inf_nan=False,
                             description="Uniform half-width, or sd with a distribution.")
    delay_correlation: Percent = 0.0
    distribution: Distribution | None = None
    loss: Loss | None = None
    reorder: Reorder | None = None
    duplicate: Chance | None = None
    corrupt: Chance | None = None
    rate_mbit: float | None = Field(default=None, gt=0, le=1e9, allow_inf_nan=False)
    limit_packets: int | None = Field(
        default=None, ge=1, le=2**32 - 1,
        description="netem queue limit; None = computed from the bandwidth-delay product.")
    seed: int | None = Field(default=None, ge=0, le=2**64 - 1)

    @model_validator(mode="before")
    @classmethod
    def _loss_shorthand(cls, data: Any) -> Any:
        """`loss = 1.5` and `loss = {percent = 1.5}` mean random loss."""
        if isinstance(data, dict) and "loss" in data:
            loss = data["loss"]
            if isinstance(loss, int | float) and not isinstance(loss, bool):
                data = {**data, "loss": {"model": "random", "percent": loss}}
            elif isinstance(loss, dict) and "model" not in loss:
                data = {**data, "loss": {"model": "random", **loss}}
        return data

    @model_validator(mode="after")
    def _tc_rules(self) -> Impairment:
        problems: list[str] = []
        if self.jitter_ms > 0 and self.delay_ms == 0:
            problems.append("jitter_ms needs delay_ms above 0 (netem jitters a delay)")
        if self.reorder is not None and self.reorder.percent > 0 and self.delay_ms == 0:
            problems.append("reorder needs delay_ms above 0 (tc: \"reordering not possible "
                            "without specifying some delay\")")
        if self.distribution is not None and self.jitter_ms == 0:
            problems.append(f"distribution = {self.distribution!r} needs jitter_ms above 0 "
                            "(tc rejects a distribution without delay and jitter)")
        if self.delay_correlation > 0 and self.jitter_ms == 0:
            problems.append("delay_correlation needs jitter_ms above 0")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def has_delay(self) -> bool:
        return self.delay_ms > 0 or self.jitter_ms > 0


PROFILE_NAME_PATTERN = r"^[a-z][a-z0-9_-]{0,31}$"


class Profile(_Frozen):
    """A named impairment applied identically on every host's LAN egress.

    ``egress=None`` is baseline: the plain kernel path, no engine at all. An ``Impairment()``
    with every field at its default runs the engine but impairs nothing (its overhead)."""

    name: str = Field(pattern=PROFILE_NAME_PATTERN)
    egress: Impairment | None = None

    @property
    def is_baseline(self) -> bool:
        return self.egress is None
