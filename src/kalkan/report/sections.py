# ruff: noqa: E501  (HTML prose: long lines are sentences, kept whole so they read and grep as written)
"""The brief as a list of sections, each built from :class:`kalkan.report.brief.BriefData`.

Page 1 is the decision sheet (:func:`decision_sheet`): the decision asked, the options in a small table,
the recommendation with its reason and criterion, the key uncertainties and a map of the main places at
risk. Then the evidence (situation, people at risk, options, coverage, posts, mandates, the asks of the
request), the optional panels (:mod:`kalkan.report.panels`), what became known later, the method
appendix and the sources. Every number that comes from a source carries a citation link into the
sources list; estimated numbers are rounded as a reader says them and marked "≈". Nothing here is
specific to one crisis: narrative pieces come from the scenario's files.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape
from typing import TYPE_CHECKING, Any

import pandas as pd

from kalkan.report.asof import iso
from kalkan.report.decision import Recommendation, finite, unknown_bound
from kalkan.report.markup import Context, Section, number, say, scenario_units, share
from kalkan.report.markup import rows_of as _rows
from kalkan.report.markup import table as _table
from kalkan.report.references import EMPIRICAL_NOTES, YARDSTICKS

if TYPE_CHECKING:
    from kalkan.report.brief import BriefData

__all__ = ["Context", "Section", "build_sections"]


def _units(ctx: Context) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return scenario_units(ctx.data.scenario)


def _deaths(median: float | None, p5: float | None, p95: float | None) -> str:
    if not finite(median):
        return "not simulated"
    return f"{median:,.0f} <small>({p5:,.0f}–{p95:,.0f})</small>"


def _main_places(d: BriefData) -> pd.DataFrame:
    """The scenario's main places for the page-1 map: ``main_cities`` in scenario.toml, else the two towns
    with the most risk-weighted people at risk."""
    exp = d.exposure
    names = d.scenario.settings.get("main_cities", [])
    chosen = exp[exp["name"].isin(names)] if names else exp.iloc[0:0]
    if not len(chosen):
        towns = exp[exp["kind"] == "town"] if (exp["kind"] == "town").any() else exp
        chosen = towns.sort_values("weight", ascending=False).head(2)
    return chosen.drop_duplicates("name")


def _decision_asked(d: BriefData) -> str:
    s = d.scenario
    text = s.settings.get("decision")
    if text:
        return escape(str(text))
    return (
        f"What force, if any, to send to protect {escape(s.group_at_risk)} in the places below, how large, "
        "where its posts should stand and how soon it must be there."
    )


def decision_sheet(ctx: Context) -> Section:
    """Page 1: the decision asked, the options, the recommendation and why, the key uncertainties, a map."""
    d = ctx.data
    dec = d.decision
    parts = [f'<p class="asked"><b>Decision asked.</b> {_decision_asked(d)}</p>']
    if dec is not None:
        rows = []
        simulated = dec.simulated
        for r in sorted(dec.options, key=lambda r: (r.unit != "monitors", r.officers)):
            mark = ' <span class="badge">recommended</span>' if r.recommended else ""
            label = escape(r.words) + ("" if r.preset else " <small>(found)</small>")
            row = [
                f"<b>{label}</b>{mark}",
                ctx.record(
                    "decision", f"{r.label}: officers on duty at any moment", r.on_duty, f"{r.on_duty:,}"
                ),
                ctx.record(
                    "decision",
                    f"{r.label}: weighted reach",
                    r.reach_weighted_share,
                    share(r.reach_weighted_share) if finite(r.reach_weighted_share) else "–",
                ),
                "none (unarmed)"
                if not r.armed
                else (
                    ctx.record(
                        "decision",
                        f"{r.label}: people its officers can hold at 20 per 1,000",
                        r.capacity_people,
                        say(r.capacity_people),
                    )
                    if finite(r.capacity_people)
                    else "–"
                ),
            ]
            if simulated:
                row += [
                    ctx.record(
                        "decision",
                        f"{r.label}: simulated deaths if on duty on the decision day (median)",
                        r.deaths_median,
                        _deaths(r.deaths_median, r.deaths_p5, r.deaths_p95),
                    ),
                    ctx.record(
                        "decision",
                        f"{r.label}: share of paired runs with fewer deaths than no force",
                        r.beats_none,
                        f"{r.beats_none:.0%}" if finite(r.beats_none) else "–",
                    ),
                    ctx.record(
                        "decision",
                        f"{r.label}: day on duty at the pace of pledges",
                        r.ready_day,
                        f"day {r.ready_day:g}" if finite(r.ready_day) else "–",
                    ),
                ]
            row.append("yes" if r.meets else ("no" if r.meets is not None else "–"))
            rows.append(row)
        none = ""
        if dec.no_force_deaths is not None:
            p5, med, p95 = dec.no_force_deaths
            none = f" No force: {med:,.0f} deaths ({p5:,.0f}–{p95:,.0f})."
        heads = [
            "option",
            "on duty",
            f"reach, {d.response_minutes:g} min (weighted)",
            "capacity (people held)",
        ]
        if simulated:
            heads += [
                "deaths if on duty on the decision day, median (90% range)",
                "beats no force (paired runs)",
                "on duty at the pledges' pace",
            ]
        heads.append("meets")
        parts.append(
            _table(heads, rows, cls="num options small")
            + '<p class="note">On duty: officers on duty at any moment (posts × on duty per post). <i>Reach</i>: '
            f"weighted share of the people at risk a post gets to in {d.response_minutes:g} minutes. <i>Capacity</i>: "
            "people held at 20 officers per 1,000. <i>Deaths</i>: simulated, for comparing options, not a "
            f"prediction; day: after the decision.{none}</p>"
        )
        out = d.outcomes
        if out is not None:
            from kalkan.report.decision import outcome_sentence

            parts.append(f'<p class="finding">{escape(outcome_sentence(dec, out))}</p>')
        elif d.panels.get("not_calibrated"):
            parts.append(
                f'<p class="finding">{escape(str(d.panels["not_calibrated"]))} The options are compared by reach '
                "and capacity, and the recommendation rests on reach.</p>"
            )
        rec = dec.recommendation
        if rec is not None:
            ctx.record("decision", "recommended officers", rec.officers, f"{rec.officers:,}")
            ctx.record(
                "decision", "recommended officers on duty at any moment", rec.on_duty, f"{rec.on_duty:,}"
            )
            parts.append(
                f'<p class="answer"><b>Recommended: {escape(rec.words)}</b>, {rec.posts} posts held around the clock, '
                f"<b>{rec.on_duty} officers on duty at any moment</b>. {escape(rec.reason)} "
                f"{escape(rec.same_as)}{_readiness(ctx, rec)}{_sized_on(ctx)}<br><small><b>Criterion:</b> {escape(rec.criterion)}.</small></p>"
            )
        else:
            biggest = max((r for r in dec.options if r.armed), key=lambda r: r.officers, default=None)
            upto = f" up to {escape(biggest.words)}" if biggest is not None else ""
            searched = f" (and {len(dec.searched)} smaller sizes searched)" if dec.searched else ""
            if dec.withheld:
                parts.append(
                    f'<p class="answer"><b>No size is recommended.</b> {escape(dec.withheld)}<br><small><b>Criterion:'
                    f"</b> {escape(dec.criterion)}.</small></p>"
                )
            else:
                parts.append(
                    f'<p class="answer"><b>No option{upto}{searched} meets the criterion</b>, so the brief recommends '
                    f"none of them. The criterion: {escape(dec.criterion)}. The table shows how far each falls short; a "
                    "larger force, or one sited or arriving differently, would have to be analysed.</p>"
                )
    parts.append(_city_map(ctx))  # floats right, beside the key uncertainties
    parts.append(
        '<p><b>Key uncertainties.</b></p><ul class="tight">'
        + "".join(f"<li>{u}</li>" for u in _uncertainties(ctx))
        + '</ul><div class="clear"></div>'
    )
    return Section("decision", "The decision on one page", "".join(parts))


#: The incidents' actor type of a state's security forces (``kalkan.model.ActorType``).
SECURITY_FORCES = "state_forces"


def by_security_forces(d: BriefData) -> pd.DataFrame:
    """Incidents known by the brief's day that the sources attribute to security forces."""
    incidents = d.scenario.incidents
    if "perpetrator_type" not in incidents.columns:
        return incidents.iloc[0:0]
    return incidents[incidents["perpetrator_type"].astype(str) == SECURITY_FORCES]


def _where_text(ctx: Context, sec: str) -> str:
    """People at risk by census residence and where they are on the day, and the change (plain words)."""
    w = ctx.data.where
    if w is None:
        return ""
    day = f"{w.as_of.day} {w.as_of:%B %Y}"
    text = (
        f"By census residence {ctx.record(sec, 'people at risk by census residence', w.residents, say(w.residents))}; "
        f"where they are on {day}, {ctx.record(sec, 'people at risk where they are on the day', w.now, say(w.now))}"
    )
    if round(w.change) != 0:
        change = ctx.record(
            sec, "change from census residence to where they are", w.change, f"{w.change:+,.0f}"
        )
        text += f" ({change})"
    extra = []
    if w.out_of_area > 0:
        extra.append(f"{say(w.out_of_area)} reported gone out of the area")
    if w.in_sites > 0:
        extra.append(f"{say(w.in_sites)} at camps or other sites")
    if w.returned > 0:
        extra.append(f"{say(w.returned)} reported back home")
    if extra:
        text += ": " + ", ".join(extra)
    if w.displaced == w.displaced and w.displaced > 0:  # not NaN
        text += f". Reported displaced, all groups: {say(w.displaced)}"
    return text + "."


def _unknown_bound(d: BriefData) -> float:
    return unknown_bound(d)


def _sized_on(ctx: Context) -> str:
    """When the people counted are fewer than those who may be at risk uncounted, the force is sized on the
    counted only, and page 1 says so next to the recommendation."""
    d = ctx.data
    counted, most = float(d.exposure["at_risk"].sum()), _unknown_bound(d)
    if most <= counted:
        return ""
    return (
        f" <b>It is sized on the {say(counted)} people counted; up to {say(most)} more may be at risk where the "
        "census share is unknown, and the force they would need is not analysed here.</b>"
    )


def _readiness(ctx: Context, rec: Recommendation) -> str:
    """When the recommended force can be on duty at the pace of pledges, and what the runs give then."""
    if not finite(rec.ready_day):
        return ""
    day = ctx.record(
        "decision",
        "recommended force: day on duty at the pace of pledges",
        rec.ready_day,
        f"day {rec.ready_day:g}",
    )
    text = f" At the pledges' pace it is on duty on {day} after the decision"
    if finite(rec.deaths_late_median) and finite(rec.beats_none_late):
        text += (
            f"; arriving then, it beats no force in {rec.beats_none_late:.0%} of paired runs "
            f"(a median of {rec.deaths_late_median:,.0f})."
        )
    else:
        text += "."
    return " " + text.strip()


def _uncertainties(ctx: Context) -> list[str]:
    d = ctx.data
    s = d.scenario
    exp = d.exposure
    out = []
    known = float(exp["at_risk"].sum())
    unknown = exp[~exp["at_risk_known"]]
    text = (
        f"People at risk: {ctx.record('decision', 'people at risk counted', known, say(known))} "
        f"{escape(s.group_at_risk)} counted where the census share is known"
    )
    if len(unknown):
        most = _unknown_bound(d)  # the units' own bounds may add up to more than the census count leaves
        by_unit = unknown.groupby("district")["at_risk_max"].sum().sort_values(ascending=False)
        largest = ", ".join(f"{escape(str(u))} (at most {say(v)})" for u, v in by_unit.head(2).items())
        text += (
            f"; in {len(by_unit)} units the census share could not be found, so nobody there is counted: at most "
            f"{ctx.record('decision', 'people at risk at most, in units with unknown share', most, say(most))} more, "
            f"the largest {largest}"
        )
    where = _where_text(ctx, "decision")
    out.append(text + "." + (f" {where}" if where else ""))
    security = by_security_forces(d)
    if len(security):
        located = int(s.incidents["located"].sum()) if "located" in s.incidents.columns else len(s.incidents)
        n = ctx.record(
            "decision", "incidents attributed to security forces", len(security), f"{len(security)}"
        )
        out.append(
            f"{n} of the {len(s.incidents)} incidents known by the brief's date are attributed by their sources to "
            f"security forces ({located} located in all): the people at risk need protection from some of those "
            "who are meant to protect them (the at-risk page lists them)."
        )
    dec = d.decision
    sens = d.panels.get("sensitivity")
    if dec is not None and dec.simulated:
        text = (
            "What a force does in the model (how strongly armed officers deter, what monitors change) is not learnt "
            "from this crisis but drawn from wide priors; the ranges cover that doubt and chance, not the model's form."
        )
        if sens is not None and sens.ordering_depends:
            from kalkan.report.panels import plain

            text += f" <b>The ordering of the options depends on it:</b> {escape(plain(sens.note))}"
        elif sens is not None and sens.note:
            from kalkan.report.panels import plain

            text += f" {escape(plain(sens.note))}"
        out.append(text)
    elif dec is not None and d.panels.get("not_calibrated"):
        out.append(
            "The simulation is not calibrated to this scenario: the recommendation rests on reach alone."
        )
    elif dec is not None:
        out.append("The simulation was not run: the recommendation rests on reach alone.")
    rec = dec.recommendation if dec is not None else None
    if rec is not None:
        cap = rec.officers * 1000 / 20
        out.append(
            f"Reach is not capacity: {escape(rec.words)} hold about {say(cap)} people at 20 per 1,000: everywhere in "
            "time, not everywhere at once."
        )
    if d.later:
        out.append(
            f"{len(d.later)} facts known only after {d.as_of.day} {d.as_of:%B %Y} are set apart (<i>Known later</i>)."
        )
    return out


def _city_map(ctx: Context) -> str:
    from kalkan.report.maps import frame_around, render_map, widen

    d = ctx.data
    main = _main_places(d)
    if not len(main):
        return ""
    rec = d.decision.recommendation if d.decision is not None else None
    posts = None
    if rec is not None and rec.post_list:
        posts = pd.DataFrame(
            [{"name": p.name, "latitude": p.latitude, "longitude": p.longitude} for p in rec.post_list]
        )
    frame = widen(frame_around(main["latitude"].tolist(), main["longitude"].tolist(), pad_km=6.0), 0.34)
    districts, admin1 = _units(ctx)
    places = d.exposure[d.exposure["at_risk"] > 0]
    labels = (
        places[places["kind"].isin(["town", "neighbourhood"])]
        .sort_values("at_risk", ascending=False)
        .head(14)
    )
    svg = render_map(
        frame=frame,
        districts=districts,
        oblasts=admin1,
        places=places,
        incidents=d.scenario.incidents,
        posts=posts,
        reach_km=None,
        map_id="map-cities",
        label_districts=False,
        labels=labels,
        title=f"Neighbourhoods and towns at risk around {', '.join(main['name'])}"
        + (f", and the posts of {rec.words}" if rec else ""),
        legend_title="people at risk per place",
    )
    return (
        f'<div class="map1">{svg}<p class="note"><b>Map.</b> Circles: {escape(d.scenario.group_at_risk)} counted per '
        "place; crosses: incidents known by the brief's date; blue squares: the recommended posts.</p></div>"
    )


def at_risk(ctx: Context) -> Section:
    """Where the people at risk live: the map and the districts."""
    from kalkan.report.maps import frame_of, render_map

    d = ctx.data
    s = d.scenario
    districts, admin1 = _units(ctx)
    svg = render_map(
        frame=frame_of(districts),
        districts=districts,
        oblasts=admin1,
        places=d.exposure,
        incidents=s.incidents,
        title=f"People at risk ({s.group_at_risk}) by place, and documented incidents",
        map_id="map-risk",
    )
    exp = d.exposure
    events = s.incidents[s.incidents["located"]]
    by = exp.groupby("district").agg(
        population=("population", "sum"),
        pop_est=("population_estimated", "any"),
        at_risk=("at_risk", "sum"),
        at_risk_max=("at_risk_max", "sum"),
        known=("group_share_known", "first"),
        share=("group_share", "first"),
        share_max=("group_share_max", "first"),
        weight=("weight", "sum"),
    )
    by["incidents"] = events.groupby("admin2").size().reindex(by.index).fillna(0).astype(int)
    by = by.sort_values("weight", ascending=False)
    from kalkan.plan.exposure import district_estimates

    shares = district_estimates(s)
    src = dict(zip(shares["district"], shares["share_source_ids"], strict=True))
    rows = []
    total_weight = float(d.exposure["weight"].sum())
    for name, r in by[by["known"].astype(bool)].head(10).iterrows():
        ids = src.get(str(name), "")
        sec = "at-risk"
        rows.append(
            [
                escape(str(name)),
                ctx.record(
                    sec,
                    f"{name}: residents",
                    float(r["population"]),
                    number(r["population"], estimated=bool(r["pop_est"])),
                ),
                ctx.record(sec, f"{name}: group share (census)", float(r["share"]), share(r["share"]), ids)
                + ctx.cite(ids),
                ctx.record(
                    sec,
                    f"{name}: people at risk",
                    float(r["at_risk"]),
                    number(r["at_risk"], estimated=bool(r["pop_est"])),
                    ids,
                ),
                ctx.record(
                    sec,
                    f"{name}: weighted share of risk-weighted demand",
                    r["weight"] / total_weight,
                    f"{r['weight'] / total_weight:.0%}",
                )
                if total_weight > 0
                else "–",
                ctx.record(
                    sec,
                    f"{name}: incidents known by the brief's date",
                    float(r["incidents"]),
                    str(r["incidents"]),
                ),
            ]
        )
    table = _table(
        [
            "unit",
            "residents",
            "group share (census)",
            "people at risk",
            "share of risk-weighted demand",
            "incidents",
        ],
        rows,
        cls="num",
    )
    unknown = by[~by["known"].astype(bool)]
    if len(unknown):
        table += (
            f'<p class="note"><b>Unknown.</b> {len(unknown)} units have no census share of the '
            f"{escape(s.group_at_risk)} that could be found: "
            + ", ".join(
                f"{escape(str(n))} (at most {number(r['at_risk_max'], estimated=True)})"
                for n, r in unknown.sort_values("at_risk_max", ascending=False).iterrows()
            )
            + ". Nobody there is counted at risk, and no larger unit's share stands in; the bound is the "
            "unit's residents not of the census majority where the census gives it, else all its residents.</p>"
        )
    unlocated = s.incidents[~s.incidents["located"]]
    missing = ""
    if len(unlocated):
        missing = (
            f'<p class="note">{len(unlocated)} documented incidents have no coordinates and are not on the map: '
            + "; ".join(f"{escape(r.raw_date)}, {escape(r.place_name)}" for r in _rows(unlocated))
            + ".</p>"
        )
    text = (
        f"<p>Circles are places, sized and coloured by the number of {escape(s.group_at_risk)} living there; "
        "crosses are documented incidents (the number beside a cross counts incidents recorded at that point: "
        "most carry the town's coordinates, not the street's). Data sources: "
        f"{ctx.cite([str(x.get('source_id')) for x in s.settings.get('data_source', [])])}.</p>"
    )
    where = _where_text(ctx, "at-risk")
    if where:
        w = d.where
        moved = w.by_unit() if w is not None else None
        rows_w = []
        if moved is not None:
            for _, u in moved[(moved["change"].round() != 0) | (moved["in_sites"] > 0)].iterrows():
                rows_w.append(
                    [
                        escape(str(u["district"])),
                        say(float(u["residents_at_risk"])),
                        say(float(u["at_risk"])),
                        f"{float(u['change']):+,.0f}",
                        say(float(u["returned"])),
                    ]
                )
        ids = []
        if w is not None and len(w.figures) and "source_ids" in w.figures.columns:
            ids = sorted(
                {i for v in w.figures["source_ids"].astype(str) for i in v.replace(";", " ").split() if i}
            )
        where = f"<p><b>Where they are on the day.</b> {where} {ctx.cite(ids)}</p>"
        if rows_w:
            where += _table(
                ["unit", "by census residence", "where they are", "change", "reported back home"],
                rows_w[:12],
                cls="num small",
            )
    security = by_security_forces(d)
    sec_html = ""
    if len(security):
        deaths = pd.to_numeric(security["fatalities_best"], errors="coerce")
        rows_s = [
            [
                escape(str(r["raw_date"])),
                escape(str(r["place_name"])),
                escape(str(r["perpetrator"])),
                "" if pd.isna(k) else f"{k:,.0f}",
                ctx.cite(str(r["source_ids"])),
            ]
            for (_, r), k in zip(security.iterrows(), deaths, strict=True)
        ]
        sec_html = (
            f"<p><b>Incidents attributed to security forces.</b> {len(security)} of the {len(s.incidents)} incidents "
            "known by the brief's date are attributed by their sources to the state's security forces: they are "
            "part of the threat, and a force sent to protect must be able to protect from them too.</p>"
            + _table(["date", "place", "attributed to", "deaths", "sources"], rows_s, cls="small")
        )
    return Section("at-risk", "Who is at risk, and where", text + where + svg + missing + table + sec_html)


def situation(ctx: Context) -> Section:
    """The situation in numbers known by the brief's date, each with its source."""
    s = ctx.data.scenario
    cards = []
    known_on = dict(
        zip(s.facts["figure"], s.facts.get("known_on", pd.Series("", index=s.facts.index)), strict=True)
    )
    for row in _rows(s.headlines):
        value = float(row.value)
        text = ctx.record(
            "situation",
            str(row.what),
            value,
            f"{value:,.0f}",
            str(row.source_ids),
            iso(known_on.get(row.figure, "")),
        )
        cards.append(
            f'<div class="card"><div class="topic">{escape(str(row.topic))}</div>'
            f'<div class="figure">{text}</div>'
            f'<div class="what">{escape(str(row.what))} {ctx.cite(str(row.source_ids))}</div></div>'
        )
    if not cards:
        cards.append('<p class="note">No headline figure of the scenario was published by this date.</p>')
    not_found = s.facts[(s.facts["status"] == "not found") & ~s.facts["headline"]]
    caveat = ""
    if len(not_found):
        caveat = f'<p class="note">{len(not_found)} figures could not be verified in any stored source and are not shown.</p>'
    return Section(
        "situation",
        f"The situation as known on {ctx.data.as_of.day} {ctx.data.as_of:%B %Y}",
        f'<div class="cards">{"".join(cards)}</div>{caveat}',
        page_break=True,
    )


def options(ctx: Context) -> Section:
    """The force options compared: reach, capacity and simulated outcome in separate columns."""
    d = ctx.data
    dec = d.decision
    rows = []
    plans = {p.option.label: p for p in d.plans}
    for r in sorted(dec.options if dec else [], key=lambda r: (r.unit, r.officers)):
        mark = ' <span class="badge">recommended</span>' if r.recommended else ""
        plan = plans.get(r.label)
        gap = (
            "–"
            if plan is None
            else ("proven best" if plan.gap <= 1e-9 else f"within {max(plan.gap, 0.001):.1%} of best")
        )
        sec = "options"
        rows.append(
            [
                f"<b>{escape(r.words)}</b>{mark}",
                ctx.record(sec, f"{r.label}: officers", r.officers, f"{r.officers:,}"),
                ctx.record(sec, f"{r.label}: posts held around the clock", r.posts, f"{r.posts:,}"),
                ctx.record(sec, f"{r.label}: officers on duty at any moment", r.on_duty, f"{r.on_duty:,}"),
                ctx.record(
                    sec,
                    f"{r.label}: weighted reach",
                    r.reach_weighted_share,
                    share(r.reach_weighted_share) if finite(r.reach_weighted_share) else "–",
                ),
                "none (unarmed)"
                if not r.armed
                else (
                    ctx.record(
                        sec,
                        f"{r.label}: people its officers can hold at 20 per 1,000",
                        r.capacity_people,
                        say(r.capacity_people),
                    )
                    if finite(r.capacity_people)
                    else "–"
                ),
                ctx.record(
                    sec,
                    f"{r.label}: simulated deaths if on duty on the decision day (median)",
                    r.deaths_median,
                    _deaths(r.deaths_median, r.deaths_p5, r.deaths_p95),
                ),
                "sited for depth" if r.siting == "depth" else "sited for reach",
                gap,
            ]
        )
    table = _table(
        [
            "option",
            "officers",
            "posts held 24/7",
            "on duty at any moment",
            f"reach within {d.response_minutes:g} min (weighted share)",
            "capacity: people held at 20 per 1,000",
            "simulated deaths, median (90% range)",
            "posts",
            "placement (reach)",
        ],
        rows,
        cls="num options",
    )
    residents = d.residents_total
    yard_rows = []
    for y in YARDSTICKS:
        ratio = (
            f"{y.per_1000_low:g}"
            if y.per_1000_low == y.per_1000_high
            else f"{y.per_1000_low:g}–{y.per_1000_high:g}"
        )
        low, high = y.per_1000_low * residents / 1000, y.per_1000_high * residents / 1000
        implied = (
            number(low, estimated=True)
            if low == high
            else f"{number(low, estimated=True)}–{number(high, estimated=True)}"
        )
        yard_rows.append(
            [
                escape(y.label),
                ratio,
                implied,
                escape(y.status),
                f'{escape(y.citation)} <a href="{escape(y.url)}">link</a>',
            ]
        )
    yard = _table(
        ["yardstick", "per 1,000 residents", "for the residents of these places", "status", "source"],
        yard_rows,
        cls="num yard",
    )
    notes = "".join(
        f'<li>{escape(text)} <span class="status">({escape(status)})</span> <a href="{escape(url)}">link</a></li>'
        for text, status, url in EMPIRICAL_NOTES
    )
    criterion = f"<p><b>The criterion.</b> {escape(dec.criterion)}.</p>" if dec else ""
    text = (
        "<p>Each option's officers hold posts around the clock (a post needs about five officers for each one on duty, "
        "for shifts, leave and training). Three measures, kept apart: <b>reach</b>, the share of the people at risk "
        f"(weighted by nearness to documented incidents) that a post can get to within {d.response_minutes:g} minutes; "
        "<b>capacity</b>, the people the officers can hold at the stabilisation density of 20 per 1,000; and the "
        "<b>simulated outcome</b>. Unarmed monitors observe what they reach; they protect no one directly.</p>"
        + criterion
    )
    return Section(
        "options",
        "The force options compared",
        text
        + table
        + f'<h3>Yardsticks from the literature (per 1,000 residents)</h3>{yard}<ul class="notes">{notes}</ul>',
    )


def curve(ctx: Context) -> Section:
    """Officers against reach, with the options marked."""
    from kalkan.report.charts import coverage_curve_svg

    d = ctx.data
    opts = d.options.rename(columns={"within_reach_share": "covered_share"})
    svg = coverage_curve_svg(d.curves, opts, target=d.target, response_minutes=d.response_minutes)
    text = (
        "<p>The line is the best siting for reach the planner finds for each number of officers; markers are the "
        "options (filled: armed; hollow: unarmed). Reach rises fast for the first posts, where most people at risk "
        "live close together, and then slowly: the last places are spread over many villages. Reach is not "
        "capacity and not the simulated outcome.</p>"
    )
    return Section(
        "curve", "How reach grows with the number of officers", text + f'<div class="chart">{svg}</div>'
    )


def recommended(ctx: Context) -> Section | None:
    """Where the recommended force's posts stand: the siting it was judged on."""
    from kalkan.report.maps import frame_around, render_map

    d = ctx.data
    rec = d.decision.recommendation if d.decision is not None else None
    if rec is None or not rec.post_list:
        return None
    posts = pd.DataFrame(
        [{"name": p.name, "latitude": p.latitude, "longitude": p.longitude} for p in rec.post_list]
    )
    districts, admin1 = _units(ctx)
    frame = frame_around(posts["latitude"].tolist(), posts["longitude"].tolist(), pad_km=d.reach_km + 3)
    places = d.exposure[d.exposure["at_risk"] > 0]
    svg = render_map(
        frame=frame,
        districts=districts,
        oblasts=admin1,
        places=places,
        incidents=d.scenario.incidents,
        posts=posts,
        reach_km=d.reach_km,
        map_id="map-posts",
        title=f"{rec.words}: {len(posts)} posts and their {d.response_minutes:g}-minute reach",
    )
    exp = d.exposure.drop_duplicates("name").set_index("name")
    counts = posts.groupby(["name", "latitude", "longitude"]).size().reset_index(name="n")
    rows = [
        [
            escape(str(r.name)),
            escape(str(exp.loc[r.name, "district"])) if r.name in exp.index else "",
            f"{r.latitude:.3f}, {r.longitude:.3f}",
            str(r.n),
        ]
        for r in _rows(counts)
    ]
    table = _table(["post at", "unit", "lat, lon", "posts there"], rows, cls="num")
    siting = (
        "sited for depth: several posts within reach of the places with the most people at risk, as in the "
        "simulation that judged them"
        if rec.siting == "depth"
        else "sited for the most reach"
    )
    text = f"<p>{escape(rec.words)}: {len(posts)} posts (blue squares), {siting}; dashed circles show the straight-line reach of {d.response_minutes:g} minutes.</p>"
    return Section("recommended", "Where the recommended posts stand", text + svg + table)


def mandates(ctx: Context) -> Section | None:
    """Mandate options as planners compare them."""
    from kalkan.report.mandates import mandate_rows

    d = ctx.data
    try:
        items = mandate_rows(d)
    except Exception as error:  # the panel must not sink the brief
        return Section("mandates", "Mandate options", f'<p class="note">Left out: {escape(str(error))}</p>')
    rows = []
    illustrative = any(m.pledges_illustrative for m in items)
    for m in items:
        arrival = f"day {m.earliest_day}" if m.earliest_day is not None else "not reached by the pledges"
        rows.append(
            [
                f"<b>{escape(m.name)}</b>",
                escape(m.size_words),
                f"{m.on_duty:,} ({m.posts} posts)",
                escape(m.powers),
                escape(m.protects),
                ctx.record(
                    "mandates",
                    f"{m.unit}: earliest arrival (days after the decision)",
                    m.earliest_day,
                    arrival,
                ),
                (escape(m.cost) + ctx.cite(m.cost_source_ids)) if m.cost else "no cited figure",
                (escape(m.consent) + ctx.cite(m.consent_source_ids))
                if m.consent
                else "not reported by sources of this date",
            ]
        )
    table = _table(
        [
            "mandate",
            "size",
            "on duty at any moment",
            "powers",
            "protects",
            "earliest in place",
            "cost",
            "host consent",
        ],
        rows,
        cls="mandates",
    )
    note = (
        '<p class="note">Earliest in place: days after the decision until pledged officers of that kind add up to the size, '
        + (
            "from kalkan's <b>illustrative</b> pledges (no real offers are recorded in the scenario): a yardstick, not a forecast. "
            if illustrative
            else "from the scenario's recorded pledges. "
        )
        + "Peace operations have taken about ten months on average to reach full strength (Rappa 2016).</p>"
    )
    return Section(
        "mandates",
        "Mandate options as planners compare them",
        "<p>The same protection task, done by three kinds of force.</p>" + table + note,
    )


def asks(ctx: Context) -> Section | None:
    """Every ask of the request the brief answers, with what kalkan shows or "not modelled"."""
    d = ctx.data
    s = d.scenario
    request = s.settings.get("request", {}) if isinstance(s.settings.get("request"), dict) else {}
    letter = request.get("text") or s.settings.get("letter")
    items = s.settings.get("ask", [])
    if not letter and not items:
        return None
    rec = d.decision.recommendation if d.decision is not None else None
    shows = {
        "people_at_risk": f"{say(float(d.exposure['at_risk'].sum()))} {escape(s.group_at_risk)} counted at risk, by place and unit (page “Who is at risk”)",
        "posts": (
            f"where the {rec.posts} posts of {escape(rec.words)} stand (page 1 map and “Where the recommended posts stand”)"
            if rec
            else "no force meets the criterion"
        ),
        "simulation": "simulated deaths, homes destroyed and displaced per option (simulation page)",
        "incidents": f"{int(s.incidents['located'].sum())} located incidents known by the brief's date (maps)",
        "options": "the options and mandates compared (options and mandates pages)",
        "arrival": "what each day of delay costs in the simulation, and the earliest arrival from pledges (mandates page)",
        "timeline": "the earliest arrival of each mandate from force-generation pledges, and what each day of delay costs in the simulation (mandates and simulation pages)",
    }
    rows = []
    for item in items:
        key = str(item.get("shown_by", ""))
        answer = shows.get(key, "<b>not modelled</b>")
        known = ""
        if item.get("known"):
            known = f"<br><small>{escape(str(item['known']))}{ctx.cite(item.get('source_ids', []))}</small>"
        rows.append([escape(str(item.get("topic", ""))), escape(str(item.get("text", ""))), answer + known])
    who = ", ".join(str(request[k]) for k in ("kind", "by", "to") if request.get(k))
    when = f", {request['date']}" if request.get("date") else ""
    head = f"The request ({escape(who)}{escape(when)})." if who else "The request."
    body = (
        f'<p class="letter"><b>{head}</b> {escape(str(letter))}{ctx.cite(request.get("source_ids", []))}</p>'
        if letter
        else ""
    )
    if rows:
        body += _table(["topic", "the ask", "what this brief shows"], rows, cls="asks")
    else:
        body += '<p class="note">The scenario lists no separate asks.</p>'
    return Section("asks", "Every ask of the request, answered", body)


def known_later(ctx: Context) -> Section | None:
    """The box of later knowledge: each item with its date; nothing in it enters the body or the numbers."""
    d = ctx.data
    if not d.later:
        return None
    items = "".join(
        f"<li><b>{escape(i.when)}</b>: {escape(i.text)} {ctx.cite(list(i.source_ids))}</li>" for i in d.later
    )
    text = (
        f'<div class="later"><p>Known only after {d.as_of.day} {d.as_of:%B %Y}, and so used nowhere above: '
        "not in the figures, the people at risk, the risk weights, the hotspot fit or the recommendation.</p>"
        f'<ul class="tight">{items}</ul></div>'
    )
    return Section("known-later", "Known later", text)


def method(ctx: Context) -> Section:
    """Method appendix, in plain words; methods published after the brief's date are named as such."""
    from kalkan.plan.exposure import kernel_settings
    from kalkan.plan.travel import CIRCUITY, SPEED_KMH
    from kalkan.plan.units import UNIT_TYPES, officers_per_post

    d = ctx.data
    s = d.scenario
    est = d.exposure["population_estimated"].mean()
    kernel = kernel_settings(s)

    police = UNIT_TYPES["police"]
    posts_text = "; ".join(
        f"{name}: {kind.officers_per_post} on duty, {officers_per_post(kind):.1f} officers per post"
        for name, kind in UNIT_TYPES.items()
        if name in set(d.options["unit"])
    )
    census = s.settings.get("census", {}) if isinstance(s.settings.get("census", {}), dict) else {}
    year = f" {census['year']}" if "year" in census else ""
    items = [
        (
            "As of",
            f"The brief uses only what was known on {d.as_of.day} {d.as_of:%B %Y}: each report, figure and incident "
            "carries the day it became known (its own, else its earliest source's publication date, read at the latest "
            "day it can mean). Later knowledge is in the box <i>Known later</i> only. Reference data (place points, "
            "boundaries, census tables) describe where people live, not what happened, and are used whatever their date. "
            "Methods published after that day may be used: the planning and simulation models, and the literature "
            "yardsticks, are named with their dates.",
        ),
        (
            "Measured",
            f"Census{year} totals and group shares of {int(s.districts.filter(like='share').notna().any(axis=1).sum())} of "
            f"{len(s.districts)} units, the places' coordinates, {int(s.incidents['located'].sum())} located incidents, "
            "and the figures in the situation section, each with its source.",
        ),
        (
            "Estimated (≈)",
            f"{est:.0%} of place populations: most villages have no figure, so each unit's census total not "
            "accounted for by its towns is shared equally by its villages; where a unit's census total is smaller than its "
            "places' own (undated) figures, they are scaled to it. Where a unit's census share of the group could not be "
            "found, nobody there is counted at risk and a bound is stated; no larger unit's share stands in. The sum is "
            "checked against the census count of the group; the brief stops if it is exceeded.",
        ),
        (
            "Risk weight",
            f"Each place's people at risk are weighted by its nearness in space and time to incidents known by "
            f"the brief's date: a Gaussian of {kernel['distance_km']:g} km times an exponential decay of "
            f"{kernel['decay_days']:g} days, plus a floor of {kernel['floor']:g}. Shares called "
            "<i>weighted</i> are shares of this weighted total, not of people.",
        ),
        (
            "Posts and reach",
            f"A post is staffed around the clock: {posts_text}. One position staffed 24/7 takes about "
            f"{police.shift_multiplier:g} officers (8,760 hours a year over about 1,700 hours one officer works). A place is "
            f"within reach when the travel time (straight-line distance × {CIRCUITY:g} at {SPEED_KMH:g} km/h) is at most "
            f"{d.response_minutes:g} minutes. Siting for reach maximises the weighted people at risk within reach (maximal "
            "covering, Church and ReVelle 1974); siting for depth places several posts where the most people are at risk "
            "(maximum expected covering, Daskin 1983).",
        ),
        (
            "Capacity",
            "People the officers can hold at 20 security personnel per 1,000 inhabitants (Quinlivan 1995, 2003), "
            "the density of successful stabilisation operations.",
        ),
        (
            "Not modelled",
            "Roads, rivers and checkpoints (straight lines instead); the response of perpetrators to the police; "
            "the displaced and returnees as separate groups; population change since the census; the host government's "
            "and residents' acceptance of a force, beyond what the sources of the date report.",
        ),
    ]
    body = "".join(f"<dt>{escape(k)}</dt><dd>{v}</dd>" for k, v in items)
    return Section("method", "Appendix: method and limits", f"<dl>{body}</dl>")


def sources(ctx: Context) -> Section:
    """Every source cited above, with its URL; those published after the brief's date apart."""
    from kalkan.report.asof import source_days

    d = ctx.data
    # Every incident's sources are listed, whether or not a section cited them.
    for ids in d.scenario.incidents["source_ids"]:
        ctx.cite(str(ids))
    everything = d.full_scenario or d.scenario
    table = everything.sources.drop_duplicates("source_id").set_index("source_id")
    days = source_days(everything)
    before: list[str] = []
    after: list[str] = []
    for sid in ctx.cited:
        if sid not in table.index:
            before.append(
                f'<li id="src-{escape(sid)}"><b>{escape(sid)}</b>: not in the scenario\'s sources</li>'
            )
            continue
        r = table.loc[sid]
        item = (
            f'<li id="src-{escape(sid)}"><b>{escape(sid)}</b>: {escape(str(r["title"]))}. '
            f"{escape(str(r['publisher']))}{', ' + escape(str(r['date'])) if str(r['date']) else ''}. "
            f'<a href="{escape(str(r["url"]))}">{escape(str(r["url"]))}</a></li>'
        )
        day = days.get(sid)
        (after if day is None or day > d.as_of else before).append(item)
    body = f'<ol class="sources">{"".join(before)}</ol>'
    if after:
        body += (
            f"<h3>Published after {d.as_of.day} {d.as_of:%B %Y} (cited only in <i>Known later</i>)</h3>"
            f'<ol class="sources">{"".join(after)}</ol>'
        )
    return Section("sources", "Sources", body)


SectionBuilder = Callable[[Context], "Section | None"]
SECTION_BUILDERS: list[SectionBuilder] = [
    decision_sheet,
    situation,
    asks,
    at_risk,
    options,
    curve,
    recommended,
    mandates,
]


def validation(ctx: Context) -> Section | None:
    """The held-out validation: it compares with figures published later, so it follows the Known later box."""
    from kalkan.report.panels import validation_section

    return validation_section(ctx)


CLOSING_BUILDERS: list[SectionBuilder] = [known_later, validation, method, sources]


def build_sections(
    data: BriefData,
    *,
    extra: Sequence[Section | Callable[[Context], Section | None]] = (),
    ctx: Context | None = None,
) -> list[Section]:
    """The brief's sections in order: the fixed ones, then ``extra`` panels, then later knowledge, method and sources."""
    ctx = ctx or Context(data)
    out: list[Section] = []
    for builder in [*SECTION_BUILDERS, *extra, *CLOSING_BUILDERS]:
        section = builder if isinstance(builder, Section) else builder(ctx)
        if section is not None:
            out.append(section)
    return out
