"""``kalkan simulate``: what each force option changes, and the classic lattice model.

``kalkan simulate`` runs the scenario comparison (a Typer group invoked without a sub-command);
``kalkan simulate lattice`` runs Epstein's model I on a lattice. Heavy imports stay inside the
functions so ``kalkan --help`` is fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from kalkan.cli import progress_bar
from kalkan.errors import InputError
from kalkan.stage_events import STORE_HELP
from kalkan.terminal import fit

# Options several subcommands share (one spelling, one help text).
_Scenario = Annotated[str, typer.Option("--scenario", help="Embedded scenario name or folder.")]
_Seed = Annotated[int, typer.Option("--seed", help="Seed.")]
_Scheduler = Annotated[
    str | None, typer.Option("--scheduler", help="serial, local or a Dask scheduler address.")
]
_Format = Annotated[str, typer.Option("--format", help="table or json.")]


def _options_text(options: str | None, scenario: Any) -> str:
    """What ``--options`` names, else the scenario's options, else the planner's default options."""
    from kalkan.plan.defaults import DEFAULT_OPTIONS

    return str(options or scenario.option_spec or DEFAULT_OPTIONS)


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


def _scheduler(scheduler: str | None, runs: int) -> str:
    # Small batches are quicker in-process than starting a cluster.
    return scheduler if scheduler is not None else ("local" if runs >= 600 else "serial")


def _as_of(text: str | None) -> Any:
    from kalkan.stage_events import parse_day

    return None if text is None else parse_day(text, "--as-of")


def _arrival(text: str) -> str | float:
    if text == "timeline":
        return text
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value < 0:
        raise InputError(
            f"--arrival takes 'timeline' or a number of days >= 0 after the decision; got {text!r}."
        )
    return value


def _simulate(
    scenario: str,
    options: str | None,
    runs: int,
    days: int | None,
    seed: int,
    fmt: str,
    scheduler: str | None,
    siting: str = "reach",
    overrides: list[str] | None = None,
    arrival: str = "timeline",
    as_of: str | None = None,
    db: Path | None = None,
) -> None:
    """Options compared as of a date: posterior-predictive, no foresight (kalkan.simulate.predictive)."""
    import pandas as pd
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from kalkan.scenarios import load_scenario
    from kalkan.simulate.predictive import compare_options

    _check_format(fmt, ("json", "table"))
    if siting not in ("reach", "depth", "both"):
        raise InputError(f"Unknown --siting {siting!r}: use reach, depth or both.")
    sitings = ["reach", "depth"] if siting == "both" else [siting]
    settings = _settings(overrides)
    for name, value, low in (("--runs", runs, 1), ("--seed", seed, 0)):
        if value < low:
            raise InputError(f"{name} must be a whole number >= {low}; got {value}.")
    if days is not None and days < 1:
        raise InputError(f"--days must be a whole number >= 1; got {days}.")
    when = _arrival(arrival)
    day = _as_of(as_of)
    if db is None:
        sc = load_scenario(scenario)
    else:  # store-pipeline's seam: the incidents (flashpoints) from the event store, known by the day
        from kalkan.stage_events import load_for_stage

        sc = load_for_stage(scenario, db, as_of)
    text = _options_text(options, sc)
    wanted = _parse(text)
    per_draw = min(4, runs)
    draws = -(-runs // per_draw)
    n_models = len(wanted) * len(sitings) + (0 if None in wanted else 1)
    runner = _scheduler(scheduler, draws * per_draw * n_models)
    comparisons = []
    with progress_bar("simulating", hidden=fmt == "json") as bar:
        for i, how in enumerate(sitings):
            bar.describe(f"simulating ({how})")
            comparisons.append(
                compare_options(
                    sc,
                    wanted,
                    as_of=day,
                    draws=draws,
                    seeds_per_draw=per_draw,
                    days=days,
                    seed=seed,
                    siting=how,
                    arrival=when,
                    settings=settings,
                    scheduler=runner,
                    progress=bar,
                    baseline=i == 0,
                )
            )
    table = pd.concat([c.table for c in comparisons], ignore_index=True)
    if fmt == "json":
        records = json.loads(table.to_json(orient="records"))
        first = comparisons[0]
        typer.echo(
            json.dumps(
                {
                    "options": records,
                    "beats": json.loads(first.beats.to_json()),
                    "interval_note": first.interval_note,
                    "flashpoints": first.flashpoints,
                    "calibration": first.calibration.get("targets", []),
                    "as_of": first.attrs["as_of"],
                },
                indent=2,
            )
        )
        return
    first = comparisons[0]
    title = str(sc.settings.get("title", sc.name))
    if settings:
        title += " (" + ", ".join(f"{k}={v:g}" for k, v in settings.items()) + ")"
    out = Table(
        title=escape(
            f"{title}, as of {first.attrs['as_of']}: {first.attrs['days']} days, "
            f"{int(table['runs'].iloc[0])} runs per option, seed {seed} "
            "(median [5th-95th percentile]; a model, not a prophecy)"
        ),
        caption=escape(
            f"{first.interval_note} {first.flashpoints} Calibration: "
            + "; ".join(t["label"] for t in first.calibration.get("targets", []))
            + ". See docs/simulate.md."
        ),
    )
    for col in (
        "option",
        "sited for",
        "posts",
        "on duty from",
        "deaths",
        "homes destroyed",
        "displaced",
        "P(fewest deaths)",
    ):
        out.add_column(col, justify="left" if col in ("option", "sited for") else "right")
    for row in table.itertuples():

        def cell(what: str, r: Any = row) -> str:
            med, p5, p95 = (getattr(r, f"{what}_{q}") for q in ("median", "p5", "p95"))
            return f"{_compact(med)}\n[{_compact(p5)}-{_compact(p95)}]"

        duty = "-" if row.unit == "none" else f"day {row.generation_day:g}"
        out.add_row(
            escape(str(row.option)),
            "-" if row.siting == "none" else str(row.siting),
            str(row.posts),
            duty,
            cell("deaths"),
            cell("homes_destroyed"),
            cell("displaced"),
            f"{row.p_best:.0%}",
        )
    Console().print(fit(out))


def _calibrate(
    scenario: str,
    particles: int,
    generations: int,
    seed: int,
    scheduler: str | None,
    as_of: str | None,
    max_runs: int | None = None,
) -> None:
    from rich.console import Console
    from rich.markup import escape

    from kalkan.scenarios import load_scenario
    from kalkan.simulate.calibration import calibrate

    if particles < 10 or generations < 1 or seed < 0 or (max_runs is not None and max_runs < particles):
        raise InputError(
            f"--particles must be >= 10, --generations >= 1, --seed >= 0 and --max-runs at least the "
            f"particles; got {particles}, {generations}, {seed} and {max_runs}."
        )
    sc = load_scenario(scenario)
    with progress_bar("calibrating") as bar:
        posterior = calibrate(
            sc,
            as_of=_as_of(as_of),
            particles=particles,
            generations=generations,
            seed=seed,
            scheduler=_scheduler(scheduler, particles * generations * 3),
            progress=bar,
            max_runs=max_runs,
        )
    console = Console()
    console.print(escape(posterior.describe()))
    console.print(
        escape(
            f"{posterior.provenance['runs']:,} runs; share of particles inside every range: "
            f"{posterior.provenance['inside_every_range']:.0%}."
        )
    )
    console.print(escape(posterior.summary().to_string(index=False, float_format=lambda v: f"{v:.4g}")))


def _sensitivity(
    scenario: str,
    options: str | None,
    method: str,
    trajectories: int,
    seeds: int,
    seed: int,
    scheduler: str | None,
    fmt: str,
    save: bool = False,
) -> None:
    from rich.console import Console
    from rich.markup import escape

    from kalkan.scenarios import load_scenario
    from kalkan.simulate.sensitivity import SENSITIVITY_JSON, save_sensitivity, sensitivity

    _check_format(fmt, ("json", "table"))
    sc = load_scenario(scenario)
    wanted = _parse(_options_text(options, sc))
    with progress_bar("sensitivity", hidden=fmt == "json") as bar:
        result = sensitivity(
            sc,
            wanted,
            method=method,
            trajectories=trajectories,
            seeds=seeds,
            seed=seed,
            scheduler=_scheduler(scheduler, 600),
            progress=bar,
        )
    if save:
        save_sensitivity(result, sc)
    if fmt == "json":
        typer.echo(
            json.dumps(
                {
                    "method": result.method,
                    "ranking": json.loads(result.ranking.to_json(orient="records")),
                    "by_officer_weight": json.loads(result.by_officer_weight.to_json(orient="records")),
                    "ordering_depends": result.ordering_depends,
                    "note": result.note,
                    "runs": result.runs,
                },
                indent=2,
            )
        )
        return
    console = Console()
    console.print(
        escape(
            f"{result.method.title()} sensitivity of simulated deaths ({result.runs:,} runs): "
            "parameters by mean share of importance over options"
        )
    )
    console.print(
        escape(
            result.ranking[["parameter", "mean_share"]].to_string(
                index=False, float_format=lambda v: f"{v:.1%}"
            )
        )
    )
    console.print(escape("Median deaths by officer weight (low, central, high third of its prior):"))
    console.print(escape(result.by_officer_weight.to_string(index=False, float_format=lambda v: f"{v:,.0f}")))
    if result.note:
        console.print(escape(result.note))
    if save:
        console.print(escape(f"Kept in the scenario folder ({SENSITIVITY_JSON} and .csv)."))


def _validate(
    scenario: str, particles: int, generations: int, draws: int, seed: int, scheduler: str | None, fmt: str
) -> None:
    from rich.console import Console
    from rich.markup import escape

    from kalkan.scenarios import load_scenario
    from kalkan.simulate.validation import validate

    _check_format(fmt, ("json", "table"))
    sc = load_scenario(scenario)
    with progress_bar("validating", hidden=fmt == "json") as bar:
        result = validate(
            sc,
            particles=particles,
            generations=generations,
            draws=draws,
            seed=seed,
            scheduler=_scheduler(scheduler, particles * generations * 3),
            progress=bar,
        )
    if fmt == "json":
        typer.echo(
            json.dumps(
                {
                    "coverage": result.coverage,
                    "note": result.note,
                    "checks": json.loads(result.table.to_json(orient="records")),
                },
                indent=2,
            )
        )
        return
    cols = ["check", "predicted", "p5", "median", "p95", "holds"]
    Console().print(escape(result.table[cols].to_string(index=False, float_format=lambda v: f"{v:,.0f}")))
    Console().print(escape(result.note))


def _lattice(width: int, height: int, steps: int, seed: int, fmt: str) -> None:
    from rich.console import Console
    from rich.table import Table

    from kalkan.simulate.lattice import LatticeModel

    _check_format(fmt, ("json", "table"))
    run = LatticeModel(width=width, height=height).run(steps, seed=seed)
    active = run.counts["active"].tolist()
    if fmt == "json":
        typer.echo(
            json.dumps(
                {
                    "agents": run.agents,
                    "cops": run.cops,
                    "steps": run.steps,
                    "seed": seed,
                    "seconds": run.seconds,
                    "steps_per_second": run.steps_per_second,
                    "active": active,
                }
            )
        )
        return
    table = Table(
        title=f"Epstein model I, {width} x {height}, {run.agents} agents ({run.cops} cops), "
        f"{steps} steps in {run.seconds:.3f} s"
    )
    for col in ("step", "active", "jailed", "quiet"):
        table.add_column(col, justify="right")
    every = max(1, steps // 20)
    for step in range(0, steps + 1, every):
        r = run.counts.iloc[step]
        table.add_row(str(step), str(r["active"]), str(r["jailed"]), str(r["quiet"]))
    Console().print(fit(table))


def register(app: typer.Typer) -> None:
    """Add ``kalkan simulate`` and ``kalkan simulate lattice`` to ``app``."""
    sim = typer.Typer(
        invoke_without_command=True,
        no_args_is_help=False,
        add_completion=False,
        help="What each force option changes: agent-based simulation over many seeds.",
    )

    @sim.callback()
    def simulate(
        ctx: typer.Context,
        scenario: _Scenario = "kyrgyzstan_2010",
        options: str = typer.Option(
            None,
            "--options",
            help="Force options, e.g. monitors:100,police:600 (a no-force row is "
            "always added). Default: the scenario's options.",
        ),
        runs: int = typer.Option(200, "--runs", help="Runs per option (parameter draws x 4 seeds)."),
        days: int = typer.Option(None, "--days", help="Days simulated (default: the scenario's)."),
        seed: int = typer.Option(0, "--seed", help="Master seed: the same seed gives the same table."),
        fmt: _Format = "table",
        scheduler: str = typer.Option(
            None,
            "--scheduler",
            help="serial, local (Dask LocalCluster) or a Dask scheduler address; "
            "default: local for 600+ runs in total, else serial.",
        ),
        siting: str = typer.Option(
            "reach",
            "--siting",
            help="How posts are sited: reach (maximal covering), depth (expected "
            "covering: several posts where the people at risk are) or both.",
        ),
        overrides: list[str] = typer.Option(
            None,
            "--set",
            help="Fix a model setting instead of drawing it, e.g. --set "
            "officer_weight=1 (repeatable; docs/simulate.md).",
        ),
        arrival: str = typer.Option(
            "timeline",
            "--arrival",
            help="When posts come on duty: 'timeline' (force generation from the "
            "pledges) or days after the decision.",
        ),
        as_of: str = typer.Option(None, "--as-of", help="Decision date (default: the scenario's)."),
        db: Path = typer.Option(None, "--db", help=STORE_HELP),
    ) -> None:
        """Compare force options as of the decision date: deaths, homes, displaced (posterior-predictive)."""
        if ctx.invoked_subcommand is not None:
            return
        _simulate(scenario, options, runs, days, seed, fmt, scheduler, siting, overrides, arrival, as_of, db)

    @sim.command("calibrate")
    def calibrate_cmd(
        scenario: _Scenario = "kyrgyzstan_2010",
        particles: int = typer.Option(200, "--particles", help="ABC-SMC particles."),
        generations: int = typer.Option(10, "--generations", help="Most ABC-SMC generations."),
        seed: _Seed = 0,
        scheduler: _Scheduler = None,
        as_of: str = typer.Option(
            None, "--as-of", help="Use figures published by this day (default: the scenario's decision date)."
        ),
        max_runs: int = typer.Option(
            None, "--max-runs", help="Run budget: no new generation starts once this many runs are spent."
        ),
    ) -> None:
        """Refit the scenario's posterior (ABC-SMC) and write it into the scenario folder."""
        _calibrate(scenario, particles, generations, seed, scheduler, as_of, max_runs)

    @sim.command("sensitivity")
    def sensitivity_cmd(
        scenario: _Scenario = "kyrgyzstan_2010",
        options: str = typer.Option(None, "--options", help="Force options (default: the scenario's)."),
        method: str = typer.Option("morris", "--method", help="morris or sobol."),
        trajectories: int = typer.Option(
            8, "--trajectories", help="Morris trajectories (Sobol: base sample N)."
        ),
        seeds: int = typer.Option(2, "--seeds", help="Seeds averaged per sample."),
        seed: _Seed = 0,
        scheduler: _Scheduler = None,
        fmt: _Format = "table",
        save: bool = typer.Option(
            False, "--save", help="Keep the result in the scenario folder (the brief reads it from there)."
        ),
    ) -> None:
        """Which parameters drive simulated deaths per option (Morris or Sobol, SALib)."""
        _sensitivity(scenario, options, method, trajectories, seeds, seed, scheduler, fmt, save)

    @sim.command("validate")
    def validate_cmd(
        scenario: _Scenario = "kyrgyzstan_2010",
        particles: int = typer.Option(120, "--particles", help="ABC-SMC particles per check."),
        generations: int = typer.Option(5, "--generations", help="Most ABC-SMC generations per check."),
        draws: int = typer.Option(60, "--draws", help="Posterior draws per prediction (x 2 seeds)."),
        seed: _Seed = 0,
        scheduler: _Scheduler = None,
        fmt: _Format = "table",
    ) -> None:
        """Held-out checks: fit on some regions or days, predict the others; coverage of the 90% intervals."""
        _validate(scenario, particles, generations, draws, seed, scheduler, fmt)

    @sim.command("lattice")
    def lattice(
        width: int = typer.Option(40, "--width", help="Lattice width, cells."),
        height: int = typer.Option(40, "--height", help="Lattice height, cells."),
        steps: int = typer.Option(200, "--steps", help="Steps to run."),
        seed: _Seed = 0,
        fmt: _Format = "table",
    ) -> None:
        """Epstein's model I on a torus lattice (Mesa's example defaults); active agents per step."""
        if steps < 0 or seed < 0:
            raise InputError(f"--steps and --seed must be >= 0; got {steps} and {seed}.")
        _lattice(width, height, steps, seed, fmt)

    app.add_typer(sim, name="simulate")
