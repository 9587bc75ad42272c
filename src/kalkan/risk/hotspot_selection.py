"""Choosing the hotspot model without look-ahead, and the forecast every caller gets by default.

**The protocol** (nested rolling origin; Tashman 2000, Bergmeir & Benitez 2012). Every fold forecasts
one country-month from the events before it. The months are split once, before anything is run:

1. *burn-in* (``burn_in_months`` before ``start``): folds whose only use is to give the ensemble's
   stacking weights earlier out-of-sample forecasts to learn from;
2. *selection block* (``start`` .. ``select_until``): every candidate (:data:`CANDIDATES`: Hawkes
   and boosting variants with different windows, smoothing and settings, and the stacked ensemble)
   is scored; the candidate with the lowest pooled Brier score is **the default model**;
3. *held-out block* (the months after ``select_until`` up to ``end``): scored once, for the chosen
   model and every baseline. No choice has seen it.

Inside both blocks the ensemble's weights are refitted every ``refit_months`` (each calendar year
by default) on the forecasts of the folds before that block (the inner rolling origin), so even
the weights never see the month they forecast. A country where the chosen model does not beat the
best baseline's held-out Brier score gets that baseline instead, with a note saying so
(:func:`selected_model`).

The result ships with kalkan as ``hotspot_selection.json`` (written by ``bench/hotspots.py`` or
``kalkan risk backtest --output``); :func:`hotspot_forecast` reads it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from kalkan._base import Progress, StagedProgress, no_progress
from kalkan.errors import InputError
from kalkan.risk.grids import Grid, parse_grid, require_located
from kalkan.risk.hotspot_backtest import VARIANTS, Fold, dask_scheduler, make_model, run_folds, score_table
from kalkan.risk.hotspot_ensemble import ENSEMBLE_COMPONENTS, fit_stack

__all__ = [
    "BASELINES",
    "CANDIDATES",
    "COUNTRY_NAMES",
    "FALLBACK_MODEL",
    "HotspotForecast",
    "Protocol",
    "ProtocolResult",
    "SELECTION_FILE",
    "Selection",
    "hotspot_forecast",
    "run_protocol",
    "save_selection",
    "selected_model",
    "shipped_selection",
    "skill_sentence",
]

SELECTION_FILE = "hotspot_selection.json"
"""Package data: the protocol's last GED run (winner, held-out verdicts, ensemble weights)."""

CANDIDATES = tuple(VARIANTS)
"""The candidates, registered before the first selection run (see docs/risk-hotspots.md)."""

BASELINES = ("zero", "last", "mean12", "conflictology")
"""The baselines every candidate must beat (ViEWS)."""


@dataclass(frozen=True)
class Protocol:
    """The split of the months, fixed before any run."""

    start: str = "2013-01"
    select_until: str = "2014-12"
    end: str = "2019-12"
    burn_in_months: int = 12
    refit_months: int = 12
    criterion: str = "brier"

    def check(self) -> tuple[pd.Period, pd.Period, pd.Period]:
        try:
            start, mid, end = (pd.Period(x, "M") for x in (self.start, self.select_until, self.end))
        except ValueError:
            raise InputError(
                f"Cannot read the months {self.start!r}, {self.select_until!r}, {self.end!r}: use YYYY-MM."
            ) from None
        if not start <= mid < end:
            raise InputError(
                f"The selection block must end before the held-out block: got start {start}, "
                f"selection until {mid}, end {end}."
            )
        if self.refit_months < 1 or self.burn_in_months < 0:
            raise InputError("refit_months must be >= 1 and burn_in_months >= 0.")
        if self.criterion not in ("brier", "logloss", "crps"):
            raise InputError(f"Unknown criterion {self.criterion!r}: use brier, logloss or crps.")
        return start, mid, end


@dataclass
class ProtocolResult:
    """What the protocol chose and how it scored, selection and held-out blocks apart."""

    protocol: Protocol
    winner: str
    selection_scores: pd.DataFrame
    held_out_scores: pd.DataFrame
    verdicts: pd.DataFrame
    weights: dict[str, tuple[list[float], float]]
    final_weights: tuple[list[float], float] | None
    cells: pd.DataFrame
    folds: pd.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)


def _folds(groups: dict[str, pd.DataFrame], lo: pd.Period, hi: pd.Period) -> list[Fold]:
    out: list[Fold] = []
    for group, sub in groups.items():
        dates = pd.to_datetime(sub["date_start"])
        first, last = dates.min().to_period("M") + 1, dates.max().to_period("M")
        a, b = max(lo, first), min(hi, last)
        out.extend(Fold(group, m) for m in pd.period_range(a, b, freq="M"))
    return out


def _anchor(month: pd.Period, refit_months: int) -> pd.Period:
    """First month of the refit block holding ``month`` (January when blocks are 12 months)."""
    return pd.Period(ordinal=month.ordinal - month.ordinal % refit_months, freq="M")


def _block_weights(
    cells: pd.DataFrame, anchors: Sequence[pd.Period], components: Sequence[str]
) -> dict[str, tuple[list[float], float]]:
    """Stacking weights for each refit block, fitted on the component forecasts of the months before it."""
    months = pd.PeriodIndex(cells["month"], freq="M")
    out = {}
    for anchor in anchors:
        earlier = cells[(months < anchor) & cells["model"].isin(components)]
        out[str(anchor)] = fit_stack(earlier, components)
    return out


def run_protocol(
    events: pd.DataFrame,
    protocol: Protocol = Protocol(),
    *,
    candidates: Sequence[str] = CANDIDATES,
    baselines: Sequence[str] = BASELINES,
    grid: str | Grid = "priogrid",
    by: str = "country_iso3",
    scheduler: str | None = None,
    n_workers: int = 2,
    n_boot: int = 200,
    seed: int = 0,
    progress: Progress = no_progress,
) -> ProtocolResult:
    """Run the selection protocol: choose on the selection block, score the held-out block once.

    ``candidates`` may be one model (then nothing is chosen: that model is scored on the held-out
    block). ``progress`` (a :class:`kalkan._base.Progress`) counts the folds of each stage (burn-in,
    selection, held-out); a :class:`~kalkan._base.StagedProgress` is also told the stage. Scheduler
    as in :func:`kalkan.risk.hotspot_backtest.backtest`.
    """
    protocol.check()
    candidates, baselines = list(dict.fromkeys(candidates)), list(dict.fromkeys(baselines))
    t0 = time.perf_counter()
    with dask_scheduler(scheduler, n_workers) as address:
        result = _protocol(
            events,
            protocol,
            list(candidates),
            list(baselines),
            grid,
            by,
            address,
            n_workers,
            n_boot,
            seed,
            progress,
        )
    result.settings["wall_seconds"] = time.perf_counter() - t0
    result.settings["scheduler"] = scheduler or "serial"
    return result


def _protocol(
    events: pd.DataFrame,
    protocol: Protocol,
    candidates: list[str],
    baselines: list[str],
    grid: str | Grid,
    by: str,
    scheduler: str | None,
    n_workers: int,
    n_boot: int,
    seed: int,
    progress: Progress,
) -> ProtocolResult:
    start, mid, end = protocol.check()
    if by not in events.columns:
        raise InputError(f"The event table has no {by!r} column to group folds by: add it or pass by=...")
    if not candidates or not baselines:
        raise InputError("The protocol needs at least one candidate model and one baseline.")
    for name in [*candidates, *baselines]:
        make_model(name, grid)
    g = parse_grid(grid)
    located = require_located(events)
    groups = {str(k): sub.reset_index(drop=True) for k, sub in located.groupby(by, sort=True)}
    fatalities = "fatalities_best" in located.columns
    components = list(ENSEMBLE_COMPONENTS)
    needs_stack = "ensemble" in candidates
    refit = protocol.refit_months

    select_folds = _folds(groups, start, mid)
    if not select_folds:
        raise InputError(
            f"No month between {start} and {mid} has earlier events to fit on: "
            "move the selection block or give more events."
        )
    held_folds = _folds(groups, mid + 1, end)
    if not held_folds:
        raise InputError(
            f"No month between {mid + 1} and {end} to hold out: extend --end or give more events."
        )
    burn = _folds(groups, start - protocol.burn_in_months, start - 1) if needs_stack else []

    cell_parts: list[pd.DataFrame] = []
    fold_parts: list[pd.DataFrame] = []
    weights: dict[str, tuple[list[float], float]] = {}

    def run(stage: str, folds: list[Fold], models: list[str]) -> None:
        """Run the folds refit block by refit block, in time order: the ensemble's weights for a block
        are fitted on every earlier block's component forecasts."""
        blocks: dict[pd.Period, list[Fold]] = {}
        for f in folds:
            blocks.setdefault(_anchor(f.month, refit), []).append(f)
        done, total = 0, len(folds)
        if isinstance(progress, StagedProgress):
            progress.describe(stage)
        for anchor in sorted(blocks):
            block = blocks[anchor]
            opts: list[dict[str, dict[str, Any]]] = [{} for _ in block]
            if "ensemble" in models:
                so_far = pd.concat(cell_parts, ignore_index=True)
                weights[str(anchor)] = _block_weights(so_far, [anchor], components)[str(anchor)]
                opts = [{"ensemble": _stack_options(weights[str(anchor)])} for _ in block]

            def step(d: int, t: int, base: int = done) -> None:
                progress(base + d, total)

            block_cells, block_folds = run_folds(
                block,
                groups,
                models,
                g,
                scheduler=scheduler,
                n_workers=n_workers,
                progress=step,
                options=opts,
                seed=seed,
                fatalities=fatalities,
            )
            cell_parts.append(block_cells)
            fold_parts.append(block_folds)
            done += len(block)

    def unique(names: list[str]) -> list[str]:
        return list(dict.fromkeys(names))

    if burn:
        run("burn-in", burn, components)
    run(
        "selection",
        select_folds,
        unique(
            [
                *[c for c in candidates if c != "ensemble"],
                *baselines,
                *(components + ["ensemble"] if needs_stack else []),
            ]
        ),
    )
    cells = pd.concat(cell_parts, ignore_index=True)
    folds = pd.concat(fold_parts, ignore_index=True)
    selection_scores = score_table(
        _subset(cells, select_folds), _subset(folds, select_folds), n_boot=n_boot, seed=seed
    )
    pooled = selection_scores[
        (selection_scores["group"] == "pooled") & selection_scores["model"].isin(candidates)
    ]
    winner = str(pooled.sort_values([protocol.criterion, "model"]).iloc[0]["model"])

    run("held-out", held_folds, unique([winner, *baselines, *(components if needs_stack else [])]))
    cells = pd.concat(cell_parts, ignore_index=True)
    folds = pd.concat(fold_parts, ignore_index=True)
    final = fit_stack(cells[cells["model"].isin(components)], components) if needs_stack else None
    keep = [winner, *baselines]
    h_cells = _subset(cells, held_folds)
    h_folds = _subset(folds, held_folds)
    held_out_scores = score_table(
        h_cells[h_cells["model"].isin(keep)], h_folds[h_folds["model"].isin(keep)], n_boot=n_boot, seed=seed
    )
    verdicts = _verdicts(held_out_scores, winner, baselines)
    return ProtocolResult(
        protocol=protocol,
        winner=winner,
        selection_scores=selection_scores,
        held_out_scores=held_out_scores,
        verdicts=verdicts,
        weights=weights,
        final_weights=final,
        cells=cells,
        folds=folds,
        settings={
            "candidates": candidates,
            "baselines": baselines,
            "grid": str(grid),
            "by": by,
            "n_boot": n_boot,
            "seed": seed,
            "selection_folds": len(select_folds),
            "held_out_folds": len(held_folds),
            "burn_in_folds": len(burn),
        },
    )


def _subset(frame: pd.DataFrame, folds: list[Fold]) -> pd.DataFrame:
    """The rows of ``frame`` (cells or fold totals) that belong to ``folds``."""
    keys = pd.MultiIndex.from_tuples([(f.group, str(f.month)) for f in folds])
    return frame[pd.MultiIndex.from_arrays([frame["group"], frame["month"]]).isin(keys)]


def _stack_options(w: tuple[list[float], float]) -> dict[str, Any]:
    return {"components": list(ENSEMBLE_COMPONENTS), "coef": list(w[0]), "intercept": float(w[1])}


def _verdicts(scores: pd.DataFrame, winner: str, baselines: Sequence[str]) -> pd.DataFrame:
    """Per country and pooled: does the winner beat the best baseline on the held-out block?"""
    rows = []
    for group, sub in scores.groupby("group", sort=False):
        base = sub[sub["model"].isin(baselines)]
        win = sub[sub["model"] == winner].iloc[0]
        best = base.sort_values("brier").iloc[0]
        row: dict[str, Any] = {
            "group": group,
            "model": winner,
            "best_baseline": best["model"],
            "brier": win["brier"],
            "brier_low": win.get("brier_low"),
            "brier_high": win.get("brier_high"),
            "baseline_brier": best["brier"],
            "brier_gain": 1 - win["brier"] / best["brier"] if best["brier"] > 0 else 0.0,
            "brier_minus_best": win.get("brier_minus_best"),
            "brier_minus_best_low": win.get("brier_minus_best_low"),
            "brier_minus_best_high": win.get("brier_minus_best_high"),
            "beats_baseline": bool(win["brier"] < best["brier"]),
        }
        if "crps_deaths" in sub.columns:
            row["crps_deaths"] = win["crps_deaths"]
            row["best_baseline_crps_deaths"] = float(base["crps_deaths"].min())
            row["beats_every_baseline_crps_deaths"] = bool((win["crps_deaths"] < base["crps_deaths"]).all())
        rows.append(row)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------- shipped result
def save_selection(result: ProtocolResult, path: Any = None, measured: str = "") -> dict[str, Any]:
    """Write the protocol's decision as JSON (default: the package's ``hotspot_selection.json``)."""
    from pathlib import Path

    def clean(v: Any) -> Any:
        if isinstance(v, float | np.floating):
            return None if not np.isfinite(v) else round(float(v), 6)
        if isinstance(v, np.bool_ | bool):
            return bool(v)
        if isinstance(v, np.integer):
            return int(v)
        return v

    verdicts = {
        str(r["group"]): {k: clean(v) for k, v in r.items() if k != "group"}
        for r in result.verdicts.to_dict("records")
    }
    held = [{k: clean(v) for k, v in r.items()} for r in result.held_out_scores.to_dict("records")]
    data = {
        "protocol": asdict(result.protocol),
        "winner": result.winner,
        "measured": measured,
        "candidates": result.settings.get("candidates", []),
        "baselines": result.settings.get("baselines", []),
        "verdicts": verdicts,
        "held_out_scores": held,
        "ensemble": (
            {
                "components": list(ENSEMBLE_COMPONENTS),
                "coef": result.final_weights[0],
                "intercept": result.final_weights[1],
                "fitted_on": f"out-of-sample forecasts up to {result.protocol.end}",
            }
            if result.final_weights
            else None
        ),
    }
    target = Path(path) if path is not None else _package_file()
    target.write_text(json.dumps(data, indent=1) + "\n")
    return data


def _package_file() -> Any:
    from pathlib import Path

    return Path(__file__).with_name(SELECTION_FILE)


def shipped_selection() -> dict[str, Any]:
    """The protocol's last run shipped with kalkan (winner, verdicts, ensemble weights)."""
    path = _package_file()
    if not path.is_file():
        raise InputError(
            f"No selection shipped ({SELECTION_FILE} is missing): run "
            "`python bench/hotspots.py` or `kalkan risk backtest` to create it."
        )
    data: dict[str, Any] = json.loads(path.read_text())
    return data


@dataclass(frozen=True)
class Selection:
    """Which model to use for a country, and why (the held-out verdict)."""

    model: str
    chosen: str
    best_baseline: str | None
    beats_baseline: bool | None
    note: str | None


FALLBACK_MODEL = "hawkes"
"""Used only when no selection is shipped (the note says so)."""

COUNTRY_NAMES = {"CAF": "the Central African Republic", "MEX": "Mexico", "MMR": "Myanmar", "SYR": "Syria"}


def selected_model(country: str | None = None) -> Selection:
    """The default model for a country (ISO3; ``None``: the pooled decision), from the shipped run.

    Where the chosen model did not beat the best baseline in the country's held-out years, the
    baseline is used and the note says so; for a country outside the test the chosen model is used
    and the note says it was not tested there.
    """
    try:
        data = shipped_selection()
    except InputError:
        return Selection(
            model=FALLBACK_MODEL,
            chosen=FALLBACK_MODEL,
            best_baseline=None,
            beats_baseline=None,
            note=(
                "The model selection has not been run on this installation, so this is the "
                "Hawkes model's forecast, not tested against the baselines."
            ),
        )
    chosen = str(data["winner"])
    p = data["protocol"]
    years = f"{int(p['select_until'][:4]) + 1}-{p['end'][:4]}"
    verdicts = data["verdicts"]
    key = country.upper() if country else "pooled"
    v = verdicts.get(key)
    if v is None:
        tested = ", ".join(COUNTRY_NAMES.get(k, k) for k in verdicts if k != "pooled")
        pooled = verdicts.get("pooled", {})
        return Selection(
            model=chosen,
            chosen=chosen,
            best_baseline=pooled.get("best_baseline"),
            beats_baseline=None,
            note=(
                f"This forecast model was chosen and tested on other countries ({tested}, "
                f"held-out years {years}); it has not been tested on this one."
            ),
        )
    if v["beats_baseline"]:
        return Selection(
            model=chosen, chosen=chosen, best_baseline=v["best_baseline"], beats_baseline=True, note=None
        )
    place = COUNTRY_NAMES.get(key, key) if key != "pooled" else "the test countries taken together"
    return Selection(
        model=str(v["best_baseline"]),
        chosen=chosen,
        best_baseline=v["best_baseline"],
        beats_baseline=False,
        note=(
            f"In the held-out years {years}, no forecast model did better than the simple "
            f"'{v['best_baseline']}' baseline in {place}; this is that baseline's forecast."
        ),
    )


@dataclass
class HotspotForecast:
    """A forecast with the model that made it and what its test says."""

    table: pd.DataFrame
    model: str
    chosen: str
    note: str | None
    skill: str
    skill_table: pd.DataFrame


def skill_sentence(model: str, country: str | None = None) -> tuple[str, pd.DataFrame]:
    """One plain sentence on the model's held-out Brier score against the best baseline, and the rows."""
    try:
        data = shipped_selection()
    except InputError:
        return "The forecast's skill has not been measured on this installation.", pd.DataFrame()
    table = pd.DataFrame(data["held_out_scores"])
    p = data["protocol"]
    years = f"{int(p['select_until'][:4]) + 1}-{p['end'][:4]}"
    group = country.upper() if country and country.upper() in set(table["group"]) else "pooled"
    rows = table[table["group"] == group]
    mine = rows[rows["model"] == model]
    base = rows[rows["model"].isin(data["baselines"])]
    if mine.empty or base.empty:
        return (f"This model was not scored in the held-out years {years}.", rows)
    m, b = mine.iloc[0], base.sort_values("brier").iloc[0]
    where = (
        "in the test countries taken together"
        if group == "pooled"
        else f"in {COUNTRY_NAMES.get(group, group)}"
    )
    if m["model"] == b["model"]:
        return (f"In the held-out years {years} {where}, this baseline was the best simple forecast.", rows)
    gain = 1 - m["brier"] / b["brier"]
    word = "better" if gain > 0 else "worse"
    return (
        f"Tested on years it never saw ({years}) {where}, this forecast's error (Brier score) was "
        f"{abs(gain):.0%} {word} than the best simple baseline's.",
        rows,
    )


def hotspot_forecast(
    events: pd.DataFrame,
    *,
    until: date | str | None,
    horizon_days: int,
    grid: str | Grid = "priogrid",
    country: str | None = None,
    model: str | None = None,
) -> HotspotForecast:
    """Fit and forecast with the default model (``model=None``) or a named one; with the test's note.

    The table has ``cell_id, latitude, longitude, probability, expected_events`` per forecast cell.
    """
    if model is None:
        sel = selected_model(country)
        name, chosen, note = sel.model, sel.chosen, sel.note
    else:
        make_model(model, grid)
        name, chosen, note = model, model, None
    fitted = make_model(name, grid).fit(events, until=until)
    table = fitted.predict(horizon_days)
    skill, rows = skill_sentence(name, country)
    return HotspotForecast(table=table, model=name, chosen=chosen, note=note, skill=skill, skill_table=rows)
