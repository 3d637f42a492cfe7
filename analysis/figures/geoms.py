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


class _WholePanel:
    """Draws the whole panel as one group (mixed in before a plotnine geom)."""

    #: Both come from the plotnine geom after this mixin (annotations only, no values).
    params: Any
    draw_group: Any

    def draw_panel(self, data: Any, panel_params: Any, coord: Any, ax: Any) -> None:
        self.draw_group(data.reset_index(drop=True), panel_params, coord, ax, self.params)


class panel_text(_WholePanel, p9.geom_text):  # noqa: N801 (plotnine's naming: reads as a geom)
    """geom_text, every label of a panel in one call."""


class panel_segment(_WholePanel, p9.geom_segment):  # noqa: N801
    """geom_segment, every segment of a panel in one LineCollection."""


class panel_linerange(_WholePanel, p9.geom_linerange):  # noqa: N801
    """geom_linerange, every range of a panel in one LineCollection."""


class panel_errorbar(_WholePanel, p9.geom_errorbar):  # noqa: N801
    """geom_errorbar, every bar of a panel (whiskers and caps) in one LineCollection."""
