"""Calibration of the geographic model's free parameters to the 2010 no-force outcomes.

Targets (the scenario's facts, ``/work/shared/data/kyrgyzstan-2010/facts.md``), over the first
``days`` days from the night of 10 June 2010, with no international force:

* deaths: about 470 (Kyrgyzstan Inquiry Commission; S_CEPS, S_BRECORDER_KIC, S_FOX_KIC);
* homes destroyed: 1,800-2,800, midpoint 2,300 (UNOSAT 1,805 buildings in Osh, S_UNOSAT1461; OCHA 1,889
  compounds, S_RADIANCE_OCHA; the issue's upper figure 2,800 is KIC's, not verified in facts.md);
* displaced: about 400,000 (UNHCR: 300,000 internally plus about 100,000 to Uzbekistan, S_UNHCR_0617).

Fitted, in this order (each target is driven by one parameter, which makes the fit a sequence of
one-dimensional searches rather than a joint optimisation):

1. ``flight`` to the displaced (grid, then log-log interpolation between the two grid points that
   bracket the target): flight controls how fast attacked groups leave, which also ends the attacks.
2. ``lethality`` = deaths target / median attacks, and ``arson`` = homes target / median attacks:
   deaths and burnt homes do not feed back on the dynamics (an agent of 100 people rarely dies),
   so they scale with the number of attacks.

Set, not fitted: ``legitimacy`` (0.9, Epstein's coexistence run), ``spark_distrust`` and
``distrust_per_attack`` (the size of the outbreak and its self-excitation: the three totals cannot
tell them apart from ``flight``; see docs/simulate.md for their sensitivity).

The police deterrence weight ``officer_weight`` cannot be learnt from 2010, when no force came. It
is anchored to Hultman, Kathman & Shannon (2013): their predicted civilian deaths fall from 96 to 14 a
month with 200 UN police (PKSOI summary, force-planning-anchors.md section 6). :func:`anchor_officer_weight`
picks the weight at which 200 armed police cut the median deaths to 14/96 of no force.

``CALIBRATED`` holds the values last found by ``python -m kalkan.simulate.calibration``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from kalkan.scenarios import Scenario

__all__ = ["CALIBRATED", "TARGETS", "anchor_officer_weight", "calibrate"]

#: Observed no-force outcomes the model is fitted to (people, homes, people).
TARGETS = {"deaths": 470.0, "homes_destroyed": 2300.0, "displaced": 400000.0}

#: Result of ``python -m kalkan.simulate.calibration`` (seed 0, 16 runs per point, 10 days).
CALIBRATED: dict[str, Any] = {
    "spark_distrust": 0.01,
    "distrust_per_attack": 0.01,
    "flight": 12.03,
    "lethality": 0.08353,
    "arson": 0.40878,
    "officer_weight": 3.494,
}


def _medians(scenario: Scenario, settings: dict[str, Any], runs: int, days: int, seed: int,
             posts: pd.DataFrame | None = None) -> dict[str, float]:
    from kalkan.simulate.montecarlo import run_batch, run_seeds
    from kalkan.simulate.scenario import scenario_model

    model = scenario_model(scenario, **settings)
    if posts is not None:
        model.set_posts(posts)
    res = pd.DataFrame(run_batch(model, run_seeds(seed, runs), days))
    return {c: float(np.median(res[c])) for c in ("deaths", "homes_destroyed", "displaced", "attacks")}


def _interpolate(xs: list[float], ys: list[float], target: float) -> float:
    """x where log y crosses log target, interpolating in log x between bracketing grid points."""
    lx, ly, lt = np.log(xs), np.log(np.maximum(ys, 1.0)), np.log(target)
    for i in range(len(xs) - 1):
        if (ly[i] - lt) * (ly[i + 1] - lt) <= 0 and ly[i] != ly[i + 1]:
            return float(np.exp(lx[i] + (lt - ly[i]) * (lx[i + 1] - lx[i]) / (ly[i + 1] - ly[i])))
    return float(xs[int(np.argmin(np.abs(ly - lt)))])


def calibrate(scenario: Scenario, *, runs: int = 16, days: int = 10, seed: int = 0,
              base: dict[str, Any] | None = None) -> tuple[dict[str, Any], pd.DataFrame]:
    """Fit ``flight``, ``lethality`` and ``arson`` to :data:`TARGETS`; return them and the grid tried."""
    settings = {**CALIBRATED, **(base or {})}
    grid = [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0]
    rows = []
    for flight in grid:
        med = _medians(scenario, {**settings, "flight": flight}, runs, days, seed)
        rows.append({"flight": flight, **med})
    table = pd.DataFrame(rows)
    flight = _interpolate(grid, table["displaced"].tolist(), TARGETS["displaced"])
    fitted = {**settings, "flight": round(flight, 3)}
    med = _medians(scenario, fitted, runs, days, seed)
    fitted["lethality"] = round(TARGETS["deaths"] / med["attacks"], 5)
    fitted["arson"] = round(TARGETS["homes_destroyed"] / med["attacks"], 5)
    return fitted, table


def anchor_officer_weight(scenario: Scenario, settings: dict[str, Any], *, officers: int = 200,
                          ratio: float = 14.0 / 96.0, runs: int = 16, days: int = 10,
                          seed: int = 0) -> tuple[float, pd.DataFrame]:
    """The ``officer_weight`` at which ``officers`` armed police cut median deaths to ``ratio`` x none."""
    from kalkan.plan.units import ForceOption
    from kalkan.simulate.scenario import option_posts, scenario_places

    places = scenario_places(scenario)
    posts = option_posts(places, ForceOption("police", officers))
    none = _medians(scenario, settings, runs, days, seed)["deaths"]
    grid = [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0]
    rows = []
    for weight in grid:
        deaths = _medians(scenario, {**settings, "officer_weight": weight}, runs, days, seed, posts)["deaths"]
        rows.append({"officer_weight": weight, "deaths": deaths, "ratio": deaths / none if none else np.nan})
    table = pd.DataFrame(rows)
    weight = _interpolate(grid, [max(r, 1e-3) * 1e6 for r in table["ratio"]], ratio * 1e6)
    return round(weight, 3), table


def main() -> None:
    """Rerun the calibration and print the values to paste into ``CALIBRATED``."""
    from kalkan.scenarios import load_scenario

    scenario = load_scenario("kyrgyzstan_2010")
    fitted, grid = calibrate(scenario)
    print(grid.to_string(index=False))
    weight, table = anchor_officer_weight(scenario, fitted)
    print(table.to_string(index=False))
    fitted["officer_weight"] = weight
    print(fitted)


if __name__ == "__main__":
    main()
