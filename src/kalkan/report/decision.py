# ruff: noqa: E501  (plain-language sentences, kept whole)
"""The decision the brief puts to its reader: the options compared, and one recommendation with its criterion.

Three words, three meanings, never mixed:

* **reach**: the share of the *risk-weighted* people at risk that a post can get to within the response
  time (the planner's maximal covering);
* **capacity**: how many people the officers of an option can hold at a stated density (Quinlivan's 20
  security personnel per 1,000 inhabitants);
* **simulated outcome**: deaths in the agent-based model, as a median and a 90% interval over runs.

The recommendation comes from the analysis, not from the preset list: the least number of officers of
the armed unit that meets :data:`CRITERION`. With the simulation, an option meets it when the 95th
percentile of its simulated deaths (posts sited for depth, as simulated) is at most
``OUTCOME_SHARE`` of the median deaths with no force in the same runs; the posts shown are the ones it
was judged on. Without the simulation, the criterion is reach alone and the brief says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from kalkan.plan.units import ForceOption, officers_per_post, posts_for, unit_type

if TYPE_CHECKING:
    from kalkan.report.brief import BriefData

#: An option meets the outcome criterion when its 95th-percentile simulated deaths are at most this
#: share of the median deaths with no force (0.5: it at least halves the deaths, even in a bad run).
OUTCOME_SHARE = 0.5
#: Most force sizes simulated while searching for the least that meets the criterion.
MAX_SEARCH = 6

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


@dataclass
class Decision:
    """The options compared and the recommendation (None when no force searched meets the criterion)."""

    criterion: str
    options: list[OptionRow]
    recommendation: Recommendation | None
    no_force_deaths: tuple[float, float, float] | None
    simulated: bool
    searched: list[OptionRow] = field(default_factory=list)

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
                label=str(r.label), words=in_words(str(r.unit), int(r.officers)), unit=str(r.unit),
                armed=bool(r.armed), officers=int(r.officers), posts=int(r.posts),
                on_duty=on_duty(str(r.unit), int(r.posts)), reach_weighted_share=float(r.within_reach_share),
                capacity_people=float(getattr(r, "people_protected_at_density", 0.0)) if r.armed else 0.0,
            )
        )  # fmt: skip
    return rows


def _candidates(data: BriefData, unit: str) -> list[int]:
    presets = {
        int(o) for o, u in zip(data.options["officers"], data.options["unit"], strict=True) if u == unit
    }
    grid = {int(b) for b in data.curves.loc[data.curves["unit"] == unit, "officers"] if b > 0}
    step = officers_per_post(unit)
    sizes = sorted(b for b in grid | presets if posts_for(ForceOption(unit, int(b))) >= 1 and b >= step)
    return sizes


Simulate = Callable[[list[ForceOption]], pd.DataFrame]


def decide(data: BriefData, simulate: Simulate | None = None) -> Decision:
    """Fill the options and the recommendation from the analysis (and the simulation when given).

    ``simulate(options)`` returns the simulation table of those options sited for depth with a no-force
    row ``"none"`` first (``kalkan.simulate.simulate_options`` columns) and ``attrs["posts"]``.
    """
    rows = _preset_rows(data)
    armed_units = [r.unit for r in rows if r.armed]
    unit = armed_units[0] if armed_units else None
    if unit is None:
        criterion = "no armed option was given, so none can protect; the options are compared by reach only"
        return Decision(criterion, rows, None, None, simulated=False)
    if simulate is None:
        return _decide_by_reach(data, rows, unit)
    sizes = _candidates(data, unit)
    # The presets are simulated too, so every row of the table carries its outcome.
    presets = [ForceOption(r.unit, r.officers) for r in rows]
    table = simulate(presets)
    none = table[table["option"] == "none"].iloc[0]
    ceiling = OUTCOME_SHARE * float(none["deaths_median"])
    criterion = (
        f"the least {_UNIT_WORDS[unit]} whose posts, sited where they do most good in the simulation, keep "
        f"simulated deaths at the 95th percentile of runs to at most {OUTCOME_SHARE:.0%} of the median with no "
        f"force ({ceiling:,.0f} of {float(none['deaths_median']):,.0f})"
    )
    results: dict[str, pd.Series] = {str(r["option"]): r for _, r in table.iterrows()}
    posts_table = table.attrs.get("posts")
    posts_by: dict[str, pd.DataFrame] = {}
    if posts_table is not None:
        posts_by |= {str(k): g for k, g in posts_table.groupby("option")}
    for row in rows:
        found = results.get(row.label)
        if found is not None:
            _fill(row, found)
            row.meets = bool(row.armed and float(found["deaths_p95"]) <= ceiling)
    searched: list[OptionRow] = []
    chosen: OptionRow | None = None
    smallest_preset = min((r.officers for r in rows if r.unit == unit and r.meets), default=None)
    for size in sizes if smallest_preset is not None else []:  # no preset meets it: nothing smaller will
        if smallest_preset is not None and size >= smallest_preset:
            break
        if len(searched) >= MAX_SEARCH:
            break
        option = ForceOption(unit, size)
        result = simulate([option])
        found = result[result["option"] == option.label].iloc[0]
        row = OptionRow(
            label=option.label, words=in_words(unit, size), unit=unit, armed=True, officers=size,
            posts=int(found["posts"]), on_duty=on_duty(unit, int(found["posts"])),
            reach_weighted_share=float(found["covered_share"]), capacity_people=None, preset=False,
        )  # fmt: skip
        _fill(row, found)
        row.capacity_people = _capacity(data, unit, row.posts)
        row.meets = float(found["deaths_p95"]) <= ceiling
        searched.append(row)
        if result.attrs.get("posts") is not None:
            posts_by[option.label] = result.attrs["posts"][result.attrs["posts"]["option"] == option.label]
        if row.meets:
            chosen = row
            break
    if chosen is None:
        chosen = next((r for r in sorted(rows, key=lambda r: r.officers) if r.unit == unit and r.meets), None)
    if chosen is None:
        return Decision(criterion, rows, None, _triple(none), simulated=True, searched=searched)
    chosen.recommended = True
    for row in rows:
        row.recommended = row.label == chosen.label
    posts = posts_by.get(chosen.label)
    post_list = (
        [
            Post(str(p.get("name", "")), float(p["latitude"]), float(p["longitude"]))
            for _, p in posts.iterrows()
        ]
        if posts is not None
        else []
    )
    same = ""
    bigger = [
        r for r in rows if r.unit == unit and r.officers > chosen.officers and r.deaths_median is not None
    ]
    if bigger and not chosen.preset:
        b = min(bigger, key=lambda r: r.officers)
        same = (
            f"By this criterion {chosen.words} would do what {b.words} do: both keep simulated deaths far below the "
            f"{float(none['deaths_median']):,.0f} with no force (a median of {chosen.deaths_median:,.0f} against "
            f"{b.deaths_median:,.0f})."
        )
    reason = (
        f"It is the least force that meets the criterion: a median of {chosen.deaths_median:,.0f} simulated deaths, "
        f"{chosen.deaths_p95:,.0f} at the 95th percentile, against {float(none['deaths_median']):,.0f} with no force."
    )
    recommendation = Recommendation(
        label=chosen.label, words=chosen.words, unit=unit, officers=chosen.officers, posts=chosen.posts,
        on_duty=chosen.on_duty, siting="depth", criterion=criterion, reason=reason, same_as=same,
        deaths_median=chosen.deaths_median, deaths_p5=chosen.deaths_p5, deaths_p95=chosen.deaths_p95,
        reach_weighted_share=chosen.reach_weighted_share, post_list=post_list,
    )  # fmt: skip
    if not chosen.preset:
        rows.append(chosen)
    return Decision(criterion, rows, recommendation, _triple(none), simulated=True, searched=searched)


def _capacity(data: BriefData, unit: str, posts: int) -> float | None:
    """People ``posts`` posts of ``unit`` can hold at 20 per 1,000 within reach (as the brief's presets)."""
    exposure = getattr(data, "exposure", None)
    if exposure is None or posts < 1:
        return None
    from kalkan.plan.capacitated import PER_1000, CapacitatedCovering

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


def _triple(row: pd.Series) -> tuple[float, float, float]:
    return float(row["deaths_p5"]), float(row["deaths_median"]), float(row["deaths_p95"])


def _fill(row: OptionRow, found: pd.Series) -> None:
    row.deaths_median = float(found["deaths_median"])
    row.deaths_p5 = float(found["deaths_p5"])
    row.deaths_p95 = float(found["deaths_p95"])
    row.siting = str(found.get("siting", "reach"))
    if row.armed:  # the posts judged are the simulated ones
        row.posts = int(found["posts"])
        row.on_duty = on_duty(row.unit, row.posts)


def _decide_by_reach(data: BriefData, rows: list[OptionRow], unit: str) -> Decision:
    criterion = (
        f"the least {_UNIT_WORDS[unit]} whose posts reach at least {data.target:.0%} of the risk-weighted "
        f"people at risk within {data.response_minutes:g} minutes (the simulation was not run, so the "
        "criterion is reach alone)"
    )
    curve = data.curves[(data.curves["unit"] == unit) & (data.curves["covered_share"] >= data.target)]
    if not len(curve):
        return Decision(criterion, rows, None, None, simulated=False)
    size = int(curve["officers"].min())
    plan = next((p for p in data.plans if p.option == ForceOption(unit, size)), None)
    posts = posts_for(ForceOption(unit, size))
    chosen = next((r for r in rows if r.unit == unit and r.officers == size), None)
    if chosen is None:
        chosen = OptionRow(
            label=ForceOption(unit, size).label, words=in_words(unit, size), unit=unit, armed=True, officers=size,
            posts=posts, on_duty=on_duty(unit, posts), reach_weighted_share=_reach_of(data, unit, size),
            capacity_people=None, preset=False,
        )  # fmt: skip
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
    chosen.posts, chosen.on_duty = posts, on_duty(unit, posts)
    if chosen.capacity_people is None:
        chosen.capacity_people = _capacity(data, unit, posts)
    reason = (
        f"It is the least force whose posts reach {data.target:.0%} of the people at risk, weighted by nearness to "
        "incidents; the simulation was not run."
    )
    rec = Recommendation(
        label=chosen.label, words=chosen.words, unit=unit, officers=size, posts=posts, on_duty=chosen.on_duty,
        siting="reach", criterion=criterion, reason=reason, reach_weighted_share=chosen.reach_weighted_share,
        post_list=post_list,
    )  # fmt: skip
    return Decision(criterion, rows, rec, None, simulated=False)


def finite(value: float | None) -> bool:
    """True for a real number (not None, not NaN)."""
    return value is not None and bool(np.isfinite(value))
