"""The planner's defaults in one table (name, value, unit, what it means, where it comes from).

This module is the only place a default is written: the planner's modules, the CLI, the simulation
and the brief import the constants below (``RESPONSE_MINUTES``, ``DEFAULT_OPTIONS``, ...), and
:data:`SETTINGS` lists them for the docs and help texts. The docs (``docs/plan.md``) list the same
names; a test checks that none is missing. It imports nothing from the planner, so anything may
import it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

#: A post reaches a place within this travel time (minutes); a scenario may set its own.
RESPONSE_MINUTES = 30.0
#: Share (0-1) of the risk-weighted people at risk the brief's recommended force must reach; a scenario
#: may set its own.
TARGET = 0.8
#: The incident risk kernel (:func:`kalkan.plan.exposure.incident_kernel_weight`): its Gaussian's
#: width (km), its decay in time (days) and the floor every place keeps; a scenario may set its own.
RISK_KERNEL_KM = 25.0
RISK_DECAY_DAYS = 14.0
RISK_FLOOR = 0.1
#: Road distance over straight-line distance.
CIRCUITY = 1.3
#: Average vehicle speed (km/h).
SPEED_KMH = 40.0
#: Walking speed from a point to the nearest road vertex (km/h).
ACCESS_SPEED_KMH = 5.0
#: Officers needed per position staffed 24/7 (relief factor 8,760 h / 1,698 h, LGPC 2012).
SHIFT_MULTIPLIER_24_7 = 5.2
#: Security personnel per 1,000 inhabitants for population security (Quinlivan 1995, 2003).
PER_1000 = 20.0
#: Chance a post is busy when it is needed (siting for depth); an assumption.
BUSY = 0.5
#: Solver seconds per problem (the CLI's --time-limit).
TIME_LIMIT = 10.0
#: ``method="auto"`` runs the whole MILP up to this many coverage entries.
MILP_MAX_NONZEROS = 100_000
#: Below this many seconds left, ``solve`` keeps improving the bound instead of starting HiGHS.
MILP_MIN_SECONDS = 1.0
#: Force options compared when neither the user nor the scenario names any.
DEFAULT_OPTIONS = "monitors:50,monitors:100,police:300,police:600,police:1000"


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
        RESPONSE_MINUTES,
        "minutes",
        "a post reaches a place within this travel time",
        "scenario default (kyrgyzstan_2010 scenario.toml)",
    ),
    Setting(
        "target",
        TARGET,
        "share",
        "share of the risk-weighted people at risk the recommended force must reach (the brief)",
        "scenario default (kyrgyzstan_2010 scenario.toml)",
    ),
    Setting(
        "risk_kernel_km",
        RISK_KERNEL_KM,
        "km",
        "width of the incident risk kernel's Gaussian in distance",
        "scenario default (kyrgyzstan_2010 scenario.toml [risk_kernel] distance_km)",
    ),
    Setting(
        "risk_decay_days",
        RISK_DECAY_DAYS,
        "days",
        "decay time of an incident's weight in the risk kernel",
        "scenario default (kyrgyzstan_2010 scenario.toml [risk_kernel] decay_days)",
    ),
    Setting(
        "risk_floor",
        RISK_FLOOR,
        "multiplier",
        "risk weight every place keeps with no incident near",
        "scenario default (kyrgyzstan_2010 scenario.toml [risk_kernel] floor)",
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
    Setting(
        "busy", BUSY, "probability", "chance a post is busy when needed (siting for depth)", "assumption"
    ),
    Setting(
        "time_limit", TIME_LIMIT, "seconds", "solver time per problem (the CLI's --time-limit)", "kalkan"
    ),
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
