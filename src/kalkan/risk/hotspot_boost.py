"""Gradient boosting on lagged space-time features, under the same interface as the Hawkes model.

Issue 6 welcomes "a model family that wins more" beside the point process. This one learns, from the
fitted history alone, how a cell's next period depends on its recent past: for the ``train_periods``
origins before the cut-off (each ``horizon_days`` apart) it builds, per forecast cell,

- the cell's counts in each of the last 3 periods, and summed over periods 4-6 and 7-12;
- the same for the cell's neighbours (the 8 PRIO-GRID cells or 6 H3 cells around it): last period,
  last 3, last 12;
- self-exciting intensities, sum of exp(-age / tau) over past events for tau = 7 and 30 days in the
  cell and tau = 30 days in its neighbourhood (the Hawkes model's memory, with fixed decays);
- periods since the cell's last event (capped at ``train_periods``) and the whole area's counts in
  the last period and the last 12;

and the next period's count as the target. A histogram gradient-boosting classifier gives
P(at least one event); a Poisson-loss booster gives the expected count (scikit-learn). The count
distribution (for CRPS) is a hurdle: 0 with 1 - p, else a zero-truncated Poisson with the matching mean.

The learners are trained when ``predict`` is first called for a horizon (the periods are horizon-long)
and kept per horizon. Only events on or before the cut-off are used, targets included.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
from scipy import sparse

from kalkan import _base
from kalkan.risk.forecaster import CellForecaster, History, check_horizon
from kalkan.risk.grids import Grid

__all__ = ["BoostModel"]

FEATURES = [
    "lag1",
    "lag2",
    "lag3",
    "lag4_6",
    "lag7_12",
    "nb_lag1",
    "nb_lag1_3",
    "nb_lag1_12",
    "decay7",
    "decay30",
    "nb_decay30",
    "since_last",
    "area_lag1",
    "area_lag1_12",
]


class BoostModel(CellForecaster):
    """Histogram gradient boosting on lagged counts and decayed intensities per cell; scikit-learn style.

    Parameters
    ----------
    grid
        ``"priogrid"`` or ``"h3:RES"``.
    train_periods
        How many past origins (each one horizon apart) the learners are trained on.
    max_iter, learning_rate, max_leaf_nodes
        Settings of scikit-learn's ``HistGradientBoosting*`` learners.
    seed
        Random state of the learners (they are deterministic without early stopping; kept for the
        contract that every stochastic entry point takes a seed).
    """

    _parameter_constraints: ClassVar[Mapping[str, _base.Rule]] = {
        "train_periods": _base.integer(1),
        "max_iter": _base.integer(1),
        "learning_rate": _base.real(0, 1),
        "max_leaf_nodes": _base.integer(2),
        "seed": _base.optional(_base.integer(0)),
    }
    _fitted = "learners_"

    def __init__(
        self,
        *,
        grid: str | Grid = "priogrid",
        train_periods: int = 36,
        max_iter: int = 100,
        learning_rate: float = 0.05,
        max_leaf_nodes: int = 15,
        seed: int = 0,
    ) -> None:
        self.grid = grid
        self.train_periods = train_periods
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.seed = seed

    def _learn(self, hist: History) -> None:
        """Keep the neighbourhoods; the learners are trained per horizon, on first use."""
        self._neigh = _ring_matrix(self.grid_, self.cells_)
        self.learners_: dict[int, tuple[Any, Any, float]] = {}

    def features(self, horizon_days: int, origin: int) -> np.ndarray:
        """Feature matrix (cells x FEATURES) at the origin ``origin`` periods before the cut-off."""
        h = float(horizon_days)
        age = self._days_before - origin * h
        past = age > 0
        k = np.floor(age[past] / h).astype(np.int64)
        idx = self._cell_index[past]
        n = len(self.cells_)
        counts = np.zeros((n, 12))
        keep = k < 12
        np.add.at(counts, (idx[keep], k[keep]), 1.0)
        nb = np.asarray(self._neigh @ counts)
        d7 = np.bincount(idx, weights=np.exp(-age[past] / 7.0), minlength=n)
        d30 = np.bincount(idx, weights=np.exp(-age[past] / 30.0), minlength=n)
        last = np.full(n, np.inf)
        np.minimum.at(last, idx, k.astype(float))
        since = np.minimum(last, float(self.train_periods))
        area = counts.sum(axis=0)
        return np.column_stack(
            [
                counts[:, 0],
                counts[:, 1],
                counts[:, 2],
                counts[:, 3:6].sum(1),
                counts[:, 6:12].sum(1),
                nb[:, 0],
                nb[:, :3].sum(1),
                nb.sum(1),
                d7,
                d30,
                self._neigh @ d30,
                since,
                np.full(n, area[0]),
                np.full(n, area.sum()),
            ]
        )

    def _labels(self, horizon_days: int, origin: int) -> np.ndarray:
        """Events per cell in the period just after the origin (all before the cut-off)."""
        h = float(horizon_days)
        age = self._days_before - (origin - 1) * h
        inside = (age > 0) & (age <= h)
        return np.bincount(self._cell_index[inside], minlength=len(self.cells_)).astype(float)

    def _train(self, h: int) -> tuple[Any, Any, float]:
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
        from threadpoolctl import threadpool_limits

        if h in self.learners_:
            return self.learners_[h]
        n_origins = int(min(self.train_periods, max(1, np.floor(self._days_before.max() / h))))
        x = np.vstack([self.features(h, o) for o in range(1, n_origins + 1)])
        y = np.concatenate([self._labels(h, o) for o in range(1, n_origins + 1)])
        base = float((y > 0).mean())
        clf = reg = None
        if 0 < (y > 0).sum() < len(y):
            opts = {
                "max_iter": self.max_iter,
                "learning_rate": self.learning_rate,
                "max_leaf_nodes": self.max_leaf_nodes,
                "early_stopping": False,
                "random_state": self.seed,
                "min_samples_leaf": 20,
                "l2_regularization": 1.0,
            }
            # one thread: the folds run in parallel already, and OpenMP threads on a busy machine
            # spin and slow everything down
            with threadpool_limits(limits=1):
                clf = HistGradientBoostingClassifier(**opts).fit(x, (y > 0).astype(int))
                reg = HistGradientBoostingRegressor(loss="poisson", **opts).fit(x, y)
        self.learners_[h] = (clf, reg, base)
        return clf, reg, base

    def _mean_and_probability(self, horizon_days: int) -> tuple[np.ndarray, np.ndarray]:
        h = check_horizon(horizon_days)
        clf, reg, base = self._train(h)
        x = self.features(h, 0)
        if clf is None:
            prob = np.full(len(self.cells_), base)
            mean = prob.copy()
        else:
            from threadpoolctl import threadpool_limits

            with threadpool_limits(limits=1):
                prob = clf.predict_proba(x)[:, 1]
                mean = np.maximum(reg.predict(x), prob)  # at least one event whenever there is one
        return mean, prob

    def predict_cdf(self, horizon_days: int, max_count: int) -> np.ndarray:
        """P(count <= k), k = 0..max_count: a hurdle model, 0 with 1 - p, else zero-truncated Poisson."""
        from scipy.stats import poisson

        self._check_is_fitted("predict_cdf")
        mean, prob = self._mean_and_probability(horizon_days)
        m_pos = np.where(prob > 0, mean / np.maximum(prob, 1e-12), 1.0)
        lam = _truncated_poisson_rate(m_pos)
        ks = np.arange(max_count + 1)
        p0 = np.exp(-lam)[:, None]
        cond = np.where(
            lam[:, None] > 1e-9,
            (poisson.cdf(ks[None, :], lam[:, None]) - p0) / np.maximum(1 - p0, 1e-300),
            (ks[None, :] >= 1).astype(float),
        )
        return np.asarray((1 - prob)[:, None] + prob[:, None] * cond)


def _truncated_poisson_rate(mean_positive: np.ndarray) -> np.ndarray:
    """Rate of a zero-truncated Poisson with the given means (>= 1); 0 (all mass at 1) for mean <= 1."""
    m = np.asarray(mean_positive, dtype=float)
    lam = np.where(m > 1, m, 0.0)
    for _ in range(200):
        lam = np.where(m > 1, m * -np.expm1(-lam), 0.0)
    return lam


def _ring_matrix(grid: Grid, cells: np.ndarray) -> sparse.csr_matrix:
    """0/1 matrix of each forecast cell's neighbours among the forecast cells (itself excluded)."""
    rows, cols = [], []
    for k, c in enumerate(cells):
        nb = grid.neighbours(np.array([c], dtype=np.int64))
        nb = nb[nb != c]
        pos = np.clip(np.searchsorted(cells, nb), 0, len(cells) - 1)
        pos = pos[cells[pos] == nb]
        rows.append(np.full(len(pos), k))
        cols.append(pos)
    r, c = np.concatenate(rows), np.concatenate(cols)
    return sparse.coo_matrix((np.ones(len(r)), (r, c)), shape=(len(cells), len(cells))).tocsr()
