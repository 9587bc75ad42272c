"""Calibration with uncertainty: ABC-SMC of the fitted parameters to the scenario's published outcomes.

Approximate Bayesian computation by sequential Monte Carlo (Toni et al.; adaptive tolerances and
a kernel twice the particles' weighted covariance as in Beaumont et al.), written plainly with
numpy: the model is a numba kernel whose runs are cheap, and the sampler is 60 lines.

* Parameters and priors: :data:`kalkan.simulate.priors.FITTED` (stated, wide; log-uniform for rates).
* Data: the scenario's outbreak replayed with no force (flashpoints from the incidents of its first
  ``spark_days``), one run per particle.
* Targets: the published ranges known on the calibration date (``[[simulation.target]]`` with
  ``known_on <= as_of``; per outcome the latest figure). A run's distance to a range is 0 inside it and
  the log-ratio to the nearer end outside it; the distance over targets is their root mean square.
* Generations: the tolerance is the median distance of the last generation, until it reaches 0 (every
  particle's run falls inside every range), the acceptance rate falls below 2%, or ``generations``.

The posterior is kept as data in the scenario folder: ``simulation_posterior.csv`` (one row per
particle: the fitted parameters, its weight and distance) and ``simulation_posterior.json``
(provenance: targets used with sources and dates, the calibration date, priors, tolerances, seed,
runs). :func:`load_posterior` reads them; a scenario without them is not calibrated.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from kalkan._base import Progress, describe_step
from kalkan.errors import InputError, ScenarioError
from kalkan.simulate.priors import FITTED, FORCE, Prior
from kalkan.simulate.spec import NotCalibratedError, SimulationSpec, Target, simulation_spec

if TYPE_CHECKING:
    from kalkan.scenarios import Scenario

__all__ = [
    "POSTERIOR_CSV",
    "POSTERIOR_JSON",
    "Posterior",
    "abc_smc",
    "calibrate",
    "distance",
    "load_posterior",
    "point_settings",
    "replay",
    "save_posterior",
]

POSTERIOR_CSV = "simulation_posterior.csv"
POSTERIOR_JSON = "simulation_posterior.json"
_OUTCOME_COL = {"deaths": 0, "homes_destroyed": 1, "displaced": 2}


@dataclass
class Posterior:
    """Weighted particles of the fitted parameters, and where they come from."""

    draws: pd.DataFrame
    provenance: dict[str, Any]

    @property
    def parameters(self) -> list[str]:
        return [c for c in self.draws.columns if c not in ("weight", "distance")]

    def sample(self, n: int, seed: int) -> pd.DataFrame:
        """``n`` parameter sets resampled by weight (with replacement)."""
        rng = np.random.default_rng(seed)
        w = self.draws["weight"].to_numpy(float)
        idx = rng.choice(len(self.draws), size=n, replace=True, p=w / w.sum())
        return self.draws.iloc[idx][self.parameters].reset_index(drop=True)

    def summary(self) -> pd.DataFrame:
        """Per parameter: its prior, and the weighted 5th, 50th and 95th percentiles of the posterior."""
        priors = {p.name: p for p in FITTED}
        w = self.draws["weight"].to_numpy(float)
        rows = []
        for name in self.parameters:
            x = self.draws[name].to_numpy(float)
            order = np.argsort(x)
            cum = np.cumsum(w[order]) / w.sum()
            at = np.minimum(np.searchsorted(cum, [0.05, 0.5, 0.95]), len(x) - 1)
            q = [float(v) for v in x[order][at]]
            prior = priors[name].describe() if name in priors else ""
            rows.append({"parameter": name, "prior": prior, "p5": q[0], "median": q[1], "p95": q[2]})
        return pd.DataFrame(rows)

    def stale(self, spec: SimulationSpec) -> str:
        """Empty if fitted to the scenario's current targets (as of its date), else a sentence why not."""
        day = date.fromisoformat(str(self.provenance.get("as_of", spec.decision_date.isoformat())))
        now = sorted(t.label() for t in spec.known_targets(day))
        used = sorted(str(t.get("label", "")) for t in self.provenance.get("targets", []))
        if now == used:
            return ""
        return (
            "The scenario's calibration figures changed after the simulation was fitted: its numbers "
            "rest on the old figures until 'kalkan simulate calibrate' is run again."
        )

    def describe(self) -> str:
        """One plain sentence: what the fit used and as of when."""
        p = self.provenance
        used = "; ".join(t["label"] for t in p.get("targets", []))
        text = (
            f"Fitted by ABC-SMC ({p.get('particles', '?')} particles, {p.get('generations', '?')} "
            f"generations) to figures published by {p.get('as_of', '?')}: {used}."
        )
        if "distance" in self.draws.columns and len(self.draws):
            dist = self.draws["distance"].to_numpy(float)
            inside = float(np.mean(dist <= 0))
            miss = float(np.expm1(np.median(dist)))
            text += f" {inside:.0%} of the fitted parameter sets reproduce every figure" + (
                f"; the typical one misses them by about {miss:.0%} (root mean square over the figures)."
                if miss > 0.005
                else "."
            )
        return text


def _regions(places: pd.DataFrame, spec: SimulationSpec) -> tuple[np.ndarray, list[str]]:
    column = spec.region_column if spec.region_column in places.columns else None
    if column is None:
        return np.zeros(len(places), dtype=np.int64), [""]
    names = sorted(places[column].astype(str).unique().tolist())
    index = {n: i for i, n in enumerate(names)}
    return places[column].astype(str).map(index).to_numpy(np.int64), names


def outcome(run: dict[str, Any], target: Target, names: Sequence[str]) -> float:
    """The value of a run that ``target`` is compared with (region and period as the target says)."""
    col = _OUTCOME_COL[target.outcome]
    if target.region:
        unknown = [r for r in target.region if r not in names]
        if unknown:
            raise ScenarioError(
                f"A [[simulation.target]] names region(s) {unknown} that no place has; "
                f"regions are {', '.join(names)}."
            )
    if target.through_day:
        if target.region:
            raise ScenarioError("A [[simulation.target]] cannot have both region and through_day; split it.")
        return float(np.asarray(run["by_day"])[: target.through_day, col].sum())
    if target.region:
        by_region = np.asarray(run["by_region"])
        return float(sum(by_region[names.index(r), col] for r in target.region))
    return float(np.asarray(run["by_day"])[:, col].sum())


def distance(values: Sequence[float], targets: Sequence[Target]) -> float:
    """Root mean square over targets of the log-distance of a value to its range (0 inside)."""
    parts = []
    for x, t in zip(values, targets, strict=True):
        lx = np.log1p(max(x, 0.0))
        lo = np.log1p(t.low)
        hi = np.log1p(t.high) if np.isfinite(t.high) else np.inf
        parts.append(max(0.0, lo - lx, lx - hi))
    return float(np.sqrt(np.mean(np.square(parts)))) if parts else 0.0


@dataclass
class Replay:
    """The scenario's outbreak with no force: the model, its regions and the run days."""

    model: Any
    regions: np.ndarray
    region_names: list[str]
    days: int


def replay(
    scenario: Scenario,
    spec: SimulationSpec | None = None,
    *,
    keep_regions: Sequence[str] | None = None,
    days: int | None = None,
) -> Replay:
    """The scenario's replayed outbreak; ``keep_regions`` keeps only those regions' flashpoints."""
    from kalkan.simulate.scenario import scenario_model

    spec = spec or simulation_spec(scenario)
    incidents = scenario.incidents
    model = scenario_model(scenario, start=spec.start, spark_days=spec.spark_days, spark_km=spec.spark_km)
    assert model.places_ is not None
    regions, names = _regions(model.places_, spec)
    if keep_regions is not None:
        keep = np.isin(np.asarray(names)[regions], list(keep_regions))
        model.spark_step_ = np.where(keep, model.spark_step_, 0)
        if not model.spark_step_.any():
            raise ScenarioError(f"No flashpoint of the replayed outbreak lies in {list(keep_regions)}.")
    del incidents
    return Replay(model=model, regions=regions, region_names=names, days=int(days or spec.days))


def _simulate(
    rep: Replay,
    params: np.ndarray,
    names: Sequence[str],
    seeds: Sequence[int],
    scheduler: Any,
    progress: Progress | None = None,
) -> list[dict[str, Any]]:
    from kalkan.simulate.engine import Case, map_cases

    cases = [
        Case(
            settings=dict(zip(names, map(float, row), strict=True)), sparks=rep.model.spark_step_, seed=int(s)
        )
        for row, s in zip(params, seeds, strict=True)
    ]
    return map_cases(
        rep.model, [None], cases, rep.days, regions=rep.regions, scheduler=scheduler, progress=progress
    )


def abc_smc(
    rep: Replay,
    targets: Sequence[Target],
    *,
    priors: Sequence[Prior] = FITTED,
    particles: int = 300,
    generations: int = 6,
    batch: int | None = None,
    seed: int = 0,
    scheduler: Any = None,
    progress: Progress | None = None,
    min_acceptance: float = 0.02,
    max_runs: int | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """ABC-SMC: weighted particles (parameters, ``weight``, ``distance``) and the run's bookkeeping.

    ``max_runs`` is a budget: no new generation starts once that many runs are spent (the last
    complete generation is the posterior, and the history says why it stopped)."""
    if not targets:
        raise InputError(
            "No calibration target is known on the calibration date: add [[simulation.target]] "
            "figures with known_on on or before it."
        )
    if particles < 10 or generations < 1:
        raise InputError(f"particles must be >= 10 and generations >= 1; got {particles} and {generations}.")
    from kalkan.simulate.engine import run_seeds

    rng = np.random.default_rng(seed)
    names = [p.name for p in priors]
    k = len(priors)
    batch = batch or particles
    n_runs = 0

    def evaluate(unit: np.ndarray, label: str) -> np.ndarray:
        nonlocal n_runs
        values = np.column_stack([p.from_unit(unit[:, j]) for j, p in enumerate(priors)])
        if progress is not None:
            describe_step(progress, label)  # each generation is a step, counted from 0
        seeds = run_seeds([seed, 7], n_runs + len(unit))[n_runs:]  # run k's seed whatever the batches
        runs = _simulate(rep, values, names, seeds, scheduler, progress)
        n_runs += len(unit)
        return np.array([distance([outcome(r, t, rep.region_names) for t in targets], targets) for r in runs])

    unit = rng.random((particles, k))
    dist = evaluate(unit, "generation 1")
    weight = np.full(particles, 1.0 / particles)
    history: list[dict[str, Any]] = [
        {
            "generation": 1,
            "tolerance": float("inf"),
            "acceptance": 1.0,
            "median_distance": float(np.median(dist)),
        }
    ]
    for gen in range(2, generations + 1):
        if np.all(dist <= 0):
            break
        if max_runs is not None and n_runs >= max_runs:
            history[-1]["stopped"] = f"run budget of {max_runs:,} spent"
            break
        eps = float(np.quantile(dist, 0.5))
        cov = 2.0 * np.cov(unit.T, aweights=weight) + 1e-9 * np.eye(k)
        chol = np.linalg.cholesky(cov)
        inv = np.linalg.inv(cov)
        new_u: list[np.ndarray] = []
        new_d: list[float] = []
        tried = 0
        while len(new_u) < particles:
            cand = _perturbed(rng, unit, weight, chol, batch)
            d = evaluate(cand, f"generation {gen} (tolerance {eps:.3f})")
            tried += len(cand)
            ok = d <= eps
            new_u.extend(cand[ok])
            new_d.extend(d[ok].tolist())
            if tried >= particles / min_acceptance and len(new_u) < particles:
                break
            if max_runs is not None and n_runs >= 1.5 * max_runs and len(new_u) < particles:
                break
        acceptance = len(new_u) / max(tried, 1)
        if len(new_u) < particles:
            history.append(
                {
                    "generation": gen,
                    "tolerance": eps,
                    "acceptance": acceptance,
                    "median_distance": float("nan"),
                    "stopped": "acceptance below minimum"
                    if max_runs is None or n_runs < 1.5 * max_runs
                    else f"run budget of {max_runs:,} spent before the generation was complete",
                }
            )
            break
        new_unit = np.asarray(new_u[:particles])
        # Importance weights: uniform prior in unit space over the perturbation kernel's mixture.
        diff = new_unit[:, None, :] - unit[None, :, :]
        kern = np.exp(-0.5 * np.einsum("ijk,kl,ijl->ij", diff, inv, diff))
        w = 1.0 / (kern @ weight)
        unit, dist, weight = new_unit, np.asarray(new_d[:particles]), w / w.sum()
        history.append(
            {
                "generation": gen,
                "tolerance": eps,
                "acceptance": acceptance,
                "median_distance": float(np.median(dist)),
            }
        )
    values = {p.name: p.from_unit(unit[:, j]) for j, p in enumerate(priors)}
    frame = pd.DataFrame(values)
    frame["weight"] = weight / weight.sum()
    frame["distance"] = dist
    info = {
        "runs": n_runs,
        "history": history,
        "generations": len(history),
        "particles": particles,
        "inside_every_range": float(np.mean(dist <= 0)),
    }
    return frame, info


def _perturbed(
    rng: np.random.Generator, unit: np.ndarray, weight: np.ndarray, chol: np.ndarray, n: int
) -> np.ndarray:
    """``n`` candidates inside the unit cube (the prior's support): parents drawn by weight, moved by
    the Gaussian kernel; candidates outside are redrawn, so every batch is full (few small batches)."""
    k = unit.shape[1]
    out: list[np.ndarray] = []
    have = 0
    for _ in range(1000):
        parents = rng.choice(len(unit), size=n, p=weight / weight.sum())
        cand = unit[parents] + rng.standard_normal((n, k)) @ chol.T
        cand = cand[np.all((cand >= 0) & (cand <= 1), axis=1)]
        out.append(cand)
        have += len(cand)
        if have >= n:
            break
    return np.concatenate(out)[:n]


def calibrate(
    scenario: Scenario,
    *,
    as_of: date | None = None,
    particles: int = 300,
    generations: int = 6,
    seed: int = 0,
    scheduler: Any = None,
    progress: Progress | None = None,
    save: bool = True,
    max_runs: int | None = None,
) -> Posterior:
    """Fit the scenario's posterior to its targets known on ``as_of`` (default: its decision date).

    Writes ``simulation_posterior.csv`` and ``.json`` into the scenario folder when ``save``.
    """
    spec = simulation_spec(scenario)
    day = as_of or spec.decision_date
    targets = spec.known_targets(day)
    rep = replay(scenario, spec)
    from kalkan.simulate.engine import scheduler_session

    with scheduler_session(scheduler) as session:
        frame, info = abc_smc(
            rep,
            targets,
            particles=particles,
            generations=generations,
            seed=seed,
            scheduler=session,
            progress=progress,
            max_runs=max_runs,
        )
    provenance = provenance_for(scenario, spec, day, targets, info, seed)
    posterior = Posterior(draws=frame, provenance=provenance)
    if save:
        save_posterior(posterior, Path(scenario.path))
    return posterior


def provenance_for(
    scenario: Scenario,
    spec: SimulationSpec,
    day: date,
    targets: Sequence[Target],
    info: dict[str, Any],
    seed: int,
) -> dict[str, Any]:
    import kalkan

    return {
        "scenario": scenario.name,
        "as_of": day.isoformat(),
        "start": spec.start.isoformat(),
        "days": spec.days,
        "method": "ABC-SMC (Toni et al.; Beaumont et al.; see docs/simulate.md), kalkan.simulate.calibration",
        "targets": [
            {
                "outcome": t.outcome,
                "low": t.low,
                "high": t.high if np.isfinite(t.high) else None,
                "known_on": t.known_on.isoformat(),
                "region": list(t.region),
                "through_day": t.through_day,
                "source_ids": list(t.source_ids),
                "label": t.label(),
            }
            for t in targets
        ],
        "priors": [{"parameter": p.name, "prior": p.describe(), "why": p.why} for p in FITTED],
        "prior_only": [{"parameter": p.name, "prior": p.describe(), "why": p.why} for p in FORCE],
        "seed": seed,
        "fitted_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "kalkan_version": getattr(kalkan, "__version__", "unknown"),
        **info,
    }


def save_posterior(posterior: Posterior, folder: Path) -> None:
    """Write both files atomically (a crash mid-write leaves the old pair)."""
    for name, text in (
        (POSTERIOR_CSV, posterior.draws.to_csv(index=False, float_format="%.6g")),
        (POSTERIOR_JSON, json.dumps(posterior.provenance, indent=1, default=str) + "\n"),
    ):
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.")
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(tmp, folder / name)


def point_settings(scenario: Scenario) -> dict[str, float]:
    """Posterior medians of the fitted parameters and prior medians of what a force does (one point)."""
    medians = load_posterior(scenario).summary().set_index("parameter")["median"]
    point = {str(name): float(v) for name, v in medians.items()}
    point.update({p.name: float(p.from_unit(np.array(0.5))) for p in FORCE})
    return point


def load_posterior(scenario: Scenario) -> Posterior:
    """The scenario's stored posterior; NotCalibratedError (with the sentence to show) when it has none."""
    folder = Path(scenario.path)
    csv, meta = folder / POSTERIOR_CSV, folder / POSTERIOR_JSON
    if not csv.exists() or not meta.exists():
        from kalkan.simulate.scenario import no_group_reason, scenario_places

        reason = no_group_reason(scenario, scenario_places(scenario))
        if reason:
            raise NotCalibratedError(reason)
        raise NotCalibratedError(
            f"The simulation is not calibrated to scenario {scenario.name!r}: it has no fitted posterior "
            f"({POSTERIOR_CSV}); run 'kalkan simulate calibrate --scenario {scenario.name}'. No other "
            "crisis's fit is used in its place."
        )
    try:
        draws = pd.read_csv(csv)
        provenance = json.loads(meta.read_text())
    except (ValueError, OSError) as error:
        raise ScenarioError(
            f"Cannot read {csv.name} or {meta.name} in {folder} ({error}): run "
            f"'kalkan simulate calibrate --scenario {scenario.name}' again."
        ) from None
    names = {p.name for p in FITTED}
    missing = sorted(names - set(draws.columns)) + (["weight"] if "weight" not in draws.columns else [])
    if missing or not len(draws) or provenance.get("scenario") != scenario.name:
        raise ScenarioError(
            f"{csv.name} in {folder} is not a posterior of scenario {scenario.name!r} "
            f"(missing {missing or 'rows'} or another scenario's file): run "
            f"'kalkan simulate calibrate --scenario {scenario.name}' again."
        )
    return Posterior(draws=draws, provenance=provenance)
