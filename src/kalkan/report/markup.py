# ruff: noqa: E501  (sentences and HTML kept whole)
"""The brief's HTML building blocks: a section, the citation context, numbers as a reader says them.

Every other module of the brief imports from here and nothing here imports them back, so the
modules form one direction: model (what the brief says) -> computations -> sections (HTML).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from kalkan.report.brief import BriefData


@dataclass(frozen=True)
class Section:
    """One part of the brief: an anchor id, a heading and its HTML body."""

    id: str
    title: str
    html: str
    page_break: bool = False


@dataclass
class Context:
    """What the section builders share: the data and the sources cited so far."""

    data: BriefData
    cited: list[str] = field(default_factory=list)
    shown: list[dict[str, Any]] = field(default_factory=list)
    """Every number recorded as shown: section, what, value, text, source ids, date known (brief.json)."""

    def record(
        self,
        section: str,
        what: str,
        value: float | None,
        text: str,
        source_ids: str | Sequence[str] = "",
        known_on: str = "",
    ) -> str:
        """Remember a number shown on the page (for brief.json) and return its text unchanged."""
        ids = [i for i in (source_ids.split(";") if isinstance(source_ids, str) else source_ids) if i]
        self.shown.append(
            {
                "section": section,
                "what": what,
                "value": value,
                "text": text,
                "source_ids": ids,
                "known_on": known_on or self.data.as_of.isoformat(),
            }
        )
        return text

    def cite(self, ids: str | Sequence[str]) -> str:
        """A citation mark linking to the sources list; remembers the ids for the list."""
        items = [i for i in (ids.split(";") if isinstance(ids, str) else ids) if i]
        for item in items:
            if item not in self.cited:
                self.cited.append(item)
        if not items:
            return ""
        links = ", ".join(f'<a href="#src-{escape(i)}">{escape(i)}</a>' for i in items)
        return f'<sup class="cite">[{links}]</sup>'


def report_step(progress: Callable[[int, int], None], label: str, done: int, total: int) -> None:
    """Absolute progress ``done`` of ``total`` on step ``label``: the label goes to the bar's
    ``describe`` (``kalkan.cli.ProgressBar``) when it has one."""
    describe = getattr(progress, "describe", None)
    if callable(describe):
        describe(label)
    progress(done, total)


def rows_of(frame: pd.DataFrame) -> list[Any]:
    """Rows as named tuples (typed loosely: the columns are mixed)."""
    return list(frame.itertuples(index=False))


def rounded(value: float) -> float:
    """``value`` to two significant figures (three from 100,000), as a reader would say it."""
    if not math.isfinite(value) or value == 0:
        return value
    digits = 2 if abs(value) < 100_000 else 3
    magnitude = math.floor(math.log10(abs(value)))
    step = 10 ** max(magnitude - digits + 1, 0)
    return float(round(value / step) * step)


def say(value: float | None) -> str:
    """A count as a reader says it: "about 630,000", "12", "about 1,900"."""
    if value is None or not math.isfinite(value):
        return "unknown"
    if abs(value) < 100:
        return f"{value:,.0f}"
    r = rounded(value)
    return f"{r:,.0f}" if r == round(value) else f"about {r:,.0f}"


def number(value: float, *, estimated: bool = False, digits: int = 0) -> str:
    """A number for a table; estimated ones are rounded as said and marked "≈" with the ``est`` class."""
    if estimated:
        return f'<span class="est" title="estimated">≈{rounded(value):,.{digits}f}</span>'
    return f"{value:,.{digits}f}"


def share(value: float | None, *, estimated: bool = False) -> str:
    """A share (0-1) as a percentage ("–" when there is none)."""
    if value is None:
        return "–"
    text = f"{value:.0%}" if value >= 0.01 or value == 0 else f"{value:.1%}"
    return f'<span class="est" title="estimated">≈{text}</span>' if estimated else text


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, cls: str = "") -> str:
    """An HTML table (cells are HTML already)."""
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def scenario_units(scenario: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The scenario's admin2 units and their admin1 outlines (GeoJSON features) for the maps."""
    oblasts = set(scenario.settings.get("oblasts", []))
    districts = [f for f in scenario.admin2["features"] if f["properties"].get("oblast") in oblasts]
    codes = {f["properties"].get("oblast_code") for f in districts}
    admin1 = [f for f in scenario.admin1["features"] if f["properties"].get("code") in codes]
    return districts, admin1
