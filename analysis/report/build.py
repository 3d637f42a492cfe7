"""Assemble ``report.html``: one self-contained file that opens with the answer (which VPN
is fastest, by how much, how sure), then the sections, then an appendix with the metadata.

The same input gives the same bytes: no wall-clock time unless ``SOURCE_DATE_EPOCH`` asks
for one."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from analysis.catalogue import ALL, METRICS
from analysis.dataset import Dataset, MetadataTable
from analysis.figures.render import RenderedFigure
from analysis.ordering import REFERENCE_VPN, is_reference, profile_order, vpn_order
from analysis.report import html
from analysis.report.sections import SECTIONS, Section
from analysis.report.tables import (
    Table,
    busy_cells,
    busy_table,
    interval_text,
    short,
    summary_table,
)
from analysis.summary import AboveReference, Verdict, above_reference, headline_rows, verdicts

REPORT_NAME = "report.html"
SUMMARY_ANCHOR = "summary"
APPENDIX_ANCHOR = "appendix"


def _table_html(table: Table) -> str:
    return html.table(table.columns, table.rows, table.row_classes or None, table.text_columns)


def generated_at(environ: Mapping[str, str]) -> str | None:
    """ISO time from ``SOURCE_DATE_EPOCH`` (reproducible builds), else None: the report
    carries no wall-clock time of its own, so re-running it changes no byte."""
    raw = environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not raw.isdigit():
        return None
    return datetime.fromtimestamp(int(raw), UTC).isoformat(timespec="seconds")


def reference_name(metrics: pl.DataFrame) -> str | None:
    """The reference VPN as spelled in the data, or None when the data has none."""
    return next((v for v in vpn_order(metrics["vpn"].unique().to_list()) if is_reference(v)),
                None)


def with_reference(text: str, reference: str | None) -> str:
    """Fill ``{reference}`` in section prose with the name the data uses; never a name the
    data does not have."""
    return text.replace("{reference}", reference if reference is not None
                        else f"the reference without VPN ({REFERENCE_VPN}, not in this input)")


def _verdict_text(verdict: Verdict, rows: pl.DataFrame) -> str:
    unit = verdict.metric.unit
    best = "fastest" if verdict.metric.higher_is_better else "best"
    leader = rows.filter(pl.col("profile") == verdict.profile, pl.col("vpn") == verdict.leader,
                         pl.col("metric") == verdict.metric.metric).row(0, named=True)
    parts = [f"{verdict.profile}: {verdict.leader} is {best} on {verdict.metric.label} with "
             f"{interval_text(leader['value'], leader['lo'], leader['hi'])} {unit}"]
    if leader["lo"] is not None:
        parts[0] += " (95 % CI in brackets)"
    if leader["pct"] is not None:
        parts.append(f"{leader['pct']:.0f} % of the reference's throughput")
    if verdict.runner_up is not None and verdict.margin_pct is not None:
        parts.append(f"{verdict.margin_pct:.1f} % ahead of {verdict.runner_up} "
                     f"({short(verdict.runner_up_value)} {unit})")
        if verdict.separated is True:
            parts.append("the intervals do not overlap: the lead is beyond noise")
        elif verdict.separated is False:
            parts.append("the intervals overlap: within noise, not a clear lead")
        else:
            parts.append("no intervals (too few repetitions) to say whether the lead is real")
    elif verdict.runner_up is None:
        parts.append("the only VPN measured")
    return "; ".join(parts) + "."


def _above_reference_note(cells: list[AboveReference]) -> str:
    """One caveat for every throughput above 100 % of the reference."""
    listed = ", ".join(f"{c.vpn} {c.label} {c.pct:.0f} % ({c.profile})" for c in cells)
    return (f"Above the reference: {listed}. A VPN cannot outrun the bare network; the "
            "reference itself was measured lower in that profile. See n and the "
            "intervals before reading this as a gain.")


def _answer(dataset: Dataset, metrics: pl.DataFrame, figures: dict[str, RenderedFigure]) -> str:
    """The first screen: verdicts, the summary table, the overview figure, busy cells."""
    rows = headline_rows(metrics)
    parts = [html.tag("h2", "The answer", id=SUMMARY_ANCHOR)]
    found = verdicts(rows)
    if found:
        parts.append(html.tag("ul", "".join(
            html.tag("li", html.text(_verdict_text(v, rows))) for v in found),
            class_="verdict"))
    else:
        parts.append(html.paragraph("No headline metric (TCP, parallel TCP, UDP, ping) in the "
                                    "input: see the sections below.", class_="muted"))
    busy = busy_cells(dataset.outcomes)
    table = summary_table(rows, busy)
    if table is not None:
        parts.append(html.paragraph(
            "Per profile, VPNs ranked by the first column (↑ higher is better, ↓ lower is "
            "better). Each cell: value (link=all) [95 % confidence interval]; throughput "
            "cells add · % of the reference's throughput. n = measurements behind the first "
            "column.",
            class_="caption"))
        parts.append(_table_html(table))
        above = above_reference(rows)
        if above:
            parts.append(html.paragraph(_above_reference_note(above),
                                        class_="note"))
    if "overview" in figures:
        parts.append(_figure(figures["overview"]))
    flagged = busy_table(dataset.outcomes, metrics)
    if flagged is not None:
        parts.append(html.tag("h3", "Flagged cells (busy host)", id="busy"))
        parts.append(html.paragraph(
            "These cells were measured while a host was busy (CPU steal, run queue or "
            "scheduling latency over the threshold): their numbers may be low or noisy. "
            "They are marked '(busy host)' in the table above.", class_="note"))
        parts.append(_table_html(flagged))
    return "".join(parts)


def _input_line(dataset: Dataset, metrics: pl.DataFrame) -> str:
    outcomes = dataset.outcomes
    attempts = outcomes.height
    failed = int((~outcomes["ok"]).sum()) if attempts else 0
    vpns = [v for v in vpn_order(metrics["vpn"].unique().to_list()) if v != ALL]
    profiles = [p for p in profile_order(metrics["profile"].unique().to_list()) if p != ALL]
    rate = f"{100.0 * (attempts - failed) / attempts:.1f} %" if attempts else "–"
    rows = [
        ("input", f"{dataset.source_path} ({dataset.source_format} format)"),
        ("VPNs", ", ".join(vpns)),
        ("profiles", ", ".join(profiles)),
        ("hosts (ring order)", " → ".join(dataset.hosts)),
        ("attempts", f"{attempts} ({failed} failed, success rate {rate})"),
    ]
    stamp = generated_at(os.environ)
    if stamp is not None:
        rows.append(("generated (SOURCE_DATE_EPOCH)", stamp))
    return html.table(("", ""), rows, text_columns=(0, 1))


def _how_to_read(reference: str | None) -> str:
    return html.tag(
        "div",
        html.paragraph(with_reference(
            "Every number comes from metrics.csv next to this file. 'link=all' values are "
            "means over the directed ring links (sums for parallel TCP); n counts the "
            "successful measurements behind a value (a red 'n=1!' is a single measurement, "
            "without interval), and brackets or whiskers are its 95 % confidence interval, "
            "shown within what can be measured (nothing below 0, no share above 100 %; "
            "metrics.csv keeps the raw bounds). Percentages of {reference} are given for "
            "throughput only. Failed tests never enter a mean: they are counted in the "
            "success rate and listed with their reason. {reference} is the same network "
            "without any VPN and is drawn in dark grey (dashed where it is a reference line) "
            "in every figure.", reference)),
        class_="howto",
    )


def _metadata(tables: tuple[MetadataTable, ...]) -> str:
    parts = [html.tag("h3", "Run metadata", id="metadata")]
    if not tables:
        parts.append(html.paragraph("The input records no run metadata.", class_="muted"))
    for table in tables:
        parts.append(html.tag("h4", html.text(table.title)))
        if table.note:
            parts.append(html.paragraph(table.note, class_="note"))
        if table.rows:
            parts.append(html.table(table.columns, table.rows,
                                    text_columns=range(len(table.columns))))
    return "".join(parts)


def _figure(figure: RenderedFigure) -> str:
    link = html.tag("a", "SVG", href=f"figures/{figure.svg.name}")
    caption = html.tag("figcaption", html.text(figure.caption) + " " + link)
    return html.tag("figure", html.embedded_png(figure.png, figure.name) + caption,
                    id=f"fig-{figure.name}")


def _section(section: Section, figures: dict[str, RenderedFigure], metrics: pl.DataFrame,
             outcomes: pl.DataFrame, reference: str | None) -> str:
    drawn = [figures[name] for name in section.figures if name in figures]
    tables = [(title, maker(metrics, outcomes)) for title, maker in section.tables]
    present = [(title, table) for title, table in tables if table is not None]
    howto = with_reference(section.howto, reference)
    if section.data_note is not None:
        howto = f"{howto} {section.data_note(metrics)}".strip()
    parts = [html.tag("h2", html.text(section.title), id=section.anchor),
             html.tag("div", html.paragraph(howto), class_="howto")]
    if not drawn and not present:
        parts.append(html.paragraph("No data for this section in the input.", class_="muted"))
    for figure in drawn:
        parts.append(_figure(RenderedFigure(
            figure.name, figure.section, with_reference(figure.caption, reference),
            figure.png, figure.svg)))
    for title, table in present:
        parts.append(html.tag("h3", html.text(with_reference(title, reference))))
        # Never a height-limited scroll box (it clipped the failures table): wide tables
        # scroll sideways on screen and print in full.
        parts.append(html.tag("div", _table_html(table), class_="wide"))
    return "".join(parts)


def _definitions() -> str:
    rows = [(spec.name, spec.unit, spec.description) for spec in METRICS.values()]
    rows.append(("time.<phase>_s / _pct", "s / %",
                 "wall time booked to a phase; share of the scope's total"))
    return html.tag("h3", "Metric definitions", id="definitions") + html.table(
        ("metric", "unit", "definition"), rows, text_columns=(0, 1, 2)
    )


def build_report(dataset: Dataset, metrics: pl.DataFrame, figures: list[RenderedFigure],
                 out_dir: Path) -> Path:
    """Write ``report.html`` into ``out_dir`` and return its path."""
    by_name = {figure.name: figure for figure in figures}
    reference = reference_name(metrics)
    toc_items = [(SUMMARY_ANCHOR, "The answer"), *((s.anchor, s.title) for s in SECTIONS),
                 (APPENDIX_ANCHOR, "Appendix: run metadata, versions, MTU, definitions")]
    toc = html.tag("nav", html.tag("ul", "".join(
        html.tag("li", html.tag("a", html.text(title), href=f"#{anchor}"))
        for anchor, title in toc_items
    )))
    notes = "".join(html.paragraph(note, class_="note") for note in dataset.notes)
    body = "".join(
        [
            html.tag("h1", "vpn-bench analysis"),
            _answer(dataset, metrics, by_name),
            html.tag("h2", "About this report", id="about"),
            _input_line(dataset, metrics),
            _how_to_read(reference),
            notes,
            toc,
            *(_section(s, by_name, metrics, dataset.outcomes, reference) for s in SECTIONS),
            html.tag("h2", "Appendix", id=APPENDIX_ANCHOR),
            _metadata(dataset.metadata),
            _definitions(),
        ]
    )
    path = out_dir / REPORT_NAME
    path.write_text(html.document("vpn-bench analysis", body), encoding="utf-8")
    return path
