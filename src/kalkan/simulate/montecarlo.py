"""Monte Carlo over seeds of the *replayed* outbreak: each option's outcomes at one parameter point.

This is the hindcast: flashpoints are the scenario's own incidents and the parameters are the
posterior medians (what a force does: its prior medians), so the intervals cover chance only. To
compare options as of a date, use :func:`kalkan.simulate.predictive.compare_options` (posterior-
predictive, flashpoints from the risk forecast, arrival from force generation).

Every option runs the same list of run seeds (common random numbers: run ``r`` of every option
starts from the same agents and draws), so differences between options are the options' doing,
not luck. Run seeds come from ``numpy.random.SeedSequence(seed).spawn(runs)``; a run's result
depends only on its seed and the model, so Dask (any scheduler, any chunking) gives exactly the
serial result.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from kalkan._base import Progress
from kalkan.errors import InputError
from kalkan.simulate.engine import (
    check_counts,
    check_options,
    copy_model,
    dask_client,
    run_seeds,
    with_baseline,
)
from kalkan.simulate.geo import GeoModel

if TYPE_CHECKING:
    from kalkan.plan.force import OptionPlan
    from kalkan.plan.units import ForceOption
    from kalkan.scenarios import Scenario

__all__ = ["OUTCOMES", "run_batch", "run_seeds", "simulate_options", "summarise"]

#: Outcomes summarised per option (people, homes, people).
OUTCOMES = ("deaths", "homes_destroyed", "displaced")
_EXTRA = ("deaths_group0", "attacks", "arrests", "observed_share")


def run_batch(model: GeoModel, seeds: Sequence[int], days: int) -> list[dict[str, Any]]:
    """Run ``model`` once per seed and return each run's totals (plus ``seed`` and ``seconds``).

    Each run also carries ``by_day`` (per day: deaths, homes destroyed, displaced) and ``by_place``
    ({place index: [deaths, homes destroyed, displaced]} for the places where anything happened).
    """
    out: list[dict[str, Any]] = []
    cols = ["deaths", "homes_destroyed", "displaced"]
    for s in seeds:
        r = model.run(days, seed=int(s))
        by_day = r.daily.groupby("day")[cols].sum().to_numpy().tolist()
        n_places = len(r.daily) // max(r.days, 1)
        per_place = r.daily[cols].to_numpy().reshape(-1, n_places, 3).sum(axis=0)
        hit = np.flatnonzero(per_place.any(axis=1))
        by_place = {int(p): per_place[p].tolist() for p in hit}
        out.append(
            {**r.totals, "seed": float(s), "seconds": r.seconds, "by_day": by_day, "by_place": by_place}
        )
    return out


def _by_day(label: str, runs: list[dict[str, Any]]) -> pd.DataFrame:
    """Median and 5th/95th percentiles of each outcome per day over the runs of one option."""
    arr = np.array([r["by_day"] for r in runs], dtype=float)  # runs x days x 3
    rows = []
    for d in range(arr.shape[1]):
        row: dict[str, Any] = {"option": label, "day": d + 1}
        for k, what in enumerate(OUTCOMES):
            p5, med, p95 = np.percentile(arr[:, d, k], [5, 50, 95])
            row.update({f"{what}_p5": p5, f"{what}_median": med, f"{what}_p95": p95})
        rows.append(row)
    return pd.DataFrame(rows)


def _by_place(label: str, runs: list[dict[str, Any]], places: pd.DataFrame) -> pd.DataFrame:
    """Mean of each outcome per place over the runs of one option (places where anything happened)."""
    total: dict[int, np.ndarray] = {}
    for r in runs:
        for p, v in r["by_place"].items():
            total[int(p)] = total.get(int(p), np.zeros(3)) + np.asarray(v, dtype=float)
    idx = sorted(total)
    frame = places.iloc[idx][["place_id", "name", "latitude", "longitude"]].reset_index(drop=True)
    means = np.array([total[p] for p in idx]).reshape(-1, 3) / max(len(runs), 1)
    frame.insert(0, "option", label)
    for k, what in enumerate(OUTCOMES):
        frame[f"{what}_mean"] = means[:, k]
    return frame


def summarise(label: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median and 5th/95th percentiles of each outcome over the runs of one option."""
    frame = pd.DataFrame([{k: v for k, v in r.items() if k not in ("by_day", "by_place")} for r in runs])
    row: dict[str, Any] = {"option": label}
    for what in OUTCOMES:
        p5, med, p95 = np.percentile(frame[what].to_numpy(float), [5, 50, 95])
        row.update({f"{what}_p5": p5, f"{what}_median": med, f"{what}_p95": p95})
    for what in _EXTRA:
        row[f"{what}_median"] = float(np.median(frame[what].to_numpy(float)))
    row["runs"] = len(frame)
    row["seconds"] = float(frame["seconds"].sum())
    return row


def _chunks(seeds: list[int], size: int) -> list[list[int]]:
    return [seeds[i : i + size] for i in range(0, len(seeds), size)]


def _run_all(
    models: list[GeoModel],
    seeds: list[int],
    days: int,
    scheduler: Any,
    progress: Progress | None,
) -> list[list[dict[str, Any]]]:
    """Run every model on every seed, serially or on Dask; results in (model, seed) order.

    ``progress(done, total)`` gets absolute counts (kalkan._base's convention).
    """
    total = len(models) * len(seeds)
    done = 0
    if scheduler in (None, "serial"):
        results = []
        for model in models:
            batch = []
            for s in seeds:
                batch.extend(run_batch(model, [s], days))
                done += 1
                if progress is not None:
                    progress(done, total)
            results.append(batch)
        return results
    import dask
    from dask.distributed import as_completed

    if scheduler in ("threads", "sync", "synchronous", "processes"):
        tasks = [
            [dask.delayed(run_batch)(model, chunk, days) for chunk in _chunks(seeds, 25)] for model in models
        ]
        computed = dask.compute(*[t for row in tasks for t in row], scheduler=scheduler)
        flat: list[list[dict[str, Any]]] = list(computed)
        out, k = [], 0
        for row in tasks:
            batch = []
            for _ in row:
                batch.extend(flat[k])
                k += 1
            out.append(batch)
        if progress is not None:
            progress(total, total)
        return out
    with dask_client(scheduler) as client:
        n_workers = max(1, len(client.scheduler_info().get("workers", {})))
        size = max(1, min(50, len(seeds) // (2 * n_workers) or 1))
        futures = {}
        for m_index, model in enumerate(models):
            remote = client.scatter(model, broadcast=True)
            for c_index, chunk in enumerate(_chunks(seeds, size)):
                fut = client.submit(run_batch, remote, chunk, days, pure=False)
                futures[fut] = (m_index, c_index, len(chunk))
        parts: dict[tuple[int, int], list[dict[str, Any]]] = {}
        for fut in as_completed(list(futures)):
            m_index, c_index, n = futures[fut]
            parts[(m_index, c_index)] = fut.result()
            done += n
            if progress is not None:
                progress(done, total)
        n_chunks = len(_chunks(seeds, size))
        return [[row for c in range(n_chunks) for row in parts[(m, c)]] for m in range(len(models))]


def simulate_options(
    scenario: Scenario | str,
    options: Sequence[ForceOption | None],
    *,
    runs: int,
    days: int,
    seed: int,
    scheduler: Any = None,
    settings: dict[str, Any] | None = None,
    response_minutes: float | None = None,
    baseline: bool = True,
    progress: Progress | None = None,
    plans: Mapping[str, OptionPlan] | None = None,
    siting: str = "reach",
    arrival_day: float = 0.0,
) -> pd.DataFrame:
    """Simulate each force option ``runs`` times on the scenario; one row per option.

    Parameters
    ----------
    scenario : Scenario or str
        The scenario (or its name, e.g. ``"kyrgyzstan_2010"``).
    options : list of ForceOption
        Force options; ``None`` in the list means no force. With ``baseline`` (default) a no-force row
        named ``"none"`` comes first unless the list already has ``None``.
    runs, days, seed : int
        Runs per option (>= 1), simulated days (>= 1) and the master seed (same seed, same table).
    scheduler : None, "serial", "threads", "processes", "local", address or ``dask.distributed.Client``
        None/"serial" runs in this process; "local" starts a Dask LocalCluster; an address such as
        ``"tcp://10.0.0.5:8786"`` uses a running cluster. Every scheduler gives the same numbers.
    settings : dict, optional
        Overrides of :data:`kalkan.simulate.geo.GEO_SETTINGS`.
    response_minutes : float, optional
        Reach of a post; default the scenario's ``defaults.response_minutes``, else the planner's
        (:data:`kalkan.plan.defaults.RESPONSE_MINUTES`).
    plans : mapping of option label to OptionPlan, optional
        Plans already made with :func:`kalkan.plan.force.plan_option` (e.g. the ones a brief shows):
        their posts are simulated as they are. Other options are planned here.
    siting : "reach" or "depth"
        How options planned here site their posts (:func:`kalkan.simulate.scenario.option_posts`):
        maximal covering, or Daskin's expected covering, which stacks posts where the weight is.
    arrival_day : float
        Days after the first flashpoint's day on which every option's posts come on duty (0: from the
        start). What a force that arrives late still changes.

    Returns
    -------
    DataFrame
        ``option, unit, officers, armed, posts, covered_share, coverage_kind, siting, arrival_day``, then
        ``deaths_p5, deaths_median, deaths_p95`` and the same for ``homes_destroyed`` and
        ``displaced`` (people, homes, people over ``days``), ``deaths_group0_median`` (victims from the
        group at risk), ``attacks_median``, ``arrests_median``, ``observed_share_median``, ``runs`` and
        ``seconds`` (compute seconds spent on the option's runs). ``attrs["daily"]`` has the same
        percentiles per option and day; ``attrs["by_place"]`` the mean per option and place (places
        where anything happened in some run), for maps; ``attrs["posts"]`` the posts simulated.
    """
    check_counts(runs=(runs, 1), days=(days, 1), seed=(seed, 0))
    check_options(options)
    is_number = isinstance(arrival_day, int | float) and not isinstance(arrival_day, bool)
    if not (is_number and 0 <= arrival_day < np.inf):
        raise InputError(f"arrival_day must be a number of days >= 0; got {arrival_day!r}.")
    from kalkan.simulate.calibration import point_settings
    from kalkan.simulate.scenario import (
        as_scenario,
        option_posts,
        posts_from_plan,
        scenario_model,
        scenario_response_minutes,
    )

    scenario = as_scenario(scenario)
    merged = {**point_settings(scenario), **(settings or {})}
    if response_minutes is None:
        response_minutes = scenario_response_minutes(scenario)
    merged["response_minutes"] = float(response_minutes)
    wanted = with_baseline(options, baseline, task="simulate")
    start = time.perf_counter()
    base = scenario_model(scenario, **merged)
    assert base.places_ is not None
    models, meta, post_tables = [], [], []
    for option in wanted:
        sited = "none" if option is None else siting
        if option is not None and plans is not None and option.label in plans:
            posts = posts_from_plan(plans[option.label])
            sited = str(plans[option.label].extra.get("siting", "reach"))
        else:
            posts = option_posts(
                base.places_, option, response_minutes=float(response_minutes), siting=siting
            )
        posts = posts.assign(arrival_day=float(arrival_day))
        post_tables.append(posts.assign(option="none" if option is None else option.label))
        model = copy_model(base).set_posts(posts)
        models.append(model)
        if option is None:
            meta.append(
                {
                    "option": "none",
                    "unit": "none",
                    "officers": 0,
                    "armed": False,
                    "posts": 0,
                    "covered_share": 0.0,
                    "coverage_kind": "none",
                    "siting": sited,
                    "arrival_day": 0.0,
                }
            )
        else:
            meta.append(
                {
                    "option": option.label,
                    "unit": option.unit,
                    "officers": option.officers,
                    "armed": option.unit_type.armed,
                    "posts": len(posts),
                    "covered_share": float(posts["covered_share"].iloc[0]) if len(posts) else 0.0,
                    "coverage_kind": option.unit_type.coverage_kind,
                    "siting": sited,
                    "arrival_day": float(arrival_day),
                }
            )
    seeds = run_seeds(int(seed), int(runs))
    results = _run_all(models, seeds, int(days), scheduler, progress)
    rows, daily, by_place = [], [], []
    for info, res in zip(meta, results, strict=True):
        row = summarise(str(info["option"]), res)
        rows.append({**info, **{k: v for k, v in row.items() if k != "option"}})
        daily.append(_by_day(str(info["option"]), res))
        by_place.append(_by_place(str(info["option"]), res, base.places_))
    table = pd.DataFrame(rows)
    table.attrs.update(
        {
            "scenario": scenario.name,
            "days": int(days),
            "seed": int(seed),
            "wall_seconds": time.perf_counter() - start,
            "settings": merged,
            "daily": pd.concat(daily, ignore_index=True),
            "posts": pd.concat(post_tables, ignore_index=True),
            "by_place": pd.concat(by_place, ignore_index=True),
        }
    )
    return table
