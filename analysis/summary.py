"""The answer first: per profile, every VPN ranked on the headline metrics, with intervals
and each throughput as a percentage of the reference's (Internal) — the data behind the
report's summary table and overview figure (pure polars, no drawing)."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from analysis.catalogue import ALL
from analysis.intervals import shown_interval
from analysis.ordering import REFERENCE_VPN, profile_order, vpn_order


@dataclass(frozen=True)
class Headline:
    """One summary column: a ``link=all`` metric and which direction is better."""

    metric: str
    label: str
    unit: str
    higher_is_better: bool

    @property
    def relative(self) -> bool:
        """Shown as % of the reference too: only throughputs. A loss or an RTT as a
        multiple of the reference's (often near 0) reads as nonsense ("1667 %")."""
        return self.unit == "Mbit/s"


HEADLINES: tuple[Headline, ...] = (
    Headline("tcp.throughput_mbps", "TCP", "Mbit/s", True),
    Headline("parallel.throughput_mbps", "parallel TCP", "Mbit/s", True),
    Headline("udp.receiver_mbps", "UDP received", "Mbit/s", True),
    Headline("ping.rtt_avg_ms", "RTT", "ms", False),
    Headline("ping.loss_pct", "loss", "%", False),
)
"""The ranking uses the first headline a profile has data for (TCP throughput normally)."""

_IS_REFERENCE = pl.col("vpn").str.to_lowercase() == REFERENCE_VPN

SUMMARY_SCHEMA: dict[str, pl.DataType] = {
    "profile": pl.String(), "rank": pl.Int64(), "vpn": pl.String(), "metric": pl.String(),
    **{name: pl.Float64() for name in ("value", "lo", "hi")}, "n": pl.Int64(),
    **{name: pl.Float64() for name in ("pct", "pct_lo", "pct_hi")},
}
SUMMARY_COLUMNS: tuple[str, ...] = tuple(SUMMARY_SCHEMA)


def headline_rows(metrics: pl.DataFrame) -> pl.DataFrame:
    """Long table (SUMMARY_COLUMNS): one row per profile, VPN and headline metric.

    ``pct*`` = 100 × value (and interval bounds) / the reference's value in the same
    profile, for throughput headlines only; null for the others and where the reference
    is missing or zero. The reference's own uncertainty is not folded into the scaled
    interval.
    """
    names = [h.metric for h in HEADLINES]
    rows = metrics.filter(
        pl.col("metric").is_in(names), pl.col("link") == ALL, pl.col("vpn") != ALL,
        pl.col("profile") != ALL, pl.col("value").is_not_null(),
    )
    rows = rows.select("profile", "vpn", "metric", "value", *shown_interval(rows), "n")
    if rows.is_empty():
        return pl.DataFrame(schema=SUMMARY_SCHEMA)
    reference = rows.filter(_IS_REFERENCE)
    relative = [h.metric for h in HEADLINES if h.relative]
    reference = reference.filter(pl.col("metric").is_in(relative)).select(
        "profile", "metric", pl.col("value").alias("reference"))
    scale = pl.when(pl.col("reference") > 0).then(100.0 / pl.col("reference"))
    rows = rows.join(reference, on=["profile", "metric"], how="left").with_columns(
        (pl.col("value") * scale).alias("pct"),
        (pl.col("lo") * scale).alias("pct_lo"),
        (pl.col("hi") * scale).alias("pct_hi"),
    )
    ranks = _ranks(rows)
    return rows.join(ranks, on=["profile", "vpn"], how="left").pipe(_ordered).select(
        SUMMARY_COLUMNS)


def _ranks(rows: pl.DataFrame) -> pl.DataFrame:
    """Rank per profile on the first headline metric present there (1 = best)."""
    parts = []
    for profile in rows["profile"].unique().sort().to_list():
        in_profile = rows.filter(pl.col("profile") == profile)
        for headline in HEADLINES:
            scored = in_profile.filter(pl.col("metric") == headline.metric)
            if scored.is_empty():
                continue
            scored = scored.sort(["value", "vpn"], descending=[headline.higher_is_better, False])
            parts.append(scored.select("profile", "vpn").with_row_index("rank", offset=1))
            break
    ranked = pl.concat(parts) if parts else pl.DataFrame(
        schema={"rank": pl.UInt32, "profile": pl.String, "vpn": pl.String})
    return ranked.with_columns(pl.col("rank").cast(pl.Int64))


def _ordered(rows: pl.DataFrame) -> pl.DataFrame:
    profiles = profile_order(rows["profile"].unique().to_list())
    vpns = vpn_order(rows["vpn"].unique().to_list())
    metrics = [h.metric for h in HEADLINES]
    return rows.with_columns(
        pl.col("profile").replace_strict({p: i for i, p in enumerate(profiles)},
                                         return_dtype=pl.Int64).alias("_p"),
        pl.col("metric").replace_strict({m: i for i, m in enumerate(metrics)},
                                        return_dtype=pl.Int64).alias("_m"),
        pl.col("vpn").replace_strict({v: i for i, v in enumerate(vpns)},
                                     return_dtype=pl.Int64).alias("_v"),
    ).sort(["_p", "rank", "_v", "_m"], nulls_last=True).drop("_p", "_m", "_v")


@dataclass(frozen=True)
class Verdict:
    """The one-sentence answer for a profile: the leader, its margin and how sure."""

    profile: str
    metric: Headline
    leader: str
    leader_value: float
    runner_up: str | None
    runner_up_value: float | None
    margin_pct: float | None
    separated: bool | None
    """True: the intervals do not overlap; False: they do; None: no intervals."""


def verdicts(rows: pl.DataFrame) -> list[Verdict]:
    """Per profile, the best non-reference VPN on the ranking metric and the runner-up."""
    out: list[Verdict] = []
    if rows.is_empty():
        return out
    for profile in profile_order(rows["profile"].unique().to_list()):
        in_profile = rows.filter(pl.col("profile") == profile)
        for headline in HEADLINES:
            scored = in_profile.filter(
                pl.col("metric") == headline.metric,
                ~_IS_REFERENCE,
            ).sort("rank")
            if scored.is_empty():
                continue
            out.append(_verdict(profile, headline, scored))
            break
    return out


def _verdict(profile: str, headline: Headline, scored: pl.DataFrame) -> Verdict:
    first = scored.row(0, named=True)
    if scored.height < 2:
        return Verdict(profile, headline, first["vpn"], first["value"], None, None, None, None)
    second = scored.row(1, named=True)
    margin = (100.0 * abs(first["value"] - second["value"]) / second["value"]
              if second["value"] else None)
    bounds = (first["lo"], first["hi"], second["lo"], second["hi"])
    separated: bool | None = None
    if all(b is not None for b in bounds):
        if headline.higher_is_better:
            separated = bool(first["lo"] > second["hi"])
        else:
            separated = bool(first["hi"] < second["lo"])
    return Verdict(profile, headline, first["vpn"], first["value"], second["vpn"],
                   second["value"], margin, separated)


@dataclass(frozen=True)
class AboveReference:
    """A VPN measured faster than the reference (no VPN) on a throughput headline."""

    profile: str
    vpn: str
    label: str
    pct: float


def above_reference(rows: pl.DataFrame) -> list[AboveReference]:
    """Cells of :func:`headline_rows` above 100 % of the reference: a VPN cannot really
    beat the bare network, so the reader must be told the reference was measured lower
    there (noise, few repetitions), in summary order."""
    if rows.is_empty():
        return []
    labels = {h.metric: h.label for h in HEADLINES}
    above = rows.filter(pl.col("pct") > 100.0, ~_IS_REFERENCE)
    return [AboveReference(r["profile"], r["vpn"], labels[r["metric"]], r["pct"])
            for r in above.iter_rows(named=True)]
