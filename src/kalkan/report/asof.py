# ruff: noqa: E501  (plain-language sentences, kept whole)
"""What was known on a day: the scenario as of ``D``, and the later knowledge set apart with its dates.

A brief "as of D" may use in its body, and in every computation, only what was known on D. Each
report, figure and incident carries the day it became known:

* a source: its ``known_on`` column where the scenario gives one, else its publication ``date`` read
  at the *latest* day it can mean (a month means its last day, a year its 31 December), so a
  vague date never makes a later report look earlier; a report whose date cannot be read is later
  knowledge, never known on D;
* a headline figure or an incident: its own ``known_on`` where given, else the day its earliest
  source became known.

Reference data (the scenario's ``[[data_source]]`` entries: place points, boundaries, census tables)
describe where people live, not what happened, and stay usable whatever their date; the method
section says so.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import pandas as pd

from kalkan.scenarios import Scenario

_MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_abbr) if m}
_MONTHS |= {m.lower(): i for i, m in enumerate(calendar.month_name) if m}


def latest_day(text: object) -> date | None:
    """The latest day a written date can mean (None if there is no date in it)."""
    if text is None or text is pd.NaT or (isinstance(text, float) and text != text):
        return None
    if isinstance(text, pd.Timestamp):
        return text.date()
    if isinstance(text, date):
        return text
    s = str(text).strip()
    if not s:
        return None
    iso = re.search(r"(\d{4})-(\d{2})-(\d{2})", s)
    if iso:
        return date(int(iso[1]), int(iso[2]), int(iso[3]))
    full = re.search(r"(\d{1,2})\s+([A-Za-z]{3,9})\.?,?\s+(\d{4})", s)
    if full and full[2].lower() in _MONTHS:
        return date(int(full[3]), _MONTHS[full[2].lower()], int(full[1]))
    month = re.search(r"([A-Za-z]{3,9})\.?\s+(\d{4})", s)
    if month and month[1].lower() in _MONTHS:
        year, m = int(month[2]), _MONTHS[month[1].lower()]
        return date(year, m, calendar.monthrange(year, m)[1])
    year_only = re.fullmatch(r"\(?(\d{4})\)?", s)
    if year_only:
        return date(int(year_only[1]), 12, 31)
    return None


@dataclass(frozen=True)
class LaterItem:
    """Something known only after the brief's date: when, what, and its sources."""

    known_on: date | None
    text: str
    source_ids: tuple[str, ...]
    kind: str  # "figure", "incident", "decision", ...

    @property
    def when(self) -> str:
        """The date in words (day, month name, year), or "date unknown"."""
        return f"{self.known_on.day} {self.known_on:%B %Y}" if self.known_on else "date unknown"


def source_days(scenario: Scenario) -> dict[str, date | None]:
    """Source id -> the day it became known (None: cannot be read, so never known on a given day)."""
    sources = scenario.sources
    reference = {str(d.get("source_id")) for d in scenario.settings.get("data_source", [])}
    days: dict[str, date | None] = {}
    for row in sources.itertuples(index=False):
        sid = str(row.source_id)
        given = getattr(row, "known_on", None)
        day = latest_day(given) if given is not None and str(given) not in ("", "nan", "NaT") else None
        days[sid] = day or latest_day(getattr(row, "date", ""))
        if sid in reference:
            days[sid] = date.min  # reference data: usable whatever its date (see the module docstring)
    return days


def known_day(ids: object, days: dict[str, date | None], own: object = None) -> date | None:
    """The day an item citing ``ids`` (";"-separated or a list) became known: its own, else its earliest source."""
    mine = latest_day(own) if own is not None and str(own) not in ("", "nan", "NaT") else None
    if mine is not None:
        return mine
    listed: Any = ids or []
    items = [i for i in (str(ids).split(";") if isinstance(ids, str) else list(listed)) if i]
    known = [day for i in items if (day := days.get(i)) is not None]
    return min(known) if known else None


def _readable(item_day: date | None) -> str:
    return "" if item_day is None else item_day.isoformat()


def iso(value: object) -> str:
    """A day as ISO text ("" when there is none): from a date, a Timestamp or text."""
    if value is None or value is pd.NaT or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    day = latest_day(value)
    return day.isoformat() if day else ""


def as_of_view(scenario: Scenario, day: date) -> tuple[Scenario, list[LaterItem]]:
    """The scenario as known on ``day`` and the later items (figures, incidents, decisions) with their dates.

    The returned scenario's ``incidents`` and ``facts`` hold only what was known on ``day`` (each has a
    ``known_on`` column); everything else is unchanged. The later items come sorted by date. When the
    scenario loader provides its own as-of view (``Scenario.as_of_view``), that one is used.
    """
    native = getattr(scenario, "as_of_view", None)
    if callable(native):
        view = native(day)
        found: list[LaterItem] = []
        row: Any
        for row in view.later.itertuples(index=False):
            ids = (
                row.source_ids
                if isinstance(row.source_ids, list | tuple)
                else str(row.source_ids or "").split(";")
            )
            when = latest_day(iso(row.date)) if iso(row.date) else None
            found.append(LaterItem(when, str(row.text), tuple(i for i in ids if i), str(row.kind)))
        found.sort(key=lambda i: (i.known_on or date.max, i.kind))
        return view.scenario, found
    days = source_days(scenario)
    later: list[LaterItem] = []

    incidents = scenario.incidents.copy()
    own = incidents["known_on"] if "known_on" in incidents.columns else pd.Series(None, index=incidents.index)
    known = [known_day(s, days, o) for s, o in zip(incidents["source_ids"], own, strict=True)]
    incidents["known_on"] = [_readable(k) for k in known]
    keep = [k is not None and k <= day for k in known]
    for row, k, ok in zip(incidents.itertuples(index=False), known, keep, strict=True):
        if not ok:
            text = f"{getattr(row, 'raw_date', '')}, {getattr(row, 'place_name', '')}: {getattr(row, 'event_type', '')}"
            later.append(
                LaterItem(
                    k, f"Incident reported later: {text}", tuple(str(row.source_ids).split(";")), "incident"
                )
            )
    incidents = incidents[keep].reset_index(drop=True)

    facts = scenario.facts.copy()
    if len(facts):
        own = facts["known_on"] if "known_on" in facts.columns else pd.Series(None, index=facts.index)
        known = [known_day(s, days, o) for s, o in zip(facts["source_ids"], own, strict=True)]
        facts["known_on"] = [_readable(k) for k in known]
        keep = [k is not None and k <= day for k in known]
        fact: Any
        for fact, k, ok in zip(facts.itertuples(index=False), known, keep, strict=True):
            row = fact
            if not ok and bool(row.headline):
                what = str(row.what)
                about = what.startswith("about ")
                what = what.removeprefix("about ")
                text = f"{'about ' if about else ''}{row.value:,.0f} {what}" if pd.notna(row.value) else what
                later.append(LaterItem(k, text, tuple(str(row.source_ids).split(";")), "figure"))
        facts = facts[keep].reset_index(drop=True)

    for item in scenario.settings.get("known_later", []):
        k = latest_day(item.get("date") or item.get("known_on"))
        if k is None or k > day:
            ids = item.get("source_ids", [])
            source_ids = tuple(ids if isinstance(ids, list) else str(ids).split(";"))
            later.append(
                LaterItem(k, str(item.get("text", "")), source_ids, str(item.get("kind", "decision")))
            )
    later.sort(key=lambda i: (i.known_on or date.max, i.kind != "decision"))
    return replace(scenario, incidents=incidents, facts=facts), later
