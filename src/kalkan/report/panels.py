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

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from kalkan._base import Progress, no_progress
from kalkan.plan.reach import reach_of
from kalkan.plan.units import ForceOption
from kalkan.report.decision import decide, in_words, outcome_sentence
from kalkan.report.markup import Context, Section, report_step, scenario_units, share
from kalkan.report.markup import rows_of as _rows
from kalkan.report.markup import table as _table
from kalkan.report.outcomes import DRAWS, SEEDS_PER_DRAW, simulate_outcomes

if TYPE_CHECKING:
    from kalkan.report.brief import BriefData

_LABEL = re.compile(r"\b(monitors|police|fpu):(\d+)\b")


def compute_panels(
    data: BriefData,
    *,
    runs: int = DRAWS * SEEDS_PER_DRAW,
    seed: int = 0,
    ewp: str | Path | None = None,
    scheduler: Any = None,
    sensitivity_runs: int = 0,
    progress: Progress | None = None,
) -> BriefData:
    """Compute the optional panels into ``data.panels`` and the decision into ``data.decision``.

    ``runs`` is the posterior-predictive runs per option (parameter draws x 4 seeds; 0 leaves the
    simulation out and the recommendation rests on reach); ``ewp`` (the Early Warning Project
    country-year table, CSV) adds the country-level risk panel, for the year before the scenario's
    ``as_of``. ``scheduler`` is Dask's (None: serial; "local": a LocalCluster reused by every
    simulation). ``sensitivity_runs`` > 0 recomputes the sensitivity analysis when the scenario stores none.
    """
    report = progress or no_progress
    skipped: dict[str, str] = data.panels.setdefault("skipped", {})
    if ewp is not None:
        try:
            _describe(report, "Country risk (structural model)")
            data.panels["country"] = country_context(data, Path(ewp), seed=seed, progress=report)
        except (ImportError, ValueError, KeyError, RuntimeError) as error:
            skipped["Country context"] = f"{type(error).__name__}: {error}"
    if runs > 0:
        with _client(scheduler) as client:
            _simulate(
                data,
                runs=runs,
                seed=seed,
                scheduler=client,
                sensitivity_runs=sensitivity_runs,
                progress=report,
            )
    _describe(report, "Choosing the recommendation")
    data.decision = decide(data, data.outcomes)
    name = str(data.scenario.settings.get("framework_assessment", ""))
    if name:
        try:
            from kalkan.risk.framework import risk_factor_profile, shipped_assessment

            _describe(report, "Risk factors (UN Framework)")
            assessment = shipped_assessment(name)
            data.panels["framework"] = (assessment, risk_factor_profile(assessment))
            report(1, 1)
        except Exception as error:
            skipped["UN Framework risk factors"] = f"{type(error).__name__}: {error}"
    try:
        from kalkan.risk.hotspots import forecast_risk_weight

        _describe(report, "Hotspot forecast")
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
        report(1, 1)
    except Exception as error:
        skipped["Hotspot forecast"] = f"{type(error).__name__}: {error}"
    return data


@contextmanager
def _client(scheduler: Any) -> Iterator[Any]:
    """One Dask client for every simulation of the brief ("local" starts a LocalCluster once)."""
    if scheduler in (None, "serial"):
        yield None
        return
    from kalkan.simulate.engine import dask_client

    with dask_client(scheduler) as client:
        yield client


def _describe(progress: Progress, label: str) -> None:
    """Name the step on the common progress bar (``kalkan.cli.ProgressBar.describe``), if it has one."""
    report_step(progress, label, 0, 1)


def _simulate(
    data: BriefData, *, runs: int, seed: int, scheduler: Any, sensitivity_runs: int, progress: Progress
) -> None:
    """The posterior-predictive comparison (both arrival assumptions), the stored validation and the
    sensitivity analysis; a scenario with no fitted posterior gets the sentence that says so instead."""
    from kalkan.simulate import NotCalibratedError

    options = [p.option for p in data.plans]
    draws = max(1, runs // SEEDS_PER_DRAW)
    _describe(
        progress,
        f"Simulating {len(options) + 1} options and the search sizes, {draws * SEEDS_PER_DRAW} runs each, two arrivals",
    )
    try:
        data.outcomes = simulate_outcomes(
            data.scenario,
            options,
            as_of=data.as_of,
            response_minutes=data.response_minutes,
            draws=draws,
            seed=seed,
            scheduler=scheduler,
            progress=progress,
        )
    except NotCalibratedError as error:
        data.panels["not_calibrated"] = plain_sentences(
            str(error),
            "The simulation is not calibrated to this scenario: no fitted parameters are stored for it, and no other "
            "crisis's fit is used in their place, so no simulated outcome is shown.",
        )
        data.panels["not_calibrated_detail"] = str(error)  # for the analyst: the terminal says how to fit it
        return
    except Exception as error:  # a panel must not sink the brief; the brief says why it is missing
        data.panels.setdefault("skipped", {})["Simulated outcomes"] = f"{type(error).__name__}: {error}"
        return
    try:
        from kalkan.simulate.validation import load_validation

        validation = load_validation(data.scenario)
        if validation is not None:
            data.panels["validation"] = validation
    except Exception as error:
        data.panels.setdefault("skipped", {})["Held-out validation"] = f"{type(error).__name__}: {error}"
    try:
        sens = _sensitivity(
            data, options, runs=sensitivity_runs, seed=seed, scheduler=scheduler, progress=progress
        )
        if sens is not None:
            data.panels["sensitivity"] = sens
    except Exception as error:
        data.panels.setdefault("skipped", {})["Sensitivity analysis"] = f"{type(error).__name__}: {error}"


def plain_sentences(text: str, fallback: str) -> str:
    """The sentences of an error message a decision maker can read: none naming a command, an option or a
    file (those are for the analyst, on the terminal); ``fallback`` if nothing is left."""
    kept = [
        part.strip()
        for part in re.split(r"(?<=[.;])\s+", text)
        if part.strip() and not re.search(r"kalkan |--|\.(csv|json|toml)\b|'[a-z_]+\d+'", part)
    ]
    return " ".join(kept) if kept and kept[0].startswith("The ") else fallback


def _sensitivity(
    data: BriefData, options: list[ForceOption], *, runs: int, seed: int, scheduler: Any, progress: Progress
) -> Any:
    """The scenario's stored sensitivity analysis, else (``runs`` > 0) one computed here, else None."""
    import kalkan.simulate as simulate

    load = getattr(simulate, "load_sensitivity", None)
    if load is not None:
        stored = load(data.scenario)
        if stored is not None:
            return stored
    if runs <= 0:
        return None
    _describe(progress, "Sensitivity analysis (Morris)")
    trajectories = max(2, runs // (16 * (len(options) + 1)))
    return simulate.sensitivity(
        data.scenario,
        options,
        trajectories=trajectories,
        seeds=1,
        seed=seed,
        scheduler=scheduler,
        progress=progress,
    )


def country_context(data: BriefData, path: Path, *, seed: int, progress: Progress) -> dict[str, Any]:
    """The structural model's forecast for the scenario's country (:func:`kalkan.risk.structural.country_risk`)."""
    from kalkan.risk.structural import country_risk, load_ewp_table

    code = data.scenario.settings.get("ewp_ccode")
    if code is None:
        raise KeyError("the scenario's scenario.toml has no ewp_ccode (the country's code in the EWP table)")
    progress(0, 1)
    table = load_ewp_table(path)
    year = min(data.as_of.year - 1, int(table["year"].max()))
    ranking = country_risk(table, year, "best", seed=seed)
    progress(1, 1)
    row = ranking[ranking["country_code"] == int(code)]
    if not len(row):
        raise KeyError(f"country code {code} has no forecast for {year} in {path.name}")
    return {
        "row": row.iloc[0].to_dict(),
        "countries": len(ranking),
        "year": year,
        "attrs": dict(ranking.attrs),
        "top": ranking.head(5)[["country", "probability"]].to_dict("records"),
    }


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


def plain(text: str) -> str:
    """Option labels in a sentence from the simulation ("police:600", "none") as a reader says them."""
    text = _LABEL.sub(lambda m: in_words(m.group(1), int(m.group(2))), text)
    return re.sub(r"\bnone\b(?= (?:leaves|is|and|if|,|\.))", "no force", text)


def _range(median: float, p5: float, p95: float) -> str:
    return f"{median:,.0f} <small>({p5:,.0f}–{p95:,.0f})</small>"


def _chance(value: float | None) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{value:.0%}"


def simulation_section(ctx: Context) -> Section | None:
    """Posterior-predictive deaths per option, on duty on the decision day and at the pace of pledges."""
    d = ctx.data
    missing = d.panels.get("not_calibrated")
    if missing:
        return Section(
            "simulation",
            "What each option might change (simulation)",
            f"<p>{escape(plain(str(missing)))} The options are therefore compared by reach and capacity only, and "
            "the recommendation rests on reach.</p>",
        )
    out = d.outcomes
    dec = d.decision
    if out is None or dec is None:
        return None
    rows_by = {r.label: r for r in [*dec.options, *dec.searched]}
    when = f"{out.decision_day.day} {out.decision_day:%B %Y}"
    order = [*out.shown, *out.searched]
    now_rows, late_rows = [], []
    for label in order:
        o = out.now[label]
        row = rows_by.get(label)
        name = "no force" if label == "none" else escape(in_words(o.unit, o.officers))
        if label in out.searched:
            name += " <small>(searched)</small>"
        if row is not None and row.recommended:
            name += ' <span class="badge">recommended</span>'
        sec = "simulation"
        meets = "–" if row is None or row.meets is None or label == "none" else ("yes" if row.meets else "no")
        now_rows.append(
            [
                f"<b>{name}</b>",
                str(o.posts) if label != "none" else "–",
                ctx.record(
                    sec,
                    f"{label}: deaths if on duty on the decision day (median)",
                    o.deaths_median,
                    _range(o.deaths_median, o.deaths_p5, o.deaths_p95),
                ),
                ctx.record(
                    sec,
                    f"{label}: homes destroyed if on duty on the decision day (median)",
                    o.homes_median,
                    f"{o.homes_median:,.0f}",
                ),
                ctx.record(
                    sec,
                    f"{label}: displaced if on duty on the decision day (median)",
                    o.displaced_median,
                    f"{o.displaced_median:,.0f}",
                ),
                ctx.record(
                    sec,
                    f"{label}: share of paired runs with fewer deaths than no force (on duty on the decision day)",
                    o.beats_none,
                    _chance(o.beats_none),
                ),
                ctx.record(
                    sec,
                    f"{label}: share of runs with the fewest deaths (on duty on the decision day)",
                    o.p_best,
                    _chance(o.p_best),
                ),
                meets,
            ]
        )
        late = out.timeline.get(label)
        if late is not None and label != "none":
            late_rows.append(
                [
                    f"<b>{escape(in_words(late.unit, late.officers))}</b>",
                    ctx.record(
                        sec,
                        f"{label}: day on duty at the pace of pledges (days after the decision)",
                        late.generation_day,
                        f"day {late.generation_day:g}",
                    ),
                    escape(plain(late.generation_source)),
                    _chance(late.arrived_before_outbreak),
                    ctx.record(
                        sec,
                        f"{label}: deaths at the pace of pledges (median)",
                        late.deaths_median,
                        _range(late.deaths_median, late.deaths_p5, late.deaths_p95),
                    ),
                    ctx.record(
                        sec,
                        f"{label}: share of paired runs with fewer deaths than no force (at the pace of pledges)",
                        late.beats_none,
                        _chance(late.beats_none),
                    ),
                ]
            )
    none = out.none()
    lead = f"<p>{escape(outcome_sentence(dec, out))}</p>"
    now_heads = [
        "option",
        "posts",
        "deaths, median (90% range)",
        "homes destroyed",
        "displaced",
        "fewer deaths than no force (paired runs)",
        "fewest deaths of all options",
        "meets the criterion",
    ]
    body = f"<h3>If the force were on duty on the decision day ({when})</h3>"
    body += _table(now_heads, now_rows, cls="num small")
    if late_rows:
        body += (
            "<h3>If it arrives at the pace of pledges</h3>"
            + _table(
                [
                    "option",
                    "on duty from (after the decision)",
                    "how that day is known",
                    "share of runs in which it arrives before the outbreak",
                    "deaths, median (90% range)",
                    "fewer deaths than no force (paired runs)",
                ],
                late_rows,
                cls="num small",
            )
            + f'<p class="note">With no force: {none.deaths_median:,.0f} deaths ({none.deaths_p5:,.0f}–{none.deaths_p95:,.0f}) in both tables: the runs are the same.</p>'
        )
    notes = [*out.notes, *out.timeline_notes]
    explained = (
        '<p><b>Results that need a reason.</b></p><ul class="tight">'
        + "".join(f"<li>{escape(plain(n))}</li>" for n in dict.fromkeys(notes))
        + "</ul>"
        if notes
        else ""
    )
    note = (
        f'<p class="note"><b>What the ranges cover.</b> {escape(out.interval_note)} {escape(out.flashpoints)} '
        f"Each run covers {out.days} days. Every option's posts are sited for depth (several posts within reach of the "
        "places with the most people at risk, on what was known on the decision day); the searched sizes are simulated "
        f"in the same runs, to find the least force that meets the criterion. {escape(out.calibration)} What a force "
        "does (how strongly armed officers deter, the effect of unarmed monitors, of either sign, how mobs avoid posts, "
        "how many officers stand aside) is drawn from wide priors in every run: nothing in this crisis measured it. "
        "These are model outcomes for comparing options, not predictions.</p>"
    )
    return Section(
        "simulation",
        "What each option might change (simulation)",
        lead + body + explained + note,
    )


def sensitivity_section(ctx: Context) -> Section | None:
    """What drives the simulated deaths (Morris ranking) and deaths by option at low/central/high officer weight."""
    title = "What drives the simulated outcome (sensitivity)"
    sens = ctx.data.panels.get("sensitivity")
    if sens is None:
        absent = "No sensitivity analysis is stored for this scenario and none was computed for this brief."
        return _not_stored(ctx, "sensitivity", title, absent)
    import tempfile
    from pathlib import Path

    from kalkan.simulate.figures import PLAIN, sensitivity_chart

    ranking = sens.ranking
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "sensitivity.svg"
        sensitivity_chart(path, ranking.head(10), title="What drives the simulated deaths (Morris, top 10)")
        svg = path.read_text(encoding="utf-8")
    svg = svg[svg.index("<svg") :]
    for r in ranking.head(10).itertuples(index=False):
        ctx.record(
            "sensitivity",
            f"share of the effect on simulated deaths: {r.parameter}",
            float(r.mean_share),
            f"{float(r.mean_share):.0%}",
        )
    by = sens.by_officer_weight
    bands = by.attrs.get("officer_weight_bands") or []
    rows = []
    for r in by.itertuples(index=False):
        label = str(r.option)
        words = "no force" if label == "none" else plain(label)
        rows.append(
            [f"<b>{escape(words)}</b>"]
            + [
                ctx.record(
                    "sensitivity",
                    f"{label}: median deaths at {b} officer weight",
                    float(getattr(r, b)),
                    f"{float(getattr(r, b)):,.0f}",
                )
                for b in ("low", "central", "high")
            ]
        )
    heads = ["option", "weak deterrence", "middling", "strong deterrence"]
    if len(bands) == 4:
        heads = [
            "option",
            f"weak deterrence<br><small>({bands[0]:.2g}–{bands[1]:.2g})</small>",
            f"middling<br><small>({bands[1]:.2g}–{bands[2]:.2g})</small>",
            f"strong deterrence<br><small>({bands[2]:.2g}–{bands[3]:.2g})</small>",
        ]
    top = ", ".join(
        f"{escape(PLAIN.get(str(p), str(p)))} ({float(s):.0%})"
        for p, s in zip(ranking["parameter"].head(3), ranking["mean_share"].head(3), strict=True)
    )
    depends = (
        f"<p><b>The ordering of the options depends on a parameter nobody knows.</b> {escape(plain(sens.note))}</p>"
        if sens.ordering_depends
        else (f"<p>{escape(plain(sens.note))}</p>" if sens.note else "")
    )
    when, computed = sens.attrs.get("as_of"), str(sens.attrs.get("computed_at") or "")[:10]
    stored = f" Analysis as of {escape(str(when))}" if when else ""
    stored += (
        f", computed on {escape(computed)} and stored with the scenario."
        if computed
        else ("." if when else "")
    )
    if sens.attrs.get("stale"):
        stored += f" {escape(plain(str(sens.attrs['stale'])))}"
    text = (
        f"<p>Which uncertain settings move the simulated deaths most, over every setting with a prior "
        f"({sens.method.title()} method, {sens.runs:,} runs): {top}.{stored}</p>"
        f'<div class="chart">{svg}</div>'
        "<p>Median simulated deaths when armed officers deter weakly, middlingly or strongly (thirds of the prior "
        "of the officer weight, every other setting drawn):</p>"
        + _table(heads, rows, cls="num small")
        + depends
    )
    return Section("sensitivity", title, text)


def _not_stored(ctx: Context, key: str, title: str, absent: str) -> Section | None:
    """The section of a panel nobody computed: left out without a simulation, else it says so."""
    if ctx.data.outcomes is None:
        return None
    return Section(key, title, f"<p>{absent}</p>")


def _published(text: str) -> str:
    found = re.search(r"published (\d{4}-\d{2}-\d{2})", text)
    return found.group(1) if found else ""


def validation_section(ctx: Context) -> Section | None:
    """The model against figures it was not fitted to, with the coverage of its 90% intervals."""
    title = "Checked on what it was not fitted to (validation)"
    validation = ctx.data.panels.get("validation")
    if validation is None:
        absent = (
            "No held-out validation is stored for this scenario: the model is calibrated but untested "
            "on figures it was not fitted to."
        )
        return _not_stored(ctx, "validation", title, absent)
    rows = []
    for r in validation.table.to_dict("records"):
        known = _published(str(r["predicted"]))
        high = r.get("observed_high")
        sources = str(r.get("source_ids", ""))
        observed = (
            f"at least {float(r['observed_low']):,.0f}"
            if high is None or not np.isfinite(float(high))
            else f"{float(r['observed_low']):,.0f}–{float(high):,.0f}"
        )
        rows.append(
            [
                escape(str(r["check"])),
                escape(str(r["predicted"])),
                ctx.record(
                    "validation",
                    f"{r['check']}: {r['predicted']}: observed",
                    float(r["observed_low"]),
                    observed,
                    sources.replace(" ", ";"),
                    known,
                )
                + ctx.cite(sources.split()),
                ctx.record(
                    "validation",
                    f"{r['check']}: {r['predicted']}: simulated median",
                    float(r["median"]),
                    _range(float(r["median"]), float(r["p5"]), float(r["p95"])),
                    "",
                    known,
                ),
                "yes" if bool(r["holds"]) else "<b>no</b>",
            ]
        )
    text = (
        f"<p>The model was fitted again to part of what was observed and asked to predict the rest. "
        f"{escape(validation.note)} Observed figures published after {ctx.data.as_of.day} {ctx.data.as_of:%B %Y} "
        "are later knowledge, as in the box above: this check of the method is the only part of the brief that "
        "uses them, and nothing of it enters the recommendation.</p>"
        + _table(
            ["check", "predicted", "observed", "simulated, median (90% range)", "inside"],
            rows,
            cls="num small",
        )
        + '<p class="note">Few figures, and wide intervals: a model that is not contradicted, not one that is '
        "confirmed.</p>"
    )
    return Section("validation", title, text)


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
        covered = reach_of(exposure, d.recommended.covered_ids).people_share
        reached = (
            f" The recommended option's posts, placed for the incident kernel, reach {share(covered)} of the "
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


#: Columns of a hotspot backtest table that measure skill (any case).
_SKILL_METRICS = ("auc", "roc_auc", "pai", "hit_rate", "brier", "log_loss", "pai_at_10", "hit_rate_at_10")


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
    metrics = [c for c in rows.columns if c.lower() in _SKILL_METRICS]
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
    sensitivity_section,
    country_section,
    hotspot_section,
    framework_section,
    skipped_note,
]

__all__ = ["PANEL_BUILDERS", "compute_panels"]
