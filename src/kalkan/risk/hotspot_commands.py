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
from kalkan.terminal import fit

SCHEDULER_HELP = "local (a Dask LocalCluster), serial, or the ADDRESS of a running Dask scheduler."
EVENTS_HELP = "Event file (any format `kalkan ingest` reads)."
STORE_HELP = "Event store (DuckDB file from `kalkan ingest`) instead of --events; events known by --until."
MODEL_HELP = (
    "hawkes, boost, ensemble (or a registered variant, e.g. boost_5y) or a baseline: zero, last, "
    "meanN, conflictology. Default: the selection protocol's winner."
)
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
        err.print(
            f"{path.name}: {len(result.events)} events read, {len(result.quarantine)} rows quarantined "
            "(see `kalkan ingest` for the reasons).",
            highlight=False,
        )
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
        until: Annotated[
            str,
            typer.Option(
                "--until",
                help="Cut-off day YYYY-MM-DD: fit on events dated on or before it, forecast the days after.",
            ),
        ],
        horizon_days: Annotated[int, typer.Option("--horizon-days", help="Days forecast after the cut-off.")],
        grid: Annotated[
            str, typer.Option("--grid", help="priogrid (0.5 degree, UCDP ids) or h3:RES.")
        ] = "priogrid",
        fmt: Annotated[
            HotspotFormat, typer.Option("--format", help="csv or json, on stdout.")
        ] = HotspotFormat.csv,
        model: Annotated[str | None, typer.Option("--model", help=MODEL_HELP)] = None,
        country: Annotated[
            str | None,
            typer.Option(
                "--country",
                help="ISO3 code whose held-out verdict "
                "applies (default: the events' "
                "country when there is one).",
            ),
        ] = None,
        fatalities: Annotated[
            bool,
            typer.Option(
                "--fatalities", help="Add the people-killed forecast: fatalities_mean, _median, _q90."
            ),
        ] = False,
        seed: Annotated[int, typer.Option("--seed", help="Seed of the fatality draws.")] = 0,
        params: Annotated[
            bool, typer.Option("--params", help="Also print the fitted parameters (stderr).")
        ] = False,
    ) -> None:
        """Forecast P(at least one event) and expected events per grid cell for the next N days.

        Lists every cell with an event in the fitted history and its neighbours; a cell not listed
        has probability 0. Model: the one the selection protocol chose (docs/risk-hotspots.md), or
        --model; when no model beat the best baseline in the country's held-out years, that
        baseline's forecast, with a note.
        """
        import numpy as np
        from rich.console import Console

        from kalkan.risk.hotspot_backtest import make_model
        from kalkan.risk.hotspot_selection import selected_model, skill_sentence
        from kalkan.risk.hotspots import check_horizon
        from kalkan.stage_events import read_events_for_stage

        check_horizon(horizon_days)
        cut = _date(until)
        err = Console(stderr=True)
        # store-pipeline's seam: a file or the store; from the store only what was known by the cut-off
        frame = read_events_for_stage(events, db, as_of=date.fromisoformat(cut))
        if country is None and "country_iso3" in frame.columns:
            found = frame["country_iso3"].dropna().unique()
            country = str(found[0]) if len(found) == 1 else None
        note = None
        if model is None:
            sel = selected_model(country)
            name, note = sel.model, sel.note
        else:
            name = model
        fitted = make_model(name, grid)
        with err.status(f"Fitting the {name} model ..."):
            fitted.fit(frame, until=cut)
            fc = fitted.predict(horizon_days)
        columns = list(OUTPUT_COLUMNS)
        if fatalities:
            from kalkan.risk.hotspot_fatalities import fatality_samples

            draws = fatality_samples(fitted, frame, horizon_days, seed=seed)
            fc = fc.assign(
                fatalities_mean=draws.mean(axis=1),
                fatalities_median=np.quantile(draws, 0.5, axis=1),
                fatalities_q90=np.quantile(draws, 0.9, axis=1),
            )
            columns += ["fatalities_mean", "fatalities_median", "fatalities_q90"]
        out = fc[columns].sort_values(["probability", "cell_id"], ascending=[False, True])
        out["cell_id"] = fitted.grid_.format_ids(out["cell_id"].to_numpy())
        err.print(f"Model: {name}. {skill_sentence(name, country)[0]}", highlight=False)
        if note:
            err.print(f"Note: {note}", highlight=False)
        if params and hasattr(fitted, "params_"):
            err.print(
                fitted.params_[["parameter", "estimate", "std_error", "ci_low", "ci_high", "unit"]].to_string(
                    index=False
                ),
                highlight=False,
            )
        if fmt is HotspotFormat.json:
            sys.stdout.write(out.to_json(orient="records", indent=1, double_precision=10) + "\n")
        else:
            out.to_csv(sys.stdout, index=False, float_format="%.6g")

    @risk_app.command("backtest")
    def backtest_cmd(
        events: Annotated[Path | None, typer.Option("--events", help=EVENTS_HELP)] = None,
        db: Annotated[
            Path | None,
            typer.Option(
                "--db",
                help="Event store (DuckDB file from `kalkan ingest`) instead of --events; "
                "events known by the end of --end.",
            ),
        ] = None,
        start: Annotated[
            str, typer.Option("--start", help="First month of the selection block YYYY-MM.")
        ] = "2013-01",
        select_until: Annotated[
            str,
            typer.Option(
                "--select-until", help="Last month of the selection block; later months are held out."
            ),
        ] = "2014-12",
        end: Annotated[str, typer.Option("--end", help="Last held-out month YYYY-MM.")] = "2019-12",
        model: Annotated[
            str | None,
            typer.Option(
                "--model", help="Score this one model on the held-out block (no choice): " + MODEL_HELP
            ),
        ] = None,
        models: Annotated[
            str | None,
            typer.Option(
                "--models", help="Comma-separated candidates to choose from (default: every registered one)."
            ),
        ] = None,
        baselines: Annotated[
            str, typer.Option("--baselines", help="Comma-separated baselines to beat.")
        ] = "zero,last,mean12,conflictology",
        burn_in: Annotated[
            int,
            typer.Option("--burn-in", help="Months before --start that only train the ensemble's weights."),
        ] = 12,
        refit_months: Annotated[
            int,
            typer.Option(
                "--refit-months", help="Refit the ensemble's weights every N months, on earlier folds."
            ),
        ] = 12,
        grid: Annotated[str, typer.Option("--grid", help="priogrid or h3:RES.")] = "priogrid",
        scheduler: Annotated[str, typer.Option("--scheduler", help=SCHEDULER_HELP)] = "local",
        workers: Annotated[int, typer.Option("--workers", help="Workers of the LocalCluster.")] = 2,
        boot: Annotated[int, typer.Option("--boot", help="Bootstrap replicates for the intervals.")] = 200,
        seed: Annotated[int, typer.Option("--seed", help="Seed of the bootstrap and fatality draws.")] = 0,
        by: Annotated[str, typer.Option("--by", help="Column the folds are grouped by.")] = "country_iso3",
        output: Annotated[
            Path | None,
            typer.Option(
                "--output",
                help="Folder for scores.csv (held out), "
                "selection_scores.csv, verdicts.csv, "
                "folds.csv, cells.parquet, "
                "selection.json.",
            ),
        ] = None,
        fmt: Annotated[str, typer.Option("--format", help="table, csv or json (stdout).")] = "table",
    ) -> None:
        """The selection protocol: choose the model on the selection block, score the held-out block once.

        Rolling-origin monthly folds per country; every choice is made on folds before the held-out
        block, the ensemble's weights on folds before the months they forecast (docs/risk-hotspots.md).
        """
        from rich.console import Console

        from kalkan.cli import progress_bar
        from kalkan.risk.hotspot_selection import CANDIDATES, Protocol, run_protocol, save_selection

        if fmt not in ("table", "csv", "json"):
            raise InputError(f"Unknown format {fmt!r}: use table, csv or json.")
        if model is not None and models is not None:
            raise InputError(
                "Give either --model (score one model) or --models (choose among several), not both."
            )
        names = (
            [model]
            if model
            else ([m.strip() for m in models.split(",") if m.strip()] if models else list(CANDIDATES))
        )
        base = [b.strip() for b in baselines.split(",") if b.strip()]
        protocol = Protocol(
            start=start, select_until=select_until, end=end, burn_in_months=burn_in, refit_months=refit_months
        )
        protocol.check()
        if events is not None and db is None:
            frame = _read(events)
        else:  # the store (scenario helper's seam): only events known by the last held-out month's end
            import pandas as pd

            from kalkan.stage_events import read_events_for_stage

            last_day = pd.Period(end, "M").end_time.date()
            frame = read_events_for_stage(events, db, as_of=last_day)
        err = Console(stderr=True)
        with progress_bar("folds") as step:
            result = run_protocol(
                frame,
                protocol,
                candidates=names,
                baselines=base,
                grid=grid,
                by=by,
                scheduler=None if scheduler == "serial" else scheduler,
                n_workers=workers,
                n_boot=boot,
                seed=seed,
                progress=step,
            )
        scores = result.held_out_scores
        if output is not None:
            output.mkdir(parents=True, exist_ok=True)
            scores.to_csv(output / "scores.csv", index=False)
            result.selection_scores.to_csv(output / "selection_scores.csv", index=False)
            result.verdicts.to_csv(output / "verdicts.csv", index=False)
            result.folds.to_csv(output / "folds.csv", index=False)
            result.cells.to_parquet(output / "cells.parquet", index=False)
            save_selection(result, output / "selection.json")
            err.print(
                f"Wrote scores.csv, selection_scores.csv, verdicts.csv, folds.csv, cells.parquet and "
                f"selection.json to {output}.",
                highlight=False,
            )
        chosen = (
            f"Chosen on {start}..{select_until}: {result.winner}"
            if len(names) > 1
            else f"Scored without a choice: {result.winner}"
        )
        err.print(chosen + f"; held out {protocol.select_until} < month <= {end}.", highlight=False)
        for v in result.verdicts.to_dict("records"):
            word = "beats" if v["beats_baseline"] else "does NOT beat"
            err.print(
                f"{v['group']}: {result.winner} {word} the best baseline ({v['best_baseline']}) in "
                f"Brier score on the held-out block ({100 * v['brier_gain']:+.1f} %).",
                highlight=False,
            )
        if fmt == "csv":
            scores.to_csv(sys.stdout, index=False, float_format="%.6g")
            return
        if fmt == "json":
            sys.stdout.write(scores.to_json(orient="records", indent=1) + "\n")
            return
        from rich.table import Table

        table = Table(
            title=f"Held-out block {protocol.select_until} < month <= {end}, "
            f"{result.settings['held_out_folds']} folds (95 % bootstrap intervals)"
        )
        for col in (
            "group",
            "model",
            "Brier",
            "log loss",
            "CRPS events",
            "CRPS deaths",
            "log score deaths",
            "PAI 5 %",
        ):
            table.add_column(col, justify="left" if col in ("group", "model") else "right")

        def cell(row: Any, key: str, digits: int = 4) -> str:
            if key not in row or row[key] != row[key]:
                return "-"
            low, high = row.get(f"{key}_low"), row.get(f"{key}_high")
            text = f"{row[key]:.{digits}f}"
            if low is not None and high is not None and low == low:
                text += f" [{low:.{digits}f}, {high:.{digits}f}]"
            return text

        for _, row in scores.iterrows():
            table.add_row(
                str(row["group"]),
                str(row["model"]),
                cell(row, "brier"),
                cell(row, "logloss"),
                cell(row, "crps", 3),
                cell(row, "crps_deaths", 2),
                cell(row, "logs_deaths", 3),
                cell(row, "pai_0.05", 2),
            )
        Console().print(fit(table))
