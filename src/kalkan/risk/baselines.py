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

from collections.abc import Mapping
from typing import ClassVar

import numpy as np

from kalkan import _base
from kalkan.errors import InputError
from kalkan.risk.forecaster import CellForecaster, check_horizon
from kalkan.risk.grids import Grid

__all__ = [
    "BASELINES",
    "CellForecaster",
    "ConflictologyBaseline",
    "LastValueBaseline",
    "MeanBaseline",
    "ZeroBaseline",
    "make_baseline",
]


def _point_cdf(values: np.ndarray, max_count: int) -> np.ndarray:
    return (np.arange(max_count + 1)[None, :] >= values[:, None]).astype(float)


class ZeroBaseline(CellForecaster):
    """Forecasts no event anywhere."""

    def _mean_and_probability(self, horizon_days: int) -> tuple[np.ndarray, np.ndarray]:
        z = np.zeros(len(self.cells_))
        return z, z.copy()

    def predict_cdf(self, horizon_days: int, max_count: int) -> np.ndarray:
        self._check_is_fitted("predict_cdf")
        check_horizon(horizon_days)
        return _point_cdf(np.zeros(len(self.cells_)), max_count)

    def fatality_samples(
        self, horizon_days: int, *, n_samples: int = 240, seed: int | np.random.SeedSequence = 0
    ) -> np.ndarray:
        self._check_is_fitted("fatality_samples")
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
    _parameter_constraints: ClassVar[Mapping[str, _base.Rule]] = {"n_periods": _base.integer(1)}

    def __init__(self, *, grid: str | Grid = "priogrid", n_periods: int = 12) -> None:
        super().__init__(grid=grid)
        self.n_periods = n_periods


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
