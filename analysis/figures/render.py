# mypy: disable-error-code="no-untyped-call"
# (plotnine leaves aes() and theme() unannotated.)
"""Draw the figure catalogue to PNG and SVG files."""

from __future__ import annotations

import multiprocessing
import os
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
import plotnine as p9

from analysis.figures.builders import FigureContext
from analysis.figures.catalogue import FIGURES, FigureSpec
from analysis.figures.style import DPI

matplotlib.use("Agg")


@dataclass(frozen=True)
class RenderedFigure:
    name: str
    section: str
    caption: str
    png: Path
    svg: Path


def render_one(spec: FigureSpec, ctx: FigureContext, out_dir: Path) -> RenderedFigure | None:
    """Draw one figure; None when the data holds nothing it could show."""
    plot = spec.build(ctx)
    if plot is None:
        return None
    png, svg = out_dir / f"{spec.name}.png", out_dir / f"{spec.name}.svg"
    sized: Any = plot + p9.theme(figure_size=(spec.width, spec.height), dpi=DPI)
    with warnings.catch_warnings():
        # plotnine warns about dropped NA rows and layout tweaks; neither is actionable here.
        warnings.simplefilter("ignore")
        figure = sized.draw()  # lay out once, write both formats from the same drawing
        try:
            figure.savefig(png, dpi=DPI)
            figure.savefig(svg)
        finally:
            plt.close(figure)
    return RenderedFigure(spec.name, spec.section, spec.caption, png, svg)


def _render_by_name(name: str, ctx: FigureContext, out_dir: Path) -> RenderedFigure | None:
    spec = next(s for s in FIGURES if s.name == name)
    return render_one(spec, ctx, out_dir)


def render_all(ctx: FigureContext, out_dir: Path, workers: int | None = None) -> list[
        RenderedFigure]:
    """Every figure the data supports, in catalogue order.

    Rendering is CPU-bound matplotlib work, so figures are spread over processes.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    count = workers if workers is not None else min(len(FIGURES), os.cpu_count() or 1)
    names = [spec.name for spec in FIGURES]
    if count <= 1:
        results = [render_one(spec, ctx, out_dir) for spec in FIGURES]
    else:
        # "spawn", not fork: forking after polars has started its thread pool can deadlock.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=count, mp_context=context) as pool:
            results = list(pool.map(_render_by_name, names, [ctx] * len(names),
                                    [out_dir] * len(names)))
    return [figure for figure in results if figure is not None]
