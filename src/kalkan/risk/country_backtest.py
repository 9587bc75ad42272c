"""Rolling-origin backtest of the country models, and its scores with bootstrap intervals.

For each forecast year Y (EWP's development period: 1994-2014) every model is trained afresh on the rows
whose two-year target is known by Y (years <= Y - 2) and predicts from year Y's predictors the onset of
a mass killing in Y + 1 or Y + 2; nothing after Y enters the fit or the prediction. The forecasts are
then scored per five-year block and overall:

- AUC (area under the ROC curve; Mann-Whitney statistic), Brier score and log loss;
- recall in the top 30 and top 10: the share of country-years with an onset ahead that the ranking of
  that year put in its top k (EWP calls its top 30 "high risk");
- EWP's onset-level "catch": an onset in year O counts as caught if the country ranked in the top 30
  in the forecast from O - 1 or O - 2 (EWP's ``minrank2 <= 30``);
- a reliability table (observed onset share against mean forecast per probability bin, Wilson
  intervals) and its chart.

Intervals are 95 % percentile intervals of a row bootstrap (country-years resampled with replacement;
ranks stay those of the full year). By default the models are compared on the same country-years: those
every model could score (EWP's complete-case rule leaves some without a forecast; that count is reported).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from kalkan._base import Progress, no_progress
from kalkan.errors import InputError, SchemaError
from kalkan.risk.structural import (
    TARGET,
    CountryModel,
    carry_forward,
    check_table,
    ewp_name_key,
    make_model,
    training_rows,
    uses_ewp_missing_rule,
)

__all__ = [
    "BLOCK_YEARS",
    "backtest_forecasts",
    "compare_published",
    "onset_catch",
    "paired_differences",
    "reliability_chart",
    "reliability_table",
    "score_forecasts",
    "year_blocks",
]

#: Length of the scoring blocks in years (the last block absorbs a remainder shorter than this).
BLOCK_YEARS = 5
FORECAST_COLUMNS = ("model", "forecast_year", "country", "country_code", "probability", "rank", "outcome")


ModelFactory = Callable[[int], CountryModel]


def backtest_forecasts(
    data: pd.DataFrame,
    models: Sequence[str] | Mapping[str, ModelFactory] = ("ewp", "best"),
    *,
    first_year: int = 1994,
    last_year: int = 2014,
    seed: int = 0,
    n_jobs: int = 1,
    progress: Progress = no_progress,
) -> pd.DataFrame:
    """Rolling-origin forecasts of every model for every year from ``first_year`` to ``last_year``.

    Parameters
    ----------
    data
        EWP country-year table.
    models
        Model names (see ``kalkan.risk.structural.COUNTRY_MODELS``), or a mapping from a label to a
        factory ``f(seed) -> CountryModel`` returning a fresh unfitted model (for custom settings).
    first_year, last_year
        Forecast years (years of the predictors); the forecast covers the two following years. Years
        whose outcome is not known yet are still forecast (outcome NaN), which the onset-level catch uses.
    seed
        Seed of every model's folds.
    n_jobs
        Parallel folds (joblib processes); 1 runs in this process.
    progress
        A :class:`kalkan._base.Progress`, called as ``progress(done, total)`` after each fitted fold.

    Returns
    -------
    DataFrame
        One row per model, forecast year and scored country: ``model, forecast_year, country,
        country_code, probability, rank, outcome`` (outcome = ``mk_onset_1or2`` of that row, NaN if unknown).
    """
    table = check_table(data)
    if first_year > last_year:
        raise InputError(f"The first forecast year {first_year} is after the last {last_year}: swap them.")
    have = set(table["year"].astype(int).tolist())
    absent = [y for y in range(first_year, last_year + 1) if y not in have]
    if absent:
        raise InputError(
            f"{len(absent)} forecast years have no rows (first {absent[0]}; the table covers "
            f"{min(have)}-{max(have)}): choose years inside the table."
        )
    if isinstance(models, Mapping):
        factories: dict[str, ModelFactory] = dict(models)
    else:
        factories = {}
        for name in dict.fromkeys(models):
            make_model(name)  # unknown names fail before any work
            factories[name] = partial(_named_model, name)
    prepared = {False: table, True: carry_forward(table)}
    tasks = [(label, year) for year in range(first_year, last_year + 1) for label in factories]

    def args(label: str, year: int) -> tuple[pd.DataFrame, str, CountryModel, int]:
        model = factories[label](seed)
        return prepared[not uses_ewp_missing_rule(model)], label, model, year

    if n_jobs == 1:
        parts = []
        for i, (label, year) in enumerate(tasks):
            parts.append(_one_fold(*args(label, year)))
            progress(i + 1, len(tasks))
    else:
        from joblib import Parallel, delayed

        parts = list(Parallel(n_jobs=n_jobs)(delayed(_one_fold)(*args(label, year)) for label, year in tasks))
        progress(len(tasks), len(tasks))
    return pd.concat(parts, ignore_index=True)


def _named_model(name: str, seed: int) -> CountryModel:
    return make_model(name, seed=seed)


def _one_fold(frame: pd.DataFrame, label: str, model: CountryModel, year: int) -> pd.DataFrame:
    """Fit ``model`` on rows known by ``year`` and score year ``year``: one fold of the backtest."""
    train = training_rows(frame, year)
    model.fit(train, train[TARGET].to_numpy())
    rows = frame[frame["year"] == year]
    p = model.predict_proba(rows)[:, 1]
    keep = ~np.isnan(p)
    out = pd.DataFrame(
        {
            "model": label,
            "forecast_year": year,
            "country": rows["ewp_name"].to_numpy()[keep],
            "country_code": rows["ccode"].to_numpy()[keep],
            "probability": p[keep],
            "outcome": rows[TARGET].to_numpy(dtype=float)[keep],
        }
    )
    out["rank"] = out["probability"].rank(ascending=False, method="min").astype(int)
    return out.loc[:, list(FORECAST_COLUMNS)]


def year_blocks(first_year: int, last_year: int, size: int = BLOCK_YEARS) -> list[tuple[int, int]]:
    """Consecutive blocks of ``size`` years; a remainder shorter than ``size`` joins the last block."""
    starts = list(range(first_year, last_year + 1, size))
    blocks = [(s, min(s + size - 1, last_year)) for s in starts]
    if len(blocks) > 1 and blocks[-1][1] - blocks[-1][0] + 1 < size:
        blocks[-2] = (blocks[-2][0], blocks[-1][1])
        blocks.pop()
    return blocks


def _common_rows(forecasts: pd.DataFrame) -> pd.DataFrame:
    known = forecasts[forecasts["outcome"].notna()]
    n_models = known["model"].nunique()
    counts = known.groupby(["forecast_year", "country"])["model"].transform("nunique")
    return known[counts == n_models]


def _bootstrap_index(n: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    return rng.integers(0, n, size=(n_boot, n))


def _auc_rows(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    """AUC of each row of ``p`` (2-D) against ``y`` (2-D), as the Mann-Whitney statistic (ties count 1/2)."""
    from scipy.stats import rankdata

    ranks = rankdata(p, axis=1)
    n1 = y.sum(axis=1)
    n0 = y.shape[1] - n1
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(
            (n1 > 0) & (n0 > 0), ((ranks * y).sum(axis=1) - n1 * (n1 + 1) / 2) / (n1 * n0), np.nan
        )


def _metrics(p: np.ndarray, y: np.ndarray, rank: np.ndarray) -> dict[str, np.ndarray]:
    """All row metrics on 2-D arrays (one row per bootstrap sample)."""
    q = np.clip(p, 1e-15, 1 - 1e-15)
    positives = y.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "auc": _auc_rows(p, y),
            "brier": ((p - y) ** 2).mean(axis=1),
            "log_loss": -(y * np.log(q) + (1 - y) * np.log1p(-q)).mean(axis=1),
            "recall_top30": np.where(positives > 0, ((rank <= 30) * y).sum(axis=1) / positives, np.nan),
            "recall_top10": np.where(positives > 0, ((rank <= 10) * y).sum(axis=1) / positives, np.nan),
        }


METRICS = ("auc", "brier", "log_loss", "recall_top30", "recall_top10")


def score_forecasts(
    forecasts: pd.DataFrame,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    common: bool = True,
    block_years: int = BLOCK_YEARS,
) -> pd.DataFrame:
    """Score backtest forecasts per model and five-year block, with bootstrap intervals.

    Parameters
    ----------
    forecasts
        Output of :func:`backtest_forecasts` (rows with unknown outcome are ignored).
    n_boot
        Bootstrap resamples (country-years with replacement, within each block).
    seed
        Seed of the bootstrap.
    common
        Score every model on the country-years all models forecast (a like-for-like comparison).
    block_years
        Length of a block in years.

    Returns
    -------
    DataFrame
        One row per model and block (``block`` = "1994-1998" ..., and "all"): ``n, onsets``, each metric
        of ``METRICS`` with ``_low``/``_high`` (95 % percentile interval).
    """
    missing = [c for c in FORECAST_COLUMNS if c not in forecasts.columns]
    if missing:
        raise SchemaError(f"The forecasts lack {', '.join(missing)}: pass the output of backtest_forecasts.")
    if n_boot < 1:
        raise InputError(f"n_boot must be at least 1. Got {n_boot} instead.")
    rows = _common_rows(forecasts) if common else forecasts[forecasts["outcome"].notna()]
    if rows.empty:
        raise InputError("No forecast has a known outcome: backtest years whose two-year outcome is known.")
    years = rows["forecast_year"]
    blocks = [
        *year_blocks(int(years.min()), int(years.max()), block_years),
        (int(years.min()), int(years.max())),
    ]
    rng = np.random.default_rng(seed)
    records = []
    for model, frame in rows.groupby("model", sort=False):
        for i, (lo, hi) in enumerate(blocks):
            part = frame[(frame["forecast_year"] >= lo) & (frame["forecast_year"] <= hi)]
            p = part["probability"].to_numpy()[None, :]
            y = part["outcome"].to_numpy()[None, :]
            r = part["rank"].to_numpy()[None, :]
            point = _metrics(p, y, r)
            idx = _bootstrap_index(len(part), n_boot, rng)
            boot = _metrics(p[0][idx], y[0][idx], r[0][idx])
            rec: dict[str, object] = {
                "model": model,
                "block": "all" if i == len(blocks) - 1 else f"{lo}-{hi}",
                "n": len(part),
                "onsets": int(y.sum()),
            }
            for m in METRICS:
                rec[m] = float(point[m][0])
                finite = boot[m][np.isfinite(boot[m])]
                lo_hi = np.percentile(finite, [2.5, 97.5]) if finite.size else (np.nan, np.nan)
                rec[f"{m}_low"], rec[f"{m}_high"] = float(lo_hi[0]), float(lo_hi[1])
            records.append(rec)
    return pd.DataFrame.from_records(records)


#: Metrics where a lower value is better (the others: higher is better).
LOWER_IS_BETTER = frozenset({"brier", "log_loss"})


def paired_differences(
    forecasts: pd.DataFrame,
    *,
    baseline: str = "ewp",
    n_boot: int = 1000,
    seed: int = 0,
    block_years: int = BLOCK_YEARS,
) -> pd.DataFrame:
    """Each model's score minus the baseline's, with a paired bootstrap over the same country-years.

    Separate intervals per model overlap even when one model is reliably better, because both models
    face the same hard years; resampling the country-years once and scoring every model on that sample
    gives the interval of the difference itself. With 10-25 onset rows per block, a difference of one
    onset in a top-30 recall is 0.04-0.1 and well inside such an interval.

    Parameters
    ----------
    forecasts
        Output of :func:`backtest_forecasts` with ``baseline`` among its models; scored on the
        country-years every model forecasts.
    baseline
        The model subtracted (default: the EWP baseline).
    n_boot, seed, block_years
        As in :func:`score_forecasts`.

    Returns
    -------
    DataFrame
        One row per model (other than ``baseline``), block and metric: ``difference`` (model minus
        baseline), ``low``/``high`` (95 % percentile interval of the paired bootstrap) and
        ``share_better``: the share of resamples in which the model is at least as good as the
        baseline (AUC, recall: difference >= 0) or strictly better (Brier, log loss: difference < 0),
        the issue's targets read resample by resample.
    """
    missing = [c for c in FORECAST_COLUMNS if c not in forecasts.columns]
    if missing:
        raise SchemaError(f"The forecasts lack {', '.join(missing)}: pass the output of backtest_forecasts.")
    if n_boot < 1:
        raise InputError(f"n_boot must be at least 1. Got {n_boot} instead.")
    models = list(dict.fromkeys(forecasts["model"]))
    if baseline not in models:
        raise InputError(
            f"The baseline {baseline!r} is not among the forecast models ({', '.join(map(str, models))}): "
            "backtest it too or name another baseline."
        )
    rows = _common_rows(forecasts)
    if rows.empty:
        raise InputError("No forecast has a known outcome: backtest years whose two-year outcome is known.")
    wide = rows.pivot_table(
        index=["forecast_year", "country"], columns="model", values=["probability", "rank", "outcome"]
    )
    years = wide.index.get_level_values("forecast_year")
    blocks = [
        *year_blocks(int(years.min()), int(years.max()), block_years),
        (int(years.min()), int(years.max())),
    ]
    rng = np.random.default_rng(seed)
    records = []
    for i, (lo, hi) in enumerate(blocks):
        part = wide[(years >= lo) & (years <= hi)]
        y = part[("outcome", baseline)].to_numpy()
        idx = _bootstrap_index(len(part), n_boot, rng)
        base_point, base_boot = _point_and_boot(part, baseline, y, idx)
        for model in models:
            if model == baseline:
                continue
            point, boot = _point_and_boot(part, model, y, idx)
            for m in METRICS:
                diff = boot[m] - base_boot[m]
                finite = diff[np.isfinite(diff)]
                better = finite < 0 if m in LOWER_IS_BETTER else finite >= 0
                low, high = np.percentile(finite, [2.5, 97.5]) if finite.size else (np.nan, np.nan)
                records.append(
                    {
                        "model": model,
                        "block": "all" if i == len(blocks) - 1 else f"{lo}-{hi}",
                        "metric": m,
                        "difference": float(point[m][0] - base_point[m][0]),
                        "low": float(low),
                        "high": float(high),
                        "share_better": float(better.mean()) if finite.size else np.nan,
                    }
                )
    return pd.DataFrame.from_records(records)


def _point_and_boot(
    wide: pd.DataFrame, model: str, y: np.ndarray, idx: np.ndarray
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """One model's metrics on all rows of a wide forecast frame and on each bootstrap sample ``idx``."""
    p = wide[("probability", model)].to_numpy()
    r = wide[("rank", model)].to_numpy()
    return _metrics(p[None, :], y[None, :], r[None, :]), _metrics(p[idx], y[idx], r[idx])


def onset_catch(forecasts: pd.DataFrame, data: pd.DataFrame, *, top: int = 30) -> pd.DataFrame:
    """EWP's onset-level score: was each onset's country in the top ``top`` one or two years before?

    Only onsets with both prior forecasts (years O - 1 and O - 2) in ``forecasts`` are counted.

    Returns
    -------
    DataFrame
        One row per model: ``onsets``, ``caught`` (min of the two prior ranks <= ``top``), ``share``.
    """
    table = check_table(data)
    onsets = table.loc[table["mk_onset"] == 1, ["ewp_name", "year"]] if "mk_onset" in table else None
    if onsets is None:
        raise SchemaError("The table has no 'mk_onset' column: onset-level scores need it.")
    records = []
    for model, frame in forecasts.groupby("model", sort=False):
        years = set(frame["forecast_year"].tolist())
        ranks = frame.set_index(["country", "forecast_year"])["rank"]
        eligible = onsets[onsets["year"].sub(1).isin(years) & onsets["year"].sub(2).isin(years)]
        caught = 0
        for country, year in eligible.itertuples(index=False):
            prior = [ranks.get((country, year - k), np.inf) for k in (1, 2)]
            caught += min(prior) <= top
        n = len(eligible)
        records.append(
            {
                "model": model,
                "onsets": n,
                "caught": int(caught),
                "share": caught / n if n else np.nan,
                "onset_years": f"{int(eligible['year'].min())}-{int(eligible['year'].max())}" if n else "",
            }
        )
    return pd.DataFrame.from_records(records)


DEFAULT_BINS = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 1.0)


def reliability_table(
    forecasts: pd.DataFrame,
    *,
    bins: Sequence[float] = DEFAULT_BINS,
    common: bool = True,
    by_block: bool = False,
    block_years: int = BLOCK_YEARS,
) -> pd.DataFrame:
    """Observed onset share against mean forecast in each probability bin, per model (and block).

    The bins are fixed (not quantiles) because forecasts of a rare event crowd near zero; the interval
    of the observed share is Wilson's 95 % score interval (exact enough for binomial shares, and defined
    for the empty upper bins where a bootstrap interval collapses to a point).

    Returns
    -------
    DataFrame
        ``model, block, bin, n, mean_forecast, observed, observed_low, observed_high``; ``block`` is
        "all", or the five-year block when ``by_block`` is true.
    """
    from scipy.stats import binomtest

    edges = np.asarray(bins, dtype=float)
    if edges.ndim != 1 or len(edges) < 2 or np.any(np.diff(edges) <= 0) or edges[0] < 0 or edges[-1] > 1:
        raise InputError(f"The bins must be increasing edges within [0, 1]. Got {list(bins)} instead.")
    rows = _common_rows(forecasts) if common else forecasts[forecasts["outcome"].notna()]
    if rows.empty:
        raise InputError("No forecast has a known outcome: backtest years whose two-year outcome is known.")
    years = rows["forecast_year"]
    blocks = (
        year_blocks(int(years.min()), int(years.max()), block_years)
        if by_block
        else [(int(years.min()), int(years.max()))]
    )
    records = []
    for model, frame in rows.groupby("model", sort=False):
        for lo, hi in blocks:
            part_block = frame[frame["forecast_year"].between(lo, hi)]
            which = np.clip(
                np.searchsorted(edges, part_block["probability"].to_numpy(), side="right") - 1,
                0,
                len(edges) - 2,
            )
            for b in range(len(edges) - 1):
                part = part_block[which == b]
                if part.empty:
                    continue
                k, n = int(part["outcome"].sum()), len(part)
                ci = binomtest(k, n).proportion_ci(method="wilson")
                records.append(
                    {
                        "model": model,
                        "block": f"{lo}-{hi}" if by_block else "all",
                        "bin": f"{edges[b]:.2f}-{edges[b + 1]:.2f}",
                        "n": n,
                        "mean_forecast": float(part["probability"].mean()),
                        "observed": k / n,
                        "observed_low": float(ci.low),
                        "observed_high": float(ci.high),
                    }
                )
    return pd.DataFrame.from_records(records)


def reliability_chart(table: pd.DataFrame, path: str | Path) -> Path:
    """Draw the reliability diagram of :func:`reliability_table` to ``path`` (PNG or SVG); returns it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    fig, ax = plt.subplots(figsize=(5.5, 5))
    top = float(max(table["observed_high"].max(), table["mean_forecast"].max(), 0.05)) * 1.05
    ax.plot([0, top], [0, top], color="0.6", lw=1, ls="--", label="perfect calibration")
    for model, part in table.groupby("model", sort=False):
        err = np.vstack([part["observed"] - part["observed_low"], part["observed_high"] - part["observed"]])
        ax.errorbar(
            part["mean_forecast"], part["observed"], yerr=err, marker="o", capsize=3, label=str(model)
        )
    ax.set_xlabel("mean forecast probability (onset in t+1 or t+2)")
    ax.set_ylabel("observed share with an onset (95 % Wilson interval)")
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.legend(loc="upper left", frameon=False)
    ax.set_title("Reliability of country forecasts, rolling-origin backtest")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def compare_published(
    ranking: pd.DataFrame, published: pd.DataFrame, *, top: int = 30
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Set kalkan's ranking beside EWP's published forecasts for the same base year.

    Parameters
    ----------
    ranking
        Output of ``country_risk`` (``country``, ``probability``, ``rank``).
    published
        EWP's published forecasts for one base year: ``country``, ``risk_2yr``, ``rank_2yr``.

    Returns
    -------
    (DataFrame, dict)
        The matched countries with both probabilities and ranks, and a summary: countries matched and
        unmatched, Spearman rank correlation, overlap of the two top-``top`` lists, and the mean absolute
        probability difference. Outcomes after the base year are not in kalkan's data, so this measures
        agreement, not skill.
    """
    from scipy.stats import spearmanr

    for col in ("country", "risk_2yr", "rank_2yr"):
        if col not in published.columns:
            raise SchemaError(f"The published forecasts lack '{col}': pass EWP's sortedrisk file columns.")
    ours = ranking.assign(key=ranking["country"].map(ewp_name_key))
    theirs = published.assign(key=published["country"].map(ewp_name_key))
    merged = ours.merge(theirs[["key", "risk_2yr", "rank_2yr"]], on="key", how="inner")
    merged = merged.rename(
        columns={"risk_2yr": "ewp_published_probability", "rank_2yr": "ewp_published_rank"}
    )
    summary = {
        "matched": len(merged),
        "only_kalkan": sorted(set(ours["country"]) - set(merged["country"])),
        "only_published": sorted(
            set(theirs["country"]) - set(theirs.loc[theirs["key"].isin(merged["key"]), "country"])
        ),
        "spearman": float(spearmanr(merged["probability"], merged["ewp_published_probability"]).statistic),
        f"top{top}_overlap": int(((merged["rank"] <= top) & (merged["ewp_published_rank"] <= top)).sum()),
        "mean_abs_difference": float(
            (merged["probability"] - merged["ewp_published_probability"]).abs().mean()
        ),
    }
    return merged.drop(columns="key"), summary
