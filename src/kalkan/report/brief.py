"""The brief: the letter's argument made with data, in a page a decision maker reads in five minutes.

:func:`compute_brief` runs the analysis (scenario -> people at risk -> each force option's best posts ->
the coverage curve) and returns a :class:`BriefData`; :func:`render_html` lays it out as a list of
sections (:mod:`kalkan.report.sections`); :func:`write_brief` writes ``brief.html`` (one self-contained
file) and ``brief.pdf`` (WeasyPrint). Progress is absolute (:class:`kalkan._base.Progress`); a bar with a
``describe(label)`` method (the CLI's common bar) is told the name of each step.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kalkan._base import Progress, no_progress
from kalkan.errors import InputError, OptionError
from kalkan.plan.defaults import DEFAULT_OPTIONS, RESPONSE_MINUTES, TARGET
from kalkan.plan.exposure import (
    RiskWeight,
    WhereTheyAre,
    incident_kernel_weight,
    people_where_they_are,
    reconcile,
)
from kalkan.plan.force import OptionPlan, coverage_curve, plan_option
from kalkan.plan.reach import reach_of
from kalkan.plan.travel import reach_km
from kalkan.plan.units import ForceOption, officers_per_post, parse_options, unit_type
from kalkan.report.asof import LaterItem, as_of_view
from kalkan.report.decision import Decision
from kalkan.report.markup import Context, report_step
from kalkan.report.outcomes import Outcomes
from kalkan.scenarios import Scenario, load_scenario


@dataclass
class BriefData:
    """Everything the brief shows, computed once.

    ``options`` has one row per force option: ``label, unit, armed, officers, posts, posts_used,
    officers_per_post, within_reach_share`` (risk-weighted share within reach, 0-1) ``,
    people_within_reach, people_share`` (share of the unweighted people at risk) ``, protected_share``
    (``within_reach_share`` for armed units, 0 for unarmed monitors, who observe but do not protect)
    ``, per_1000_at_risk, per_1000_residents, gap, status, seconds, recommended``, and
    ``people_protected_at_density, protected_at_density_share``: what the option's posts can *protect*
    when each post protects at most its officers x 1,000 / 20 people (Quinlivan's stabilisation density;
    :mod:`kalkan.plan.capacitated`), 0 for unarmed options.
    """

    scenario: Scenario
    exposure: pd.DataFrame
    plans: list[OptionPlan]
    options: pd.DataFrame
    curves: pd.DataFrame
    target: float
    response_minutes: float
    reach_km: float
    as_of: date
    recommended: OptionPlan | None
    officers_for_target: dict[str, int | None]
    seconds: dict[str, float] = field(default_factory=dict)
    panels: dict[str, Any] = field(default_factory=dict)
    later: list[LaterItem] = field(default_factory=list)
    """What became known only after ``as_of`` (the "Known later" box), with dates."""
    decision: Decision | None = None
    outcomes: Outcomes | None = None
    where: WhereTheyAre | None = None
    """People at risk where they are on the day beside census residence (``exposure`` is ``where.places``)."""
    """Posterior-predictive simulated outcomes (:func:`kalkan.report.outcomes.simulate_outcomes`)."""
    full_scenario: Scenario | None = None
    """The scenario with everything, later knowledge included (for the sources of the Known later box)."""
    """The options compared and the recommendation (:func:`kalkan.report.decision.decide`)."""

    @property
    def at_risk_total(self) -> float:
        """People at risk in the scenario (mostly estimated; see ``exposure``)."""
        return float(self.exposure["at_risk"].sum())

    @property
    def residents_total(self) -> float:
        """Residents of the scenario's places (mostly estimated)."""
        return float(self.exposure["population"].sum())


def check_brief_arguments(
    options: str | Sequence[ForceOption], response_minutes: float, target: float
) -> list[ForceOption]:
    """Parse and check the brief's arguments; raise a kalkan error with the fix for bad ones."""
    parsed = parse_options(options) if isinstance(options, str) else list(options)
    if not parsed:
        raise OptionError("No force options given: write them like 'monitors:50,police:600'.")
    if not np.isfinite(response_minutes) or response_minutes <= 0:
        raise OptionError(
            f"--response-minutes must be a number of minutes > 0; got {response_minutes:g}: try 30."
        )
    if not 0 < target <= 1:
        raise OptionError(f"--target is a share in (0, 1]; got {target:g}: write 0.8 for 80%.")
    return parsed


def _budgets(options: list[ForceOption], unit: str, points: int) -> list[int]:
    top = max(o.officers for o in options) * 1.25
    step = officers_per_post(unit)
    grid = {int(round(x / step) * step + 0.5) for x in np.linspace(0, top, points)}
    grid |= {o.officers for o in options}
    return sorted(b for b in grid if b >= 0)


def compute_brief(
    scenario: str | Scenario = "kyrgyzstan_2010",
    *,
    options: str | Sequence[ForceOption] = DEFAULT_OPTIONS,
    response_minutes: float = RESPONSE_MINUTES,
    target: float = TARGET,
    time_limit: float = 2.0,
    curve_points: int = 12,
    curve_time_limit: float = 0.5,
    risk_weight: RiskWeight = incident_kernel_weight,
    as_of: date | None = None,
    progress: Progress = no_progress,
) -> BriefData:
    """Run the analysis behind the brief.

    Parameters
    ----------
    scenario : str or Scenario
        A shipped scenario name, a folder, or a loaded scenario.
    options : str or list of ForceOption
        e.g. ``"monitors:50,police:600"``.
    response_minutes : float
        A post covers a place it can reach within this many minutes (default 30).
    target : float
        Share (0-1) of the risk-weighted people at risk the recommended option must protect.
    time_limit, curve_time_limit : float
        Solver seconds per option and per point of the coverage curve (answers carry their gap).
    """
    parsed = check_brief_arguments(options, response_minutes, target)
    seconds: dict[str, float] = {}

    t0 = time.perf_counter()
    report_step(progress, "Loading the scenario", 0, 1)
    full = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    day = as_of or full.as_of
    # Only what was known on the brief's day enters the body and every computation below.
    loaded, later = as_of_view(full, day)
    # People at risk where they are on the day (census residence, minus the displaced, plus sites of the
    # group); the census residence and the change are kept beside it (``where``).
    where = people_where_they_are(loaded, as_of=day, risk_weight=risk_weight)
    exposure = where.places
    reconcile(exposure, loaded)  # the group's people at risk never exceed its census count
    demand = exposure.rename(columns={"place_id": "id"})[["id", "name", "latitude", "longitude", "weight"]]
    report_step(progress, "Loading the scenario", 1, 1)
    seconds["scenario and people at risk"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    plans: list[OptionPlan] = []
    for i, option in enumerate(parsed):
        report_step(progress, f"Placing posts for {len(parsed)} options", i, len(parsed))
        plans.append(plan_option(demand, option, response_minutes=response_minutes, time_limit=time_limit))
    report_step(progress, f"Placing posts for {len(parsed)} options", len(parsed), len(parsed))
    seconds["placing posts"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    units = list(dict.fromkeys(o.unit for o in parsed))
    curves = []
    for i, unit in enumerate(units):
        report_step(progress, "Coverage curve", i, len(units))
        curve = coverage_curve(
            demand,
            unit,
            response_minutes=response_minutes,
            budgets=_budgets(parsed, unit, curve_points),
            time_limit=curve_time_limit,
        )
        curves.append(curve.assign(unit=unit))
    report_step(progress, "Coverage curve", len(units), len(units))
    seconds["coverage curve"] = time.perf_counter() - t0
    curve_table = pd.concat(curves, ignore_index=True)

    t0 = time.perf_counter()
    capacity = _capacitated(exposure, plans, response_minutes, progress)
    seconds["protection at stabilisation density"] = time.perf_counter() - t0
    table = _options_table(plans, exposure, target).merge(capacity, on="label", how="left")
    recommended = next((p for p, r in zip(plans, table["recommended"], strict=True) if r), None)
    needed: dict[str, int | None] = {}
    for unit in units:
        reached = curve_table[(curve_table["unit"] == unit) & (curve_table["covered_share"] >= target)]
        needed[unit] = int(reached["officers"].min()) if len(reached) else None
    return BriefData(
        scenario=loaded,
        exposure=exposure,
        plans=plans,
        options=table,
        curves=curve_table,
        target=target,
        response_minutes=float(response_minutes),
        reach_km=reach_km(response_minutes),
        as_of=day,
        recommended=recommended,
        officers_for_target=needed,
        seconds=seconds,
        later=later,
        full_scenario=full,
        where=where,
    )


def _capacitated(
    exposure: pd.DataFrame, plans: list[OptionPlan], response_minutes: float, progress: Progress
) -> pd.DataFrame:
    """People each armed option can *protect* when a post protects at most its capacity.

    Capacity per post = officers per post x 1,000 / 20 (Quinlivan's 20 security personnel per 1,000
    inhabitants for population security; :mod:`kalkan.plan.capacitated`). Unarmed options protect 0.
    The greedy placement fills each post's capacity with the densest risk-weighted people in reach.
    """
    from kalkan.plan.capacitated import CapacitatedCovering
    from kalkan.plan.defaults import PER_1000

    total = float(exposure["weight"].sum())
    rows = []
    step = "Protection at stabilisation density"
    for i, plan in enumerate(plans):
        report_step(progress, step, i, len(plans))
        people, weight = 0.0, 0.0
        if unit_type(plan.option.unit).armed and plan.posts > 0:
            problem = CapacitatedCovering.from_places(
                exposure,
                p=plan.posts,
                response_minutes=response_minutes,
                unit=plan.option.unit,
                per_1000=PER_1000,
                id_column="place_id",
            )
            problem.warn_unreachable = False
            problem.solve(time_limit=1.0, method="heuristic")
            people = float(problem.assigned["people"].sum())
            weight = float(problem.covered_weight)
        rows.append(
            {
                "label": plan.option.label,
                "people_protected_at_density": people,
                "protected_at_density_share": weight / total if total else 0.0,
                "per_1000_density": PER_1000,
            }
        )
    report_step(progress, step, len(plans), len(plans))
    return pd.DataFrame(rows)


def _options_table(plans: list[OptionPlan], exposure: pd.DataFrame, target: float) -> pd.DataFrame:
    total_people = float(exposure["at_risk"].sum())
    residents = float(exposure["population"].sum())
    rows = []
    for plan in plans:
        kind = unit_type(plan.option.unit)
        reach = reach_of(exposure, plan.covered_ids)
        rows.append(
            {
                "label": plan.option.label,
                "unit": plan.option.unit,
                "armed": kind.armed,
                "officers": plan.option.officers,
                "posts": plan.posts,
                "posts_used": len(plan.selected),
                "officers_per_post": officers_per_post(kind),
                "within_reach_share": plan.covered_share,
                "people_within_reach": reach.people_in_reach,
                "people_share": reach.people_share,
                "protected_share": plan.covered_share if kind.armed else 0.0,
                "coverage_kind": plan.coverage_kind,
                "per_1000_at_risk": plan.option.officers / total_people * 1000 if total_people else np.nan,
                "per_1000_residents": plan.option.officers / residents * 1000 if residents else np.nan,
                "gap": plan.gap,
                "status": plan.status,
                "seconds": plan.seconds,
            }
        )
    table = pd.DataFrame(rows)
    # The recommendation: the smallest option (by officers) that *protects* the target share.
    table["recommended"] = False
    meets = table[table["protected_share"] >= target - 1e-12]
    if len(meets):
        table.loc[meets["officers"].idxmin(), "recommended"] = True
    return table


def render_html(data: BriefData, *, extra_sections: Sequence[Any] = (), ctx: Context | None = None) -> str:
    """The brief as one self-contained HTML page (styles, maps and charts inline).

    ``ctx`` (optional) collects the numbers shown and the sources cited, for :func:`brief_json`.
    """
    from importlib import resources

    from jinja2 import Environment, select_autoescape

    from kalkan.report.sections import build_sections

    if data.decision is None:  # the brief always carries its decision (by reach when nothing was simulated)
        from kalkan.report.decision import decide

        data.decision = decide(data)

    templates = resources.files("kalkan.report") / "templates"
    env = Environment(autoescape=select_autoescape(default=True))
    template = env.from_string((templates / "brief.html").read_text(encoding="utf-8"))
    css = (templates / "brief.css").read_text(encoding="utf-8")
    from kalkan.report.panels import PANEL_BUILDERS

    sections = build_sections(data, extra=[*PANEL_BUILDERS, *extra_sections], ctx=ctx)
    from kalkan import __version__

    attributions = "; ".join(
        str(x.get("attribution") or x.get("publisher"))
        for x in data.scenario.settings.get("data_source", [])
        if x.get("attribution") or x.get("publisher")
    )
    return template.render(
        data=data,
        scenario=data.scenario,
        sections=sections,
        css=css,
        version=__version__,
        attributions=attributions,
    )


def brief_json(data: BriefData, ctx: Context) -> dict[str, Any]:
    """The brief as data: as-of date, every number shown (section, source ids, date known), the options
    with officers and officers on duty, the recommendation with its posts and their coordinates."""
    from dataclasses import asdict

    dec = data.decision
    return {
        "scenario": data.scenario.name,
        "title": data.scenario.title,
        "as_of": data.as_of.isoformat(),
        "group_at_risk": data.scenario.group_at_risk,
        "response_minutes": data.response_minutes,
        "people_at_risk_counted": float(data.exposure["at_risk"].sum()),
        "people_at_risk_at_most": float(data.exposure["at_risk_max"].sum()),
        "criterion": dec.criterion if dec else "",
        "options": [asdict(o) for o in dec.options] if dec else [],
        "searched": [asdict(o) for o in dec.searched] if dec else [],
        "recommendation": asdict(dec.recommendation) if dec and dec.recommendation else None,
        "simulation": data.outcomes.to_dict() if data.outcomes is not None else None,
        "simulation_not_calibrated": data.panels.get("not_calibrated"),
        "sensitivity": _sensitivity_json(data.panels.get("sensitivity")),
        "validation": _validation_json(data.panels.get("validation")),
        "people_where_they_are": _where_json(data.where),
        "incidents_by_security_forces": _security_json(data),
        "numbers": ctx.shown,
        "known_later": [
            {
                "known_on": i.known_on.isoformat() if i.known_on else None,
                "text": i.text,
                "source_ids": list(i.source_ids),
                "kind": i.kind,
            }
            for i in data.later
        ],
        "sources_cited": ctx.cited,
    }


def _where_json(where: WhereTheyAre | None) -> dict[str, Any] | None:
    if where is None:
        return None
    return {
        "as_of": where.as_of.isoformat(),
        "by_residence": where.residents,
        "where_they_are": where.now,
        "change": where.change,
        "out_of_area": where.out_of_area,
        "in_sites": where.in_sites,
        "returned": where.returned,
        "not_placed": where.not_placed,
        "displaced_all_groups": None if where.displaced != where.displaced else where.displaced,
        "by_unit": _records(where.by_unit()),
        "figures": _records(where.figures.astype(str)),
    }


def _security_json(data: BriefData) -> list[dict[str, Any]]:
    from kalkan.report.sections import by_security_forces

    return _records(by_security_forces(data).astype(str))


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in r.items()} for r in frame.to_dict("records")]


def _sensitivity_json(sens: Any) -> dict[str, Any] | None:
    if sens is None:
        return None
    by = sens.by_officer_weight
    return {
        "method": sens.method,
        "runs": int(sens.runs),
        "ranking": _records(sens.ranking),
        "by_officer_weight": _records(by),
        "officer_weight_bands": list(by.attrs.get("officer_weight_bands", [])),
        "ordering_depends": bool(sens.ordering_depends),
        "note": sens.note,
        "as_of": str(sens.attrs.get("as_of") or ""),
        "computed_at": str(sens.attrs.get("computed_at") or ""),
        "stale": str(sens.attrs.get("stale") or ""),
    }


def _validation_json(validation: Any) -> dict[str, Any] | None:
    if validation is None:
        return None
    checks = _records(validation.table)
    return {"coverage": float(validation.coverage), "note": validation.note, "checks": checks}


def write_pdf(html: str, path: Path) -> Path:
    """Render the HTML to PDF with WeasyPrint (offline: the page has no remote resources)."""
    from weasyprint import HTML

    logger = logging.getLogger("weasyprint")
    quiet = _IgnoredSvgStyle()
    logger.addFilter(
        quiet
    )  # matplotlib's SVG style attributes are drawn, but WeasyPrint's CSS check logs them
    try:
        HTML(string=html, base_url=str(path.parent)).write_pdf(str(path))
    finally:
        logger.removeFilter(quiet)
    return path


class _IgnoredSvgStyle:
    """Drops WeasyPrint's "Ignored `stroke: ...`" notices for SVG presentation properties."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (message.startswith("Ignored `") and "unknown property" in message)


def prepare_out_dir(out: Path) -> Path:
    """Create ``out`` (and parents) and check it is writable; raise InputError with the fix if not."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".kalkan-write-test"
        probe.write_text("ok", encoding="utf-8")
        probe.unlink()
    except OSError as error:
        raise InputError(
            f"Cannot write the brief to {out}: {error.strerror or error}; choose another folder with --out."
        ) from None
    return out


def json_safe(value: Any) -> Any:
    """Missing numbers as null: NaN and infinity are not JSON, and strict readers refuse them."""
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return value


def write_brief(data: BriefData, out: Path, *, progress: Progress = no_progress) -> tuple[Path, Path]:
    """Write ``brief.html``, ``brief.json`` and ``brief.pdf`` into ``out``; return the HTML and PDF paths."""
    import json

    from kalkan.report.markup import Context, report_step

    prepare_out_dir(out)
    t0 = time.perf_counter()
    report_step(progress, "Writing brief.html", 0, 1)
    ctx = Context(data)
    html = render_html(data, ctx=ctx)
    html_path = out / "brief.html"
    html_path.write_text(html, encoding="utf-8")
    (out / "brief.json").write_text(
        json.dumps(json_safe(brief_json(data, ctx)), indent=1, default=str, allow_nan=False),
        encoding="utf-8",
    )
    report_step(progress, "Writing brief.html", 1, 1)
    data.seconds["writing HTML"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    report_step(progress, "Writing brief.pdf", 0, 1)
    pdf_path = write_pdf(html, out / "brief.pdf")
    report_step(progress, "Writing brief.pdf", 1, 1)
    data.seconds["writing PDF"] = time.perf_counter() - t0
    return html_path, pdf_path
