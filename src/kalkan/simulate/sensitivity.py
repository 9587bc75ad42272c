"""Global sensitivity of simulated deaths per option over every parameter with a prior (SALib).

Method of Morris (elementary effects; Campolongo et al. 2007's mu*) by default, Sobol' indices
(Saltelli's sampling) on request, over:

* the fitted parameters, within the posterior's 5th-95th percentile box (that box is how far the
  calibration targets and their doubt let them move);
* what a force does (:data:`~kalkan.simulate.priors.FORCE`): officer weight, the monitor effect, the
  share of officers who stand aside, how mobs avoid posts, over their full priors;
* context (:data:`~kalkan.simulate.priors.CONTEXT`): reach, speed with roadblocks, officers on duty per
  post, population and group shares within their sources' ranges.

Every option runs on the same samples and flashpoints (common random numbers, ``seeds`` per sample,
averaged). Besides the indices it gives median deaths per option at low, central and high
``officer_weight`` (the prior's 5th, 50th and 95th percentiles, other parameters drawn) and says whether
the best option changes with a parameter nobody knows (``ordering_depends``).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from kalkan._base import Progress
from kalkan.errors import InputError, ScenarioError
from kalkan.simulate.priors import CONTEXT, FITTED, FORCE, Prior

if TYPE_CHECKING:
    from kalkan.plan.units import ForceOption
    from kalkan.scenarios import Scenario

__all__ = [
    "SENSITIVITY_CSV",
    "SENSITIVITY_JSON",
    "Sensitivity",
    "load_sensitivity",
    "save_sensitivity",
    "sensitivity",
]

SENSITIVITY_CSV = "simulation_sensitivity.csv"
SENSITIVITY_JSON = "simulation_sensitivity.json"


@dataclass
class Sensitivity:
    """Indices per option and parameter, the overall ranking and the officer-weight table."""

    method: str
    indices: pd.DataFrame
    ranking: pd.DataFrame
    by_officer_weight: pd.DataFrame
    ordering_depends: bool
    note: str
    runs: int
    attrs: dict[str, Any] = field(default_factory=dict)


def _box(scenario: Scenario) -> list[Prior]:
    from kalkan.simulate.calibration import load_posterior

    summary = load_posterior(scenario).summary().set_index("parameter")
    fitted = []
    for p in FITTED:
        lo, hi = float(summary.at[p.name, "p5"]), float(summary.at[p.name, "p95"])  # type: ignore[arg-type]
        if hi <= lo:
            hi = lo * 1.01 + 1e-6
        fitted.append(Prior(p.name, lo, hi, p.log and lo > 0, f"posterior 5th-95th percentile ({p.why})"))
    return fitted + list(FORCE) + list(CONTEXT)


def sensitivity(
    scenario: Scenario | str,
    options: Sequence[ForceOption | None],
    *,
    method: str = "morris",
    trajectories: int = 8,
    seeds: int = 2,
    arrival_day: float = 0.0,
    days: int | None = None,
    seed: int = 0,
    scheduler: Any = None,
    progress: Progress | None = None,
) -> Sensitivity:
    """Morris (``trajectories`` x (parameters + 1) samples) or Sobol (``trajectories`` = base N) indices.

    ``arrival_day`` puts every option's posts on duty that many days into the outbreak (default: from
    its start, so the analysis asks what drives the effect of a force that is there; the comparison
    adds the timeline).
    """
    from SALib.analyze import morris as morris_analyze
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    from kalkan.simulate.engine import Case, map_cases, run_seeds, with_baseline
    from kalkan.simulate.geo import GeoModel
    from kalkan.simulate.predictive import _posts, option_label
    from kalkan.simulate.scenario import (
        as_scenario,
        forecast_sparks,
        replay_seeds,
        scenario_places,
        scenario_response_minutes,
    )
    from kalkan.simulate.spec import simulation_spec

    scenario = as_scenario(scenario)
    if method not in ("morris", "sobol"):
        raise InputError(f"Unknown sensitivity method {method!r}: use morris or sobol.")
    if trajectories < 2 or seeds < 1:
        raise InputError(f"trajectories must be >= 2 and seeds >= 1; got {trajectories} and {seeds}.")
    spec = simulation_spec(scenario)
    priors = _box(scenario)
    names = [p.name for p in priors]
    problem = {"num_vars": len(priors), "names": names, "bounds": [[0.0, 1.0]] * len(priors)}
    if method == "morris":
        unit = morris_sample.sample(problem, trajectories, num_levels=4, seed=seed)
    else:
        unit = sobol_sample.sample(problem, trajectories, calc_second_order=False, seed=seed)
    values = np.column_stack([p.from_unit(unit[:, j]) for j, p in enumerate(priors)])
    day: date = spec.decision_date
    places = scenario_places(scenario, as_of=day)
    response = scenario_response_minutes(scenario)
    model = GeoModel.from_places(places, None, response_minutes=response)
    wanted = with_baseline(options, True, task="analyse")
    posts = [_posts(places, o, None, response, "reach")[0] for o in wanted]
    n_sparks = max(1, replay_seeds(scenario.incidents, start=spec.start, spark_days=spec.spark_days))
    rng = np.random.default_rng([seed, 21])
    spark_sets = [
        forecast_sparks(
            places,
            places["weight"].to_numpy(float),
            n_sparks,
            spark_days=spec.spark_days,
            rng=rng,
            spark_km=spec.spark_km,
        )
        for _ in range(seeds)
    ]
    kernel_seeds = run_seeds([seed, 23], seeds)
    cases = []
    for i, row in enumerate(values):
        settings = dict(zip(names, map(float, row), strict=True))
        factor = settings.pop("officers_factor")
        for o in range(len(wanted)):
            for s in range(seeds):
                cases.append(
                    Case(
                        settings=settings,
                        sparks=spark_sets[s],
                        seed=kernel_seeds[s],
                        option=o,
                        arrival_day=arrival_day,
                        officers_factor=factor,
                        key=(i, o, s),
                    )
                )
    results = map_cases(model, posts, cases, int(days or spec.days), scheduler=scheduler, progress=progress)
    deaths = np.zeros((len(values), len(wanted)))
    for r in results:
        i, o, _ = r["key"]
        deaths[i, o] += r["deaths"] / seeds
    labels = [option_label(o) for o in wanted]
    rows: list[dict[str, Any]] = []
    averted_rows: list[dict[str, Any]] = []

    def indices_of(y: np.ndarray) -> tuple[dict[str, Any], Any]:
        """SALib's indices of ``y`` (Morris: mu_star, sigma; Sobol: S1, ST) and the one that ranks."""
        if method == "morris":
            res = morris_analyze.analyze(problem, unit, y, num_levels=4, seed=seed)
            return {"mu_star": res["mu_star"], "sigma": res["sigma"]}, res["mu_star"]
        res = sobol_analyze.analyze(problem, y, calc_second_order=False, seed=seed)
        return {"S1": res["S1"], "ST": res["ST"]}, res["ST"]

    for o, label in enumerate(labels):
        y = deaths[:, o]
        found, importance = indices_of(y)
        for j, name in enumerate(names):
            rows.append(
                {
                    "option": label,
                    "parameter": name,
                    **{k: float(v[j]) for k, v in found.items()},
                    "importance": float(importance[j]),
                }
            )
        if o > 0:  # what drives the deaths this option averts against no force
            _, key = indices_of(deaths[:, 0] - y)
            for j, name in enumerate(names):
                averted_rows.append({"option": label, "parameter": name, "importance": float(key[j])})
    indices = pd.DataFrame(rows)
    averted_table = pd.DataFrame(averted_rows)
    indices["share"] = indices["importance"] / indices.groupby("option")["importance"].transform(
        "sum"
    ).replace(0, 1)
    indices["rank"] = indices.groupby("option")["importance"].rank(ascending=False, method="min").astype(int)
    ranking = (
        indices.groupby("parameter")["share"]
        .mean()
        .sort_values(ascending=False)
        .rename("mean_share")
        .reset_index()
    )
    why = {p.name: p.why for p in priors}
    ranking["what"] = ranking["parameter"].map(why)
    # Best option in each sample, and deaths by officer weight tercile of the prior.
    best = np.argmin(deaths, axis=1)
    ow = values[:, names.index("officer_weight")]
    qs = np.quantile(ow, [1 / 3, 2 / 3])
    band = np.digitize(ow, qs)
    table = []
    for o, label in enumerate(labels):
        line: dict[str, Any] = {"option": label}
        for b, name in enumerate(("low", "central", "high")):
            sel = band == b
            line[name] = float(np.median(deaths[sel, o])) if sel.any() else np.nan
        table.append(line)
    by_ow = pd.DataFrame(table)
    by_ow.attrs["officer_weight_bands"] = [float(ow.min()), float(qs[0]), float(qs[1]), float(ow.max())]
    best_by_band = [labels[int(np.argmin(by_ow[b].to_numpy(float)))] for b in ("low", "central", "high")]
    # Options within 5% of the best median in a band count as tied there; the ordering depends on the
    # officer weight when no option is near-best in every band.
    near: list[set[str]] = []
    for band_name in ("low", "central", "high"):
        col = by_ow[band_name].to_numpy(float)
        near.append({labels[o] for o in range(len(labels)) if col[o] <= 1.05 * np.nanmin(col)})
    always = set.intersection(*near) if near else set()
    depends = not always
    share_best = pd.Series(best).map(dict(enumerate(labels))).value_counts(normalize=True)
    note = ""
    if depends:
        note = (
            "Which option leaves the fewest deaths depends on how strongly armed officers deter, which "
            f"nobody has measured: the best is {best_by_band[0]} if the effect is weak, {best_by_band[1]} "
            f"if it is middling and {best_by_band[2]} if it is strong."
        )
    else:
        none_low = (
            float(by_ow.loc[by_ow["option"] == labels[0], "low"].iloc[0]) if labels[0] == "none" else np.nan
        )
        best_low = float(np.nanmin(by_ow["low"].to_numpy(float)))
        if np.isfinite(none_low) and best_low >= 0.95 * none_low:
            note = (
                f"{' and '.join(sorted(always))} {'is' if len(always) == 1 else 'are'} never worse than the "
                "others, but how much they save depends on how strongly armed officers deter, which "
                "nobody has measured: if "
                "the effect is weak, no option does better than no force."
            )
    return Sensitivity(
        method=method,
        indices=indices,
        ranking=ranking,
        by_officer_weight=by_ow,
        ordering_depends=depends,
        note=note,
        runs=len(results),
        attrs={
            "averted": averted_table,
            "best_share": share_best.to_dict(),
            "best_by_band": best_by_band,
            "samples": len(values),
            "seeds": seeds,
            "arrival_day": arrival_day,
            "as_of": day.isoformat(),
            "days": int(days or spec.days),
            "trajectories": trajectories,
            "seed": seed,
            "options": labels,
            "officer_weight_bands": by_ow.attrs["officer_weight_bands"],
            "posterior_fitted_at": str(load_posterior_provenance(scenario).get("fitted_at", "")),
        },
    )


def load_posterior_provenance(scenario: Scenario) -> dict[str, Any]:
    from kalkan.simulate.calibration import load_posterior

    return load_posterior(scenario).provenance


def _write(folder: Path, name: str, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.")
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, folder / name)


def save_sensitivity(result: Sensitivity, scenario: Scenario) -> None:
    """Keep the analysis as data in the scenario folder, so a brief reads it instead of rerunning it:
    ``simulation_sensitivity.csv`` (indices per option and parameter) and ``.json`` (ranking, the
    officer-weight table and its bands, the verdict, the date it is as of, when and how it was run)."""
    import kalkan

    folder = Path(scenario.path)
    attrs = {k: v for k, v in result.attrs.items() if k != "averted"}
    meta = {
        "scenario": scenario.name,
        "method": result.method,
        "runs": result.runs,
        "computed_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "kalkan_version": getattr(kalkan, "__version__", "unknown"),
        "ranking": json.loads(result.ranking.to_json(orient="records")),
        "by_officer_weight": json.loads(result.by_officer_weight.to_json(orient="records")),
        "averted": json.loads(result.attrs["averted"].to_json(orient="records"))
        if isinstance(result.attrs.get("averted"), pd.DataFrame)
        else [],
        "ordering_depends": result.ordering_depends,
        "note": result.note,
        **attrs,
    }
    _write(folder, SENSITIVITY_CSV, result.indices.to_csv(index=False, float_format="%.6g"))
    _write(folder, SENSITIVITY_JSON, json.dumps(meta, indent=1, default=str) + "\n")


def load_sensitivity(scenario: Scenario) -> Sensitivity | None:
    """The scenario's stored analysis (None if never saved). ``attrs["as_of"]``, ``["computed_at"]`` and
    ``["stale"]`` (a sentence, "" when the stored analysis used the current posterior) say what it is."""
    folder = Path(scenario.path)
    csv, meta_path = folder / SENSITIVITY_CSV, folder / SENSITIVITY_JSON
    if not csv.exists() or not meta_path.exists():
        return None
    try:
        indices = pd.read_csv(csv)
        meta = json.loads(meta_path.read_text())
        ranking = pd.DataFrame(meta["ranking"])
        by_ow = pd.DataFrame(meta["by_officer_weight"])
    except (ValueError, OSError, KeyError) as error:
        raise ScenarioError(
            f"Cannot read {csv.name} or {meta_path.name} in {folder} ({error}): run "
            f"'kalkan simulate sensitivity --scenario {scenario.name} --save' again."
        ) from None
    if meta.get("scenario") != scenario.name:
        raise ScenarioError(
            f"{meta_path.name} in {folder} belongs to scenario {meta.get('scenario')!r}, not "
            f"{scenario.name!r}: run 'kalkan simulate sensitivity --scenario {scenario.name} --save' again."
        )
    by_ow.attrs["officer_weight_bands"] = meta.get("officer_weight_bands", [])
    attrs = {k: v for k, v in meta.items() if k not in ("ranking", "by_officer_weight", "averted", "note")}
    attrs["averted"] = pd.DataFrame(meta.get("averted", []))
    fitted = ""
    try:
        fitted = str(load_posterior_provenance(scenario).get("fitted_at", ""))
    except ScenarioError:
        fitted = ""
    attrs["stale"] = (
        ""
        if fitted and fitted == meta.get("posterior_fitted_at")
        else "The sensitivity analysis was run on an earlier calibration of the model than the one "
        "now stored."
    )
    return Sensitivity(
        method=str(meta.get("method", "morris")),
        indices=indices,
        ranking=ranking,
        by_officer_weight=by_ow,
        ordering_depends=bool(meta.get("ordering_depends", False)),
        note=str(meta.get("note", "")),
        runs=int(meta.get("runs", 0)),
        attrs=attrs,
    )
