"""Report tables computed from the metrics table and the outcomes (polars only)."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from analysis.catalogue import ALL
from analysis.intervals import shown_interval
from analysis.ordering import is_reference, profile_order, vpn_order
from analysis.summary import HEADLINES


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    row_classes: tuple[str, ...] = ()
    text_columns: tuple[int, ...] = (0,)


def fmt(value: float | None, digits: int = 3) -> str:
    """Compact number: three significant digits for small values, no exponent for big."""
    if value is None:
        return "–"
    if value != 0 and abs(value) < 10 ** -(digits - 1):
        return f"{value:.{digits}g}"
    if abs(value) >= 10 ** digits:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}" if abs(value) < 1 else f"{value:.{max(0, digits - 1)}f}"


def _failed_cells(metrics: pl.DataFrame, test: str) -> set[tuple[str, str]]:
    failed = metrics.filter(
        pl.col("metric") == "run.success_rate_pct", pl.col("test") == test,
        pl.col("value") == 0,
    )
    return set(zip(failed["vpn"].to_list(), failed["profile"].to_list(), strict=True))


def profile_pivot(metrics: pl.DataFrame, metric: str, test: str) -> Table | None:
    """VPN × profile table of a metric's ``link=all`` value; 'failed' where nothing ran ok."""
    rows = metrics.filter(pl.col("metric") == metric, pl.col("test") == test,
                          pl.col("link") == ALL, pl.col("vpn") != ALL, pl.col("profile") != ALL)
    if rows.is_empty():
        return None
    profiles = [p for p in profile_order(metrics["profile"].unique().to_list()) if p != ALL]
    vpns = [v for v in vpn_order(metrics["vpn"].unique().to_list()) if v != ALL]
    bounds = shown_interval(rows)
    values = {(v, p): (x, n, lo, hi) for v, p, x, n, lo, hi in rows.select(
        "vpn", "profile", "value", "n", *bounds).iter_rows()}
    failed = _failed_cells(metrics, test)
    body = []
    for vpn in vpns:
        cells = []
        for profile in profiles:
            if (vpn, profile) in values:
                value, n, low, high = values[(vpn, profile)]
                cells.append(f"{interval_text(value, low, high)} (n={n})")
            else:
                cells.append("failed" if (vpn, profile) in failed else "–")
        body.append((vpn, *cells))
    return Table(("VPN", *profiles), tuple(body),
                 tuple("reference" if is_reference(v) else "" for v in vpns))


LATENCY_COLUMNS: dict[str, str] = {
    "ping.rtt_avg_ms": "RTT avg ms",
    "ping.rtt_min_ms": "RTT min ms",
    "ping.rtt_max_ms": "RTT max ms",
    "ping.jitter_ms": "jitter ms",
    "ping.spike_ratio": "spike ratio",
    "ping.loss_pct": "loss %",
}


def latency_table(metrics: pl.DataFrame) -> Table | None:
    """One row per profile and VPN with every latency figure side by side."""
    rows = metrics.filter(pl.col("metric").is_in(list(LATENCY_COLUMNS)), pl.col("link") == ALL,
                          pl.col("profile") != ALL)
    if rows.is_empty():
        return None
    values = {(v, p, m): x for v, p, m, x in rows.select("vpn", "profile", "metric", "value")
              .iter_rows()}
    body, classes = [], []
    for profile in profile_order(rows["profile"].unique().to_list()):
        for vpn in vpn_order(rows["vpn"].unique().to_list()):
            if not any((vpn, profile, m) in values for m in LATENCY_COLUMNS):
                continue
            body.append((profile, vpn,
                         *(fmt(values.get((vpn, profile, m))) for m in LATENCY_COLUMNS)))
            classes.append("reference" if is_reference(vpn) else "")
    return Table(("profile", "VPN", *LATENCY_COLUMNS.values()), tuple(body), tuple(classes),
                 (0, 1))


def time_table(metrics: pl.DataFrame) -> Table | None:
    """Per VPN over all profiles: seconds and share of each phase, plus the total."""
    rows = metrics.filter(pl.col("metric").str.starts_with("time."), pl.col("profile") == ALL)
    if rows.is_empty():
        return None
    phases = sorted({m.removeprefix("time.").removesuffix("_s")
                     for m in rows["metric"].to_list()
                     if m.endswith("_s") and m != "time.total_s"})
    values = {(v, m): x for v, m, x in rows.select("vpn", "metric", "value").iter_rows()}
    body = []
    vpns = vpn_order(rows["vpn"].unique().to_list())
    for vpn in vpns:
        cells = []
        for phase in phases:
            seconds = values.get((vpn, f"time.{phase}_s"))
            share = values.get((vpn, f"time.{phase}_pct"))
            cells.append("–" if seconds is None else f"{seconds / 60:.1f} min ({fmt(share)}%)")
        total = values.get((vpn, "time.total_s"))
        body.append((vpn, *cells, "–" if total is None else f"{total / 3600:.2f} h"))
    return Table(("VPN", *phases, "total"), tuple(body),
                 tuple("reference" if is_reference(v) else "" for v in vpns))


def failure_table(outcomes: pl.DataFrame) -> Table | None:
    """Every failed attempt with its reason and the file it came from."""
    failed = outcomes.filter(~pl.col("ok"))
    if failed.is_empty():
        return None
    vpns = vpn_order(failed["vpn"].unique().to_list())
    profiles = profile_order(failed["profile"].unique().to_list())
    ordered = failed.with_columns(
        pl.col("vpn").replace_strict({v: i for i, v in enumerate(vpns)},
                                     return_dtype=pl.Int64).alias("_v"),
        pl.col("profile").replace_strict({p: i for i, p in enumerate(profiles)},
                                         return_dtype=pl.Int64).alias("_p"),
    ).sort("_v", "_p", "test", "link")
    body = tuple(
        (v, p, t, link, status, reason or "", source)
        for v, p, t, link, status, reason, source in ordered.select(
            "vpn", "profile", "test", "link", "status", "reason", "source"
        ).iter_rows()
    )
    return Table(("VPN", "profile", "test", "link", "status", "reason", "source"), body,
                 text_columns=(0, 1, 2, 3, 4, 5, 6))


def failure_reasons(outcomes: pl.DataFrame) -> Table | None:
    """Failed attempts grouped by reason, most frequent first."""
    failed = outcomes.filter(~pl.col("ok"))
    if failed.is_empty():
        return None
    grouped = (
        failed.group_by("test", "reason")
        .agg(pl.len().alias("count"), pl.col("vpn").unique().sort().alias("vpns"))
        .sort(["count", "test"], descending=[True, False])
    )
    body = tuple(
        (str(count), test, reason or "", ", ".join(vpns))
        for test, reason, count, vpns in grouped.iter_rows()
    )
    return Table(("count", "test", "reason", "VPNs"), body, text_columns=(1, 2, 3))


def short(value: float | None) -> str:
    """Three significant digits, never an exponent: 864, 86.4, 8.64, 0.864, 0.00864."""
    if value is None:
        return "–"
    size = abs(value)
    if size >= 100 or value == 0:
        return f"{value:,.0f}"
    if size >= 1:
        return f"{value:.{3 - len(str(int(size)))}f}"
    return f"{value:.3g}"


def interval_text(value: float | None, low: float | None, high: float | None) -> str:
    """``812 [798–826]``; just the value when there is no interval."""
    if value is None:
        return "–"
    if low is None or high is None:
        return short(value)
    return f"{short(value)} [{short(low)}–{short(high)}]"


def summary_table(rows: pl.DataFrame, busy: set[tuple[str, str]]) -> Table | None:
    """The answer table: per profile, VPNs in rank order; each headline metric as value
    [95 % CI], throughputs also · % of the reference's. ``busy`` (vpn, profile) cells
    are marked."""
    if rows.is_empty():
        return None
    present = [h for h in HEADLINES if h.metric in set(rows["metric"])]
    cells = {(r["profile"], r["vpn"], r["metric"]): r for r in rows.iter_rows(named=True)}
    order = rows.select("profile", "rank", "vpn").unique(maintain_order=True)
    body, classes = [], []
    for profile, rank, vpn in order.iter_rows():
        values = []
        for headline in present:
            cell = cells.get((profile, vpn, headline.metric))
            if cell is None:
                values.append("–")
                continue
            text = interval_text(cell["value"], cell["lo"], cell["hi"])
            if cell["pct"] is not None and not is_reference(vpn):
                text += f" · {cell['pct']:.0f} %"
            values.append(text)
        first = cells.get((profile, vpn, present[0].metric)) if present else None
        n = str(first["n"]) if first is not None else "–"
        label = f"{vpn} (busy host)" if (vpn, profile) in busy else vpn
        body.append((profile, "–" if rank is None else str(rank), label, *values, n))
        classes.append("reference" if is_reference(vpn) else "")
    columns = ("profile", "rank", "VPN",
               *(f"{h.label} {h.unit} ({'↑' if h.higher_is_better else '↓'})" for h in present),
               f"n ({present[0].label})" if present else "n")
    return Table(columns, tuple(body), tuple(classes), (0, 2))


def busy_table(outcomes: pl.DataFrame, metrics: pl.DataFrame) -> Table | None:
    """Cells measured on a busy host (outcomes column ``busy``), with ``host.busy_pct`` of
    their VPN and profile where the metrics carry it; None when nothing is flagged."""
    if "busy" not in outcomes.columns:
        return None
    flagged = outcomes.filter(pl.col("busy").fill_null(False))
    if flagged.is_empty():
        return None
    share = {(v, p): x for v, p, x in metrics.filter(
        pl.col("metric") == "host.busy_pct", pl.col("link") == ALL,
        pl.col("test") == ALL).select("vpn", "profile", "value").iter_rows()}
    cells = (flagged.group_by("vpn", "profile", "test")
             .agg(pl.len().alias("attempts"), pl.col("link").unique().sort().alias("links")))
    vpns = vpn_order(cells["vpn"].unique().to_list())
    profiles = profile_order(cells["profile"].unique().to_list())
    body = []
    for vpn in vpns:
        for profile in profiles:
            for row in cells.filter(pl.col("vpn") == vpn, pl.col("profile") == profile).sort(
                    "test").iter_rows(named=True):
                pct = share.get((vpn, profile))
                body.append((vpn, profile, row["test"], ", ".join(row["links"]),
                             str(row["attempts"]), "–" if pct is None else f"{fmt(pct)} %"))
    return Table(("VPN", "profile", "test", "links", "attempts flagged",
                  "host.busy_pct (VPN, profile)"), tuple(body), text_columns=(0, 1, 2, 3))


def busy_cells(outcomes: pl.DataFrame) -> set[tuple[str, str]]:
    """(vpn, profile) with at least one attempt flagged busy; empty without the column."""
    if "busy" not in outcomes.columns:
        return set()
    flagged = outcomes.filter(pl.col("busy").fill_null(False))
    return set(zip(flagged["vpn"].to_list(), flagged["profile"].to_list(), strict=True))
