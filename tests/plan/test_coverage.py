"""Coverage problems: exact vs brute force, bounds never below the optimum, honest statuses."""

import itertools
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kalkan.errors import InfeasibleError, InputError, NotSolvedError
from kalkan.plan.coverage import MaximalCovering, SetCovering, UnreachableDemandWarning, solve_budgets


def _instance(seed: int, n: int = 10, m: int = 7, radius: float = 0.35):
    rng = np.random.default_rng(seed)
    demand = rng.random((n, 2))
    sites = rng.random((m, 2))
    weights = rng.integers(0, 11, n).astype(float)
    return demand, sites, weights, radius


def _cover_matrix(demand, sites, radius):
    d = np.hypot(demand[:, None, 0] - sites[None, :, 0], demand[:, None, 1] - sites[None, :, 1])
    return d <= radius  # demand x sites


def brute_mclp(demand, sites, weights, radius, p) -> float:
    """The optimum by trying every set of at most p sites (obviously right, slow)."""
    cover = _cover_matrix(demand, sites, radius)
    best = 0.0
    for k in range(1, p + 1):
        for subset in itertools.combinations(range(len(sites)), k):
            best = max(best, float(weights[cover[:, list(subset)].any(axis=1)].sum()))
    return best


def brute_lscp(demand, sites, radius) -> int:
    cover = _cover_matrix(demand, sites, radius)
    reachable = cover.any(axis=1)
    for k in range(1, len(sites) + 1):
        for subset in itertools.combinations(range(len(sites)), k):
            if cover[reachable][:, list(subset)].any(axis=1).all():
                return k
    return 0


def _quiet(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnreachableDemandWarning)
        return fn()


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("p", [1, 2, 3])
def test_mclp_exact_matches_brute_force(seed: int, p: int) -> None:
    demand, sites, weights, radius = _instance(seed)
    optimum = brute_mclp(demand, sites, weights, radius, p)
    problem = _quiet(
        lambda: MaximalCovering.from_coordinates(demand, sites, weights, p=p, radius=radius).solve(
            time_limit=5
        )
    )
    assert problem.status == "optimal"
    assert problem.objective == pytest.approx(optimum)
    assert problem.gap == 0.0
    assert problem.bound >= optimum - 1e-9
    assert len(problem.selected) <= p
    # The reported objective is what the selected sites really cover.
    cover = _cover_matrix(demand, sites, radius)
    assert problem.covered_weight == pytest.approx(
        weights[cover[:, problem.selected_index].any(axis=1)].sum()
    )


@pytest.mark.parametrize("seed", range(12))
def test_heuristic_bound_and_gap_never_understate(seed: int) -> None:
    demand, sites, weights, radius = _instance(seed, n=14, m=9, radius=0.3)
    p = 3
    optimum = brute_mclp(demand, sites, weights, radius, p)
    problem = _quiet(
        lambda: MaximalCovering.from_coordinates(demand, sites, weights, p=p, radius=radius).solve(
            time_limit=5, method="heuristic"
        )
    )
    assert problem.objective <= optimum + 1e-9  # a heuristic never beats the optimum
    assert problem.bound >= optimum - 1e-9  # the bound is never below it
    true_gap = (optimum - problem.objective) / optimum if optimum else 0.0
    assert problem.gap >= true_gap - 1e-12  # the gap never understates the truth
    assert problem.status in ("optimal", "heuristic")
    if problem.status == "optimal":
        assert problem.objective == pytest.approx(optimum)


@pytest.mark.parametrize("seed", range(10))
def test_lscp_matches_brute_force_and_covers_every_reachable_point(seed: int) -> None:
    demand, sites, weights, radius = _instance(seed, n=12, m=7, radius=0.35)
    optimum = brute_lscp(demand, sites, radius)
    problem = _quiet(lambda: SetCovering.from_coordinates(demand, sites, radius=radius).solve(time_limit=5))
    cover = _cover_matrix(demand, sites, radius)
    reachable = cover.any(axis=1)
    assert cover[reachable][:, problem.selected_index].any(axis=1).all()
    assert problem.objective == optimum
    assert problem.status == "optimal"
    assert problem.bound <= optimum


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 12),
    m=st.integers(1, 6),
    p=st.integers(1, 4),
    radius=st.floats(0.05, 0.8),
)
def test_property_bound_and_exact(seed: int, n: int, m: int, p: int, radius: float) -> None:
    demand, sites, weights, _ = _instance(seed, n=n, m=m)
    optimum = brute_mclp(demand, sites, weights, radius, p)
    heuristic = _quiet(
        lambda: MaximalCovering.from_coordinates(demand, sites, weights, p=p, radius=radius).solve(
            time_limit=5, method="heuristic"
        )
    )
    assert heuristic.objective <= optimum + 1e-9 <= heuristic.bound + 2e-9
    exact = _quiet(
        lambda: MaximalCovering.from_coordinates(demand, sites, weights, p=p, radius=radius).solve(
            time_limit=5
        )
    )
    assert exact.objective == pytest.approx(optimum)
    assert exact.status == "optimal"


def test_cost_matrix_constructor_and_constant_weight_invariance() -> None:
    demand, sites, weights, radius = _instance(3, n=30, m=10)
    cost = np.hypot(demand[:, None, 0] - sites[None, :, 0], demand[:, None, 1] - sites[None, :, 1])
    a = _quiet(lambda: MaximalCovering.from_cost_matrix(cost, weights, max_cost=radius, p=3).solve())
    b = _quiet(lambda: MaximalCovering.from_cost_matrix(cost, weights * 7.0, max_cost=radius, p=3).solve())
    assert b.objective == pytest.approx(7.0 * a.objective)
    assert a.selected == b.selected or b.objective == pytest.approx(7.0 * a.objective)


def test_unreachable_points_warn_with_counts() -> None:
    demand = np.array([[0.0, 0.0], [10.0, 10.0]])
    sites = np.array([[0.0, 0.1]])
    with pytest.warns(UnreachableDemandWarning, match="1 demand points"):
        problem = MaximalCovering.from_coordinates(demand, sites, [1.0, 5.0], p=1, radius=0.5).solve()
    assert problem.unreachable.tolist() == [1]
    assert problem.covered_weight == 1.0
    with pytest.raises(InfeasibleError, match="No site reaches"):
        _quiet(lambda: SetCovering.from_coordinates(np.array([[5.0, 5.0]]), sites, radius=0.5).solve())


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"weights": [1.0, -2.0, 3.0]}, "1 demand weights are negative"),  # negative weight
        ({"weights": [1.0, np.nan, 3.0]}, "missing or infinite"),  # missing weight
        ({"demand_ids": ["a", "b", "a"]}, "share an id"),  # duplicate ids
        ({"p": 0}, "must be a whole number >= 1"),  # budget below one post
        ({"radius": -1.0}, "radius must be a finite number > 0"),  # bad reach
    ],
)
def test_bad_input_is_named(kwargs: dict, match: str) -> None:
    args = {"weights": [1.0, 2.0, 3.0], "p": 1, "radius": 0.5}
    args.update(kwargs)
    demand = np.array([[0.0, 0.0], [0.1, 0.1], [0.2, 0.2]])
    with pytest.raises(InputError, match=match):
        MaximalCovering.from_coordinates(demand, demand, args.pop("weights"), **args)


def test_swapped_coordinates_are_named() -> None:
    # Longitude values (72-73) in the latitude column are fine, but 100+ is not a latitude.
    demand = np.array([[40.5, 72.8], [103.0, 41.0]])
    with pytest.raises(InputError, match="look swapped"):
        MaximalCovering.from_coordinates(demand, demand, [1, 1], p=1, response_minutes=30)


def test_results_before_solve_say_so() -> None:
    demand, sites, weights, radius = _instance(1)
    problem = MaximalCovering.from_coordinates(demand, sites, weights, p=1, radius=radius)
    assert problem.status == "unsolved"
    with pytest.raises(NotSolvedError, match="call solve"):
        problem.result()


def test_road_network_reach_differs_from_straight_line() -> None:
    # Two places 0.1 degree of longitude apart (8.5 km; 16.6 min by the default straight-line model), but
    # the only road goes round by 40.1 N: 11.1 + 8.5 + 11.1 km at 60 km/h = 30.7 min.
    road = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"speed_kmh": 60},
                "geometry": {
                    "type": "LineString",
                    "coordinates": [[72.0, 40.0], [72.0, 40.1], [72.1, 40.1], [72.1, 40.0]],
                },
            }
        ],
    }
    demand = np.array([[40.0, 72.0], [40.0, 72.1]])
    for minutes, straight_weight, road_weight in ((20, 2.0, 1.0), (31, 2.0, 2.0), (15, 1.0, 1.0)):
        straight = MaximalCovering.from_coordinates(
            demand, demand[:1], [1.0, 1.0], p=1, response_minutes=minutes
        )
        straight = _quiet(lambda straight=straight: straight.solve())
        by_road = MaximalCovering.from_coordinates(
            demand, demand[:1], [1.0, 1.0], p=1, response_minutes=minutes, network=road
        )
        by_road = _quiet(lambda by_road=by_road: by_road.solve())
        assert straight.covered_weight == straight_weight
        assert by_road.covered_weight == road_weight


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n=st.integers(1, 12), m=st.integers(1, 6), radius=st.floats(0.05, 0.8))
def test_property_lscp_is_a_minimum_cover(seed: int, n: int, m: int, radius: float) -> None:
    demand, sites, _, _ = _instance(seed, n=n, m=m)
    cover = _cover_matrix(demand, sites, radius)
    if not cover.any():
        return
    problem = _quiet(lambda: SetCovering.from_coordinates(demand, sites, radius=radius).solve(time_limit=5))
    reachable = cover.any(axis=1)
    assert cover[reachable][:, problem.selected_index].any(axis=1).all()
    assert problem.objective == brute_lscp(demand, sites, radius)
    assert problem.bound <= problem.objective


@pytest.mark.parametrize("method", ["auto", "heuristic", "exact"])
def test_status_and_gap_agree_under_a_tight_time_limit(method: str) -> None:
    # A mid-size instance with a very short limit: whatever comes back, "optimal" means gap 0 and
    # bound == objective, and anything else reports the gap it has.
    demand, sites, weights, _ = _instance(7, n=400, m=80)
    problem = _quiet(
        lambda: MaximalCovering.from_coordinates(demand, sites, weights, p=12, radius=0.12).solve(
            time_limit=0.05, method=method
        )
    )
    assert problem.bound >= problem.objective
    if problem.status == "optimal":
        assert problem.gap == 0.0 and problem.bound == problem.objective
    else:
        assert problem.status in ("time_limit", "heuristic")
        assert problem.gap == pytest.approx((problem.bound - problem.objective) / problem.bound)


def test_with_budget_shares_the_matrix_and_starts_unsolved() -> None:
    demand, sites, weights, radius = _instance(3)
    base = _quiet(lambda: MaximalCovering.from_coordinates(demand, sites, weights, p=1, radius=radius))
    _quiet(base.solve)
    three = base.with_budget(3)
    assert three.coverage is base.coverage and three.p == 3 and base.p == 1
    assert three.status == "unsolved" and base.status != "unsolved"
    with pytest.raises(NotSolvedError, match="call solve"):
        three.result()
    with pytest.raises(InputError, match="The 'p' parameter of MaximalCovering must be a whole number >= 1"):
        base.with_budget(0)


@pytest.mark.parametrize("seed", range(4))
def test_solve_budgets_matches_solving_each_budget_alone(seed: int) -> None:
    demand, sites, weights, radius = _instance(seed, n=14, m=8)
    weights[0] = 5.0
    demand[0] = (9.0, 9.0)  # out of reach of every site: warned about once for the whole series
    with pytest.warns(UnreachableDemandWarning) as caught:
        base = MaximalCovering.from_coordinates(demand, sites, weights, p=1, radius=radius)
        series = solve_budgets(base, [4, 1, 2, 4, 3], time_limit=5.0)
    assert len(caught) == 1
    assert sorted(series) == [1, 2, 3, 4]
    for p, problem in series.items():
        alone = _quiet(
            lambda p=p: MaximalCovering.from_coordinates(demand, sites, weights, p=p, radius=radius).solve()
        )
        assert problem.status == "optimal"
        assert problem.objective == pytest.approx(brute_mclp(demand, sites, weights, radius, p))
        assert problem.objective == pytest.approx(alone.objective)
