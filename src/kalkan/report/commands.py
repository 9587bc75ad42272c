# ruff: noqa: E501  (sentences and HTML kept whole)
"""`kalkan brief`: the protection brief (HTML and PDF) for a scenario, with a summary on the terminal."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from kalkan.plan.defaults import DEFAULT_OPTIONS, RESPONSE_MINUTES, TARGET
from kalkan.stage_events import AS_OF_HELP, STORE_HELP

if TYPE_CHECKING:
    from rich.table import Table

    from kalkan.report.brief import BriefData
    from kalkan.report.outcomes import Outcome


def brief(
    scenario: str = typer.Option(
        "kyrgyzstan_2010", "--scenario", help="A shipped scenario or a scenario folder."
    ),
    out: Path = typer.Option(Path("out"), "--out", help="Folder for brief.html and brief.pdf."),
    options: str | None = typer.Option(
        None,
        "--options",
        help=f"Force options, e.g. monitors:50,police:600 (default: the scenario's, else {DEFAULT_OPTIONS}).",
    ),
    response_minutes: float | None = typer.Option(
        None,
        "--response-minutes",
        help=f"Minutes a post may take to reach a place (default: the scenario's, else {RESPONSE_MINUTES:g}).",
    ),
    target: float | None = typer.Option(
        None,
        "--target",
        help=f"Share (0-1) of the risk-weighted people at risk to protect (default: the scenario's, else {TARGET:g}).",
    ),
    time_limit: float = typer.Option(
        2.0, "--time-limit", help="Solver seconds per option (the gap is reported)."
    ),
    curve_points: int = typer.Option(
        12, "--curve-points", help="Budgets on the coverage curve per unit type."
    ),
    runs: int = typer.Option(
        200,
        "--runs",
        help="Simulated runs per option (parameter draws x 4 outbreaks; 0: no simulation, reach decides).",
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the simulation (same seed, same numbers)."),
    scheduler: str = typer.Option(
        "local",
        "--scheduler",
        help="Where the simulation runs: local (all cores), serial, or a Dask scheduler's address.",
    ),
    ewp: Path | None = typer.Option(
        None, "--ewp", help="EWP country-year table (CSV) for the country-risk panel (optional)."
    ),
    db: Path | None = typer.Option(None, "--db", help=STORE_HELP),
    as_of: str | None = typer.Option(None, "--as-of", help=AS_OF_HELP),
) -> None:
    """Write the protection brief: the situation, who is at risk, the force options, where the posts stand."""
    from rich.console import Console
    from rich.markup import escape

    from kalkan.cli import progress_bar
    from kalkan.errors import OptionError
    from kalkan.report.brief import check_brief_arguments, compute_brief, prepare_out_dir, write_brief
    from kalkan.report.panels import compute_panels
    from kalkan.simulate.scenario import scenario_response_minutes
    from kalkan.stage_events import load_for_stage

    console = Console()
    if not time_limit > 0:
        raise OptionError(f"--time-limit must be > 0 seconds; got {time_limit:g}.")
    if curve_points < 2:
        raise OptionError(f"--curve-points must be at least 2; got {curve_points}.")
    for flag, value, low in (("--runs", runs, 0), ("--seed", seed, 0)):
        if value < low:
            raise OptionError(f"{flag} must be a whole number >= {low}; got {value}.")
    if ewp is not None:
        if not ewp.is_file():
            raise OptionError(f"--ewp {ewp} is not a file: give the EWP country-year CSV or leave --ewp out.")
        from kalkan.risk.structural import load_ewp_table

        load_ewp_table(ewp)  # a malformed table stops here, with the risk module's message
    # fails fast on an unknown scenario, before anything is written; store-pipeline's seam: --db, --as-of
    loaded = load_for_stage(scenario, db, as_of)
    if response_minutes is None:
        response_minutes = scenario_response_minutes(loaded)
    target = float(loaded.settings.get("defaults", {}).get("target", TARGET)) if target is None else target
    parsed = check_brief_arguments(
        (loaded.option_spec or DEFAULT_OPTIONS) if options is None else options,
        response_minutes,
        target,
    )
    prepare_out_dir(out)
    with progress_bar("Loading the scenario", transient=False) as bar:
        data = compute_brief(
            loaded,
            options=parsed,
            response_minutes=response_minutes,
            target=target,
            time_limit=time_limit,
            curve_points=curve_points,
            progress=bar,
        )
        compute_panels(data, runs=runs, seed=seed, ewp=ewp, scheduler=scheduler, progress=bar)
        html_path, pdf_path = write_brief(data, out, progress=bar)
        bar.describe("Brief written")
    console.print(summary_table(data, console.width))
    simulated = simulation_table(data, console.width)
    if simulated is not None:
        console.print(simulated)
    if data.panels.get("not_calibrated_detail"):
        console.print(escape(str(data.panels["not_calibrated_detail"])), highlight=False)
    for panel, why in (data.panels.get("skipped") or {}).items():
        console.print(f"[yellow]Panel left out[/]: {escape(f'{panel} ({why})')}", highlight=False)
    console.print(escape(f"Wrote {html_path}, {html_path.with_name('brief.json')} and {pdf_path}."))


def summary_table(data: BriefData, width: int | None = None) -> Table:
    """The options on the terminal: reach, capacity and outcome apart, numbers never cut."""
    from kalkan.terminal import Column, fit_table

    dec = data.decision
    rec = dec.recommendation if dec is not None else None
    rows = []
    for r in sorted(dec.options if dec else [], key=lambda r: (r.unit, r.officers)):
        capacity = _or_dash(r.capacity_people, ",.0f") if r.armed else "none"
        rows.append(
            [
                f"{r.words}{' *' if r.recommended else ''}",
                f"{r.officers:,}",
                f"{r.on_duty:,}",
                _or_dash(r.reach_weighted_share, ".0%"),
                capacity,
                _or_dash(r.deaths_median, ",.0f"),
                _or_dash(r.beats_none, ".0%"),
            ]
        )
    chosen = f"* recommended: {rec.words}, {rec.on_duty} on duty at any moment. " if rec else ""
    caption = (
        (chosen or "No option meets the criterion. ")
        + f"Criterion: {dec.criterion if dec else ''}. Reach = weighted share of the people at risk within "
        f"{data.response_minutes:g} min of a post; capacity = people held at 20 per 1,000; deaths = simulated median "
        "if on duty on the decision day; beats none = share of paired runs with fewer deaths than no force."
    )
    columns = [
        Column("option", keep=True),
        Column("officers", number=True, keep=True),
        Column("on duty", number=True, keep=True),
        Column("reach", number=True),
        Column("capacity", number=True),
        Column("deaths", number=True),
        Column("beats none", number=True),
    ]
    if dec is None or not dec.simulated:  # nothing simulated: no empty columns
        columns, rows = columns[:5], [row[:5] for row in rows]
        caption = caption[: caption.index("; deaths =")] + "."
    return fit_table(
        columns,
        rows,
        title=f"{data.scenario.title}, as of {data.as_of:%d %B %Y}: force options",
        caption=caption,
        width=width,
    )


def simulation_table(data: BriefData, width: int | None = None) -> Table | None:
    """Simulated deaths per option on both arrival assumptions (None without the simulation)."""
    from kalkan.report.decision import in_words
    from kalkan.terminal import Column, fit_table

    out = data.outcomes
    if out is None:
        return None
    rows = []
    for label in [*out.shown, *out.searched]:
        now, late = out.now[label], out.timeline.get(label)
        name = "no force" if label == "none" else in_words(now.unit, now.officers)
        rows.append(
            [
                name + (" (searched)" if label in out.searched else ""),
                _deaths(now),
                _or_dash(now.beats_none, ".0%"),
                "-" if late is None or label == "none" else f"day {late.generation_day:g}",
                "-" if late is None else _deaths(late),
            ]
        )
    # Short headers: a number column never wraps, so its header sets its width.
    columns = [
        Column("option", keep=True),
        Column("on duty now", number=True, keep=True),
        Column("beats none", number=True),
        Column("ready", number=True),
        Column("when ready", number=True),
    ]
    return fit_table(
        columns,
        rows,
        title=f"Simulated deaths in {out.days} days, median [5th-95th percentile] over {out.runs} runs per option",
        caption="On duty now: deaths if the posts were on duty on the decision day; beats none: share of paired runs "
        "with fewer deaths than no force; ready: the day, after the decision, the force is on duty at the pace of "
        f"pledges; when ready: deaths if it arrives then. {out.interval_note} Simulation: {out.seconds:,.0f} s.",
        width=width,
    )


def _or_dash(value: float | None, spec: str) -> str:
    """``value`` formatted with ``spec``, or "-" where there is no number (a table cell)."""
    return "-" if value is None else format(value, spec)


def _deaths(outcome: Outcome) -> str:
    """Simulated deaths as "median [5th-95th percentile]"."""
    return f"{outcome.deaths_median:,.0f} [{outcome.deaths_p5:,.0f}-{outcome.deaths_p95:,.0f}]"


def register(app: typer.Typer) -> None:
    """Add `kalkan brief` to `app`."""
    app.command("brief")(brief)
