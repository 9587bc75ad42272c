"""What each option changes: agent-based simulation of inter-group violence and police deterrence.

* :class:`LatticeModel`: Epstein's civil-violence models I and II on a torus lattice (validation,
  benchmark against Mesa).
* :class:`GeoModel`: model II on the scenario's real places, with police posts from the planner.
* :func:`simulate_options`: Monte Carlo of force options (median and 90% interval), serial or on Dask.

The names load lazily (numba, pandas), so ``kalkan --help`` does not pay for them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kalkan.simulate.calibration import CALIBRATED
    from kalkan.simulate.geo import GEO_SETTINGS, GeoModel, GeoRun, Setting
    from kalkan.simulate.lattice import MODEL_II_RUNS, LatticeModel, LatticeRun
    from kalkan.simulate.montecarlo import OUTCOMES, run_seeds, simulate_options
    from kalkan.simulate.scenario import (
        option_posts,
        posts_from_plan,
        scenario_model,
        scenario_places,
        spark_steps,
    )

_WHERE = {
    "CALIBRATED": "calibration",
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
    "CALIBRATED",
    "GEO_SETTINGS",
    "MODEL_II_RUNS",
    "OUTCOMES",
    "GeoModel",
    "GeoRun",
    "LatticeModel",
    "LatticeRun",
    "Setting",
    "option_posts",
    "posts_from_plan",
    "run_seeds",
    "scenario_model",
    "scenario_places",
    "simulate_options",
    "spark_steps",
]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(importlib.import_module(f"kalkan.simulate.{_WHERE[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'kalkan.simulate' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
