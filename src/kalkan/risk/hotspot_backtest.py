"""Rolling-origin backtest of hotspot forecasts against the baselines, on Dask.

For every country and every calendar month in the backtest range, each model is fitted on the events
dated up to the last day of the month before (nothing later is seen) and forecasts that month
(``horizon_days`` = the month's length) for its forecast cells. The folds are independent, so Dask
(``dask.distributed``) runs them in parallel on a LocalCluster or an existing scheduler; every fold is
deterministic, so the results are identical to the serial run.

Scores (per country and pooled over countries), for the binary outcome "at least one event in the
cell and month" and the count:

- **Brier score**: mean (p - y)^2, lower is better;
- **log loss**: the log score as -mean log p(outcome), probabilities clipped to [clip, 1 - clip]
  (a forecast of exactly 0 for a cell that sees violence would otherwise score -infinity); lower is better;
- **average precision** (area under the precision-recall curve; scikit-learn), higher is better;
- **CRPS** of the count forecast, sum_k (F(k) - 1{y <= k})^2 (Gneiting & Raftery 2007), lower is better;
- **capture at 1 %, 5 %, 10 %**: the share of the month's events that fell in the top 1/5/10 % of the
  forecast cells (ties shared evenly; events outside the forecast cells count as missed). The
  predictive accuracy index of Chainey et al. (2008) is this share divided by the area share.

Intervals are percentile bootstrap intervals over folds (country-months resampled with replacement).

References
----------
Tashman (2000), Out-of-sample tests of forecasting accuracy. *IJF* 16(4). Gneiting & Raftery (2007),
Strictly proper scoring rules. *JASA* 102(477). Chainey, Tompson & Uhlig (2008), The utility of
hotspot mapping for predicting spatial patterns of crime. *Security Journal* 21.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from kalkan._base import Progress, no_progress
from kalkan.errors import InputError
from kalkan.risk.grids import Grid, parse_grid, require_located

__all__ = [
    "BacktestResult",
    "DEFAULT_MODELS",
    "Fold",
    "PAIRED_SCORES",
    "SKILL_FILE",
    "VARIANTS",
    "backtest",
    "backtested_skill",
    "dask_scheduler",
    "fold_seed",
    "make_model",
    "run_fold",
    "run_folds",
    "score_table",
]

SKILL_FILE = "hotspot_skill.csv"
"""Package data written by ``bench/hotspots.py``: the GED backtest's score table (for briefs)."""

DEFAULT_MODELS = ("hawkes", "boost", "zero", "last", "mean12", "conflictology")
"""Models the backtest compares by default: the Hawkes model, gradient boosting and the four baselines."""

CAPTURE_LEVELS = (0.01, 0.05, 0.10)


VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "hawkes": ("hawkes", {}),
    "hawkes_2y": ("hawkes", {"window_days": 730.0}),
    "boost": ("boost", {}),
    "boost_5y": ("boost", {"train_periods": 60}),
    "ensemble": ("ensemble", {}),
}
"""Model names the backtest and the command line accept (besides the baselines), with their
settings: the candidates of the selection protocol, registered before it ran (docs/risk-hotspots.md)."""


def make_model(name: str, grid: str | Grid, **options: Any) -> Any:
    """A fresh forecaster by name: a key of :data:`VARIANTS` or a baseline (:mod:`kalkan.risk.baselines`).

    ``options`` are passed to the model's constructor (e.g. the ensemble's ``coef`` and ``intercept``).
    """
    if name in VARIANTS:
        family, settings = VARIANTS[name]
        kwargs = {**settings, **options}
        if family == "hawkes":
            from kalkan.risk.hotspots import HotspotModel

            return HotspotModel(grid=grid, **kwargs)
        if family == "boost":
            from kalkan.risk.hotspot_boost import BoostModel

            return BoostModel(grid=grid, **kwargs)
        from kalkan.risk.hotspot_ensemble import EnsembleModel

        return EnsembleModel(grid=grid, **kwargs)
    from kalkan.risk.baselines import make_baseline

    try:
        return make_baseline(name, grid=grid)
    except InputError:
        raise InputError(
            f"Unknown model {name!r}: use one of {', '.join(VARIANTS)}, or a baseline "
            "(zero, last, mean12 or meanN, conflictology)."
        ) from None


@dataclass(frozen=True)
class Fold:
    """One forecast origin: a country (group) and the month it forecasts."""

    group: str
    month: pd.Period

    @property
    def until(self) -> pd.Timestamp:
        """The cut-off: the last day of the month before."""
        return self.month.start_time - pd.Timedelta(days=1)

    @property
    def horizon_days(self) -> int:
        return int(self.month.days_in_month)


def run_fold(
    fold: Fold,
    events: pd.DataFrame,
    models: Sequence[str],
    grid: str | Grid,
    clip: float = 1e-3,
    options: dict[str, dict[str, Any]] | None = None,
    seed: int = 0,
    fatalities: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fit every model on the group's events up to the cut-off and score its forecast of the month.

    Returns one row per (model, cell) with ``probability, expected_events, observed, crps`` (and,
    with ``fatalities``, ``deaths_observed, crps_deaths, logs_deaths``: the people-killed forecast's
    CRPS and binned log score, :mod:`kalkan.risk.hotspot_fatalities`) and one row per model with the
    fold's totals (events in the month, events outside the forecast cells, captured events at each
    level, seconds). ``options`` gives constructor settings per model name; ``seed`` seeds the
    fatality draws (with the fold and the model's name, so serial and parallel runs agree).
    """
    from kalkan.risk.hotspot_fatalities import event_fatalities, fatality_samples, fatality_scores

    g = parse_grid(grid)
    dates = pd.to_datetime(events["date_start"]).dt.normalize()
    in_month = ((dates >= fold.month.start_time) & (dates <= fold.month.end_time)).to_numpy()
    target = events.loc[in_month]
    target_cells = g.cell_ids(target["latitude"].to_numpy(float), target["longitude"].to_numpy(float))
    target_deaths = event_fatalities(target) if fatalities else None
    rows, meta = [], []
    fitted: dict[str, Any] = {}
    for name in sorted(models, key=lambda m: m == "ensemble"):  # the ensemble reuses fitted components
        t0 = time.process_time()
        model = make_model(name, g, **(options or {}).get(name, {}))
        if name == "ensemble":
            model.fit(events, until=fold.until.date(), fitted=fitted)
        else:
            model.fit(events, until=fold.until.date())
            if not (options or {}).get(name):
                fitted[name] = model
        fc = model.predict(fold.horizon_days)
        cells = fc["cell_id"].to_numpy()
        pos = np.searchsorted(cells, target_cells)
        pos = np.clip(pos, 0, len(cells) - 1)
        inside = cells[pos] == target_cells
        observed = np.bincount(pos[inside], minlength=len(cells)).astype(float)
        expected = fc["expected_events"].to_numpy(float)
        kmax = int(
            max(
                observed.max(initial=0),
                np.ceil(expected.max(initial=0) + 10 * np.sqrt(expected.max(initial=0)) + 10),
            )
        )
        cdf = model.predict_cdf(fold.horizon_days, kmax)
        crps = ((cdf - (np.arange(kmax + 1)[None, :] >= observed[:, None])) ** 2).sum(axis=1)
        prob = fc["probability"].to_numpy(float)
        table = pd.DataFrame(
            {
                "group": fold.group,
                "month": str(fold.month),
                "model": name,
                "cell_id": cells,
                "probability": prob,
                "expected_events": expected,
                "observed": observed,
                "crps": crps,
            }
        )
        if target_deaths is not None:
            draws = fatality_samples(model, events, fold.horizon_days, seed=fold_seed(seed, fold, name))
            deaths = np.bincount(pos[inside], weights=target_deaths[inside], minlength=len(cells))
            crps_d, logs_d = fatality_scores(draws, deaths)
            table = table.assign(
                deaths_expected=draws.mean(axis=1),
                deaths_observed=deaths,
                crps_deaths=crps_d,
                logs_deaths=logs_d,
            )
        rows.append(table)
        captured = {f"captured_{lvl:g}": _captured(expected, observed, lvl) for lvl in CAPTURE_LEVELS}
        meta.append(
            {
                "group": fold.group,
                "month": str(fold.month),
                "model": name,
                "events": int(len(target_cells)),
                "outside": int((~inside).sum()),
                "cells": len(cells),
                **captured,
                "cpu_seconds": time.process_time() - t0,
            }
        )
    return pd.concat(rows, ignore_index=True), pd.DataFrame(meta)


def fold_seed(seed: int, fold: Fold, model: str) -> np.random.SeedSequence:
    """The random stream of one model in one fold: the same wherever and in whatever order it runs."""
    return np.random.SeedSequence(
        [seed, zlib.crc32(fold.group.encode()), fold.month.ordinal % 2**31, zlib.crc32(model.encode())]
    )


def _captured(score: np.ndarray, observed: np.ndarray, level: float) -> float:
    """Events in the top ``level`` share of cells by ``score``; tied cells share the last places evenly."""
    n = len(score)
    if n == 0:
        return 0.0
    k = int(np.ceil(level * n))
    order = np.argsort(-score, kind="stable")
    s, o = score[order], observed[order]
    threshold = s[k - 1]
    above = s > threshold
    tied = s == threshold
    slots = k - int(above.sum())
    return float(o[above].sum() + o[tied].sum() * slots / tied.sum())


@dataclass
class BacktestResult:
    """Cell-level forecasts and fold totals of a backtest, with the score table."""

    cells: pd.DataFrame
    folds: pd.DataFrame
    scores: pd.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)


def _folds(events: pd.DataFrame, by: str, start: str, end: str) -> list[Fold]:
    out: list[Fold] = []
    for group, sub in events.groupby(by, sort=True):
        dates = pd.to_datetime(sub["date_start"])
        first = dates.min().to_period("M") + 1  # need at least one month of history
        last = dates.max().to_period("M")  # no forecasts past the data's coverage
        lo = max(pd.Period(start, "M"), first)
        hi = min(pd.Period(end, "M"), last)
        out.extend(Fold(str(group), m) for m in pd.period_range(lo, hi, freq="M"))
    return out


def backtest(
    events: pd.DataFrame,
    *,
    models: Sequence[str] = DEFAULT_MODELS,
    grid: str | Grid = "priogrid",
    start: str = "2005-01",
    end: str = "2019-12",
    by: str = "country_iso3",
    scheduler: str | None = None,
    n_workers: int = 2,
    n_boot: int = 200,
    seed: int = 0,
    clip: float = 1e-3,
    progress: Progress = no_progress,
    options: dict[str, dict[str, Any]] | Callable[[Fold], dict[str, dict[str, Any]]] | None = None,
    fatalities: bool | None = None,
) -> BacktestResult:
    """Rolling-origin backtest: monthly origins from ``start`` to ``end`` per ``by`` group (country).

    This scores models whose settings are given; choosing among them without look-ahead is the
    selection protocol's job (:func:`kalkan.risk.hotspot_selection.run_protocol`).

    Parameters
    ----------
    events
        Event table in kalkan.model columns (``date_start, latitude, longitude`` and ``by``).
    models
        Model names: ``hawkes`` and baseline names (``zero``, ``last``, ``meanN``, ``conflictology``).
    scheduler
        ``None`` or ``"serial"``: run here; ``"local"``: a ``dask.distributed`` LocalCluster with
        ``n_workers`` processes; anything else: the address of a running Dask scheduler.
    n_boot, seed
        Bootstrap replicates over folds and their seed (also the seed of the fatality draws).
    options
        Constructor settings per model name, or a function of the fold giving them (the ensemble's
        weights differ by year). The ensemble needs them: its shipped weights were fitted on GED data
        up to 2019, so a backtest of earlier months with them would look ahead.
    fatalities
        Also forecast and score the people killed per cell (default: when ``fatalities_best`` exists).
    clip
        Probabilities are clipped to [clip, 1 - clip] for the log score.
    progress
        A :class:`kalkan._base.Progress`: called with (folds done, folds total).
    """
    if by not in events.columns:
        raise InputError(f"The event table has no {by!r} column to group folds by: add it or pass by=...")
    if not models:
        raise InputError(
            "No models to backtest: give at least one (e.g. hawkes,zero,last,mean12,conflictology)."
        )
    for name in models:
        make_model(name, grid)  # fail early on unknown names
    if "ensemble" in models and options is None:
        raise InputError(
            "The ensemble's weights must be fitted on folds before the ones it forecasts: "
            "run the selection protocol (kalkan risk backtest) or pass options=."
        )
    parse_grid(grid)
    located = require_located(events)
    folds = _folds(located, by, start, end)
    if not folds:
        raise InputError(
            f"No month between {start} and {end} has earlier events to fit on: "
            "widen --start/--end or give more events."
        )
    groups = {str(g): sub.reset_index(drop=True) for g, sub in located.groupby(by, sort=True)}
    if fatalities is None:
        fatalities = "fatalities_best" in located.columns
    per_fold = [options(f) if callable(options) else (options or {}) for f in folds]
    cells, meta = run_folds(
        folds,
        groups,
        list(models),
        grid,
        clip=clip,
        scheduler=scheduler,
        n_workers=n_workers,
        progress=progress,
        options=per_fold,
        seed=seed,
        fatalities=fatalities,
    )
    scores = score_table(cells, meta, n_boot=n_boot, seed=seed, clip=clip)
    return BacktestResult(
        cells=cells,
        folds=meta,
        scores=scores,
        settings={
            "models": list(models),
            "grid": str(grid),
            "start": start,
            "end": end,
            "by": by,
            "n_boot": n_boot,
            "seed": seed,
            "clip": clip,
            "folds": len(folds),
        },
    )


def run_folds(
    folds: list[Fold],
    groups: dict[str, pd.DataFrame],
    models: list[str],
    grid: str | Grid,
    *,
    clip: float = 1e-3,
    scheduler: str | None = None,
    n_workers: int = 2,
    progress: Progress = no_progress,
    options: list[dict[str, dict[str, Any]]] | None = None,
    seed: int = 0,
    fatalities: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run :func:`run_fold` for every fold (serially or on Dask); cell rows and fold totals, in fold order."""
    opts = options if options is not None else [{} for _ in folds]
    results = _run(folds, groups, models, grid, clip, scheduler, n_workers, progress, opts, seed, fatalities)
    return (
        pd.concat([r[0] for r in results], ignore_index=True),
        pd.concat([r[1] for r in results], ignore_index=True),
    )


@contextmanager
def dask_scheduler(scheduler: str | None, n_workers: int = 2) -> Iterator[str | None]:
    """The address to run folds on: a LocalCluster started here for ``"local"`` (closed after), the
    given address, or ``None`` for serial."""
    if scheduler != "local":
        yield None if scheduler in (None, "serial") else scheduler
        return
    from dask.distributed import LocalCluster

    with LocalCluster(
        n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster:  # any free port
        yield str(cluster.scheduler_address)


def _run(
    folds: list[Fold],
    groups: dict[str, pd.DataFrame],
    models: list[str],
    grid: str | Grid,
    clip: float,
    scheduler: str | None,
    n_workers: int,
    progress: Progress,
    options: list[dict[str, dict[str, Any]]],
    seed: int,
    fatalities: bool,
) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    total = len(folds)
    if scheduler in (None, "serial"):
        serial = []
        for k, fold in enumerate(folds, 1):
            serial.append(
                run_fold(fold, groups[fold.group], models, grid, clip, options[k - 1], seed, fatalities)
            )
            progress(k, total)
        return serial
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler == "local":
        cluster = LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=":0"
        )  # any free port
        client = Client(cluster)
    else:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as error:
            raise InputError(
                f"Cannot reach the Dask scheduler at {scheduler!r} ({error}): start one with "
                "`dask scheduler` or use --scheduler local."
            ) from error
    try:
        scattered = {g: client.scatter(df, broadcast=True) for g, df in groups.items()}
        futures = [
            client.submit(
                run_fold, f, scattered[f.group], models, grid, clip, o, seed, fatalities, pure=False
            )
            for f, o in zip(folds, options, strict=True)
        ]
        index = {fut.key: k for k, fut in enumerate(futures)}
        out: list[Any] = [None] * total
        for done, fut in enumerate(as_completed(futures), 1):
            out[index[fut.key]] = fut.result()
            progress(done, total)
        return out
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _score_block(cells: pd.DataFrame, clip: float) -> dict[str, np.ndarray]:
    """Per-fold sums the scores are made of (so bootstraps just resample folds)."""
    y = (cells["observed"].to_numpy() > 0).astype(float)
    p = cells["probability"].to_numpy(float)
    pc = np.clip(p, clip, 1 - clip)
    out = {
        "brier": (p - y) ** 2,
        "logloss": -(y * np.log(pc) + (1 - y) * np.log1p(-pc)),
        "crps": cells["crps"].to_numpy(float),
    }
    for key in ("crps_deaths", "logs_deaths"):
        if key in cells.columns:
            out[key] = cells[key].to_numpy(float)
    return out


def score_table(
    cells: pd.DataFrame, folds: pd.DataFrame, *, n_boot: int = 200, seed: int = 0, clip: float = 1e-3
) -> pd.DataFrame:
    """Scores with bootstrap intervals per model, per group and pooled (group ``"pooled"``)."""
    from sklearn.metrics import average_precision_score

    rng = np.random.default_rng(seed)
    rows = []
    fold_key = cells["group"].astype(str) + "|" + cells["month"].astype(str)
    cells = cells.assign(_fold=fold_key)
    folds = folds.assign(_fold=folds["group"].astype(str) + "|" + folds["month"].astype(str))
    for group in [*sorted(cells["group"].unique()), "pooled"]:
        c_g = cells if group == "pooled" else cells[cells["group"] == group]
        f_g = folds if group == "pooled" else folds[folds["group"] == group]
        fold_ids = np.array(sorted(c_g["_fold"].unique()))
        draws = rng.integers(0, len(fold_ids), (n_boot, len(fold_ids))) if n_boot else None
        fold_sums: dict[str, tuple[np.ndarray, dict[str, np.ndarray]]] = {}
        group_rows: list[dict[str, Any]] = []
        for model in cells["model"].unique():
            cm = c_g[c_g["model"] == model]
            fm = f_g[f_g["model"] == model].set_index("_fold").reindex(fold_ids)
            parts = _score_block(cm, clip)
            code = pd.Categorical(cm["_fold"], categories=fold_ids).codes
            n_per = np.bincount(code, minlength=len(fold_ids)).astype(float)
            sums = {k: np.bincount(code, weights=v, minlength=len(fold_ids)) for k, v in parts.items()}
            fold_sums[str(model)] = (n_per, sums)
            y = (cm["observed"].to_numpy() > 0).astype(int)
            p = cm["probability"].to_numpy(float)
            ev = fm["events"].to_numpy(float)
            row: dict[str, Any] = {
                "group": group,
                "model": model,
                "folds": len(fold_ids),
                "cell_months": int(n_per.sum()),
                "events": int(ev.sum()),
                "positives": int(y.sum()),
            }
            stats = {k: sums[k].sum() / n_per.sum() for k in sums}
            stats["avg_precision"] = average_precision_score(y, p) if y.any() else np.nan
            for lvl in CAPTURE_LEVELS:
                cap = fm[f"captured_{lvl:g}"].to_numpy(float)
                stats[f"capture_{lvl:g}"] = cap.sum() / ev.sum() if ev.sum() else np.nan
            boot: dict[str, list[float]] = {k: [] for k in stats}
            if draws is not None:
                starts = np.concatenate([[0], np.cumsum(n_per)]).astype(int)
                order = np.argsort(code, kind="stable")
                for d in draws:
                    w = np.bincount(d, minlength=len(fold_ids)).astype(float)
                    for k in sums:
                        boot[k].append(float((w * sums[k]).sum() / (w * n_per).sum()))
                    for lvl in CAPTURE_LEVELS:
                        cap = fm[f"captured_{lvl:g}"].to_numpy(float)
                        den = (w * ev).sum()
                        boot[f"capture_{lvl:g}"].append(float((w * cap).sum() / den) if den else np.nan)
                    idx = np.concatenate([order[starts[f] : starts[f + 1]] for f in d])
                    yb = y[idx]
                    boot["avg_precision"].append(
                        float(average_precision_score(yb, p[idx])) if yb.any() else np.nan
                    )
            for k, v in stats.items():
                row[k] = float(v)
                if boot[k]:
                    arr = np.asarray(boot[k], dtype=float)
                    arr = arr[np.isfinite(arr)]
                    row[f"{k}_low"], row[f"{k}_high"] = (
                        (float(np.quantile(arr, 0.025)), float(np.quantile(arr, 0.975)))
                        if len(arr)
                        else (np.nan, np.nan)
                    )
            group_rows.append(row)
        _paired_differences(group_rows, fold_sums, draws)
        rows.extend(group_rows)
    table = pd.DataFrame(rows)
    for suffix in ("", "_low", "_high"):  # predictive accuracy index: capture share / cell share
        if f"capture_0.05{suffix}" in table.columns:
            table[f"pai_0.05{suffix}"] = table[f"capture_0.05{suffix}"] / 0.05
    return table


BASELINE_NAMES = ("zero", "last", "conflictology")

PAIRED_SCORES = ("brier", "logloss", "crps", "crps_deaths", "logs_deaths")
"""Scores compared with the best baseline's in a paired bootstrap (all lower-is-better)."""


def _is_baseline(name: str) -> bool:
    return name in BASELINE_NAMES or (name.startswith("mean") and name[4:].isdigit())


def _paired_differences(
    rows: list[dict[str, Any]],
    fold_sums: dict[str, tuple[np.ndarray, dict[str, Any]]],
    draws: np.ndarray | None,
) -> None:
    """For each model that is not a baseline: each of :data:`PAIRED_SCORES` minus the best baseline's,
    with a paired bootstrap interval (the same resampled folds for both), so "beats" can be read
    with its uncertainty. Negative is better."""
    base = [r for r in rows if _is_baseline(str(r["model"]))]
    if not base:
        return
    for key in [k for k in PAIRED_SCORES if k in rows[0]]:
        best = min(base, key=lambda r: r[key])
        n_b, s_b = fold_sums[str(best["model"])]
        for row in rows:
            if _is_baseline(str(row["model"])):
                continue
            n_m, s_m = fold_sums[str(row["model"])]
            row[f"{key}_best_baseline"] = best["model"]
            row[f"{key}_minus_best"] = row[key] - best[key]
            if draws is None:
                continue
            diffs = []
            for d in draws:
                w = np.bincount(d, minlength=len(n_m)).astype(float)
                diffs.append((w * s_m[key]).sum() / (w * n_m).sum() - (w * s_b[key]).sum() / (w * n_b).sum())
            row[f"{key}_minus_best_low"] = float(np.quantile(diffs, 0.025))
            row[f"{key}_minus_best_high"] = float(np.quantile(diffs, 0.975))


def backtested_skill() -> pd.DataFrame:
    """The score table of the last GED backtest run by ``bench/hotspots.py`` (shipped with kalkan).

    One row per group (country ISO3 code or ``pooled``) and model with the scores and their 95 %
    bootstrap intervals, plus ``period`` and ``measured`` columns, so a brief can state the
    forecast's backtested skill beside its map.
    """
    from importlib.resources import files

    path = files("kalkan.risk").joinpath(SKILL_FILE)
    if not path.is_file():
        raise InputError(
            f"No backtest results shipped ({SKILL_FILE} is missing): run "
            "`.venv/bin/python bench/hotspots.py` to create them."
        )
    with path.open() as f:
        return pd.read_csv(f)
