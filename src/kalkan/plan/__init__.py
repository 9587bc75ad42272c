"""The protection planner: who is at risk, how many officers of which kind, posted where, reach whom.

Public API (re-exported here): unit types and force options (:mod:`kalkan.plan.units`), coverage
problems (:mod:`kalkan.plan.coverage`; siting for depth in :mod:`kalkan.plan.depth`), force options
against coverage (:mod:`kalkan.plan.force`), travel time (:mod:`kalkan.plan.travel`). Populations at
risk are in :mod:`kalkan.plan.exposure`.

The names load on first use (kalkan._lazy), so importing one module of the package, such as
:mod:`kalkan.plan.defaults`, does not load SciPy and HiGHS.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kalkan._lazy import lazy_exports

if TYPE_CHECKING:
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

_WHERE = {
    "CapacitatedCovering": "capacitated",
    "ExpectedCovering": "depth",
    "ForceOption": "units",
    "MaximalCovering": "coverage",
    "OptionPlan": "force",
    "Reach": "reach",
    "SetCovering": "coverage",
    "UNIT_TYPES": "units",
    "UnitType": "units",
    "UnreachableDemandWarning": "coverage",
    "capacity_per_post": "capacitated",
    "coverage_curve": "force",
    "deployment_timeline": "timeline",
    "force_requirement": "force",
    "load_pledges": "timeline",
    "network_minutes": "travel",
    "officers_for_posts": "units",
    "officers_per_post": "units",
    "parse_options": "units",
    "plan_option": "force",
    "posts_for": "units",
    "reach_of": "reach",
    "solve_budgets": "coverage",
    "travel_minutes": "travel",
}

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

__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
