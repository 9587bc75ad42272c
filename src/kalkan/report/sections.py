# ruff: noqa: E501  (HTML prose: long lines are sentences, kept whole so they read and grep as written)
"""The brief as a list of sections, each built from :class:`kalkan.report.brief.BriefData`.

A section is a title and a block of HTML. :data:`SECTION_BUILDERS` gives the order; other panels
(simulated outcomes, country risk, a hotspot forecast) are passed to :func:`build_sections` as extra
sections and appear before the method and the sources. Every number that comes from a source carries a
citation link into the sources list; every estimated number is marked with "≈" and the class ``est``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import TYPE_CHECKING, Any

import pandas as pd

from kalkan.report.references import EMPIRICAL_NOTES, YARDSTICKS

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


def _rows(frame: pd.DataFrame) -> list[Any]:
    """Rows as named tuples (typed loosely: the columns are mixed)."""
    return list(frame.itertuples(index=False))


def number(value: float, *, estimated: bool = False, digits: int = 0) -> str:
    """A number for the page; estimated ones get "≈" and the ``est`` class."""
    text = f"{value:,.{digits}f}"
    if estimated:
        return f'<span class="est" title="estimated">≈{text}</span>'
    return text


def share(value: float, *, estimated: bool = False) -> str:
    """A share (0-1) as a percentage."""
    text = f"{value:.0%}" if value >= 0.01 or value == 0 else f"{value:.1%}"
    return f'<span class="est" title="estimated">≈{text}</span>' if estimated else text


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, cls: str = "") -> str:
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


# --- sections -----------------------------------------------------------------------------------------


def bottom_line(ctx: Context) -> Section:
    """The answer first: what the letter argued and what the numbers say."""
    d = ctx.data
    s = d.scenario
    options = d.options
    armed_needed = [
        (u, n)
        for u, n in d.officers_for_target.items()
        if n and options.loc[options["unit"] == u, "armed"].any()
    ]
    monitors = options[~options["armed"]]
    parts = (
        [f'<p class="letter"><b>What the {escape(s.request.kind)} argued.</b> {escape(s.request.text)}</p>']
        if s.request is not None and s.request.text
        else []
    )
    parts.append(
        f"<p><b>Who is at risk.</b> About {number(d.at_risk_total, estimated=True)} {escape(s.group_at_risk)} in "
        f"{len(d.exposure):,} towns, villages and neighbourhoods of {escape(', '.join(s.settings.get('oblasts', [])))} "
        "(estimates from the 2009 census, marked ≈), most exposed around Osh and Jalal-Abad where the violence of "
        "June 2010 was documented.</p>"
    )
    if len(monitors):
        spans = ", ".join(
            f"{r.label} hold {r.posts} posts within reach of {share(r.within_reach_share)}"
            for r in _rows(monitors.sort_values("officers"))
        )
        parts.append(
            f"<p><b>Monitors observe; they do not protect.</b> Paired around the clock, {spans} of the risk-weighted "
            "people at risk: they can see and report, but unarmed they protect none of it.</p>"
        )
    least = "".join(
        f" By the coverage curve, about <b>{needed:,} {escape(unit)}</b> is the least force that reaches the target."
        for unit, needed in armed_needed
    )
    if d.recommended is not None:
        r = options[options["recommended"]].iloc[0]
        parts.append(
            f'<p class="answer"><b>Recommended: {escape(str(r["label"]))}</b>, the smallest option given that '
            f"protects {d.target:.0%} of the risk-weighted people at risk within {d.response_minutes:g} minutes: "
            f"{r['posts']} posts held 24/7 reach {share(r['within_reach_share'])} of them "
            f"({number(r['people_within_reach'], estimated=True)} people).{least}</p>"
        )
    else:
        parts.append(
            f'<p class="answer"><b>No option given protects {d.target:.0%}</b> of the risk-weighted people at risk '
            f"within {d.response_minutes:g} minutes.{least}</p>"
        )
    parts.append(_siting_line(d))
    parts.append(_density(d))
    return Section("bottom-line", "The bottom line", "".join(parts))


def _siting_line(d: BriefData) -> str:
    """One sentence on siting for depth, when the simulation compared it for the recommended option."""
    from kalkan.report.panels import depth_contrast

    table = d.panels.get("simulation")
    if table is None or d.recommended is None:
        return ""
    pair = depth_contrast(table, d.recommended.option.label)
    if pair is None:
        return ""
    from kalkan.report.panels import late_rows

    reach, depth = pair
    text = (
        f"<p><b>Where the posts stand matters as much as how many.</b> In the simulation, the same "
        f'<span class="nowrap">{escape(d.recommended.option.label)}</span> with posts stacked where the most '
        f"people are at risk leaves a "
        f"median of {depth['deaths_median']:,.0f} deaths in {int(table.attrs.get('days', 0))} days, against "
        f"{reach['deaths_median']:,.0f} with posts spread for reach."
    )
    late = late_rows(table, d.recommended.option.label)
    if late is not None:
        first, last = late.iloc[0], late.iloc[-1]
        text += (
            f" <b>And when they arrive matters most:</b> on duty {float(first['arrival_day']):g} day after the first "
            f"clash, the same posts leave {first['deaths_median']:,.0f} deaths; after {float(last['arrival_day']):g} "
            f"days, {last['deaths_median']:,.0f}."
        )
    return text + " (See the simulation page and its limits.)</p>"


def _density(d: BriefData) -> str:
    """Reach is not capacity: compare officers per 1,000 people within reach with the yardsticks."""
    armed = d.options[d.options["armed"]]
    if not len(armed):
        return ""
    routine = next(y for y in YARDSTICKS if y.key == "routine")
    stab = next(y for y in YARDSTICKS if y.key == "stabilisation")
    biggest = _rows(armed.sort_values("officers"))[-1]
    per_1000 = biggest.officers / max(biggest.people_within_reach, 1.0) * 1000
    needed = d.at_risk_total * stab.per_1000_low / 1000
    held = ""
    if "people_protected_at_density" in d.options:
        held = (
            f" At that density its posts hold {number(biggest.people_protected_at_density, estimated=True)} people "
            f"({share(biggest.protected_at_density_share)} of the risk-weighted demand); all of them would take about "
            f"{number(needed, estimated=True)} security personnel."
        )
    return (
        "<p><b>Reach is not capacity.</b> A post covers every place it can reach in time, however many live there. "
        f"{escape(str(biggest.label))} is {per_1000:.1f} officers per 1,000 people at risk in its reach; routine "
        f"policing takes {routine.per_1000_low:g}-{routine.per_1000_high:g} per 1,000 residents and successful "
        f"stabilisation about {stab.per_1000_low:g} (Quinlivan 1995, 2003).{held} Hundreds of armed police can be "
        "everywhere in time to deter and respond; they cannot hold every neighbourhood at once.</p>"
    )


def situation(ctx: Context) -> Section:
    """The situation in numbers, each with its source."""
    s = ctx.data.scenario
    cards = []
    for row in _rows(s.headlines):
        cards.append(
            f'<div class="card"><div class="topic">{escape(str(row.topic))}</div>'
            f'<div class="figure">{row.value:,.0f}</div>'
            f'<div class="what">{escape(str(row.what))} {ctx.cite(str(row.source_ids))}</div></div>'
        )
    not_found = s.facts[(s.facts["status"] == "not found") & ~s.facts["headline"]]
    caveat = ""
    if len(not_found):
        caveat = (
            f'<p class="note">Counts differ between sources (the scenario holds '
            f"{int((~s.facts['headline'] & (s.facts['topic'] == 'Deaths')).sum())} statements on deaths). "
            f"{len(not_found)} figures could not be verified in any stored source and are not shown "
            "(<code>kalkan scenario show</code> lists them), among them the letter's "
            "&ldquo;at least 1,400 homes&rdquo;.</p>"
            if (not_found["figure"].str.contains("1,400")).any()
            else f'<p class="note">{len(not_found)} figures could not be verified and are not shown.</p>'
        )
    return Section(
        "situation", "The situation in numbers", f'<div class="cards">{"".join(cards)}</div>{caveat}'
    )


def _south(ctx: Context) -> tuple[list[dict], list[dict]]:
    s = ctx.data.scenario
    oblasts = set(s.settings.get("oblasts", []))
    districts = [f for f in s.admin2["features"] if f["properties"].get("oblast") in oblasts]
    codes = {f["properties"].get("oblast_code") for f in districts}
    admin1 = [f for f in s.admin1["features"] if f["properties"].get("code") in codes]
    return districts, admin1


def at_risk(ctx: Context) -> Section:
    """Where the people at risk live: the map and the districts."""
    from kalkan.report.maps import frame_of, render_map

    d = ctx.data
    s = d.scenario
    districts, admin1 = _south(ctx)
    svg = render_map(
        frame=frame_of(districts), districts=districts, oblasts=admin1, places=d.exposure, incidents=s.incidents,
        title=f"People at risk ({s.group_at_risk}) by place, and documented incidents", map_id="map-risk",
    )  # fmt: skip
    exp = d.exposure
    events = s.incidents[s.incidents["located"]]
    by = exp.groupby("district").agg(
        population=("population", "sum"), pop_est=("population_estimated", "any"), at_risk=("at_risk", "sum"),
        at_risk_max=("at_risk_max", "sum"), known=("group_share_known", "first"), share=("group_share", "first"),
        share_max=("group_share_max", "first"), weight=("weight", "sum"),
    )  # fmt: skip
    by["incidents"] = events.groupby("admin2").size().reindex(by.index).fillna(0).astype(int)
    by = by.sort_values("weight", ascending=False)
    from kalkan.plan.exposure import district_estimates

    shares = district_estimates(s)
    src = dict(zip(shares["district"], shares["share_source_ids"], strict=True))
    rows = []
    for name, r in by[by["known"].astype(bool)].head(10).iterrows():
        rows.append(
            [
                escape(str(name)),
                number(r["population"], estimated=bool(r["pop_est"])),
                (share(r["share"]) if r["known"] else f"unknown (at most {share(r['share_max'])})")
                + ctx.cite(src.get(str(name), "")),
                number(r["at_risk"], estimated=bool(r["pop_est"])) if r["known"]
                else f'unknown (at most {number(r["at_risk_max"], estimated=True)})',
                f"{r['weight'] / d.exposure['weight'].sum():.0%}",
                str(r["incidents"]),
            ]
        )
    table = _table(["unit", "residents", "group share (census)", "people at risk",
                    "share of risk-weighted demand", "incidents"], rows, cls="num")  # fmt: skip
    unknown = by[~by["known"].astype(bool)]
    if len(unknown):
        table += (
            f'<p class="note"><b>Unknown.</b> {len(unknown)} units have no census share of the '
            f"{escape(s.group_at_risk)} that could be found: "
            + ", ".join(f"{escape(str(n))} (at most {number(r['at_risk_max'], estimated=True)})"
                        for n, r in unknown.sort_values("at_risk_max", ascending=False).iterrows())
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
        "most carry the town's coordinates, not the street's). Census sources: "
        f"{ctx.cite(['D_GEONAMES', 'D_WOF', 'D_OCHA_COD'])}.</p>"
    )
    return Section("at-risk", "Who is at risk, and where", text + svg + missing + table, page_break=True)


def options(ctx: Context) -> Section:
    """The force options compared, and the yardsticks from the literature."""
    d = ctx.data
    rows = []
    for r in _rows(d.options):
        mark = ' <span class="badge">recommended</span>' if r.recommended else ""
        gap = "proven best" if r.gap <= 1e-9 else f"within {max(r.gap, 0.001):.1%} of best"
        rows.append(
            [
                f"<b>{escape(r.label)}</b>{mark}",
                "armed" if r.armed else "unarmed",
                f"{r.officers:,}",
                f"{r.posts:,}",
                share(r.within_reach_share),
                number(r.people_within_reach, estimated=True),
                share(r.protected_share) if r.armed else '<span class="zero">0% (observe only)</span>',
                (
                    f"{number(r.people_protected_at_density, estimated=True)} <small>({share(r.protected_at_density_share)})</small>"
                    if r.armed
                    else '<span class="zero">0</span>'
                ),
                f"{r.per_1000_at_risk:.2f}",
                f"{r.per_1000_residents:.2f}",
                gap,
            ]
        )
    table = _table(
        ["option", "", "officers", "posts held 24/7", f"within {d.response_minutes:g} min (risk-weighted)",
         "people at risk within reach", "protected (reach)", f"protected at {d.options['per_1000_density'].iloc[0]:g} per 1,000",
         "per 1,000 at risk", "per 1,000 residents", "placement"],
        rows, cls="num options",
    )  # fmt: skip
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
            number(low, estimated=True) if low == high else f"{number(low, estimated=True)}–{number(high)}"
        )
        yard_rows.append([escape(y.label), ratio, implied, escape(y.status),
                          f'{escape(y.citation)} <a href="{escape(y.url)}">link</a>'])  # fmt: skip
    yard = _table(["yardstick", "per 1,000 inhabitants", "for this area's residents", "status", "source"],
                  yard_rows, cls="num yard")  # fmt: skip
    notes = "".join(
        f'<li>{escape(text)} <span class="status">({escape(status)})</span> <a href="{escape(url)}">link</a></li>'
        for text, status, url in EMPIRICAL_NOTES
    )
    text = (
        f"<p>Each option's officers are turned into posts staffed around the clock (two on duty, "
        f"{d.options['officers_per_post'].iloc[0]:.1f} officers per post with shifts, leave and training), and "
        f"the posts are placed where they reach the most people at risk, weighted by the documented incidents, "
        f"within {d.response_minutes:g} minutes ({d.reach_km:.1f} km in a straight line). "
        "Unarmed monitors can observe what they reach; only armed police can protect it.</p>"
    )
    return Section(
        "options", "The force options compared",
        text + table + f"<h3>Yardsticks from the literature</h3>{yard}<ul class=\"notes\">{notes}</ul>",
        page_break=True,
    )  # fmt: skip


def curve(ctx: Context) -> Section:
    """Officers against coverage, with the options marked."""
    from kalkan.report.charts import coverage_curve_svg

    d = ctx.data
    opts = d.options.rename(columns={"within_reach_share": "covered_share"})
    svg = coverage_curve_svg(d.curves, opts, target=d.target, response_minutes=d.response_minutes)
    text = (
        "<p>The line is the best placement the planner finds for each number of officers; markers are the "
        "options (filled: armed, protect; hollow: unarmed, observe). Coverage rises fast for the first posts "
        "around Osh and Jalal-Abad and then slowly: the last places at risk are spread over many villages.</p>"
    )
    return Section(
        "curve", "How coverage grows with the number of officers", text + f'<div class="chart">{svg}</div>'
    )


def recommended(ctx: Context) -> Section | None:
    """Where the recommended option's posts stand."""
    from kalkan.report.maps import frame_around, render_map

    d = ctx.data
    plan = d.recommended
    if plan is None:
        return Section("recommended", "Where the posts stand", "<p>No option reaches the target.</p>")
    selected = plan.selected
    districts, admin1 = _south(ctx)
    frame = frame_around(selected["latitude"].tolist(), selected["longitude"].tolist(), pad_km=d.reach_km + 3)
    covered = set(plan.covered_ids)
    places = d.exposure[d.exposure["place_id"].isin(covered)]
    svg = render_map(
        frame=frame, districts=districts, oblasts=admin1, places=places, incidents=d.scenario.incidents,
        posts=selected, reach_km=d.reach_km, map_id="map-posts",
        title=f"{plan.option.label}: {len(selected)} posts and the places within {d.response_minutes:g} minutes",
    )  # fmt: skip
    exp = d.exposure.set_index("place_id")
    rows = []
    top = selected.sort_values("covered_weight", ascending=False).head(12)
    for r in _rows(top):
        district = exp.loc[r.id, "district"] if r.id in exp.index else ""
        rows.append([escape(str(r.name)), escape(str(district)), f"{r.latitude:.3f}, {r.longitude:.3f}",
                     number(float(r.covered_weight), estimated=True)])  # fmt: skip
    table = _table(
        ["post at", "district", "lat, lon", "risk-weighted people it reaches first"], rows, cls="num"
    )
    text = (
        f"<p>{escape(plan.option.label)}: {len(selected)} posts (blue squares) with the straight-line reach of "
        f"{d.response_minutes:g} minutes (dashed). Shown are the places they reach. "
        f"{'The placement is proven best.' if plan.gap <= 1e-9 else f'The placement is within {max(plan.gap, 0.001):.1%} of the best possible (solver bound).'}"
        "</p>"
    )
    more = f'<p class="note">The {len(top)} posts reaching most are listed; {len(selected)} in all.</p>'
    return Section("recommended", "Where the recommended option's posts stand", text + svg + table + more)


def method(ctx: Context) -> Section:
    """Method and limits, in plain words."""
    d = ctx.data
    s = d.scenario
    est = d.exposure["population_estimated"].mean()
    kernel = s.settings.get("risk_kernel", {})
    from kalkan.plan.travel import CIRCUITY, SPEED_KMH
    from kalkan.plan.units import UNIT_TYPES, officers_per_post

    police = UNIT_TYPES["police"]
    posts_text = "; ".join(
        f"{name}: {kind.officers_per_post} on duty, {officers_per_post(kind):.1f} officers per post"
        for name, kind in UNIT_TYPES.items()
        if name in set(d.options["unit"])
    )
    items = [
        ("Measured",
         f"Town populations (GeoNames, undated), the 2009 census totals and group shares of "
         f"{int(s.districts['population'].notna().sum())} of {len(s.districts)} districts, the places' "
         f"coordinates, {int(s.incidents['located'].sum())} located incidents, and the figures in the situation "
         "section, each with its source."),
        ("Estimated (≈)",
         f"{est:.0%} of place populations: villages have no figure, so each district's census total not accounted "
         "for by its towns is shared equally by its villages (where a district total is missing: the oblast "
         "remainder, else the median per-village figure). Group shares missing for a district are the oblast's "
         "(Osh city: the Osh oblast share, probably too low). Every such number is marked ≈."),
        ("Risk weight",
         f"Each place's people at risk are weighted by its closeness in space and time to documented incidents: "
         f"a Gaussian of {kernel.get('distance_km', 25):g} km in distance times an exponential decay of "
         f"{kernel.get('decay_days', 14):g} days, plus a floor of {kernel.get('floor', 0.1):g} so that no place "
         f"counts for nothing. As of {d.as_of:%d %B %Y}."),
        ("Posts and reach",
         f"A post is staffed around the clock: {posts_text}. One position staffed 24/7 takes about "
         f"{police.shift_multiplier:g} officers (8,760 hours a year over about 1,700 hours one officer works). "
         f"A place is within reach when the travel time (straight-line distance × {CIRCUITY:g} road circuity at "
         f"{SPEED_KMH:g} km/h) is at most {d.response_minutes:g} minutes. Posts stand at places; the planner "
         "maximises the risk-weighted people at risk within reach (maximal covering) and reports how close to "
         "the best its answer is."),
        ("Reach is not capacity",
         "The covering model counts a place as covered when one post can reach it in time, whatever its size: "
         "two officers on duty cannot protect a city. The officers-per-1,000 columns and the yardsticks check "
         "the density of each option against the literature."),
        ("Not modelled yet",
         "Roads, rivers and checkpoints (straight lines instead); how long it takes to generate and deploy a force "
         "(the simulation shows what a late arrival costs, not when a force can arrive; the letter asks for days, UN "
         "missions took about 10 months to peak); perpetrators' response to the police; the displaced "
         "and the returnees as separate groups; the population change since 2009; whether police are accepted "
         "by the government and residents (the OSCE group was not deployed as planned)."),
    ]  # fmt: skip
    body = "".join(f"<dt>{escape(k)}</dt><dd>{v}</dd>" for k, v in items)
    return Section("method", "Method and limits", f"<dl>{body}</dl>")


def sources(ctx: Context) -> Section:
    """Every source cited above, with its URL."""
    table = ctx.data.scenario.sources.set_index("source_id")
    items = []
    for sid in ctx.cited:
        if sid not in table.index:
            items.append(
                f'<li id="src-{escape(sid)}"><b>{escape(sid)}</b>: not in the scenario\'s sources</li>'
            )
            continue
        r = table.loc[sid]
        items.append(
            f'<li id="src-{escape(sid)}"><b>{escape(sid)}</b>: {escape(str(r["title"]))}. '
            f"{escape(str(r['publisher']))}{', ' + escape(str(r['date'])) if str(r['date']) else ''}. "
            f'<a href="{escape(str(r["url"]))}">{escape(str(r["url"]))}</a></li>'
        )
    return Section("sources", "Sources", f'<ol class="sources">{"".join(items)}</ol>')


SectionBuilder = Callable[[Context], "Section | None"]
SECTION_BUILDERS: list[SectionBuilder] = [bottom_line, situation, at_risk, options, curve, recommended]
CLOSING_BUILDERS: list[SectionBuilder] = [method, sources]


def build_sections(
    data: BriefData, *, extra: Sequence[Section | Callable[[Context], Section | None]] = ()
) -> list[Section]:
    """The brief's sections in order: the fixed ones, then ``extra`` panels, then method and sources."""
    ctx = Context(data)
    out: list[Section] = []
    for builder in [*SECTION_BUILDERS, *extra, *CLOSING_BUILDERS]:
        section = builder if isinstance(builder, Section) else builder(ctx)
        if section is not None:
            out.append(section)
    return out
