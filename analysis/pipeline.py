"""The whole analysis: read → metrics → files. Input errors surface before any write."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from analysis.dataset import Dataset
from analysis.errors import AnalysisInputError
from analysis.figures.builders import FigureContext
from analysis.figures.render import RenderedFigure, render_all
from analysis.importers.detect import load_dataset
from analysis.metrics import compute_metrics
from analysis.report.build import build_report

METRICS_CSV = "metrics.csv"
METRICS_PARQUET = "metrics.parquet"
FAILURES_CSV = "failures.csv"
FIGURES_DIR = "figures"
#: Default output root, relative to the working directory: never inside the input, which may be
#: read-only or shared (the legacy dataset).
DEFAULT_OUT = Path("results") / "analysis"


@dataclass(frozen=True)
class Analysis:
    dataset: Dataset
    metrics: pl.DataFrame


def analyse(results_dir: Path, input_format: str = "auto") -> Analysis:
    """Load and compute; pure apart from reading ``results_dir``."""
    dataset = load_dataset(results_dir, input_format)
    return Analysis(dataset, compute_metrics(dataset))


def default_out_dir(results_dir: Path) -> Path:
    """``results/analysis/<name of RESULTS_DIR>`` below the working directory."""
    return DEFAULT_OUT / results_dir.resolve().name


def check_writable(out_dir: Path) -> None:
    """Fail early, before anything is written, if ``out_dir`` cannot be created."""
    existing = out_dir
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise AnalysisInputError(f"{out_dir}: cannot create output here ({existing} is a file)")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise AnalysisInputError(f"{out_dir}: not writable; pass --out DIR")


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
    failures = analysis.dataset.outcomes.filter(~pl.col("ok")).drop("ok")
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
