"""Country-year risk of a mass-killing onset in the next two years (structural forecasts).

The Early Warning Project (EWP; US Holocaust Memorial Museum and Dartmouth College) ranks countries each
year by the risk that a new episode of mass killing (>= 1,000 non-combatant civilians deliberately killed
as members of a group) begins in year t+1 or t+2, from about 39 country-year predictors measured in year
t. This module reproduces that method transparently and adds kalkan's own models:

``EWPBaseline``
    EWP's model: elastic-net logistic regression (mixing ``l1_ratio`` = glmnet's alpha = 0.5), penalty
    chosen by 10-fold cross-validated deviance (glmnet ``lambda.min``), predictors standardised, rows with
    any missing predictor dropped (EWP's ``complete.cases`` rule; such countries get no forecast).
``KalkanBoost``
    gradient-boosted trees (scikit-learn ``HistGradientBoostingClassifier``) with monotone constraints
    on the predictors whose direction the literature agrees on, Platt-calibrated by cross-validation.
``KalkanEnsemble``
    the mean of an elastic net with kalkan's missing-data rule and ``KalkanBoost`` (kalkan's "best").

kalkan's missing-data rule (:func:`carry_forward`): a missing predictor takes the country's last earlier
observed value (never a later one, so no look-ahead); what is still missing takes the training median
plus a missing-indicator column, so every country with a row in year t gets a forecast.

References: Early Warning Project, *Statistical Risk Assessment* replication code (2018-2025 editions,
github.com/EarlyWarningProject); Friedman, Hastie & Tibshirani (2010), "Regularization paths for
generalized linear models via coordinate descent", J. Stat. Softw. 33(1); Platt (1999) for sigmoid
calibration.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from kalkan import _base
from kalkan.errors import InputError, SchemaError
from kalkan.tables import read_csv_table

__all__ = [
    "COUNTRY_MODELS",
    "EWP_PREDICTORS",
    "CountryModel",
    "TARGET",
    "EWPBaseline",
    "KalkanBoost",
    "KalkanEnsemble",
    "build_target",
    "carry_forward",
    "country_context",
    "country_risk",
    "ewp_name_key",
    "load_ewp_table",
    "make_model",
    "ranking_chart",
    "training_rows",
]

#: EWP's 39 predictors (2025 edition, ``3.Modeling/model_3Sep2025.R``), in EWP's order.
EWP_PREDICTORS: tuple[str, ...] = (
    "widetargeting",
    "narrowtargeting",
    "v2csgender_binary",
    "v2mecenefm_binary",
    "partyban.new.0",
    "partyban.new.1",
    "partyban.new.2",
    "minorityrule",
    "judicialreform",
    "religiousfreedom",
    "pol_killing_approved",
    "freediscussion",
    "social_inequality",
    "even_civilrights",
    "repress_civilsoc",
    "social_power_dist",
    "ses_power_dist",
    "popsize.log2",
    "gdppcgrowth",
    "un_imr_sqrt",
    "efindex",
    "discrimpop",
    "reg.na",
    "reg.eap",
    "reg.sca",
    "reg.mna",
    "reg.eur",
    "ios.iccpr1",
    "battledeaths.log2",
    "coup.try.5yr",
    "mk_ongoing_count_log2",
    "mean_mk_onset_interaction",
    "mk_onset_prev_year",
    "newcountry",
    "mk_ever",
    "year_sq",
    "year",
    "countryage.new.log2",
    "includesnonstate",
)
#: The modelling target: an onset in year t+1 or t+2 given predictors of year t.
TARGET = "mk_onset_1or2"
#: Columns that identify a country-year in the EWP table.
ID_COLUMNS: tuple[str, ...] = ("ewp_name", "ccode", "year")

#: Direction of effect imposed on the boosted trees (+1 raises risk, -1 lowers it); others are free.
#: Only predictors whose sign is settled in the mass-killing literature (Harff 2003; Ulfelder & Valentino
#: 2008; EWP coefficients of every edition since 2018) are constrained.
MONOTONE: dict[str, int] = {
    "widetargeting": 1,
    "narrowtargeting": 1,
    "pol_killing_approved": 1,
    "battledeaths.log2": 1,
    "coup.try.5yr": 1,
    "mk_ongoing_count_log2": 1,
    "un_imr_sqrt": 1,
    "discrimpop": 1,
    "popsize.log2": 1,
    "freediscussion": -1,
    "even_civilrights": -1,
}


# --------------------------------------------------------------------------------------------- data


def load_ewp_table(path: str | Path) -> pd.DataFrame:
    """Read an EWP country-year table (any edition with the 2025 column layout).

    Parameters
    ----------
    path
        CSV with ``ewp_name, ccode, year``, the 39 predictors, and ``mk_onset`` or ``mk_onset_1or2``.

    Returns
    -------
    DataFrame
        The table, sorted by country and year, with ``mk_onset_1or2`` rebuilt from ``mk_onset`` when the
        file has ``mk_onset`` but no target column.
    """
    data = read_csv_table(
        path,
        "EWP table",
        needs="Pass the country-year CSV (e.g. ../shared/data/ewp/ewp_countryyear_1960_2016.csv).",
    )
    return check_table(data, name=str(path))


def check_table(data: pd.DataFrame, *, name: str = "the table") -> pd.DataFrame:
    """Check that ``data`` has the EWP columns with numeric predictors; return it sorted (a copy)."""
    missing = [c for c in (*ID_COLUMNS, *EWP_PREDICTORS) if c not in data.columns]
    if missing:
        raise SchemaError(
            f"{name} lacks {len(missing)} of the EWP columns ({', '.join(missing[:8])}"
            f"{', ...' if len(missing) > 8 else ''}): use the EWP country-year table layout "
            "(see docs/risk-countries.md)."
        )
    if TARGET not in data.columns and "mk_onset" not in data.columns:
        raise SchemaError(
            f"{name} has neither '{TARGET}' nor 'mk_onset': add the onset column so the target can be built."
        )
    out = data.copy()
    for col in (*EWP_PREDICTORS, "ccode"):
        if not pd.api.types.is_numeric_dtype(out[col]):
            converted = pd.to_numeric(out[col], errors="coerce")
            bad = out.index[converted.isna() & out[col].notna()]
            if len(bad):
                raise SchemaError(
                    f"Column '{col}' of {name} has {len(bad)} non-numeric values "
                    f"(first at row {int(bad[0]) + 2}: {out.loc[bad[0], col]!r}): fix or blank them."
                )
            out[col] = converted
    if TARGET not in out.columns:
        out = build_target(out)
    dup = out.duplicated(["ewp_name", "year"])
    if dup.any():
        first = out.loc[dup.to_numpy(), ["ewp_name", "year"]].iloc[0].tolist()
        raise SchemaError(
            f"{name} has {int(dup.sum())} duplicated country-years (first: {first[0]} "
            f"{first[1]}): keep one row per country and year."
        )
    return out.sort_values(["ewp_name", "year"], kind="stable").reset_index(drop=True)


def build_target(panel: pd.DataFrame, *, onset: str = "mk_onset", horizon: int = 2) -> pd.DataFrame:
    """Build EWP's lead targets ``mk_onset_1``, ``mk_onset_2`` and ``mk_onset_1or2`` from onsets.

    ``mk_onset_k`` is the onset in year t+k. It is missing (NA) when year t+k is after the last year of
    the table (the outcome is not known yet); it is 0 when the table covers year t+k but the country has
    no row then (the state no longer exists, EWP's rule). ``mk_onset_1or2`` is 1 if any lead is 1, 0 if
    all leads are 0, and NA otherwise.

    Parameters
    ----------
    panel
        Country-year rows with ``ewp_name``, ``year`` and the ``onset`` column (0/1).
    horizon
        Number of years ahead in the window (EWP: 2).
    """
    out = panel.copy()
    last_year = int(out["year"].max())
    onsets = out.set_index(["ewp_name", "year"])[onset]
    leads = []
    for k in range(1, horizon + 1):
        key = pd.MultiIndex.from_arrays([out["ewp_name"], out["year"] + k])
        lead = onsets.reindex(key).to_numpy(dtype=float)
        lead = np.where(np.isnan(lead) & (out["year"].to_numpy() + k <= last_year), 0.0, lead)
        out[f"{onset}_{k}"] = lead
        leads.append(lead)
    stacked = np.vstack(leads)
    any_one = np.nanmax(np.where(np.isnan(stacked), -1, stacked), axis=0) == 1
    all_known = ~np.isnan(stacked).any(axis=0)
    out[f"{onset}_1or2" if horizon == 2 else f"{onset}_1to{horizon}"] = np.where(
        any_one, 1.0, np.where(all_known, 0.0, np.nan)
    )
    return out


def carry_forward(panel: pd.DataFrame, columns: tuple[str, ...] = EWP_PREDICTORS) -> pd.DataFrame:
    """Fill each country's missing predictors with its last earlier observed value (kalkan's rule).

    Only earlier years are used, so a forecast from year t never sees data after t. Values still missing
    (no earlier observation) stay NaN for the model's own imputer.
    """
    out = panel.sort_values(["ewp_name", "year"], kind="stable").copy()
    cols = list(columns)
    out[cols] = out.groupby("ewp_name", sort=False)[cols].ffill()
    return out.loc[panel.index]


def training_rows(data: pd.DataFrame, year: int) -> pd.DataFrame:
    """Rows whose two-year target is known by ``year``: years up to ``year - 2`` with a non-missing target."""
    rows = data[(data["year"] <= year - 2) & data[TARGET].notna()]
    return rows


class CountryModel(_base.Params, ABC):
    """Base of the country models: parameter checks, the fitted check, the feature frame, contributions.

    Subclasses implement ``fit(X, y) -> self`` and ``predict_proba(X)``; ``X`` is a frame with the EWP
    predictor columns (other columns are ignored), ``y`` the 0/1 target.
    """

    features_: list[str]

    @staticmethod
    def _frame(X: pd.DataFrame, features: tuple[str, ...] | list[str]) -> pd.DataFrame:
        missing = [c for c in features if c not in X.columns]
        if missing:
            raise SchemaError(
                f"The predictor table lacks {len(missing)} columns ({', '.join(missing[:8])}): "
                "pass the EWP predictors."
            )
        return X.loc[:, list(features)].astype(float)

    @staticmethod
    def _target(y: Any, n: int) -> np.ndarray:
        target = np.asarray(y, dtype=float)
        if target.shape != (n,):
            raise InputError(
                f"The target has shape {target.shape} but the predictors have {n} rows: pass one "
                "0/1 outcome per row."
            )
        if np.isnan(target).any() or not np.isin(target, (0.0, 1.0)).all():
            raise InputError(
                "The target must be 0 or 1 on every training row: drop rows whose outcome is not "
                "known yet (see training_rows)."
            )
        positives = int(target.sum())
        if positives < 2 or positives > n - 2:
            raise InputError(
                f"The training rows have {positives} onsets out of {n}: a model needs at least 2 "
                "of each class; train on more years."
            )
        return target.astype(int)

    @abstractmethod
    def fit(self, X: pd.DataFrame, y: Any) -> Self:
        """Fit on rows of ``X`` (EWP predictors) with 0/1 outcomes ``y``; returns ``self``."""

    @abstractmethod
    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Probability of an onset in t+1 or t+2, as sklearn's two columns."""

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Each predictor's push on the log-odds of each row (occlusion against the training median).

        The contribution of predictor j is logit p(x) - logit p(x with x_j set to its training median):
        positive values raise the risk. For the linear models this is exactly coef_j * (x_j - median_j)
        on the standardised scale. Rows the model cannot score are NaN.
        """
        _base.check_is_fitted(self, "features_", method="contributions")
        base = self._frame(X, self.features_)
        p0 = _logit(self.predict_proba(base)[:, 1])
        out = {}
        for j, col in enumerate(self.features_):
            changed = base.copy()
            changed[col] = np.where(base[col].notna(), self.medians_[j], np.nan)
            out[col] = p0 - _logit(self.predict_proba(changed)[:, 1])
        return pd.DataFrame(out, index=X.index)

    medians_: np.ndarray


def _one_thread() -> Any:
    """Run OpenMP code (the boosted trees) on one thread: with a few thousand rows, threads cost more
    than they save, and on a busy machine OpenMP's waiting threads can slow a fit down tenfold."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="openmp")


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, 1e-12, 1 - 1e-12)
    return np.asarray(np.log(q) - np.log1p(-q))


def _lambda_grid(
    Xs: np.ndarray, y: np.ndarray, l1_ratio: float, n_lambdas: int, min_ratio: float
) -> np.ndarray:
    """glmnet's lambda path: from the smallest penalty that zeroes every coefficient down by ``min_ratio``."""
    n = len(y)
    lam_max = float(np.max(np.abs(Xs.T @ (y - y.mean())))) / (n * max(l1_ratio, 1e-3))
    return lam_max * np.logspace(0, np.log10(min_ratio), n_lambdas)


def _cd_path_kernel() -> Callable[..., tuple[np.ndarray, np.ndarray, int]]:
    """Compile (once) glmnet's coordinate descent for the binomial elastic net; see :func:`_cd_path`."""
    global _CD_PATH
    if _CD_PATH is not None:
        return _CD_PATH
    import numba

    @numba.njit(cache=True)
    def cd_path(X, y, lambdas, alpha, tol, max_passes):  # type: ignore[no-untyped-def]
        n, p = X.shape
        n_lam = lambdas.shape[0]
        coefs = np.zeros((n_lam, p))
        intercepts = np.zeros(n_lam)
        b = np.zeros(p)
        ybar = y.mean()
        b0 = np.log(ybar / (1.0 - ybar))
        eta = np.full(n, b0)
        w = np.empty(n)
        r = np.empty(n)
        xw2 = np.empty(p)
        passes = 0
        for k in range(n_lam):
            l1 = lambdas[k] * alpha
            l2 = lambdas[k] * (1.0 - alpha)
            for _outer in range(100):  # IRLS: quadratic approximation of the log-likelihood
                for i in range(n):
                    pi = 1.0 / (1.0 + np.exp(-eta[i]))
                    pi = min(max(pi, 1e-5), 1.0 - 1e-5)
                    w[i] = pi * (1.0 - pi)
                    r[i] = (y[i] - pi) / w[i]  # working response minus the linear predictor
                for j in range(p):
                    acc = 0.0
                    for i in range(n):
                        acc += w[i] * X[i, j] * X[i, j]
                    xw2[j] = acc / n
                sw = w.sum()
                outer_change = 0.0
                while passes < max_passes:  # coordinate descent on the weighted least squares
                    passes += 1
                    change = 0.0
                    d0 = 0.0
                    for i in range(n):
                        d0 += w[i] * r[i]
                    d0 /= sw
                    if d0 != 0.0:
                        b0 += d0
                        for i in range(n):
                            r[i] -= d0
                        change = max(change, sw / n * d0 * d0)
                    for j in range(p):
                        g = 0.0
                        for i in range(n):
                            g += w[i] * X[i, j] * r[i]
                        g = g / n + xw2[j] * b[j]
                        if g > l1:
                            new = (g - l1) / (xw2[j] + l2)
                        elif g < -l1:
                            new = (g + l1) / (xw2[j] + l2)
                        else:
                            new = 0.0
                        d = new - b[j]
                        if d != 0.0:
                            b[j] = new
                            for i in range(n):
                                r[i] -= d * X[i, j]
                            change = max(change, xw2[j] * d * d)
                    outer_change = max(outer_change, change)
                    if change < tol:
                        break
                for i in range(n):
                    acc = b0
                    for j in range(p):
                        acc += X[i, j] * b[j]
                    eta[i] = acc
                if outer_change < tol or passes >= max_passes:
                    break
            coefs[k] = b
            intercepts[k] = b0
        return intercepts, coefs, passes

    _CD_PATH = cd_path
    return cd_path


_CD_PATH: Callable[..., tuple[np.ndarray, np.ndarray, int]] | None = None


def _cd_path(
    Xs: np.ndarray, y: np.ndarray, lambdas: np.ndarray, alpha: float, tol: float, max_passes: int
) -> tuple[np.ndarray, np.ndarray, int]:
    """Binomial elastic net along a decreasing penalty path, warm-started (Friedman et al. 2010).

    Minimises -loglik/n + lambda * ((1 - alpha)/2 ||b||^2 + alpha ||b||_1) for each lambda, as R's
    glmnet does, by iteratively reweighted least squares with cyclic coordinate descent inside.
    ``Xs`` must be standardised. Returns (intercepts, coefficients per lambda, coordinate passes used).
    """
    return _cd_path_kernel()(
        np.asarray(Xs, dtype=np.float64),
        np.asarray(y, dtype=np.float64),
        np.asarray(lambdas, dtype=np.float64),
        float(alpha),
        float(tol),
        int(max_passes),
    )


def _standardise(X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    return (X - mean) / scale, mean, scale


def _deviance(y: np.ndarray, eta: np.ndarray) -> np.ndarray:
    """Mean binomial deviance of each column of ``eta`` (linear predictors) against ``y``."""
    return np.asarray(2.0 * np.mean(np.logaddexp(0.0, eta) - y[:, None] * eta, axis=0))


class _ElasticNet:
    """glmnet's ``cv.glmnet`` for the binomial family: penalty path, K-fold deviance, ``lambda.min``.

    Predictors are standardised (population standard deviation, as glmnet), the path starts at the
    smallest penalty that zeroes every coefficient, each fold is standardised on its own training part,
    and the penalty with the lowest mean held-out deviance is refitted on all rows.
    """

    def __init__(
        self,
        l1_ratio: float,
        n_lambdas: int,
        lambda_min_ratio: float,
        cv: int,
        tol: float,
        max_iter: int,
        seed: int,
    ) -> None:
        self.l1_ratio, self.n_lambdas, self.lambda_min_ratio = l1_ratio, n_lambdas, lambda_min_ratio
        self.cv, self.tol, self.max_iter, self.seed = cv, tol, max_iter, seed

    def fit(self, X: np.ndarray, y: np.ndarray) -> _ElasticNet:
        from sklearn.model_selection import StratifiedKFold

        Xs, self.mean_, self.scale_ = _standardise(X)
        yf = y.astype(np.float64)
        lambdas = _lambda_grid(Xs, yf, self.l1_ratio, self.n_lambdas, self.lambda_min_ratio)
        folds = max(2, min(self.cv, int(y.sum()), int(len(y) - y.sum())))
        cv_dev = np.zeros(len(lambdas))
        self.converged_ = True
        for train, test in StratifiedKFold(folds, shuffle=True, random_state=self.seed).split(Xs, y):
            Xt, mean, scale = _standardise(X[train])
            b0, b, passes = _cd_path(Xt, yf[train], lambdas, self.l1_ratio, self.tol, self.max_iter)
            self.converged_ &= passes < self.max_iter
            eta = ((X[test] - mean) / scale) @ b.T + b0
            cv_dev += _deviance(yf[test], eta) * len(test)
        self.cv_deviance_ = cv_dev / len(y)
        best = int(np.argmin(self.cv_deviance_))
        b0, b, passes = _cd_path(Xs, yf, lambdas[: best + 1], self.l1_ratio, self.tol, self.max_iter)
        self.converged_ &= passes < self.max_iter
        self.lambdas_ = lambdas
        self.lambda_ = float(lambdas[best])
        self.coef_ = b[-1].copy()  # on the standardised scale
        self.intercept_ = float(b0[-1])
        return self

    def decision(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(((X - self.mean_) / self.scale_) @ self.coef_ + self.intercept_)


class EWPBaseline(CountryModel):
    """The Early Warning Project's model: elastic-net logistic regression on EWP's predictors.

    Parameters
    ----------
    l1_ratio
        Elastic-net mixing (glmnet's alpha; EWP uses 0.5): 1 is the lasso, 0 ridge.
    n_lambdas, lambda_min_ratio
        The penalty path searched by cross-validation (glmnet's defaults for n > p: 100 values down to
        1e-4 of the largest).
    cv
        Folds of the cross-validation that picks the penalty (EWP: glmnet's default 10).
    tol, max_iter
        Coordinate descent stops when no weighted squared coefficient change exceeds ``tol`` (glmnet's
        ``thresh``), or after ``max_iter`` passes over the predictors in all (then ``converged_`` is False).
    seed
        Seed of the fold assignment (stratified folds; glmnet draws them unstratified).

    Attributes
    ----------
    coef_ : Series
        Coefficients per standardised predictor (change in log-odds per standard deviation).
    lambda_ : float
        The chosen penalty in glmnet's units (``lambda.min``).
    converged_ : bool
        Whether every coordinate-descent run met ``tol`` within ``max_iter`` passes.
    n_train_, n_dropped_ : int
        Training rows used, and rows dropped for a missing predictor (EWP's complete-case rule).
    """

    _parameter_constraints: ClassVar[Mapping[str, _base.Rule]] = {
        "l1_ratio": _base.real(0, 1, low_open=False),
        "n_lambdas": _base.integer(2),
        "lambda_min_ratio": _base.real(0, 1),
        "cv": _base.integer(2),
        "tol": _base.real(0),
        "max_iter": _base.integer(1),
        "seed": _base.integer(0),
    }

    def __init__(
        self,
        *,
        l1_ratio: float = 0.5,
        n_lambdas: int = 100,
        lambda_min_ratio: float = 1e-4,
        cv: int = 10,
        tol: float = 1e-7,
        max_iter: int = 100_000,
        seed: int = 0,
    ) -> None:
        self.l1_ratio = l1_ratio
        self.n_lambdas = n_lambdas
        self.lambda_min_ratio = lambda_min_ratio
        self.cv = cv
        self.tol = tol
        self.max_iter = max_iter
        self.seed = seed

    def fit(self, X: pd.DataFrame, y: Any) -> EWPBaseline:
        """Fit on complete rows of ``X`` (EWP predictors) with 0/1 outcomes ``y``; returns ``self``."""
        self._validate_params()
        frame = self._frame(X, EWP_PREDICTORS)
        target = np.asarray(y, dtype=float)
        if target.shape != (len(frame),):
            raise InputError(
                f"The target has shape {target.shape} but the predictors have {len(frame)} rows: pass one "
                "0/1 outcome per row."
            )
        complete = frame.notna().all(axis=1).to_numpy()
        self.n_dropped_ = int((~complete).sum())
        target_int = self._target(target[complete], int(complete.sum()))
        frame = frame[complete]
        self.net_ = _ElasticNet(
            self.l1_ratio, self.n_lambdas, self.lambda_min_ratio, self.cv, self.tol, self.max_iter, self.seed
        ).fit(frame.to_numpy(), target_int)
        self.n_train_ = len(frame)
        self.medians_ = frame.median().to_numpy()
        self.coef_ = pd.Series(self.net_.coef_, index=list(EWP_PREDICTORS))
        self.lambda_ = self.net_.lambda_
        self.converged_ = self.net_.converged_
        self.features_ = list(EWP_PREDICTORS)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Probability of an onset in t+1 or t+2 (sklearn's two columns); NaN where a predictor is missing."""
        _base.check_is_fitted(self, "features_", method="predict_proba")
        frame = self._frame(X, self.features_)
        p = 1.0 / (1.0 + np.exp(-self.net_.decision(frame.to_numpy())))
        return np.column_stack([1 - p, p])


class _ImputedElasticNet(CountryModel):
    """Elastic net with kalkan's missing rule: training-median imputation plus missing indicators."""

    def __init__(self, *, l1_ratio: float, cv: int, seed: int) -> None:
        self.l1_ratio, self.cv, self.seed = l1_ratio, cv, seed

    def fit(self, X: pd.DataFrame, y: Any) -> _ImputedElasticNet:
        frame = self._frame(X, EWP_PREDICTORS)
        target = self._target(y, len(frame))
        self.medians_ = frame.median().fillna(0.0).to_numpy()
        self.indicator_cols_ = [c for c in EWP_PREDICTORS if frame[c].isna().any()]
        self.net_ = _ElasticNet(self.l1_ratio, 100, 1e-4, self.cv, 1e-7, 100_000, self.seed).fit(
            self._design(frame), target
        )
        self.features_ = list(EWP_PREDICTORS)
        return self

    def _design(self, frame: pd.DataFrame) -> np.ndarray:
        values = frame.to_numpy()
        filled = np.where(np.isnan(values), self.medians_, values)
        flags = frame[self.indicator_cols_].isna().to_numpy(dtype=float)
        return np.hstack([filled, flags])

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        _base.check_is_fitted(self, "features_", method="predict_proba")
        p = 1.0 / (1.0 + np.exp(-self.net_.decision(self._design(self._frame(X, self.features_)))))
        return np.column_stack([1 - p, p])


class KalkanBoost(CountryModel):
    """Gradient-boosted trees with monotone constraints, Platt-calibrated by cross-validation.

    Shallow trees (``max_depth``) with a large ``min_samples_leaf`` keep the model from memorising the
    ~100 onsets; the monotone constraints (:data:`MONOTONE`) forbid implausible reversals (e.g. more
    battle deaths lowering risk); sigmoid calibration on held-out folds turns scores into probabilities.
    Missing predictors are handled natively by the trees (learned direction per split).

    Parameters
    ----------
    max_iter, learning_rate, max_depth, min_samples_leaf, l2_regularization
        The boosting settings of scikit-learn's ``HistGradientBoostingClassifier``.
    calibration_folds
        Folds of the calibration (``CalibratedClassifierCV``); each fold fits one booster.
    calibration_method
        ``"sigmoid"`` (Platt 1999; two parameters, steady with ~100 onsets) or ``"isotonic"``
        (Zadrozny & Elkan 2002; monotone steps, needs more events).
    calibration_ensemble
        True: average the calibrated boosters of the folds (each calibrated on its held-out fold);
        False: one booster on all rows, calibrated on the out-of-fold scores of the folds' boosters.
    seed
        Seed of the folds and the booster.
    """

    _parameter_constraints: ClassVar[Mapping[str, _base.Rule]] = {
        "max_iter": _base.integer(1),
        "learning_rate": _base.real(0, 1),
        "max_depth": _base.integer(1),
        "min_samples_leaf": _base.integer(1),
        "l2_regularization": _base.real(0, low_open=False),
        "calibration_folds": _base.integer(2),
        "calibration_method": _base.choice("sigmoid", "isotonic"),
        "calibration_ensemble": _base.flag(),
        "seed": _base.integer(0),
    }

    def __init__(
        self,
        *,
        max_iter: int = 150,
        learning_rate: float = 0.05,
        max_depth: int = 3,
        min_samples_leaf: int = 40,
        l2_regularization: float = 1.0,
        calibration_folds: int = 5,
        calibration_method: str = "sigmoid",
        calibration_ensemble: bool = True,
        seed: int = 0,
    ) -> None:
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.calibration_folds = calibration_folds
        self.calibration_method = calibration_method
        self.calibration_ensemble = calibration_ensemble
        self.seed = seed

    def fit(self, X: pd.DataFrame, y: Any) -> KalkanBoost:
        """Fit on rows of ``X`` (EWP predictors, NaN allowed) with 0/1 outcomes ``y``; returns ``self``."""
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.ensemble import HistGradientBoostingClassifier
        from sklearn.model_selection import StratifiedKFold

        self._validate_params()
        frame = self._frame(X, EWP_PREDICTORS)
        target = self._target(y, len(frame))
        booster = HistGradientBoostingClassifier(
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            max_depth=self.max_depth,
            min_samples_leaf=self.min_samples_leaf,
            l2_regularization=self.l2_regularization,
            monotonic_cst=[MONOTONE.get(c, 0) for c in EWP_PREDICTORS],
            early_stopping=False,
            random_state=self.seed,
        )
        folds = max(2, min(self.calibration_folds, int(target.sum()), int(len(target) - target.sum())))
        self.model_ = CalibratedClassifierCV(
            booster,
            method=self.calibration_method,
            cv=StratifiedKFold(folds, shuffle=True, random_state=self.seed),
            ensemble=self.calibration_ensemble,
        )
        with _one_thread():
            self.model_.fit(frame.to_numpy(), target)
        self.medians_ = frame.median().fillna(0.0).to_numpy()
        self.n_train_ = len(frame)
        self.features_ = list(EWP_PREDICTORS)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Probability of an onset in t+1 or t+2, as sklearn's two columns."""
        _base.check_is_fitted(self, "features_", method="predict_proba")
        with _one_thread():
            return np.asarray(self.model_.predict_proba(self._frame(X, self.features_).to_numpy()))


def _weight_rule() -> _base.Rule:
    share = _base.real(0, 1, low_open=False)
    return _base.Rule(
        "a float in [0, 1] or 'auto'", lambda v: (isinstance(v, str) and v == "auto") or share(v)
    )


class KalkanEnsemble(CountryModel):
    """kalkan's best model: the mean of an imputed elastic net and :class:`KalkanBoost`.

    The elastic net is EWP's (alpha ``l1_ratio``) but keeps rows with missing predictors (training median
    plus a missing indicator); the booster adds interactions and thresholds the linear model cannot
    express. Averaging two calibrated probability models keeps calibration and lowers variance.

    Parameters
    ----------
    weight
        Weight of the elastic net in the mean (the booster gets ``1 - weight``), or ``"auto"``: chosen
        from 0, 0.1, ..., 1 by the log loss on the last ``validation_years`` of the training rows, with
        both members fitted on the years up to two before them (the same gap as a real forecast), then
        refitted on all rows (stacking with a temporal hold-out).
    validation_years
        Years held out when ``weight="auto"``.
    l1_ratio, cv
        Settings of the elastic net (as in :class:`EWPBaseline`).
    seed
        Seed passed to both members.

    Attributes
    ----------
    weight_ : float
        The weight used (``weight``, or the one chosen).
    """

    _parameter_constraints: ClassVar[Mapping[str, _base.Rule]] = {
        "weight": _weight_rule(),
        "validation_years": _base.integer(1),
        "l1_ratio": _base.real(0, 1, low_open=False),
        "cv": _base.integer(2),
        "seed": _base.integer(0),
    }

    def __init__(
        self,
        *,
        weight: float | str = 0.5,
        validation_years: int = 5,
        l1_ratio: float = 0.5,
        cv: int = 10,
        seed: int = 0,
    ) -> None:
        self.weight = weight
        self.validation_years = validation_years
        self.l1_ratio = l1_ratio
        self.cv = cv
        self.seed = seed

    def _members(self, frame: pd.DataFrame, target: np.ndarray) -> tuple[_ImputedElasticNet, KalkanBoost]:
        net = _ImputedElasticNet(l1_ratio=self.l1_ratio, cv=self.cv, seed=self.seed).fit(frame, target)
        return net, KalkanBoost(seed=self.seed).fit(frame, target)

    def fit(self, X: pd.DataFrame, y: Any) -> KalkanEnsemble:
        """Fit both members on ``X`` (NaN allowed) and 0/1 outcomes ``y``; returns ``self``."""
        self._validate_params()
        frame = self._frame(X, EWP_PREDICTORS)
        target = self._target(y, len(frame))
        self.weight_ = 0.5 if self.weight == "auto" else float(self.weight)
        if self.weight == "auto":
            self.weight_ = self._choose_weight(frame, target)
        self.net_, self.boost_ = self._members(frame, target)
        self.medians_ = self.net_.medians_
        self.n_train_ = len(frame)
        self.features_ = list(EWP_PREDICTORS)
        return self

    def _choose_weight(self, frame: pd.DataFrame, target: np.ndarray) -> float:
        years = frame["year"].to_numpy()
        last = years.max()
        held = years > last - self.validation_years
        inner = years <= last - self.validation_years - 2
        positives = int(target[inner].sum())
        if positives < 2 or int(target[held].sum()) < 1 or positives > int(inner.sum()) - 2:
            self.validation_log_loss_ = np.full(11, np.nan)
            return 0.5  # too few onsets to choose: the plain mean
        net, boost = self._members(frame[inner], target[inner])
        p_net = net.predict_proba(frame[held])[:, 1]
        p_boost = boost.predict_proba(frame[held])[:, 1]
        grid = np.linspace(0.0, 1.0, 11)
        y_held = target[held]
        losses = []
        for w in grid:
            p = np.clip(w * p_net + (1 - w) * p_boost, 1e-12, 1 - 1e-12)
            losses.append(float(-np.mean(y_held * np.log(p) + (1 - y_held) * np.log1p(-p))))
        self.validation_log_loss_ = np.array(losses)
        return float(grid[int(np.argmin(losses))])

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Weighted mean of the members' probabilities, as sklearn's two columns."""
        _base.check_is_fitted(self, "features_", method="predict_proba")
        p = (
            self.weight_ * self.net_.predict_proba(X)[:, 1]
            + (1 - self.weight_) * self.boost_.predict_proba(X)[:, 1]
        )
        return np.column_stack([1 - p, p])


#: Model names accepted by ``country_risk`` and ``kalkan risk countries --model``.
COUNTRY_MODELS: dict[str, str] = {
    "ewp": "EWP baseline: elastic-net logit, alpha 0.5, complete cases (EWPBaseline)",
    "boost": "monotone gradient boosting, Platt-calibrated (KalkanBoost)",
    "ensemble": "mean of imputed elastic net and boosting (KalkanEnsemble)",
    "stacked": "ensemble with the weight chosen on the last 5 training years (KalkanEnsemble(weight='auto'))",
    "best": "kalkan's best model in the backtest: currently 'ensemble'",
}
_BEST = "ensemble"


def make_model(name: str, *, seed: int = 0) -> CountryModel:
    """A fresh, unfitted country model by name (see :data:`COUNTRY_MODELS`)."""
    key = _BEST if name == "best" else name
    if key == "ewp":
        return EWPBaseline(seed=seed)
    if key == "boost":
        return KalkanBoost(seed=seed)
    if key == "ensemble":
        return KalkanEnsemble(seed=seed)
    if key == "stacked":
        return KalkanEnsemble(weight="auto", seed=seed)
    raise InputError(f"Unknown country model {name!r}: choose one of {', '.join(COUNTRY_MODELS)}.")


def uses_ewp_missing_rule(model: str | CountryModel) -> bool:
    """True if the model drops rows with missing predictors (EWP's rule) instead of filling them."""
    if isinstance(model, CountryModel):
        return isinstance(model, EWPBaseline)
    return (_BEST if model == "best" else model) == "ewp"


# ------------------------------------------------------------------------------------- the ranking


def country_risk(
    data: pd.DataFrame, year: int, model: str | CountryModel = "best", *, seed: int = 0, n_drivers: int = 3
) -> pd.DataFrame:
    """Rank countries by the risk of a mass-killing onset in ``year + 1`` or ``year + 2``.

    Trains ``model`` on the rows of ``data`` with year <= ``year - 2`` whose target is known (so the
    forecast uses only outcomes known by ``year``), then scores every country with predictors in
    ``year``. Under the EWP rule (``model="ewp"``) countries with a missing predictor get no forecast;
    kalkan's models first carry each country's last observed value forward.

    Parameters
    ----------
    data
        An EWP country-year table (see :func:`load_ewp_table`).
    year
        The year of the predictors (the forecast covers the two following years).
    model
        ``"best"`` (kalkan's best), ``"ensemble"``, ``"boost"`` or ``"ewp"``; or an unfitted
        :class:`CountryModel` with custom settings (it is fitted in place).
    seed
        Seed of the model's cross-validation folds.
    n_drivers
        How many main drivers (largest positive contributions to the log-odds) to list per country.

    Returns
    -------
    DataFrame
        ``country, country_code, year, probability, rank`` (1 = highest risk; ties share the lower rank),
        then ``previous_probability`` (the same fitted model on year - 1 predictors), ``change`` and
        ``driver_1..n`` ("predictor (+0.42)": contribution on the log-odds scale), sorted by rank.
        ``attrs`` holds ``model``, ``n_train``, ``n_onsets_train``, ``train_years`` and
        ``no_forecast`` (countries with a row in ``year`` but no forecast).
    """
    table = check_table(data)
    years = table["year"]
    if isinstance(year, bool) or not isinstance(year, int | np.integer):
        raise InputError(f"The year must be an integer. Got {year!r} instead.")
    if year not in set(years.tolist()):
        raise InputError(
            f"Year {year} is not in the table (it covers {int(years.min())}-{int(years.max())}): "
            "pass a year that has predictor rows."
        )
    if isinstance(model, CountryModel):
        key, estimator = type(model).__name__, model
    else:
        key, estimator = (_BEST if model == "best" else model), make_model(model, seed=seed)
    prepared = table if uses_ewp_missing_rule(estimator) else carry_forward(table)
    train = training_rows(prepared, year)
    if len(train) == 0:
        raise InputError(
            f"No training rows: the table has no known two-year target for the years up to {year - 2} "
            f"(it starts in {int(years.min())}): pass a later year."
        )
    estimator.fit(train, train[TARGET].to_numpy())

    now = prepared[prepared["year"] == year]
    before = prepared[prepared["year"] == year - 1].set_index("ewp_name")
    p_now = estimator.predict_proba(now)[:, 1]
    scored = ~np.isnan(p_now)
    rows = now[scored]
    out = pd.DataFrame(
        {
            "country": rows["ewp_name"].to_numpy(),
            "country_code": rows["ccode"].to_numpy(),
            "year": rows["year"].astype(int).to_numpy(),
            "probability": p_now[scored],
        }
    )
    out["rank"] = out["probability"].rank(ascending=False, method="min").astype(int)
    if len(before):
        p_before = pd.Series(estimator.predict_proba(before.reset_index())[:, 1], index=before.index)
        out["previous_probability"] = out["country"].map(p_before).to_numpy(dtype=float)
    else:
        out["previous_probability"] = np.nan
    out["change"] = out["probability"] - out["previous_probability"]
    contrib = estimator.contributions(rows)
    for k in range(n_drivers):
        out[f"driver_{k + 1}"] = ""
    values = contrib.to_numpy()
    names = np.array(contrib.columns)
    for i in range(len(out)):
        order = np.argsort(-values[i])[:n_drivers]
        labels = [f"{names[j]} ({values[i, j]:+.2f})" for j in order if values[i, j] > 0]
        for k, label in enumerate(labels):
            out.loc[i, f"driver_{k + 1}"] = label
    out = out.sort_values(["rank", "country"], kind="stable").reset_index(drop=True)
    out.attrs.update(
        {
            "model": key,
            "n_train": len(train),
            "n_onsets_train": int(train[TARGET].sum()),
            "train_years": (int(train["year"].min()), int(train["year"].max())),
            "no_forecast": sorted(now.loc[~scored, "ewp_name"].tolist()),
            "dropped_training_rows": int(getattr(estimator, "n_dropped_", 0)),
        }
    )
    return out


def ranking_chart(ranking: pd.DataFrame, path: str | Path, *, top: int = 40) -> Path:
    """Draw the ``top`` countries of :func:`country_risk` as bars with the top-30 line; returns ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    shown = ranking.head(top)
    fig, ax = plt.subplots(figsize=(7, max(3.0, 0.22 * len(shown) + 1)))
    colours = ["#b2182b" if r <= 30 else "#999999" for r in shown["rank"]]
    ax.barh(shown["country"], shown["probability"], color=colours)
    if (shown["rank"] > 30).any() and (shown["rank"] <= 30).any():
        ax.axhline(int((shown["rank"] <= 30).sum()) - 0.5, color="black", lw=1, ls="--")
        ax.text(
            float(shown["probability"].max()) * 0.98,
            int((shown["rank"] <= 30).sum()) - 0.7,
            "top-30 line (EWP 'high risk')",
            ha="right",
            va="bottom",
            fontsize=8,
        )
    ax.invert_yaxis()
    year = int(shown["year"].iloc[0]) if len(shown) else 0
    ax.set_xlabel(f"probability of a new mass killing in {year + 1} or {year + 2}")
    ax.set_title(f"Country risk from {year} data (model: {ranking.attrs.get('model', '?')})", fontsize=10)
    ax.tick_params(axis="y", labelsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


#: Common spellings that differ from EWP's country names (EWP's own spelling on the right).
EWP_NAME_ALIASES: dict[str, str] = {
    "kyrgyzstan": "Kyrgystan",
    "kyrgyz republic": "Kyrgystan",
    "myanmar": "Burma/Myanmar",
    "burma": "Burma/Myanmar",
    "swaziland": "Eswatini",
    "republic of the congo": "Republic of Congo",
    "drc": "Democratic Republic of Congo",
    "democratic republic of the congo": "Democratic Republic of Congo",
    "cote d'ivoire": "Ivory Coast",
    "côte d'ivoire": "Ivory Coast",
}


def ewp_name_key(name: str) -> str:
    """The key two country names match on: lower case, spaces collapsed, a common spelling taken to
    EWP's (:data:`EWP_NAME_ALIASES`), so "Côte d'Ivoire" and EWP's "Ivory Coast" meet."""
    key = re.sub(r"\s+", " ", str(name).strip().lower())
    return EWP_NAME_ALIASES.get(key, key).lower()


def country_context(ranking: pd.DataFrame, country: str) -> dict[str, Any]:
    """One country's line of a :func:`country_risk` ranking, for a brief's "country context" panel.

    ``country`` may be EWP's name or a common spelling of it (EWP misspells a few country names).

    Returns
    -------
    dict
        ``country`` (EWP's name), ``year``, ``probability``, ``rank``, ``of`` (countries ranked),
        ``high_risk`` (rank <= 30, EWP's cut-off), ``median_probability`` and ``drivers`` (list of str).
    """
    rows = ranking[ranking["country"].str.lower() == ewp_name_key(country)]
    if rows.empty:
        raise InputError(
            f"{country!r} is not in the ranking of {len(ranking)} countries: use EWP's country name "
            "(see the 'country' column of kalkan risk countries)."
        )
    row = rows.iloc[0]
    drivers = [str(row[c]) for c in ranking.columns if c.startswith("driver_") and row[c]]
    return {
        "country": str(row["country"]),
        "year": int(row["year"]),
        "probability": float(row["probability"]),
        "rank": int(row["rank"]),
        "of": len(ranking),
        "high_risk": bool(row["rank"] <= 30),
        "median_probability": float(ranking["probability"].median()),
        "drivers": drivers,
    }
