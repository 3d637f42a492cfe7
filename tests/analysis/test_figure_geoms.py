# mypy: disable-error-code="no-untyped-call"
"""The panel-at-a-time geoms draw what plotnine's own geoms draw, in fewer calls."""

from __future__ import annotations

from typing import Any

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd  # type: ignore[import-untyped]
import plotnine as p9
import pytest
from matplotlib.collections import LineCollection

from analysis.figures.geoms import panel_errorbar, panel_linerange, panel_segment, panel_text

matplotlib.use("Agg")

FRAME = pd.DataFrame({
    "vpn": pd.Categorical(["a", "b", "c", "a", "b", "c"], categories=["a", "b", "c"]),
    "profile": ["baseline"] * 3 + ["high"] * 3,
    "value": [3.0, 2.0, 1.0, 1.5, 1.0, 0.5],
    "lo": [2.5, 1.5, 0.5, 1.0, 0.8, 0.2],
    "hi": [3.5, 2.5, 1.5, 2.0, 1.2, 0.8],
})


def _drawn(layer: Any) -> tuple[list[list[tuple[Any, ...]]], list[list[tuple[float, ...]]]]:
    """Per panel: its texts (label, position, colour) and its line segments (with colour),
    sorted."""
    plot = (p9.ggplot(FRAME, p9.aes(x="vpn", y="value", color="vpn")) + layer
            + p9.facet_wrap("profile"))
    figure = plot.draw()
    try:
        figure.canvas.draw()
        panels = [ax for ax in figure.axes if ax.get_label() != "<colorbar>"]
        texts = [sorted((t.get_text(), *np.round(t.get_position(), 9),
                         matplotlib.colors.to_hex(t.get_color())) for t in ax.texts)
                 for ax in panels]
        segments = []
        for ax in panels:
            found = []
            for collection in ax.collections:
                if isinstance(collection, LineCollection):
                    colours = collection.get_colors()
                    for i, segment in enumerate(collection.get_segments()):
                        colour = colours[i % len(colours)]
                        found.append(tuple(np.round(np.concatenate(
                            [np.ravel(segment), colour]), 9)))
            segments.append(sorted(found))
        return texts, segments
    finally:
        plt.close(figure)


@pytest.mark.parametrize(("theirs", "ours"), [
    (p9.geom_text(p9.aes(label="value")), panel_text(p9.aes(label="value"))),
    (p9.geom_errorbar(p9.aes(ymin="lo", ymax="hi"), width=0.3),
     panel_errorbar(p9.aes(ymin="lo", ymax="hi"), width=0.3)),
    (p9.geom_linerange(p9.aes(ymin="lo", ymax="hi")),
     panel_linerange(p9.aes(ymin="lo", ymax="hi"))),
    (p9.geom_segment(p9.aes(xend="vpn", y="lo", yend="hi")),
     panel_segment(p9.aes(xend="vpn", y="lo", yend="hi"))),
], ids=["text", "errorbar", "linerange", "segment"])
def test_panel_geoms_draw_the_same_items_as_plotnines(theirs: Any, ours: Any) -> None:
    expected = _drawn(theirs)
    texts, segments = _drawn(ours)
    assert (texts, segments) == expected
    assert any(texts) or any(segments)  # the comparison saw something drawn


def test_a_panel_s_segments_are_one_collection() -> None:
    """The point of the panel geoms: one draw call, so one LineCollection per panel, where
    plotnine's own draws one per group (here one per VPN)."""
    def collections(layer: Any) -> list[int]:
        plot = (p9.ggplot(FRAME, p9.aes(x="vpn", y="value", color="vpn")) + layer
                + p9.facet_wrap("profile"))
        figure = plot.draw()
        try:
            return [sum(isinstance(c, LineCollection) for c in ax.collections)
                    for ax in figure.axes]
        finally:
            plt.close(figure)

    assert collections(p9.geom_errorbar(p9.aes(ymin="lo", ymax="hi"))) == [3, 3]
    assert collections(panel_errorbar(p9.aes(ymin="lo", ymax="hi"))) == [1, 1]
