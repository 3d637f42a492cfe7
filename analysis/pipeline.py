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
from analysis.outputs import DEFAULT_OUT, check_writable, default_out_dir
from analysis.report.build import build_report

__all__ = ["DEFAULT_OUT", "Analysis", "analyse", "check_writable", "default_out_dir",
           "write_outputs", "write_tables"]

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


def write_tables(analysis: Analysis, out_dir: Path) -> None:
    analysis.metrics.write_csv(out_dir / METRICS_CSV)
    analysis.metrics.write_parquet(out_dir / METRICS_PARQUET)
    failures = analysis.dataset.outcomes.filter(~pl.col("ok")).drop("ok", "busy")
    failures.write_csv(out_dir / FAILURES_CSV)


def write_outputs(analysis: Analysis, out_dir: Path, workers: int | None = None) -> list[
        RenderedFigure]:
    """metrics.csv/parquet, failures.csv, every figure and report.html into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    write_tables(analysis, out_dir)
    context = FigureContext(analysis.metrics, analysis.dataset.hosts)
    figures = render_all(context, out_dir / FIGURES_DIR, workers=workers)
    build_report(analysis.dataset, analysis.metrics, figures, out_dir)
    return figures
