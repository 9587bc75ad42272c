"""The stated prior of every uncertain parameter of the geographic model, and why it is that wide.

Three kinds:

* **fitted** (:data:`FITTED`): learnt by ABC-SMC from the scenario's no-force outcomes (deaths, homes,
  displaced), which they drive;
* **force** (:data:`FORCE`): what a force does. No-force outcomes cannot tell them, so comparisons draw
  them from these priors: the posterior of each equals its prior, and the intervals carry the doubt;
* **context** (:data:`CONTEXT`): what the analyst sets (reach, speed with roadblocks, officers per post,
  population and group shares within their sources' ranges), varied only in the sensitivity analysis.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from kalkan.plan.defaults import RESPONSE_MINUTES

__all__ = ["CONTEXT", "FITTED", "FORCE", "Prior", "prior_table"]


@dataclass(frozen=True)
class Prior:
    """Uniform (``log=False``) or log-uniform (``log=True``) on [low, high]."""

    name: str
    low: float
    high: float
    log: bool
    why: str

    def to_unit(self, x: np.ndarray) -> np.ndarray:
        """Map values to [0, 1] (in log space for a log-uniform prior)."""
        if self.log:
            return np.asarray(
                (np.log(x) - np.log(self.low)) / (np.log(self.high) - np.log(self.low)), dtype=float
            )
        return (np.asarray(x, dtype=float) - self.low) / (self.high - self.low)

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`to_unit`: a uniform draw on [0, 1] becomes a prior draw."""
        u = np.asarray(u, dtype=float)
        if self.log:
            return np.asarray(np.exp(np.log(self.low) + u * (np.log(self.high) - np.log(self.low))))
        return self.low + u * (self.high - self.low)

    def describe(self) -> str:
        kind = "log-uniform" if self.log else "uniform"
        return f"{kind} {self.low:g} to {self.high:g}"


#: Fitted to the no-force outcomes (the issue's calibration targets).
FITTED: tuple[Prior, ...] = (
    Prior(
        "lethality",
        0.01,
        1.0,
        True,
        "people killed per attack by a 100-person agent: from almost none to one per attack",
    ),
    Prior("arson", 0.02, 3.0, True, "homes burnt per attack: from almost none to several"),
    Prior("flight", 0.5, 40.0, True, "how fast attacked groups flee (displacement)"),
    Prior("spark_distrust", 0.005, 0.3, True, "distrust where a clash breaks out: the size of the outbreak"),
    Prior("distrust_per_attack", 0.003, 1.0, True, "self-excitation: distrust added by attacks"),
    Prior("crowd_growth", 0.0, 0.5, False, "crowds draw people in (Granovetter 1978); 0 = no contagion"),
)

#: What a force does: not learnable from an outbreak no force met; drawn from the prior in comparisons.
FORCE: tuple[Prior, ...] = (
    Prior(
        "officer_weight",
        0.01,
        30.0,
        True,
        "rioters one armed officer counts against: 0.01 is almost no "
        "effect; 30 is more than Hultman, Kathman & Shannon's association implies in this model",
    ),
    Prior(
        "monitor_effect",
        -0.05,
        0.05,
        False,
        "unarmed monitors may deter (> 0) or embolden (< 0): Hultman "
        "et al. find more unarmed observers go with more civilian deaths; 0.05 is about the net "
        "risk an agent feels from a strong police presence",
    ),
    Prior(
        "forces_join",
        0.0,
        0.3,
        False,
        "share of a force's officers who stand aside or take part "
        "(inquiry commissions have reported security-force members taking part; see docs/simulate.md)",
    ),
    Prior(
        "avoid_posts",
        0.0,
        1.0,
        False,
        "how strongly mobs avoid places with armed police (little "
        "displacement in hot-spot policing: Weisburd et al. 2006; riots unknown)",
    ),
)

#: Context settings: varied in the sensitivity analysis only (multipliers are relative to the scenario).
CONTEXT: tuple[Prior, ...] = (
    Prior(
        "response_minutes",
        15.0,
        60.0,
        False,
        f"reach of a post (planner default {RESPONSE_MINUTES:g} minutes)",
    ),
    Prior(
        "speed_factor",
        0.5,
        1.0,
        False,
        "travel speed with roadblocks, as a share of normal speed (roadblocks slow both police and mobs)",
    ),
    Prior(
        "officers_factor",
        0.5,
        1.5,
        False,
        "officers actually on duty per post, as a share of the unit's standard",
    ),
    Prior(
        "population_factor", 0.8, 1.2, False, "population estimates within +-20% (census and GeoNames points)"
    ),
    Prior("share_factor", 0.8, 1.2, False, "share of the group at risk within +-20% of the census share"),
)


def prior_table(priors: Sequence[Prior] = FITTED + FORCE + CONTEXT) -> list[dict[str, str]]:
    """One row per prior: name, distribution, why (for docs and the brief)."""
    return [{"parameter": p.name, "prior": p.describe(), "why": p.why} for p in priors]
