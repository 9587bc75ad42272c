"""`kalkan plan ...`: coverage problems from files, and the scenario's force curve, options and timeline.

- ``kalkan plan coverage --demand FILE --sites FILE (--radius R | --response-minutes T)
  (--posts P | --cover-all) [--time-limit S] [--format json|csv|table]`` (a stable interface).
- ``kalkan plan options``: where each force option's posts stand in the scenario (tables, GeoJSON).
- ``kalkan plan curve``: the force requirement curve and the smallest force for each target.
- ``kalkan plan timeline``: officers in place and coverage by day from pledges.
"""

from __future__ import annotations

import json
import sys
import warnings
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from kalkan.plan.defaults import DEFAULT_OPTIONS, RESPONSE_MINUTES, TIME_LIMIT
from kalkan.stage_events import AS_OF_HELP, STORE_HELP
from kalkan.terminal import fit

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Console

    from kalkan.scenarios import Scenario

plan_app = typer.Typer(
    name="plan",
    help="Protection planner: coverage, force requirement curve, force options, deployment timeline.",
    no_args_is_help=True,
)


class OutputFormat(StrEnum):
    json = "json"
    csv = "csv"
    table = "table"


def _err_console() -> Console:
    from rich.console import Console

    return Console(stderr=True)


def _show_warnings(caught: list[warnings.WarningMessage]) -> None:
    console = _err_console()
    seen = set()
    for w in caught:
        text = str(w.message)
        if text not in seen:
            seen.add(text)
            console.print(f"[yellow]warning:[/] {text}", highlight=False, soft_wrap=True)


@plan_app.command("coverage")
def coverage_command(
    demand: Path = typer.Option(..., "--demand", help="CSV: id, weight, and x,y or latitude,longitude."),
    sites: Path = typer.Option(..., "--sites", help="CSV: id and the same coordinate columns."),
    radius: float | None = typer.Option(None, "--radius", help="Reach in coordinate units (planar x/y)."),
    response_minutes: float | None = typer.Option(
        None,
        "--response-minutes",
        help="Reach in travel minutes (latitude/longitude; haversine x circuity / speed).",
    ),
    posts: int | None = typer.Option(None, "--posts", help="Maximal covering: at most this many posts."),
    cover_all: bool = typer.Option(
        False, "--cover-all", help="Set covering: fewest posts reaching every point."
    ),
    time_limit: float = typer.Option(TIME_LIMIT, "--time-limit", help="Seconds for the solver."),
    output_format: OutputFormat = typer.Option(OutputFormat.table, "--format", help="json, csv or table."),
    method: str = typer.Option("auto", "--method", help="auto, exact (always HiGHS MILP) or heuristic."),
    out: Path | None = typer.Option(
        None, "--out", help="Also write the selected posts (.csv/.parquet/.geojson)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the local search (auto on large instances)."),
    network: Path | None = typer.Option(
        None,
        "--network",
        help="GeoJSON road lines (lon/lat): reach by shortest road time, not straight line.",
    ),
    capacity: float | None = typer.Option(
        None,
        "--capacity",
        help="People one post protects (capacitated model; demand 'population' column, "
        "default the weight). Needs --posts.",
    ),
    busy: float | None = typer.Option(
        None,
        "--busy",
        help="Site for depth: maximum expected covering (Daskin 1983), each post busy with this "
        "probability (0-1; kalkan's default 0.5). Needs --posts.",
    ),
) -> None:
    """Solve a maximal covering (--posts) or set covering (--cover-all) problem from two CSV files."""
    import numpy as np

    from kalkan.errors import InputError
    from kalkan.plan.coverage import MaximalCovering, SetCovering
    from kalkan.plan.io import points_geojson, read_points, write_table

    if (radius is None) == (response_minutes is None):
        raise InputError(
            "Give exactly one of --radius (planar x/y) or --response-minutes (latitude/longitude)."
        )
    if (posts is None) == (not cover_all):
        raise InputError("Give exactly one of --posts P (maximal covering) or --cover-all (set covering).")
    d, d_kind = read_points(demand, "demand", weight=True)
    s, s_kind = read_points(sites, "sites", weight=False)
    if d_kind != s_kind:
        raise InputError(
            f"The demand file uses {'x/y' if d_kind == 'xy' else 'latitude/longitude'} but the sites "
            f"file uses {'x/y' if s_kind == 'xy' else 'latitude/longitude'}: use the same coordinates."
        )
    if d_kind == "xy" and radius is None:
        raise InputError(
            "Planar x/y coordinates need --radius (in the same units); --response-minutes needs "
            "latitude/longitude."
        )
    if d_kind == "latlon" and response_minutes is None and radius is not None:
        raise InputError(
            "Latitude/longitude coordinates need --response-minutes (travel time); --radius is for "
            "planar x/y coordinates."
        )
    cols = ["x", "y"] if d_kind == "xy" else ["latitude", "longitude"]
    roads = None
    if network is not None:
        if not network.exists():
            raise InputError(f"The road network file {network} does not exist: give a GeoJSON file of lines.")
        try:
            roads = json.loads(network.read_text())
        except json.JSONDecodeError as error:
            raise InputError(f"Cannot read the road network {network} as JSON ({error}).") from None
    common: dict[str, Any] = {
        "radius": radius,
        "response_minutes": response_minutes,
        "demand_ids": d["id"].tolist(),
        "site_ids": s["id"].tolist(),
        "network": roads,
    }
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if busy is not None and (posts is None or capacity is not None):
            raise InputError(
                "--busy needs --posts and no --capacity (expected covering is a maximal covering)."
            )
        problem: MaximalCovering | SetCovering
        if busy is not None and posts is not None:
            from kalkan.plan.depth import ExpectedCovering

            problem = ExpectedCovering.from_coordinates(
                d[cols].to_numpy(float),
                s[cols].to_numpy(float),
                d["weight"].to_numpy(float),
                p=int(posts),
                busy=busy,
                **common,
            )
            problem.solve(time_limit=time_limit, method=method, seed=seed)
        elif capacity is not None:
            if posts is None:
                raise InputError("--capacity needs --posts (the capacitated model is a maximal covering).")
            from kalkan.plan.capacitated import CapacitatedCovering

            population = d["population"].to_numpy(float) if "population" in d.columns else None
            problem = CapacitatedCovering.from_coordinates(
                d[cols].to_numpy(float),
                s[cols].to_numpy(float),
                d["weight"].to_numpy(float),
                p=posts,
                capacity=capacity,
                population=population,
                **common,
            )
            problem.solve(time_limit=time_limit, method=method, seed=seed)
        elif posts is not None:
            problem = MaximalCovering.from_coordinates(
                d[cols].to_numpy(float),
                s[cols].to_numpy(float),
                d["weight"].to_numpy(float),
                p=posts,
                **common,
            )
            problem.solve(time_limit=time_limit, method=method, seed=seed)
        else:
            problem = SetCovering.from_coordinates(
                d[cols].to_numpy(float), s[cols].to_numpy(float), d["weight"].to_numpy(float), **common
            )
            problem.solve(time_limit=time_limit, method=method, seed=seed)
    _show_warnings(caught)
    result = problem.result()
    chosen = s.iloc[problem.selected_index].copy()
    if len(chosen):
        cov = problem.coverage[problem.selected_index]
        chosen["covered_points"] = np.asarray(cov.sum(axis=1)).ravel().astype(int)
        chosen["reach_weight"] = np.asarray(cov @ problem.weights).ravel()
    if out is not None:
        if out.suffix.lower() == ".geojson":
            if d_kind != "latlon":
                raise InputError(
                    "GeoJSON needs latitude/longitude coordinates: write .csv or .parquet instead."
                )
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(points_geojson(chosen, [c for c in chosen.columns if c not in cols])))
        else:
            write_table(chosen, out)
    if output_format == OutputFormat.json:
        sys.stdout.write(json.dumps(result) + "\n")
    elif output_format == OutputFormat.csv:
        chosen.to_csv(sys.stdout, index=False)
    else:
        from rich.console import Console
        from rich.table import Table

        console = Console()
        table = Table(title=f"{result['model'].upper()}: {len(problem.selected)} posts", show_header=True)
        for column in ("figure", "value"):
            table.add_column(column)
        table.add_row("objective", f"{result['objective']:,.6g}")
        table.add_row("bound", f"{result['bound']:,.6g}")
        table.add_row("gap", f"{100 * result['gap']:.3f}%")
        table.add_row("status", result["status"])
        table.add_row(
            "covered weight",
            f"{result['covered_weight']:,.6g} of {result['total_weight']:,.6g} "
            f"({100 * result['covered_share']:.1f}%)",
        )
        table.add_row("unreachable points", str(result["n_unreachable"]))
        table.add_row("seconds", f"{result['seconds']:.2f}")
        console.print(fit(table, width=console.width))
        console.print("selected: " + ", ".join(map(str, result["selected"])), highlight=False, soft_wrap=True)


def _scenario_demand(
    scenario_name: str, db: Path | None = None, as_of: str | None = None
) -> tuple[Scenario, pd.DataFrame]:
    from kalkan.plan.exposure import places_at_risk
    from kalkan.stage_events import load_for_stage

    scenario = load_for_stage(scenario_name, db, as_of)  # store-pipeline's seam: --db, --as-of
    return scenario, places_at_risk(scenario)


def _response_minutes(scenario: Scenario, given: float | None) -> float:
    """``--response-minutes`` if given, else the scenario's default, else :data:`RESPONSE_MINUTES`."""
    from kalkan.errors import InputError

    defaults = (scenario.settings or {}).get("defaults", {})
    minutes = float(given if given is not None else defaults.get("response_minutes", RESPONSE_MINUTES))
    if not minutes > 0:
        raise InputError(f"--response-minutes must be > 0; got {minutes:g}.")
    return minutes


@plan_app.command("options")
def options_command(
    scenario: str = typer.Option(
        "kyrgyzstan_2010", "--scenario", help="A shipped scenario or a scenario folder."
    ),
    options: str | None = typer.Option(
        None, "--options", help="e.g. monitors:50,police:600 (default: scenario's)."
    ),
    response_minutes: float | None = typer.Option(
        None, "--response-minutes", help=f"Default: the scenario's ({RESPONSE_MINUTES:g})."
    ),
    time_limit: float = typer.Option(TIME_LIMIT, "--time-limit", help="Seconds per option."),
    out: Path = typer.Option(
        Path("out/plan"), "--out", help="Folder for options.csv and posts_<option>.geojson."
    ),
    per_1000: float | None = typer.Option(
        None,
        "--per-1000",
        help="Also solve the capacitated model: personnel per 1,000 people (Quinlivan: 20).",
    ),
    siting: str = typer.Option(
        "reach",
        "--siting",
        help="reach: the most people within reach of one post; depth: several posts where the "
        "weight is (maximum expected covering, each post busy half the time).",
    ),
    db: Path | None = typer.Option(None, "--db", help=STORE_HELP),
    as_of: str | None = typer.Option(None, "--as-of", help=AS_OF_HELP),
) -> None:
    """Place each force option's 24/7 posts in the scenario; compare what they protect or observe."""
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from kalkan.plan.force import plan_option
    from kalkan.plan.io import plan_geojson, write_table
    from kalkan.plan.reach import weight_share
    from kalkan.plan.units import parse_options

    scn, demand = _scenario_demand(scenario, db, as_of)
    option_list = parse_options(options or scn.option_spec or DEFAULT_OPTIONS)
    minutes = _response_minutes(scn, response_minutes)
    from kalkan.plan.force import check_siting

    check_siting(siting)
    import pandas as pd

    rows = []
    out.mkdir(parents=True, exist_ok=True)
    with Progress(transient=True) as progress:
        task = progress.add_task("placing posts", total=len(option_list))
        for option in option_list:
            plan = plan_option(demand, option, response_minutes=minutes, time_limit=time_limit, siting=siting)
            row = plan.summary()
            if siting == "depth":
                row["expected_share"] = plan.extra["expected_share"]
                row["mean_depth"] = plan.extra["mean_depth"]
            if per_1000 is not None:
                from kalkan.plan.capacitated import CapacitatedCovering

                capped = CapacitatedCovering.from_places(
                    demand, p=plan.posts, response_minutes=minutes, unit=option.unit, per_1000=per_1000
                ).solve(time_limit=time_limit)
                total = float(demand["weight"].sum())
                row["capacitated_share"] = weight_share(capped.objective, total)
                row["capacitated_gap"] = capped.gap
            rows.append(row)
            name = option.label.replace(":", "_")
            (out / f"posts_{name}.geojson").write_text(json.dumps(plan_geojson(plan, demand)))
            write_table(plan.selected.assign(option=option.label), out / f"posts_{name}.csv")
            progress.advance(task)
    table_frame = pd.DataFrame(rows)
    write_table(table_frame, out / "options.csv")
    table = Table(title=f"Force options, {scn.name}: at-risk weight within {minutes:g} min of a 24/7 post")
    columns = ["option", "posts", "officers used", "share", "kind", "gap", "status"]
    if siting == "depth":
        table.title = f"{table.title}, sited for depth (each post busy half the time)"
        columns[5:5] = ["expected share", "posts in reach"]
    if per_1000 is not None:
        columns.append(f"share at {per_1000:g}/1,000")
    for column in columns:
        table.add_column(column)
    for r in rows:
        cells = [
            r["option"],
            str(r["posts"]),
            f"{r['officers_used']:,}",
            f"{100 * r['covered_share']:.1f}%",
            r["coverage_kind"],
            f"{100 * r['gap']:.2f}%",
            r["status"],
        ]
        if siting == "depth":
            cells[5:5] = [f"{100 * r['expected_share']:.1f}%", f"{r['mean_depth']:.1f}"]
        if per_1000 is not None:
            cells.append(f"{100 * r['capacitated_share']:.1f}%")
        table.add_row(*cells)
    Console().print(fit(table))
    Console().print(f"Wrote {out / 'options.csv'} and posts_<option>.geojson/.csv in {out}.", highlight=False)


@plan_app.command("curve")
def curve_command(
    scenario: str = typer.Option(
        "kyrgyzstan_2010", "--scenario", help="A shipped scenario or a scenario folder."
    ),
    unit: str = typer.Option("police", "--unit", help="monitors, police or fpu."),
    max_officers: int = typer.Option(2000, "--max-officers", help="Largest budget on the curve."),
    points: int = typer.Option(20, "--points", help="Number of budgets from max/points to max."),
    response_minutes: float | None = typer.Option(
        None, "--response-minutes", help=f"Default: the scenario's ({RESPONSE_MINUTES:g})."
    ),
    targets: str = typer.Option("0.5,0.8,0.95", "--targets", help="Coverage targets for the smallest force."),
    time_limit: float = typer.Option(1.0, "--time-limit", help="Seconds per budget."),
    out: Path = typer.Option(
        Path("out/plan"), "--out", help="Folder for curve.csv, requirement.csv, curve.png."
    ),
    db: Path | None = typer.Option(None, "--db", help=STORE_HELP),
    as_of: str | None = typer.Option(None, "--as-of", help=AS_OF_HELP),
) -> None:
    """Force requirement curve: best coverage for budgets of officers, and the smallest force per target."""
    from rich.console import Console
    from rich.table import Table

    from kalkan.errors import OptionError
    from kalkan.plan.force import coverage_curve, force_requirement
    from kalkan.plan.io import plot_curve, rows, write_table
    from kalkan.plan.units import officers_for_posts, unit_type

    kind = unit_type(unit)
    if max_officers < 1 or points < 1:
        raise OptionError(f"--max-officers and --points must be >= 1; got {max_officers} and {points}.")
    try:
        target_list = tuple(float(t) for t in targets.split(",") if t.strip())
    except ValueError:
        raise OptionError(f"Cannot read --targets {targets!r}: write shares like 0.5,0.8,0.95.") from None
    scn, demand = _scenario_demand(scenario, db, as_of)
    minutes = _response_minutes(scn, response_minutes)
    console = Console()
    with console.status("solving the curve"):
        requirement = force_requirement(
            demand, kind.name, response_minutes=minutes, targets=target_list, time_limit=time_limit
        )
        # Evenly spaced budgets, plus the first ten posts and the smallest force for each target, so
        # the steep start of the curve shows.
        budgets = {round(max_officers * (i + 1) / points) for i in range(points)}
        budgets |= {officers_for_posts(kind.name, k) for k in range(1, 11)}
        budgets |= {int(o) for o in requirement["officers"]}
        curve = coverage_curve(
            demand,
            kind.name,
            response_minutes=minutes,
            budgets=[0, *sorted(b for b in budgets if b <= max_officers)],
            time_limit=time_limit,
        )
    out.mkdir(parents=True, exist_ok=True)
    write_table(curve, out / f"curve_{kind.name}.csv")
    write_table(requirement, out / f"requirement_{kind.name}.csv")
    plot_curve(
        curve,
        out / f"curve_{kind.name}.png",
        unit=kind.name,
        response_minutes=minutes,
        requirement=requirement,
        title=f"{scn.title}: force requirement ({kind.name})",
    )
    table = Table(
        title=f"Smallest {kind.name} force per target ({kind.coverage_kind} within {minutes:g} min)"
    )
    for column in ("target", "posts", "officers", "reached", "proven minimum"):
        table.add_column(column)
    for r in rows(requirement):
        table.add_row(
            f"{r.target:.0%}",
            str(r.posts),
            f"{r.officers:,}",
            f"{100 * r.covered_share:.1f}%",
            "yes" if r.proven else f"no (>= {r.officers_lower_bound:,} officers)",
        )
    console.print(fit(table, width=console.width))
    console.print(
        f"Wrote curve_{kind.name}.csv/.png and requirement_{kind.name}.csv in {out}.", highlight=False
    )


@plan_app.command("timeline")
def timeline_command(
    scenario: str = typer.Option(
        "kyrgyzstan_2010", "--scenario", help="A shipped scenario or a scenario folder."
    ),
    pledges: Path | None = typer.Option(
        None,
        "--pledges",
        help="CSV: contributor, unit, officers, days_to_ready, "
        "days_to_arrive (default: the scenario's, else illustrative pledges).",
    ),
    days: int = typer.Option(365, "--days", help="Days after authorisation to cover."),
    response_minutes: float | None = typer.Option(
        None, "--response-minutes", help=f"Default: the scenario's ({RESPONSE_MINUTES:g})."
    ),
    time_limit: float = typer.Option(1.0, "--time-limit", help="Seconds per coverage solve."),
    out: Path = typer.Option(Path("out/plan"), "--out", help="Folder for timeline.csv and timeline.png."),
    db: Path | None = typer.Option(None, "--db", help=STORE_HELP),
    as_of: str | None = typer.Option(None, "--as-of", help=AS_OF_HELP),
) -> None:
    """Officers in place and coverage by day after authorisation, against the Brahimi targets."""
    from rich.console import Console
    from rich.table import Table

    from kalkan.plan.io import plot_timeline, rows, write_table
    from kalkan.plan.timeline import REFERENCE_DAYS, deployment_timeline, load_pledges, milestones

    scn, demand = _scenario_demand(scenario, db, as_of)
    minutes = _response_minutes(scn, response_minutes)
    pledge_frame = load_pledges(pledges, scenario=scn)
    console = Console()
    with console.status("solving coverage for each arrival"):
        timeline = deployment_timeline(
            demand, pledge_frame, response_minutes=minutes, days=days, time_limit=time_limit
        )
    out.mkdir(parents=True, exist_ok=True)
    write_table(timeline, out / "timeline.csv")
    write_table(pledge_frame, out / "pledges.csv")
    label = " (ILLUSTRATIVE pledges)" if pledge_frame["illustrative"].any() else ""
    plot_timeline(
        timeline,
        out / "timeline.png",
        reference=REFERENCE_DAYS[REFERENCE_DAYS["day"] <= days],
        title=f"{scn.title}: deployment timeline{label}",
    )
    if label:
        console.print(
            "[yellow]The pledges are illustrative, not real offers.[/] Give --pledges FILE for real ones."
        )
    table = Table(title=f"Deployment milestones{label}")
    for column in ("target protected", "first day"):
        table.add_column(column)
    for r in rows(milestones(timeline)):
        table.add_row(
            f"{r.target:.0%}",
            "not reached"
            if r.first_day_protected != r.first_day_protected
            else str(int(r.first_day_protected)),
        )
    for r in rows(REFERENCE_DAYS):
        table.add_row(f"reference: {r.label}", str(r.day))
    console.print(fit(table, width=console.width))
    console.print(f"Wrote timeline.csv, pledges.csv and timeline.png in {out}.", highlight=False)


def register(app: typer.Typer) -> None:
    """Add this area's commands to `app`."""
    app.add_typer(plan_app, name="plan")
