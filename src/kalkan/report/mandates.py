# ruff: noqa: E501  (plain-language sentences, kept whole)
"""Mandate options as planners compare them: unarmed monitors, armed individual police, formed police units.

For each: its size and officers on duty, its powers and what it protects, the earliest day it can be in
place from the force-generation pledges (:func:`kalkan.plan.timeline.load_pledges`: the scenario's
pledges, else kalkan's illustrative ones, and the brief says which), its cost where the scenario cites
a figure, and the host government's consent as the scenario's sources of that date report it
(``[[mandate]]`` entries of scenario.toml: ``unit, cost, cost_source_ids, consent, consent_source_ids,
consent_known_on``, optionally ``powers`` and ``protects``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from kalkan.plan.units import UNIT_TYPES, ForceOption, posts_for
from kalkan.report.asof import latest_day
from kalkan.report.decision import in_words, on_duty

if TYPE_CHECKING:
    from kalkan.report.brief import BriefData

#: What each mandate type may do and what that means for the people at risk (generic doctrine: UN
#: Police, "Formed Police Units", DPKO/DFS policy on formed police units; individual officers, monitors).
DOCTRINE = {
    "monitors": ("Unarmed monitors", "observe, report and liaise; no arms and no executive powers",
                 "no one directly: their presence and reports may deter, they cannot stop an attack"),
    "police": ("Armed individual police officers", "armed; advise and patrol beside host police; use force in "
               "self-defence and to protect others where the mandate allows",
               "people within reach of a post, as far as two officers on duty can intervene"),
    "fpu": ("Formed police units", "armed units of about 140 deploying whole; crowd control and protection of "
            "people and sites; executive powers only where the mandate gives them",
            "people within reach of a post, with a section on duty that can hold a crowd back"),
}  # fmt: skip


@dataclass
class MandateRow:
    """One mandate type, sized for comparison with the recommendation."""

    unit: str
    name: str
    size: int
    size_words: str
    posts: int
    on_duty: int
    powers: str
    protects: str
    earliest_day: int | None
    pledges_illustrative: bool
    cost: str = ""
    cost_source_ids: list[str] = field(default_factory=list)
    consent: str = ""
    consent_source_ids: list[str] = field(default_factory=list)
    consent_known_on: str = ""


def _size(data: BriefData, unit: str) -> int:
    rec = data.decision.recommendation if data.decision is not None else None
    presets = [
        int(o) for o, u in zip(data.options["officers"], data.options["unit"], strict=True) if u == unit
    ]
    if unit == "monitors":
        return max(presets) if presets else 100
    if unit == "police":
        if rec is not None and rec.unit == "police":
            return rec.officers
        return min(presets) if presets else 300
    # formed police units: whole units holding at least the recommendation's officers on duty
    duty = rec.on_duty if rec is not None else 20
    per_unit = posts_for(ForceOption("fpu", 140)) * UNIT_TYPES["fpu"].officers_per_post
    return 140 * max(1, math.ceil(duty / max(per_unit, 1)))


def _earliest(pledges: Any, unit: str, size: int) -> int | None:
    rows = pledges[pledges["unit"] == unit].sort_values("day_in_place")
    total = 0
    for officers, day in zip(rows["officers"], rows["day_in_place"], strict=True):
        total += int(officers)
        if total >= size:
            return int(day)
    return None


def mandate_rows(data: BriefData) -> list[MandateRow]:
    """The three mandate types compared; consent and cost only as the scenario's sources report them by as_of."""
    from kalkan.plan.timeline import load_pledges

    pledges = load_pledges(scenario=data.scenario)
    illustrative = bool(pledges["illustrative"].any()) if "illustrative" in pledges.columns else False
    given = {str(m.get("kind", m.get("unit"))): m for m in data.scenario.settings.get("mandate", [])}
    rows = []
    for unit, (name, powers, protects) in DOCTRINE.items():
        size = _size(data, unit)
        posts = posts_for(ForceOption(unit, size))
        extra = given.get(unit, {})
        known = latest_day(extra.get("consent_known_on"))
        consent_ok = known is None or known <= data.as_of
        rows.append(
            MandateRow(
                unit=unit,
                name=str(extra.get("label", name)).capitalize(),
                size=size,
                size_words=in_words(unit, size),
                posts=posts,
                on_duty=on_duty(unit, posts),
                powers=str(extra.get("powers", powers)),
                protects=str(extra.get("protects", protects)),
                earliest_day=_earliest(pledges, unit, size),
                pledges_illustrative=illustrative,
                cost=str(extra.get("cost", "")),
                cost_source_ids=list(extra.get("cost_source_ids", [])),
                consent=str(extra.get("consent", "")) if consent_ok else "",
                consent_source_ids=list(extra.get("consent_source_ids", [])) if consent_ok else [],
                consent_known_on=known.isoformat() if isinstance(known, date) and consent_ok else "",
            )
        )
    return rows
