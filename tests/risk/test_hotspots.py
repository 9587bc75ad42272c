"""The space-time Hawkes model: parameter recovery, no look-ahead, forecasts, errors, planner hook."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from kalkan.errors import InputError, NotFittedError
from kalkan.risk import hotspots
from kalkan.risk.grids import to_xyz_km
from kalkan.risk.hotspots import HotspotModel, forecast_risk_weight, simulate_hawkes

TRUE = {"alpha": 0.5, "decay_per_day": 0.2, "bandwidth_km": 5.0}


@pytest.fixture(scope="module")
def simulated() -> pd.DataFrame:
    """Two years of a process with known parameters, 5 background events a day (~7,000 events)."""
    return simulate_hawkes(
        background_per_day=5.0,
        alpha=TRUE["alpha"],
        decay_per_day=TRUE["decay_per_day"],
        bandwidth_km=TRUE["bandwidth_km"],
        days=730,
        seed=11,
    )


@pytest.fixture(scope="module")
def fitted(simulated: pd.DataFrame) -> HotspotModel:
    return HotspotModel(
        window_days=None,
        time_cutoff_days=60.0,
        distance_cutoff_km=50.0,
        background_smoothing=0.0,
        background_pseudocount=0.0,
    ).fit(simulated)


def test_recovers_known_parameters(fitted: HotspotModel) -> None:
    # Tolerance: 10 % on each triggering parameter, 5 % on the total background rate (5 a day).
    assert fitted.branching_ratio_ == pytest.approx(TRUE["alpha"], rel=0.10)
    assert fitted.decay_per_day_ == pytest.approx(TRUE["decay_per_day"], rel=0.10)
    assert fitted.bandwidth_km_ == pytest.approx(TRUE["bandwidth_km"], rel=0.10)
    assert fitted.background_rate_.sum() == pytest.approx(5.0, rel=0.05)
    p = fitted.params_.set_index("parameter")
    # standard errors exist, are small, and the intervals bracket the estimates
    assert (p["std_error"] > 0).all() and (p["std_error"] / p["estimate"] < 0.05).all()
    assert (p["ci_low"] < p["estimate"]).all() and (p["estimate"] < p["ci_high"]).all()


def _naive_log_lik(model: HotspotModel, events: pd.DataFrame) -> float:
    """Slow, obviously right O(n^2) log-likelihood of the truncated model, for the fast one to match."""
    t, xyz = model._t, model._xyz
    start, end = model.window_start_, model.until_day_end()
    tc, dc = model.time_cutoff_days, model.distance_cutoff_km
    a, w, s = model.branching_ratio_, model.decay_per_day_, model.bandwidth_km_
    cells = model.grid_.cell_ids(model._lat, model._lon)
    pos = np.searchsorted(model.cells_, cells)
    mu = model.background_rate_.to_numpy()
    total = 0.0
    for j in range(len(t)):
        if t[j] < start:
            continue
        lam = mu[pos[j]] / model.cell_areas_km2_[pos[j]]
        for i in range(len(t)):
            dt = t[j] - t[i]
            r2 = float(((xyz[j] - xyz[i]) ** 2).sum())
            if 0 < dt <= tc and r2 <= dc * dc:
                time_part = a * w * math.exp(-w * dt) / -math.expm1(-w * tc)
                norm = 2 * math.pi * s * s * -math.expm1(-dc * dc / (2 * s * s))
                lam += time_part * math.exp(-r2 / (2 * s * s)) / norm
        total += math.log(lam)
    comp = mu.sum() * (end - start)
    for ti in t:
        hi = min(max(end - ti, 0.0), tc)
        lo = min(max(start - ti, 0.0), tc)
        comp += a * (math.expm1(-w * hi) - math.expm1(-w * lo)) / math.expm1(-w * tc)
    return total - comp


def test_fast_likelihood_equals_naive_reference() -> None:
    ev = simulate_hawkes(
        background_per_day=0.5, alpha=0.6, decay_per_day=0.3, bandwidth_km=8.0, days=120, seed=3
    )
    model = HotspotModel(window_days=60.0, time_cutoff_days=20.0, distance_cutoff_km=30.0).fit(ev)
    assert model.log_likelihood_ == pytest.approx(_naive_log_lik(model, ev), rel=1e-6)


def test_pairs_respect_both_cutoffs() -> None:
    rng = np.random.default_rng(0)
    t = np.sort(rng.uniform(0, 100, 300))
    xyz = to_xyz_km(rng.uniform(6, 7, 300), rng.uniform(20, 21, 300))
    i, j, dt, r2 = hotspots._pairs(t, xyz, 10.0, 25.0, np.ones(300, bool))
    brute = {
        (a, b)
        for a in range(300)
        for b in range(300)
        if 0 < t[b] - t[a] <= 10.0 and ((xyz[b] - xyz[a]) ** 2).sum() <= 625.0
    }
    assert set(zip(i.tolist(), j.tolist(), strict=True)) == brute


def test_events_after_the_cut_off_change_nothing(simulated: pd.DataFrame) -> None:
    cut = "2015-12-31"
    early = simulated[simulated["date_start"] < "2016-01-01"]
    a = HotspotModel(window_days=180.0).fit(simulated, until=cut).predict(30)
    b = HotspotModel(window_days=180.0).fit(early, until=cut).predict(30)
    pd.testing.assert_frame_equal(a, b)


def test_forecast_matches_what_happens_next(simulated: pd.DataFrame) -> None:
    # The forecast of the 30 days after the cut-off, summed over cells, is within 20 % of the events
    # the same process produced in those days (about 300); a model without triggering is not.
    cut = pd.Timestamp("2016-06-30")
    nxt = simulated[
        (simulated["date_start"] > cut + pd.Timedelta(days=1))
        & (simulated["date_start"] < cut + pd.Timedelta(days=31))
    ]
    model = HotspotModel(
        window_days=365.0,
        time_cutoff_days=60.0,
        distance_cutoff_km=50.0,
        background_smoothing=0.0,
        background_pseudocount=0.0,
    ).fit(simulated, until=cut)
    fc = model.predict(30)
    assert fc["expected_events"].sum() == pytest.approx(len(nxt), rel=0.20)
    assert fc["background_events"].sum() < 0.7 * len(nxt)
    # clusters: P(at least one) is below the Poisson value of the mean, above that of the background
    prob = fc["probability"].to_numpy()
    assert np.all(prob <= -np.expm1(-fc["expected_events"].to_numpy()) + 1e-12)
    assert np.all(prob >= -np.expm1(-fc["background_events"].to_numpy()) - 1e-12)
    assert (prob < -np.expm1(-fc["expected_events"].to_numpy()) - 1e-3).any()
    cdf = model.predict_cdf(30, 200)
    assert cdf.shape == (len(fc), 201) and np.all(np.diff(cdf, axis=1) >= -1e-12)
    np.testing.assert_allclose(cdf[:, 0], 1 - prob, atol=1e-9)  # same P(0) as the probability
    mean_from_cdf = (1 - cdf).sum(axis=1)  # E[N] = sum_k P(N > k)
    np.testing.assert_allclose(mean_from_cdf, fc["expected_events"], rtol=1e-4, atol=1e-6)


def test_without_triggering_the_forecast_is_the_background() -> None:
    ev = simulate_hawkes(
        background_per_day=2.0, alpha=0.0, decay_per_day=0.2, bandwidth_km=5.0, days=200, seed=5
    )
    model = HotspotModel(window_days=None, background_smoothing=0.0, background_pseudocount=0.0).fit(ev)
    assert model.branching_ratio_ < 0.05
    fc = model.predict(10)
    assert fc["expected_events"].sum() == pytest.approx(model.background_rate_.sum() * 10, rel=0.06)


def test_forecast_lists_history_cells_and_neighbours(simulated: pd.DataFrame) -> None:
    model = HotspotModel(window_days=30.0).fit(simulated, until="2015-03-01")
    hist = simulated[simulated["date_start"] < "2015-03-02"]
    cells = set(model.grid_.cell_ids(hist["latitude"].to_numpy(), hist["longitude"].to_numpy()))
    listed = set(model.predict(7)["cell_id"])
    assert cells <= listed
    assert set(model.grid_.neighbours(np.array(sorted(cells)))) == listed


def test_h3_grid_forecast() -> None:
    ev = simulate_hawkes(
        background_per_day=1.0,
        alpha=0.4,
        decay_per_day=0.3,
        bandwidth_km=3.0,
        days=90,
        bbox=(40.4, 72.6, 40.7, 73.0),
        seed=2,
    )
    fc = HotspotModel(grid="h3:6", window_days=None).fit(ev).predict(14)
    assert len(fc) > 7 and fc["probability"].between(0, 1).all()
    assert fc["expected_events"].sum() > 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"time_cutoff_days": -1},
            "The 'time_cutoff_days' parameter of HotspotModel must be a float > 0. Got -1 instead.",
        ),
        ({"background_smoothing": 2}, "'background_smoothing' parameter of HotspotModel must be a float in"),
        ({"window_days": 0}, "'window_days' parameter of HotspotModel must be a float > 0 or None. Got 0"),
        ({"max_iter": 1.5}, "'max_iter' parameter of HotspotModel must be an int >= 1"),
    ],
)
def test_bad_settings_are_named(kwargs: dict, message: str, simulated: pd.DataFrame) -> None:
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(".", r"\.")):
        HotspotModel(**kwargs).fit(simulated.head(50))


def test_bad_inputs_give_clear_messages(simulated: pd.DataFrame) -> None:
    with pytest.raises(InputError, match=r"No events on or before 2014-12-31 .* choose a later cut-off"):
        HotspotModel().fit(simulated, until="2014-12-31")
    model = HotspotModel().fit(simulated.head(200))
    with pytest.raises(InputError, match="horizon must be a whole number of days >= 1, got 0"):
        model.predict(0)
    unlocated = simulated.head(20).copy()
    unlocated.loc[unlocated.index[[3, 4]], "longitude"] = np.nan
    with pytest.raises(InputError, match=r"2 of 20 events have no valid coordinates \(rows 4, 5\)"):
        HotspotModel().fit(unlocated)
    with pytest.raises(InputError, match="event table is empty"):
        HotspotModel().fit(simulated.head(0))
    with pytest.raises(NotFittedError, match=r"call fit\(events"):
        HotspotModel().predict(7)


def test_fit_returns_self_and_keeps_settings(simulated: pd.DataFrame) -> None:
    model = HotspotModel(window_days=90.0)
    assert model.fit(simulated.head(500)) is model
    assert model.get_params()["window_days"] == 90.0
    assert not hasattr(HotspotModel(), "branching_ratio_")


@pytest.mark.parametrize("model", [None, "hawkes", "boost", "conflictology"])
def test_risk_weight_for_the_planner(model: str | None) -> None:
    # Violence in Osh over a fortnight: places in Osh get more weight than Jalal-Abad, far ones none.
    rng = np.random.default_rng(4)
    n = 40
    events = pd.DataFrame(
        {
            "date_start": pd.Timestamp("2010-06-01") + pd.to_timedelta(rng.integers(0, 14, n), unit="D"),
            "latitude": 40.53 + rng.normal(0, 0.01, n),
            "longitude": 72.80 + rng.normal(0, 0.01, n),
        }
    )
    events.loc[0, "latitude"] = np.nan  # unlocated incidents are left out, not fatal
    places = pd.DataFrame({"latitude": [40.53, 40.94, 42.87], "longitude": [72.80, 73.00, 74.59]})
    w = forecast_risk_weight(places, events, pd.Timestamp("2010-06-14").date(), model=model)
    assert w.shape == (3,)
    assert w[0] == pytest.approx(1.0) and w[0] > w[1] and w[2] == pytest.approx(0.1)  # max 1, floor 0.1
    # nothing usable before the date: no reweighting
    np.testing.assert_array_equal(
        forecast_risk_weight(places, events, pd.Timestamp("2010-05-01").date(), model=model), np.ones(3)
    )
