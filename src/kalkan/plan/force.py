"""Force options against coverage: where each option's posts stand and how much of the risk they reach.

- :func:`plan_option` places the posts one force option can hold 24/7 (see :mod:`kalkan.plan.units`)
  to maximise the at-risk weight within ``response_minutes`` of a post (maximal covering, solved by
  :class:`kalkan.plan.coverage.MaximalCovering`: greedy, swaps, a bound, HiGHS).
  With ``siting="depth"`` it maximises the *expected* reach instead (Daskin's maximum expected
  covering, :class:`kalkan.plan.depth.ExpectedCovering`): depth where the weight is, over thin reach.
- :func:`coverage_curve` does it for a range of budgets (officers), warm-starting each budget from the
  previous one, and reports a certified bound for each point.
- :func:`force_requirement` gives the smallest force that reaches each coverage target (e.g. 50%,
  80%, 95% of the at-risk weight), with a proven lower bound where the bound allows one.

The demand table has ``id`` (or ``place_id``), ``name``, ``latitude``, ``longitude``, ``weight``
(people at risk x risk multiplier: the planner's demand, see :mod:`kalkan.plan.exposure`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from kalkan.errors import InfeasibleError, OptionError
from kalkan.plan._tables import demand_frame
from kalkan.plan.coverage import MaximalCovering, SetCovering, solve_budgets
from kalkan.plan.defaults import RESPONSE_MINUTES
from kalkan.plan.reach import reach_of, weight_share
from kalkan.plan.travel import travel_minutes
from kalkan.plan.units import ForceOption, officers_for_posts, officers_per_post, posts_for, unit_type

__all__ = [
    "SITINGS",
    "OptionPlan",
    "check_siting",
    "coverage_curve",
    "force_requirement",
    "plan_option",
    "siting_problem",
    "travel_minutes",
]


@dataclass
class OptionPlan:
    """Where one force option's posts stand and what they reach.

    ``coverage_kind`` is ``"protected"`` for armed units and ``"observed"`` for unarmed monitors: the
    same reach means different things, and outputs keep the two apart.
    """

    option: ForceOption
    posts: int
    officers_used: int
    selected: pd.DataFrame
    covered_ids: list[Any]
    covered_weight: float
    total_weight: float
    covered_share: float
    bound: float
    gap: float
    status: str
    seconds: float
    coverage_kind: str
    response_minutes: float = RESPONSE_MINUTES
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """One row for a table of options."""
        return {
            "option": self.option.label,
            "unit": self.option.unit,
            "officers": self.option.officers,
            "posts": self.posts,
            "posts_used": len(self.selected),
            "officers_used": self.officers_used,
            "covered_weight": self.covered_weight,
            "covered_share": self.covered_share,
            "coverage_kind": self.coverage_kind,
            "bound": self.bound,
            "gap": self.gap,
            "status": self.status,
            "seconds": self.seconds,
            "siting": self.extra.get("siting", "reach"),
        }


#: How posts are sited: "reach" (maximal covering) or "depth" (maximum expected covering).
SITINGS = ("reach", "depth")


def check_siting(siting: str) -> str:
    """``siting`` if it is one of :data:`SITINGS`; otherwise an OptionError that lists them."""
    if siting not in SITINGS:
        raise OptionError(
            f"siting must be 'reach' (cover the most people once) or 'depth' (several posts where the "
            f"weight is; Daskin's expected covering); got {siting!r}."
        )
    return siting


def siting_problem(
    demand: pd.DataFrame,
    sites: pd.DataFrame,
    p: int,
    response_minutes: float,
    siting: str = "reach",
    busy: float | None = None,
) -> MaximalCovering:
    """The covering problem of ``p`` posts among ``sites`` for ``demand`` (checked tables, see
    :func:`kalkan.plan._tables.demand_frame`): maximal covering, or expected covering for "depth"."""
    kind: type[MaximalCovering] = MaximalCovering
    options: dict[str, Any] = {}
    if siting == "depth":
        from kalkan.plan.defaults import BUSY
        from kalkan.plan.depth import ExpectedCovering

        kind, options = ExpectedCovering, {"busy": BUSY if busy is None else busy}
    return kind.from_coordinates(
        demand[["latitude", "longitude"]].to_numpy(float),
        sites[["latitude", "longitude"]].to_numpy(float),
        demand["weight"].to_numpy(float),
        p=p,
        response_minutes=response_minutes,
        demand_ids=demand["id"].tolist(),
        site_ids=sites["id"].tolist(),
        **options,
    )


def _selected_frame(problem: MaximalCovering, demand: pd.DataFrame, sites: pd.DataFrame) -> pd.DataFrame:
    """Selected posts with the weight each one covers (a point goes to its nearest selected post)."""
    idx = problem.selected_index
    chosen = sites.iloc[idx][["id", "name", "latitude", "longitude"]].reset_index(drop=True)
    covered_w = np.zeros(len(idx))
    if len(idx):
        cov = problem.covered
        d = demand.loc[cov]
        minutes = travel_minutes(
            d["latitude"].to_numpy()[:, None],
            d["longitude"].to_numpy()[:, None],
            chosen["latitude"].to_numpy()[None, :],
            chosen["longitude"].to_numpy()[None, :],
        )
        reach = problem.coverage[idx][:, np.flatnonzero(cov)].T.toarray() > 0
        minutes = np.where(reach, minutes, np.inf)
        nearest = np.argmin(minutes, axis=1)
        np.add.at(covered_w, nearest, d["weight"].to_numpy(float))
    chosen["covered_weight"] = covered_w
    return chosen


def plan_option(
    demand: pd.DataFrame,
    option: ForceOption,
    *,
    response_minutes: float = RESPONSE_MINUTES,
    sites: pd.DataFrame | None = None,
    time_limit: float = 10.0,
    siting: str = "reach",
    busy: float | None = None,
) -> OptionPlan:
    """Place the posts ``option`` can hold 24/7 to maximise the at-risk weight within ``response_minutes``.

    Parameters
    ----------
    demand : DataFrame
        ``id``, ``name``, ``latitude``, ``longitude``, ``weight`` (people at risk, weighted by risk).
    option : ForceOption
        e.g. ``ForceOption("police", 600)``; its officers are turned into 24/7 posts by
        :func:`kalkan.plan.units.posts_for`.
    response_minutes : float
        A post reaches a place when the travel time (:func:`travel_minutes`) is at most this.
    sites : DataFrame, optional
        Candidate posts (``id``, ``name``, ``latitude``, ``longitude``); default: the demand places.
    time_limit : float
        Seconds for the solver; the answer says whether it is proven optimal (``status``, ``gap``).
    siting : "reach" or "depth"
        "reach" maximises the weight within reach of one post (maximal covering); "depth" the expected
        weight within reach of a free post when each is busy with probability ``busy`` (default
        :data:`kalkan.plan.depth.BUSY`), which stacks posts where the weight is. With "depth",
        ``bound`` and ``gap`` are of the expected weight, ``extra["expected_share"]`` holds it and
        ``extra["mean_depth"]`` the posts in reach of the average unit of weight.

    Raises
    ------
    OptionError
        When the option is too small to staff a single 24/7 post, or ``siting`` is unknown.
    """
    check_siting(siting)
    if not isinstance(option, ForceOption):
        raise OptionError(
            f"option must be a ForceOption (e.g. parse_options('police:600')[0]); got {option!r}."
        )
    posts = posts_for(option)
    if posts < 1:
        raise OptionError(
            f"{option.label} cannot staff one 24/7 post: a {option.unit} post takes "
            f"{officers_per_post(option.unit):.1f} officers"
            + (
                f" and {option.unit} deploy in groups of {option.unit_type.deploy_size}"
                if option.unit_type.deploy_size > 1
                else ""
            )
            + f"; use at least {officers_for_posts(option.unit, 1)} officers."
        )
    demand = demand_frame(demand)
    site_frame = demand_frame(sites, "sites", weight=False) if sites is not None else demand
    problem = siting_problem(demand, site_frame, posts, response_minutes, siting, busy)
    problem.solve(time_limit=time_limit)
    selected = _selected_frame(problem, demand, site_frame)
    reach = reach_of(demand, problem.covered)
    total, covered = reach.weight, reach.weight_in_reach
    officers_used = min(option.officers, officers_for_posts(option.unit, len(selected)))
    extra: dict[str, Any] = {"bound_share": weight_share(problem.bound, total), "siting": siting}
    if not math.isnan(reach.people_at_risk):
        extra["people_in_reach"] = reach.people_in_reach
    if siting == "depth":
        result = problem.result()
        extra.update({k: result[k] for k in ("busy", "expected_share", "mean_depth")})
    return OptionPlan(
        option=option,
        posts=posts,
        officers_used=officers_used,
        selected=selected,
        covered_ids=problem.covered_ids,
        covered_weight=covered,
        total_weight=total,
        covered_share=reach.covered_share,
        bound=problem.bound,
        gap=problem.gap,
        status=problem.status,
        seconds=problem.seconds,
        coverage_kind=option.unit_type.coverage_kind,
        response_minutes=float(response_minutes),
        extra=extra,
    )


def coverage_curve(
    demand: pd.DataFrame,
    unit: str,
    *,
    response_minutes: float,
    budgets: Sequence[int],
    sites: pd.DataFrame | None = None,
    time_limit: float = 2.0,
) -> pd.DataFrame:
    """Best coverage for each budget of officers of ``unit`` (a force requirement curve).

    Budgets are solved in increasing order of posts, each warm-started from the previous solution;
    each point gets ``time_limit`` seconds and its own certified bound. Returns one row per budget
    (in the order given) with ``officers, posts, covered_weight, covered_share, bound, gap``, plus
    ``bound_share``, ``status``, ``seconds`` and ``coverage_kind``.
    """
    kind = unit_type(unit)
    demand = demand_frame(demand)
    site_frame = demand_frame(sites, "sites", weight=False) if sites is not None else demand
    budgets = [int(b) for b in budgets]
    if any(b < 0 for b in budgets):
        raise OptionError(f"Budgets must be >= 0 officers; got {min(budgets)}.")
    posts_of = {b: (posts_for(ForceOption(kind.name, b)) if b > 0 else 0) for b in budgets}
    base = siting_problem(demand, site_frame, 1, response_minutes)
    total = base.total_weight
    by_posts: dict[int, dict[str, Any]] = {
        0: {"covered_weight": 0.0, "bound": 0.0, "gap": 0.0, "status": "optimal", "seconds": 0.0}
    }
    solved = solve_budgets(base, [p for p in posts_of.values() if p > 0], time_limit=time_limit)
    for p, problem in solved.items():
        by_posts[p] = {
            "covered_weight": problem.objective,
            "bound": problem.bound,
            "gap": problem.gap,
            "status": problem.status,
            "seconds": problem.seconds,
        }
    rows = []
    for b in budgets:
        p = posts_of[b]
        r = by_posts[p]
        rows.append(
            {
                "officers": b,
                "posts": p,
                "covered_weight": r["covered_weight"],
                "covered_share": weight_share(r["covered_weight"], total),
                "bound": r["bound"],
                "gap": r["gap"],
                "bound_share": weight_share(r["bound"], total),
                "status": r["status"],
                "seconds": r["seconds"],
                "coverage_kind": kind.coverage_kind,
            }
        )
    return pd.DataFrame(rows)


def force_requirement(
    demand: pd.DataFrame,
    unit: str,
    *,
    response_minutes: float,
    targets: Sequence[float] = (0.5, 0.8, 0.95),
    sites: pd.DataFrame | None = None,
    time_limit: float = 2.0,
) -> pd.DataFrame:
    """Smallest force of ``unit`` whose best placement reaches each target share of the weight.

    Returns one row per target: ``target, posts, officers, covered_share`` (what that force reaches),
    ``posts_lower_bound`` (fewer posts than this provably cannot reach the target) and ``proven``
    (``posts == posts_lower_bound``). Raises InfeasibleError for a target above the reachable share.
    """
    kind = unit_type(unit)
    demand = demand_frame(demand)
    site_frame = demand_frame(sites, "sites", weight=False) if sites is not None else demand
    targets = [float(t) for t in targets]
    bad = [t for t in targets if not 0 < t <= 1]
    if bad:
        raise OptionError(f"Coverage targets are shares in (0, 1]; got {bad[0]}: write 0.8 for 80%.")
    t0 = time.perf_counter()
    base = siting_problem(demand, site_frame, 1, response_minutes)
    total = base.total_weight
    base.warn_unreachable_demand()
    lscp = SetCovering(base.coverage, base.weights, demand_ids=base.demand_ids, site_ids=base.site_ids)
    lscp.warn_unreachable = False
    lscp.solve(time_limit=time_limit)
    reachable = float(base.weights[np.asarray(base.coverage.sum(axis=0)).ravel() > 0].sum())
    rows = []
    cache: dict[int, MaximalCovering] = {}

    def solve(p: int) -> MaximalCovering:
        if p not in cache:
            cache[p] = base.with_budget(p).solve(time_limit=time_limit)
        return cache[p]

    for target in targets:
        need = target * total
        if need > reachable * (1 + 1e-12):
            raise InfeasibleError(
                f"No force reaches {target:.0%} of the weight within {response_minutes:g} "
                f"minutes: at most {reachable / total:.1%} is within reach of any candidate "
                f"site. Lower the target, add sites or raise the response time."
            )
        full = max(1, int(lscp.objective))  # this many posts (the set cover) reach everything reachable
        lo, hi = 1, full
        # Binary search on posts using the coverage the solver achieves.
        while lo < hi:
            mid = (lo + hi) // 2
            if solve(mid).objective >= need - 1e-9 * max(total, 1.0):
                hi = mid
            else:
                lo = mid + 1
        posts = hi
        achieved = reachable if posts >= full and solve(posts).objective < need else solve(posts).objective
        # Lower bound: if the bound for q posts is below the target, no q' <= q posts can reach it.
        lo, hi = 1, posts
        while lo < hi:
            mid = (lo + hi) // 2
            if solve(mid).bound < need - 1e-9 * max(total, 1.0):
                lo = mid + 1
            else:
                hi = mid
        lower = lo
        rows.append(
            {
                "target": target,
                "posts": posts,
                "officers": officers_for_posts(kind.name, posts),
                "covered_share": weight_share(achieved, total),
                "posts_lower_bound": lower,
                "officers_lower_bound": officers_for_posts(kind.name, lower),
                "proven": lower == posts,
                "coverage_kind": kind.coverage_kind,
            }
        )
    frame = pd.DataFrame(rows)
    frame.attrs["seconds"] = time.perf_counter() - t0
    return frame
