# mypy: disable-error-code="no-untyped-call"
# (plotnine leaves aes() and theme() unannotated.)
"""Draw the figure catalogue to PNG and SVG files: in parallel, byte-reproducibly, and only
the figures whose input data or drawing code changed since the last run into that dir."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
import plotnine as p9

from analysis.figures.builders import FigureContext
from analysis.figures.catalogue import FIGURES, FigureSpec
from analysis.figures.style import DPI

matplotlib.use("Agg")

REPRODUCIBLE_RC: dict[Any, Any] = {"svg.hashsalt": "vpn-bench", "svg.fonttype": "none"}
"""A fixed salt for SVG element ids (not a random one per run). SVG text stays text: it can
be edited and searched in a paper's figure, and writing it is a fifth cheaper than tracing
every glyph as a path."""

PNG_COMPRESS_LEVEL = 3

CACHE_NAME = ".figure-cache.json"
"""Next to the figures dir (which holds only figures): per figure, the key it was drawn from
and the digests of its files."""

#: Modules whose source decides how a figure looks; their bytes are part of every key.
_CODE_MODULES = ("builders.py", "catalogue.py", "geoms.py", "render.py", "style.py")
_CODE_FILES = (
    *(Path(__file__).parent / name for name in _CODE_MODULES),
    Path(__file__).parents[1] / "ordering.py",
    Path(__file__).parents[1] / "summary.py",
)


@dataclass(frozen=True)
class RenderedFigure:
    name: str
    section: str
    caption: str
    png: Path
    svg: Path


def code_version() -> str:
    """Digest of the drawing code and the plotting libraries' versions."""
    digest = hashlib.sha256()
    for path in _CODE_FILES:
        digest.update(path.read_bytes())
    for package in ("plotnine", "matplotlib", "polars", "pandas"):
        digest.update(f"{package}={version(package)}".encode())
    return digest.hexdigest()


def figure_key(spec: FigureSpec, ctx: FigureContext, code: str) -> str:
    """Content hash of what the figure is drawn from: its rows, the axes, size and code."""
    digest = hashlib.sha256()
    facts = {"name": spec.name, "size": [spec.width, spec.height], "dpi": DPI, "code": code,
             "hosts": list(ctx.hosts), "vpns": ctx.vpns, "profiles": ctx.profiles,
             "format": ctx.source_format, "palette": ctx.palette}
    digest.update(json.dumps(facts, sort_keys=True).encode())
    digest.update(ctx.metrics.write_csv(float_precision=None).encode())
    return digest.hexdigest()


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""


def _reproducible_matplotlib() -> None:
    """Fixed SVG ids (no per-run random salt); set in every worker process."""
    matplotlib.rcParams.update(REPRODUCIBLE_RC)


def draw_and_save(sized: Any, png: Path, svg: Path) -> None:
    """Lay ``sized`` (a plotnine plot with its size) out once and write both formats from
    that drawing, byte-reproducibly: fixed SVG ids, no dates, no version strings. Every
    figure of the analysis and of ``compare`` is saved through here."""
    with warnings.catch_warnings(), matplotlib.rc_context(REPRODUCIBLE_RC):
        # plotnine warns about dropped NA rows and layout tweaks; neither is actionable here.
        warnings.simplefilter("ignore")
        figure = sized.draw()
        try:
            # zlib level 3 instead of 6: a tenth of a figure's time for ~5 % larger files.
            figure.savefig(png, dpi=DPI, metadata={"Software": None},
                           pil_kwargs={"compress_level": PNG_COMPRESS_LEVEL})
            figure.savefig(svg, metadata={"Date": None, "Creator": None})
        finally:
            plt.close(figure)


def render_one(spec: FigureSpec, ctx: FigureContext, out_dir: Path) -> bool:
    """Draw one figure from its restricted context; False when the data holds nothing it
    could show."""
    _reproducible_matplotlib()
    plot = spec.build(ctx)
    if plot is None:
        return False
    png, svg = out_dir / f"{spec.name}.png", out_dir / f"{spec.name}.svg"
    sized: Any = plot + p9.theme(figure_size=(spec.width, spec.height), dpi=DPI)
    draw_and_save(sized, png, svg)
    return True


def _render_by_name(name: str, ctx: FigureContext, out_dir: Path) -> bool:
    spec = next(s for s in FIGURES if s.name == name)
    return render_one(spec, ctx, out_dir)


def _load_cache(path: Path) -> dict[str, dict[str, Any]]:
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _still_valid(entry: dict[str, Any] | None, key: str, out_dir: Path, name: str) -> bool:
    """The cached drawing matches ``key`` and its files are there, unmodified."""
    if entry is None or entry.get("key") != key:
        return False
    if not entry.get("drawn"):
        return True
    return (entry.get("png") == _file_digest(out_dir / f"{name}.png")
            and entry.get("svg") == _file_digest(out_dir / f"{name}.svg"))


def render_all(ctx: FigureContext, out_dir: Path, workers: int | None = None,
               cache_path: Path | None = None) -> list[RenderedFigure]:
    """Every figure the data supports, in catalogue order.

    A figure is redrawn only when its key (input rows + code version) differs from the one
    in ``cache_path`` (default: :data:`CACHE_NAME` beside ``out_dir``); the rest are
    CPU-bound matplotlib work spread over processes.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    if cache_path is None:
        cache_path = out_dir.parent / CACHE_NAME
    cache = _load_cache(cache_path)
    code = code_version()
    contexts = {spec.name: ctx.restricted(spec.inputs) for spec in FIGURES}
    keys = {spec.name: figure_key(spec, contexts[spec.name], code) for spec in FIGURES}
    todo = [s for s in FIGURES if not _still_valid(cache.get(s.name), keys[s.name], out_dir,
                                                       s.name)]
    # Largest drawings first, so the last worker is not left with the slowest figure.
    todo.sort(key=lambda s: -s.width * s.height)
    drawn = dict(_draw(todo, contexts, out_dir, workers))
    new_cache: dict[str, dict[str, Any]] = {}
    results = []
    for spec in FIGURES:
        name = spec.name
        entry = cache[name] if name not in drawn else {"key": keys[name], "drawn": drawn[name]}
        png, svg = out_dir / f"{name}.png", out_dir / f"{name}.svg"
        if name in drawn:
            if drawn[name]:
                entry.update(png=_file_digest(png), svg=_file_digest(svg))
            else:
                png.unlink(missing_ok=True)
                svg.unlink(missing_ok=True)
        new_cache[name] = entry
        if entry.get("drawn"):
            results.append(RenderedFigure(name, spec.section,
                                          spec.caption_for(ctx.source_format), png, svg))
    text = json.dumps(new_cache, indent=1, sort_keys=True) + "\n"
    if not cache_path.is_file() or cache_path.read_text(encoding="utf-8") != text:
        cache_path.write_text(text, encoding="utf-8")
    return results


def _draw(todo: list[FigureSpec], contexts: dict[str, FigureContext], out_dir: Path,
          workers: int | None) -> list[tuple[str, bool]]:
    if not todo:
        return []
    count = workers if workers is not None else min(len(todo), os.cpu_count() or 1)
    names = [spec.name for spec in todo]
    if count <= 1 or len(todo) == 1:
        return [(spec.name, render_one(spec, contexts[spec.name], out_dir)) for spec in todo]
    # "spawn", not fork: forking after polars has started its thread pool can deadlock.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=count, mp_context=context) as pool:
        done = pool.map(_render_by_name, names, [contexts[n] for n in names],
                        [out_dir] * len(names))
        return list(zip(names, done, strict=True))
