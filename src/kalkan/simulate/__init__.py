"""What each option changes: agent-based simulation of inter-group violence and police deterrence.

* :class:`LatticeModel`: Epstein's civil-violence models I and II on a torus lattice (validation,
  benchmark against Mesa).
* :class:`GeoModel`: model II on the scenario's real places, with police posts from the planner.
* :func:`calibrate` / :func:`load_posterior`: ABC-SMC fit of the free parameters to the scenario's
  published outcomes, kept as data in the scenario folder (:class:`Posterior`).
* :func:`compare_options`: options compared as of a date, posterior-predictive, flashpoints from the
  risk forecast, arrival from force generation (:class:`Comparison`).
* :func:`sensitivity`: Morris or Sobol indices of deaths per option (:class:`Sensitivity`).
* :func:`validate`: held-out checks and the coverage of the 90% intervals.
* :func:`simulate_options`: the replayed outbreak at one parameter point (hindcast), over seeds.

The names load lazily (numba, pandas), so ``kalkan --help`` does not pay for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kalkan._lazy import lazy_exports

if TYPE_CHECKING:
    from kalkan.simulate.calibration import Posterior, calibrate, load_posterior
    from kalkan.simulate.geo import GEO_SETTINGS, GeoModel, GeoRun, Setting
    from kalkan.simulate.lattice import MODEL_II_RUNS, LatticeModel, LatticeRun
    from kalkan.simulate.montecarlo import OUTCOMES, run_seeds, simulate_options
    from kalkan.simulate.predictive import Comparison, compare_options
    from kalkan.simulate.scenario import (
        option_posts,
        posts_from_plan,
        scenario_model,
        scenario_places,
        spark_steps,
    )
    from kalkan.simulate.sensitivity import Sensitivity, load_sensitivity, save_sensitivity, sensitivity
    from kalkan.simulate.spec import NotCalibratedError, SimulationSpec, Target, simulation_spec
    from kalkan.simulate.validation import Validation, load_validation, validate

_WHERE = {
    "Posterior": "calibration",
    "calibrate": "calibration",
    "load_posterior": "calibration",
    "Comparison": "predictive",
    "compare_options": "predictive",
    "Sensitivity": "sensitivity",
    "sensitivity": "sensitivity",
    "load_sensitivity": "sensitivity",
    "save_sensitivity": "sensitivity",
    "NotCalibratedError": "spec",
    "SimulationSpec": "spec",
    "Target": "spec",
    "simulation_spec": "spec",
    "Validation": "validation",
    "validate": "validation",
    "load_validation": "validation",
    "GEO_SETTINGS": "geo",
    "GeoModel": "geo",
    "GeoRun": "geo",
    "Setting": "geo",
    "MODEL_II_RUNS": "lattice",
    "LatticeModel": "lattice",
    "LatticeRun": "lattice",
    "OUTCOMES": "montecarlo",
    "run_seeds": "montecarlo",
    "simulate_options": "montecarlo",
    "option_posts": "scenario",
    "posts_from_plan": "scenario",
    "scenario_model": "scenario",
    "scenario_places": "scenario",
    "spark_steps": "scenario",
}

__all__ = [
    "GEO_SETTINGS",
    "MODEL_II_RUNS",
    "OUTCOMES",
    "Comparison",
    "GeoModel",
    "GeoRun",
    "LatticeModel",
    "LatticeRun",
    "NotCalibratedError",
    "Posterior",
    "Sensitivity",
    "Setting",
    "SimulationSpec",
    "Target",
    "Validation",
    "calibrate",
    "compare_options",
    "load_posterior",
    "load_sensitivity",
    "load_validation",
    "option_posts",
    "posts_from_plan",
    "run_seeds",
    "save_sensitivity",
    "scenario_model",
    "scenario_places",
    "sensitivity",
    "simulate_options",
    "simulation_spec",
    "spark_steps",
    "validate",
]


__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
