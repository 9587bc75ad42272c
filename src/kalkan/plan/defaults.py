"""The planner's defaults in one table (name, value, unit, what it means, where it comes from).

The docs (``docs/plan.md``) list the same names; a test checks that none is missing.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from kalkan.plan.capacitated import PER_1000
from kalkan.plan.coverage import MILP_MAX_NONZEROS, MILP_MIN_SECONDS
from kalkan.plan.travel import ACCESS_SPEED_KMH, CIRCUITY, SPEED_KMH
from kalkan.plan.units import SHIFT_MULTIPLIER_24_7


@dataclass(frozen=True)
class Setting:
    """One default of the planner."""

    name: str
    value: float
    unit: str
    help: str
    source: str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "response_minutes",
        30.0,
        "minutes",
        "a post reaches a place within this travel time",
        "scenario default (kyrgyzstan_2010 scenario.toml)",
    ),
    Setting(
        "circuity",
        CIRCUITY,
        "ratio",
        "road distance over straight-line distance",
        "assumption above the urban 1.2 (Newell 1980; Ballou et al. 2002)",
    ),
    Setting("speed_kmh", SPEED_KMH, "km/h", "average vehicle speed", "assumption"),
    Setting(
        "access_speed_kmh",
        ACCESS_SPEED_KMH,
        "km/h",
        "walk from a point to the nearest road vertex",
        "walking speed (assumption)",
    ),
    Setting(
        "shift_multiplier",
        SHIFT_MULTIPLIER_24_7,
        "officers per position",
        "officers needed per position staffed 24/7",
        "relief factor 8,760 h / 1,698 h (LGPC 2012)",
    ),
    Setting(
        "per_1000",
        PER_1000,
        "personnel per 1,000 people",
        "density for population security (capacity)",
        "Quinlivan 1995, 2003",
    ),
    Setting("time_limit", 10.0, "seconds", "solver time per problem (the CLI's --time-limit)", "kalkan"),
    Setting(
        "milp_max_nonzeros",
        float(MILP_MAX_NONZEROS),
        "coverage entries",
        "method='auto' runs HiGHS up to this size",
        "kalkan (measured: HiGHS root LP on one core)",
    ),
    Setting(
        "milp_min_seconds", MILP_MIN_SECONDS, "seconds", "below this time left, no HiGHS start", "kalkan"
    ),
)


def settings_table() -> pd.DataFrame:
    """The defaults as a table (for docs, ``--help`` texts and briefs)."""
    return pd.DataFrame([s.__dict__ for s in SETTINGS])
