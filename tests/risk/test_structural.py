"""Country-year risk models: target construction, missing-data rules, the sklearn contract,
calibration on synthetic data with known probabilities, no look-ahead, and the ranking."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kalkan.errors import InputError, NotFittedError, SchemaError
from kalkan.risk.structural import (
    EWP_PREDICTORS,
    TARGET,
    CountryModel,
    EWPBaseline,
    KalkanBoost,
    KalkanEnsemble,
    build_target,
    carry_forward,
    check_table,
    country_context,
    country_risk,
    load_ewp_table,
    training_rows,
)

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "ewp" / "ewp_cut_1985_2016.csv"


def fast_ewp(seed: int = 0) -> EWPBaseline:
    """EWP's model with a short penalty path and 3 folds: same method, test-sized."""
    return EWPBaseline(n_lambdas=20, lambda_min_ratio=1e-3, cv=3, seed=seed)


@pytest.fixture(scope="module")
def ewp_table() -> pd.DataFrame:
    return load_ewp_table(FIXTURE)


# ------------------------------------------------------------------------------------------ target


def hand_panel() -> pd.DataFrame:
    """Country A 2000-2005 with an onset in 2003; country B ends in 2002 (the table runs to 2005)."""
    rows = [("A", y, int(y == 2003)) for y in range(2000, 2006)] + [("B", y, 0) for y in range(2000, 2003)]
    return pd.DataFrame(rows, columns=["ewp_name", "year", "mk_onset"])


def test_build_target_on_hand_built_panel() -> None:
    out = build_target(hand_panel()).set_index(["ewp_name", "year"])
    a = out.loc["A"]
    # onset in 2003: the rows of 2001 (lead 2) and 2002 (lead 1) look ahead to it
    assert a.loc[2001, "mk_onset_2"] == 1 and a.loc[2002, "mk_onset_1"] == 1
    assert a.loc[2000, TARGET] == 0
    assert a.loc[2001, TARGET] == 1
    assert a.loc[2002, TARGET] == 1
    assert a.loc[2003, TARGET] == 0  # leads 2004 and 2005 known, no onset
    # 2004: lead 2 (2006) is past the table's end, lead 1 is 0 -> unknown
    assert np.isnan(a.loc[2004, TARGET]) and a.loc[2004, "mk_onset_1"] == 0
    assert np.isnan(a.loc[2005, TARGET])
    # B has no rows after 2002 although the table covers 2003-2005: EWP codes 0, not unknown
    b = out.loc["B"]
    assert b.loc[2002, "mk_onset_1"] == 0 and b.loc[2002, TARGET] == 0


def test_build_target_known_onset_beats_unknown_lead() -> None:
    panel = hand_panel()
    panel.loc[(panel["ewp_name"] == "A") & (panel["year"] == 2005), "mk_onset"] = 1
    out = build_target(panel).set_index(["ewp_name", "year"])
    # lead 1 of 2004 is the 2005 onset: the target is 1 although lead 2 (2006) is unknown
    assert out.loc[("A", 2004), TARGET] == 1


def test_build_target_matches_ewp_table(ewp_table: pd.DataFrame) -> None:
    # EWP's own target in the fixture, rebuilt from mk_onset; the first years of each country are
    # compared only where the fixture covers both lead years (it starts in 1985, ends in 2016)
    rebuilt = build_target(ewp_table.drop(columns=[TARGET]))
    both = ewp_table[TARGET].notna() & rebuilt[TARGET].notna()
    assert both.sum() > 1000
    assert (rebuilt.loc[both, TARGET] == ewp_table.loc[both, TARGET]).mean() > 0.99


# ------------------------------------------------------------------------------------------ data


def test_carry_forward_uses_only_earlier_years() -> None:
    panel = pd.DataFrame(
        {
            "ewp_name": ["A"] * 4 + ["B"] * 2,
            "year": [2000, 2001, 2002, 2003, 2000, 2001],
            "gdppcgrowth": [np.nan, 1.0, np.nan, 3.0, 5.0, np.nan],
        }
    )
    out = carry_forward(panel, ("gdppcgrowth",))
    # 2000 of A has no earlier value: stays missing (never back-filled from 2001)
    assert np.isnan(out.loc[0, "gdppcgrowth"])
    assert out.loc[2, "gdppcgrowth"] == 1.0
    # B never takes A's values
    assert out.loc[5, "gdppcgrowth"] == 5.0


def test_check_table_names_missing_columns(ewp_table: pd.DataFrame) -> None:
    with pytest.raises(SchemaError, match=r"lacks 2 of the EWP columns \(popsize.log2, efindex\)"):
        check_table(ewp_table.drop(columns=["popsize.log2", "efindex"]))


def test_check_table_rejects_duplicated_country_years(ewp_table: pd.DataFrame) -> None:
    doubled = pd.concat([ewp_table, ewp_table.head(1)])
    with pytest.raises(SchemaError, match="1 duplicated country-years"):
        check_table(doubled)


def test_load_missing_file_says_which(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        load_ewp_table(tmp_path / "nope.csv")


def test_training_rows_stop_two_years_before(ewp_table: pd.DataFrame) -> None:
    rows = training_rows(ewp_table, 2010)
    assert rows["year"].max() == 2008
    assert rows[TARGET].notna().all()


# ------------------------------------------------------------------------------- sklearn contract


@pytest.mark.parametrize(
    ("model", "message"),
    [
        # mixing outside [0, 1]
        (
            EWPBaseline(l1_ratio=-1),
            "The 'l1_ratio' parameter of EWPBaseline must be a float in [0, 1]. Got -1",
        ),
        # folds must be an int
        (EWPBaseline(cv=2.5), "The 'cv' parameter of EWPBaseline must be an int >= 2. Got 2.5"),  # type: ignore[arg-type]
        # a negative seed
        (EWPBaseline(seed=-3), "The 'seed' parameter of EWPBaseline must be an int >= 0. Got -3"),
        # learning rate of zero
        (
            KalkanBoost(learning_rate=0),
            "The 'learning_rate' parameter of KalkanBoost must be a float in (0, 1]",
        ),
        # a calibration scikit-learn does not offer here
        (
            KalkanBoost(calibration_method="beta"),
            "The 'calibration_method' parameter of KalkanBoost must be one of 'sigmoid', 'isotonic'. "
            "Got 'beta'",
        ),
        # a truthy number is not a bool
        (
            KalkanBoost(calibration_ensemble=1),  # type: ignore[arg-type]
            "The 'calibration_ensemble' parameter of KalkanBoost must be a bool. Got 1",
        ),
        # ensemble weight above one
        (
            KalkanEnsemble(weight=1.5),
            "The 'weight' parameter of KalkanEnsemble must be a float in [0, 1] or 'auto'. Got 1.5",
        ),
        # a weight given as the wrong word
        (
            KalkanEnsemble(weight="best"),
            "The 'weight' parameter of KalkanEnsemble must be a float in [0, 1] or 'auto'. Got 'best'",
        ),
    ],
)
def test_parameter_rules_checked_in_fit(model: CountryModel, message: str, ewp_table: pd.DataFrame) -> None:
    train = training_rows(ewp_table, 2000)
    with pytest.raises(InputError, match=re.escape(message)):
        model.fit(train, train[TARGET])


@pytest.mark.parametrize("model", [EWPBaseline(), KalkanBoost(), KalkanEnsemble()])
def test_methods_before_fit_name_fit(model: CountryModel, ewp_table: pd.DataFrame) -> None:
    with pytest.raises(NotFittedError, match="call 'fit'"):
        model.predict_proba(ewp_table)


def test_fit_returns_self_and_learns_underscored(ewp_table: pd.DataFrame) -> None:
    train = training_rows(ewp_table, 2005)
    model = fast_ewp()
    assert model.fit(train, train[TARGET]) is model
    assert list(model.coef_.index) == list(EWP_PREDICTORS)
    assert model.lambda_ > 0
    # the fixture's missing gdppcgrowth rows are dropped under EWP's rule and counted
    assert model.n_dropped_ == int(train[list(EWP_PREDICTORS)].isna().any(axis=1).sum())
    assert model.n_train_ + model.n_dropped_ == len(train)


def test_target_length_and_training_years_checked(ewp_table: pd.DataFrame) -> None:
    train = training_rows(ewp_table, 2005)
    with pytest.raises(InputError, match=r"The target has shape \(3,\) but the predictors have"):
        fast_ewp().fit(train, [0, 1, 0])
    with pytest.raises(
        InputError, match="No training rows: the table has no known two-year target for the years up to 1984"
    ):
        country_risk(ewp_table, 1986, "ewp")


def test_target_must_be_known(ewp_table: pd.DataFrame) -> None:
    rows = ewp_table[ewp_table["year"] >= 2010]  # targets of 2015-16 are masked (NaN)
    complete = rows.dropna(subset=list(EWP_PREDICTORS))
    with pytest.raises(InputError, match="must be 0 or 1 on every training row"):
        fast_ewp().fit(complete, complete[TARGET])


def test_linear_contributions_are_coefficient_times_distance(ewp_table: pd.DataFrame) -> None:
    train = training_rows(ewp_table, 2005)
    model = fast_ewp().fit(train, train[TARGET])
    rows = ewp_table[ewp_table["year"] == 2005].dropna(subset=list(EWP_PREDICTORS))
    contrib = model.contributions(rows)
    X = rows[list(EWP_PREDICTORS)].to_numpy()
    expected = (X - model.medians_) / model.net_.scale_ * model.net_.coef_
    np.testing.assert_allclose(contrib.to_numpy(), expected, atol=1e-9)


def test_coordinate_descent_matches_sklearn_saga() -> None:
    # the fast glmnet-style path against scikit-learn's SAGA solver of the same objective
    from sklearn.linear_model import LogisticRegression

    from kalkan.risk.structural import _cd_path, _lambda_grid, _standardise

    rng = np.random.default_rng(11)
    X = rng.standard_normal((600, 6))
    X[:, 5] = X[:, 4] + 0.1 * rng.standard_normal(
        600
    )  # two nearly collinear predictors, like year and year^2
    y = (rng.random(600) < 1 / (1 + np.exp(-(-2 + X[:, 0] - 0.5 * X[:, 1] + 0.8 * X[:, 4])))).astype(float)
    Xs, _, _ = _standardise(X)
    lambdas = _lambda_grid(Xs, y, 0.5, 12, 1e-3)
    b0, b, _ = _cd_path(Xs, y, lambdas, 0.5, 1e-10, 1_000_000)
    assert np.all(b[0] == 0)  # the path starts where every coefficient is zero

    def objective(intercept: float, coef: np.ndarray, lam: float) -> float:
        eta = Xs @ coef + intercept
        loss = np.mean(np.logaddexp(0, eta) - y * eta)
        return float(loss + lam * (0.25 * coef @ coef + 0.5 * np.abs(coef).sum()))

    for k in (4, 8, 11):
        ref = LogisticRegression(
            C=1 / (len(y) * lambdas[k]), l1_ratio=0.5, solver="saga", tol=1e-10, max_iter=100_000
        )
        ref.fit(Xs, y)
        # the same minimum (the collinear pair makes the optimum flat, so compare values first)
        assert (
            objective(b0[k], b[k], lambdas[k])
            <= objective(ref.intercept_[0], ref.coef_.ravel(), lambdas[k]) + 1e-7
        )
        np.testing.assert_allclose(b[k], ref.coef_.ravel(), atol=3e-3)
        assert b0[k] == pytest.approx(ref.intercept_[0], abs=1e-3)


# ------------------------------------------------------------------------------------ calibration


def synthetic(n: int, rng: np.random.Generator) -> tuple[pd.DataFrame, np.ndarray]:
    """EWP-shaped predictors (standard normal) with a known logistic risk on three of them."""
    X = pd.DataFrame(rng.standard_normal((n, len(EWP_PREDICTORS))), columns=list(EWP_PREDICTORS))
    logit = -3.0 + 1.0 * X["battledeaths.log2"] + 0.7 * X["un_imr_sqrt"] - 0.6 * X["freediscussion"]
    return X, 1.0 / (1.0 + np.exp(-logit.to_numpy()))


def calibration_error(p_hat: np.ndarray, p_true: np.ndarray) -> tuple[float, float]:
    """(calibration slope of the true log-odds on the forecast log-odds, mean forecast - mean truth)."""
    logit_hat = np.log(p_hat / (1 - p_hat))
    logit_true = np.log(p_true / (1 - p_true))
    slope = float(np.polyfit(logit_hat, logit_true, 1)[0])
    return slope, float(p_hat.mean() - p_true.mean())


@pytest.mark.parametrize(
    "model",
    [
        fast_ewp(),  # the right functional form, shrunk a little by the penalty
        KalkanBoost(max_iter=60, calibration_folds=3),  # trees + Platt scaling
        # one booster on all rows, Platt fitted on out-of-fold scores
        KalkanBoost(max_iter=60, calibration_folds=3, calibration_ensemble=False),
    ],
)
def test_calibration_recovered_on_synthetic_data(model: CountryModel) -> None:
    rng = np.random.default_rng(7)
    X, p_true = synthetic(4000, rng)
    y = rng.random(len(p_true)) < p_true
    model.fit(X, y.astype(int))
    X_new, p_new = synthetic(6000, rng)
    p_hat = model.predict_proba(X_new)[:, 1]
    slope, bias = calibration_error(p_hat, p_new)
    # slope 1 = perfectly calibrated spread; penalised and boosted models shrink a little (slope > 1)
    assert 0.8 < slope < 1.35
    assert abs(bias) < 0.01  # calibrated in the large
    assert np.abs(p_hat - p_new).mean() < 0.035
    assert np.corrcoef(p_hat, p_new)[0, 1] > 0.85
    # the check can fail: halving the forecasts, or squaring them, is caught
    assert abs(calibration_error(p_hat / 2, p_new)[1]) > 0.03
    assert calibration_error(np.sqrt(p_hat) * p_hat.mean() / np.sqrt(p_hat).mean(), p_new)[0] > 1.35


def test_isotonic_calibration_is_calibrated_in_the_large() -> None:
    # isotonic steps have no slope to check, but the mean forecast must match the mean risk, and the
    # forecasts must stay probabilities that rank like the truth
    rng = np.random.default_rng(11)
    X, _ = synthetic(4000, rng)
    p_true = 1.0 / (1.0 + np.exp(-(-3.0 + 1.0 * X["battledeaths.log2"].to_numpy())))
    y = (rng.random(len(p_true)) < p_true).astype(int)
    model = KalkanBoost(max_iter=40, calibration_folds=3, calibration_method="isotonic").fit(X, y)
    X_new, _ = synthetic(6000, rng)
    p_new = 1.0 / (1.0 + np.exp(-(-3.0 + 1.0 * X_new["battledeaths.log2"].to_numpy())))
    p_hat = model.predict_proba(X_new)[:, 1]
    assert ((p_hat >= 0) & (p_hat <= 1)).all()
    assert abs(p_hat.mean() - p_new.mean()) < 0.01
    assert np.corrcoef(p_hat, p_new)[0, 1] > 0.85


# --------------------------------------------------------------------------------- no look-ahead


def test_changing_rows_after_the_cutoff_changes_no_prediction(ewp_table: pd.DataFrame) -> None:
    year = 2008
    base = country_risk(ewp_table, year, fast_ewp())
    rng = np.random.default_rng(1)
    changed = ewp_table.copy()
    changed[list(EWP_PREDICTORS)] = changed[list(EWP_PREDICTORS)].astype(float)
    later = changed["year"] > year
    cols = [c for c in EWP_PREDICTORS if c != "year"]
    changed.loc[later, cols] = changed.loc[later, cols] * rng.uniform(0.5, 2.0, (int(later.sum()), len(cols)))
    # outcomes not known by `year`: targets of rows after year - 2 are flipped
    unknown = changed["year"] > year - 2
    changed.loc[unknown, TARGET] = 1 - changed.loc[unknown, TARGET]
    changed.loc[later, "mk_onset"] = 1 - changed.loc[later, "mk_onset"]
    again = country_risk(changed, year, fast_ewp())
    pd.testing.assert_frame_equal(base, again)


def test_no_look_ahead_in_kalkans_missing_rule(ewp_table: pd.DataFrame) -> None:
    # kalkan's carry-forward fills a gap from earlier years only: blanking a later value changes nothing
    year = 2005
    table = ewp_table.copy()
    model = KalkanBoost(max_iter=20, calibration_folds=2)
    base = country_risk(table, year, model)
    table.loc[table["year"] > year, "gdppcgrowth"] = np.nan
    again = country_risk(table, year, KalkanBoost(max_iter=20, calibration_folds=2))
    pd.testing.assert_frame_equal(base, again)


# ------------------------------------------------------------------------------------ the ranking


def test_country_risk_columns_and_ranks(ewp_table: pd.DataFrame) -> None:
    out = country_risk(ewp_table, 2012, fast_ewp())
    assert list(out.columns[:5]) == ["country", "country_code", "year", "probability", "rank"]
    assert (out["year"] == 2012).all()
    assert out["probability"].between(0, 1).all()
    assert out["rank"].iloc[0] == 1 and out["rank"].is_monotonic_increasing
    assert out["probability"].is_monotonic_decreasing
    # every country with complete predictors in 2012 is ranked, the others listed as unforecast
    now = ewp_table[ewp_table["year"] == 2012]
    assert len(out) + len(out.attrs["no_forecast"]) == len(now)
    assert out.attrs["train_years"][1] == 2010
    # drivers are predictor names with a positive push; the riskiest countries all have one
    named = out["driver_1"][out["driver_1"] != ""]
    assert named.str.split(" ").str[0].isin(EWP_PREDICTORS).all()
    assert (out["driver_1"].head(10) != "").all()
    np.testing.assert_allclose(out["change"], out["probability"] - out["previous_probability"])


def test_country_risk_rejects_unknown_year_and_model(ewp_table: pd.DataFrame) -> None:
    with pytest.raises(InputError, match=r"Year 2030 is not in the table \(it covers 1985-2016\)"):
        country_risk(ewp_table, 2030, "ewp")
    with pytest.raises(InputError, match="Unknown country model 'forest'"):
        country_risk(ewp_table, 2012, "forest")


def test_country_context_for_the_brief(ewp_table: pd.DataFrame) -> None:
    ranking = country_risk(ewp_table, 2009, fast_ewp())
    context = country_context(ranking, "Kyrgyzstan")  # EWP spells it "Kyrgystan"
    assert context["country"] == "Kyrgystan"
    row = ranking[ranking["country"] == "Kyrgystan"].iloc[0]
    assert context["rank"] == row["rank"] and context["probability"] == row["probability"]
    assert context["of"] == len(ranking) and context["high_risk"] == (row["rank"] <= 30)
    with pytest.raises(InputError, match="'Atlantis' is not in the ranking"):
        country_context(ranking, "Atlantis")


def test_ensemble_is_the_weighted_mean_of_its_members(ewp_table: pd.DataFrame) -> None:
    train = training_rows(carry_forward(ewp_table), 2004)
    rows = ewp_table[ewp_table["year"] == 2004]
    model = KalkanEnsemble(weight=0.3, cv=3).fit(train, train[TARGET])
    p = model.predict_proba(rows)[:, 1]
    expected = 0.3 * model.net_.predict_proba(rows)[:, 1] + 0.7 * model.boost_.predict_proba(rows)[:, 1]
    assert model.weight_ == 0.3
    np.testing.assert_allclose(p, expected)
    # kalkan's rule scores rows with a missing predictor too (EWP's rule would give NaN)
    gap = rows.copy()
    gap.loc[gap.index[0], "gdppcgrowth"] = np.nan
    assert np.isfinite(model.predict_proba(gap)[:, 1]).all()
    assert np.isnan(fast_ewp().fit(train, train[TARGET]).predict_proba(gap)[0, 1])


def test_stacked_weight_is_chosen_on_the_last_training_years(ewp_table: pd.DataFrame) -> None:
    train = training_rows(carry_forward(ewp_table), 2012)
    model = KalkanEnsemble(weight="auto", validation_years=5, cv=3).fit(train, train[TARGET])
    losses = model.validation_log_loss_
    assert losses.shape == (11,) and np.isfinite(losses).all()
    # the chosen weight is the grid point with the lowest held-out log loss
    assert model.weight_ == pytest.approx(np.linspace(0, 1, 11)[int(np.argmin(losses))])


def slow_target(panel: pd.DataFrame) -> list[float]:
    """Obviously right reference: look up the next two years of the same country one row at a time."""
    last = panel["year"].max()
    onset = {(c, y): o for c, y, o in zip(panel["ewp_name"], panel["year"], panel["mk_onset"], strict=True)}
    out = []
    for c, y in zip(panel["ewp_name"], panel["year"], strict=True):
        leads = []
        for k in (1, 2):
            if y + k > last:
                leads.append(None)  # not observed yet
            else:
                leads.append(onset.get((c, y + k), 0))  # no row although the table covers the year: 0
        if 1 in leads:
            out.append(1.0)
        elif None in leads:
            out.append(np.nan)
        else:
            out.append(0.0)
    return out


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["A", "B", "C"]), st.integers(2000, 2008), st.integers(0, 1)),
        min_size=1,
        max_size=25,
        unique_by=lambda t: (t[0], t[1]),
    )
)
def test_build_target_matches_a_slow_reference(rows: list[tuple[str, int, int]]) -> None:
    panel = pd.DataFrame(rows, columns=["ewp_name", "year", "mk_onset"])
    got = build_target(panel)[TARGET].to_numpy()
    np.testing.assert_array_equal(got, np.array(slow_target(panel)))
