"""A stacked ensemble of the hotspot models and the baselines, calibrated out of sample.

Each component (by default the Hawkes model, gradient boosting, the conflictology and the mean-of-12
baselines) forecasts P(at least one event) per cell. The ensemble's probability is a logistic
regression on the components' log-odds (stacking, Wolpert 1992; a calibrated one, as in Platt 1999):

    logit p = intercept + sum_k coef_k * logit(clip(p_k, 1e-4, 1 - 1e-4))

The weights are never fitted on the period they forecast. :func:`fit_stack` learns them from
forecasts that were themselves out of sample (the rolling-origin backtest's cells before the test
period); the selection protocol (:mod:`kalkan.risk.hotspot_selection`) refits them each year on the
folds before that year, and ships the ones fitted on everything before the data's end for the command
line.

Counts are a hurdle: 0 with probability 1 - p, else the event models' (Hawkes and boosting, equal
weights) distribution of the count given at least one event.

References
----------
Wolpert (1992), Stacked generalization. *Neural Networks* 5(2). Platt (1999), Probabilistic outputs
for support vector machines. Hegre et al. (2019), ViEWS, *JPR* 56(2) (ensembles of calibrated models).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from kalkan import _base
from kalkan.errors import InputError
from kalkan.risk.forecaster import FIT_CALL
from kalkan.risk.grids import Grid, parse_grid

__all__ = ["ENSEMBLE_COMPONENTS", "EnsembleModel", "fit_stack"]

ENSEMBLE_COMPONENTS = ("hawkes", "boost", "conflictology", "mean12")
"""Components of the default ensemble (registered before any selection run)."""

COUNT_COMPONENTS = ("hawkes", "boost")
"""Components whose count distributions (given at least one event) make the ensemble's counts."""

_CLIP = 1e-4


def _is_numbers(v: Any) -> bool:
    return not isinstance(v, str) and isinstance(v, Sequence | np.ndarray)


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(np.asarray(p, dtype=float), _CLIP, 1 - _CLIP)
    return np.asarray(np.log(q) - np.log1p(-q))


def fit_stack(
    cells: pd.DataFrame, components: Sequence[str] = ENSEMBLE_COMPONENTS, regularization: float = 1.0
) -> tuple[list[float], float]:
    """Stacking weights from out-of-sample forecasts: ``(coef per component, intercept)``.

    ``cells`` has one row per model, fold and cell (``group, month, model, cell_id, probability,
    observed``), as :func:`kalkan.risk.hotspot_backtest.backtest` returns; every component must be
    there. ``regularization`` is the inverse L2 strength (scikit-learn's ``C``).
    """
    from sklearn.linear_model import LogisticRegression

    missing = [c for c in components if c not in set(cells["model"])]
    if missing:
        raise InputError(f"Cannot fit the ensemble: no out-of-sample forecasts of {', '.join(missing)}.")
    sub = cells[cells["model"].isin(components)]
    wide = sub.pivot_table(
        index=["group", "month", "cell_id"], columns="model", values="probability", aggfunc="first"
    ).dropna()
    y = (sub.groupby(["group", "month", "cell_id"])["observed"].first().reindex(wide.index) > 0).to_numpy()
    if y.all() or not y.any():
        raise InputError("Cannot fit the ensemble: the earlier forecasts have only one outcome.")
    x = _logit(wide[list(components)].to_numpy())
    stack = LogisticRegression(C=regularization, max_iter=1000).fit(x, y.astype(int))
    return [float(c) for c in stack.coef_[0]], float(stack.intercept_[0])


class EnsembleModel(_base.Params):
    """Stacked, calibrated probabilities of several forecasters; scikit-learn style.

    Parameters
    ----------
    grid
        ``"priogrid"`` or ``"h3:RES"``.
    components
        Model names (see :func:`kalkan.risk.hotspot_backtest.make_model`).
    coef, intercept
        Stacking weights on the components' log-odds. ``None``: the weights shipped with kalkan
        (fitted by the selection protocol on GED forecasts before the data's end).
    """

    _parameter_constraints: ClassVar[Mapping[str, _base.Rule]] = {
        "components": _base.Rule(
            "distinct model names other than 'ensemble'",
            lambda v: (
                not isinstance(v, str)
                and isinstance(v, Sequence)
                and len(v) > 0
                and all(isinstance(n, str) for n in v)
                and len(set(v)) == len(v)
                and "ensemble" not in v
            ),
        ),
        "coef": _base.optional(_base.Rule("finite numbers, one per component", _is_numbers)),
        "intercept": _base.optional(_base.real()),
    }

    def __init__(
        self,
        *,
        grid: str | Grid = "priogrid",
        components: Sequence[str] = ENSEMBLE_COMPONENTS,
        coef: Sequence[float] | None = None,
        intercept: float | None = None,
    ) -> None:
        self.grid = grid
        self.components = components
        self.coef = coef
        self.intercept = intercept

    def _weights(self) -> tuple[np.ndarray, float]:
        comps = list(self.components)
        if self.coef is None or self.intercept is None:
            from kalkan.risk.hotspot_selection import shipped_selection

            shipped = shipped_selection()
            if list(shipped["ensemble"]["components"]) != comps:
                raise InputError(
                    "No shipped ensemble weights for these components: pass coef= and "
                    "intercept= (see kalkan.risk.hotspot_ensemble.fit_stack)."
                )
            return np.asarray(shipped["ensemble"]["coef"], float), float(shipped["ensemble"]["intercept"])
        coef = np.asarray(self.coef, dtype=float)
        if coef.shape != (len(comps),) or not np.all(np.isfinite(coef)):
            expected = f"{len(comps)} finite numbers, one per component"
            raise InputError(_base.param_message("EnsembleModel", "coef", expected, self.coef))
        return coef, float(self.intercept)

    def fit(
        self,
        events: pd.DataFrame,
        *,
        until: date | str | None = None,
        fitted: Mapping[str, Any] | None = None,
    ) -> EnsembleModel:
        """Fit every component on the events on or before ``until``.

        ``fitted`` may hold components already fitted on the same events and cut-off (the backtest
        passes the ones it has just scored, so they are not fitted twice).
        """
        from kalkan.risk.hotspot_backtest import make_model

        self._validate_params()
        self.coef_, self.intercept_ = self._weights()
        grid = parse_grid(self.grid)
        ready = dict(fitted or {})
        self.models_ = {
            name: ready[name] if name in ready else make_model(name, grid).fit(events, until=until)
            for name in self.components
        }
        first = next(iter(self.models_.values()))
        self.grid_ = grid
        self.until_ = first.until_
        self.cells_ = first.cells_
        self.cell_latitude_, self.cell_longitude_ = first.cell_latitude_, first.cell_longitude_
        return self

    def component_forecasts(self, horizon_days: int) -> dict[str, pd.DataFrame]:
        """Each component's forecast table, rows as ``cells_``."""
        _base.check_is_fitted(self, "models_", method="predict", fit_call=FIT_CALL)
        return {name: m.predict(horizon_days) for name, m in self.models_.items()}

    def _probability(self, tables: dict[str, pd.DataFrame]) -> np.ndarray:
        x = np.column_stack([_logit(tables[n]["probability"].to_numpy()) for n in self.components])
        z = self.intercept_ + x @ self.coef_
        return np.asarray(1.0 / (1.0 + np.exp(-z)))

    def _positive_part(self, horizon_days: int, max_count: int) -> np.ndarray:
        """P(N <= k | N >= 1), k = 0..max_count, averaged over the count components."""
        parts = []
        for name in [n for n in COUNT_COMPONENTS if n in self.models_] or list(self.models_):
            cdf = self.models_[name].predict_cdf(horizon_days, max_count)
            p0 = cdf[:, :1]
            positive = np.where(
                p0 < 1 - 1e-12,
                (cdf - p0) / np.maximum(1 - p0, 1e-12),
                (np.arange(max_count + 1)[None, :] >= 1).astype(float),
            )
            parts.append(positive)
        return np.asarray(np.mean(parts, axis=0))

    def predict(self, horizon_days: int) -> pd.DataFrame:
        """Forecast table ``cell_id, latitude, longitude, probability, expected_events`` per forecast cell."""
        tables = self.component_forecasts(horizon_days)
        prob = self._probability(tables)
        top = max(float(t["expected_events"].to_numpy(float).max(initial=0.0)) for t in tables.values())
        kmax = int(np.ceil(top + 12 * np.sqrt(top) + 12))
        positive = self._positive_part(horizon_days, kmax)
        mean_positive = (1 - positive).sum(axis=1)  # E[N | N >= 1] = sum_k P(N > k | N >= 1)
        return pd.DataFrame(
            {
                "cell_id": self.cells_,
                "latitude": self.cell_latitude_,
                "longitude": self.cell_longitude_,
                "probability": prob,
                "expected_events": prob * mean_positive,
            }
        )

    def predict_cdf(self, horizon_days: int, max_count: int) -> np.ndarray:
        """P(count <= k), k = 0..max_count: 0 with 1 - p, else the count components' positive part."""
        prob = self._probability(self.component_forecasts(horizon_days))
        return np.asarray((1 - prob)[:, None] + prob[:, None] * self._positive_part(horizon_days, max_count))
