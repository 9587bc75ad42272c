"""Commands of ``kalkan risk`` for hotspot forecasts: ``hotspots`` and ``backtest``.

``kalkan risk hotspots`` is an interface other tools rely on (issue 6, item 6): it prints, for every
cell it forecasts, ``cell_id, latitude, longitude, probability, expected_events`` as CSV (default) or
JSON on stdout; messages go to stderr. Heavy libraries are imported inside the commands.
"""

from __future__ import annotations

import sys
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from kalkan.errors import InputError

SCHEDULER_HELP = "local (a Dask LocalCluster), serial, or the ADDRESS of a running Dask scheduler."
EVENTS_HELP = "Event file (any format `kalkan ingest` reads)."
STORE_HELP = "Event store (DuckDB file from `kalkan ingest`) instead of --events; events known by --until."
OUTPUT_COLUMNS = ["cell_id", "latitude", "longitude", "probability", "expected_events"]


class HotspotFormat(StrEnum):
    """Output format of ``kalkan risk hotspots``."""

    csv = "csv"
    json = "json"


def _read(path: Path) -> Any:
    """Events of any file ``kalkan ingest`` reads; quarantined rows are counted on stderr."""
    from rich.console import Console

    from kalkan.ingest import read_events

    if not path.exists():
        raise InputError(f"No event file at {path}: give the path of a GED, ACLED, HXL or kalkan file.")
    result = read_events(path)
    err = Console(stderr=True)
    if len(result.quarantine):
        err.print(f"{path.name}: {len(result.events)} events read, {len(result.quarantine)} rows quarantined "
                  "(see `kalkan ingest` for the reasons).", highlight=False)
    return result.events


def _date(text: str) -> str:
    try:
        return datetime.strptime(text, "%Y-%m-%d").date().isoformat()
    except ValueError:
        raise InputError(f"Cannot read the date {text!r}: use YYYY-MM-DD, e.g. 2010-06-10.") from None


def register(risk_app: typer.Typer) -> None:
    """Add the hotspot commands to the ``kalkan risk`` group."""

    @risk_app.command("hotspots")
    def hotspots(
        *,
        events: Annotated[Path | None, typer.Option("--events", help=EVENTS_HELP)] = None,
        db: Annotated[Path | None, typer.Option("--db", help=STORE_HELP)] = None,
        until: Annotated[str, typer.Option("--until", help="Cut-off day YYYY-MM-DD: fit on events dated on "
                                                           "or before it, forecast the days after.")],
        horizon_days: Annotated[int, typer.Option("--horizon-days", help="Days forecast after the cut-off.")],
        grid: Annotated[str, typer.Option("--grid", help="priogrid (0.5 degree, UCDP ids) or h3:RES.")]
        = "priogrid",
        fmt: Annotated[HotspotFormat, typer.Option("--format", help="csv or json, on stdout.")]
        = HotspotFormat.csv,
        params: Annotated[bool, typer.Option("--params", help="Also print the fitted parameters (stderr).")]
        = False,
    ) -> None:
        """Forecast P(at least one event) and expected events per grid cell for the next N days.

        Lists every cell with an event in the fitted history and its neighbours; a cell not listed
        has probability 0. Model: space-time Hawkes process (docs/risk-hotspots.md).
        """
        from rich.console import Console

        from kalkan.risk.hotspots import HotspotModel, check_horizon
        from kalkan.stage_events import read_events_for_stage

        check_horizon(horizon_days)
        cut = _date(until)
        err = Console(stderr=True)
        # store-pipeline's seam: a file or the store; from the store only what was known by the cut-off
        frame = read_events_for_stage(events, db, as_of=date.fromisoformat(cut))
        with err.status("Fitting the space-time Hawkes model ..."):
            model = HotspotModel(grid=grid).fit(frame, until=cut)
            fc = model.predict(horizon_days)
        out = fc[OUTPUT_COLUMNS].sort_values(["probability", "cell_id"], ascending=[False, True])
        out["cell_id"] = model.grid_.format_ids(out["cell_id"].to_numpy())
        if params:
            err.print(model.params_[["parameter", "estimate", "std_error", "ci_low", "ci_high", "unit"]]
                      .to_string(index=False), highlight=False)
        if fmt is HotspotFormat.json:
            sys.stdout.write(out.to_json(orient="records", indent=1, double_precision=10) + "\n")
        else:
            out.to_csv(sys.stdout, index=False, float_format="%.6g")

    @risk_app.command("backtest")
    def backtest_cmd(
        events: Annotated[Path, typer.Option("--events", help=EVENTS_HELP)],
        start: Annotated[str, typer.Option("--start", help="First forecast month YYYY-MM.")] = "2005-01",
        end: Annotated[str, typer.Option("--end", help="Last forecast month YYYY-MM.")] = "2019-12",
        models: Annotated[str, typer.Option("--models", help="Comma-separated: hawkes, boost, zero, last, "
                                                             "meanN, conflictology.")]
        = "hawkes,boost,zero,last,mean12,conflictology",
        grid: Annotated[str, typer.Option("--grid", help="priogrid or h3:RES.")] = "priogrid",
        scheduler: Annotated[str, typer.Option("--scheduler", help=SCHEDULER_HELP)] = "local",
        workers: Annotated[int, typer.Option("--workers", help="Workers of the LocalCluster.")] = 2,
        boot: Annotated[int, typer.Option("--boot", help="Bootstrap replicates for the intervals.")] = 200,
        seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstrap.")] = 0,
        by: Annotated[str, typer.Option("--by", help="Column the folds are grouped by.")] = "country_iso3",
        output: Annotated[Path | None, typer.Option("--output", help="Folder for scores.csv, folds.csv and "
                                                                     "cells.parquet.")] = None,
        fmt: Annotated[str, typer.Option("--format", help="table, csv or json (stdout).")] = "table",
    ) -> None:
        """Rolling-origin monthly backtest of the hotspot models vs. the baselines, per country and pooled."""
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from kalkan.risk.hotspot_backtest import backtest

        if fmt not in ("table", "csv", "json"):
            raise InputError(f"Unknown format {fmt!r}: use table, csv or json.")
        names = [m.strip() for m in models.split(",") if m.strip()]
        frame = _read(events)
        err = Console(stderr=True)
        with Progress(TextColumn("backtest folds"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=err, transient=True) as bar:
            task = bar.add_task("folds", total=None)

            def step(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            result = backtest(frame, models=names, grid=grid, start=start, end=end, by=by,
                              scheduler=None if scheduler == "serial" else scheduler, n_workers=workers,
                              n_boot=boot, seed=seed, progress=step)
        scores = result.scores
        if output is not None:
            output.mkdir(parents=True, exist_ok=True)
            scores.to_csv(output / "scores.csv", index=False)
            result.folds.to_csv(output / "folds.csv", index=False)
            result.cells.to_parquet(output / "cells.parquet", index=False)
            err.print(f"Wrote scores.csv, folds.csv and cells.parquet to {output}.", highlight=False)
        if fmt == "csv":
            scores.to_csv(sys.stdout, index=False, float_format="%.6g")
            return
        if fmt == "json":
            sys.stdout.write(scores.to_json(orient="records", indent=1) + "\n")
            return
        from rich.table import Table

        table = Table(title=f"Hotspot backtest, {start} to {end}, {result.settings['folds']} folds "
                            "(95 % bootstrap intervals)")
        for col in ("group", "model", "Brier", "log loss", "avg precision", "CRPS", "capture 5 %"):
            table.add_column(col, justify="left" if col in ("group", "model") else "right")

        def cell(row: Any, key: str, digits: int = 4) -> str:
            low, high = row.get(f"{key}_low"), row.get(f"{key}_high")
            text = f"{row[key]:.{digits}f}"
            if low is not None and high is not None and low == low:
                text += f" [{low:.{digits}f}, {high:.{digits}f}]"
            return text

        for _, row in scores.iterrows():
            table.add_row(str(row["group"]), str(row["model"]), cell(row, "brier"), cell(row, "logloss"),
                          cell(row, "avg_precision", 3), cell(row, "crps", 3), cell(row, "capture_0.05", 3))
        Console().print(table)
