"""Capacitated covering: exact vs brute force (every subset, assignment by LP), capacity respected."""

import itertools

import numpy as np
import pytest
from scipy.optimize import linprog

from kalkan.errors import InputError
from kalkan.plan.capacitated import PER_1000, CapacitatedCovering, capacity_per_post
from kalkan.plan.units import officers_per_post

pytestmark = pytest.mark.filterwarnings("ignore::kalkan.plan.coverage.UnreachableDemandWarning")


def _instance(seed: int, n: int = 9, m: int = 5):
    rng = np.random.default_rng(seed)
    demand, sites = rng.random((n, 2)), rng.random((m, 2))
    people = rng.integers(50, 400, n).astype(float)
    weights = people * rng.uniform(0.2, 1.0, n)  # risk-weighted people
    return demand, sites, weights, people


def _assignment_value(reach: np.ndarray, w: np.ndarray, pop: np.ndarray, cap: float, subset: tuple) -> float:
    """Best protected weight for a fixed set of posts: a small LP (obviously right, slow)."""
    pairs = [(i, j) for j in subset for i in range(len(w)) if reach[i, j]]
    if not pairs:
        return 0.0
    c = -np.array([w[i] for i, _ in pairs])
    rows, b = [], []
    for i in range(len(w)):  # each place at most fully protected
        rows.append([1.0 if pi == i else 0.0 for pi, _ in pairs])
        b.append(1.0)
    for j in subset:  # capacity
        rows.append([pop[pi] if pj == j else 0.0 for pi, pj in pairs])
        b.append(cap)
    res = linprog(c, A_ub=np.array(rows), b_ub=np.array(b), bounds=(0, 1), method="highs")
    return -float(res.fun)


@pytest.mark.parametrize("seed", range(6))
def test_capacitated_matches_brute_force(seed: int) -> None:
    demand, sites, weights, people = _instance(seed)
    radius, p, cap = 0.4, 2, 500.0
    reach = np.hypot(demand[:, None, 0] - sites[None, :, 0], demand[:, None, 1] - sites[None, :, 1]) <= radius
    best = max(
        _assignment_value(reach, weights, people, cap, s)
        for k in range(1, p + 1)
        for s in itertools.combinations(range(len(sites)), k)
    )
    problem = CapacitatedCovering.from_coordinates(
        demand, sites, weights, p=p, capacity=cap, population=people, radius=radius
    ).solve(time_limit=10)
    assert problem.status == "optimal"
    assert problem.objective == pytest.approx(best, rel=1e-6)
    # Capacity respected and reach respected in the assignment.
    per_post = problem.assigned.groupby("site_id")["people"].sum()
    assert (per_post <= cap * (1 + 1e-6)).all()
    heuristic = CapacitatedCovering.from_coordinates(
        demand, sites, weights, p=p, capacity=cap, population=people, radius=radius
    ).solve(method="heuristic")
    assert heuristic.objective <= best + 1e-6 <= heuristic.bound + 1e-6


def test_capacity_per_post_cites_quinlivan() -> None:
    # 20 per 1,000 -> 50 people per officer; a police post is 10.4 officers.
    assert PER_1000 == 20.0
    assert capacity_per_post("police") == pytest.approx(officers_per_post("police") * 50)
    with pytest.raises(InputError, match="per_1000"):
        capacity_per_post("police", 0)


def test_capacity_binds_below_uncapacitated() -> None:
    demand, sites, weights, people = _instance(3, n=20, m=6)
    big = CapacitatedCovering.from_coordinates(
        demand, sites, weights, p=3, capacity=1e9, population=people, radius=0.5
    ).solve()
    small = CapacitatedCovering.from_coordinates(
        demand, sites, weights, p=3, capacity=100.0, population=people, radius=0.5
    ).solve()
    assert small.objective <= big.objective
    assert small.objective <= 3 * 100.0 * (weights / people).max() + 1e-9
