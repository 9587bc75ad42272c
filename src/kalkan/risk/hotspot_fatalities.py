"""Fatalities per cell and period, as ViEWS forecasts them: a predictive distribution, not a number.

ViEWS (Hegre et al. 2019; the 2023/24 prediction challenge) forecasts the distribution of the number
of people killed per PRIO-GRID cell and month and scores it with the CRPS and a log score on bins of
fatalities. Here every forecaster gives such a distribution as ``n_samples`` draws per cell:

- the baselines count fatalities the way they count events (:mod:`kalkan.risk.baselines`: nothing,
  the last period's deaths, a Poisson with the recent mean, or one of the last 12 periods' totals);
- the event models (Hawkes, boosting, the ensemble) give a distribution of the number of events per
  cell (``predict_cdf``); each event's deaths are then drawn from the deaths of earlier events: those
  of the same cell in the last ``pool_days`` with weight ``n / (n + shrinkage)`` (``n`` events there),
  otherwise those of the whole area. A cell's deaths are the sum over its events (a compound
  distribution). Nothing after the cut-off is used.

Scores (lower is better): the CRPS of the draws (``properscoring.crps_ensemble``, exact for the
draws' empirical distribution; Gneiting & Raftery 2007; ``scoringrules`` compiles all its numba
kernels on import, ~10-90 s per process here, so properscoring is used) and the log score on the
bins ``0, 1-2, 3-5, 6-10, 11-25, 26-50, 51-100, 101-250, 251-500,
501-1000, 1001+`` (the negative log of the probability given to the observed bin, each bin's
probability mixed with ``1/11`` at weight 0.01 so an unforeseen bin costs log(1100), not infinity).

References
----------
Hegre et al. (2019), ViEWS: A political violence early-warning system. *JPR* 56(2). Hegre, Vesco &
Colaresi (2022), Lessons from an escalation prediction competition. *International Interactions* 48(4).
Gneiting & Raftery (2007), Strictly proper scoring rules. *JASA* 102(477).
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
import pandas as pd

from kalkan.risk.forecaster import event_fatalities, history_before

__all__ = [
    "FATALITY_BINS",
    "LOG_SCORE_MIX",
    "N_SAMPLES",
    "event_fatalities",
    "fatality_samples",
    "fatality_scores",
    "sample_counts",
]

FATALITY_BINS = np.array([0, 1, 3, 6, 11, 26, 51, 101, 251, 501, 1001])
"""Lower edges of the fatality bins of the log score (the last bin is open)."""

LOG_SCORE_MIX = 0.01
"""Weight of the uniform distribution over bins mixed into every forecast for the log score."""

N_SAMPLES = 240
"""Draws per cell: a multiple of 12, so the conflictology baseline's 12 periods weigh the same."""


class CountForecaster(Protocol):
    """What the compound distribution needs from a fitted event model."""

    cells_: np.ndarray
    until_: Any

    def predict(self, horizon_days: int) -> pd.DataFrame: ...

    def predict_cdf(self, horizon_days: int, max_count: int) -> np.ndarray: ...


def sample_counts(cdf: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Inverse-CDF draws: for each row's CDF ``P(N <= k)``, the smallest k with ``P(N <= k) >= u``.

    ``cdf`` is (cells, K + 1) and ``u`` (cells, S) uniform draws; mass beyond K goes to K.
    """
    n_cells, width = cdf.shape
    offset = 2.0 * np.arange(n_cells)[:, None]
    flat = (np.clip(cdf, 0.0, 1.0) + offset).ravel()
    pos = np.searchsorted(flat, (u + offset).ravel(), side="left").reshape(u.shape)
    return np.asarray(np.minimum(pos - width * np.arange(n_cells)[:, None], width - 1))


def fatality_samples(
    model: Any,
    events: pd.DataFrame,
    horizon_days: int,
    *,
    n_samples: int = N_SAMPLES,
    seed: int | np.random.SeedSequence = 0,
    pool_days: float = 1460.0,
    shrinkage: float = 5.0,
) -> np.ndarray:
    """Draws of the deaths per forecast cell over the horizon: an array (cells, ``n_samples``).

    ``model`` is a fitted forecaster. Baselines have their own (``fatality_samples``); any other model
    with ``predict_cdf`` gets the compound distribution described in the module docstring, with the
    deaths of the events in ``events`` on or before the model's cut-off. A fixed ``seed`` gives the
    same draws.
    """
    own = getattr(model, "fatality_samples", None)
    if callable(own):
        return np.asarray(own(horizon_days, n_samples=n_samples, seed=seed), dtype=float)
    rng = np.random.default_rng(seed)
    fc = model.predict(horizon_days)
    mean = fc["expected_events"].to_numpy(float)
    top = float(mean.max(initial=0.0))
    kmax = int(np.ceil(top + 12 * np.sqrt(top) + 12))
    counts = sample_counts(model.predict_cdf(horizon_days, kmax), rng.random((len(mean), n_samples)))

    hist = history_before(events, model.until_)
    deaths = event_fatalities(hist.frame)
    recent = (hist.end_day - hist.times) <= pool_days
    if not recent.any():
        recent = np.ones(len(deaths), bool)
    cells = model.grid_.cell_ids(hist.latitude[recent], hist.longitude[recent])
    pool = deaths[recent]
    index = np.searchsorted(model.cells_, cells)
    order = np.argsort(index, kind="stable")
    pool_sorted = pool[order]
    per_cell = np.bincount(index, minlength=len(model.cells_))
    starts = np.concatenate([[0], np.cumsum(per_cell)[:-1]])

    flat = counts.ravel()
    total = int(flat.sum())
    if total == 0:
        return np.zeros(counts.shape)
    owner = np.repeat(np.arange(flat.size), flat)  # (cell, sample) slot of each drawn event
    cell = owner // n_samples
    n_own = per_cell[cell]
    use_own = rng.random(total) < n_own / (n_own + shrinkage)
    pick_own = starts[cell] + np.floor(rng.random(total) * np.maximum(n_own, 1)).astype(np.int64)
    pick_any = rng.integers(0, len(pool), total)
    drawn = np.where(use_own, pool_sorted[np.minimum(pick_own, len(pool) - 1)], pool[pick_any])
    return np.bincount(owner, weights=drawn, minlength=flat.size).reshape(counts.shape)


def fatality_scores(samples: np.ndarray, observed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CRPS (``properscoring``) and binned log score of each cell's draws against the observed deaths."""
    import properscoring as ps

    obs = np.asarray(observed, dtype=float)
    crps = np.asarray(ps.crps_ensemble(obs, samples), dtype=float)
    bins = np.searchsorted(FATALITY_BINS, samples, side="right") - 1
    obs_bin = np.searchsorted(FATALITY_BINS, obs, side="right") - 1
    share = (bins == obs_bin[:, None]).mean(axis=1)
    prob = (1 - LOG_SCORE_MIX) * share + LOG_SCORE_MIX / len(FATALITY_BINS)
    return crps, -np.log(prob)
