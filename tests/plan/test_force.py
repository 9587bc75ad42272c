"""plan_option, coverage_curve and force_requirement on small geographic cases."""

import itertools

import numpy as np
import pandas as pd
import pytest

from kalkan.errors import InfeasibleError, OptionError, SchemaError
from kalkan.plan.coverage import UnreachableDemandWarning
from kalkan.plan.force import coverage_curve, force_requirement, plan_option, travel_minutes
from kalkan.plan.units import ForceOption, officers_for_posts, posts_for


def _places(seed: int, n: int = 12) -> pd.DataFrame:
    """n places scattered over about 60 x 60 km around Osh, weights 0-1000 people."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "id": [f"p{i}" for i in range(n)],
            "name": [f"Place {i}" for i in range(n)],
            "latitude": 40.5 + rng.random(n) * 0.55,
            "longitude": 72.6 + rng.random(n) * 0.7,
            "weight": rng.integers(0, 1000, n).astype(float),
        }
    )


def _brute(places: pd.DataFrame, posts: int, minutes: float) -> float:
    lat, lon = places["latitude"].to_numpy(), places["longitude"].to_numpy()
    reach = travel_minutes(lat[:, None], lon[:, None], lat[None, :], lon[None, :]) <= minutes
    w = places["weight"].to_numpy()
    return max(
        float(w[reach[:, list(s)].any(axis=1)].sum())
        for k in range(1, posts + 1)
        for s in itertools.combinations(range(len(places)), k)
    )


@pytest.mark.parametrize("seed", range(4))
def test_plan_option_matches_brute_force(seed: int) -> None:
    places = _places(seed)
    option = ForceOption("police", 32)  # 3 posts
    plan = plan_option(places, option, response_minutes=20)
    assert plan.posts == posts_for(option) == 3
    assert plan.covered_weight == pytest.approx(_brute(places, 3, 20))
    assert plan.status == "optimal" and plan.gap == 0.0
    assert plan.coverage_kind == "protected"
    assert plan.officers_used == officers_for_posts("police", len(plan.selected)) <= 32
    # Per-post covered weight adds up to the total covered, each covered place counted once.
    assert plan.selected["covered_weight"].sum() == pytest.approx(plan.covered_weight)
    assert set(plan.selected.columns) >= {"id", "name", "latitude", "longitude", "covered_weight"}
    assert plan.covered_share == pytest.approx(plan.covered_weight / places["weight"].sum())


def test_monitors_observe_and_small_options_are_refused() -> None:
    places = _places(1)
    plan = plan_option(places, ForceOption("monitors", 22), response_minutes=20)
    assert plan.coverage_kind == "observed"
    assert plan.posts == 2
    with pytest.raises(OptionError, match="cannot staff one 24/7 post.*at least 11 officers"):
        plan_option(places, ForceOption("police", 10))
    with pytest.raises(OptionError, match="groups of 140"):
        plan_option(places, ForceOption("fpu", 100))


def test_place_id_column_and_separate_sites() -> None:
    places = _places(2).rename(columns={"id": "place_id"})
    sites = places.iloc[:3][["place_id", "name", "latitude", "longitude"]].rename(columns={"place_id": "id"})
    with pytest.warns(UnreachableDemandWarning):  # three sites do not reach every place
        plan = plan_option(places, ForceOption("police", 11), sites=sites, response_minutes=25)
    assert set(plan.selected["id"]) <= set(sites["id"])
    with pytest.raises(SchemaError, match="lacks column"):
        plan_option(places.drop(columns=["weight"]), ForceOption("police", 11))


def test_coverage_curve_is_monotone_and_respects_unit_sizes() -> None:
    places = _places(5, n=40)
    budgets = [0, 10, 11, 50, 100, 200, 400]
    curve = coverage_curve(places, "police", response_minutes=15, budgets=budgets)
    assert curve["officers"].tolist() == budgets
    assert curve["posts"].tolist() == [0, 0, 1, 4, 9, 19, 38]
    assert (np.diff(curve["covered_weight"]) >= -1e-9).all()
    assert (curve["bound"] >= curve["covered_weight"] - 1e-9).all()
    assert curve["covered_share"].iloc[-1] <= 1.0
    fpu = coverage_curve(places, "fpu", response_minutes=15, budgets=[139, 140, 280])
    assert fpu["posts"].tolist() == [0, 2, 4]


def test_force_requirement_targets() -> None:
    places = _places(6, n=30)
    table = force_requirement(places, "police", response_minutes=15, targets=(0.5, 0.8))
    assert (table["covered_share"] >= table["target"] - 1e-9).all()
    assert (table["posts_lower_bound"] <= table["posts"]).all()
    assert table["posts"].is_monotonic_increasing
    # Brute force check of the 50% answer on the posts count found.
    need = 0.5 * places["weight"].sum()
    p = int(table["posts"].iloc[0])
    if p > 1 and p <= 3:
        assert _brute(places, p - 1, 15) < need or not table["proven"].iloc[0]
    with pytest.raises(InfeasibleError, match="No force reaches"), pytest.warns(UnreachableDemandWarning):
        far = pd.concat(
            [
                places,
                pd.DataFrame(
                    {"id": ["far"], "name": ["Far"], "latitude": [10.0], "longitude": [10.0], "weight": [1e9]}
                ),
            ]
        )
        force_requirement(
            far, "police", response_minutes=15, targets=(0.5,), sites=places.drop(columns=["weight"])
        )


def test_reach_of_counts_people_and_weight_by_ids_or_mask() -> None:
    from kalkan.errors import SchemaError
    from kalkan.plan import reach_of

    places = pd.DataFrame(
        {"place_id": ["a", "b", "c"], "at_risk": [100.0, 50.0, 0.0], "weight": [200.0, 50.0, 0.0]}
    )
    by_ids = reach_of(places, ["b", "c", "zzz"])  # an id not in the table reaches nobody
    by_mask = reach_of(places, np.array([False, True, True]))
    assert by_ids == by_mask
    assert (by_ids.people_in_reach, by_ids.people_at_risk) == (50.0, 150.0)
    assert by_ids.covered_share == 50.0 / 250.0 and by_ids.people_share == 50.0 / 150.0
    assert np.isnan(reach_of(places.drop(columns="at_risk"), ["a"]).people_share)
    assert reach_of(places.assign(weight=0.0), ["a"]).covered_share == 0.0
    with pytest.raises(SchemaError, match="3 places"):
        reach_of(places, np.array([True, False]))
