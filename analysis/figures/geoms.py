"""plotnine geoms that draw a panel in one call instead of one call per group.

plotnine draws text, segments, ranges and error bars group by group, and each group is a
fresh copy of the panel's rows through pandas and the coordinate transform. With the VPN
on a discrete axis every VPN is its own group, so these copies were the largest single cost
of drawing the report: 11 of 33 s of profiled drawing on the legacy dataset
(``benchmarks/analysis_speed.py`` reports the whole). The artists are the same ones; only
the grouping of the calls differs. Use them only where the drawing does not depend on the
groups: every geom here draws independent items (labels, straight segments), and the line
type must be the same throughout a panel (geom_segment takes the first row's).
"""

from __future__ import annotations

from typing import Any

import plotnine as p9


def _draw_whole_panel(geom: Any, data: Any, panel_params: Any, coord: Any, ax: Any) -> None:
    geom.draw_group(data.reset_index(drop=True), panel_params, coord, ax, geom.params)


class panel_text(p9.geom_text):  # noqa: N801 (plotnine's naming, so it reads like a geom)
    """geom_text, every label of a panel in one call."""

    def draw_panel(self, data: Any, panel_params: Any, coord: Any, ax: Any) -> None:
        _draw_whole_panel(self, data, panel_params, coord, ax)


class panel_segment(p9.geom_segment):  # noqa: N801
    """geom_segment, every segment of a panel in one LineCollection."""

    def draw_panel(self, data: Any, panel_params: Any, coord: Any, ax: Any) -> None:
        _draw_whole_panel(self, data, panel_params, coord, ax)


class panel_linerange(p9.geom_linerange):  # noqa: N801
    """geom_linerange, every range of a panel in one LineCollection."""

    def draw_panel(self, data: Any, panel_params: Any, coord: Any, ax: Any) -> None:
        _draw_whole_panel(self, data, panel_params, coord, ax)


class panel_errorbar(p9.geom_errorbar):  # noqa: N801
    """geom_errorbar, every bar of a panel (whiskers and caps) in one LineCollection."""

    def draw_panel(self, data: Any, panel_params: Any, coord: Any, ax: Any) -> None:
        _draw_whole_panel(self, data, panel_params, coord, ax)
