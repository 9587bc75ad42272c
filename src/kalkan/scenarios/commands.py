"""`kalkan scenario list` and `kalkan scenario show NAME`: what a scenario holds and what is estimated."""

from __future__ import annotations

from typing import Any

import typer

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
    Console().print(table)


@scenario_app.command("show")
def show_command(
    name: str = typer.Argument(
        "kyrgyzstan_2010", help="A shipped scenario, or a folder with a scenario.toml."
    ),
) -> None:
    """Say what a scenario holds: row counts, sources, what was merged or dropped, what is estimated."""
    from rich.console import Console
    from rich.table import Table

    from kalkan.plan.exposure import district_estimates, places_at_risk
    from kalkan.scenarios import load_scenario

    console = Console()
    scenario = load_scenario(name)
    exposure = places_at_risk(scenario)
    console.print(
        f"[bold]{scenario.title}[/] ({scenario.name}), as of {scenario.as_of}; folder {scenario.path}"
    )
    console.print(f"Group at risk: {scenario.group_at_risk}.")

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
        f"{int(scenario.districts['population_2009'].notna().sum())} with a 2009 census total, "
        f"{int(scenario.districts[scenario.settings['group_share_column']].notna().sum())} with a census "
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
    console.print(counts)

    if len(scenario.dropped):
        reasons = scenario.dropped.assign(
            why=scenario.dropped["reason"].str.extract(r"^(same place as \w+|outside[^(]*)", expand=False)
        )
        merged = Table(title="Merged or dropped rows (nothing silently)")
        for column in ("file", "rows", "why"):
            merged.add_column(column)
        for (file, why), group in reasons.groupby(["file", "why"], dropna=False):
            merged.add_row(str(file), f"{len(group)}", f"{why}: e.g. {group['reason'].iloc[0]}")
        console.print(merged)

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
        estimated.add_row(
            str(district),
            f"{'≈' if row['pop_est'] else ''}{row['population']:,.0f}",
            f"{'≈' if share['group_share_estimated'] else ''}{share['group_share']:.1%}",
            f"{'≈' if row['pop_est'] or share['group_share_estimated'] else ''}{row['at_risk']:,.0f}",
            f"{n_est}/{len(rules)}",
            str(share["share_rule"]),
        )
    console.print(estimated)
    total = exposure["at_risk"].sum()
    est_share = exposure.loc[exposure["at_risk_estimated"], "at_risk"].sum() / total if total else 0.0
    console.print(
        f"≈ marks an estimate. {total:,.0f} people at risk in all, {est_share:.0%} of them in estimated "
        "figures. "
        "Rules: see `kalkan.plan.exposure` and docs/brief.md."
    )
    unverified = scenario.facts.loc[scenario.facts["status"] == "not found", "figure"]
    for figure in unverified:
        console.print(f"Not verified in any stored source (not shown as a figure): {figure}", highlight=False)
    unlocated = scenario.incidents[~scenario.incidents["located"]]
    for _, event in unlocated.iterrows():
        console.print(
            f"Incident without coordinates (kept, not on maps): {event['raw_date']} {event['place_name']}"
        )


def register(app: typer.Typer) -> None:
    """Add `kalkan scenario list|show` to `app`."""
    app.add_typer(scenario_app, name="scenario")
