"""Held-out validation: fit on one part of the outbreak, predict another, count how often the 90% interval
holds what was observed.

The checks are data, in the scenario's ``[[simulation.validation]]``::

    [[simulation.validation]]
    name = "the north predicts the south"
    fit_regions = ["North", "North (city)"] # replay only these regions' flashpoints; fit their targets
    predict_regions = ["South"]            # replay only these; compare with their targets
    as_of = 2013-01-01                    # figures published by this day

    [[simulation.validation]]
    name = "first four days predict the whole outbreak"
    fit_through_day = 4                   # fit the targets that cover days 1..4
    as_of = 2013-01-01                    # predict the whole-outbreak targets

Each check runs ABC-SMC on the fitting part only (nothing of the predicted part enters the fit), then
``draws x seeds`` posterior-predictive runs of the predicted part. A prediction *holds* when its 90%
interval (5th-95th percentile) overlaps the published range (for "at least" figures: reaches it).
Results are kept as ``simulation_validation.csv`` in the scenario folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from kalkan._base import Progress, describe_step
from kalkan.errors import ScenarioError
from kalkan.simulate.calibration import abc_smc, outcome, replay
from kalkan.simulate.priors import FITTED
from kalkan.simulate.spec import SimulationSpec, Target, simulation_spec

if TYPE_CHECKING:
    from kalkan.scenarios import Scenario

__all__ = ["VALIDATION_CSV", "Validation", "load_validation", "validate"]

VALIDATION_CSV = "simulation_validation.csv"


@dataclass
class Validation:
    """One row per predicted figure; ``coverage`` is the share whose range the 90% interval reaches."""

    table: pd.DataFrame
    coverage: float
    note: str


def _as_date(value: Any, spec: SimulationSpec) -> date:
    return value if isinstance(value, date) else pd.Timestamp(str(value or spec.decision_date)).date()


def _check_parts(
    check: dict[str, Any], spec: SimulationSpec
) -> tuple[list[Target], list[Target], list[str] | None, list[str] | None]:
    day = _as_date(check.get("as_of"), spec)
    name = check.get("name", "?")
    if "fit_regions" in check:
        fit_r = tuple(sorted(str(r) for r in check["fit_regions"]))
        pred_r = tuple(sorted(str(r) for r in check.get("predict_regions", [])))
        fit = spec.known_targets(day, region=fit_r)
        pred = spec.known_targets(day, region=pred_r)
        keep_fit, keep_pred = list(fit_r), list(pred_r)
    elif "fit_through_day" in check:
        through = int(check["fit_through_day"])
        fit = [t for t in spec.known_targets(day) if t.through_day == through]
        pred = [t for t in spec.known_targets(day) if t.through_day == 0]
        keep_fit, keep_pred = None, None
    else:
        raise ScenarioError(
            f"[[simulation.validation]] {name!r} needs fit_regions (and predict_regions) or fit_through_day."
        )
    if not fit or not pred:
        raise ScenarioError(
            f"[[simulation.validation]] {name!r} has no figure to fit ({len(fit)}) or to "
            f"predict ({len(pred)}) published by {day}: add [[simulation.target]] rows."
        )
    return fit, pred, keep_fit, keep_pred


class _Prefixed:
    """A :class:`~kalkan._base.StagedProgress` that names each step ``prefix + label`` on ``progress``
    (a check's fit is told apart from the next check's)."""

    def __init__(self, progress: Progress, prefix: str) -> None:
        self._progress = progress
        self._prefix = prefix

    def __call__(self, done: int, total: int, /) -> None:
        self._progress(done, total)

    def describe(self, label: str, /) -> None:
        describe_step(self._progress, self._prefix + label)


def _run_check(
    scenario: Scenario,
    spec: SimulationSpec,
    check: dict[str, Any],
    particles: int,
    generations: int,
    draws: int,
    seeds_per_draw: int,
    seed: int,
    scheduler: Any,
    progress: Progress | None,
    max_runs: int | None = None,
) -> list[dict[str, Any]]:
    """One check: fit on its fitting part, predict the held-out part; one row per predicted figure."""
    from kalkan.simulate.calibration import _simulate
    from kalkan.simulate.engine import run_seeds

    rows: list[dict[str, Any]] = []
    name = str(check.get("name", "check"))
    fit, pred, keep_fit, keep_pred = _check_parts(check, spec)
    rep_fit = replay(scenario, spec, keep_regions=keep_fit)
    frame, info = abc_smc(
        rep_fit,
        fit,
        particles=particles,
        generations=generations,
        seed=seed,
        scheduler=scheduler,
        progress=None if progress is None else _Prefixed(progress, f"{name}: fit, "),
        max_runs=max_runs,
    )
    rng = np.random.default_rng([seed, 31])
    w = frame["weight"].to_numpy(float)
    idx = rng.choice(len(frame), size=draws, p=w / w.sum())
    names = [p.name for p in FITTED]
    params = np.repeat(frame.iloc[idx][names].to_numpy(float), seeds_per_draw, axis=0)
    rep_pred = replay(scenario, spec, keep_regions=keep_pred)
    if progress is not None:
        describe_step(progress, f"{name}: predict")
    runs = _simulate(rep_pred, params, names, run_seeds([seed, 37], len(params)), scheduler, progress)
    for t in pred:
        values = np.array([outcome(r, t, rep_pred.region_names) for r in runs])
        p5, med, p95 = np.percentile(values, [5, 50, 95])
        holds = bool(p95 >= t.low and p5 <= t.high)
        rows.append(
            {
                "check": name,
                "fitted_to": "; ".join(f.label() for f in fit),
                "fit_inside_every_range": info["inside_every_range"],
                "predicted": t.label(),
                "outcome": t.outcome,
                "observed_low": t.low,
                "observed_high": t.high if np.isfinite(t.high) else np.nan,
                "p5": float(p5),
                "median": float(med),
                "p95": float(p95),
                "holds": holds,
                "runs": len(values),
                "source_ids": " ".join(t.source_ids),
            }
        )
    return rows


def validate(
    scenario: Scenario,
    *,
    particles: int = 120,
    generations: int = 5,
    draws: int = 60,
    seeds_per_draw: int = 2,
    seed: int = 0,
    scheduler: Any = None,
    progress: Progress | None = None,
    save: bool = True,
    max_runs: int | None = None,
) -> Validation:
    """Run every ``[[simulation.validation]]`` check of the scenario (see the module docstring)."""
    spec = simulation_spec(scenario)
    if not spec.validation:
        raise ScenarioError(
            f"Scenario {scenario.name!r} has no [[simulation.validation]] check: add one "
            "(fit on some regions or days, predict the others)."
        )
    from kalkan.simulate.engine import scheduler_session

    with scheduler_session(scheduler) as session:
        rows = [
            row
            for check in spec.validation
            for row in _run_check(
                scenario,
                spec,
                check,
                particles,
                generations,
                draws,
                seeds_per_draw,
                seed,
                session,
                progress,
                max_runs,
            )
        ]
    table = pd.DataFrame(rows)
    coverage = float(table["holds"].mean())
    note = (
        f"The 90% interval reached the published range in {int(table['holds'].sum())} of {len(table)} "
        f"held-out figures ({coverage:.0%}); a well-calibrated model would reach about 90% or more, and "
        f"{len(table)} figures are too few to tell much."
    )
    if save:
        table.to_csv(Path(scenario.path) / VALIDATION_CSV, index=False, float_format="%.6g")
    return Validation(table=table, coverage=coverage, note=note)


def load_validation(scenario: Scenario) -> Validation | None:
    """The stored validation of the scenario (None if it was never run)."""
    path = Path(scenario.path) / VALIDATION_CSV
    if not path.exists():
        return None
    table = pd.read_csv(path)
    coverage = float(table["holds"].mean()) if len(table) else float("nan")
    note = (
        f"The 90% interval reached the published range in {int(table['holds'].sum())} of {len(table)} "
        f"held-out figures ({coverage:.0%})."
    )
    return Validation(table=table, coverage=coverage, note=note)
