"""Calibration, posterior-predictive comparison, no foresight, monitors of either sign, sensitivity."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kalkan.errors import ScenarioError
from kalkan.simulate import GeoModel
from kalkan.simulate.calibration import Replay, abc_smc, distance, load_posterior, save_posterior
from kalkan.simulate.engine import Case, map_cases, run_cases
from kalkan.simulate.priors import CONTEXT, FITTED, FORCE, Prior
from kalkan.simulate.spec import NotCalibratedError, Target, simulation_spec

PLACES = pd.DataFrame(
    {
        "place_id": ["A", "B"],
        "name": ["Town A", "Village B"],
        "latitude": [40.50, 40.55],
        "longitude": [72.80, 72.85],
        "population": [20000.0, 10000.0],
        "group_share": [0.4, 0.2],
        "oblast": ["North", "South"],
    }
)
SPARK = np.array([1, 0])


def _target(
    outcome: str, low: float, high: float = float("inf"), known: str = "2020-01-10", **extra: object
) -> Target:
    return Target(outcome=outcome, low=low, high=high, known_on=date.fromisoformat(known), **extra)  # type: ignore[arg-type]


def test_distance_is_zero_inside_a_range_and_grows_outside() -> None:
    deaths = _target("deaths", 100, 200)
    assert distance([150], [deaths]) == 0.0
    assert distance([100], [deaths]) == 0.0 and distance([200], [deaths]) == 0.0
    assert 0 < distance([250], [deaths]) < distance([500], [deaths])
    assert distance([50], [deaths]) == pytest.approx(np.log(101 / 51))
    at_least = _target("homes_destroyed", 1000)
    assert distance([10**6], [at_least]) == 0.0 and distance([10], [at_least]) > 0


def test_priors_round_trip_and_officer_weight_includes_almost_no_effect() -> None:
    for p in FITTED + FORCE + CONTEXT:
        x = p.from_unit(np.array([0.0, 0.3, 1.0]))
        assert x[0] == pytest.approx(p.low) and x[-1] == pytest.approx(p.high)
        assert p.to_unit(x) == pytest.approx([0.0, 0.3, 1.0])
    force = {p.name: p for p in FORCE}
    assert force["officer_weight"].low <= 0.01  # almost no deterrence is possible
    assert force["monitor_effect"].low < 0 < force["monitor_effect"].high  # either sign


def test_known_targets_keep_the_latest_figure_published_by_the_date() -> None:
    from kalkan.scenarios import load_scenario

    spec = simulation_spec(load_scenario("kyrgyzstan_2010"))
    early = spec.known_targets(spec.decision_date)
    assert all(t.known_on <= spec.decision_date for t in early)
    deaths = [t for t in early if t.outcome == "deaths" and not t.through_day]
    assert len(deaths) == 1 and deaths[0].low == 294  # the late-June toll, not the 470 published in 2011
    before = [t for t in spec.known_targets(date(2010, 6, 20)) if t.outcome == "deaths" and not t.through_day]
    assert before[0].low == 191  # a fit as of 20 June uses the figure known then
    later = [t for t in spec.known_targets(date(2014, 1, 1)) if t.outcome == "deaths" and not t.through_day]
    assert later[0].low == 312 and later[0].high == 470


def _copy_scenario(tmp_path: Path, with_posterior: bool) -> Path:
    from kalkan.scenarios import load_scenario

    src = Path(load_scenario("kyrgyzstan_2010").path)
    dst = tmp_path / "copy"
    shutil.copytree(src, dst)
    if not with_posterior:
        for name in (
            "simulation_posterior.csv",
            "simulation_posterior.json",
            "simulation_validation.csv",
            "simulation_sensitivity.csv",
            "simulation_sensitivity.json",
        ):
            (dst / name).unlink(missing_ok=True)
    return dst


def test_a_scenario_without_a_posterior_says_it_is_not_calibrated(tmp_path: Path) -> None:
    from kalkan.plan.units import parse_options
    from kalkan.scenarios import load_scenario
    from kalkan.simulate import compare_options

    scenario = load_scenario(str(_copy_scenario(tmp_path, with_posterior=False)))
    with pytest.raises(NotCalibratedError, match="not calibrated to scenario .*No other crisis's fit"):
        load_posterior(scenario)
    with pytest.raises(NotCalibratedError, match="not calibrated"):
        compare_options(scenario, parse_options("police:100"), draws=1, seeds_per_draw=1)


def test_a_scenario_without_a_simulation_table_cannot_be_replayed(tmp_path: Path) -> None:
    from kalkan.scenarios import load_scenario

    folder = _copy_scenario(tmp_path, with_posterior=False)
    toml = folder / "scenario.toml"
    text = toml.read_text()
    toml.write_text(text[: text.index("[simulation]")])
    with pytest.raises(NotCalibratedError, match="no \\[simulation\\] table with a start date"):
        simulation_spec(load_scenario(str(folder)))


def test_bad_targets_get_a_sentence_naming_the_fix(tmp_path: Path) -> None:
    from kalkan.scenarios import load_scenario

    folder = _copy_scenario(tmp_path, with_posterior=False)
    toml = folder / "scenario.toml"
    toml.write_text(toml.read_text().replace('what = "displaced"', 'what = "refugees"', 1))
    with pytest.raises(ScenarioError, match="has what = 'refugees': use one of deaths, homes_destroyed"):
        simulation_spec(load_scenario(str(folder)))


def test_abc_smc_narrows_lethality_towards_the_value_that_made_the_data() -> None:
    model = GeoModel.from_places(PLACES, None, spark_step=SPARK, spark_distrust=0.2, flight=4.0)
    truth = 0.3
    runs = run_cases(
        model, [None], [Case(settings={"lethality": truth}, sparks=SPARK, seed=s) for s in range(8)], 4
    )
    observed = np.array([r["deaths"] for r in runs])
    target = _target("deaths", float(np.percentile(observed, 10)), float(np.percentile(observed, 90)))
    rep = Replay(model=model, regions=np.zeros(2, dtype=np.int64), region_names=[""], days=4)
    prior = Prior("lethality", 0.01, 1.0, True, "test")
    frame, info = abc_smc(rep, [target], priors=[prior], particles=40, generations=4, seed=1)
    assert frame["weight"].sum() == pytest.approx(1.0)
    assert info["runs"] >= 40 * 2
    w = frame["weight"].to_numpy()
    post = np.exp(np.sum(w * np.log(frame["lethality"].to_numpy())))  # weighted geometric mean
    assert abs(np.log(post / truth)) < abs(np.log(0.1 / truth))  # closer than the prior's centre (0.1)
    assert np.average(frame["distance"], weights=w) < 0.5


def test_posterior_files_round_trip_and_reject_another_scenario(tmp_path: Path) -> None:
    from kalkan.scenarios import load_scenario
    from kalkan.simulate.calibration import Posterior

    folder = _copy_scenario(tmp_path, with_posterior=False)
    scenario = load_scenario(str(folder))
    draws = pd.DataFrame(
        {p.name: [p.low, p.high] for p in FITTED} | {"weight": [0.25, 0.75], "distance": [0, 0]}
    )
    save_posterior(Posterior(draws, {"scenario": scenario.name, "targets": []}), folder)
    back = load_posterior(scenario)
    assert back.summary()["parameter"].tolist() == [p.name for p in FITTED]
    assert back.sample(200, 0)["lethality"].eq(FITTED[0].high).mean() > 0.6  # resampled by weight
    save_posterior(Posterior(draws, {"scenario": "elsewhere", "targets": []}), folder)
    with pytest.raises(ScenarioError, match="not a posterior of scenario"):
        load_posterior(scenario)


def test_monitors_effect_can_take_either_sign() -> None:
    """Monitors at the flashpoint: a deterrent effect lowers deaths, an emboldening one raises them."""
    model = GeoModel.from_places(PLACES, None, spark_step=SPARK, spark_distrust=0.1, lethality=0.5)
    posts = pd.DataFrame(
        {"latitude": [40.50], "longitude": [72.80], "officers_on_duty": [2.0], "armed": [False]}
    )
    deaths = {}
    for effect in (-0.05, 0.0, 0.05):
        cases = [Case(settings={"monitor_effect": effect}, sparks=SPARK, seed=s) for s in range(12)]
        deaths[effect] = np.mean([r["deaths"] for r in run_cases(model, [posts], cases, 3)])
    assert deaths[-0.05] > deaths[0.0] > deaths[0.05]


def test_serial_and_dask_threads_give_the_same_runs() -> None:
    model = GeoModel.from_places(PLACES, None, spark_step=SPARK, lethality=0.3)
    cases = [Case(settings={"flight": f}, sparks=SPARK, seed=s) for s, f in enumerate([1.0, 4.0, 9.0])]
    serial = map_cases(model, [None], cases, 3)
    seen: list[tuple[int, int]] = []
    again = map_cases(model, [None], cases, 3, progress=lambda d, t: seen.append((d, t)))
    assert [r["deaths"] for r in serial] == [r["deaths"] for r in again]
    assert seen[-1] == (3, 3)  # absolute counts


def test_forecast_sparks_only_light_places_the_forecast_gives_weight() -> None:
    from kalkan.simulate.scenario import forecast_sparks

    places = pd.DataFrame({"latitude": [40.0, 41.0, 42.0], "longitude": [72.0, 72.0, 72.0]})
    rng = np.random.default_rng(0)
    for _ in range(20):
        steps = forecast_sparks(places, np.array([0.0, 1.0, 0.0]), 2, spark_days=3, rng=rng)
        assert steps[0] == 0 and steps[2] == 0 and 1 <= steps[1] <= 9


def test_force_generation_day_reads_the_pledges() -> None:
    from kalkan.plan.timeline import load_pledges
    from kalkan.plan.units import parse_options
    from kalkan.simulate.predictive import force_generation_day

    pledges = load_pledges(
        [
            {"contributor": "X", "unit": "police", "officers": 100, "days_to_ready": 5, "days_to_arrive": 2},
            {"contributor": "Y", "unit": "police", "officers": 200, "days_to_ready": 20, "days_to_arrive": 3},
        ]
    )
    assert force_generation_day(parse_options("police:100")[0], pledges)[0] == 7
    assert force_generation_day(parse_options("police:300")[0], pledges)[0] == 23
    day, why = force_generation_day(parse_options("police:600")[0], pledges)
    assert day == 90 and "never reach 600" in why


def test_comparison_is_posterior_predictive_and_ignores_incidents_after_the_decision(tmp_path: Path) -> None:
    from kalkan.plan.units import parse_options
    from kalkan.scenarios import load_scenario
    from kalkan.simulate import compare_options

    options = parse_options("monitors:50,police:300")
    base = compare_options(
        "kyrgyzstan_2010", options, draws=3, seeds_per_draw=2, days=4, arrival=0.0, outbreak_within=1
    )
    table = base.table
    assert table["option"].tolist() == ["none", "monitors:50", "police:300"]
    assert (table["runs"] == 6).all() and "6 runs per option" in base.interval_note
    assert base.p_best.sum() == pytest.approx(1.0)
    pair = base.beats.loc["none", "police:300"] + base.beats.loc["police:300", "none"]
    assert pair == pytest.approx(1.0)
    assert "no later incident is used" in base.flashpoints
    # An invented massacre after the decision date, far from everything, changes nothing.
    folder = _copy_scenario(tmp_path, with_posterior=True)
    incidents = folder / "incidents.csv"
    frame = pd.read_csv(incidents, dtype=str, keep_default_na=False)
    extra = frame.iloc[[3]].copy()
    extra["date"] = "2010-07-15"
    extra["latitude"], extra["longitude"] = "41.9", "71.0"
    pd.concat([frame, extra]).to_csv(incidents, index=False)
    later = compare_options(
        load_scenario(str(folder)), options, draws=3, seeds_per_draw=2, days=4, arrival=0.0, outbreak_within=1
    )
    cols = ["deaths_median", "deaths_p5", "deaths_p95", "posts"]
    assert later.table[cols].equals(table[cols])


@pytest.mark.slow
def test_sensitivity_ranks_every_parameter_with_a_prior() -> None:
    from kalkan.plan.units import parse_options
    from kalkan.simulate import sensitivity

    result = sensitivity("kyrgyzstan_2010", parse_options("police:300"), trajectories=2, seeds=1, days=3)
    names = {p.name for p in FITTED + FORCE + CONTEXT}
    assert set(result.ranking["parameter"]) == names
    assert result.ranking["mean_share"].sum() == pytest.approx(1.0)
    assert list(result.by_officer_weight.columns) == ["option", "low", "central", "high"]


def test_sensitivity_chart_is_written_in_plain_words(tmp_path: Path) -> None:
    from kalkan.simulate.figures import PLAIN, sensitivity_chart

    assert set(PLAIN) == {p.name for p in FITTED + FORCE + CONTEXT}
    ranking = pd.DataFrame({"parameter": ["officer_weight", "lethality"], "mean_share": [0.7, 0.3]})
    sensitivity_chart(tmp_path / "s.png", ranking)
    assert (tmp_path / "s.png").stat().st_size > 1000


def test_more_police_with_more_deaths_gets_a_reason() -> None:
    from kalkan.simulate.predictive import monotone_notes

    table = pd.DataFrame(
        {
            "option": ["none", "police:600", "police:1000"],
            "unit": ["none", "police", "police"],
            "officers": [0, 600, 1000],
            "siting": ["none", "reach", "reach"],
            "deaths_median": [500.0, 84.0, 88.0],
            "generation_day": [0.0, 35.0, 90.0],
            "generation_source": ["", "", "pledges never reach 1000 police"],
        }
    )
    beats = pd.DataFrame(0.5, index=table["option"], columns=table["option"])
    notes = monotone_notes(table, beats)
    assert len(notes) == 1 and "police:1000 leaves more deaths than police:600" in notes[0]
    assert "ready later: day 90" in notes[0]
    same_day = table.assign(generation_day=[0.0, 35.0, 35.0])
    assert "the difference is chance" in monotone_notes(same_day, beats)[0]
    assert monotone_notes(table.assign(deaths_median=[500.0, 88.0, 84.0]), beats) == []


def test_a_posterior_fitted_to_other_figures_says_it_is_stale(tmp_path: Path) -> None:
    from kalkan.scenarios import load_scenario

    folder = _copy_scenario(tmp_path, with_posterior=True)
    scenario = load_scenario(str(folder))
    posterior = load_posterior(scenario)
    assert posterior.stale(simulation_spec(scenario)) == ""
    toml = folder / "scenario.toml"
    toml.write_text(toml.read_text().replace("low = 294", "low = 300", 1))
    changed = load_scenario(str(folder))
    assert "calibration figures changed" in load_posterior(changed).stale(simulation_spec(changed))


def test_a_force_that_arrives_after_the_last_day_leaves_the_no_force_run_unchanged() -> None:
    """Why compare_options may copy the no-force run for such cases: same seed, same numbers."""
    model = GeoModel.from_places(PLACES, None, spark_step=SPARK, lethality=0.5, spark_distrust=0.1)
    posts = pd.DataFrame(
        {
            "latitude": [40.50, 40.55],
            "longitude": [72.80, 72.85],
            "officers_on_duty": [30.0, 5.0],
            "armed": [True, False],
        }
    )
    days = 3
    for seed in range(4):
        none, late, early = run_cases(
            model,
            [None, posts],
            [
                Case(settings={}, sparks=SPARK, seed=seed),
                Case(settings={}, sparks=SPARK, seed=seed, option=1, arrival_day=float(days)),
                Case(settings={"officer_weight": 30.0}, sparks=SPARK, seed=seed, option=1, arrival_day=0.0),
            ],
            days,
        )
        assert np.array_equal(none["by_day"], late["by_day"])
    assert early["deaths"] != none["deaths"] or early["by_day"].sum() != none["by_day"].sum()


def test_comparison_copies_runs_of_forces_that_arrive_too_late() -> None:
    from kalkan.plan.units import parse_options
    from kalkan.simulate import compare_options

    result = compare_options(
        "kyrgyzstan_2010",
        parse_options("police:300"),
        draws=2,
        seeds_per_draw=2,
        days=3,
        arrival=5.0,
        outbreak_within=1,
    )
    runs = result.runs.sort_values(["draw", "seed_index"])
    police = runs[runs["option"] == "police:300"]["deaths"].to_numpy()
    none = runs[runs["option"] == "none"]["deaths"].to_numpy()
    assert np.array_equal(police, none)
    assert result.attrs["copied_runs"] == 4


def test_sensitivity_is_kept_as_data_and_says_when_the_calibration_changed(tmp_path: Path) -> None:
    from kalkan.scenarios import load_scenario
    from kalkan.simulate.calibration import load_posterior as load
    from kalkan.simulate.sensitivity import Sensitivity, load_sensitivity, save_sensitivity

    folder = _copy_scenario(tmp_path, with_posterior=False)
    scenario = load_scenario(str(folder))
    assert load_sensitivity(scenario) is None
    shutil.copy(Path(load_scenario("kyrgyzstan_2010").path) / "simulation_posterior.csv", folder)
    shutil.copy(Path(load_scenario("kyrgyzstan_2010").path) / "simulation_posterior.json", folder)
    by_ow = pd.DataFrame(
        {
            "option": ["none", "police:300"],
            "low": [600.0, 590.0],
            "central": [600.0, 300.0],
            "high": [600.0, 200.0],
        }
    )
    result = Sensitivity(
        method="morris",
        indices=pd.DataFrame(
            {"option": ["none"], "parameter": ["lethality"], "mu_star": [3.0], "share": [1.0]}
        ),
        ranking=pd.DataFrame({"parameter": ["lethality"], "mean_share": [1.0], "what": ["why"]}),
        by_officer_weight=by_ow,
        ordering_depends=True,
        note="It depends.",
        runs=32,
        attrs={
            "as_of": "2010-06-30",
            "officer_weight_bands": [0.01, 0.3, 3.0, 30.0],
            "posterior_fitted_at": load(scenario).provenance["fitted_at"],
            "averted": pd.DataFrame(
                {"option": ["police:300"], "parameter": ["lethality"], "importance": [1.0]}
            ),
        },
    )
    save_sensitivity(result, scenario)
    stored = load_sensitivity(scenario)
    assert (
        stored is not None and stored.ordering_depends and stored.note == "It depends." and stored.runs == 32
    )
    assert stored.by_officer_weight.equals(by_ow)
    assert stored.by_officer_weight.attrs["officer_weight_bands"] == [0.01, 0.3, 3.0, 30.0]
    assert stored.attrs["as_of"] == "2010-06-30" and stored.attrs["computed_at"]
    assert stored.attrs["stale"] == ""
    meta = folder / "simulation_posterior.json"
    meta.write_text(meta.read_text().replace('"fitted_at": "', '"fitted_at": "1999', 1))
    again = load_sensitivity(load_scenario(str(folder)))
    assert again is not None and "earlier calibration" in again.attrs["stale"]


def test_a_scenario_whose_group_shares_are_all_unknown_says_why_it_is_not_calibrated() -> None:
    from kalkan.plan.units import parse_options
    from kalkan.scenarios import load_scenario
    from kalkan.simulate import compare_options
    from kalkan.simulate.calibration import calibrate
    from kalkan.simulate.scenario import scenario_places

    car = load_scenario("car_2014")
    # Bangui's count of Muslims was published on 7 March 2014: not known on the decision day (20 February).
    assert (scenario_places(car, as_of=date(2014, 2, 20))["group_share"].fillna(0) == 0).all()
    assert (scenario_places(car, as_of=date(2014, 3, 10))["group_share"].fillna(0) > 0).any()
    with pytest.raises(NotCalibratedError, match="share of Muslims living in each place"):
        load_posterior(car)
    with pytest.raises(NotCalibratedError, match="No share is assumed"):
        calibrate(car, particles=10, generations=1, save=False)
    with pytest.raises(NotCalibratedError, match="nobody to protect"):
        compare_options(car, parse_options("police:100"), draws=1, seeds_per_draw=1)


def test_the_posterior_says_how_closely_it_fits() -> None:
    from kalkan.scenarios import load_scenario

    posterior = load_posterior(load_scenario("kyrgyzstan_2010"))
    text = posterior.describe()
    assert "published by 2010-06-30" in text and "people killed 294-2,000" in text
    inside = float((posterior.draws["distance"] <= 0).mean())
    assert f"{inside:.0%} of the fitted parameter sets reproduce every figure" in text
