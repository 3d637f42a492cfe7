"""Tiny HTML building blocks; every piece of text passes through ``escape``."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from html import escape
from pathlib import Path

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0;
       color: #222; background: #fafafa; line-height: 1.45; }
main { max-width: 1200px; margin: 0 auto; padding: 1rem 2rem 4rem; background: #fff; }
h1 { margin-bottom: 0.2rem; } h2 { border-bottom: 2px solid #ddd; padding-top: 1rem; }
nav ul { columns: 3; list-style: none; padding-left: 0; }
.howto { background: #eef5fb; border-left: 4px solid #4a90c2; padding: 0.5rem 1rem;
         margin: 0.5rem 0 1rem; }
.note { background: #fff8e1; border-left: 4px solid #e0a800; padding: 0.4rem 1rem; }
figure { margin: 1rem 0 2rem; } figure img { max-width: 100%; height: auto;
         border: 1px solid #eee; }
figcaption { font-size: 0.9rem; color: #555; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; font-size: 0.85rem; }
th, td { border: 1px solid #ddd; padding: 0.2rem 0.5rem; text-align: right; }
th { background: #f0f0f0; } td:first-child, th:first-child { text-align: left; }
td.text { text-align: left; } tr.reference td { background: #f2f2f2; font-weight: 600; }
.failed { color: #c0392b; } .muted { color: #888; }
.wide { overflow-x: auto; }
.verdict { font-size: 1.05rem; } .verdict li { margin: 0.2rem 0; }
.caption { font-size: 0.9rem; color: #555; margin-bottom: 0; }
@media print {
  body { background: #fff; } main { max-width: none; padding: 0; }
  .wide { overflow: visible; } nav { display: none; }
  table { font-size: 0.7rem; page-break-inside: auto; } tr { page-break-inside: avoid; }
  thead { display: table-header-group; } figure { page-break-inside: avoid; }
  h2 { page-break-after: avoid; }
}
"""


def tag(name: str, content: str = "", **attributes: str) -> str:
    """``<name attr="...">content</name>``; ``class_`` becomes ``class``."""
    rendered = "".join(
        f' {key.rstrip("_").replace("_", "-")}="{escape(value)}"'
        for key, value in attributes.items()
    )
    return f"<{name}{rendered}>{content}</{name}>"


def text(value: str) -> str:
    return escape(value)


def paragraph(value: str, class_: str = "") -> str:
    return tag("p", escape(value), class_=class_) if class_ else tag("p", escape(value))


def table(
    columns: Sequence[str],
    rows: Iterable[Sequence[str]],
    row_classes: Sequence[str] | None = None,
    text_columns: Iterable[int] = (),
) -> str:
    """A plain table; cells are escaped text, ``text_columns`` are left-aligned."""
    left = set(text_columns)
    head = tag("tr", "".join(tag("th", escape(c)) for c in columns)) if any(columns) else ""
    body = []
    for index, row in enumerate(rows):
        cells = "".join(
            tag("td", escape(cell), class_="text") if i in left else tag("td", escape(cell))
            for i, cell in enumerate(row)
        )
        row_class = row_classes[index] if row_classes else ""
        body.append(tag("tr", cells, class_=row_class) if row_class else tag("tr", cells))
    return tag("table", tag("thead", head) + tag("tbody", "".join(body)))


def embedded_png(path: Path, alt: str) -> str:
    """An ``<img>`` carrying the PNG itself, so the report is one self-contained file."""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{escape(alt)}">'


def document(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>\n"
    )
