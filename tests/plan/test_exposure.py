"""Populations at risk on a small hand-worked case, the incident kernel, and the embedded scenario."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kalkan.errors import ScenarioError
from kalkan.plan.exposure import (
    EXPOSURE_COLUMNS,
    district_estimates,
    estimate_population,
    incident_kernel_weight,
    places_at_risk,
    reconcile,
)
from kalkan.scenarios import Scenario, load_scenario

AS_OF = date(2010, 6, 30)


def _place(
    pid: str, kind: str, district: str, population: float, lat: float = 40.5, lon: float = 72.8
) -> dict:
    return {
        "place_id": pid,
        "name": pid,
        "kind": kind,
        "latitude": lat,
        "longitude": lon,
        "district": district,
        "district_code": district,
        "oblast": "A",
        "population": population,
        "population_source": "test",
        "geonameid": "",
        "wof_id": "",
        "named_in": "test",
    }


def _events(rows: list[tuple[float, float, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "latitude": [r[0] for r in rows],
            "longitude": [r[1] for r in rows],
            "date_start": pd.to_datetime([r[2] for r in rows]),
            "date_end": pd.to_datetime([r[3] for r in rows]),
        }
    )


def tiny(events: pd.DataFrame | None = None) -> Scenario:
    """Oblast A: 10,000 people, 20% in the group at risk.

    D1: census 5,000, 50% share; town T 2,000 and villages v1, v2 without a figure.
    D2: no census total, no group share, 90% Kyrgyz; town T2 1,000 and villages v3, v4 without a figure.
    """
    places = pd.DataFrame(
        [
            _place("T", "town", "D1", 2000),
            _place("v1", "village", "D1", np.nan),
            _place("v2", "village", "D1", np.nan),
            _place("T2", "town", "D2", 1000),
            _place("v3", "village", "D2", np.nan),
            _place("v4", "village", "D2", np.nan),
        ]
    )
    districts = pd.DataFrame(
        {
            "district": ["D1", "D2"],
            "oblast": ["A", "A"],
            "population": [5000.0, np.nan],
            "group_share_pct": [50.0, np.nan],
            "majority_share_pct": [50.0, 90.0],
            "source_ids": ["S_1", ""],
        }
    )
    oblasts = pd.DataFrame(
        {
            "oblast": ["A"],
            "population": [10000.0],
            "group_share_pct": [20.0],
            "source_ids": ["S_2"],
            "note": [""],
        }
    )
    return Scenario(
        name="tiny",
        title="tiny",
        path=Path("."),
        places=places,
        districts=districts,
        oblasts=oblasts,
        incidents=events if events is not None else _events([]),
        admin1={},
        admin2={},
        facts=pd.DataFrame(),
        sources=pd.DataFrame(),
        settings={"as_of": AS_OF},
    )


def test_population_by_hand() -> None:
    places = estimate_population(tiny()).set_index("place_id")
    # D1: (5,000 - 2,000) / 2 villages; D2: oblast remainder (10,000 - 5,000 - 1,000) / 2 villages.
    expected = {"T": 2000, "v1": 1500, "v2": 1500, "T2": 1000, "v3": 2000, "v4": 2000}
    assert places["population"].to_dict() == pytest.approx(expected)
    assert places["population_estimated"].to_dict() == {
        "T": False,
        "v1": True,
        "v2": True,
        "T2": False,
        "v3": True,
        "v4": True,
    }
    assert places.loc["v3", "population_rule"].startswith("estimated: A oblast total 10,000")


def test_unknown_share_is_unknown_with_a_stated_bound_never_the_oblast_share() -> None:
    shares = district_estimates(tiny()).set_index("district")
    assert shares.loc["D1", "group_share"] == pytest.approx(0.5)
    assert shares.loc["D1", "group_share_known"]
    # D2 has no census share: unknown, not the oblast's 20%; bound = 100% - 90% majority.
    assert np.isnan(shares.loc["D2", "group_share"]) and not shares.loc["D2", "group_share_known"]
    assert shares.loc["D2", "group_share_max"] == pytest.approx(0.10)
    assert "no census share" in shares.loc["D2", "share_rule"]


def test_stated_bound_column_wins_over_the_majority_share() -> None:
    scenario = tiny()
    scenario.districts["group_share_max_pct"] = [np.nan, 3.0]
    assert district_estimates(scenario).set_index("district").loc["D2", "group_share_max"] == pytest.approx(
        0.03
    )


def test_at_risk_by_hand_with_no_incidents() -> None:
    table = places_at_risk(tiny()).set_index("place_id")
    assert list(table.reset_index().columns) == EXPOSURE_COLUMNS
    expected = {"T": 1000, "v1": 750, "v2": 750, "T2": 0, "v3": 0, "v4": 0}
    assert table["at_risk"].to_dict() == pytest.approx(expected)
    # D2's share is unknown: nobody counted there, at most 10% of its people, and flagged.
    assert table.loc[["T2", "v3", "v4"], "at_risk_known"].eq(False).all()
    assert table.loc["T2", "at_risk_max"] == pytest.approx(100)
    assert table.loc["v3", "at_risk_max"] == pytest.approx(200)
    assert not table.loc["T", "at_risk_estimated"] and table.loc["T2", "at_risk_estimated"]
    # No incidents: every place weighs 1 and the demand is the number at risk.
    assert (table["risk_weight"] == 1).all()
    assert table["weight"].to_dict() == pytest.approx(expected)


def test_census_total_of_a_city_wins_over_its_places_figures() -> None:
    """A city unit with a census total: its undated place figures are scaled to that total."""
    scenario = tiny()
    scenario.districts.loc[0, "population"] = 1500.0  # less than town T's own 2,000
    places = estimate_population(scenario).set_index("place_id")
    assert places.loc[["T", "v1", "v2"], "population"].sum() == pytest.approx(1500)
    assert places.loc[["T", "v1", "v2"], "population_estimated"].all()
    assert "census total 1,500" in places.loc["T", "population_rule"]


def test_reconciliation_stops_when_people_at_risk_exceed_the_census_count() -> None:
    scenario = tiny()
    table = places_at_risk(scenario)
    reconcile(table, scenario)  # no census count given: only the per-unit check, which holds
    scenario.settings["census"] = {"group_total": 2_000, "area": "oblast A"}
    with pytest.raises(ScenarioError, match=r"2,500, more than the census count of 2,000 .* D1 2,500"):
        reconcile(table, scenario)
    scenario.settings["census"] = {"group_total": 2_500}
    reconcile(table, scenario)
    # A unit whose places hold more of the group than its census total x share is named.
    inflated = table.assign(at_risk=table["at_risk"] * 2)
    with pytest.raises(ScenarioError, match=r"D1 \(5,000 against 2,500\)"):
        reconcile(inflated, scenario)


def test_embedded_scenario_reconciles_with_its_census_count() -> None:
    scenario = load_scenario()
    table = places_at_risk(scenario)
    reconcile(table, scenario)
    assert table["at_risk"].sum() <= 768_405
    # No district without its own census share has anybody counted at risk.
    unknown = ~table["at_risk_known"]
    assert (table.loc[unknown, "at_risk"] == 0).all()
    assert (table["at_risk_max"] >= table["at_risk"]).all()


def test_rule_three_when_the_oblast_leaves_no_remainder() -> None:
    scenario = tiny()
    scenario.oblasts.loc[0, "population"] = 5500.0  # 5,500 - 5,000 - 1,000 < 0
    places = estimate_population(scenario).set_index("place_id")
    # Median of the rule-1 per-place figures in oblast A: only D1's 1,500.
    assert places.loc["v3", "population"] == pytest.approx(1500)
    assert "median" in places.loc["v3", "population_rule"]


def test_kernel_by_hand_distance_and_time() -> None:
    places = pd.DataFrame({"latitude": [0.0, 0.0, 10.0], "longitude": [0.0, 0.2247, 0.0]})
    # One event on place 0 on as_of; place 1 is 24.98 km east of it; place 2 is 1,100 km away.
    events = _events([(0.0, 0.0, "2010-06-30", "2010-06-30")])
    w = incident_kernel_weight(places, events, AS_OF, distance_km=25.0, decay_days=14.0, floor=0.0)
    assert w[0] == pytest.approx(1.0)
    assert w[1] == pytest.approx(np.exp(-(24.985**2) / (2 * 25.0**2)), rel=1e-3)
    assert w[2] == pytest.approx(0.0, abs=1e-12)
    floored = incident_kernel_weight(places, events, AS_OF, floor=0.1)
    assert floored[2] == pytest.approx(0.1) and floored.min() >= 0.1


def test_kernel_decays_with_age_and_ignores_the_future_and_the_unlocated() -> None:
    places = pd.DataFrame({"latitude": [0.0, 10.0], "longitude": [0.0, 0.0]})
    events = _events(
        [
            (0.0, 0.0, "2010-06-30", "2010-06-30"),  # new, at place 0
            (10.0, 0.0, "2010-06-10", "2010-06-16"),  # ended 14 days before as_of, at place 1
            (10.0, 0.0, "2010-07-05", "2010-07-05"),  # after as_of: must not count
            (np.nan, np.nan, "2010-06-30", "2010-06-30"),  # not located: must not count
        ]
    )
    w = incident_kernel_weight(places, events, AS_OF, decay_days=14.0, floor=0.0)
    assert w == pytest.approx([1.0, np.exp(-1.0)])


def test_kernel_without_events_is_neutral() -> None:
    places = pd.DataFrame({"latitude": [0.0, 1.0], "longitude": [0.0, 1.0]})
    assert list(incident_kernel_weight(places, _events([]), AS_OF)) == [1.0, 1.0]


def test_a_constant_risk_weight_scales_the_demand() -> None:
    scenario = tiny()
    table = places_at_risk(scenario, risk_weight=lambda places, events, day: np.full(len(places), 2.0))
    assert table["weight"].to_numpy() == pytest.approx(2 * table["at_risk"].to_numpy())


@pytest.mark.parametrize("bad", [np.array([1.0, -1.0, 1, 1, 1, 1]), np.ones(3), np.full(6, np.nan)])
def test_a_bad_risk_weight_is_refused(bad: np.ndarray) -> None:
    with pytest.raises(ScenarioError, match="one per place"):
        places_at_risk(tiny(), risk_weight=lambda places, events, day: bad)


def test_embedded_scenario_exposure_is_consistent() -> None:
    scenario = load_scenario()
    table = places_at_risk(scenario)
    assert len(table) == len(scenario.places)
    assert table["population"].notna().all() and (table["population"] > 0).all()
    assert (table["at_risk"] <= table["population"]).all()
    assert table["risk_weight"].between(0.1, 1.0).all()
    # Every place without its own figure is flagged estimated, and so is its number at risk.
    unknown = scenario.places["population"].isna().to_numpy()
    assert table["population_estimated"].to_numpy()[unknown].all()
    assert table["at_risk_estimated"].to_numpy()[unknown].all()
    # Districts with a census total and a remainder add up to that total.
    total = table.groupby("district")["population"].sum()
    assert total["Aravan"] == pytest.approx(106134)
    assert total["Kara-Suu"] == pytest.approx(348645)
    # The most exposed place lies within 3 km of Osh, where most documented incidents happened.
    top = table.loc[table["risk_weight"].idxmax()]
    assert abs(top["latitude"] - 40.528) < 0.03 and abs(top["longitude"] - 72.799) < 0.04


def test_kernel_agrees_with_scikit_learn_kde() -> None:
    """The hand-written kernel equals a weighted haversine Gaussian KDE (scikit-learn), up to its scale."""
    from sklearn.neighbors import KernelDensity

    rng = np.random.default_rng(7)
    places = pd.DataFrame({"latitude": rng.uniform(40, 41.5, 300), "longitude": rng.uniform(71.5, 73.5, 300)})
    days = rng.integers(0, 40, 25)
    start = pd.Timestamp("2010-05-25") + pd.to_timedelta(days, unit="D")
    events = pd.DataFrame(
        {
            "latitude": rng.uniform(40.3, 41.2, 25),
            "longitude": rng.uniform(72.0, 73.2, 25),
            "date_start": start,
            "date_end": start,
        }
    )
    ours = incident_kernel_weight(places, events, AS_OF, distance_km=20.0, decay_days=10.0, floor=0.0)
    age = np.array([(AS_OF - min(d.date(), AS_OF)).days for d in events["date_end"]], dtype=float)
    kept = (events["date_start"].dt.date <= AS_OF).to_numpy()
    kde = KernelDensity(kernel="gaussian", metric="haversine", bandwidth=20.0 / 6371.0088)
    points = np.radians(events.loc[kept, ["latitude", "longitude"]].to_numpy())
    kde.fit(points, sample_weight=np.exp(-age[kept] / 10))
    density = np.exp(kde.score_samples(np.radians(places[["latitude", "longitude"]].to_numpy())))
    assert ours == pytest.approx(density / density.max(), rel=1e-6, abs=1e-12)


def test_kernel_in_chunks_equals_one_block(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunking the places (to bound memory) changes nothing."""
    import kalkan.plan.exposure as exposure

    scenario = load_scenario()
    whole = incident_kernel_weight(scenario.places, scenario.incidents, AS_OF)
    monkeypatch.setattr(exposure, "_CHUNK_CELLS", 7)  # 7 cells over 26 events: one place per chunk
    chunked = incident_kernel_weight(scenario.places, scenario.incidents, AS_OF)
    assert chunked == pytest.approx(whole, rel=1e-12)


@st.composite
def _districts(draw: st.DrawFn) -> Scenario:
    """A random oblast of 1-4 districts, each with 1-6 places, some with a figure, some without."""
    rows, districts = [], []
    for d in range(draw(st.integers(1, 4))):
        name = f"D{d}"
        places = draw(st.lists(st.one_of(st.none(), st.floats(100, 50_000)), min_size=1, max_size=6))
        for k, population in enumerate(places):
            rows.append(_place(f"{name}-{k}", "village", name, np.nan if population is None else population))
        known = sum(p for p in places if p is not None)
        total = draw(st.one_of(st.none(), st.floats(0, 2 * known + 100_000)))
        districts.append(
            {
                "district": name,
                "oblast": "A",
                "population": np.nan if total is None else total,
                "group_share_pct": draw(st.floats(0, 100)),
                "majority_share_pct": np.nan,
                "source_ids": "",
            }
        )
    scenario = tiny()
    scenario.places = pd.DataFrame(rows)
    scenario.districts = pd.DataFrame(districts)
    scenario.oblasts.loc[0, "population"] = draw(st.one_of(st.just(np.nan), st.floats(0, 1e6)))
    return scenario


@settings(max_examples=60, deadline=None)
@given(_districts())
def test_population_rules_hold_on_random_districts(scenario: Scenario) -> None:
    """Measured figures are kept; estimates are positive and flagged; rule 1 adds up to the census total."""
    try:
        places = estimate_population(scenario)
    except ScenarioError as error:  # allowed only when no district leaves a remainder to learn from
        assert "Cannot estimate" in str(error)
        return
    raw = scenario.places["population"]
    scaled = places["population_rule"].str.startswith("estimated: scaled")
    kept = raw.notna() & ~scaled
    assert (places["population"][kept] == raw[kept]).all()
    assert (places["population_estimated"] == (raw.isna() | scaled)).all()
    assert (places["population"][~scaled] > 0).all() and (places["population"] >= 0).all()
    for district, group in places.groupby("district"):
        row = scenario.districts.set_index("district").loc[district]
        rule1 = group["population_rule"].str.startswith(f"estimated: {district} census total").any()
        if rule1 or group["population_rule"].str.startswith("estimated: scaled").any():
            assert group["population"].sum() == pytest.approx(row["population"], rel=1e-9)


def test_a_count_of_the_group_at_a_place_is_its_people_at_risk() -> None:
    """A place's group_count (sourced, dated) stands for it even where the unit's share is unknown."""
    scenario = tiny()
    scenario.places["group_count"] = [np.nan, np.nan, np.nan, 40.0, np.nan, np.nan]
    table = places_at_risk(scenario).set_index("place_id")
    assert table.loc["T2", "at_risk"] == 40 and table.loc["T2", "at_risk_known"]
    assert table.loc["T2", "share_rule"] == "people of the group counted at the place"
    assert table.loc["v3", "at_risk"] == 0 and not table.loc["v3", "at_risk_known"]
    assert table.loc["T", "at_risk"] == pytest.approx(1000)  # places without a count keep the census share


def test_a_count_of_the_group_in_a_unit_is_spread_over_its_places_by_population() -> None:
    """A unit with no census share but a group_count (an estimate): its places share it by population."""
    scenario = tiny()
    scenario.districts["group_count"] = [np.nan, 1000.0]
    scenario.districts["group_count_estimated"] = [False, True]
    table = places_at_risk(scenario).set_index("place_id")
    # D2: T2 1,000 people, v3 and v4 2,000 each (oblast remainder) -> 1,000 / 5,000 = 20% of each place.
    assert table.loc[["T2", "v3", "v4"], "at_risk"].to_dict() == pytest.approx(
        {"T2": 200, "v3": 400, "v4": 400}
    )
    assert table.loc[["T2", "v3", "v4"], "at_risk_known"].all()
    assert table.loc[["T2", "v3", "v4"], "at_risk_estimated"].all()
    assert table.loc["T2", "share_rule"].startswith("estimate: 1,000 people of the group in the unit")
    # D1 keeps its census share, and is not an estimate at the town with its own figure.
    assert table.loc["T", "at_risk"] == pytest.approx(1000) and not table.loc["T", "at_risk_estimated"]
    rules = district_estimates(scenario).set_index("district")
    assert rules.loc["D2", "group_count"] == 1000 and bool(rules.loc["D2", "group_count_estimated"])


def test_a_count_larger_than_the_unit_is_capped_at_its_people() -> None:
    scenario = tiny()
    scenario.districts["group_count"] = [np.nan, 1e9]
    table = places_at_risk(scenario).set_index("place_id")
    assert table.loc[["T2", "v3", "v4"], "at_risk"].sum() == pytest.approx(5000)


def test_a_stated_bound_of_a_unit_is_never_counted() -> None:
    """A unit's group_count_max (an upper bound) leaves nobody counted there, at most the bound."""
    scenario = tiny()
    scenario.districts["group_count_max"] = [np.nan, 1000.0]
    table = places_at_risk(scenario).set_index("place_id")
    assert table.loc[["T2", "v3", "v4"], "at_risk"].sum() == 0
    assert not table.loc[["T2", "v3", "v4"], "at_risk_known"].any()
    assert table.loc[["T2", "v3", "v4"], "at_risk_max"].sum() == pytest.approx(1000)
    assert (
        "at most 1,000 people of the group in the unit (a stated bound, not a count)"
        in table.loc["T2", "share_rule"]
    )


def test_the_epicentre_city_is_unknown_with_its_stated_bound() -> None:
    """kyrgyzstan_2010: Osh city has no census share: nobody counted, at most a bound from census totals."""
    scenario = load_scenario("kyrgyzstan_2010")
    table = places_at_risk(scenario)
    osh = table[table["district"] == "Osh (city)"]
    assert osh["at_risk"].sum() == 0 and osh["at_risk_max"].sum() == pytest.approx(146_300)
    reconcile(table, scenario)
