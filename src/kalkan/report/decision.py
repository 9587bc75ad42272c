# ruff: noqa: E501  (plain-language sentences, kept whole)
"""The decision the brief puts to its reader: the options compared, and one recommendation with its criterion.

Three words, three meanings, never mixed:

* **reach**: the share of the *risk-weighted* people at risk that a post can get to within the response
  time (the planner's maximal covering);
* **capacity**: how many people the officers of an option can hold at a stated density (Quinlivan's 20
  security personnel per 1,000 inhabitants);
* **simulated outcome**: deaths in the agent-based model, as a median and a 90% interval over runs.

The recommendation comes from the analysis, not from the preset list: the least number of officers of
the armed unit that meets the criterion on the posterior-predictive runs
(:mod:`kalkan.report.outcomes`): on duty on the decision day, it leaves fewer simulated deaths than no
force in at least :data:`BEATS_NONE` of paired runs, and a median at least :data:`MEDIAN_CUT` below no
force's. The posts shown are the ones it was judged on; a force larger than its posts need is trimmed
to them. Without the simulation, the criterion is reach alone and the brief says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from kalkan.plan.units import ForceOption, officers_per_post, posts_for, unit_type
from kalkan.report.outcomes import SITING, Outcome, Outcomes, planner_size, trimmed_size

if TYPE_CHECKING:
    from kalkan.report.brief import BriefData

#: An option meets the outcome criterion when it leaves fewer deaths than no force in at least this share
#: of the paired runs (parameter draw x outbreak, common random numbers): three runs in four ...
BEATS_NONE = 0.75
#: ... and its median deaths are at least this share below no force's median (a material cut, not a
#: difference within chance).
MEDIAN_CUT = 0.25
#: No force size is recommended when the people counted at risk are fewer than this share of those who may
#: be at risk (counted plus the bound of the units whose census share is unknown): a size fitted to a small
#: counted part would mislead.
COUNTED_SHARE_MIN = 0.25

_UNIT_WORDS = {
    "monitors": "unarmed monitors",
    "police": "armed police",
    "fpu": "officers in formed police units",
}


def in_words(unit: str, officers: int) -> str:
    """An option as a reader says it: "100 unarmed monitors", "300 armed police"."""
    return f"{officers:,} {_UNIT_WORDS.get(unit, unit)}"


def on_duty(unit: str, posts: int) -> int:
    """Officers on duty at any moment: posts x officers on duty per post."""
    return int(posts * unit_type(unit).officers_per_post)


@dataclass(frozen=True)
class Post:
    """One post of the recommended option."""

    name: str
    latitude: float
    longitude: float


@dataclass
class OptionRow:
    """One row of the options table (a preset, or the force the analysis found)."""

    label: str
    words: str
    unit: str
    armed: bool
    officers: int
    posts: int
    on_duty: int
    reach_weighted_share: float | None
    capacity_people: float | None
    deaths_median: float | None = None
    deaths_p5: float | None = None
    deaths_p95: float | None = None
    siting: str = "reach"
    preset: bool = True
    meets: bool | None = None
    recommended: bool = False
    beats_none: float | None = None
    """Share of paired runs (on duty on the decision day) with fewer deaths than no force."""
    p_best: float | None = None
    """Share of runs (on duty on the decision day) in which it has the fewest deaths of all simulated."""
    ready_day: float | None = None
    """Days after the decision until the force is generated at the pace of pledges."""
    ready_source: str = ""
    deaths_late_median: float | None = None
    deaths_late_p5: float | None = None
    deaths_late_p95: float | None = None
    beats_none_late: float | None = None
    trimmed_from: int | None = None


@dataclass
class Recommendation:
    """The force recommended, the criterion it meets and the posts it was judged on."""

    label: str
    words: str
    unit: str
    officers: int
    posts: int
    on_duty: int
    siting: str
    criterion: str
    reason: str
    same_as: str = ""
    deaths_median: float | None = None
    deaths_p5: float | None = None
    deaths_p95: float | None = None
    reach_weighted_share: float | None = None
    post_list: list[Post] = field(default_factory=list)
    beats_none: float | None = None
    ready_day: float | None = None
    ready_source: str = ""
    deaths_late_median: float | None = None
    beats_none_late: float | None = None

    @classmethod
    def of(
        cls,
        row: OptionRow,
        *,
        siting: str,
        criterion: str,
        reason: str,
        post_list: list[Post],
        same_as: str = "",
    ) -> Recommendation:
        """The recommendation of ``row`` (its size, posts, reach and simulated outcomes) and why."""
        return cls(
            label=row.label,
            words=row.words,
            unit=row.unit,
            officers=row.officers,
            posts=row.posts,
            on_duty=row.on_duty,
            siting=siting,
            criterion=criterion,
            reason=reason,
            same_as=same_as,
            deaths_median=row.deaths_median,
            deaths_p5=row.deaths_p5,
            deaths_p95=row.deaths_p95,
            reach_weighted_share=row.reach_weighted_share,
            post_list=post_list,
            beats_none=row.beats_none,
            ready_day=row.ready_day,
            ready_source=row.ready_source,
            deaths_late_median=row.deaths_late_median,
            beats_none_late=row.beats_none_late,
        )


@dataclass
class Decision:
    """The options compared and the recommendation (None when no force searched meets the criterion)."""

    criterion: str
    options: list[OptionRow]
    recommendation: Recommendation | None
    no_force_deaths: tuple[float, float, float] | None
    simulated: bool
    searched: list[OptionRow] = field(default_factory=list)
    withheld: str = ""
    """Why no size is recommended although an option meets the criterion (people at risk mostly uncounted)."""

    def to_dict(self) -> dict[str, Any]:
        """Plain data for brief.json."""
        return asdict(self)


def _reach_of(data: BriefData, unit: str, officers: int) -> float | None:
    curve = data.curves[(data.curves["unit"] == unit) & (data.curves["officers"] <= officers)]
    return float(curve["covered_share"].max()) if len(curve) else None


def _preset_rows(data: BriefData) -> list[OptionRow]:
    rows = []
    r: Any
    for r in data.options.itertuples(index=False):
        rows.append(
            OptionRow(
                label=str(r.label),
                words=in_words(str(r.unit), int(r.officers)),
                unit=str(r.unit),
                armed=bool(r.armed),
                officers=int(r.officers),
                posts=int(r.posts),
                on_duty=on_duty(str(r.unit), int(r.posts)),
                reach_weighted_share=float(r.within_reach_share),
                capacity_people=float(getattr(r, "people_protected_at_density", 0.0)) if r.armed else 0.0,
            )
        )
    return rows


def _candidates(data: BriefData, unit: str) -> list[int]:
    presets = {
        int(o) for o, u in zip(data.options["officers"], data.options["unit"], strict=True) if u == unit
    }
    grid = {int(b) for b in data.curves.loc[data.curves["unit"] == unit, "officers"] if b > 0}
    step = officers_per_post(unit)
    sizes = sorted(b for b in grid | presets if posts_for(ForceOption(unit, int(b))) >= 1 and b >= step)
    return sizes


def _criterion(unit: str, none_median: float) -> str:
    return (
        f"the least {_UNIT_WORDS[unit]}, on duty on the decision day with posts sited where they do most good, "
        f"that leave fewer simulated deaths than no force in at least {BEATS_NONE:.0%} of paired runs and a median "
        f"at least {MEDIAN_CUT:.0%} below no force's ({(1 - MEDIAN_CUT) * none_median:,.0f} or fewer against "
        f"{none_median:,.0f})"
    )


def meets_criterion(outcome: Outcome, none_median: float) -> bool:
    """The outcome criterion on posterior-predictive runs (see :data:`BEATS_NONE`, :data:`MEDIAN_CUT`)."""
    return (
        outcome.beats_none is not None
        and outcome.beats_none >= BEATS_NONE
        and outcome.deaths_median <= (1 - MEDIAN_CUT) * none_median
    )


def unknown_bound(data: BriefData) -> float:
    """People who may be at risk in units whose census share is unknown (capped by the census count)."""
    exp = data.exposure
    if exp is None or "at_risk_known" not in exp.columns:
        return 0.0
    unknown = exp[~exp["at_risk_known"].astype(bool)]
    most = float(unknown["at_risk_max"].sum()) if len(unknown) else 0.0
    census = data.scenario.settings.get("census", {})
    limit = census.get("group_total") if isinstance(census, dict) else None
    if limit is not None:
        most = min(most, max(0.0, float(limit) - float(exp["at_risk"].sum())))
    return most


def _withhold(data: BriefData, decision: Decision) -> Decision:
    """No size when the people counted are a small part of those who may be at risk (see COUNTED_SHARE_MIN)."""
    if decision.recommendation is None or data.exposure is None or "at_risk" not in data.exposure.columns:
        return decision
    from kalkan.report.markup import say

    counted = float(data.exposure["at_risk"].sum())
    most = unknown_bound(data)
    if counted + most <= 0 or counted >= COUNTED_SHARE_MIN * (counted + most):
        return decision
    rec = decision.recommendation
    decision.withheld = (
        f"{rec.words} would meet the criterion, but only {say(counted)} of up to {say(counted + most)} people who may "
        f"be at risk are counted (under {COUNTED_SHARE_MIN:.0%}): the census share of the group is unknown where most "
        "of them may live, so a force sized on the counted few would mislead. The brief recommends no size until "
        "they are counted; the table compares the options on the counted people only."
    )
    for row in decision.options:
        row.recommended = False
    decision.recommendation = None
    return decision


def decide(data: BriefData, outcomes: Outcomes | None = None) -> Decision:
    """The options and the recommendation (:func:`_decide`), withheld when the people at risk are mostly
    uncounted (:data:`COUNTED_SHARE_MIN`)."""
    return _withhold(data, _decide(data, outcomes))


def _decide(data: BriefData, outcomes: Outcomes | None = None) -> Decision:
    """Fill the options and the recommendation from the analysis (and the simulation when given).

    With ``outcomes`` (:func:`kalkan.report.outcomes.simulate_outcomes`), every armed size simulated on
    the decision day (presets and search sizes, same runs) is checked against the criterion and the least
    officers that meet it is recommended; its posts are the ones simulated. Without, reach decides.
    """
    rows = _preset_rows(data)
    armed_units = [r.unit for r in rows if r.armed]
    unit = armed_units[0] if armed_units else None
    if unit is None:
        criterion = "no armed option was given, so none can protect; the options are compared by reach only"
        return Decision(criterion, rows, None, None, simulated=False)
    if outcomes is None:
        return _decide_by_reach(data, rows, unit)
    none = outcomes.none()
    criterion = _criterion(unit, none.deaths_median)
    for row in rows:
        found = outcomes.now.get(row.label)
        if found is not None:
            _fill(row, found, outcomes.timeline.get(row.label))
            row.meets = bool(row.armed and meets_criterion(found, none.deaths_median))
    searched: list[OptionRow] = []
    for label in outcomes.searched:
        found = outcomes.now[label]
        row = OptionRow(
            label=label,
            words=in_words(unit, found.officers),
            unit=unit,
            armed=True,
            officers=found.officers,
            posts=found.posts,
            on_duty=on_duty(unit, found.posts),
            reach_weighted_share=None,
            capacity_people=None,
            preset=False,
        )
        _fill(row, found, outcomes.timeline.get(label))
        row.reach_weighted_share = found.covered_share  # the reach of the posts simulated
        row.capacity_people = _capacity(data, unit, found.posts)
        row.meets = meets_criterion(found, none.deaths_median)
        searched.append(row)
    candidates = sorted(
        [r for r in [*rows, *searched] if r.unit == unit and r.meets], key=lambda r: r.officers
    )
    chosen = candidates[0] if candidates else None
    if chosen is None:
        return Decision(criterion, rows, None, _triple(none), simulated=True, searched=searched)
    posts_table = (
        outcomes.posts[outcomes.posts["option"] == chosen.label] if len(outcomes.posts) else outcomes.posts
    )
    post_list = [
        Post(str(p.get("name", "")), float(p["latitude"]), float(p["longitude"]))
        for _, p in posts_table.iterrows()
    ]
    officers = trimmed_size(unit, chosen.officers, len(post_list) or chosen.posts)
    trimmed = ""
    if officers < chosen.officers:
        trimmed = (
            f"The {chosen.words} simulated hold only {len(post_list)} posts where people are at risk; "
            f"{officers:,} officers staff those posts, so the recommendation is trimmed to them (same posts, same runs)."
        )
        chosen = _trim(chosen, officers, len(post_list))
    chosen.recommended = True
    for row in rows:
        row.recommended = row.label == chosen.label
    same = ""
    bigger = [r for r in rows if r.unit == unit and r.officers > chosen.officers and finite(r.deaths_median)]
    if bigger and not chosen.preset:
        b = min(bigger, key=lambda r: r.officers)
        fewer = (b.deaths_median or 0) < (chosen.deaths_median or 0)
        same = f"By this criterion {chosen.words} already do what {b.words} do" + (
            f"; {b.words} leave fewer deaths still (a median of {b.deaths_median:,.0f} against {chosen.deaths_median:,.0f})."
            if fewer
            else f" (a median of {chosen.deaths_median:,.0f} deaths against {b.deaths_median:,.0f})."
        )
    reason = (
        f"The least force that meets the criterion: on duty on the decision day, fewer deaths than no force in "
        f"{chosen.beats_none:.0%} of paired runs; a median of {chosen.deaths_median:,.0f} "
        f"({chosen.deaths_p5:,.0f}-{chosen.deaths_p95:,.0f}) against {none.deaths_median:,.0f}."
    )
    if trimmed:
        reason += " " + trimmed
    recommendation = Recommendation.of(
        chosen, siting=SITING, criterion=criterion, reason=reason, post_list=post_list, same_as=same
    )
    if not chosen.preset and chosen not in rows:
        rows.append(chosen)
    return Decision(criterion, rows, recommendation, _triple(none), simulated=True, searched=searched)


def _trim(row: OptionRow, officers: int, posts: int) -> OptionRow:
    """``row`` cut to ``officers`` holding ``posts`` posts (the same posts simulated)."""
    from dataclasses import replace

    return replace(
        row,
        label=ForceOption(row.unit, officers).label,
        words=in_words(row.unit, officers),
        officers=officers,
        posts=posts,
        on_duty=on_duty(row.unit, posts),
        preset=False,
        trimmed_from=row.officers,
    )


def _capacity(data: BriefData, unit: str, posts: int) -> float | None:
    """People ``posts`` posts of ``unit`` can hold at 20 per 1,000 within reach (as the brief's presets)."""
    exposure = getattr(data, "exposure", None)
    if exposure is None or posts < 1:
        return None
    from kalkan.plan.capacitated import CapacitatedCovering
    from kalkan.plan.defaults import PER_1000

    problem = CapacitatedCovering.from_places(
        exposure,
        p=posts,
        response_minutes=data.response_minutes,
        unit=unit,
        per_1000=PER_1000,
        id_column="place_id",
    )
    problem.warn_unreachable = False
    problem.solve(time_limit=1.0, method="heuristic")
    return float(problem.assigned["people"].sum())


def _triple(none: Outcome) -> tuple[float, float, float]:
    return none.deaths_p5, none.deaths_median, none.deaths_p95


def _fill(row: OptionRow, found: Outcome, late: Outcome | None) -> None:
    row.deaths_median = found.deaths_median
    row.deaths_p5 = found.deaths_p5
    row.deaths_p95 = found.deaths_p95
    row.beats_none = found.beats_none
    row.p_best = found.p_best
    row.siting = SITING
    row.posts = found.posts  # the posts judged are the simulated ones
    row.on_duty = on_duty(row.unit, row.posts)
    if late is not None:
        row.ready_day = late.generation_day
        row.ready_source = late.generation_source
        row.deaths_late_median = late.deaths_median
        row.deaths_late_p5 = late.deaths_p5
        row.deaths_late_p95 = late.deaths_p95
        row.beats_none_late = late.beats_none


def _decide_by_reach(data: BriefData, rows: list[OptionRow], unit: str) -> Decision:
    criterion = (
        f"the least {_UNIT_WORDS[unit]} whose posts reach at least {data.target:.0%} of the risk-weighted "
        f"people at risk within {data.response_minutes:g} minutes (the simulation was not run, so the "
        "criterion is reach alone)"
    )
    curve = data.curves[(data.curves["unit"] == unit) & (data.curves["covered_share"] >= data.target)]
    if not len(curve):
        return Decision(criterion, rows, None, None, simulated=False)
    # "343" is false precision: the size is said as a planner would
    size = planner_size(unit, int(curve["officers"].min()))
    plan = next((p for p in data.plans if p.option == ForceOption(unit, size)), None)
    posts = posts_for(ForceOption(unit, size))
    chosen = next((r for r in rows if r.unit == unit and r.officers == size), None)
    if chosen is None:
        chosen = OptionRow(
            label=ForceOption(unit, size).label,
            words=in_words(unit, size),
            unit=unit,
            armed=True,
            officers=size,
            posts=posts,
            on_duty=on_duty(unit, posts),
            reach_weighted_share=_reach_of(data, unit, size),
            capacity_people=None,
            preset=False,
        )
        rows.append(chosen)
    for row in rows:
        row.recommended = row is chosen
        row.meets = bool(row.armed and (row.reach_weighted_share or 0) >= data.target - 1e-12)
    if plan is None:  # a force size off the preset list: site its posts for reach, as judged
        from kalkan.plan.force import plan_option

        demand = data.exposure.rename(columns={"place_id": "id"})[
            ["id", "name", "latitude", "longitude", "weight"]
        ]
        plan = plan_option(
            demand, ForceOption(unit, size), response_minutes=data.response_minutes, time_limit=1.0
        )
    selected: Any = plan.selected
    post_list = [Post(str(p.name), float(p.latitude), float(p.longitude)) for p in selected.itertuples()]
    posts = len(post_list)
    reason = (
        f"It is the least force whose posts reach {data.target:.0%} of the people at risk, weighted by nearness to "
        "incidents; the simulation was not run."
    )
    officers = trimmed_size(unit, size, posts)
    if officers < size:
        reason += (
            f" {in_words(unit, size)} could staff {posts_for(ForceOption(unit, size))} posts, but {posts} already reach "
            f"every place they can; {officers:,} officers staff those {posts}, so the recommendation is trimmed to them."
        )
        trimmed = _trim(chosen, officers, posts)
        if chosen.preset:  # the preset stays as a comparison row
            rows.append(trimmed)
        else:
            rows[rows.index(chosen)] = trimmed
        chosen.recommended = False
        chosen, size = trimmed, officers
        chosen.recommended = True
    chosen.posts, chosen.on_duty = posts, on_duty(unit, posts)
    if chosen.capacity_people is None:
        chosen.capacity_people = _capacity(data, unit, posts)
    rec = Recommendation.of(chosen, siting="reach", criterion=criterion, reason=reason, post_list=post_list)
    return Decision(criterion, rows, rec, None, simulated=False)


def finite(value: float | None) -> bool:
    """True for a real number (not None, not NaN)."""
    return value is not None and bool(np.isfinite(value))


def _span(values: list[float], fmt: Callable[[float], str]) -> str:
    low, high = min(values), max(values)
    if fmt(low) == fmt(high):
        return fmt(low)
    if fmt is _pct:
        return f"{low * 100:.0f}–{fmt(high)}"
    return f"{fmt(low)}–{fmt(high)}"


def _pct(value: float) -> str:
    return f"{value:.0%}"


def outcome_sentence(dec: Decision, out: Outcomes) -> str:
    """The sentence about the options with its probabilities, written from the runs (page 1 and the
    simulation page say the same)."""
    from kalkan.report.markup import say

    none = out.none()
    when = f"{out.decision_day.day} {out.decision_day:%B %Y}"
    shown = [out.now[label] for label in out.shown if label != "none"]
    by_unit: dict[str, list[Outcome]] = {}
    for o in sorted(shown, key=lambda o: not unit_type(o.unit).armed):  # armed forces first
        by_unit.setdefault(o.unit, []).append(o)
    parts: list[str] = []
    for unit, group in by_unit.items():
        beats = [o.beats_none for o in group if o.beats_none is not None]
        if not beats:
            continue
        medians = _span([o.deaths_median for o in group], say)
        words = _UNIT_WORDS.get(unit, unit)
        if not parts:
            parts.append(
                f"If on duty on {when}, {words} leave fewer deaths than no force in {_span(beats, _pct)} of paired "
                f"runs (a median of {medians} deaths against {say(none.deaths_median)})"
            )
        else:
            parts.append(f"{words} in {_span(beats, _pct)} (a median of {medians})")
    text = "; ".join(parts)
    best = max((o for label, o in out.now.items() if label != "none"), key=lambda o: o.p_best, default=None)
    if best is not None:
        text += f". {in_words(best.unit, best.officers)} most often leave the fewest deaths ({best.p_best:.0%} of runs)"
    late = [out.timeline[o.label] for o in shown if o.label in out.timeline and unit_type(o.unit).armed]
    if late:
        days = _span([o.generation_day for o in late], lambda v: f"{v:g}")
        arrived = [o.arrived_before_outbreak for o in late if o.arrived_before_outbreak is not None]
        beats_late = [o.beats_none for o in late if o.beats_none is not None]
        text += f". At the pace of the pledges the armed options are on duty {days} days after the decision"
        if arrived and max(arrived) == 0:
            text += ", after the outbreak has begun in every run"
        elif arrived:
            text += f", before the outbreak in {_span(arrived, _pct)} of runs"
        if beats_late:
            text += f", and then beat no force in {_span(beats_late, _pct)} of paired runs"
    return text[0].upper() + text[1:] + "."
