"""Optional panels of the brief, computed by other areas of kalkan, each with its honesty note.

* simulated outcomes of each option (the model behind :func:`kalkan.simulate.simulate_options`, run with
  the brief's own posts): medians and 90% intervals over seeded runs of a model calibrated to
  outcomes with no force;
* the UN Framework of Analysis risk factors for the scenario (:mod:`kalkan.risk.framework`);
* a hotspot forecast map (:func:`kalkan.risk.hotspots.forecast_risk_weight`): where a Hawkes model fitted
  to the incidents expects violence next, and how much of that the recommended posts reach.

:func:`compute_panels` runs them and stores their tables in ``BriefData.panels``; a panel whose module
is missing or fails is left out and the brief says which and why (nothing is hidden).
:data:`PANEL_BUILDERS` turns the stored tables into sections.
"""

# ruff: noqa: E501  (HTML prose: long lines are sentences)

from __future__ import annotations

from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from kalkan.plan.units import ForceOption
from kalkan.report.decision import Simulate, decide
from kalkan.report.markup import Context, Section, scenario_units, share
from kalkan.report.markup import rows_of as _rows
from kalkan.report.markup import table as _table

if TYPE_CHECKING:
    from kalkan.report.brief import BriefData, Progress


def compute_panels(
    data: BriefData,
    *,
    runs: int = 20,
    days: int = 10,
    seed: int = 0,
    ewp: str | Path | None = None,
    progress: Progress | None = None,
) -> BriefData:
    """Compute the optional panels into ``data.panels``.

    ``runs=0`` leaves the simulation out; ``ewp`` (the Early Warning Project country-year table, CSV)
    adds the country-level risk panel, for the year before the scenario's ``as_of``.
    """
    report = progress or (lambda step, done, total: None)
    skipped: dict[str, str] = data.panels.setdefault("skipped", {})
    if ewp is not None:
        try:
            data.panels["country"] = country_context(data, Path(ewp), seed=seed, progress=report)
        except (ImportError, ValueError, KeyError, RuntimeError) as error:
            skipped["Country context"] = f"{type(error).__name__}: {error}"
    if runs > 0:
        try:
            data.panels["simulation"] = simulate_plans(data, runs=runs, days=days, seed=seed, progress=report)
        except Exception as error:  # a panel must not sink the brief; the brief says why it is missing
            skipped["Simulated outcomes"] = f"{type(error).__name__}: {error}"
    table = data.panels.get("simulation")
    common = {
        "runs": int(runs),
        "days": int(days),
        "seed": int(seed),
        "response_minutes": data.response_minutes,
    }
    report("Searching for the least force that meets the criterion", 0, 1)
    data.decision = decide(data, simulate=_simulator(data, table, common) if table is not None else None)
    report("Searching for the least force that meets the criterion", 1, 1)
    rec = data.decision.recommendation
    if table is not None and rec is not None and rec.siting == "depth":
        try:
            table.attrs["late"] = _late(data, ForceOption(rec.unit, rec.officers), common)
        except Exception as error:
            skipped["Late arrival rows"] = f"{type(error).__name__}: {error}"
    name = str(data.scenario.settings.get("framework_assessment", ""))
    if name:
        try:
            from kalkan.risk.framework import risk_factor_profile, shipped_assessment

            report("Risk factors (UN Framework)", 0, 1)
            assessment = shipped_assessment(name)
            data.panels["framework"] = (assessment, risk_factor_profile(assessment))
            report("Risk factors (UN Framework)", 1, 1)
        except Exception as error:
            skipped["UN Framework risk factors"] = f"{type(error).__name__}: {error}"
    try:
        from kalkan.risk.hotspots import forecast_risk_weight

        report("Hotspot forecast", 0, 1)
        weights = np.asarray(
            forecast_risk_weight(data.exposure, data.scenario.incidents, data.as_of), dtype=float
        )
        if weights.shape != (len(data.exposure),):
            raise ValueError(
                f"forecast_risk_weight returned {weights.shape} values for {len(data.exposure)} places"
            )
        data.panels["hotspots"] = weights
        try:
            from kalkan.risk.hotspot_backtest import backtested_skill

            data.panels["hotspot_skill"] = backtested_skill()
        except (ImportError, ValueError, OSError):
            pass  # no shipped backtest: the note says where the skill is measured
        report("Hotspot forecast", 1, 1)
    except Exception as error:
        skipped["Hotspot forecast"] = f"{type(error).__name__}: {error}"
    return data


#: Days after the first clash on which the brief's late-arrival rows put the posts on duty.
LATE_DAYS = (1, 2, 3, 5)


def simulate_plans(data: BriefData, *, runs: int, days: int, seed: int, progress: Progress) -> pd.DataFrame:
    """Simulate no force and each option *with the brief's own posts* (median, 5th and 95th percentiles),
    then each armed option again with its posts sited for depth.

    :func:`kalkan.simulate.simulate_options` with ``plans=``: the calibrated model, the same seeds for
    every option, and the posts the brief shows, so the panel and the maps agree and no option is
    planned twice. The depth rows (``siting == "depth"``; :class:`kalkan.plan.depth.ExpectedCovering`)
    use the same seeds, so they differ from the others only by where the posts stand.
    """
    from kalkan.simulate import simulate_options

    armed = [p.option for p in data.plans if p.option.unit_type.armed]
    step = (
        f"Simulating {len(data.plans) + 1 + len(armed) + len(LATE_DAYS) * bool(armed)} options x {runs} runs"
    )
    progress(step, 0, 1)
    common: dict[str, Any] = {
        "runs": int(runs),
        "days": int(days),
        "seed": int(seed),
        "response_minutes": data.response_minutes,
    }
    table = simulate_options(
        data.scenario,
        [p.option for p in data.plans],
        plans={p.option.label: p for p in data.plans},
        progress=lambda done, total: progress(step, done, total),
        **common,
    )
    if armed:
        depth = simulate_options(data.scenario, armed, baseline=False, siting="depth", **common)
        attrs = dict(table.attrs)
        table = pd.concat([table, depth], ignore_index=True)
        table.attrs.update(attrs)
        table.attrs["depth_posts"] = depth.attrs["posts"]
    progress(step, 1, 1)
    table.attrs.setdefault("days", int(days))
    return table


def _late(data: BriefData, option: ForceOption, common: dict[str, Any]) -> pd.DataFrame:
    """The recommended force sited for depth, on duty only from a later day: what each day of delay costs."""
    from kalkan.simulate import simulate_options

    late = [
        simulate_options(data.scenario, [option], baseline=False, siting="depth", arrival_day=day, **common)
        for day in LATE_DAYS
    ]
    return pd.concat(late, ignore_index=True)


def _simulator(data: BriefData, table: pd.DataFrame, common: dict[str, Any]) -> Simulate:
    """Simulation for :func:`decide`: the presets from the panel's table (armed ones sited for depth),
    other force sizes simulated here with the same seeds and siting."""
    from kalkan.simulate import simulate_options

    sited = table["siting"] if "siting" in table.columns else pd.Series("reach", index=table.index)
    presets = {str(o) for o in table["option"]}

    def simulate(options: list[ForceOption]) -> pd.DataFrame:
        labels = [o.label for o in options]
        if set(labels) <= presets:
            keep = (table["option"] == "none") | (
                table["option"].isin(labels)
                & (
                    (sited == "depth")
                    | ~table["armed"].astype(bool)
                    | ~table["option"].isin(set(table.loc[sited == "depth", "option"]))
                )
            )
            out = table[keep & ~((table["option"] == "none") & (sited == "depth"))].drop_duplicates("option")
            out = out.reset_index(drop=True)
            out.attrs["posts"] = table.attrs.get("depth_posts")
            return out
        return simulate_options(data.scenario, options, baseline=False, siting="depth", **common)

    return simulate


def country_context(data: BriefData, path: Path, *, seed: int, progress: Progress) -> dict[str, Any]:
    """The structural model's forecast for the scenario's country (:func:`kalkan.risk.structural.country_risk`)."""
    from kalkan.risk.structural import country_risk, load_ewp_table

    code = data.scenario.settings.get("ewp_ccode")
    if code is None:
        raise KeyError("the scenario's scenario.toml has no ewp_ccode (the country's code in the EWP table)")
    step = "Country risk (structural model)"
    progress(step, 0, 1)
    table = load_ewp_table(path)
    year = min(data.as_of.year - 1, int(table["year"].max()))
    ranking = country_risk(table, year, "best", seed=seed)
    progress(step, 1, 1)
    row = ranking[ranking["country_code"] == int(code)]
    if not len(row):
        raise KeyError(f"country code {code} has no forecast for {year} in {path.name}")
    return {"row": row.iloc[0].to_dict(), "countries": len(ranking), "year": year, "attrs": dict(ranking.attrs),
            "top": ranking.head(5)[["country", "probability"]].to_dict("records")}  # fmt: skip


def country_section(ctx: Context) -> Section | None:
    """Country context: the structural forecast of a new mass killing, with its backtested skill."""
    stored = ctx.data.panels.get("country")
    if stored is None:
        return None
    r = stored["row"]
    drivers = ", ".join(escape(str(r[k])) for k in sorted(r) if k.startswith("driver_") and r[k])
    top = ", ".join(f"{escape(str(t['country']))} {t['probability']:.1%}" for t in stored["top"])
    text = (
        f"<p>kalkan's country model (trained on the Early Warning Project table, onsets known by {stored['year']}) gives "
        f"<b>{escape(str(r['country']))}</b> a probability of <b>{r['probability']:.1%}</b> of a new state-led mass killing "
        f"in {stored['year'] + 1}-{stored['year'] + 2}, rank <b>{int(r['rank'])} of {stored['countries']}</b> "
        f"(main drivers: {drivers}). The highest: {top}.</p>"
        '<p class="note">Honesty note: in rolling-origin backtests over 1994-2014 the model ranks countries well '
        "(AUC about 0.86, 95% interval 0.83-0.89; it caught 25 of 34 onsets in its top 30) but over-forecasts somewhat "
        "(method appendix). It is trained on all countries, not fitted to this scenario. A country-level model looks for "
        "state-led mass killing; violence between communities in one region is a different thing, which is why the brief "
        "rests on the places and incidents above, not on this rank.</p>"
    )
    return Section("country", "Country context (structural forecast)", text)


def depth_contrast(table: pd.DataFrame, label: str) -> tuple[pd.Series, pd.Series] | None:
    """The rows of option ``label`` sited for reach and for depth in a simulation table, if both are there."""
    if "siting" not in table.columns:
        return None
    rows = table[table["option"] == label]
    reach, depth = rows[rows["siting"] == "reach"], rows[rows["siting"] == "depth"]
    if not len(reach) or not len(depth):
        return None
    return reach.iloc[0], depth.iloc[0]


def simulation_section(ctx: Context) -> Section | None:
    """Simulated deaths, homes destroyed and displaced per option, with intervals."""
    table = ctx.data.panels.get("simulation")
    if table is None:
        return None
    runs = int(table["runs"].iloc[0])
    days = int(table.attrs.get("days", 0))

    def cell(r: Any, what: str) -> str:
        return f"{getattr(r, f'{what}_median'):,.0f} <small>({getattr(r, f'{what}_p5'):,.0f}–{getattr(r, f'{what}_p95'):,.0f})</small>"

    rows = []
    for r in _rows(table):
        label = "no force" if r.option == "none" else escape(str(r.option))
        if getattr(r, "siting", "reach") == "depth":
            label += " <small>sited for depth</small>"
        rows.append([f"<b>{label}</b>", cell(r, "deaths"), cell(r, "homes_destroyed"), cell(r, "displaced")])
    sited = table["siting"] if "siting" in table.columns else pd.Series("reach", index=table.index)
    none = table[table["option"] == "none"]
    best = table[(table["option"] != "none") & (sited != "depth")]
    lead = ""
    pair: tuple[pd.Series, pd.Series] | None = None
    if len(none) and len(best):
        n = float(none["deaths_median"].iloc[0])
        b = best.loc[best["deaths_median"].idxmin()]
        monitors = best[~best["armed"].astype(bool)]
        low, high = monitors["deaths_median"].min(), monitors["deaths_median"].max()
        span = f"{low:,.0f}" if low == high else f"{low:,.0f}-{high:,.0f}"
        same = (
            f" The unarmed options ({', '.join(escape(str(x)) for x in monitors['option'])}: {span} deaths) change "
            f"{'nothing' if low == high == n else 'little'} in the model, because monitors observe but do not deter."
            if len(monitors)
            else ""
        )
        lead = (
            f"<p>With no force the model gives a median of {n:,.0f} deaths in {days} days; with {escape(str(b['option']))} "
            f"{b['deaths_median']:,.0f}.{same}</p>"
        )
        rec = ctx.data.decision.recommendation if ctx.data.decision is not None else None
        pair = depth_contrast(table, rec.label if rec is not None else "") or depth_contrast(
            table, str(b["option"])
        )  # compare siting on the recommended option if it is armed, else on the best
        if pair is not None:
            b, d = pair
            lead += (
                f"<p><b>Where the posts stand matters as much as how many.</b> The same {escape(str(b['option']))} sited "
                f"for depth (several posts in reach of the places with the most people at risk, at the cost of reach "
                f"elsewhere: {d['covered_share']:.0%} of the weight in reach instead of {b['covered_share']:.0%}) gives a "
                f"median of {d['deaths_median']:,.0f} deaths ({d['deaths_p5']:,.0f}-{d['deaths_p95']:,.0f}) instead of "
                f"{b['deaths_median']:,.0f}: in the model, enough officers in reach when a flashpoint ignites stop the "
                "escalation. With depth, more police also means fewer deaths, which it does not with reach; this holds "
                "when each officer is assumed to deter far fewer rioters. Depth siting is Daskin's "
                "maximum expected covering with each post busy half the time (method appendix).</p>"
            )
    note = (
        f'<p class="note">Medians and 90% intervals (5th-95th percentile) over {runs} seeded runs of {days} days of an '
        "agent-based model of inter-group violence on the scenario's places (Epstein 2002, model II, with police posts from "
        f"the planner). {_calibration_note(ctx.data)} The deterrence of armed police cannot be learnt from a crisis in which "
        "no force came, and is anchored to Hultman, Kathman & Shannon in AJPS 57(4) (200 UN police: 96 to 14 civilian deaths a "
        "month), not fitted to this scenario. These are model outcomes for comparing options, not predictions.</p>"
    )
    body = _table(["option", "deaths", "homes destroyed", "displaced"], rows, cls="num")
    body += _late_table(ctx, table)
    return Section("simulation", "What each option might change (simulation)", lead + body + note)


def _calibration_note(data: BriefData) -> str:
    """One sentence on what the simulation's parameters were fitted to, and whether to this scenario."""
    from kalkan.simulate import load_posterior

    try:
        provenance = load_posterior(data.scenario).provenance
    except Exception:  # not calibrated to this scenario: say so, with no command line
        return (
            "It is not calibrated to this scenario: no fitted parameters are stored for it, and no other crisis's "
            "fit is used in their place."
        )
    when = provenance.get("calibrated_as_of")
    if when and str(when) > data.as_of.isoformat():
        return (
            f"Its free parameters are fitted to this scenario's no-force outcomes as known on {escape(str(when))}, "
            "after the brief's date: the calibration uses later knowledge."
        )
    if when:
        return f"Its free parameters are fitted to this scenario's no-force outcomes as known on {escape(str(when))}."
    return "Its free parameters are fitted to this scenario's no-force outcomes."


def late_rows(table: pd.DataFrame, label: str) -> pd.DataFrame | None:
    """The late-arrival rows of option ``label`` sited for depth (``attrs["late"]``), if simulated."""
    late = table.attrs.get("late")
    if late is None or not len(late[late["option"] == label]):
        return None
    return cast(pd.DataFrame, late[late["option"] == label])


def _late_table(ctx: Context, table: pd.DataFrame) -> str:
    """The recommended force, sited as judged, on duty from the start and from later days (same seeds)."""
    dec = ctx.data.decision
    rec = dec.recommendation if dec is not None else None
    if rec is None or rec.deaths_median is None:
        return ""
    late = late_rows(table, rec.label)
    if late is None:
        return ""
    rows = [
        [
            "from the start",
            f"{rec.deaths_median:,.0f} <small>({rec.deaths_p5:,.0f}–{rec.deaths_p95:,.0f})</small>",
        ]
    ]
    rows += [[f"from day {float(r['arrival_day']):g}",
              f"{r['deaths_median']:,.0f} <small>({r['deaths_p5']:,.0f}–{r['deaths_p95']:,.0f})</small>"]
             for _, r in late.iterrows()]  # fmt: skip
    return (
        f"<p><b>When the posts arrive matters.</b> {escape(rec.words)}, sited as recommended, with the posts on duty "
        "only from a later day after the first clash (same runs):</p>"
        + _table(["on duty", "simulated deaths, median (90% range)"], rows, cls="num")
    )


def framework_section(ctx: Context) -> Section | None:
    """The UN Framework of Analysis for Atrocity Crimes: which risk factors the assessment finds."""
    stored = ctx.data.panels.get("framework")
    if stored is None:
        return None
    assessment, profile = stored
    rows = []
    for r in _rows(profile):
        rows.append(
            [
                f"{int(r.factor)}. {escape(str(r.name))}",
                "unknown"
                if str(r.level) == "none" and int(r.present) == 0 and int(r.unknown) + int(r.not_assessed) > 0
                else escape(str(r.level)),
                f"{int(r.present)} of {int(r.indicators)}",
                str(int(r.unknown) + int(r.not_assessed)),
            ]
        )
    text = (
        f"<p>An analyst's assessment of {escape(str(assessment.country))} on {assessment.as_of:%d %B %Y} against the "
        "UN Framework of Analysis for Atrocity Crimes (2014): for each of its 14 risk factors, how many indicators are "
        "found present. The Framework gives no score; 'many' (a third or more present), 'some' and 'none' are kalkan's "
        "display convention; 'unknown' means no indicator was found present and some could not be assessed. Indicators "
        "not assessed are counted as such, not as absent.</p>"
    )
    body = _table(["risk factor", "level", "indicators present", "unknown or not assessed"], rows, cls="num")
    return Section("framework", "Risk factors (UN Framework of Analysis)", text + body)


def hotspot_section(ctx: Context) -> Section | None:
    """Where a Hawkes model expects violence next, and how much of it the recommended posts reach."""
    from kalkan.report.maps import frame_of, render_map

    d = ctx.data
    weights = d.panels.get("hotspots")
    if weights is None:
        return None
    exposure = d.exposure.assign(forecast_weight=weights)
    exposure["at_risk"] = exposure["at_risk"] * exposure["forecast_weight"]
    districts, admin1 = scenario_units(ctx.data.scenario)
    svg = render_map(
        frame=frame_of(districts),
        districts=districts,
        oblasts=admin1,
        places=exposure[exposure["at_risk"] > 0],
        incidents=d.scenario.incidents,
        title="Forecast-weighted people at risk (Hawkes model, next 14 days)",
        map_id="map-hotspots",
        legend_title="forecast-weighted people at risk",
    )
    total = float(exposure["at_risk"].sum())
    reached = ""
    if d.recommended is not None and total > 0:
        covered = exposure[exposure["place_id"].isin(set(d.recommended.covered_ids))]["at_risk"].sum()
        reached = (
            f" The recommended option's posts, placed for the incident kernel, reach {share(covered / total)} of the "
            "forecast-weighted people at risk too."
        )
    zero = int((weights <= 0).sum())
    located = int(d.scenario.incidents["located"].sum())
    far = (
        f" {zero:,} places far from every incident get weight 0 here; the kernel keeps a floor."
        if zero
        else ""
    )
    corr = (
        float(np.corrcoef(weights, d.exposure["risk_weight"])[0, 1]) if np.std(weights) > 0 else float("nan")
    )
    text = (
        f"<p>A self-exciting point process (Hawkes) fitted to the {int(d.scenario.incidents['located'].sum())} located "
        f"incidents up to {d.as_of:%d %B %Y} forecasts where violence is expected in the next 14 days; each place's people "
        f"at risk are weighted by it (mean weight 1).{reached} Its correlation with the brief's incident kernel is "
        f"{corr:.2f}.{far}</p>"
        f'<p class="note">Honesty note: {located} town-level incidents are far too few to backtest a forecast for this scenario; '
        f"{_skill_text(d.panels.get('hotspot_skill'))} Read the map as the shape of the documented violence, not as a "
        "validated prediction.</p>"
    )
    return Section("hotspots", "Where violence may come next (hotspot forecast)", text + svg)


def _skill_text(skill: Any) -> str:
    """One sentence on the hotspot model's backtested skill (shipped GED backtest), or where to find it."""
    fallback = (
        "the model's skill is measured on UCDP GED data in kalkan's hotspot backtests, not on this scenario."
    )
    if not isinstance(skill, pd.DataFrame) or not len(skill):
        return fallback
    rows = skill
    for column in ("group", "country"):
        if column in rows.columns and (rows[column] == "pooled").any():
            rows = rows[rows[column] == "pooled"]
    metrics = [
        c for c in rows.columns
        if c.lower() in ("auc", "roc_auc", "pai", "hit_rate", "brier", "log_loss", "pai_at_10", "hit_rate_at_10")
    ]  # fmt: skip
    if "model" not in rows.columns or not metrics:
        return fallback
    parts = []
    for r in rows.head(4).to_dict("records"):
        scores = []
        for m in metrics:
            value = r.get(m)
            if not isinstance(value, int | float) or not np.isfinite(value):
                continue
            low, high = r.get(f"{m}_low"), r.get(f"{m}_high")
            interval = (
                f" [{low:.2f}, {high:.2f}]" if isinstance(low, float) and isinstance(high, float) else ""
            )
            scores.append(f"{m} {value:.2f}{interval}")
        if scores:
            parts.append(f"{escape(str(r['model']))}: {', '.join(scores)}")
    if not parts:
        return fallback
    period = f" ({escape(str(rows['period'].iloc[0]))})" if "period" in rows.columns else ""
    return f"its backtest on UCDP GED data{period}, pooled over countries, gives " + "; ".join(parts) + "."


def skipped_note(ctx: Context) -> Section | None:
    """Which optional panels are missing and why."""
    skipped = ctx.data.panels.get("skipped") or {}
    if not skipped:
        return None
    items = "".join(f"<li><b>{escape(k)}</b>: {escape(v)}</li>" for k, v in skipped.items())
    return Section("panels-missing", "Panels left out", f"<ul>{items}</ul>")


PANEL_BUILDERS: list[Callable[[Context], Section | None]] = [
    simulation_section,
    country_section,
    hotspot_section,
    framework_section,
    skipped_note,
]

__all__ = ["PANEL_BUILDERS", "compute_panels"]
