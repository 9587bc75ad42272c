"""Baselines a hotspot forecast must beat (as in ViEWS), under the same interface as the model.

Each baseline counts a cell's events in the periods of ``horizon_days`` days that end at the cut-off
(period 0 is the last ``horizon_days`` days, period 1 the ones before, ...) and forecasts the next
period from them:

- :class:`ZeroBaseline`: nothing happens (probability 0, count 0);
- :class:`LastValueBaseline`: the last period repeats (probability 1 if it had an event, else 0);
- :class:`MeanBaseline`: the mean count of the last ``n_periods`` periods, as a Poisson forecast;
- :class:`ConflictologyBaseline`: the next period is one of the last ``n_periods`` periods drawn at
  random (each cell's recent history resampled); its predictive distribution is the empirical
  distribution of those counts, which is what infinitely many resamples give, so it is exact and
  needs no seed.

All forecast the same cells as :class:`~kalkan.risk.hotspots.HotspotModel` (every cell with an
event in the history and its neighbours), so their scores compare like with like.

References
----------
Hegre et al. (2019), ViEWS: A political violence early-warning system. *Journal of Peace Research*
56(2); Hegre et al. (2022), Forecasting fatalities (the ViEWS prediction challenge baselines).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from kalkan.errors import InputError, NotFittedError
from kalkan.risk.grids import Grid, forecast_cells, parse_grid
from kalkan.risk.hotspot_fatalities import event_fatalities
from kalkan.risk.hotspots import check_horizon, history_before

__all__ = [
    "BASELINES",
    "CellForecaster",
    "ConflictologyBaseline",
    "LastValueBaseline",
    "MeanBaseline",
    "ZeroBaseline",
    "make_baseline",
]


class CellForecaster:
    """Shared machinery: the fitted history per cell, period counts and the output table."""

    def __init__(self, *, grid: str | Grid = "priogrid") -> None:
        self.grid = grid

    def get_params(self) -> dict[str, Any]:
        """The settings given to ``__init__`` (scikit-learn contract)."""
        return {k: v for k, v in vars(self).items() if not k.endswith("_") and not k.startswith("_")}

    def _validate_params(self) -> None:
        """Subclasses check their own settings here."""

    def fit(self, events: pd.DataFrame, *, until: date | str | None = None) -> CellForecaster:
        """Keep the located events on or before ``until`` (default: the last event's day) per cell."""
        self._validate_params()
        grid = parse_grid(self.grid)
        hist = history_before(events, until)
        self.grid_ = grid
        self.until_ = hist.until
        cells = grid.cell_ids(hist.latitude, hist.longitude)
        self.cells_ = forecast_cells(grid, cells)
        self.cell_latitude_, self.cell_longitude_ = grid.centroids(self.cells_)
        self._cell_index = np.searchsorted(self.cells_, cells)
        self._days_before = hist.end_day - hist.times  # > 0, days before the end of the cut-off day
        frame = hist.frame
        self._deaths = (
            event_fatalities(frame) if "fatalities_best" in frame.columns else np.full(len(frame), np.nan)
        )
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "cells_"):
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet: call fit(events, until=...) before predict."
            )

    def period_counts(self, horizon_days: int, n_periods: int, *, deaths: bool = False) -> np.ndarray:
        """Events (or, with ``deaths``, people killed) per cell in each of the last ``n_periods``
        periods of ``horizon_days`` (column 0 = the last)."""
        self._check_fitted()
        h = check_horizon(horizon_days)
        k = np.floor(self._days_before / h).astype(np.int64)
        keep = k < n_periods
        if deaths and np.isnan(self._deaths).any():
            raise InputError(
                "The event table has no fatalities_best column: fatality forecasts need the "
                "number of people killed per event (GED 'best', ACLED 'fatalities')."
            )
        weight = self._deaths[keep] if deaths else 1.0
        out = np.zeros((len(self.cells_), n_periods))
        np.add.at(out, (self._cell_index[keep], k[keep]), weight)
        return out

    def _mean_and_probability(self, horizon_days: int) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def predict(self, horizon_days: int) -> pd.DataFrame:
        """Forecast table ``cell_id, latitude, longitude, probability, expected_events`` per forecast cell."""
        self._check_fitted()
        mean, prob = self._mean_and_probability(check_horizon(horizon_days))
        return pd.DataFrame(
            {
                "cell_id": self.cells_,
                "latitude": self.cell_latitude_,
                "longitude": self.cell_longitude_,
                "probability": prob,
                "expected_events": mean,
            }
        )

    def predict_cdf(self, horizon_days: int, max_count: int) -> np.ndarray:
        """P(count <= k), k = 0..max_count, per forecast cell."""
        raise NotImplementedError


def _point_cdf(values: np.ndarray, max_count: int) -> np.ndarray:
    return (np.arange(max_count + 1)[None, :] >= values[:, None]).astype(float)


class ZeroBaseline(CellForecaster):
    """Forecasts no event anywhere."""

    def _mean_and_probability(self, horizon_days: int) -> tuple[np.ndarray, np.ndarray]:
        z = np.zeros(len(self.cells_))
        return z, z.copy()

    def predict_cdf(self, horizon_days: int, max_count: int) -> np.ndarray:
        self._check_fitted()
        check_horizon(horizon_days)
        return _point_cdf(np.zeros(len(self.cells_)), max_count)

    def fatality_samples(
        self, horizon_days: int, *, n_samples: int = 240, seed: int | np.random.SeedSequence = 0
    ) -> np.ndarray:
        self._check_fitted()
        check_horizon(horizon_days)
        return np.zeros((len(self.cells_), n_samples))


class LastValueBaseline(CellForecaster):
    """Carries the last period's count forward."""

    def _mean_and_probability(self, horizon_days: int) -> tuple[np.ndarray, np.ndarray]:
        last = self.period_counts(horizon_days, 1)[:, 0]
        return last, (last > 0).astype(float)

    def predict_cdf(self, horizon_days: int, max_count: int) -> np.ndarray:
        return _point_cdf(self.period_counts(horizon_days, 1)[:, 0], max_count)

    def fatality_samples(
        self, horizon_days: int, *, n_samples: int = 240, seed: int | np.random.SeedSequence = 0
    ) -> np.ndarray:
        last = self.period_counts(horizon_days, 1, deaths=True)[:, 0]
        return np.repeat(last[:, None], n_samples, axis=1)


class _WindowBaseline(CellForecaster):
    def __init__(self, *, grid: str | Grid = "priogrid", n_periods: int = 12) -> None:
        super().__init__(grid=grid)
        self.n_periods = n_periods

    def _validate_params(self) -> None:
        n = self.n_periods
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise InputError(
                f"The 'n_periods' parameter of {type(self).__name__} must be an int >= 1. Got {n!r} instead."
            )


class MeanBaseline(_WindowBaseline):
    """Mean count of the last ``n_periods`` periods, forecast as a Poisson count."""

    def _mean_and_probability(self, horizon_days: int) -> tuple[np.ndarray, np.ndarray]:
        mean = self.period_counts(horizon_days, self.n_periods).mean(axis=1)
        return mean, -np.expm1(-mean)

    def predict_cdf(self, horizon_days: int, max_count: int) -> np.ndarray:
        from scipy.stats import poisson

        mean = self.period_counts(horizon_days, self.n_periods).mean(axis=1)
        return np.asarray(poisson.cdf(np.arange(max_count + 1)[None, :], mean[:, None]))

    def fatality_samples(
        self, horizon_days: int, *, n_samples: int = 240, seed: int | np.random.SeedSequence = 0
    ) -> np.ndarray:
        """Poisson draws with the mean deaths of the last ``n_periods`` periods."""
        mean = self.period_counts(horizon_days, self.n_periods, deaths=True).mean(axis=1)
        return np.random.default_rng(seed).poisson(mean[:, None], (len(mean), n_samples)).astype(float)


class ConflictologyBaseline(_WindowBaseline):
    """The next period is a random one of the last ``n_periods`` (exact empirical distribution)."""

    def _mean_and_probability(self, horizon_days: int) -> tuple[np.ndarray, np.ndarray]:
        c = self.period_counts(horizon_days, self.n_periods)
        return c.mean(axis=1), (c > 0).mean(axis=1)

    def predict_cdf(self, horizon_days: int, max_count: int) -> np.ndarray:
        c = self.period_counts(horizon_days, self.n_periods)
        ks = np.arange(max_count + 1)
        return np.asarray((c[:, :, None] <= ks[None, None, :]).mean(axis=1))

    def fatality_samples(
        self, horizon_days: int, *, n_samples: int = 240, seed: int | np.random.SeedSequence = 0
    ) -> np.ndarray:
        """The last ``n_periods`` periods' deaths, each repeated equally (exact when ``n_samples`` is a
        multiple of ``n_periods``; no randomness)."""
        c = self.period_counts(horizon_days, self.n_periods, deaths=True)
        return c[:, np.arange(n_samples) % self.n_periods]


BASELINES: dict[str, type[CellForecaster]] = {
    "zero": ZeroBaseline,
    "last": LastValueBaseline,
    "mean12": MeanBaseline,
    "conflictology": ConflictologyBaseline,
}
"""The baselines by the names the backtest and the CLI use."""


def make_baseline(name: str, *, grid: str | Grid = "priogrid") -> CellForecaster:
    """A baseline by name (``zero``, ``last``, ``mean12`` or ``meanN``, ``conflictology``)."""
    if name.startswith("mean") and name[4:].isdigit():
        return MeanBaseline(grid=grid, n_periods=int(name[4:]))
    if name not in BASELINES:
        raise InputError(
            f"Unknown baseline {name!r}: use one of {', '.join(BASELINES)} (or meanN, e.g. mean6)."
        )
    return BASELINES[name](grid=grid)
