"""The protection planner: who is at risk, how many officers of which kind, posted where, reach whom.

Public API (re-exported here): unit types and force options (:mod:`kalkan.plan.units`), coverage
problems (:mod:`kalkan.plan.coverage`; siting for depth in :mod:`kalkan.plan.depth`), force options
against coverage (:mod:`kalkan.plan.force`), travel time (:mod:`kalkan.plan.travel`). Populations at
risk are in :mod:`kalkan.plan.exposure`.
"""

from kalkan.plan.capacitated import CapacitatedCovering, capacity_per_post
from kalkan.plan.coverage import MaximalCovering, SetCovering, UnreachableDemandWarning, solve_budgets
from kalkan.plan.depth import ExpectedCovering
from kalkan.plan.force import OptionPlan, coverage_curve, force_requirement, plan_option
from kalkan.plan.reach import Reach, reach_of
from kalkan.plan.timeline import deployment_timeline, load_pledges
from kalkan.plan.travel import network_minutes, travel_minutes
from kalkan.plan.units import (
    UNIT_TYPES,
    ForceOption,
    UnitType,
    officers_for_posts,
    officers_per_post,
    parse_options,
    posts_for,
)

__all__ = [
    "CapacitatedCovering",
    "ExpectedCovering",
    "ForceOption",
    "MaximalCovering",
    "OptionPlan",
    "Reach",
    "SetCovering",
    "UNIT_TYPES",
    "UnitType",
    "UnreachableDemandWarning",
    "capacity_per_post",
    "coverage_curve",
    "deployment_timeline",
    "force_requirement",
    "load_pledges",
    "network_minutes",
    "officers_for_posts",
    "officers_per_post",
    "parse_options",
    "plan_option",
    "posts_for",
    "reach_of",
    "solve_budgets",
    "travel_minutes",
]
