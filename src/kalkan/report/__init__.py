"""The brief: the letter's argument made with data, as one self-contained HTML page and a PDF.

``compute_brief`` runs the analysis (people at risk, each force option's posts, the coverage curve),
``compute_panels`` adds the optional panels (simulation, hotspot forecast, UN Framework factors),
``write_brief`` writes ``brief.html`` and ``brief.pdf``. The layout is a list of sections
(:mod:`kalkan.report.sections`); maps and charts are inline SVG (:mod:`kalkan.report.maps`,
:mod:`kalkan.report.charts`).

The names load lazily, so ``import kalkan.report`` (and ``kalkan --help``) stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kalkan._lazy import lazy_exports

if TYPE_CHECKING:
    from kalkan.report.brief import BriefData, compute_brief, render_html, write_brief, write_pdf
    from kalkan.report.panels import compute_panels
    from kalkan.report.sections import Section, build_sections

_WHERE = {
    "BriefData": "brief",
    "Section": "sections",
    "build_sections": "sections",
    "compute_brief": "brief",
    "compute_panels": "panels",
    "render_html": "brief",
    "write_brief": "brief",
    "write_pdf": "brief",
}

__all__ = [
    "BriefData",
    "Section",
    "build_sections",
    "compute_brief",
    "compute_panels",
    "render_html",
    "write_brief",
    "write_pdf",
]


__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
