"""Charts for the brief, drawn with matplotlib into inline SVG (no files, no network)."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

UNIT_STYLE = {
    "monitors": {"color": "#8c8c8c", "marker": "o", "label": "unarmed monitors (observe)"},
    "police": {"color": "#1f4e9c", "marker": "s", "label": "armed police (protect)"},
    "fpu": {"color": "#2c7a3f", "marker": "D", "label": "formed police units (protect)"},
}


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def coverage_curve_svg(
    curves: pd.DataFrame, options: pd.DataFrame, *, target: float, response_minutes: float
) -> str:
    """Officers (x) against the share of the risk-weighted people at risk within reach (y), options marked.

    Parameters
    ----------
    curves : DataFrame
        ``unit, officers, covered_share`` (and optionally ``bound_share``), one row per budget.
    options : DataFrame
        ``label, unit, officers, covered_share, protected_share``, one row per force option.
    target : float
        The coverage target (share, 0-1), drawn as a dashed line.
    """
    import matplotlib

    matplotlib.rcParams["svg.fonttype"] = "none"
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7.2, 3.6))
    ax = figure.subplots()
    for unit, curve in curves.groupby("unit", sort=False):
        style = UNIT_STYLE.get(str(unit), {"color": "#444", "marker": "^", "label": str(unit)})
        curve = curve.sort_values("officers")
        dashed = not str(unit).startswith("police")
        ax.plot(
            curve["officers"],
            curve["covered_share"] * 100,
            color=style["color"],
            lw=1.6,
            ls="--" if dashed else "-",
            drawstyle="steps-post",
            label=f"best placement, {style['label']}",
        )
    for _, option in options.iterrows():
        style = UNIT_STYLE.get(str(option["unit"]), {"color": "#444", "marker": "^"})
        filled = option["protected_share"] > 0
        ax.plot(
            option["officers"],
            option["covered_share"] * 100,
            marker=style["marker"],
            ms=8,
            ls="none",
            color=style["color"],
            mfc=style["color"] if filled else "white",
            mew=1.6,
        )
        ax.annotate(
            str(option["label"]),
            (option["officers"], option["covered_share"] * 100),
            textcoords="offset points",
            xytext=(4, -12),
            fontsize=8,
        )
    ax.axhline(target * 100, color="#bd0026", ls="--", lw=1)
    ax.text(
        ax.get_xlim()[1], target * 100 + 1.5, f"target {target:.0%}", color="#bd0026", fontsize=8, ha="right"
    )
    ax.set_xlabel("officers deployed (each 24/7 post takes several officers: see the options table)")
    ax.set_ylabel(f"% of risk-weighted people at risk\nwithin {response_minutes:g} min of a post")
    ax.set_ylim(0, 102)
    ax.set_xlim(left=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right", frameon=False)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return _svg(figure)
