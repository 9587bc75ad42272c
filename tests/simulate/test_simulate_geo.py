"""The geographic model on small synthetic places: rules, conservation, seeds, police, Dask."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from kalkan.errors import InputError, NotFittedError, SchemaError
from kalkan.simulate import GeoModel
from kalkan.simulate import _geo_kernel as k
from kalkan.simulate.montecarlo import _run_all, run_batch, run_seeds, summarise

# Two synthetic places 7 km apart (the column names of kalkan.plan.exposure.places_at_risk): a mixed
# town A where a clash breaks out at step 1, and a village B.
PLACES = pd.DataFrame(
    {
        "place_id": ["A", "B"],
        "name": ["Town A", "Village B"],
        "latitude": [40.50, 40.55],
        "longitude": [72.80, 72.85],
        "population": [20000.0, 10000.0],
        "group_share": [0.4, 0.2],
        "weight": [8000.0, 2000.0],
    }
)
SPARK = np.array([1, 0])


def _posts(officers: float, armed: bool = True) -> pd.DataFrame:
    return pd.DataFrame(
        {"latitude": [40.50], "longitude": [72.80], "officers_on_duty": [officers], "armed": [armed]}
    )


def _model(**settings: float) -> GeoModel:
    return GeoModel.from_places(PLACES, None, spark_step=SPARK, **settings)


def test_agents_per_place_and_group_follow_population_and_share() -> None:
    st = _model().initial_state(0)
    counts = pd.crosstab(st["home"], st["group"])
    # 20,000 x 0.4 / 100 = 80 and 120; 10,000 x 0.2 / 100 = 20 and 80.
    assert counts.to_numpy().tolist() == [[80, 120], [20, 80]]
    assert st["homes"].tolist() == [[1600, 2400], [400, 1600]]  # 100 people per agent / 5 per home


@pytest.mark.parametrize(
    ("hardship", "risk", "officers", "distrust", "expected"),
    [
        (0.5, 0.5, 0.0, 0.05, False),  # G = 0.5 x 0.15 = 0.075 < T
        (0.9, 0.5, 0.0, 0.05, True),  # G = 0.135 > T, no police
        (0.9, 0.5, 20.0, 0.05, False),  # P = 1 - exp(-2.3 x 10 x 20 / 100) = 0.99, net < T
        (0.9, 0.05, 20.0, 0.05, False),  # R P = 0.0495, net 0.0855 < T
        (0.9, 0.02, 20.0, 0.05, True),  # R P = 0.0198, net 0.1152 > T
    ],
)
def test_activation_rule_matches_hand_computation(
    hardship: float, risk: float, officers: float, distrust: float, expected: bool
) -> None:
    one = pd.DataFrame(
        {
            "place_id": ["P"],
            "latitude": [40.5],
            "longitude": [72.8],
            "population": [100.0],
            "group_share": [1.0],
        }
    )
    model = GeoModel.from_places(
        one,
        _posts(officers) if officers else None,
        spark_step=np.array([1]),
        spark_distrust=distrust,
        arrests_per_officer=0.0,
    )
    st = model.initial_state(0)
    st["hardship"][:] = hardship
    st["risk"][:] = risk
    run = model.run_from(st, 1, seed=0)
    grievance = hardship * (1 - 0.9 + distrust)
    p_arrest = 1 - math.exp(-2.3 * 10.0 * officers / 100.0)
    by_hand = grievance - risk * p_arrest > 0.1
    assert by_hand == expected
    assert (run.per_step["active_group0"].iloc[1] == 1) == expected


def test_people_agents_and_homes_are_conserved() -> None:
    model = _model()
    st = model.initial_state(4)
    people0 = int(st["persons"].sum())
    homes0 = st["homes"].copy()
    n0 = len(st["state"])
    run = model.run_from(st, 6, seed=4)
    d = run.daily
    assert run.totals["deaths"] > 0 and run.totals["displaced"] > 0  # something happened
    assert len(st["state"]) == n0
    # Everyone is alive somewhere or counted dead: people only disappear by being killed.
    assert int(st["persons"].sum()) + int(d["deaths"].sum()) == people0
    # Displaced people are exactly the people of displaced agents (at the time they fled).
    displaced = st["state"] == k.DISPLACED
    assert int(d["displaced"].sum()) >= int(st["persons"][displaced].sum())
    assert (st["persons"] >= 0).all()
    dead = st["state"] == k.DEAD
    assert (st["persons"][dead] == 0).all()
    # Homes destroyed plus homes left = homes at the start, per place and group.
    burnt = d.groupby("place_id")[["homes_destroyed_group0", "homes_destroyed_group1"]].sum().to_numpy()
    assert (burnt + st["homes"] == homes0).all()


def test_same_seed_same_result() -> None:
    model = _model()
    a, b, c = model.run(5, seed=9), model.run(5, seed=9), model.run(5, seed=10)
    assert a.daily.equals(b.daily) and a.per_step.equals(b.per_step)
    assert not a.daily.equals(c.daily)


def test_more_armed_police_never_increase_median_deaths() -> None:
    # One killed per attack on average, so deaths follow attacks; forces spaced so that each step up is
    # a real change (a handful of officers more is within the noise of 40 runs).
    seeds = run_seeds(0, 40)
    medians = []
    for officers in (0, 20, 60, 150, 400):
        model = _model(lethality=1.0).set_posts(_posts(officers) if officers else None)
        medians.append(summarise("x", run_batch(model, seeds, 5))["deaths_median"])
    assert all(later <= earlier for earlier, later in zip(medians, medians[1:], strict=False))
    assert medians[-1] < medians[0]


def test_unarmed_monitors_observe_but_do_not_deter() -> None:
    seeds = run_seeds(1, 5)
    bare = run_batch(_model(), seeds, 4)
    watched = run_batch(_model().set_posts(_posts(2, armed=False)), seeds, 4)
    for a, b in zip(bare, watched, strict=True):
        assert a["deaths"] == b["deaths"] and a["displaced"] == b["displaced"]
        assert a["observed_share"] == 0 and b["observed_share"] > 0


def test_dask_equals_serial() -> None:
    from dask.distributed import Client, LocalCluster

    models = [_model(), _model().set_posts(_posts(10))]
    seeds = run_seeds(3, 6)
    serial = _run_all(models, seeds, 3, None, None)
    threads = _run_all(models, seeds, 3, "threads", None)
    with (
        LocalCluster(
            n_workers=1,
            threads_per_worker=2,
            processes=False,
            dashboard_address=None,
            scheduler_kwargs={"dashboard": False, "dashboard_address": ":0"},
        ) as cluster,
        Client(cluster) as client,
    ):
        cluster_result = _run_all(models, seeds, 3, client, None)
    strip = [[{k: v for k, v in r.items() if k != "seconds"} for r in batch] for batch in serial]
    for other in (threads, cluster_result):
        assert [[{k: v for k, v in r.items() if k != "seconds"} for r in batch] for batch in other] == strip


@pytest.mark.parametrize(
    ("frame", "error", "match"),
    [
        (PLACES.drop(columns=["group_share"]), SchemaError, "lacks column\\(s\\) group_share"),
        (PLACES.assign(population=[-1.0, 5.0]), InputError, "1 place\\(s\\) have no usable population"),
        (PLACES.assign(latitude=[np.nan, 40.0]), InputError, "no coordinates"),
    ],
)
def test_bad_places_get_a_clear_error(frame: pd.DataFrame, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        GeoModel.from_places(frame)


def test_bad_settings_and_days() -> None:
    # Settings are checked when the model is built or run, not in __init__ (kalkan._base).
    with pytest.raises(InputError, match="Unknown setting\\(s\\) of GeoModel: lethal"):
        GeoModel.from_places(PLACES, lethal=1.0)
    with pytest.raises(InputError, match="'legitimacy' parameter of GeoModel must be a float in \\[0, 1\\]"):
        _model(legitimacy=2.0)
    with pytest.raises(
        InputError, match="'monitor_effect' parameter of GeoModel must be a float in \\[-1, 1\\]"
    ):
        GeoModel(monitor_effect=-2.0).check_settings()
    late = _model().set_params(lethality=-1.0)  # a setting broken after the build is caught by run
    with pytest.raises(InputError, match="'lethality' parameter of GeoModel must be a float >= 0"):
        late.run(1)
    with pytest.raises(NotFittedError, match="call 'fit' .* before 'run'"):
        GeoModel().run(1)
    assert GeoModel(lethality=0.5).get_params()["lethality"] == 0.5
    with pytest.raises(InputError, match="days must be an int >= 1"):
        _model().run(0)
    with pytest.raises(SchemaError, match="posts table lacks column\\(s\\) armed"):
        _model().set_posts(_posts(2).drop(columns=["armed"]))


def test_batch_days_and_places_add_up_to_the_totals() -> None:
    for run in run_batch(_model(lethality=1.0), run_seeds(2, 3), 4):
        by_day = np.array(run["by_day"])
        assert by_day.shape == (4, 3)
        assert by_day[:, 0].sum() == run["deaths"] and by_day[:, 2].sum() == run["displaced"]
        by_place = np.array(list(run["by_place"].values()))
        assert by_place[:, 1].sum() == run["homes_destroyed"]


def test_posts_arriving_late_act_only_from_their_arrival_day() -> None:
    seeds = run_seeds(4, 6)
    days = 5
    bare = run_batch(_model(lethality=1.0), seeds, days)
    now = run_batch(_model(lethality=1.0).set_posts(_posts(60).assign(arrival_day=0.0)), seeds, days)
    default = run_batch(_model(lethality=1.0).set_posts(_posts(60)), seeds, days)
    never = run_batch(_model(lethality=1.0).set_posts(_posts(60).assign(arrival_day=days)), seeds, days)
    late = run_batch(_model(lethality=1.0).set_posts(_posts(60).assign(arrival_day=2)), seeds, days)
    for a, b, c, d, e in zip(bare, now, default, never, late, strict=True):
        assert b["deaths"] == c["deaths"] and b["arrests"] == c["arrests"]  # day 0 = on duty from the start
        assert d["deaths"] == a["deaths"] and d["arrests"] == 0  # after the run: as if no force came
        # Late: the first two days are the unpoliced run's, day by day (same seed, same draws).
        assert e["by_day"][:2] == a["by_day"][:2]
    assert sum(r["deaths"] for r in now) < sum(r["deaths"] for r in late) <= sum(r["deaths"] for r in bare)
    with pytest.raises(InputError, match="arrival_day"):
        _model().set_posts(_posts(10).assign(arrival_day=-1))
