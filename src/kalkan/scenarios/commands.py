"""`kalkan scenario list|show|check|new`: what a scenario holds, whether it is sound, and a new one."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import typer

from kalkan.terminal import fit

scenario_app = typer.Typer(
    name="scenario",
    help="The embedded scenarios: what is inside, where it comes from, what is estimated.",
    no_args_is_help=True,
)


@scenario_app.command("list")
def list_command() -> None:
    """List the shipped scenarios."""
    from rich.console import Console
    from rich.table import Table

    from kalkan.scenarios import list_scenarios, load_scenario

    table = Table(title="Shipped scenarios")
    for column in ("name", "title", "as of", "places", "incidents", "sources"):
        table.add_column(column)
    for name in list_scenarios():
        scenario = load_scenario(name)
        table.add_row(
            name,
            scenario.title,
            scenario.as_of.isoformat(),
            f"{len(scenario.places):,}",
            f"{len(scenario.incidents):,}",
            f"{len(scenario.sources):,}",
        )
    Console().print(fit(table))


@scenario_app.command("show")
def show_command(
    name: str = typer.Argument(
        "kyrgyzstan_2010", help="A shipped scenario, or a folder with a scenario.toml."
    ),
) -> None:
    """Say what a scenario holds: row counts, sources, what was merged or dropped, what is estimated."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from kalkan.plan.exposure import district_estimates, people_where_they_are, places_at_risk
    from kalkan.scenarios import load_scenario

    console = Console()
    scenario = load_scenario(name)
    exposure = places_at_risk(scenario)
    # Data text (titles, names, figures) is printed as plain text, never as Rich markup.
    title = Text(scenario.title, style="bold")
    title.append(f" ({scenario.name}), as of {scenario.as_of}; folder {scenario.path}", style="")
    console.print(title, highlight=False)
    console.print(f"Group at risk: {scenario.group_at_risk}.", markup=False, highlight=False)

    counts = Table(title="Tables")
    for column in ("table", "rows", "notes"):
        counts.add_column(column)
    kinds = scenario.places["kind"].value_counts().to_dict()
    known = int(scenario.places["population"].notna().sum())
    counts.add_row(
        "places",
        f"{len(scenario.places):,}",
        ", ".join(f"{n:,} {k}s" for k, n in sorted(kinds.items()))
        + f"; {known:,} with a population figure, {len(scenario.places) - known:,} estimated",
    )
    counts.add_row(
        "districts",
        f"{len(scenario.districts):,}",
        f"{int(scenario.districts['population'].notna().sum())} with a census total"
        f"{f' ({scenario.census.year})' if scenario.census.year else ''}, "
        f"{int(scenario.districts['group_share_pct'].notna().sum())} with a census "
        "group share",
    )
    located = int(scenario.incidents["located"].sum())
    counts.add_row(
        "incidents",
        f"{len(scenario.incidents):,}",
        f"{located} located, {len(scenario.incidents) - located} without coordinates (kept, flagged)",
    )
    headline = int(scenario.facts["headline"].sum())
    not_found = int((scenario.facts["status"] == "not found").sum())
    counts.add_row(
        "facts",
        f"{len(scenario.facts):,}",
        f"{headline} headline figures; {not_found} statements the data set could not verify",
    )
    counts.add_row("sources", f"{len(scenario.sources):,}", "SOURCES.md plus the data files' own sources")
    counts.add_row(
        "boundaries",
        f"{len(scenario.admin1['features'])} / {len(scenario.admin2['features'])}",
        "oblasts / districts (whole country; the scenario uses its oblasts)",
    )
    console.print(fit(counts, width=console.width))

    if len(scenario.dropped):
        reasons = scenario.dropped.assign(
            why=scenario.dropped["reason"].str.extract(r"^(same place as \w+|outside[^(]*)", expand=False)
        )
        merged = Table(title="Merged or dropped rows (nothing silently)")
        for column in ("file", "rows", "why"):
            merged.add_column(column)
        for (file, why), group in reasons.groupby(["file", "why"], dropna=False):
            merged.add_row(str(file), f"{len(group)}", f"{why}: e.g. {group['reason'].iloc[0]}")
        console.print(fit(merged, width=console.width))

    estimated = Table(title=f"What is estimated (people at risk: {scenario.group_at_risk})")
    for column in ("district", "population", "group share", "at risk", "places estimated", "share from"):
        estimated.add_column(column)
    shares = district_estimates(scenario).set_index("district")
    by_district = exposure.groupby("district").agg(
        population=("population", "sum"),
        pop_est=("population_estimated", "any"),
        at_risk=("at_risk", "sum"),
    )
    for district, row in by_district.sort_values("at_risk", ascending=False).iterrows():
        share: Any = shares.loc[str(district)]
        rules = exposure.loc[exposure["district"] == district, "population_rule"].str.split(":").str[0]
        n_est = int((rules == "estimated").sum())
        known = bool(share["group_share_known"])
        people = exposure.loc[exposure["district"] == district, "at_risk_max"].sum()
        estimated.add_row(
            str(district),
            f"{'≈' if row['pop_est'] else ''}{row['population']:,.0f}",
            f"{share['group_share']:.1%}" if known else f"unknown (at most {share['group_share_max']:.0%})",
            f"{'≈' if row['pop_est'] else ''}{row['at_risk']:,.0f}"
            if known
            else f"unknown (at most {people:,.0f})",
            f"{n_est}/{len(rules)}",
            str(share["share_rule"]),
        )
    console.print(fit(estimated, width=console.width))
    total = exposure["at_risk"].sum()
    est_share = exposure.loc[exposure["at_risk_estimated"], "at_risk"].sum() / total if total else 0.0
    console.print(
        f"≈ marks an estimate. {total:,.0f} people at risk in all, {est_share:.0%} of them in estimated "
        "figures. "
        "Rules: see `kalkan.plan.exposure` and docs/brief.md."
    )
    where = people_where_they_are(scenario.as_of_view().scenario)
    console.print(f"Where they are: {where.describe()}", markup=False, highlight=False)
    unverified = scenario.facts.loc[scenario.facts["status"] == "not found", "figure"]
    for figure in unverified:
        console.print(
            f"Not verified in any stored source (not shown as a figure): {figure}",
            markup=False,
            highlight=False,
        )
    unlocated = scenario.incidents[~scenario.incidents["located"]]
    for _, event in unlocated.iterrows():
        console.print(
            f"Incident without coordinates (kept, not on maps): {event['raw_date']} {event['place_name']}",
            markup=False,
            highlight=False,
        )


@scenario_app.command("check")
def check_command(
    folder: str = typer.Argument(..., help="A scenario folder (or a shipped scenario's name)."),
    strict: bool = typer.Option(False, "--strict", help="Count placeholders still TO FILL as problems."),
) -> None:
    """Check a scenario folder: every problem in one sentence (file, row, fix); exit 2 if any."""
    from kalkan.scenarios import check_scenario

    report = check_scenario(folder)
    # Plain print, no Rich markup: "[district_names]" and similar must stay visible.
    for problem in report.problems:
        typer.echo(f"problem: {problem}")
    for item in report.to_fill:
        typer.echo(f"to fill: {item}")
    if report.problems or (strict and report.to_fill):
        count = len(report.problems) + (len(report.to_fill) if strict else 0)
        typer.echo(f"{report.folder}: {count} problem(s) to fix.", err=True)
        raise typer.Exit(2)
    typer.echo(
        f"{report.folder}: no problems"
        + (f"; {len(report.to_fill)} placeholder(s) still to fill." if report.to_fill else ".")
    )


def _day(value: str | None, flag: str) -> date | None:
    from kalkan.errors import InputError

    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{flag} {value!r} is not a date; write YYYY-MM-DD, e.g. 2031-03-28.") from None


@scenario_app.command("new")
def new_command(
    folder: Path = typer.Argument(..., help="The folder to write (new, or empty; --force to overwrite)."),
    country: str = typer.Option(..., "--country", help="ISO 3166 alpha-3 code, e.g. CAF."),
    bbox: str | None = typer.Option(
        None, "--bbox", help="WEST,SOUTH,EAST,NORTH in degrees (default: the country)."
    ),
    events: Path | None = typer.Option(
        None, "--events", help="A UCDP GED, ACLED, HXL or kalkan events file."
    ),
    db: Path | None = typer.Option(
        None, "--db", help="An event store (from `kalkan ingest`) instead of --events."
    ),
    start: str | None = typer.Option(None, "--start", help="First day of the period, YYYY-MM-DD."),
    end: str | None = typer.Option(None, "--end", help="Last day of the period, YYYY-MM-DD."),
    as_of: str | None = typer.Option(None, "--as-of", help="The day the brief looks at (default: --end)."),
    boundaries: Path | None = typer.Option(
        None, "--boundaries", help="Units as GeoJSON (default: approximate)."
    ),
    name_property: str = typer.Option("name", "--name-property", help="Unit name property in --boundaries."),
    code_property: str = typer.Option("code", "--code-property", help="Unit code property in --boundaries."),
    region_property: str = typer.Option(
        "region", "--region-property", help="Admin1 name property in --boundaries."
    ),
    shares: Path | None = typer.Option(
        None, "--shares", help="CSV: unit (or place), group_share_pct, source_id."
    ),
    title: str | None = typer.Option(None, "--title", help="The scenario's title."),
    group: str | None = typer.Option(None, "--group", help="The group at risk, as in a sentence."),
    all_at_risk: bool = typer.Option(
        False,
        "--all-at-risk",
        help="Count everyone as at risk (share 100% in every unit), marked as your choice.",
    ),
    reported_after_days: int = typer.Option(
        7, "--reported-after-days", help="An event counts as known this many days after its last day."
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite a folder that is not empty."),
) -> None:
    """Build a scenario folder for a country from GeoNames places, an events file and your own data."""
    from kalkan.scenarios._new import new_scenario

    made = new_scenario(
        folder,
        country=country,
        bbox=bbox,
        events=events,
        db=db,
        start=_day(start, "--start"),
        end=_day(end, "--end"),
        as_of=_day(as_of, "--as-of"),
        boundaries=boundaries,
        name_property=name_property,
        code_property=code_property,
        region_property=region_property,
        shares=shares,
        title=title,
        group=group,
        all_at_risk=all_at_risk,
        reported_after_days=reported_after_days,
        force=force,
    )
    typer.echo(
        f"Wrote {made.folder}: {made.places:,} places in {made.units:,} units ({made.regions:,} regions), "
        f"{made.incidents:,} incidents ({made.deaths:,.0f} deaths, best estimates"
        f"{f'; {made.left_out:,} far from every unit left out' if made.left_out else ''}), sources "
        f"{', '.join(made.sources)}; {made.seconds:.1f} s."
    )
    if made.refused:
        typer.echo(
            f"{made.refused:,} row(s) of the events file (any country or date) were refused by the reader "
            "(malformed); "
            "`kalkan ingest --dry-run FILE` lists them with the reason."
        )
    typer.echo(f"{len(made.to_fill)} placeholder(s) to fill: run `kalkan scenario check {made.folder}`.")


def register(app: typer.Typer) -> None:
    """Add `kalkan scenario list|show|check|new` to `app`."""
    app.add_typer(scenario_app, name="scenario")
