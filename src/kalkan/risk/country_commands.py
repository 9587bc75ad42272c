"""Commands of ``kalkan risk`` for country risk: ``countries``, ``framework`` and ``country-backtest``.

Heavy libraries (scikit-learn, matplotlib) are imported inside the commands so ``kalkan --help`` stays fast.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from kalkan.errors import InputError
from kalkan.terminal import fit

if TYPE_CHECKING:
    import pandas as pd
    from rich.console import Console, JustifyMethod


class OutputFormat(StrEnum):
    """How a command prints its table."""

    table = "table"
    csv = "csv"
    json = "json"


def _emit(frame: pd.DataFrame, fmt: OutputFormat) -> bool:
    """Print ``frame`` as CSV or JSON to stdout; False if the caller should draw a Rich table instead."""
    if fmt is OutputFormat.csv:
        frame.to_csv(sys.stdout, index=False)
        return True
    if fmt is OutputFormat.json:
        sys.stdout.write(frame.to_json(orient="records", date_format="iso", indent=1) + "\n")
        return True
    return False


def register(risk_app: typer.Typer) -> None:
    """Add the country-risk commands to the ``kalkan risk`` group."""

    @risk_app.command("countries")
    def countries(
        data: Annotated[
            Path,
            typer.Option(
                "--data",
                help="EWP country-year table (CSV), e.g. ../shared/data/ewp/ewp_countryyear_1960_2016.csv.",
            ),
        ],
        year: Annotated[
            int,
            typer.Option(
                "--year",
                help="Year of the predictors; the forecast covers the "
                "onset of a mass killing in the two following years.",
            ),
        ],
        model: Annotated[
            str,
            typer.Option(
                "--model",
                help="best (kalkan's best: ensemble), ensemble, stacked, boost, "
                "or ewp (the Early Warning Project's elastic-net baseline).",
            ),
        ] = "best",
        fmt: Annotated[
            OutputFormat, typer.Option("--format", help="table, csv or json.")
        ] = OutputFormat.table,
        top: Annotated[
            int, typer.Option("--top", help="Rows shown in the table format (all in csv/json).")
        ] = 40,
        chart: Annotated[
            Path | None, typer.Option("--chart", help="Also draw the ranking to this PNG/SVG.")
        ] = None,
        seed: Annotated[int, typer.Option("--seed", help="Seed of the model's cross-validation folds.")] = 0,
    ) -> None:
        """Rank countries by the risk of a new mass killing in year+1 or year+2."""
        from rich.console import Console

        from kalkan.risk.structural import COUNTRY_MODELS, country_risk, load_ewp_table, ranking_chart

        if model not in COUNTRY_MODELS:
            raise InputError(f"Unknown country model {model!r}: choose one of {', '.join(COUNTRY_MODELS)}.")
        if top < 1:
            raise InputError(f"--top must be at least 1. Got {top} instead.")
        err = Console(stderr=True)
        table = load_ewp_table(data)
        with err.status(f"Fitting the {model} model on years <= {year - 2} and scoring {year}..."):
            ranking = country_risk(table, year, model, seed=seed)
        if chart is not None:
            ranking_chart(ranking, chart)
            err.print(f"chart written to {chart}")
        if _emit(ranking, fmt):
            return
        _print_ranking(ranking, top)

    @risk_app.command("framework")
    def framework(
        file: Annotated[
            Path | None, typer.Argument(help="Assessment file (YAML, or CSV with --country and --as-of).")
        ] = None,
        example: Annotated[
            bool,
            typer.Option(
                "--example", help="Use the assessment shipped with kalkan (of its default scenario)."
            ),
        ] = False,
        list_indicators: Annotated[
            bool,
            typer.Option(
                "--list",
                help="List the Framework's risk factors and indicators (kalkan paraphrases) and exit.",
            ),
        ] = False,
        country: Annotated[str | None, typer.Option("--country", help="Country of a CSV assessment.")] = None,
        as_of: Annotated[
            str | None, typer.Option("--as-of", help="Date of a CSV assessment (YYYY-MM-DD).")
        ] = None,
        fmt: Annotated[
            OutputFormat, typer.Option("--format", help="table, csv or json.")
        ] = OutputFormat.table,
        findings: Annotated[
            bool, typer.Option("--findings", help="Print the validated findings instead of the profile.")
        ] = False,
        chart: Annotated[
            Path | None, typer.Option("--chart", help="Also draw the profile to this PNG/SVG.")
        ] = None,
    ) -> None:
        """Validate a UN Framework of Analysis assessment and print its risk-factor profile."""
        from rich.console import Console

        from kalkan.risk import framework as fw

        out = Console()
        if list_indicators:
            frame = fw.framework_indicators()
            if not _emit(frame, fmt):
                _print_frame(out, frame, "UN Framework of Analysis (2014): indicators, kalkan paraphrases")
                src = fw.framework_source()
                out.print(f"Source: {src['publisher']}, {src['title']}, {src['date']}. {src['note']}")
            return
        if file is None and not example:
            raise InputError(
                "No assessment given: pass a FILE, or --example for the assessment shipped with kalkan, "
                "or --list for the indicators."
            )
        assessment = (
            fw.shipped_assessment()
            if file is None
            else fw.load_assessment(file, country=country, as_of=as_of)
        )
        profile = fw.risk_factor_profile(assessment)
        if chart is not None:
            fw.profile_chart(profile, chart)
            Console(stderr=True).print(f"chart written to {chart}")
        frame = assessment.table() if findings else profile
        if _emit(frame, fmt):
            return
        title = (
            f"{assessment.country}{' (' + assessment.area + ')' if assessment.area else ''}, "
            f"as of {assessment.as_of}: {len(assessment.findings)} indicators assessed"
        )
        shown = (
            frame
            if findings
            else frame.drop(columns=["group"]).assign(
                share_present=frame["share_present"].map(lambda v: f"{v:.0%}")
            )
        )
        _print_frame(out, shown, title)

    @risk_app.command("country-backtest")
    def country_backtest(
        data: Annotated[Path, typer.Option("--data", help="EWP country-year table (CSV).")],
        models: Annotated[str, typer.Option("--models", help="Comma-separated model names.")] = "ewp,best",
        first: Annotated[int, typer.Option("--first", help="First forecast year.")] = 1994,
        last: Annotated[
            int, typer.Option("--last", help="Last forecast year (outcome must be known).")
        ] = 2014,
        boot: Annotated[int, typer.Option("--boot", help="Bootstrap resamples for the intervals.")] = 1000,
        out_dir: Annotated[
            Path | None,
            typer.Option(
                "--out", help="Folder for the forecasts, scores and reliability CSV files and chart."
            ),
        ] = None,
        fmt: Annotated[
            OutputFormat, typer.Option("--format", help="table, csv or json.")
        ] = OutputFormat.table,
        seed: Annotated[int, typer.Option("--seed", help="Seed of the folds and the bootstrap.")] = 0,
        jobs: Annotated[int, typer.Option("--jobs", help="Parallel folds (processes).")] = 1,
    ) -> None:
        """Rolling-origin backtest (train on years <= Y-2, forecast from Y), scored per five-year block."""
        from rich.console import Console

        from kalkan.cli import progress_bar
        from kalkan.risk import country_backtest as cb
        from kalkan.risk.structural import load_ewp_table

        names = [m.strip() for m in models.split(",") if m.strip()]
        if not names:
            raise InputError("--models is empty: give model names such as ewp,best.")
        if jobs < 1:
            raise InputError(f"--jobs must be at least 1. Got {jobs} instead.")
        table = load_ewp_table(data)
        with progress_bar("Backtest folds") as progress:
            forecasts = cb.backtest_forecasts(
                table,
                names,
                first_year=first,
                last_year=last,
                seed=seed,
                n_jobs=jobs,
                progress=progress,
            )
        scores = cb.score_forecasts(forecasts, n_boot=boot, seed=seed)
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            forecasts.to_csv(out_dir / "forecasts.csv", index=False)
            scores.to_csv(out_dir / "scores.csv", index=False)
            reliability = cb.reliability_table(forecasts)
            reliability.to_csv(out_dir / "reliability.csv", index=False)
            cb.reliability_table(forecasts, by_block=True).to_csv(
                out_dir / "reliability_by_block.csv", index=False
            )
            cb.reliability_chart(reliability, out_dir / "reliability.png")
        if _emit(scores, fmt):
            return
        out = Console()
        shown = scores[["model", "block", "n", "onsets"]].copy()
        for metric in ("auc", "brier", "log_loss", "recall_top30", "recall_top10"):
            digits = 4 if metric == "brier" else 3
            shown[metric] = [
                f"{v:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"
                for v, lo, hi in zip(
                    scores[metric], scores[f"{metric}_low"], scores[f"{metric}_high"], strict=True
                )
            ]
        _print_frame(out, shown, f"Rolling-origin backtest {first}-{last} (95 % bootstrap intervals)")
        catch = cb.onset_catch(forecasts, table)
        _print_frame(out, catch, "Onsets caught in the top 30 of the forecast one or two years before")


def _print_frame(console: Console, frame: pd.DataFrame, title: str) -> None:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for col in frame.columns:
        table.add_column(str(col), overflow="fold")
    for row in frame.itertuples(index=False):
        table.add_row(*[f"{v:.4g}" if isinstance(v, float) else str(v) for v in row])
    console.print(fit(table, width=console.width))


def _print_ranking(ranking: pd.DataFrame, top: int) -> None:
    from rich.console import Console
    from rich.table import Table

    out = Console()
    meta = ranking.attrs
    year = int(ranking["year"].iloc[0]) if len(ranking) else 0
    first, last = meta.get("train_years", (0, 0))
    table = Table(
        title=f"Risk of a new mass killing in {year + 1}-{year + 2} (model {meta.get('model')}, trained on "
        f"{first}-{last}: {meta.get('n_train')} country-years, "
        f"{meta.get('n_onsets_train')} with an onset ahead)",
        title_justify="left",
    )
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("rank", "right"),
        ("country", "left"),
        ("probability", "right"),
        ("change", "right"),
        ("main drivers (log-odds)", "left"),
    )
    for col, justify in columns:
        table.add_column(col, justify=justify)
    drivers = [c for c in ranking.columns if c.startswith("driver_")]
    for i, r in enumerate(ranking.head(top).to_dict("records")):
        change = "" if r["change"] != r["change"] else f"{r['change']:+.3f}"
        table.add_row(
            str(r["rank"]),
            str(r["country"]),
            f"{r['probability']:.3f}",
            change,
            ", ".join(str(r[d]) for d in drivers if r[d]),
            end_section=(r["rank"] <= 30 and i + 1 < len(ranking) and ranking["rank"].iloc[i + 1] > 30),
        )
    out.print(fit(table, width=out.width))
    out.print(
        "The line under rank 30 is EWP's 'high risk' cut-off. Change = against the same model on "
        f"{year - 1}'s predictors."
    )
    moved = ranking.dropna(subset=["change"])
    movers = moved.loc[moved["change"].abs().sort_values(ascending=False).index].head(5)
    if len(movers):
        out.print(
            "Biggest movers: "
            + "; ".join(
                f"{c} {d:+.3f} (rank {r})"
                for c, d, r in zip(movers["country"], movers["change"], movers["rank"], strict=True)
            )
        )
    if meta.get("no_forecast"):
        missing = meta["no_forecast"]
        out.print(
            f"No forecast for {len(missing)} countries with a missing predictor (EWP rule): "
            + ", ".join(missing[:10])
            + (" ..." if len(missing) > 10 else "")
        )


__all__ = ["OutputFormat", "register"]
