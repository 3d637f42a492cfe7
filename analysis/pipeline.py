"""The whole analysis: read → metrics → files. Input errors surface before any write."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from analysis.dataset import Dataset
from analysis.figures.builders import FigureContext
from analysis.figures.render import RenderedFigure, render_all
from analysis.importers.detect import load_dataset
from analysis.metrics import compute_metrics
from analysis.outputs import DEFAULT_OUT, default_out_dir
from analysis.report.build import build_report

__all__ = ["DEFAULT_OUT", "Analysis", "analyse", "default_out_dir", "write_outputs",
           "write_tables"]

METRICS_CSV = "metrics.csv"
METRICS_PARQUET = "metrics.parquet"
FAILURES_CSV = "failures.csv"
FIGURES_DIR = "figures"


@dataclass(frozen=True)
class Analysis:
    dataset: Dataset
    metrics: pl.DataFrame


def analyse(results_dir: Path, input_format: str = "auto") -> Analysis:
    """Load and compute; pure apart from reading ``results_dir``."""
    dataset = load_dataset(results_dir, input_format)
    return Analysis(dataset, compute_metrics(dataset))


SIGNIFICANT_DIGITS = 12
"""Floats are written rounded to this many significant digits: far below any measurement's
precision, and it removes last-bit differences of parallel sums, so the same input gives
byte-identical files."""


def canonical(frame: pl.DataFrame) -> pl.DataFrame:
    """Every float column rounded to :data:`SIGNIFICANT_DIGITS` significant digits."""
    floats = [name for name, dtype in frame.schema.items() if dtype.is_float()]
    return frame.with_columns(pl.col(floats).round_sig_figs(SIGNIFICANT_DIGITS))


def write_tables(analysis: Analysis, out_dir: Path) -> None:
    """metrics.csv/parquet and failures.csv; byte-identical for the same input (no
    timestamps; parquet without statistics whose encoding could vary, one row group)."""
    metrics = canonical(analysis.metrics)
    metrics.write_csv(out_dir / METRICS_CSV)
    metrics.write_parquet(out_dir / METRICS_PARQUET, statistics=False,
                          row_group_size=max(1, metrics.height))
    failures = analysis.dataset.outcomes.filter(~pl.col("ok")).drop("ok", "busy")
    failures.write_csv(out_dir / FAILURES_CSV)


def write_outputs(analysis: Analysis, out_dir: Path, workers: int | None = None) -> list[
        RenderedFigure]:
    """metrics.csv/parquet, failures.csv, every figure and report.html into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    write_tables(analysis, out_dir)
    metrics = canonical(analysis.metrics)
    context = FigureContext(metrics, analysis.dataset.hosts, analysis.dataset.source_format)
    figures = render_all(context, out_dir / FIGURES_DIR, workers=workers)
    build_report(analysis.dataset, metrics, figures, out_dir)
    return figures
