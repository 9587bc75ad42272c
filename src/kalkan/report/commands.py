# ruff: noqa: E501  (sentences and HTML kept whole)
"""`kalkan brief`: the protection brief (HTML and PDF) for a scenario, with a summary on the terminal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from kalkan.plan.defaults import DEFAULT_OPTIONS, RESPONSE_MINUTES
from kalkan.stage_events import AS_OF_HELP, STORE_HELP
from kalkan.terminal import fit


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
        help="Minutes a post may take to reach a place (default: the scenario's, else 30).",
    ),
    target: float | None = typer.Option(
        None, "--target", help="Share (0-1) of the risk-weighted people at risk to protect (default: 0.8)."
    ),
    time_limit: float = typer.Option(
        2.0, "--time-limit", help="Solver seconds per option (the gap is reported)."
    ),
    curve_points: int = typer.Option(
        12, "--curve-points", help="Budgets on the coverage curve per unit type."
    ),
    runs: int = typer.Option(
        20, "--runs", help="Simulation runs per option for the outcomes panel (0: no panel)."
    ),
    days: int = typer.Option(10, "--days", help="Days simulated from the first flashpoint."),
    seed: int = typer.Option(0, "--seed", help="Seed of the simulation (same seed, same numbers)."),
    ewp: Path | None = typer.Option(
        None, "--ewp", help="EWP country-year table (CSV) for the country-risk panel (optional)."
    ),
    db: Path | None = typer.Option(None, "--db", help=STORE_HELP),
    as_of: str | None = typer.Option(None, "--as-of", help=AS_OF_HELP),
) -> None:
    """Write the protection brief: the situation, who is at risk, the force options, where the posts stand."""
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    from kalkan.report.brief import check_brief_arguments, compute_brief, prepare_out_dir, write_brief
    from kalkan.report.panels import compute_panels

    console = Console()
    from kalkan.errors import OptionError
    from kalkan.stage_events import load_for_stage

    if not time_limit > 0:
        raise OptionError(f"--time-limit must be > 0 seconds; got {time_limit:g}.")
    if curve_points < 2:
        raise OptionError(f"--curve-points must be at least 2; got {curve_points}.")
    for flag, value, low in (("--runs", runs, 0), ("--days", days, 1), ("--seed", seed, 0)):
        if value < low:
            raise OptionError(f"{flag} must be a whole number >= {low}; got {value}.")
    if ewp is not None:
        if not ewp.is_file():
            raise OptionError(f"--ewp {ewp} is not a file: give the EWP country-year CSV or leave --ewp out.")
        from kalkan.risk.structural import load_ewp_table

        load_ewp_table(ewp)  # a malformed table stops here, with the risk module's message
    # fails fast on an unknown scenario, before anything is written; store-pipeline's seam: --db, --as-of
    loaded = load_for_stage(scenario, db, as_of)
    defaults = loaded.settings.get("defaults", {})
    response_minutes = (
        float(defaults.get("response_minutes", RESPONSE_MINUTES))
        if response_minutes is None
        else response_minutes
    )
    target = float(defaults.get("target", 0.8)) if target is None else target
    parsed = check_brief_arguments(
        (loaded.option_spec or DEFAULT_OPTIONS) if options is None else options,
        response_minutes,
        target,
    )
    prepare_out_dir(out)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console, transient=False,
    ) as bar:  # fmt: skip
        tasks: dict[str, Any] = {}

        def progress(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = bar.add_task(step, total=total)
            bar.update(tasks[step], completed=done, total=total)

        data = compute_brief(
            loaded, options=parsed, response_minutes=response_minutes, target=target, time_limit=time_limit,
            curve_points=curve_points, progress=progress,
        )  # fmt: skip
        compute_panels(data, runs=runs, days=days, seed=seed, ewp=ewp, progress=progress)
        html_path, pdf_path = write_brief(data, out, progress=progress)
    console.print(fit(summary_table(data), width=console.width))
    simulated = simulation_table(data)
    if simulated is not None:
        console.print(fit(simulated, width=console.width))
    for panel, why in (data.panels.get("skipped") or {}).items():
        console.print(f"[yellow]Panel left out[/]: {escape(f'{panel} ({why})')}", highlight=False)
    console.print(escape(f"Wrote {html_path}, {html_path.with_name('brief.json')} and {pdf_path}."))


def summary_table(data):  # type: ignore[no-untyped-def]
    """The options as a Rich table, narrow enough for an 80-column terminal: reach, capacity and outcome apart."""
    from rich.table import Table

    dec = data.decision
    rec = dec.recommendation if dec is not None else None
    table = Table(
        title=f"{data.scenario.title}, as of {data.as_of:%d %B %Y}: force options",
        caption=(f"* recommended: {rec.words}, {rec.on_duty} on duty at any moment. " if rec else "No option meets the criterion. ")
        + f"Criterion: {dec.criterion if dec else ''}. Reach = weighted share of the people at risk within "
        f"{data.response_minutes:g} min of a post; capacity = people held at 20 per 1,000; deaths = simulated median.",
    )  # fmt: skip
    for column in ("option", "officers", "on duty", "reach", "capacity", "deaths"):
        table.add_column(column, no_wrap=True, justify="left" if column == "option" else "right")
    for r in sorted(dec.options if dec else [], key=lambda r: (r.unit, r.officers)):
        table.add_row(
            f"{r.words}{' *' if r.recommended else ''}",
            f"{r.officers:,}",
            f"{r.on_duty:,}",
            f"{r.reach_weighted_share:.0%}" if r.reach_weighted_share is not None else "-",
            "none"
            if not r.armed
            else (f"{r.capacity_people:,.0f}" if r.capacity_people is not None else "-"),
            f"{r.deaths_median:,.0f}" if r.deaths_median is not None else "-",
            style="bold" if r.recommended else None,
        )
    return table


def simulation_table(data):  # type: ignore[no-untyped-def]
    """Simulated deaths per option, posts sited for reach and for depth (None without the panel)."""
    from rich.table import Table

    sim = data.panels.get("simulation")
    if sim is None or "siting" not in sim.columns:
        return None
    days, runs = int(sim.attrs.get("days", 0)), int(sim["runs"].iloc[0])
    table = Table(
        title=f"Simulated deaths in {days} days, median [5th-95th percentile] over {runs} runs",
        caption="Sited for depth: several posts where the most people are at risk (expected covering). "
        "A model for comparing options, not a prediction: see the brief's simulation page.",
    )
    for column in ("option", "sited for reach", "sited for depth"):
        table.add_column(column, no_wrap=True, justify="left" if column == "option" else "right")

    def cell(row) -> str:  # type: ignore[no-untyped-def]
        return f"{row.deaths_median:,.0f} [{row.deaths_p5:,.0f}-{row.deaths_p95:,.0f}]"

    depth = {r.option: r for r in sim[sim["siting"] == "depth"].itertuples()}
    for r in sim[sim["siting"] != "depth"].itertuples():
        label = "no force" if r.option == "none" else str(r.option)
        table.add_row(label, cell(r), cell(depth[r.option]) if r.option in depth else "-")
    return table


def register(app: typer.Typer) -> None:
    """Add `kalkan brief` to `app`."""
    app.command("brief")(brief)
