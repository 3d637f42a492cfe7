# mypy: disable-error-code="no-untyped-call"
# (plotnine leaves aes() and theme() unannotated.)
"""One look for every figure: VPN colours and order, the reference styling, the theme.

The colour of a VPN is fixed by its name, not by its position in a particular dataset,
so the same VPN keeps its colour across figures *and* across reports.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd  # type: ignore[import-untyped]
import plotnine as p9
import polars as pl

from analysis.ordering import is_reference, vpn_order
from harness.vpns.registry import REFERENCE, by_name_or_alias

REFERENCE_COLOUR = REFERENCE.colour
"""Internal (no VPN) is always neutral dark grey, and drawn dashed where lines are used."""

#: For names the registry does not know (legacy results, other tools' datasets).
SPARE_COLOURS = ("#1B9E77", "#7570B3", "#E7298A", "#66A61E", "#A6761D", "#E6AB02", "#386CB0")

FAILED_COLOUR = "#C0392B"
DPI = 200
"""PNG resolution: sharp when zoomed or printed (110 dpi was blurry)."""


def vpn_palette(vpns: Iterable[str]) -> dict[str, str]:
    """Colour per VPN name: reference grey, the registry's colour of each VPN (older names
    included), others from spare colours."""
    palette: dict[str, str] = {}
    spare = iter(SPARE_COLOURS * 4)
    for vpn in vpn_order(vpns):
        known = by_name_or_alias(vpn)
        if is_reference(vpn):
            palette[vpn] = REFERENCE_COLOUR
        elif known is not None:
            palette[vpn] = known.colour
        else:
            palette[vpn] = next(spare)
    return palette


def theme() -> p9.theme:
    return p9.theme_bw(base_size=10) + p9.theme(
        axis_text_x=p9.element_text(rotation=40, ha="right"),
        strip_background=p9.element_rect(fill="#eeeeee"),
        plot_title=p9.element_text(weight="bold", size=11),
        legend_position="none",
        panel_grid_minor=p9.element_blank(),
    )


def to_plot_frame(
    frame: pl.DataFrame, categories: Mapping[str, list[str]] | None = None
) -> pd.DataFrame:
    """A pandas frame for plotnine, with ordered categoricals for the given columns.

    Every layer of a figure must use the same category lists, or plotnine mixes up
    positions. Plotnine needs pandas; converting by hand avoids a pyarrow dependency.
    """
    table = pd.DataFrame(frame.to_dict(as_series=False))
    for name, dtype in frame.schema.items():
        if dtype.is_float():
            # An all-null column (no interval) would otherwise be an object column, which
            # plotnine takes for a discrete one.
            table[name] = table[name].astype(float)
    for column, order in (categories or {}).items():
        if column in table.columns:
            table[column] = pd.Categorical(table[column], categories=order, ordered=True)
    return table

