"""``kalkan simulate``: what each force option changes, and the classic lattice model.

``kalkan simulate`` runs the scenario comparison (a Typer group invoked without a sub-command);
``kalkan simulate lattice`` runs Epstein's model I on a lattice. Heavy imports stay inside the
functions so ``kalkan --help`` is fast.
"""

from __future__ import annotations

import json
from typing import Any

import typer

from kalkan.errors import InputError

_DEFAULT_OPTIONS = "monitors:50,monitors:100,police:300,police:600,police:1000"


def _parse(text: str) -> list[Any]:
    """``"none,monitors:50,police:600"`` -> [None, ForceOption, ...] (``none`` = no force)."""
    from kalkan.plan.units import parse_options

    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise InputError("No force options given: write them like 'monitors:100,police:600'.")
    out: list[Any] = []
    for item in items:
        out.append(None if item.lower() == "none" else parse_options(item)[0])
    return out


def _settings(pairs: list[str] | None) -> dict[str, float]:
    """``["officer_weight=1", "lethality=0.1"]`` -> {name: value}; the model checks names and ranges."""
    out: dict[str, float] = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        try:
            if not sep:
                raise ValueError
            out[name.strip()] = float(value)
        except ValueError:
            raise InputError(f"--set takes NAME=NUMBER (e.g. officer_weight=1); got {pair!r}.") from None
    return out


def _compact(value: float) -> str:
    """1,303 or 151k: short enough for a terminal table."""
    return f"{value / 1000:,.0f}k" if abs(value) >= 10_000 else f"{value:,.0f}"


def _check_format(fmt: str, allowed: tuple[str, ...]) -> None:
    if fmt not in allowed:
        raise InputError(f"Unknown --format {fmt!r}: use one of {', '.join(allowed)}.")


def _simulate(scenario: str, options: str | None, runs: int, days: int, seed: int, fmt: str,
              scheduler: str | None, siting: str = "reach", overrides: list[str] | None = None,
              arrival_day: float = 0.0) -> None:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from kalkan.scenarios import load_scenario
    from kalkan.simulate.montecarlo import simulate_options

    _check_format(fmt, ("json", "table"))
    if siting not in ("reach", "depth", "both"):
        raise InputError(f"Unknown --siting {siting!r}: use reach, depth or both.")
    sitings = ["reach", "depth"] if siting == "both" else [siting]
    settings = _settings(overrides)
    for name, value, low in (("--runs", runs, 1), ("--days", days, 1), ("--seed", seed, 0)):
        if value < low:
            raise InputError(f"{name} must be a whole number >= {low}; got {value}.")
    sc = load_scenario(scenario)
    text = options or sc.option_spec or _DEFAULT_OPTIONS
    wanted = _parse(text)
    n_models = len(wanted) * len(sitings) + (0 if None in wanted else 1)
    if scheduler is None:
        # Small batches are quicker in-process than starting a cluster.
        scheduler = "local" if runs * n_models >= 600 else "serial"
    console = Console(stderr=True)
    with Progress(TextColumn("simulating"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True, disable=fmt == "json") as bar:
        task = bar.add_task("runs", total=runs * n_models)

        def advance(n: int, total: int) -> None:
            bar.update(task, advance=n, total=total)

        import contextlib

        import pandas as pd

        with contextlib.ExitStack() as stack:
            runner: Any = scheduler
            if scheduler == "local" and len(sitings) > 1:  # one cluster for both sitings
                from dask.distributed import Client, LocalCluster

                cluster = stack.enter_context(LocalCluster(n_workers=None, threads_per_worker=1,
                                                           processes=True, dashboard_address=None))
                runner = stack.enter_context(Client(cluster))
            # The same seeds for every siting: common random numbers, so differences come from the posts.
            tables = [simulate_options(sc, wanted, runs=runs, days=days, seed=seed, scheduler=runner,
                                       progress=advance, siting=how, baseline=i == 0, settings=settings,
                                       arrival_day=arrival_day)
                      for i, how in enumerate(sitings)]
        table = pd.concat(tables, ignore_index=True)
    if fmt == "json":
        records = json.loads(table.to_json(orient="records"))
        typer.echo(json.dumps(records, indent=2))
        return
    title = sc.settings.get("title", sc.name)
    if settings:
        title += " (" + ", ".join(f"{k}={v:g}" for k, v in settings.items()) + ")"
    if arrival_day > 0:
        title += f", posts on duty from day {arrival_day:g}"
    out = Table(title=f"{title}: {days} days, {runs} runs per option, seed {seed} "
                      "(median [5th-95th percentile]; a model, not a prophecy)",
                caption="Unarmed monitors observe only: the model gives them no deterrent effect. "
                        "Armed police deter as anchored to Hultman, Kathman & Shannon (2013). "
                        "See docs/simulate.md.")
    for col in ("option", "sited for", "posts", "reach", "deaths", "homes destroyed", "displaced"):
        out.add_column(col, justify="left" if col in ("option", "sited for") else "right")
    for row in table.itertuples():
        reach = "-" if row.coverage_kind == "none" else f"{row.covered_share:.0%}\n{row.coverage_kind}"

        def cell(what: str, r: Any = row) -> str:
            med, p5, p95 = (getattr(r, f"{what}_{q}") for q in ("median", "p5", "p95"))
            return f"{_compact(med)}\n[{_compact(p5)}-{_compact(p95)}]"

        sited = "-" if row.siting == "none" else str(row.siting)
        out.add_row(str(row.option), sited, str(row.posts), reach, cell("deaths"), cell("homes_destroyed"),
                    cell("displaced"))
    Console().print(out)


def _lattice(width: int, height: int, steps: int, seed: int, fmt: str) -> None:
    from rich.console import Console
    from rich.table import Table

    from kalkan.simulate.lattice import LatticeModel

    _check_format(fmt, ("json", "table"))
    run = LatticeModel(width=width, height=height).run(steps, seed=seed)
    active = run.counts["active"].tolist()
    if fmt == "json":
        typer.echo(json.dumps({"agents": run.agents, "cops": run.cops, "steps": run.steps, "seed": seed,
                               "seconds": run.seconds, "steps_per_second": run.steps_per_second,
                               "active": active}))
        return
    table = Table(title=f"Epstein model I, {width} x {height}, {run.agents} agents ({run.cops} cops), "
                        f"{steps} steps in {run.seconds:.3f} s")
    for col in ("step", "active", "jailed", "quiet"):
        table.add_column(col, justify="right")
    every = max(1, steps // 20)
    for step in range(0, steps + 1, every):
        r = run.counts.iloc[step]
        table.add_row(str(step), str(r["active"]), str(r["jailed"]), str(r["quiet"]))
    Console().print(table)


def register(app: typer.Typer) -> None:
    """Add ``kalkan simulate`` and ``kalkan simulate lattice`` to ``app``."""
    sim = typer.Typer(invoke_without_command=True, no_args_is_help=False, add_completion=False,
                      help="What each force option changes: agent-based simulation over many seeds.")

    @sim.callback()
    def simulate(
        ctx: typer.Context,
        scenario: str = typer.Option("kyrgyzstan_2010", "--scenario", help="Embedded scenario name."),
        options: str = typer.Option(None, "--options",
                                    help="Force options, e.g. monitors:100,police:600 (a no-force row is "
                                         "always added). Default: the scenario's options."),
        runs: int = typer.Option(200, "--runs", help="Runs (seeds) per option."),
        days: int = typer.Option(10, "--days", help="Days simulated from the first flashpoint."),
        seed: int = typer.Option(0, "--seed", help="Master seed: the same seed gives the same table."),
        fmt: str = typer.Option("table", "--format", help="table or json."),
        scheduler: str = typer.Option(None, "--scheduler",
                                      help="serial, local (Dask LocalCluster) or a Dask scheduler address; "
                                           "default: local for 600+ runs in total, else serial."),
        siting: str = typer.Option("reach", "--siting",
                                   help="How posts are sited: reach (maximal covering), depth (expected "
                                        "covering: several posts where the people at risk are) or both."),
        overrides: list[str] = typer.Option(None, "--set",
                                            help="Change a model setting, e.g. --set officer_weight=1 "
                                                 "(repeatable; names and ranges in docs/simulate.md)."),
        arrival_day: float = typer.Option(0.0, "--arrival-day",
                                          help="Days after the first clash on which the posts come on duty "
                                               "(0: from the start); what a late force still changes."),
    ) -> None:
        """Compare force options on the scenario: deaths, homes destroyed, displaced (median, 90% range)."""
        if ctx.invoked_subcommand is not None:
            return
        _simulate(scenario, options, runs, days, seed, fmt, scheduler, siting, overrides, arrival_day)

    @sim.command("lattice")
    def lattice(
        width: int = typer.Option(40, "--width", help="Lattice width, cells."),
        height: int = typer.Option(40, "--height", help="Lattice height, cells."),
        steps: int = typer.Option(200, "--steps", help="Steps to run."),
        seed: int = typer.Option(0, "--seed", help="Seed."),
        fmt: str = typer.Option("table", "--format", help="table or json."),
    ) -> None:
        """Epstein's model I on a torus lattice (Mesa's example defaults); active agents per step."""
        if steps < 0 or seed < 0:
            raise InputError(f"--steps and --seed must be >= 0; got {steps} and {seed}.")
        _lattice(width, height, steps, seed, fmt)

    app.add_typer(sim, name="simulate")
