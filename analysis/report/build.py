"""Assemble ``report.html``: one self-contained file with figures, tables and metadata."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from analysis.catalogue import ALL, METRICS
from analysis.dataset import Dataset, MetadataTable
from analysis.figures.render import RenderedFigure
from analysis.ordering import profile_order, vpn_order
from analysis.report import html
from analysis.report.sections import SECTIONS, Section
from analysis.report.tables import Table

REPORT_NAME = "report.html"


def _table_html(table: Table) -> str:
    return html.table(table.columns, table.rows, table.row_classes or None, table.text_columns)


def _summary(dataset: Dataset, metrics: pl.DataFrame) -> str:
    outcomes = dataset.outcomes
    attempts = outcomes.height
    failed = int((~outcomes["ok"]).sum()) if attempts else 0
    vpns = [v for v in vpn_order(metrics["vpn"].unique().to_list()) if v != ALL]
    profiles = [p for p in profile_order(metrics["profile"].unique().to_list()) if p != ALL]
    rate = f"{100.0 * (attempts - failed) / attempts:.1f} %" if attempts else "–"
    rows = (
        ("input", f"{dataset.source_path} ({dataset.source_format} format)"),
        ("VPNs", ", ".join(vpns)),
        ("profiles", ", ".join(profiles)),
        ("hosts (ring order)", " → ".join(dataset.hosts)),
        ("attempts", f"{attempts} ({failed} failed, success rate {rate})"),
        ("generated", datetime.now(UTC).isoformat(timespec="seconds")),
    )
    return html.table(("", ""), rows, text_columns=(0, 1))


def _how_to_read() -> str:
    return html.tag(
        "div",
        html.paragraph(
            "Every number comes from metrics.csv next to this file. 'link=all' values are "
            "means over the directed ring links (sums for parallel TCP); n counts the "
            "successful measurements behind a value. Failed tests never enter a mean: they "
            "are counted in the success rate and listed with their reason at the end. "
            "Internal is the same network without any VPN and is drawn in dark grey (dashed "
            "where it is a reference line) in every figure."
        ),
        class_="howto",
    )


def _metadata(tables: tuple[MetadataTable, ...]) -> str:
    parts = [html.tag("h2", "Run metadata", id="metadata")]
    for table in tables:
        parts.append(html.tag("h3", html.text(table.title)))
        if table.note:
            parts.append(html.paragraph(table.note, class_="note"))
        parts.append(html.table(table.columns, table.rows, text_columns=range(len(table.columns))))
    return "".join(parts)


def _figure(figure: RenderedFigure) -> str:
    link = html.tag("a", "SVG", href=f"figures/{figure.svg.name}")
    caption = html.tag("figcaption", html.text(figure.caption) + " " + link)
    return html.tag("figure", html.embedded_png(figure.png, figure.name) + caption,
                    id=f"fig-{figure.name}")


def _section(section: Section, figures: dict[str, RenderedFigure], metrics: pl.DataFrame,
             outcomes: pl.DataFrame) -> str:
    drawn = [figures[name] for name in section.figures if name in figures]
    tables = [(title, maker(metrics, outcomes)) for title, maker in section.tables]
    present = [(title, table) for title, table in tables if table is not None]
    parts = [html.tag("h2", html.text(section.title), id=section.anchor),
             html.tag("div", html.paragraph(section.howto), class_="howto")]
    if not drawn and not present:
        parts.append(html.paragraph("No data for this section in the input.", class_="muted"))
    parts.extend(_figure(figure) for figure in drawn)
    for title, table in present:
        parts.append(html.tag("h3", html.text(title)))
        parts.append(html.tag("div", _table_html(table), class_="scroll"))
    return "".join(parts)


def _definitions() -> str:
    rows = [(spec.name, spec.unit, spec.description) for spec in METRICS.values()]
    rows.append(("time.<phase>_s / _pct", "s / %",
                 "wall time booked to a phase; share of the scope's total"))
    return html.tag("h2", "Metric definitions", id="definitions") + html.table(
        ("metric", "unit", "definition"), rows, text_columns=(0, 1, 2)
    )


def build_report(dataset: Dataset, metrics: pl.DataFrame, figures: list[RenderedFigure],
                 out_dir: Path) -> Path:
    """Write ``report.html`` into ``out_dir`` and return its path."""
    by_name = {figure.name: figure for figure in figures}
    toc_items = [("metadata", "Run metadata"), *((s.anchor, s.title) for s in SECTIONS),
                 ("definitions", "Metric definitions")]
    toc = html.tag("nav", html.tag("ul", "".join(
        html.tag("li", html.tag("a", html.text(title), href=f"#{anchor}"))
        for anchor, title in toc_items
    )))
    notes = "".join(html.paragraph(note, class_="note") for note in dataset.notes)
    body = "".join(
        [
            html.tag("h1", "vpn-bench analysis"),
            _summary(dataset, metrics),
            _how_to_read(),
            notes,
            toc,
            _metadata(dataset.metadata),
            *(_section(s, by_name, metrics, dataset.outcomes) for s in SECTIONS),
            _definitions(),
        ]
    )
    path = out_dir / REPORT_NAME
    path.write_text(html.document("vpn-bench analysis", body), encoding="utf-8")
    return path
